"""Executor speed: seconds per input of bnncc's executor on the example models, next to
onnxruntime on the same inputs (measured in the same run, so the ratio is what to read).

    python benchmarks/executor_speed.py [--samples 100] [--json benchmarks/results/executor_speed.json]

Prints one line per model and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from bnncc.executor import Executor
from bnncc.frontend import import_model, load_model
from bnncc.reference.runner import ReferenceRunner
from bnncc.verify.inputs import random_inputs

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["tfc_w1a1", "tfc_w2a2", "sfc_w1a2", "cnv_w1a1", "cnv_w2a2"]


def best_of(repeats: int, action) -> float:
    """Smallest wall time of ``repeats`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(path: Path, samples: int, repeats: int) -> dict:
    model = load_model(path)
    graph = import_model(model, source=str(path))
    executor = Executor(graph)
    reference = ReferenceRunner(model)
    batch = random_inputs(graph, samples, seed=0, low=0.0, high=1.0)
    single = {name: value[:1] for name, value in batch.items()}
    executor.run(single)  # warm-up
    reference.run(single)
    batched = best_of(repeats, lambda: executor.run(batch)) / samples
    one = best_of(repeats * 3, lambda: executor.run(single))
    ort = best_of(repeats, lambda: reference.run(batch)) / samples
    return {
        "model": path.stem,
        "samples": samples,
        "executor_s_per_input_batched": batched,
        "executor_s_per_input_batch1": one,
        "onnxruntime_s_per_input": ort,
        "executor_vs_onnxruntime": batched / ort,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100, help="batch size (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions, best kept (default 3)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "executor_speed.json")
    args = parser.parse_args()
    rows = []
    print(f"{'model':10} {'batched s/input':>16} {'batch-1 s/input':>16} {'onnxruntime s/input':>20} {'ratio':>6}")
    for name in MODELS:
        path = ROOT / "examples" / "models" / f"{name}.onnx"
        if not path.exists():
            continue
        row = measure(path, args.samples, args.repeats)
        rows.append(row)
        print(
            f"{name:10} {row['executor_s_per_input_batched']:16.5f} {row['executor_s_per_input_batch1']:16.5f} "
            f"{row['onnxruntime_s_per_input']:20.5f} {row['executor_vs_onnxruntime']:6.2f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "cpu_count": __import__("os").cpu_count()}
    args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
