"""rtl_lib/streaming_maxpool.v against bnncc's StreamingMaxPool op (= MaxPoolNHWC): several
frames back to back under random stalls on both sides, and the cycles per frame without
stalls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops.hw import StreamingMaxPool
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import element_bits, pack_beats
from frames import random_frames

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"


@dataclass(frozen=True)
class Case:
    name: str
    dims: tuple[int, int, int]  # (H, W, C)
    kernel: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (2, 2)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    ceil_mode: bool = False
    pe: int = 1
    dtype: DataType = BIPOLAR

    def op(self) -> StreamingMaxPool:
        h, w, c = self.dims
        op = StreamingMaxPool(
            name=self.name, ifm_channels=c, ifm_dims=(h, w), ofm_dims=(1, 1), kernel_shape=self.kernel,
            strides=self.strides, pads=self.pads, ceil_mode=self.ceil_mode, pe=self.pe,
        )
        out_shape = op.reference_op().infer([TensorInfo((1, h, w, c), self.dtype)])[0][0]
        return op.clone(ofm_dims=tuple(out_shape[1:3]))

    def parameters(self) -> dict[str, int]:
        h, w, c = self.dims
        return {
            "CH": c, "H": h, "W": w, "K_H": self.kernel[0], "K_W": self.kernel[1],
            "STRIDE_H": self.strides[0], "STRIDE_W": self.strides[1],
            "PAD_T": self.pads[0], "PAD_L": self.pads[1], "PAD_B": self.pads[2], "PAD_R": self.pads[3],
            "CEIL_MODE": int(self.ceil_mode), "PE": self.pe, "ELEM_BITS": element_bits(self.dtype),
            "SIGNED": int(self.dtype != BIPOLAR and self.dtype.kind == "INT"),
        }


CASES = [
    # CNV: 2x2 stride 2 on an even image, bipolar (maximum = OR), PE between 1 and C
    Case("cnv2x2", (6, 8, 4), pe=2),
    # 2x2 stride 2 on an odd 7x5 image (last row and column dropped), signed 4-bit, PE = 1
    Case("odd2x2_int4", (7, 5, 3), pe=1, dtype=DataType.int(4)),
    # 3x3 stride 2 pad 1 (overlapping windows, padding never wins), signed 4-bit, PE = C
    Case("k3s2p1_int4", (7, 6, 2), (3, 3), (2, 2), (1, 1, 1, 1), pe=2, dtype=DataType.int(4)),
    # ceil mode: the partial last window of each axis, unsigned 8-bit
    Case("ceil_uint8", (7, 5, 2), (2, 2), (2, 2), ceil_mode=True, pe=1, dtype=DataType.uint(8)),
    # 3x2 window, stride 1, pads on three sides and ceil mode: 3 windows open at once along
    # the rows, and two windows closing at the last row and at the last column, 1-bit, PE = C
    Case("k3x2_s1_pad", (6, 7, 3), (3, 2), (1, 1), (2, 0, 1, 1), ceil_mode=True, pe=3),
    # stride > kernel: 1x2 window with stride (2, 3), ceil mode, signed 3-bit
    Case("k1x2_s2x3", (7, 8, 2), (1, 2), (2, 3), ceil_mode=True, pe=1, dtype=DataType.int(3)),
]


def run_case(case: Case, frames: int, seed: int, in_stall: int, out_stall: int):
    op = case.op()
    rng = np.random.default_rng(seed)
    x = random_frames(rng, case.dtype, frames, case.dims)
    y = op.execute(x)[0]
    beats_in = pack_beats(x.reshape(-1, case.pe), case.dtype)
    expected = pack_beats(y.reshape(-1, case.pe), case.dtype)
    sim = StreamSimulator("streaming_maxpool", [RTL / "streaming_maxpool.v"], case.parameters())
    result = sim.run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
    return beats_in, expected, result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 40, 40), (2, 30, 50), (3, 50, 30)])
def test_streaming_maxpool_matches_maxpool_nhwc_under_stalls(case, seed, in_stall, out_stall):
    beats_in, expected, result = run_case(case, frames=3, seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == expected
    # The harness stops at the last output: the last frame's beats after the last one a
    # window uses may still be waiting (earlier frames' are consumed, or the next frame
    # would be misaligned).
    assert len(beats_in) - unused_tail(case) <= len(result.input_cycles) <= len(beats_in)


def unused_tail(case: Case) -> int:
    """Beats of a frame after the last beat that any window uses."""
    h, w, c = case.dims
    oh, ow = case.op().ofm_dims
    last_row = min(h - 1, (oh - 1) * case.strides[0] + case.kernel[0] - 1 - case.pads[0])
    last_col = min(w - 1, (ow - 1) * case.strides[1] + case.kernel[1] - 1 - case.pads[1])
    return (h * w - (last_row * w + last_col + 1)) * c // case.pe


def windows_past_end(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, ceil_mode: bool) -> int:
    """Windows that end at the last item besides the first of them (read out afterwards)."""
    span = size + pad_begin + pad_end - kernel
    extra = (-span) % stride if ceil_mode else 0
    count = (span + extra) // stride + 1
    first = max(0, -(-(size - kernel + pad_begin) // stride))
    return max(count - 1 - first, 0)


def expected_cycles_per_frame(case: Case) -> int:
    """CH/PE * (H * (W + XW) + XH * OW): one input beat per cycle plus the read-out of the
    windows that close together at the end of a row (XW) or of a frame (XH)."""
    h, w, c = case.dims
    xw = windows_past_end(w, case.kernel[1], case.strides[1], case.pads[1], case.pads[3], case.ceil_mode)
    xh = windows_past_end(h, case.kernel[0], case.strides[0], case.pads[0], case.pads[2], case.ceil_mode)
    ow = case.op().ofm_dims[1]
    return c // case.pe * (h * (w + xw) + xh * ow)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_streaming_maxpool_cycles_per_frame_without_stalls(case):
    frames = 5
    beats_in, expected, result = run_case(case, frames=frames, seed=9, in_stall=0, out_stall=0)
    assert result.outputs == expected
    h, w, c = case.dims
    n_in = h * w * c // case.pe
    # steady state: intervals between the first input beats of frames 1..4
    per_frame = np.diff([result.input_cycles[f * n_in] for f in range(1, frames)])
    model = expected_cycles_per_frame(case)
    print(f"{case.name}: in {n_in} out {len(expected) // frames} beats/frame, model {model}, measured {per_frame.tolist()}")
    # the read-out at a frame's end overlaps the next frame's first beats by up to the
    # output queue, so the model is an upper bound met within a few cycles
    assert np.all(per_frame <= model) and np.all(per_frame >= max(n_in, model - 8)), (per_frame, model)
