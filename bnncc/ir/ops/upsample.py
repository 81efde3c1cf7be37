"""Nearest-neighbour upsampling by integer factors: the IR op :class:`NearestUpsample`
(ONNX ``Resize`` in nearest mode and ``Upsample``, NCHW or, after ``to_nhwc``, NHWC) and its
hardware stage :class:`Upsample` (``rtl_lib/upsample.v``).

With factors ``(F_H, F_W)``, every pixel is repeated ``F_W`` times along a row and every
row ``F_H`` times: ``y[n, c, i, j] = x[n, c, floor(i / F_H), floor(j / F_W)]`` (NCHW),
``y[n, i, j, c] = x[n, floor(i / F_H), floor(j / F_W), c]`` (NHWC). The values are copied,
so the element type is kept and the op commutes with every element-wise function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.errors import ShapeError
from bnncc.ir.op import Op
from bnncc.ir.ops.hw import HWOp


def repeat(x: np.ndarray, factors, height_axis: int) -> np.ndarray:
    """``x`` with axis ``height_axis`` repeated ``factors[0]`` times and the next axis
    ``factors[1]`` times, element by element."""
    return np.repeat(np.repeat(x, int(factors[0]), axis=height_axis), int(factors[1]), axis=height_axis + 1)


def check_factors(op: Op, factors) -> tuple[int, int]:
    """``factors`` as two positive ints, or fail naming ``op``."""
    values = tuple(factors)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in values):
        op.fail(f"factors {values} must be two positive integers (height, width)")
    return int(values[0]), int(values[1])


@dataclass(kw_only=True)
class NearestUpsample(Op):
    """``y = x`` with each row repeated ``factors[0]`` times and each pixel ``factors[1]``
    times (module docstring); ``channels_last`` says whether ``x`` is NHWC (else NCHW).
    Any element type; the output has the input's."""

    factors: tuple[int, int] = (2, 2)
    channels_last: bool = False

    def _height_axis(self) -> int:
        return 1 if self.channels_last else 2

    def infer(self, ins):
        shape = tuple(ins[0].shape)
        if len(shape) != 4:
            self.fail(f"only 2-D upsampling of 4-D tensors is supported, got shape {shape}", ShapeError)
        fh, fw = check_factors(self, self.factors)
        axis = self._height_axis()
        out = list(shape)
        out[axis], out[axis + 1] = shape[axis] * fh, shape[axis + 1] * fw
        return [(tuple(out), ins[0].dtype)]

    def execute(self, x):
        return [repeat(x, self.factors, self._height_axis())]


@dataclass(kw_only=True)
class Upsample(HWOp):
    """The streaming stage of nearest-neighbour upsampling (``rtl_lib/upsample.v``): an
    NHWC integer stream (N, H, W, C) becomes (N, H*F_H, W*F_W, C),
    ``y[n, i, j, c] = x[n, floor(i / F_H), floor(j / F_W), c]`` (``factors`` = (F_H, F_W)).
    Rows are repeated through a line buffer of one row, pixels in place. PE channels per
    beat (PE divides C)."""

    channels: int
    H: int
    W: int
    factors: tuple[int, int] = (2, 2)
    #: the line buffer's read word registered once more (a block RAM's output register)
    #: ahead of the output queue, one cycle of latency more. No effect on the values.
    register_reads: bool = False

    def folding_dims(self, ins):
        return self.channels, None

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        fh, fw = check_factors(self, self.factors)
        expected = (self.H, self.W, self.channels)
        if len(x.shape) != 4 or tuple(x.shape[1:]) != expected:
            self.fail(f"input {tuple(x.shape)} is not (N, {self.H}, {self.W}, {self.channels})", ShapeError)
        self.check_folding(ins)
        return [((x.shape[0], self.H * fh, self.W * fw, self.channels), x.dtype)]

    def execute(self, x):
        return [repeat(x, self.factors, 1)]
