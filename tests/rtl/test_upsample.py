"""rtl_lib/upsample.v against numpy's nearest-neighbour repetition: several rows and frames
under random input gaps and output back-pressure, odd sizes, factors 1..3, PE < C, the exact
number of output beats, the cycle of every beat without stalls as the registry's pattern
predicts, lint under -Wall, and the elaboration checks as its rules predict; all of it also
with READ_REG = 1 (the read word registered once more) on some of the shapes."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bnncc.datatype import DataType
from bnncc.hw.modules.upsample import RowRepeat, cycles_per_frame
from bnncc.hw.patterns import FRAMES
from bnncc.hw.rules import violations
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import pack_beats, unpack_beats
from bnncc.sim.verilator import SimulationError, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib" / "upsample.v"


@dataclass(frozen=True)
class Case:
    name: str
    channels: int
    pe: int
    height: int
    width: int
    factors: tuple[int, int]
    dtype: DataType
    read_reg: int = 0

    def parameters(self) -> dict[str, int]:
        return {"CH": self.channels, "PE": self.pe, "W": self.width, "F_H": self.factors[0], "F_W": self.factors[1],
                "BITS": self.dtype.bits, **({"READ_REG": self.read_reg} if self.read_reg else {})}

    @property
    def in_beats(self) -> int:
        return self.height * self.width * self.channels // self.pe

    @property
    def out_beats(self) -> int:
        return self.in_beats * self.factors[0] * self.factors[1]


CASES = [
    # odd sizes, three beats per pixel (PE < C), rows twice and pixels three times
    Case("c3_pe1_5x5_f2x3", 3, 1, 5, 5, (2, 3), DataType.uint(4)),
    # 1-bit elements, two lanes of three channels, rows three times, pixels kept
    Case("c6_pe3_3x3_f3x1_bits1", 6, 3, 3, 3, (3, 1), DataType.uint(1)),
    # all channels in one beat, 3x3 on an odd image, signed 8-bit
    Case("c5_pe5_3x7_f3x3_int8", 5, 5, 3, 7, (3, 3), DataType.int(8)),
    # one pixel per row, two beats per pixel: pixels repeated, rows kept
    Case("c4_pe2_4x1_f1x2", 4, 2, 4, 1, (1, 2), DataType.uint(3)),
    # factors 1x1: a plain first-in first-out copy of the stream
    Case("c2_pe1_3x4_f1x1", 2, 1, 3, 4, (1, 1), DataType.uint(2)),
    # a row of one beat (line buffer of one word)
    Case("c1_pe1_3x1_f2x2", 1, 1, 3, 1, (2, 2), DataType.uint(5)),
]
#: READ_REG = 1: PE < C with both factors, one pixel per row, a plain copy, a row of one beat
READ_REG_CASES = [replace(CASES[k], name=CASES[k].name + "_rr", read_reg=1) for k in (0, 3, 4, 5)]
ALL_CASES = CASES + READ_REG_CASES


def frames_of(rng, case: Case, frames: int) -> np.ndarray:
    return rng.integers(int(case.dtype.min), int(case.dtype.max) + 1, size=(frames, case.height, case.width, case.channels))


def run(case: Case, x: np.ndarray, seed: int, in_stall: int, out_stall: int, extra_outputs: int = 0, max_idle: int = 100_000):
    """Expected output (frames, H*F_H, W*F_W, C), the simulation result and the input beats."""
    expected = np.repeat(np.repeat(x, case.factors[0], axis=1), case.factors[1], axis=2)
    beats_in = pack_beats(x.reshape(-1, case.pe), case.dtype)
    sim = StreamSimulator("upsample", [RTL], case.parameters())
    result = sim.run(beats_in, expected.size // case.pe + extra_outputs, seed=seed, in_stall=in_stall, out_stall=out_stall,
                     max_idle=max_idle)
    return expected, result, beats_in


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 30, 30), (2, 0, 60), (3, 60, 10)])
def test_upsample_matches_numpy_under_stalls(case, seed, in_stall, out_stall):
    frames = 3
    x = frames_of(np.random.default_rng(seed), case, frames)
    expected, result, beats_in = run(case, x, seed, in_stall, out_stall)
    got = unpack_beats(result.outputs, case.pe, case.dtype).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    assert len(result.input_cycles) == len(beats_in)


@pytest.mark.parametrize("case", [CASES[0], CASES[5]], ids=[CASES[0].name, CASES[5].name])
def test_upsample_emits_exactly_the_repeated_beats(case):
    """Asking for one beat more than the frames give: the design never offers it."""
    x = frames_of(np.random.default_rng(4), case, 2)
    with pytest.raises(SimulationError, match="no transfer for 200 cycles"):
        run(case, x, 4, 20, 20, extra_outputs=1, max_idle=200)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_upsample_beats_leave_when_the_pattern_says(case):
    """Without stalls every input and output beat of FRAMES frames is at the cycle the
    registry's max-plus pattern gives (relative to the first input beat), and the
    steady-state period is the stage's cycles per frame."""
    x = frames_of(np.random.default_rng(5), case, FRAMES)
    expected, result, beats_in = run(case, x, 5, 0, 0)
    np.testing.assert_array_equal(unpack_beats(result.outputs, case.pe, case.dtype).reshape(expected.shape), expected)
    stage = SimpleNamespace(parameters=case.parameters(), in_beats=case.in_beats, out_beats=case.out_beats)
    pattern = RowRepeat(stage)
    schedule = pattern.asap(np.zeros(FRAMES * case.in_beats, dtype=np.int64))
    start = result.input_cycles[0]
    np.testing.assert_array_equal(np.array(result.input_cycles) - start, schedule.pops)
    np.testing.assert_array_equal(np.array(result.output_cycles) - start, schedule.pushes)
    assert pattern.period() == cycles_per_frame(case.parameters(), case.height)
    if case.width * case.channels // case.pe > 1:
        assert pattern.period() == case.out_beats  # one output beat per cycle


@pytest.mark.parametrize("case", [CASES[0], READ_REG_CASES[0]], ids=["plain", "read_reg"])
def test_upsample_alap_schedule_is_feasible_and_pops_follow_it(case):
    """The latest schedule meets every constraint of the pattern, and the earliest pops it
    allows are no later than its own."""
    latency = 3 + case.read_reg
    stage = SimpleNamespace(parameters=case.parameters(), in_beats=case.in_beats, out_beats=case.out_beats)
    pattern = RowRepeat(stage)
    deadline = pattern.asap(np.zeros(FRAMES * case.in_beats, dtype=np.int64)).pushes + 7
    alap = pattern.alap(deadline)
    assert np.all(alap.pushes <= deadline) and np.all(np.diff(alap.pushes) >= 1) and np.all(np.diff(alap.pops) >= 1)
    rows = alap.pushes.reshape(-1, pattern.row_out)
    pops = alap.pops.reshape(-1, pattern.depth)
    assert np.all(rows >= pops[:, pattern.address] + latency)
    assert np.all(pops[1:] >= rows[:-1][:, pattern.last] - latency + 2)
    early = pattern.pops(np.zeros(len(alap.pops), dtype=np.int64), alap)
    assert np.all(early <= alap.pops)


@pytest.mark.parametrize("params", [
    {"CH": 4, "PE": 1, "W": 4, "F_H": 2, "F_W": 2, "BITS": 4},
    {"CH": 1, "PE": 1, "W": 1, "F_H": 1, "F_W": 1, "BITS": 1},
    {"CH": 6, "PE": 3, "W": 5, "F_H": 3, "F_W": 3, "BITS": 1},
    {"CH": 64, "PE": 4, "W": 33, "F_H": 2, "F_W": 1, "BITS": 64},
    {"CH": 4, "PE": 1, "W": 4, "F_H": 2, "F_W": 2, "BITS": 4, "READ_REG": 1},
    {"CH": 1, "PE": 1, "W": 1, "F_H": 1, "F_W": 1, "BITS": 1, "READ_REG": 1},
], ids=["default", "ones", "c6_pe3", "wide", "read_reg", "ones_read_reg"])
def test_upsample_lints_clean(params):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "upsample", *(f"-G{k}={v}" for k, v in params.items()),
         str(RTL)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


@pytest.mark.parametrize("changes, message", [
    ({"PE": 3}, "PE (3) must divide CH (4)"),
    ({"F_W": 0}, "F_H (2) and F_W (0) must be >= 1"),
])
def test_upsample_refuses_illegal_parameters_as_its_rules_predict(changes, message):
    parameters = {"CH": 4, "PE": 1, "W": 4, "F_H": 2, "F_W": 2, "BITS": 4, **changes}
    assert [v.message for v in violations("upsample", parameters)] == [message]
    with pytest.raises(SimulationError, match=f"upsample: upsample: {re.escape(message)}$"):
        StreamSimulator("upsample", [RTL], parameters).run([0] * 4, 1)
