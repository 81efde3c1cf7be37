"""The vector-vector unit of a grouped convolution: :class:`VVAU`.

A grouped convolution with ``G`` groups of ``CG`` input and ``MG`` output channels
(C = G*CG input and M = G*MG output channels; depthwise is CG = MG = 1, a depthwise
convolution with channel multiplier k is CG = 1, MG = k) lowered to channels-last im2col
patches ``P[n, i, j, k*C + c] = x_pad[n, i*sh + u*dh, j*sw + v*dw, c]`` (``k = u*KW + v``,
kernel positions K = KH*KW, channels fastest, as ``Im2Col`` and the sliding window emit
them) multiplies each output channel's kernel with the window of its own group only:

    y[n, i, j, m] = sum_{k < K} sum_{j' < CG} P[n, i, j, k*C + g(m)*CG + j'] * W[k, m*CG + j'],
    g(m) = m // MG,   W[k, m*CG + j'] = W_conv[m, j', u, v]   (W is (K, M*CG))

with exact integer arithmetic (int64). BIPOLAR operands take their values -1/+1, so a
binary convolution is the signed sum of K*CG products of +-1 (no popcount offset). The
accumulator is typed ``acc_dtype`` (the narrowest signed INT holding every output
channel's range, :func:`vvau_range`). With per-channel thresholds ``T`` (M or 1, S) (a
``MultiThreshold`` that ``to_hw`` fuses, as into an MVAU) the output is
``code(sum_i [y[..., m] >= T[m, i]])`` (codes of ``MultiThreshold.code_from_count`` for
``out_dtype``); without, it is ``y`` and ``out_dtype == acc_dtype``.

Folding (as FINN's VVAU: parallelism goes to the channels first, then to the kernel
positions): ``pe`` groups per beat (divides G), ``simd`` kernel positions per beat (divides
K; ``simd > 1`` only when ``pe == G``). A beat carries ``simd*pe*CG`` input elements and
``pe*MG`` outputs; a window takes ``(K/simd)*(G/pe)`` beats.
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


def vvau_range(x: TensorInfo, weights: np.ndarray, group_in: int = 1, group_out: int = 1) -> tuple[int, int]:
    """Smallest and largest ``sum_{k, j} x[k, j] * W[k, m*CG + j]`` over every input of
    ``x``'s type and every output channel ``m`` (its K*CG products, ``CG = group_in``;
    ``group_out`` does not change it): each product is linear in its input, so its extremes
    are at the ends ``lo``/``hi`` of the input range; 0 for an empty kernel."""
    w = np.asarray(weights).astype(np.int64)
    if w.size == 0:
        return 0, 0
    lo, hi = (int(v) for v in value_bounds(x))
    low_terms, high_terms = np.minimum(w * lo, w * hi), np.maximum(w * lo, w * hi)
    per_out = (w.shape[0], -1, group_in)  # (K, M, CG): column m*CG + j
    low = low_terms.reshape(per_out).sum(axis=(0, 2))
    high = high_terms.reshape(per_out).sum(axis=(0, 2))
    return int(low.min()), int(high.max())


def vvau_dtype(x: TensorInfo, weights: np.ndarray, group_in: int = 1, group_out: int = 1) -> DataType:
    """The narrowest signed INT holding :func:`vvau_range` (at least 2 bits)."""
    low, high = vvau_range(x, weights, group_in, group_out)
    return signed_for_range(min(low, -1), max(high, 0))


@dataclass(kw_only=True)
class VVAU(Quantizer, HWOp):
    """Vector-vector unit (module docstring). Inputs ``x`` (N, ..., K*C) integer stream,
    ``weights`` (K, M*CG) integer constant, optional ``thresholds`` (M or 1, S) integer
    constant; output (N, ..., M) of ``out_dtype`` (``acc_dtype`` without thresholds, the
    default). ``channels`` = C = G*CG, ``group_in`` = CG, ``group_out`` = MG."""

    channels: int
    kernel: int
    acc_dtype: DataType
    out_dtype: DataType | None = None
    group_in: int = 1
    group_out: int = 1

    @property
    def groups(self) -> int:
        """G = C / CG."""
        return self.channels // self.group_in

    @property
    def out_channels(self) -> int:
        """M = G * MG."""
        return self.groups * self.group_out

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
        return self.groups, self.kernel

    def check_folding(self, ins) -> None:
        """``pe`` divides G, ``simd`` divides K, and ``simd > 1`` only with ``pe == G``."""
        super().check_folding(ins)
        if self.simd > 1 and self.pe != self.groups:
            self.fail(f"SIMD={self.simd} (kernel positions per beat) needs PE equal to the {self.groups} groups, "
                      f"found PE={self.pe}")

    def check_groups(self) -> None:
        for label, value in (("group_in", self.group_in), ("group_out", self.group_out)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                self.fail(f"{label}={value} must be a positive integer")
        if self.channels < 1 or self.channels % self.group_in:
            self.fail(f"group_in={self.group_in} does not divide the {self.channels} channels", ShapeError)

    def infer(self, ins):
        x, weights = ins[0], ins[1]
        self.require_integer_stream(x)
        self.check_groups()
        w = self.require_constant(weights, "weights")
        columns = self.out_channels * self.group_in
        if tuple(weights.shape) != (self.kernel, columns):
            self.fail(f"weights have shape {tuple(weights.shape)}, expected (K, M*CG) = ({self.kernel}, {columns})",
                      ShapeError)
        if len(x.shape) < 2 or x.shape[-1] != self.kernel * self.channels:
            self.fail(f"input {x.shape} does not end in K*C = {self.kernel * self.channels}", ShapeError)
        wanted = vvau_dtype(x, w, self.group_in, self.group_out)
        if self.acc_dtype != wanted:
            self.fail(f"acc_dtype {self.acc_dtype} is not {wanted}, the narrowest INT holding "
                      f"{vvau_range(x, w, self.group_in, self.group_out)}")
        if self.has_thresholds:
            self.check_thresholds(ins[2], self.out_channels, self.output_dtype)
        elif self.output_dtype != self.acc_dtype:
            self.fail(f"without thresholds the output is the accumulator, but out_dtype {self.out_dtype} != "
                      f"acc_dtype {self.acc_dtype}")
        self.check_folding(ins)
        return [(tuple(x.shape[:-1]) + (self.out_channels,), self.output_dtype)]

    def accumulate(self, x, weights) -> np.ndarray:
        """``y[..., m] = sum_{k, j} x[..., k*C + g(m)*CG + j] * W[k, m*CG + j]`` in int64."""
        patches = np.asarray(x).astype(np.int64)
        g, cg, mg = self.groups, self.group_in, self.group_out
        windows = patches.reshape(patches.shape[:-1] + (self.kernel, g, cg))
        w = np.asarray(weights).astype(np.int64).reshape(self.kernel, g, mg, cg)
        out = np.einsum("...kgj,kgij->...gi", windows, w)
        return out.reshape(out.shape[:-2] + (g * mg,))

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
