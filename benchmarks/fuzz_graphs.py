"""Random quantized graphs through every pass and through RTL, counted by kind of failure.

The long profile of the property-based tests (tests/test_property_graphs.py), as a run that
keeps going after a failure: graph ``i`` is drawn from a numpy generator seeded with
``seed + i`` by the same generator the tests use (tests/graphs), checked as the tests check it
(every pass exact against onnxruntime; for ``--rtl`` of them, tinier graphs compiled, linted
with ``verilator --lint-only -Wall`` and simulated under 30 % random stalls), and optionally
run through the ``qonnx`` package's executor as an independent oracle (``--qonnx``).

Prints graphs per second and the failures by category, each with its smallest graph (a
``GraphSpec`` literal to paste into a regression test), and writes the same as JSON to
``benchmarks/results/fuzz_graphs.json``.

    python benchmarks/fuzz_graphs.py --graphs 2000 --rtl 200 [--seed 0] [--qonnx]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from graphs import RandomDraw, check_graph, draw_spec  # noqa: E402
from graphs.spec import RTL_LIMITS  # noqa: E402


class Tally:
    """Failures by category, with the smallest graph of each."""

    def __init__(self):
        self.categories: dict[str, dict] = {}

    def add(self, category: str, index: int, spec, message: str) -> None:
        entry = self.categories.setdefault(category, {"count": 0, "graphs": []})
        entry["count"] += 1
        entry["graphs"].append(index)
        if "spec" not in entry or spec.size() < entry["size"]:
            entry.update(spec=repr(spec), size=spec.size(), index=index, message=message)

    def total(self) -> int:
        return sum(e["count"] for e in self.categories.values())

    def to_dict(self) -> dict:
        return {k: {**v, "graphs": v["graphs"][:20]} for k, v in sorted(self.categories.items(), key=lambda kv: -kv[1]["count"])}


def run_passes(args, log, save=lambda part, block: None) -> dict:
    tally, oracle = Tally(), Tally()
    ties = oracle_samples = 0
    start = time.perf_counter()
    for i in range(args.graphs):
        index = args.seed + i
        spec = draw_spec(RandomDraw(index))
        with tempfile.TemporaryDirectory() as workdir:
            outcome = check_graph(spec, Path(workdir), samples=args.samples)
        ties += outcome.ties > 0
        if not outcome.ok:
            tally.add(outcome.category, index, spec, outcome.message)
        if args.qonnx:
            oracle_samples += qonnx_check(spec, index, oracle, args.samples)
        if (i + 1) % 200 == 0:
            log(f"passes: {i + 1} graphs, {tally.total()} failures, {time.perf_counter() - start:.0f} s")
            save("passes", {"graphs_so_far": i + 1, "failed": tally.total(), "failures": tally.to_dict()})
    seconds = time.perf_counter() - start
    result = {
        "graphs": args.graphs, "seconds": round(seconds, 1), "graphs_per_second": round(args.graphs / seconds, 2),
        "failed": tally.total(), "graphs_with_tie_samples": ties, "failures": tally.to_dict(),
    }
    if args.qonnx:
        result["qonnx_oracle"] = {"samples": oracle_samples, "disagreements": oracle.total(), "failures": oracle.to_dict()}
    return result


def qonnx_check(spec, index, tally, samples) -> int:
    from graphs.build import build_model
    from graphs.qonnx_oracle import compare_with_qonnx

    x = np.random.default_rng(index).uniform(-1, 1, (samples,) + spec.shape).astype(np.float32)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = compare_with_qonnx(build_model(spec), {"x": x})
    except Exception as error:
        tally.add(f"oracle error: {type(error).__name__}", index, spec, str(error).splitlines()[0] if str(error) else "")
        return 0
    if report.mismatches:
        tally.add("oracle: bnncc reference and qonnx disagree", index, spec, report.first_mismatch)
    return samples


def run_rtl(args, log, save=lambda part, block: None) -> dict:
    tally = Tally()
    start = time.perf_counter()
    for i in range(args.rtl):
        index = args.seed + 1_000_000 + i
        spec = draw_spec(RandomDraw(index), RTL_LIMITS)
        with tempfile.TemporaryDirectory() as workdir:
            outcome = check_graph(spec, Path(workdir), rtl=True, samples=args.samples, stall=30)
        if not outcome.ok:
            tally.add(outcome.category, index, spec, outcome.message)
        if (i + 1) % 10 == 0:
            log(f"rtl: {i + 1} graphs, {tally.total()} failures, {time.perf_counter() - start:.0f} s")
            save("rtl", {"graphs_so_far": i + 1, "failed": tally.total(), "failures": tally.to_dict()})
    seconds = time.perf_counter() - start
    return {
        "graphs": args.rtl, "seconds": round(seconds, 1), "graphs_per_second": round(args.rtl / seconds, 3) if seconds else 0,
        "failed": tally.total(), "failures": tally.to_dict(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", type=int, default=2000, help="graphs through every pass (default 2000)")
    parser.add_argument("--rtl", type=int, default=200, help="graphs through RTL, lint and Verilator (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="first generator seed (default 0)")
    parser.add_argument("--samples", type=int, default=16, help="random inputs per graph (default 16; 8 in RTL)")
    parser.add_argument("--qonnx", action="store_true", help="also compare bnncc's reference with qonnx's executor")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz_graphs.json",
                        help="where to write the results (default benchmarks/results/fuzz_graphs.json)")
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    result = {"command": " ".join(["python", "benchmarks/fuzz_graphs.py", *(argv if argv is not None else sys.argv[1:])]),
              "seed": args.seed}
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def save(part=None, block=None):
        """Write the results so far (a long run can be read, or stopped, before its end)."""
        if part is not None:
            result[part] = {**block, "finished": False}
        args.json.write_text(json.dumps(result, indent=2) + "\n")

    result["passes"] = run_passes(args, log, save)
    save()
    result["rtl"] = run_rtl(args, log, save) if args.rtl else None
    save()
    for part in ("passes", "rtl"):
        block = result[part]
        if not block:
            continue
        print(f"{part}: {block['graphs']} graphs in {block['seconds']} s ({block['graphs_per_second']} graphs/s), "
              f"{block['failed']} failed")
        for category, entry in block["failures"].items():
            print(f"  {entry['count']:5d}  {category}\n         smallest: graph {entry['index']}: {entry['spec']}")
    if "qonnx_oracle" in result["passes"]:
        oracle = result["passes"]["qonnx_oracle"]
        print(f"qonnx oracle: {oracle['samples']} samples, {oracle['disagreements']} graphs disagree")
        for category, entry in oracle["failures"].items():
            print(f"  {entry['count']:5d}  {category}: graph {entry['index']}: {entry['message']}")
    failed = result["passes"]["failed"] + (result["rtl"]["failed"] if result["rtl"] else 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
