"""Board bitstreams through the open flow at several core clocks: nextpnr's Fmax per clock
against the clock the board's PLL makes.

Each point is ``bnncc compile MODEL --fps N --board B --clock-mhz F --bitstream`` (Yosys,
nextpnr, ecppack/icepack); a point whose clock misses timing exits 1 by design and is
recorded as missed, not as a failure of the benchmark. Prints one line per clock and writes
``benchmarks/results/board_fmax.json``.

    python benchmarks/board_fmax.py                                   # TFC-w1a1 on ULX3S at 25 and 50 MHz
    python benchmarks/board_fmax.py --clocks 25,50,125
    python benchmarks/board_fmax.py --model examples/models/cnv_w1a1.onnx --fps 250 --clocks 25

About a minute and a half per ULX3S point on two cores. Exit status: 0 every build
produced a bitstream (timing met or not); 1 a build failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_point(model: Path, fps: float, board: str, clock: float, work: Path) -> dict:
    """One bitstream build; its report's ``bitstream`` entry plus the command's outcome."""
    out = work / f"{model.stem}_{board}_{clock:g}"
    command = [sys.executable, "-m", "bnncc", "compile", str(model), "--fps", f"{fps:g}", "--board", board,
               "--clock-mhz", f"{clock:g}", "--bitstream", "-o", str(out)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    point = {"model": model.name, "fps": fps, "board": board, "requested_mhz": clock, "exit_code": done.returncode,
             "seconds": round(time.monotonic() - start, 1)}
    report = out / "report.json"
    if report.is_file() and "bitstream" in json.loads(report.read_text()):
        data = json.loads(report.read_text())
        built = data["bitstream"]
        point.update(clock_mhz=built["clock_mhz"], pll=built["pll"], clocks=built["clocks"],
                     timing_met=built["timing_met"], fps_reported=data["fps"])
    else:
        point["error"] = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
    return point


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "examples" / "models" / "tfc_w1a1.onnx")
    parser.add_argument("--fps", type=float, default=10000)
    parser.add_argument("--board", default="ulx3s")
    parser.add_argument("--clocks", default="25,50", help="comma-separated core clocks, MHz (default 25,50)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "board_fmax.json")
    args = parser.parse_args()
    points = []
    with tempfile.TemporaryDirectory() as work:
        for clock in [float(c) for c in args.clocks.split(",")]:
            point = build_point(args.model, args.fps, args.board, clock, Path(work))
            points.append(point)
            for entry in point.get("clocks", []):
                verdict = "met" if entry["met"] else "NOT MET"
                print(f"{point['model']} {args.board} {clock:g} MHz (PLL {point['clock_mhz']:g} MHz): "
                      f"{entry['net']} Fmax {entry['fmax_mhz']:.2f} MHz ({verdict}), {point['seconds']:.0f} s")
            if "error" in point:
                print(f"{point['model']} {args.board} {clock:g} MHz: FAILED: {' '.join(point['error'])}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(points, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 1 if any("error" in p for p in points) else 0


if __name__ == "__main__":
    sys.exit(main())
