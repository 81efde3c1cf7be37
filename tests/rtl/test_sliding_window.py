"""rtl_lib/sliding_window.v against bnncc's SlidingWindow op (= Im2Col on NHWC): several
frames back to back under random stalls on both sides, and the cycles per frame without
stalls; with READ_REG (the line buffer's read registered once more) on odd shapes as well,
and the registry's beat pattern against the cycles the RTL gives its output beats."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.hw.modules.sliding_window import SPEC
from bnncc.hw.patterns import FRAMES
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops.hw import SlidingWindow
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import element_bits, pack_beats, to_field
from bnncc.sim.verilator import verilator_command
from frames import random_frames

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"


@dataclass(frozen=True)
class Case:
    name: str
    dims: tuple[int, int, int]  # (H, W, C)
    kernel: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    dilations: tuple[int, int] = (1, 1)
    pad_value: int = 0
    simd: int = 1
    dtype: DataType = BIPOLAR
    extra_rows: int = 0
    read_reg: int = 0

    def op(self) -> SlidingWindow:
        h, w, c = self.dims
        op = SlidingWindow(
            name=self.name, ifm_channels=c, ifm_dims=(h, w), ofm_dims=(1, 1), kernel_shape=self.kernel,
            strides=self.strides, pads=self.pads, dilations=self.dilations, pad_value=self.pad_value, simd=self.simd,
        )
        out_shape = op.reference_op().infer([TensorInfo((1, h, w, c), self.dtype)])[0][0]
        return op.clone(ofm_dims=tuple(out_shape[1:3]))

    def parameters(self) -> dict[str, int]:
        h, w, c = self.dims
        return {
            "IFM_CH": c, "IFM_H": h, "IFM_W": w, "K_H": self.kernel[0], "K_W": self.kernel[1],
            "STRIDE_H": self.strides[0], "STRIDE_W": self.strides[1], "DIL_H": self.dilations[0], "DIL_W": self.dilations[1],
            "PAD_T": self.pads[0], "PAD_L": self.pads[1], "PAD_B": self.pads[2], "PAD_R": self.pads[3],
            "PAD_VALUE": int(to_field(np.array(self.pad_value), self.dtype)), "SIMD": self.simd,
            "ELEM_BITS": element_bits(self.dtype), "EXTRA_ROWS": self.extra_rows,
            **({"READ_REG": self.read_reg} if self.read_reg else {}),
        }


CASES = [
    # CNV: 3x3, stride 1, no padding, bipolar, SIMD between 1 and C, odd 7x5 image
    Case("cnv3x3", (7, 5, 4), (3, 3), simd=2),
    # 3x3 with padding 1 of a non-zero value, 8-bit signed, SIMD=1
    Case("pad1_int8", (6, 7, 3), (3, 3), pads=(1, 1, 1, 1), pad_value=-3, simd=1, dtype=DataType.int(8)),
    # 1x3 kernel, stride 2 both ways, asymmetric padding, SIMD = C, bipolar padded with +1
    Case("k1x3_s2", (7, 5, 3), (1, 3), strides=(2, 2), pads=(0, 1, 0, 2), pad_value=1, simd=3),
    # 3x2 kernel with stride (1, 3) (stride > kernel), pads on every side, 2-bit unsigned
    Case("k3x2_s1x3", (5, 8, 2), (3, 2), strides=(1, 3), pads=(2, 1, 1, 0), pad_value=2, simd=1, dtype=DataType.uint(2)),
    # dilation 2 with padding 2, stride 2 (rows) / 1, bipolar padded with -1, SIMD = C
    Case("dil2", (9, 7, 2), (3, 3), strides=(2, 1), dilations=(2, 2), pads=(2, 2, 2, 2), pad_value=-1, simd=2),
    # 1x1 kernel, stride 3 (stride > kernel, input-bound)
    Case("k1_s3", (7, 7, 2), (1, 1), strides=(3, 3), simd=1, dtype=DataType.int(4)),
    # a 3x3 image under a 3x3 kernel: the buffer holds the whole image (NROWS = IFM_H)
    Case("whole_image", (3, 3, 4), (3, 3), simd=4, dtype=DataType.uint(3)),
]

# READ_REG = 1 on odd shapes: padding with SIMD < C, dilation with stride 2, a one-column
# image, a 1x1 kernel with stride 2, output rows of one and two beats
READ_REG_CASES = [
    Case("rr_pad_simd2", (6, 7, 4), (3, 3), pads=(1, 1, 1, 1), pad_value=-3, simd=2, dtype=DataType.int(8), read_reg=1),
    Case("rr_dil2_s2", (9, 7, 2), (3, 3), strides=(2, 2), dilations=(2, 1), pads=(2, 2, 2, 1), pad_value=-1,
         read_reg=1),
    Case("rr_w1", (7, 1, 3), (3, 1), pads=(1, 0, 1, 0), pad_value=1, simd=3, dtype=DataType.uint(2), read_reg=1),
    Case("rr_k1_s2", (5, 4, 4), (1, 1), strides=(2, 2), simd=2, dtype=DataType.int(4), read_reg=1),
    # one beat per output row (the released rows without the register that lags a cycle)
    # and two (the least with it), padded so that released rows are clamped at both ends
    Case("rr_one_beat_rows", (6, 1, 2), (1, 1), pads=(1, 0, 1, 0), simd=2, dtype=DataType.int(4), read_reg=1),
    Case("rr_two_beat_rows", (5, 2, 2), (1, 1), pads=(2, 0, 1, 0), simd=2, dtype=DataType.int(4), read_reg=1),
]


def run_case(case: Case, frames: int, seed: int, in_stall: int, out_stall: int):
    op = case.op()
    rng = np.random.default_rng(seed)
    x = random_frames(rng, case.dtype, frames, case.dims)
    y = op.execute(x)[0]
    beats_in = pack_beats(x.reshape(-1, case.simd), case.dtype)
    expected = pack_beats(y.reshape(-1, case.simd), case.dtype)
    sim = StreamSimulator("sliding_window", [RTL / "sliding_window.v"], case.parameters())
    result = sim.run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
    return op, y, beats_in, expected, result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 40, 40), (2, 30, 50), (3, 50, 30)])
def test_sliding_window_matches_im2col_under_stalls(case, seed, in_stall, out_stall):
    _, _, beats_in, expected, result = run_case(case, frames=3, seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == expected
    assert len(result.input_cycles) == len(beats_in)


@pytest.mark.parametrize("case", READ_REG_CASES, ids=[c.name for c in READ_REG_CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(4, 40, 40), (5, 20, 70)])
def test_registered_reads_match_im2col_under_stalls(case, seed, in_stall, out_stall):
    """READ_REG = 1: the same beats under random stalls on both sides (heavy output stalls
    fill the queue while beats are in both RAM stages)."""
    _, _, beats_in, expected, result = run_case(case, frames=3, seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == expected
    assert len(result.input_cycles) == len(beats_in)


def frame_beats(case: Case) -> tuple[int, int]:
    """(input beats, output beats) of one frame."""
    op = case.op()
    h, w, c = case.dims
    oh, ow = op.ofm_dims
    return h * w * c // case.simd, oh * ow * case.kernel[0] * case.kernel[1] * c // case.simd


def expected_cycles_per_frame(case: Case) -> int:
    """max(input beats, output beats + refill): the analytical cycles per frame without stalls.

    In steady state the output issues one beat per cycle once its word has been written. At
    a frame start the writer has prefetched the next frame's first rows only as far as the
    free row slots allowed (NROWS rows minus those the previous frame's last output row
    holds); the other words arrive one per cycle from the moment the frame ends, so output
    beat j, which needs word a_j of the rest of the frame, cannot go before cycle a_j + 2
    (its check of the writer's position is registered): refill = max_j (a_j + 2 - j)."""
    h, w, c = case.dims
    cf = c // case.simd
    (kh, kw), (sh, sw), (dh, dw) = case.kernel, case.strides, case.dilations
    pt, pl = case.pads[:2]
    oh, ow = case.op().ofm_dims
    nrows = min(h, (kh - 1) * dh + sh) + case.extra_rows
    first_of_last = min(max((oh - 1) * sh - pt, 0), h)
    prefetched = max(first_of_last + nrows - h, 0) * w * cf
    i, j, u, v, f = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw), np.arange(cf), indexing="ij")
    rows, cols = i * sh + u * dh - pt, j * sw + v * dw - pl
    word = ((rows * w + cols) * cf + f - prefetched).reshape(-1)
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).reshape(-1)
    refill = max(0, int(np.max(np.where(inside, word + 2 - np.arange(word.size), 0))))
    n_in, n_out = frame_beats(case)
    return max(n_in, n_out + refill)


@pytest.mark.parametrize("case", CASES + READ_REG_CASES[:2], ids=[c.name for c in CASES + READ_REG_CASES[:2]])
def test_sliding_window_cycles_per_frame_without_stalls(case):
    frames = 5
    _, _, beats_in, expected, result = run_case(case, frames=frames, seed=9, in_stall=0, out_stall=0)
    assert result.outputs == expected
    n_in, n_out = frame_beats(case)
    # steady state: the intervals between frame starts after the first (start-up) frame
    per_frame = np.diff([result.output_cycles[f * n_out] for f in range(1, frames)])
    assert np.all(per_frame >= max(n_in, n_out))
    expected_cycles = expected_cycles_per_frame(case)
    print(f"{case.name}: in {n_in} out {n_out} beats/frame, model {expected_cycles}, measured {per_frame.tolist()} cycles/frame")
    # up to a few cycles more where the writer briefly waits for a row slot at a frame start
    assert np.all(per_frame >= expected_cycles) and np.all(per_frame <= expected_cycles + 3), (per_frame, expected_cycles)


def test_extra_rows_hide_the_frame_refill():
    """A 3x3 layer on a small image is output-bound; two extra row slots let the writer
    prefetch the next frame's first rows, so a frame costs exactly its output beats."""
    case = Case("cnv_extra", (7, 5, 4), (3, 3), simd=2, extra_rows=2)
    frames = 5
    _, _, _, expected, result = run_case(case, frames=frames, seed=5, in_stall=0, out_stall=0)
    assert result.outputs == expected
    n_in, n_out = frame_beats(case)
    per_frame = np.diff([result.output_cycles[f * n_out] for f in range(1, frames)])
    assert expected_cycles_per_frame(case) == n_out
    assert np.all(per_frame == n_out), per_frame


PATTERN_CASES = [CASES[0], replace(CASES[0], name="cnv3x3_rr", read_reg=1), READ_REG_CASES[0], READ_REG_CASES[2]]


def _run_with_pattern(case, seed: int, in_stall: int):
    """FRAMES random frames through the RTL (input stalls of ``in_stall`` %, output never
    blocked), checked against the op; the run and the registry's pattern of the case."""
    x = random_frames(np.random.default_rng(seed), case.dtype, FRAMES, case.dims)
    beats_in = pack_beats(x.reshape(-1, case.simd), case.dtype)
    expected = pack_beats(case.op().execute(x)[0].reshape(-1, case.simd), case.dtype)
    sim = StreamSimulator("sliding_window", [RTL / "sliding_window.v"], case.parameters())
    result = sim.run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=0)
    assert result.outputs == expected
    n_in, n_out = frame_beats(case)
    return result, SPEC.pattern(SimpleNamespace(parameters=case.parameters(), in_beats=n_in, out_beats=n_out))


@pytest.mark.parametrize("case", PATTERN_CASES, ids=[c.name for c in PATTERN_CASES])
def test_pattern_gives_the_rtl_output_cycles(case):
    """Input stalls, output never blocked: fed the cycles the RTL took its input beats, the
    registry's pattern gives every output beat no earlier than the RTL did (without padding;
    the pattern lets padding ahead of the first input beat leave at any time, so the first
    frame of a padded layer is modelled early) and, from the second frame on, exactly then:
    with READ_REG every beat a cycle later."""
    result, pattern = _run_with_pattern(case, seed=6, in_stall=50)
    _, n_out = frame_beats(case)
    schedule = pattern.asap(np.array(result.input_cycles, dtype=np.int64))
    measured = np.array(result.output_cycles)
    if not any(case.pads):   # padding ahead of the first input beat: the pattern lets it go at any time
        assert np.all(schedule.pushes >= measured), np.flatnonzero(schedule.pushes < measured)[:5]
    assert np.array_equal(schedule.pushes[n_out:], measured[n_out:]), np.flatnonzero(
        schedule.pushes[n_out:] != measured[n_out:])[:5]


@pytest.mark.parametrize("case", PATTERN_CASES, ids=[c.name for c in PATTERN_CASES])
def test_pattern_gives_the_rtl_input_cycles(case):
    """Input always offered, output never blocked: the writer waits only for released row
    slots, and the registry's pattern takes every input beat, from the second frame on, in
    the cycle the RTL took it (with READ_REG a release reaches the writer a cycle later)."""
    result, pattern = _run_with_pattern(case, seed=7, in_stall=0)
    n_in, _ = frame_beats(case)
    taken = np.array(result.input_cycles, dtype=np.int64)
    schedule = pattern.asap(np.full(len(taken), taken[0], dtype=np.int64))
    assert len(np.unique(np.diff(taken))) > 1      # the writer waited somewhere: a release bound
    assert np.array_equal(schedule.pops[n_in:], taken[n_in:]), np.flatnonzero(schedule.pops[n_in:] != taken[n_in:])[:5]


@pytest.mark.parametrize("case", READ_REG_CASES, ids=[c.name for c in READ_REG_CASES])
def test_registered_reads_lint_clean(case):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "sliding_window",
         *[f"-G{key}={value}" for key, value in case.parameters().items()],
         str(RTL / "sliding_window.v"), str(RTL / "window_parallel.v")],
        capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
