"""rtl_lib/mac_dsp.v against numpy: L dot products sharing x with up to three products per
multiplier, every operand class (unsigned and two's complement on either side, 1..8 bits),
odd sizes (N = 1, 3, 27, 64; L = 1, 2, 3, 5, 16: an odd L leaves a lane unpacked or in a
smaller group), packed group sums of one product to a whole row, the three multiplier
families (their field widths differ), results narrower than the full sum, 0..8 stages. All
cases sit side by side in one Verilator build behind a pipeline whose clock enable follows
random output back-pressure and whose input has random gaps; several seeds (half of them with
operands at their extremes) reuse the build. Also: lint under -Wall for a sweep of legal
parameter sets, the elaboration checks against the registry's rules, and Yosys mapping one
packed multiply onto exactly one DSP48E1 / MULT18X18D."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.rules import violations
from bnncc.sim import StreamSimulator
from bnncc.sim.verilator import verilator_command
from tests.rtl.dot_rules import assert_rules_match_verilog

RTL_LIB = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCES = [RTL_LIB / "mac_dsp.v"]


@dataclass(frozen=True)
class Operand:
    bits: int
    signed: bool = False

    @property
    def low(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def high(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def values(self, rng, shape, extreme: bool) -> np.ndarray:
        values = rng.integers(self.low, self.high + 1, size=shape)
        if extreme:     # most of the operands at their minimum or maximum
            pick = rng.integers(0, 4, size=shape)
            values = np.where(pick == 0, self.low, np.where(pick == 1, self.high, values))
        return values

    def field(self, value: int) -> int:
        return value & ((1 << self.bits) - 1)


def u(bits):
    return Operand(bits)


def i(bits):
    return Operand(bits, signed=True)


@dataclass(frozen=True)
class Case:
    n: int
    lanes: int
    x: Operand
    w: Operand
    dw: int
    stages: int
    family: int = 0
    pack: int = 0
    group: int = 0

    @property
    def parameters(self) -> dict:
        return {"N": self.n, "L": self.lanes, "INPUT_BITS": self.x.bits, "INPUT_SIGNED": int(self.x.signed),
                "WEIGHT_BITS": self.w.bits, "WEIGHT_SIGNED": int(self.w.signed), "DW": self.dw,
                "STAGES": self.stages, "FAMILY": self.family, "PACK": self.pack, "GROUP": self.group}

    @property
    def in_bits(self) -> int:
        return self.n * self.x.bits + self.lanes * self.n * self.w.bits + 1

    @property
    def out_bits(self) -> int:
        return self.lanes * self.dw

    def expected(self, xs: np.ndarray, ws: np.ndarray, extra: np.ndarray) -> list[list[int]]:
        """Per row, per lane: (sum_s x[s] * w[l][s] + extra) mod 2**DW."""
        total = np.einsum("rs,rls->rl", xs.astype(object), ws.astype(object))
        return [[(int(t) + int(e)) % (1 << self.dw) for t in row] for row, e in zip(total, extra)]


CASES = [
    Case(27, 4, i(4), i(4), 16, 2),                              # INT4 x INT4, automatic: 2 per DSP48E1
    Case(64, 3, i(4), i(4), 13, 3, pack=3),                      # 3 per DSP48E1: 10-bit fields, groups of 4
    Case(16, 16, i(2), i(2), 9, 2, pack=3),                      # L = 16: five groups of 3 and one lane alone
    Case(3, 1, u(8), i(8), 18, 1),                               # one lane: nothing to pack
    Case(1, 2, i(5), u(3), 8, 0, pack=2),                        # N = 1, combinational
    Case(27, 3, u(4), i(2), 10, 4, family=2, pack=2),            # ECP5: a pair and a lane alone, product register
    Case(64, 2, i(8), i(4), 12, 2, pack=2),                      # INT8 x INT4, modulo 2**12 (full sum: 18 bits)
    Case(27, 16, i(3), i(3), 8, 3, family=1, pack=3),            # DSP48E2, 3 per multiplier, narrow result
    Case(3, 3, i(4), i(4), 6, 5, pack=2, group=1),               # one product per group, output delays
    Case(64, 2, u(2), u(2), 11, 2, family=2, pack=3),            # PACK > L: one pair
    Case(16, 4, i(8), i(8), 20, 8, pack=2),                      # INT8 x INT8: groups of 2
    Case(27, 5, i(1), i(1), 4, 2, pack=3),                       # signed 1-bit operands {-1, 0}
    Case(16, 2, u(5), i(5), 14, 1, family=2, pack=2),            # 5-bit operands on ECP5: groups of 8
    Case(3, 16, i(2), i(4), 3, 2),                               # DW < WEIGHT_BITS: the sign correction vanishes
    Case(64, 1, i(4), i(4), 14, 2, family=2, pack=1),            # unpacked, 64-product tree in LUTs
    Case(27, 2, u(8), u(4), 16, 3),                              # unsigned weights: no correction
    Case(27, 4, i(4), i(4), 14, 6),                              # DSP48 chain in 4 segments of 7 (late operands)
    Case(64, 3, u(4), i(4), 15, 4, family=1, pack=3),            # 3 per DSP48E2, chains of 2 segments
]


def wrapper(cases: list[Case]) -> str:
    """A streaming top: one input beat holds every case's operands and extra bit, one output
    beat every case's lanes. An input register, the cases' mac_dsp instances, then
    (SMAX - STAGES) registers per case so that all line up; a valid bit per stage and one
    clock enable for all (low while the output is stalled)."""
    smax = max(c.stages for c in cases)
    depth = smax + 1
    in_w = sum(c.in_bits for c in cases)
    out_w = sum(c.out_bits for c in cases)
    lines = [
        "module mac_dsp_cases (input wire ap_clk, input wire ap_rst_n,",
        f"    input wire [{in_w - 1}:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,",
        f"    output wire [{out_w - 1}:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready);",
        f"    reg [{depth - 1}:0] v;",
        f"    wire ce = !v[{depth - 1}] || m_axis_tready;",
        "    assign s_axis_tready = ce;",
        f"    assign m_axis_tvalid = v[{depth - 1}];",
        f"    reg [{in_w - 1}:0] in_q;",
        "    always @(posedge ap_clk) if (ce) in_q <= s_axis_tdata;",
        "    always @(posedge ap_clk) begin",
        f"        if (!ap_rst_n) v <= {depth}'d0;",
        f"        else if (ce) v <= {{v[{depth - 2}:0], s_axis_tvalid}};",
        "    end",
    ]
    offset = out = 0
    for index, case in enumerate(cases):
        xw, ww, ow = case.n * case.x.bits, case.lanes * case.n * case.w.bits, case.out_bits
        params = ", ".join(f".{k}({v})" for k, v in case.parameters.items())
        lines += [
            f"    wire [{ow - 1}:0] d{index};",
            f"    mac_dsp #({params}) u{index} (.ap_clk(ap_clk), .ce(ce),",
            f"        .x(in_q[{offset} +: {xw}]), .w(in_q[{offset + xw} +: {ww}]), .extra(in_q[{offset + xw + ww}]),"
            f" .dot(d{index}));",
        ]
        delay = smax - case.stages
        if delay == 0:
            lines.append(f"    assign m_axis_tdata[{out} +: {ow}] = d{index};")
        else:
            lines += [
                f"    reg [{ow - 1}:0] z{index} [0:{delay - 1}];",
                f"    integer k{index};",
                f"    always @(posedge ap_clk) if (ce) begin z{index}[0] <= d{index};",
                f"        for (k{index} = 1; k{index} < {delay}; k{index} = k{index} + 1) z{index}[k{index}] <= z{index}[k{index}-1];",
                "    end",
                f"    assign m_axis_tdata[{out} +: {ow}] = z{index}[{delay - 1}];",
            ]
        offset += case.in_bits
        out += ow
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _beats(cases: list[Case], count: int, seed: int):
    rng = np.random.default_rng(seed)
    data = []
    for case in cases:
        xs = case.x.values(rng, (count, case.n), seed % 2 == 0)
        ws = case.w.values(rng, (count, case.lanes, case.n), seed % 2 == 0)
        if seed % 2 == 0:   # whole rows at the corners: min x min, max x max, min x max, max x min
            for row, (xv, wv) in enumerate([(case.x.low, case.w.low), (case.x.high, case.w.high),
                                            (case.x.low, case.w.high), (case.x.high, case.w.low)]):
                xs[row], ws[row] = xv, wv
        extra = rng.integers(0, 2, size=count)
        data.append((xs, ws, extra))
    beats = []
    for row in range(count):
        word, offset = 0, 0
        for case, (xs, ws, extra) in zip(cases, data):
            for s in range(case.n):
                word |= case.x.field(int(xs[row, s])) << (offset + s * case.x.bits)
            offset += case.n * case.x.bits
            for lane in range(case.lanes):
                for s in range(case.n):
                    word |= case.w.field(int(ws[row, lane, s])) << (offset + (lane * case.n + s) * case.w.bits)
            offset += case.lanes * case.n * case.w.bits
            word |= int(extra[row]) << offset
            offset += 1
        beats.append(word)
    return beats, [case.expected(*d) for case, d in zip(cases, data)]


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    top = tmp_path_factory.mktemp("mac_dsp") / "mac_dsp_cases.v"
    top.write_text(wrapper(CASES))
    sim = StreamSimulator("mac_dsp_cases", [top, *SOURCES])
    sim.build()
    return sim


@pytest.mark.parametrize("seed,in_stall,out_stall", [(1, 30, 40), (2, 50, 10), (3, 0, 0), (4, 10, 60)])
def test_every_case_matches_numpy_under_stalls(simulator, seed, in_stall, out_stall):
    count = 60
    beats, expected = _beats(CASES, count, seed)
    result = simulator.run(beats, count, seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert len(result.outputs) == count
    out = 0
    for index, case in enumerate(CASES):
        for lane in range(case.lanes):
            got = [(beat >> (out + lane * case.dw)) & ((1 << case.dw) - 1) for beat in result.outputs]
            assert got == [row[lane] for row in expected[index]], f"case {index} {case} lane {lane}"
        out += case.out_bits
    if in_stall == 0 and out_stall == 0:
        # one result per cycle, latency = input register + the deepest case's STAGES
        smax = max(c.stages for c in CASES)
        assert result.output_cycles[0] - result.input_cycles[0] == smax + 1
        assert result.output_cycles[-1] - result.output_cycles[0] == count - 1


def test_the_oracle_is_not_vacuous():
    """The expected values depend on every input: a changed operand or extra changes them."""
    case = CASES[0]
    rng = np.random.default_rng(0)
    xs = case.x.values(rng, (4, case.n), False)
    ws = case.w.values(rng, (4, case.lanes, case.n), False)
    extra = np.zeros(4, dtype=int)
    base = case.expected(xs, ws, extra)
    ws2 = ws.copy()
    ws2[:, 1, 3] = np.where(ws2[:, 1, 3] == 0, 1, 0)
    changed = case.expected(xs, ws2, extra)
    assert [row[1] for row in changed] != [row[1] for row in base]
    assert [row[0] for row in changed] == [row[0] for row in base]
    assert case.expected(xs, ws, extra + 1) == [[(b + 1) % (1 << case.dw) for b in row] for row in base]


# -- lint -----------------------------------------------------------------------------------
CLASSES = [(i(4), i(4)), (i(2), i(2)), (u(8), i(8)), (i(4), u(2)), (u(3), u(5)), (i(1), i(1)), (i(16), i(16))]
SIZES = [(1, 1, 3, 0), (3, 2, 8, 1), (7, 3, 24, 3), (64, 5, 40, 8)]
LINT = [case for case in (Case(n, lanes, x, w, dw, stages, family, pack)
                          for c, (x, w) in enumerate(CLASSES)
                          for z, (n, lanes, dw, stages) in enumerate(SIZES)
                          for family in (0, 1, 2)
                          for pack in ((c + z + family) % 4,))
        if not violations("mac_dsp", case.parameters)]


def test_lints_clean(tmp_path):
    """Every legal parameter set of LINT in one top whose ports feed and read each instance."""
    ports, body = ["input wire ap_clk", "input wire ce", "input wire extra"], []
    for index, case in enumerate(LINT):
        ports += [f"input wire [{case.n * case.x.bits - 1}:0] x{index}",
                  f"input wire [{case.lanes * case.n * case.w.bits - 1}:0] w{index}",
                  f"output wire [{case.out_bits - 1}:0] d{index}"]
        params = ", ".join(f".{k}({v})" for k, v in case.parameters.items())
        body.append(f"    mac_dsp #({params}) u{index} (.ap_clk(ap_clk), .ce(ce), .x(x{index}), .w(w{index}), "
                    f".extra(extra), .dot(d{index}));")
    top = tmp_path / "lint_top.v"
    top.write_text("`timescale 1ns / 1ps\nmodule lint_top (\n    " + ",\n    ".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n")
    process = subprocess.run([verilator_command(), "--lint-only", "-Wall", "--top-module", "lint_top",
                              str(top), *map(str, SOURCES)], capture_output=True, text=True)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "%Warning" not in process.stderr
    assert len(LINT) >= 60


# -- elaboration checks against the registry's rules ---------------------------------------
BASE = Case(3, 3, i(4), i(4), 12, 2).parameters
BOUNDARY = [
    {},
    {"N": 0},
    {"L": 0},
    {"INPUT_BITS": 17},
    {"WEIGHT_BITS": 16},
    {"DW": 64},
    {"DW": 65},
    {"STAGES": 8},
    {"STAGES": 9},
    {"FAMILY": 2},
    {"FAMILY": 3},
    {"PACK": 4},
    {"GROUP": -1},
    {"PACK": 3},
    {"PACK": 3, "GROUP": 4},
    {"PACK": 3, "GROUP": 5},
    {"PACK": 3, "FAMILY": 2},                                    # 7-bit fields: INT4 x INT4 does not fit
    {"PACK": 3, "FAMILY": 2, "INPUT_BITS": 2, "WEIGHT_BITS": 2},
    {"PACK": 2, "INPUT_BITS": 16, "WEIGHT_BITS": 16},            # too wide to pack
    {"PACK": 2, "FAMILY": 2, "INPUT_BITS": 8, "WEIGHT_BITS": 8, "GROUP": 4},
]


def test_python_rejects_exactly_what_verilator_rejects(tmp_path):
    assert_rules_match_verilog("mac_dsp", BASE, BOUNDARY, SOURCES, tmp_path)


# -- one DSP per packed multiply -------------------------------------------------------------
DSP_TOP = """\
module dsp_top (input wire clk, input wire [{xw}:0] x, input wire [{ww}:0] w, input wire extra, output wire [{dw}:0] dot);
    mac_dsp #({params}) u (.ap_clk(clk), .ce(1'b1), .x(x), .w(w), .extra(extra), .dot(dot));
endmodule
"""


@pytest.mark.parametrize("family,lanes,pack,synth,cell", [
    (0, 3, 0, "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf", "DSP48E1"),    # automatic: 3 per DSP48E1
    (2, 4, 2, "synth_ecp5 -noflatten", "MULT18X18D"),                                # two pairs per MULT18X18D
])
def test_yosys_maps_each_packed_multiply_to_one_dsp(tmp_path, family, lanes, pack, synth, cell):
    """INT4 x INT4, N = 4: as many DSP cells as the registry's layout counts multipliers
    (ceil(L / P) * N: 4 with three lanes in one DSP48E1, 8 with two pairs per MULT18X18D)."""
    from bnncc.hw.modules.mac_dsp import layout
    from bnncc.tools import tool_command

    case = Case(4, lanes, i(4), i(4), 11, 2, family=family, pack=pack)
    expected = layout(case.parameters)["multipliers"]
    assert expected == (4 if family == 0 else 8)
    params = ", ".join(f".{k}({v})" for k, v in case.parameters.items())
    (tmp_path / "dsp_top.v").write_text(DSP_TOP.format(xw=case.n * 4 - 1, ww=case.lanes * case.n * 4 - 1,
                                                       dw=case.out_bits - 1, params=params))
    (tmp_path / "mac_dsp.v").write_text((RTL_LIB / "mac_dsp.v").read_text())
    script = f"read_verilog dsp_top.v mac_dsp.v\n{synth} -top dsp_top\nflatten\ntee -q -o stat.json stat -json\n"
    (tmp_path / "run.ys").write_text(script)
    process = subprocess.run([*tool_command("yosys"), "-q", "-s", "run.ys"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-2000:]
    cells = json.loads((tmp_path / "stat.json").read_text())["design"]["num_cells_by_type"]
    assert cells.get(cell) == expected, cells


def test_layout_follows_the_field_bounds():
    """The registry's layout: INT4 x INT4 on DSP48E1 packs two lanes with one 16-product group
    (12-bit fields: 16 * 15 * 15 = 3600 < 2**12), three lanes in 10-bit fields of 4 products
    (4 * 225 <= 1023 < 5 * 225); ECP5's 18-bit port leaves INT8 x INT8 unpacked and cannot
    take three INT4 lanes; later stages cut the DSP48 chain into segments."""
    from bnncc.hw.modules.mac_dsp import layout

    base = Case(16, 4, i(4), i(4), 13, 2).parameters
    assert {k: layout(base)[k] for k in ("P", "multipliers", "K", "GR", "NG")} == \
        {"P": 2, "multipliers": 32, "K": 12, "GR": 16, "NG": 1}
    three = layout({**base, "N": 21, "L": 3})
    assert (three["P"], three["K"], three["GR"], three["NG"], three["multipliers"]) == (3, 10, 4, 6, 21)
    assert layout({**base, "INPUT_BITS": 8, "WEIGHT_BITS": 8, "FAMILY": 2})["P"] == 1
    assert layout({**base, "INPUT_BITS": 8, "WEIGHT_BITS": 8})["GR"] == 2          # 2 * 255 * 255 < 2**17
    assert violations("mac_dsp", {**base, "FAMILY": 2, "PACK": 3})
    assert (layout({**base, "STAGES": 6})["SEGR"], layout({**base, "STAGES": 6})["CH"]) == (3, 4)
    assert layout({**base, "STAGES": 6, "FAMILY": 2})["SEGR"] == 0
