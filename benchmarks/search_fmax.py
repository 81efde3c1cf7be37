"""The threshold search alone (``rtl_lib/threshold_search.v``) at the parameters of every
example's MVAUs, nextpnr-ecp5 Fmax on the ECP5-85F at 125 MHz: as the builder chooses it for
ECP5 at 125 MHz (SEARCH_SPLIT) and, for comparison, unsplit.

Every example that uses the search is compiled at its benchmark FPS for the ECP5-85F at
125 MHz (no synthesis); per example the search instance with the widest lanes (PE * TW)
and the one with the deepest stage ROM are measured out of context with its own stage memory files, as
``benchmarks/module_fmax.py`` measures a module (Yosys ``synth_ecp5``, the block RAM
output-register step, ``nextpnr-ecp5 --out-of-context``).

    python benchmarks/search_fmax.py                          # every example
    python benchmarks/search_fmax.py --examples tfc_w2a2,mlp_w4a4

About half a minute per point on two cores. Prints one line per point and writes
``benchmarks/results/search_fmax.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import module_fmax  # noqa: E402
from bnncc.compile import Target, compile_model  # noqa: E402
from bnncc.hw.modules import mvau  # noqa: E402
from bnncc.targets import get_device  # noqa: E402

EXAMPLES = {**module_fmax.EXAMPLES, "mlp_w4a4": 200_000}
CLOCK_MHZ = 125


def chosen_searches(build: Path) -> list[dict]:
    """The threshold_search parameters of the design's widest search (PE * TW, then the
    deepest ROM) and of its deepest (ROWS * 2**(STAGES - 1), then PE * TW), once each."""
    design = json.loads((build / "design.json").read_text())
    searches = [mvau._search_parameters({**mvau.RULES.defaults, **s["parameters"]}) for s in design["stages"]
                if s["module"] == "mvau" and mvau.searches({**mvau.RULES.defaults, **s["parameters"]})]
    if not searches:
        return []
    wide = max(searches, key=lambda p: (p["PE"] * p["TW"], p["ROWS"] << (p["STAGES"] - 1)))
    deep = max(searches, key=lambda p: (p["ROWS"] << (p["STAGES"] - 1), p["PE"] * p["TW"]))
    return [wide] if deep == wide else [wide, deep]


def measure_both(name: str, fps: float, chosen: dict, build: Path, work: Path) -> list[dict]:
    """The search ``chosen`` as the builder chose it and, when that is split, unsplit."""
    points = []
    for split in sorted({chosen["SPLIT"], 0}, reverse=True):
        parameters = {**chosen, "SPLIT": split}
        result = module_fmax.measure("threshold_search", parameters, build, work / f"split{split}")
        point = {"example": name, "fps": fps, "chosen": split == chosen["SPLIT"],
                 "parameters": {k: v for k, v in parameters.items() if not k.startswith("FILE_")}, **result}
        points.append(point)
        shape = ", ".join(f"{k}={parameters[k]}" for k in ("PE", "STAGES", "TW", "ROWS", "BLOCK_DEPTH", "SPLIT"))
        print(f"{name}: threshold_search {shape}: {result['ecp5_fmax_mhz']} MHz on ECP5"
              f"{' (chosen)' if point['chosen'] else ''}", flush=True)
    return points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", default=",".join(EXAMPLES))
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "search_fmax.json")
    args = parser.parse_args()
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.examples.split(","):
            fps = EXAMPLES[name]
            build = work / name
            compile_model(ROOT / "examples" / "models" / f"{name}.onnx", output=build,
                          target=Target(fps, CLOCK_MHZ, device=get_device("ecp5-85k")))
            searches = chosen_searches(build)
            if not searches:
                print(f"{name}: no threshold search")
            for index, chosen in enumerate(searches):
                points += measure_both(name, fps, chosen, build, work / f"{name}_{index}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(points, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
