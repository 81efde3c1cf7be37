"""The vector-vector unit of a depthwise convolution: :class:`VVAU`.

A depthwise convolution (``group`` = C = M, one output channel per input channel) lowered
to channels-last im2col patches ``P[n, i, j, k*C + c] = x_pad[n, i*sh + u*dh, j*sw + v*dw, c]``
(``k = u*KW + v``, kernel positions K = KH*KW, channels fastest, as ``Im2Col`` and the
sliding window emit them) multiplies each channel's window with its own kernel:

    y[n, i, j, c] = sum_{k < K} P[n, i, j, k*C + c] * W[k, c],   W[k, c] = W_conv[c, 0, u, v]

with exact integer arithmetic (int64). BIPOLAR operands take their values -1/+1, so a
binary depthwise convolution is the signed sum of K products of +-1 (no popcount offset).
The accumulator is typed ``acc_dtype`` (the narrowest signed INT holding every channel's
range, :func:`vvau_range`). With per-channel thresholds ``T`` (C or 1, S) (a
``MultiThreshold`` that ``to_hw`` fuses, as into an MVAU) the output is
``code(sum_i [y[..., c] >= T[c, i]])`` (codes of ``MultiThreshold.code_from_count`` for
``out_dtype``); without, it is ``y`` and ``out_dtype == acc_dtype``. ``pe`` channels per
beat; it divides C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import DataType
from bnncc.errors import ShapeError
from bnncc.ir.graph import TensorInfo
from bnncc.ir.op import Quantizer, value_bounds
from bnncc.ir.ops.hw import HWOp, signed_for_range
from bnncc.ir.ops.quant import MultiThreshold


def vvau_range(x: TensorInfo, weights: np.ndarray) -> tuple[int, int]:
    """Smallest and largest ``sum_k x[k] * W[k, c]`` over every input of ``x``'s type and
    every channel ``c``: each product is linear in ``x[k]``, so its extremes are at the ends
    ``lo``/``hi`` of the input range; 0 for an empty kernel."""
    w = np.asarray(weights).astype(np.int64)
    if w.size == 0:
        return 0, 0
    lo, hi = (int(v) for v in value_bounds(x))
    low_terms, high_terms = np.minimum(w * lo, w * hi), np.maximum(w * lo, w * hi)
    return int(low_terms.sum(axis=0).min()), int(high_terms.sum(axis=0).max())


def vvau_dtype(x: TensorInfo, weights: np.ndarray) -> DataType:
    """The narrowest signed INT holding :func:`vvau_range` (at least 2 bits)."""
    low, high = vvau_range(x, weights)
    return signed_for_range(min(low, -1), max(high, 0))


@dataclass(kw_only=True)
class VVAU(Quantizer, HWOp):
    """Vector-vector unit (module docstring). Inputs ``x`` (N, ..., K*C) integer stream,
    ``weights`` (K, C) integer constant, optional ``thresholds`` (C or 1, S) integer
    constant; output (N, ..., C) of ``out_dtype`` (``acc_dtype`` without thresholds, the
    default)."""

    channels: int
    kernel: int
    acc_dtype: DataType
    out_dtype: DataType | None = None

    @property
    def has_thresholds(self) -> bool:
        return len(self.inputs) > 2 and bool(self.inputs[2])

    @property
    def output_dtype(self) -> DataType:
        return self.out_dtype if self.out_dtype is not None else self.acc_dtype

    def threshold_op(self) -> MultiThreshold:
        """The IR thresholding applied to the accumulator."""
        return MultiThreshold(name=self.name, out_dtype=self.output_dtype, channel_axis=-1)

    def folding_dims(self, ins):
        return self.channels, None

    def infer(self, ins):
        x, weights = ins[0], ins[1]
        self.require_integer_stream(x)
        w = self.require_constant(weights, "weights")
        if tuple(weights.shape) != (self.kernel, self.channels):
            self.fail(f"weights have shape {tuple(weights.shape)}, expected (K, C) = ({self.kernel}, {self.channels})",
                      ShapeError)
        if len(x.shape) < 2 or x.shape[-1] != self.kernel * self.channels:
            self.fail(f"input {x.shape} does not end in K*C = {self.kernel * self.channels}", ShapeError)
        wanted = vvau_dtype(x, w)
        if self.acc_dtype != wanted:
            self.fail(f"acc_dtype {self.acc_dtype} is not {wanted}, the narrowest INT holding {vvau_range(x, w)}")
        if self.has_thresholds:
            self.check_thresholds(ins[2], self.channels, self.output_dtype)
        elif self.output_dtype != self.acc_dtype:
            self.fail(f"without thresholds the output is the accumulator, but out_dtype {self.out_dtype} != "
                      f"acc_dtype {self.acc_dtype}")
        self.check_folding(ins)
        return [(tuple(x.shape[:-1]) + (self.channels,), self.output_dtype)]

    def accumulate(self, x, weights) -> np.ndarray:
        """``y[..., c] = sum_k x[..., k*C + c] * W[k, c]`` in int64."""
        patches = np.asarray(x).astype(np.int64)
        windows = patches.reshape(patches.shape[:-1] + (self.kernel, self.channels))
        return np.einsum("...kc,kc->...c", windows, np.asarray(weights).astype(np.int64))

    def execute(self, x, weights, thresholds=None):
        acc = self.accumulate(x, weights)
        if thresholds is None:
            return [acc]
        return self.threshold_op().execute(acc, thresholds)

    def boundary_distance(self, x, weights, thresholds=None):
        """Distance of each accumulator from its channel's nearest threshold (infinite
        without thresholds: an accumulator is never a rounding tie)."""
        acc = self.accumulate(x, weights)
        if thresholds is None:
            return np.full(acc.shape, np.inf)
        return self.threshold_op().boundary_distance(acc, thresholds)
