"""FIFO sizing in bounded memory: the FIFO depths of many designs (to compare two versions of
the sizing: they must be identical), and the peak resident memory and wall time of ``bnncc
compile`` on the branched hls4ml model.

    python benchmarks/fifo_sizing_memory.py depths OUT.json [--only NAME ...]
    python benchmarks/fifo_sizing_memory.py compare BEFORE.json AFTER.json [--json RESULTS.json]
    python benchmarks/fifo_sizing_memory.py memory [--fps 150 5] [--limit-kb 8000000]
        [--label after] [--json benchmarks/results/fifo_sizing_memory.json]

``depths`` runs the pass pipeline and the automatic folding of every case below and writes
the depth of every FIFO of its design (run it once with the code before a change, e.g. with
``PYTHONPATH`` pointing at a checkout of it, and once after; ``compare`` says where they
differ). ``memory`` runs ``bnncc compile`` in a child process under ``/usr/bin/time -v`` with
an address-space limit (``ulimit -v``), so that a run that needs too much memory fails
instead of taking the machine down, and records its peak RSS, wall time and user CPU time (the
machine may be shared: user time is the steadier figure).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "models"
SHARED = ROOT.parent / "shared" / "models"
BRANCHED = SHARED / "hls4ml_branched_ch_last.onnx"

#: (name, model, FPS) of every design whose depths are compared: graph and chain examples at
#: two targets each, and the hls4ml models at targets where they compile.
CASES = [
    ("resnet8_1000", EXAMPLES / "resnet8_w4a4.onnx", 1000),
    ("resnet8_10000", EXAMPLES / "resnet8_w4a4.onnx", 10000),
    ("resnet_w1a1_1000", EXAMPLES / "resnet_w1a1.onnx", 1000),
    ("resnet_w1a1_10000", EXAMPLES / "resnet_w1a1.onnx", 10000),
    ("concat_1000", EXAMPLES / "concat_w2a2.onnx", 1000),
    ("concat_10000", EXAMPLES / "concat_w2a2.onnx", 10000),
    ("unet_1000", EXAMPLES / "unet_w2a2.onnx", 1000),
    ("unet_5000", EXAMPLES / "unet_w2a2.onnx", 5000),
    ("tinyyolo_500", EXAMPLES / "tinyyolo_w4a4.onnx", 500),
    ("tinyyolo_2000", EXAMPLES / "tinyyolo_w4a4.onnx", 2000),
    ("dscnn_1000", EXAMPLES / "dscnn_w4a4.onnx", 1000),
    ("dscnn_5000", EXAMPLES / "dscnn_w4a4.onnx", 5000),
    ("mobilenet_1000", EXAMPLES / "mobilenet_w4a4.onnx", 1000),
    ("radioml_10000", EXAMPLES / "radioml_w4a4.onnx", 10000),
    ("cnv_w1a1_3000", EXAMPLES / "cnv_w1a1.onnx", 3000),
    ("cnv_w2a2_300", EXAMPLES / "cnv_w2a2.onnx", 300),
    ("tfc_w1a1_100000", EXAMPLES / "tfc_w1a1.onnx", 100000),
    ("hls4ml_branched_150", BRANCHED, 150),
    ("hls4ml_branched_100", BRANCHED, 100),
    ("hls4ml_separable_40", SHARED / "hls4ml_separable_conv_ch_last.onnx", 40),
    ("hls4ml_separable_100", SHARED / "hls4ml_separable_conv_ch_last.onnx", 100),
]


def design_depths(model: Path, fps: float) -> dict:
    """Every FIFO's DEPTH (by instance name) of the design ``bnncc compile --fps`` builds."""
    from bnncc.backends.verilog import describe_design
    from bnncc.compile import Target, build_stages
    from bnncc.frontend import load_graph

    stages = build_stages(load_graph(model), target=Target(fps=fps, best_effort=True))
    start = time.perf_counter()
    design = describe_design(stages[-1].graph)
    seconds = time.perf_counter() - start
    depths = {link.instance: link.parameters["DEPTH"] for link in design.links if link.module == "stream_fifo"}
    return {"depths": depths, "bottleneck_cycles": design.bottleneck_cycles, "describe_seconds": round(seconds, 2)}


def run_depths(out: Path, only: list[str]) -> None:
    results = {}
    for name, model, fps in CASES:
        if only and name not in only:
            continue
        if not model.exists():
            print(f"{name}: skipped ({model} is absent)")
            continue
        results[name] = design_depths(model, fps)
        r = results[name]
        print(f"{name}: {len(r['depths'])} FIFOs, bottleneck {r['bottleneck_cycles']}, "
              f"describe_design {r['describe_seconds']} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def run_compare(before: Path, after: Path, out: Path | None = None) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    differ = 0
    summary = {}
    for name in sorted(set(a) & set(b)):
        same = a[name]["depths"] == b[name]["depths"]
        differ += not same
        summary[name] = {"identical": same, "fifos": len(a[name]["depths"]),
                         "bottleneck_cycles": b[name]["bottleneck_cycles"],
                         "depths": b[name]["depths"] if same else {"before": a[name]["depths"], "after": b[name]["depths"]}}
        print(f"{name}: {'identical' if same else 'DIFFERENT'} ({len(a[name]['depths'])} FIFOs)")
        if not same:
            for fifo in sorted(set(a[name]["depths"]) | set(b[name]["depths"])):
                if a[name]["depths"].get(fifo) != b[name]["depths"].get(fifo):
                    print(f"    {fifo}: {a[name]['depths'].get(fifo)} -> {b[name]['depths'].get(fifo)}")
    missing = sorted(set(a) ^ set(b))
    if missing:
        print("only in one file:", ", ".join(missing))
    if out is not None:
        results = json.loads(out.read_text()) if out.exists() else {}
        results.setdefault("depths", {}).update(summary)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return 1 if differ else 0


def measure_compile(model: Path, fps: float, limit_kb: int) -> dict:
    """Peak RSS (KiB) and wall time of ``bnncc compile MODEL --fps FPS`` in a child process
    limited to ``limit_kb`` KiB of address space, and the FIFO depths it wrote."""
    with tempfile.TemporaryDirectory(prefix="fifomem_") as tmp:
        out = Path(tmp) / "build"
        command = (f"ulimit -v {int(limit_kb)}; exec /usr/bin/time -v {sys.executable} -m bnncc compile "
                   f"{model} --fps {fps:g} --best-effort -o {out}")
        start = time.perf_counter()
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
        wall = time.perf_counter() - start
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        user = re.search(r"User time \(seconds\): ([\d.]+)", done.stderr)
        result = {"fps": fps, "exit": done.returncode, "wall_seconds": round(wall, 1),
                  "user_seconds": float(user.group(1)) if user else None,
                  "peak_rss_kb": int(rss.group(1)) if rss else None, "limit_kb": limit_kb}
        design = out / "design.json"
        if done.returncode == 0 and design.exists():
            summary = json.loads(design.read_text())
            result["bottleneck_cycles"] = summary["bottleneck_cycles"]
            result["depths"] = {l["instance"]: l["parameters"]["DEPTH"] for l in summary["links"]
                                if l["module"] == "stream_fifo"}
        else:
            result["error"] = done.stderr.strip().splitlines()[-25:] if done.stderr else []
    return result


def run_memory(fps_list: list[float], limit_kb: int, label: str, out: Path) -> None:
    results = json.loads(out.read_text()) if out.exists() else {}
    runs = results.setdefault("runs", {}).setdefault(label, {})
    for fps in fps_list:
        r = measure_compile(BRANCHED, fps, limit_kb)
        runs[f"{fps:g}"] = r
        status = "ok" if r["exit"] == 0 else f"failed (exit {r['exit']})"
        rss = f"{r['peak_rss_kb'] / 1024:.0f} MiB" if r["peak_rss_kb"] else "?"
        print(f"{label}: {BRANCHED.name} --fps {fps:g}: {status}, peak RSS {rss}, wall {r['wall_seconds']} s, "
              f"user {r['user_seconds']} s"
              + (f", bottleneck {r['bottleneck_cycles']} cycles, {len(r['depths'])} FIFOs" if "depths" in r else ""),
              flush=True)
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    depths = commands.add_parser("depths", help="write the FIFO depths of every case as JSON")
    depths.add_argument("out", type=Path)
    depths.add_argument("--only", nargs="*", default=[], help="case names (default: all)")
    compare = commands.add_parser("compare", help="compare two depth files; exit 1 if they differ")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    compare.add_argument("--json", type=Path, default=None, help="add the comparison to this results file")
    memory = commands.add_parser("memory", help="peak RSS and wall time of compiling the branched hls4ml model")
    memory.add_argument("--fps", type=float, nargs="+", default=[150.0])
    memory.add_argument("--limit-kb", type=int, default=8_000_000, help="ulimit -v of the child (KiB)")
    memory.add_argument("--label", default="after")
    memory.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "fifo_sizing_memory.json")
    args = parser.parse_args()
    if args.command == "depths":
        run_depths(args.out, args.only)
    elif args.command == "compare":
        return run_compare(args.before, args.after, args.json)
    else:
        run_memory(args.fps, args.limit_kb, args.label, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
