"""Logic depth of the XNOR-popcount (``mvau_popcount`` of ``rtl_lib/mvau.v``) by the number of
bit pairs, against the model the MVAU builder plans with (``mac_dot.popcount_levels``).

Each point is ``mvau_popcount #(.N(n), .EXTRA(1))`` (the folded threshold's extra bit, as
every MVAU instantiates it) between registered inputs and a registered output, synthesized
alone with Yosys ``synth_xilinx`` (7-series, flattened; the binary ``inline`` point of
``benchmarks/mac_area.py``); the deepest path between registers is read by
``bnncc.synth.logic_depth`` (LUTs, carry cells apart).

    python benchmarks/popcount_depth.py                     # the default sizes, a few minutes
    python benchmarks/popcount_depth.py --sizes 19,62,128 --json out.json

Prints one line per size and writes ``benchmarks/results/popcount_depth.json``. Exit status:
0 the model equals every measurement; 1 it differs somewhere (or a synthesis failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from mac_area import Point, synth_point  # noqa: E402

from bnncc.hw.modules.mac_dot import popcount_levels  # noqa: E402

DEFAULT_SIZES = (8, 16, 19, 24, 25, 31, 32, 40, 41, 47, 48, 56, 58, 62, 63, 64, 76, 80, 96, 127, 128, 129)
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "popcount_depth.json"


def measure(n: int, work: Path) -> dict:
    """One size: the measured LUT levels (and the whole depth text) next to the model's."""
    result = synth_point(Point("binary", n, "inline", 1), work, 1800)
    depth = result["logic_depth"] or {}
    return {"pairs": n, "extra": 1, "luts_measured": depth.get("lut"), "depth": result["logic_depth_text"],
            "luts_model": popcount_levels(n, 1), "lut_count": result["luts"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated bit pairs")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    sizes = [int(text) for text in args.sizes.split(",") if text.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="popcount_depth_") as work:
        for n in sizes:
            row = measure(n, Path(work))
            rows.append(row)
            mark = "" if row["luts_measured"] == row["luts_model"] else "  <- model differs"
            print(f"{n:4d} pairs + extra bit: {row['depth']:>16}  model {row['luts_model']} LUT levels{mark}", flush=True)
    args.json.write_text(json.dumps({"synthesis": "yosys synth_xilinx -family xc7 -flatten", "points": rows},
                                    indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0 if all(r["luts_measured"] == r["luts_model"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
