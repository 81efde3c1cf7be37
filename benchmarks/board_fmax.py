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
produced a bitstream (timing met or not); 1 a build failed. Each point also records the
ECP5 block RAM output registers the flow set (:mod:`bnncc.synth.ecp5_outreg`) and the
critical path of nextpnr's log (start, end, length, logic steps).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bnncc.synth.bitstream import DEFAULT_SEEDS

ROOT = Path(__file__).resolve().parents[1]


def critical_path(log: Path) -> dict | None:
    """The first clock's critical path in nextpnr's log: where it starts (a clock-to-out)
    and ends (a setup), its length in ns and its largest single delay."""
    if not log.is_file():
        return None
    lines = log.read_text(errors="replace").splitlines()
    start = next((i for i, line in enumerate(lines) if "Critical path report for clock" in line), None)
    if start is None:
        return None
    steps = []
    for line in lines[start + 1:]:
        fields = line.split()
        if len(fields) < 2 or fields[0] != "Info:" or "Critical path report" in line:
            if steps and (len(fields) < 2 or "Critical path report" in line):
                break
            continue
        if fields[1] in ("clk-to-q", "logic", "routing", "setup", "clk-skew") and len(fields) >= 6:
            steps.append((fields[1], float(fields[2]), float(fields[3]), fields[5]))
    if not steps:
        return None
    source = next((s for s in steps if s[0] == "clk-to-q"), steps[0])
    return {"from": source[3], "clock_to_out_ns": source[1], "to": steps[-1][3], "ns": steps[-1][2],
            "logic_steps": sum(s[0] == "logic" for s in steps)}


def build_point(model: Path, fps: float, board: str, clock: float, work: Path, seeds: int = DEFAULT_SEEDS) -> dict:
    """One bitstream build; its report's ``bitstream`` entry plus the command's outcome."""
    out = work / f"{model.stem}_{board}_{clock:g}"
    command = [sys.executable, "-m", "bnncc", "compile", str(model), "--fps", f"{fps:g}", "--board", board,
               "--clock-mhz", f"{clock:g}", "--bitstream", "--seeds", str(seeds), "-o", str(out)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    point = {"model": model.name, "fps": fps, "board": board, "requested_mhz": clock, "exit_code": done.returncode,
             "seconds": round(time.monotonic() - start, 1)}
    report = out / "report.json"
    if report.is_file() and "bitstream" in json.loads(report.read_text()):
        data = json.loads(report.read_text())
        built = data["bitstream"]
        point.update(clock_mhz=built["clock_mhz"], pll=built["pll"], clocks=built["clocks"],
                     timing_met=built["timing_met"], fps_reported=data["fps"], seed=built.get("seed", 1),
                     attempts=built.get("attempts", []),
                     output_registers=next((line.split(": ", 1)[-1] for line in done.stderr.splitlines()
                                            if "EBR output registers" in line), None),
                     critical_path=critical_path(out / "board" / "nextpnr.log"))
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
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"placement seeds to try when timing is missed (default {DEFAULT_SEEDS}, as compile)")
    args = parser.parse_args()
    points = []
    with tempfile.TemporaryDirectory() as work:
        for clock in [float(c) for c in args.clocks.split(",")]:
            point = build_point(args.model, args.fps, args.board, clock, Path(work), args.seeds)
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
