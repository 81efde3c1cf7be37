"""rtl_lib/stream_fork.v: every output receives exactly the input sequence (no beat lost,
repeated or reordered) under random input gaps and independent random back-pressure on each
output; one beat per cycle flows when nothing stalls; the module lints clean under -Wall;
illegal parameters stop elaboration with the message module_rules.py predicts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.rules import violations
from bnncc.sim.verilator import FINISHED, SimulationError, build_verilated, check_messages, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib" / "stream_fork.v"
HARNESS = Path(__file__).resolve().with_name("fork_harness.cpp")

# (WIDTH, N_OUT): 1-bit beats; an odd width with three outputs; four 40-bit outputs (a
# 160-bit m_axis_tdata port, wider than 64 bits).
SHAPES = [(1, 2), (13, 3), (40, 4)]


def build(width: int, n_out: int) -> Path:
    return build_verilated("stream_fork", [RTL], {"WIDTH": width, "N_OUT": n_out}, HARNESS)


def run(width: int, n_out: int, beats: list[int], seed: int, in_stall: int, out_stalls: list[int],
        tmp_path: Path, max_idle: int = 10_000) -> tuple[list[int], dict[int, list[tuple[int, int]]]]:
    """Input cycles, and output k -> [(cycle, beat)] in the order taken."""
    executable = build(width, n_out)
    inputs, outputs = tmp_path / f"in_{seed}.hex", tmp_path / f"out_{seed}.log"
    inputs.write_text("".join(f"{beat:x}\n" for beat in beats))
    process = subprocess.run(
        [str(executable), str(inputs), str(outputs), str(seed), str(in_stall), str(width), str(n_out),
         str(max_idle), ",".join(str(s) for s in out_stalls)],
        capture_output=True, text=True,
    )
    if process.returncode == FINISHED:
        raise SimulationError("; ".join(check_messages(process.stdout)) or process.stderr.strip())
    assert process.returncode == 0, process.stderr
    input_cycles: list[int] = []
    taken: dict[int, list[tuple[int, int]]] = {k: [] for k in range(n_out)}
    for line in outputs.read_text().splitlines():
        parts = line.split()
        if parts[0] == "I":
            input_cycles.append(int(parts[1]))
        else:
            taken[int(parts[1])].append((int(parts[2]), int(parts[3], 16)))
    return input_cycles, taken


def random_beats(rng, count: int, width: int) -> list[int]:
    chunks = rng.integers(0, 1 << 16, size=(count, (width + 15) // 16), dtype=np.int64)
    return [sum(int(c) << (16 * i) for i, c in enumerate(row)) & ((1 << width) - 1) for row in chunks]


@pytest.mark.parametrize("width, n_out", SHAPES)
@pytest.mark.parametrize("seed, in_stall", [(1, 30), (2, 0), (3, 60)])
def test_every_output_gets_every_beat_once_in_order_under_independent_stalls(width, n_out, seed, in_stall, tmp_path):
    rng = np.random.default_rng(seed)
    beats = random_beats(rng, 400, width)
    out_stalls = [int(s) for s in rng.integers(30, 51, size=n_out)]
    input_cycles, taken = run(width, n_out, beats, seed, in_stall, out_stalls, tmp_path)
    assert len(input_cycles) == len(beats)
    for k in range(n_out):
        assert [beat for _, beat in taken[k]] == beats, f"output {k} (stall {out_stalls[k]} %)"
    # The outputs really advanced independently: at some point they were at different beats.
    positions = [[cycle for cycle, _ in taken[k]] for k in range(n_out)]
    assert any(positions[0] != positions[k] for k in range(1, n_out))


@pytest.mark.parametrize("width, n_out", SHAPES)
def test_one_output_stalled_for_good_blocks_the_input_after_two_beats(width, n_out, tmp_path):
    """Output 0 never ready: the others still take the beats already accepted, and the input
    stops once output 0's two entries are full (the harness then reports no progress)."""
    beats = random_beats(np.random.default_rng(9), 10, width)
    executable = build(width, n_out)
    inputs, outputs = tmp_path / "in.hex", tmp_path / "out.log"
    inputs.write_text("".join(f"{beat:x}\n" for beat in beats))
    process = subprocess.run(
        [str(executable), str(inputs), str(outputs), "9", "0", str(width), str(n_out), "50",
         ",".join(["100"] + ["0"] * (n_out - 1))],
        capture_output=True, text=True,
    )
    assert process.returncode == 3, process.stderr
    lines = [line.split() for line in outputs.read_text().splitlines()]
    assert sum(parts[0] == "I" for parts in lines) == 2
    for k in range(1, n_out):
        assert [int(p[3], 16) for p in lines if p[0] == "O" and p[1] == str(k)] == beats[:2]
    assert not any(p[0] == "O" and p[1] == "0" for p in lines)


@pytest.mark.parametrize("width, n_out", SHAPES)
def test_full_rate_without_stalls(width, n_out, tmp_path):
    beats = random_beats(np.random.default_rng(7), 300, width)
    input_cycles, taken = run(width, n_out, beats, 7, 0, [0] * n_out, tmp_path)
    assert np.all(np.diff(input_cycles) == 1)
    for k in range(n_out):
        cycles = [cycle for cycle, _ in taken[k]]
        assert [beat for _, beat in taken[k]] == beats
        # one beat per cycle on every output, one cycle after the input took it
        assert cycles == [cycle + 1 for cycle in input_cycles]


@pytest.mark.parametrize("width, n_out", [(1, 2), (13, 3), (64, 5), (3, 8)])
def test_lints_clean(width, n_out):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "stream_fork", f"-GWIDTH={width}",
         f"-GN_OUT={n_out}", str(RTL)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


def test_one_output_is_refused_as_module_rules_predicts(tmp_path):
    predicted = [v.message for v in violations("stream_fork", {"WIDTH": 4, "N_OUT": 1})]
    assert predicted == ["N_OUT must be >= 2"]
    with pytest.raises(SimulationError, match=r"^stream_fork: stream_fork: N_OUT must be >= 2$"):
        run(4, 1, [1, 2], 1, 0, [0], tmp_path)
