"""First-frame latency: the report's estimate against co-simulation without stalls.

For every example (or the models given), at the folding the other benchmarks use:
``bnncc compile MODEL --fps N`` writes ``report.json`` with ``latency_cycles``, the
first-frame latency the compiler predicts (:func:`bnncc.backends.latency.first_frame_latency`:
cycles from the first input beat to the last output beat of frame 0); ``bnncc verify MODEL
BUILD --stall 0`` measures it in Verilator on the same design, with the input offered every
cycle and the output always ready. The error is ``estimate / measured - 1``; the bar is
10 %.

    python benchmarks/latency_accuracy.py                       # every example at its first FPS
    python benchmarks/latency_accuracy.py --models tfc_w1a1@10000 cnv_w1a1@1000

About a minute per model on two cores (one Verilator build each). Prints a table and writes
``benchmarks/results/latency_accuracy.json``. Exit status: 0 every design was measured
(within the bar or not: the table says), 1 a compile or simulation failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bnncc.compile import Target, compile_model
from bnncc.verify.run import verify_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"
BAR = 0.10
#: The first FPS point of each example in the estimate and board benchmarks.
DEFAULT_FPS = {
    "tfc_w1a1": 10_000, "tfc_w2a2": 10_000, "sfc_w1a2": 10_000, "cnv_w1a1": 1_000, "cnv_w2a2": 1_000,
    "cnv_pad_w1a1": 3_000, "resnet8_w4a4": 1_000, "resnet_w1a1": 10_000, "concat_w2a2": 10_000,
    "dscnn_w4a4": 1_000, "mobilenet_w4a4": 1_000, "radioml_w4a4": 1_000, "unet_w2a2": 1_000,
    "tinyyolo_w4a4": 1_000,
}


def parse_case(text: str) -> tuple[str, float]:
    """``MODEL@FPS`` or ``MODEL`` (an example with a default FPS)."""
    name, _, rate = text.partition("@")
    if rate:
        try:
            return name, float(rate)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected MODEL@FPS with a number of frames per second")
    if name not in DEFAULT_FPS:
        raise argparse.ArgumentTypeError(f"{text!r}: no default FPS for this model; give MODEL@FPS")
    return name, float(DEFAULT_FPS[name])


def model_path(name: str) -> Path:
    path = Path(name)
    return path if path.suffix == ".onnx" else MODELS / f"{name}.onnx"


def measure(name: str, fps: float, work: Path) -> dict:
    """Compile ``name`` for ``fps`` and co-simulate one frame without stalls."""
    build = work / f"{Path(name).stem}_{fps:g}"
    start = time.monotonic()
    result = compile_model(model_path(name), output=build, target=Target(fps))
    estimate = json.loads((build / "report.json").read_text())["latency_cycles"]
    verify = verify_model(model_path(name), samples=2, seed=1, build_dir=build, stall=0, value_range=(0.0, 1.0))
    if not verify.ok:
        raise RuntimeError(f"{name}: co-simulation is not exact")
    measured = verify.rtl.first_frame_latency_cycles
    return {"model": Path(name).stem, "fps": fps, "cycles_per_frame": result.design.bottleneck_cycles,
            "estimate_cycles": estimate, "measured_cycles": measured, "error": estimate / measured - 1,
            "seconds": round(time.monotonic() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", type=parse_case, default=None, metavar="MODEL[@FPS]")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "latency_accuracy.json")
    args = parser.parse_args()
    cases = args.models or [(name, float(fps)) for name, fps in DEFAULT_FPS.items()]
    rows, failed = [], False
    print(f"{'model':16} {'fps':>8} {'II':>8} {'estimate':>9} {'measured':>9} {'error':>7}")
    with tempfile.TemporaryDirectory() as work:
        for name, fps in cases:
            try:
                row = measure(name, fps, Path(work))
            except Exception as error:  # a failed case is reported and the others still run
                print(f"{name:16} {fps:>8g} failed: {error}", flush=True)
                rows.append({"model": name, "fps": fps, "failed": str(error)})
                failed = True
                continue
            rows.append(row)
            mark = "" if abs(row["error"]) <= BAR else "  over the bar"
            print(f"{row['model']:16} {fps:>8g} {row['cycles_per_frame']:>8} {row['estimate_cycles']:>9} "
                  f"{row['measured_cycles']:>9} {row['error']:>+7.1%}{mark}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"bar": BAR, "results": rows}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
