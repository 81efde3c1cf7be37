"""The parallel mode of rtl_lib/sliding_window.v (SIMD = M*IFM_CH, rtl_lib/window_parallel.v)
against bnncc's SlidingWindow op (= Im2Col on NHWC): several frames back to back under
random stalls on both sides, one padded position per cycle without stalls, lint, the
elaboration checks against the registry's rules, and the registry's beat pattern against a
traced run."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.estimate import estimate_link
from bnncc.hw.modules.sliding_window import SPEC, cycles_per_frame
from bnncc.hw.modules.window_parallel import _positions
from bnncc.hw.patterns import FRAMES
from bnncc.hw.rules import violations
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops.hw import SlidingWindow
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import element_bits, pack_beats, to_field
from bnncc.sim.verilator import SimulationError, verilator_command
from frames import random_frames

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
SOURCES = [RTL / "sliding_window.v", RTL / "window_parallel.v"]


@dataclass(frozen=True)
class Case:
    name: str
    dims: tuple[int, int, int]  # (H, W, C)
    kernel: tuple[int, int]
    m: int                      # kernel positions per beat
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilations: tuple[int, int] = (1, 1)
    pad_value: int = 0
    dtype: DataType = BIPOLAR
    read_reg: int = 0

    def op(self) -> SlidingWindow:
        h, w, c = self.dims
        op = SlidingWindow(name=self.name, ifm_channels=c, ifm_dims=(h, w), ofm_dims=(1, 1), kernel_shape=self.kernel,
                           strides=self.strides, pads=self.pads, dilations=self.dilations, pad_value=self.pad_value)
        out_shape = op.reference_op().infer([TensorInfo((1, h, w, c), self.dtype)])[0][0]
        return op.clone(ofm_dims=tuple(out_shape[1:3]))

    @property
    def simd(self) -> int:
        return self.m * self.dims[2]

    def parameters(self) -> dict[str, int]:
        h, w, c = self.dims
        return {
            "IFM_CH": c, "IFM_H": h, "IFM_W": w, "K_H": self.kernel[0], "K_W": self.kernel[1],
            "STRIDE_H": self.strides[0], "STRIDE_W": self.strides[1], "DIL_H": self.dilations[0],
            "DIL_W": self.dilations[1], "PAD_T": self.pads[0], "PAD_L": self.pads[1], "PAD_B": self.pads[2],
            "PAD_R": self.pads[3], "PAD_VALUE": int(to_field(np.array(self.pad_value), self.dtype)), "SIMD": self.simd,
            "ELEM_BITS": element_bits(self.dtype), **({"READ_REG": self.read_reg} if self.read_reg else {}),
        }


CASES = [
    # depthwise 3x3, stride 1, padding 1 of -1 (bipolar), a whole window per beat
    Case("k3p1_m9", (6, 5, 3), (3, 3), 9, pads=(1, 1, 1, 1), pad_value=-1),
    # the same geometry, three kernel positions per beat, 4-bit signed padded with -3
    Case("k3p1_m3", (5, 6, 2), (3, 3), 3, pads=(1, 1, 1, 1), pad_value=-3, dtype=DataType.int(4)),
    # stride 2 with padding 1, 4-bit unsigned
    Case("k3s2", (7, 7, 2), (3, 3), 9, strides=(2, 2), pads=(1, 1, 1, 1), dtype=DataType.uint(4)),
    # 5x5 with dilation 2 and padding 2, five positions per beat
    Case("k5d2", (9, 10, 2), (5, 5), 5, dilations=(2, 2), pads=(2, 2, 2, 2), pad_value=1),
    # 3x2 kernel (K_H != K_W), asymmetric pads, strides (1, 2), two positions per beat
    Case("k3x2_asym", (5, 6, 3), (3, 2), 2, strides=(1, 2), pads=(2, 1, 0, 1), pad_value=5, dtype=DataType.int(4)),
    # 2x4 kernel, pads on the bottom and right only
    Case("k2x4", (5, 8, 2), (2, 4), 4, pads=(0, 1, 1, 2), dtype=DataType.uint(4)),
    # 1-D: one row, kernel 1x3, padding 1 on both ends
    Case("1d_k3", (1, 12, 2), (1, 3), 3, pads=(0, 1, 0, 1), dtype=DataType.int(4)),
    # 1-D: kernel 1x5, stride 2, dilation 2, no padding
    Case("1d_k5s2d2", (1, 15, 4), (1, 5), 5, strides=(1, 2), dilations=(1, 2)),
    # a one-column image, kernel 3x1: padded width 1 (the line buffer forwards its writes)
    Case("w1_k3x1", (6, 1, 2), (3, 1), 3, pads=(1, 0, 1, 0), pad_value=-1),
    # a one-column image under a 3x3 kernel with padding 1 (padded width 3)
    Case("w1_k3p1", (5, 1, 2), (3, 3), 9, pads=(1, 1, 1, 1)),
    # an image with fewer rows than the kernel spans, non-empty through padding
    Case("h2_k3p1", (2, 4, 2), (3, 3), 9, pads=(1, 1, 1, 1), dtype=DataType.int(4)),
    # no padding, several channels, bipolar
    Case("k3_c8", (5, 5, 8), (3, 3), 3),
    # strides larger than the kernel (rows and columns without windows), 8-bit signed
    Case("k3_s4x5", (9, 11, 1), (3, 3), 3, strides=(4, 5), dtype=DataType.int(8)),
    # the image is exactly one window: one output pixel per frame
    Case("one_window", (3, 3, 2), (3, 3), 9, dtype=DataType.uint(4)),
]
#: READ_REG = 1 (the line buffer read a cycle ahead through two registers): three positions
#: per beat, stride 2, dilation 2, a padded width of 3 (the least that reads ahead) and of 1
#: (no effect)
READ_REG_CASES = [replace(CASES[k], name=CASES[k].name + "_rr", read_reg=1) for k in (1, 2, 3, 9, 8)]


def run_case(case: Case, frames: int, seed: int, in_stall: int, out_stall: int):
    op = case.op()
    x = random_frames(np.random.default_rng(seed), case.dtype, frames, case.dims)
    y = op.execute(x)[0]
    beats_in = pack_beats(x.reshape(-1, case.dims[2]), case.dtype)
    expected = pack_beats(y.reshape(-1, case.simd), case.dtype)
    sim = StreamSimulator("sliding_window", SOURCES, case.parameters())
    result = sim.run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
    return beats_in, expected, result


@pytest.mark.parametrize("case", CASES + READ_REG_CASES, ids=[c.name for c in CASES + READ_REG_CASES])
def test_parallel_window_matches_im2col_under_stalls(case):
    for seed, in_stall, out_stall in [(1, 40, 40), (2, 20, 60), (3, 60, 10)]:   # one build, three runs
        beats_in, expected, result = run_case(case, frames=3, seed=seed, in_stall=in_stall, out_stall=out_stall)
        assert result.outputs == expected, (case.name, seed)
        # the input beats up to the last window's corner were taken (rows or columns after
        # it need not be by the time the last output beat leaves)
        image, corner = _positions(case.parameters())
        needed = len(beats_in) - int(image[np.flatnonzero(corner)[-1] + 1:].sum())
        assert needed <= len(result.input_cycles) <= len(beats_in)


def frame_beats(case: Case) -> tuple[int, int]:
    h, w, _ = case.dims
    oh, ow = case.op().ofm_dims
    return h * w, oh * ow * case.kernel[0] * case.kernel[1] // case.m


@pytest.mark.parametrize("case", CASES + READ_REG_CASES[:2], ids=[c.name for c in CASES + READ_REG_CASES[:2]])
def test_parallel_window_cycles_per_frame_without_stalls(case):
    """One padded position per cycle (or one output beat per cycle where that is more): the
    steady-state frame period is the registry's cycles per frame, within a few cycles."""
    frames = 5
    beats_in, expected, result = run_case(case, frames=frames, seed=9, in_stall=0, out_stall=0)
    assert result.outputs == expected
    _, n_out = frame_beats(case)
    per_frame = np.diff([result.output_cycles[f * n_out] for f in range(1, frames)])
    model = cycles_per_frame(case.parameters())
    h, w, _ = case.dims
    padded = (h + case.pads[0] + case.pads[2]) * (w + case.pads[1] + case.pads[3])
    assert model >= max(padded, n_out)
    assert np.all(per_frame >= model) and np.all(per_frame <= model + 3), (per_frame, model)
    if not case.name.startswith("k5d2"):   # windows in output rows closer together than the queue hides
        assert model == max(padded, n_out), (model, padded, n_out)


def test_the_window_emits_exactly_the_frames_windows():
    """Asking for one output beat more than the frames give: the design never offers it (the
    padding positions of the next frame take no input beat and make no window)."""
    case = CASES[0]
    beats_in, expected, result = run_case(case, frames=2, seed=4, in_stall=0, out_stall=0)
    assert result.outputs == expected
    sim = StreamSimulator("sliding_window", SOURCES, case.parameters())
    with pytest.raises(SimulationError, match="no transfer"):
        sim.run(beats_in, len(expected) + 1, seed=4, max_idle=200)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[4], CASES[8], *READ_REG_CASES[:4]], ids=lambda c: c.name)
def test_pattern_is_never_earlier_than_the_rtl(case):
    """Input stalls, output never blocked: fed the cycles the RTL took its input beats, the
    registry's pattern gives every output beat at the cycle the RTL gave it, or later, and
    every input beat no earlier than the RTL took it (READ_REG changes no beat's cycle)."""
    x = random_frames(np.random.default_rng(6), case.dtype, FRAMES, case.dims)
    op = case.op()
    beats_in = pack_beats(x.reshape(-1, case.dims[2]), case.dtype)
    expected = pack_beats(op.execute(x)[0].reshape(-1, case.simd), case.dtype)
    sim = StreamSimulator("sliding_window", SOURCES, case.parameters())
    result = sim.run(beats_in, len(expected), seed=6, in_stall=50, out_stall=0)
    assert result.outputs == expected
    n_in, n_out = frame_beats(case)
    stage = SimpleNamespace(parameters=case.parameters(), in_beats=n_in, out_beats=n_out)
    pattern = SPEC.pattern(stage)
    schedule = pattern.asap(np.array(result.input_cycles, dtype=np.int64))
    assert np.all(schedule.pops >= np.array(result.input_cycles))
    assert np.all(schedule.pushes >= np.array(result.output_cycles)), np.flatnonzero(
        schedule.pushes < np.array(result.output_cycles))[:5]
    # and not far later: the model is exact but for the padding before the first input
    assert np.all(schedule.pushes[n_out:] == np.array(result.output_cycles)[n_out:])


LINT_SETS = [case.parameters() for case in CASES + READ_REG_CASES] + [
    {**CASES[0].parameters(), "ELEM_BITS": 8, "PAD_VALUE": -1, "IFM_CH": 1, "SIMD": 9},
]


@pytest.mark.parametrize("params", LINT_SETS, ids=[f"lint{i}" for i in range(len(LINT_SETS))])
def test_parallel_window_lints_clean(params):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "sliding_window",
         *(f"-G{k}={v}" for k, v in params.items()), *map(str, SOURCES)],
        capture_output=True, text=True)
    assert process.returncode == 0, process.stderr


BOUNDARY = [
    # legal: M = 9 and M = 3 of a 3x3 kernel
    {"IFM_CH": 2, "SIMD": 18},
    {"IFM_CH": 2, "SIMD": 6},
    # not a multiple of IFM_CH; a factor that does not divide K_H*K_W
    {"IFM_CH": 2, "SIMD": 5},
    {"IFM_CH": 2, "SIMD": 8},
    # the kernel does not fit: both the wrapper and the parallel core say so
    {"IFM_CH": 2, "SIMD": 6, "K_H": 5},
]


@pytest.mark.parametrize("params", BOUNDARY, ids=[f"b{i}" for i in range(len(BOUNDARY))])
def test_rules_match_elaboration(params):
    """The registry's rules (sliding_window and its window_parallel core) predict exactly the
    checks Verilator's elaboration prints."""
    full = {"IFM_CH": 2, "IFM_H": 4, "IFM_W": 4, "K_H": 3, "K_W": 3, **params}
    predicted = sorted(v.message for v in violations("sliding_window", full))
    sim = StreamSimulator("sliding_window", SOURCES, full)
    if not predicted:
        sim.build()
        return
    with pytest.raises(SimulationError) as error:
        sim.run([0], 1, max_idle=50)
    for message in predicted:
        assert message in str(error.value)


@pytest.mark.parametrize("family", ["xilinx", "ecp5"])
def test_parallel_estimates_against_the_stored_calibration(family):
    """The grid of the parallel mode synthesized by Yosys
    (benchmarks/results/calibration_window_parallel_<family>.json): the stored estimates
    are the current model's, LUTs within 20 % per point, block RAM exact."""
    data = json.loads((RESULTS / f"calibration_window_parallel_{family}.json").read_text())
    assert len(data["points"]) >= 10
    for point in data["points"]:
        mine = estimate_link(point["module"], point["parameters"], family, point.get("hints"))
        assert abs(mine.lut - point["estimate"]["lut"]) < 1e-6, point["name"]
        assert mine.bram == point["yosys"]["bram"], point["name"]
        assert abs(mine.lut - point["yosys"]["lut"]) <= 0.2 * point["yosys"]["lut"], (point["name"], mine.lut)


@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[8]], ids=lambda c: c.name)
def test_pattern_alap_meets_its_constraints(case):
    """The latest schedule for deadlines 7 cycles after the earliest is feasible: input
    beats taken at its pops give every output beat by its pushes, and no later: every input
    beat a cycle later misses a deadline. It is no earlier than the earliest schedule."""
    n_in, n_out = frame_beats(case)
    pattern = SPEC.pattern(SimpleNamespace(parameters=case.parameters(), in_beats=n_in, out_beats=n_out))
    early = pattern.asap(np.zeros(FRAMES * n_in, dtype=np.int64))
    late = pattern.alap(early.pushes + 7)
    assert np.all(late.pushes <= early.pushes + 7) and np.all(late.pops >= early.pops)
    assert np.all(np.diff(late.pushes) >= 1) and np.all(np.diff(late.pops) >= 1)
    assert np.all(pattern.asap(late.pops).pushes <= late.pushes)
    assert np.any(pattern.asap(late.pops + 1).pushes > late.pushes)


def test_pattern_closed_forms_are_the_walker_loop():
    """Where the queue's credit binds nowhere the pattern uses closed forms; on every case
    they give the walker's step-by-step schedule, earliest and latest, and each case takes
    one of the two paths for a reason (some cases need the loop)."""
    rng = np.random.default_rng(1)
    loops = 0
    for case in CASES:
        n_in, n_out = frame_beats(case)
        pattern = SPEC.pattern(SimpleNamespace(parameters=case.parameters(), in_beats=n_in, out_beats=n_out))
        arrival = np.cumsum(rng.integers(0, 4, FRAMES * n_in))
        loop = pattern._asap_loop(arrival)
        fast = pattern._asap_without_credit(arrival)
        loops += fast is None
        assert np.array_equal(pattern.asap(arrival).pushes, loop.pushes)
        assert fast is None or (np.array_equal(fast.pops, loop.pops) and np.array_equal(fast.pushes, loop.pushes))
        deadline = np.maximum.accumulate(loop.pushes + rng.integers(0, 30, len(loop.pushes)))
        late, fast = pattern._alap_loop(deadline), pattern._alap_without_credit(deadline)
        assert fast is None or (np.array_equal(fast.pops, late.pops) and np.array_equal(fast.pushes, late.pushes))
    assert 0 < loops < len(CASES)
