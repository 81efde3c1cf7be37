"""Pooling over NCHW activations (max and average), the window arithmetic shared with the
NHWC form (:class:`bnncc.ir.ops.window.MaxPoolNHWC`), and the hardware stage of average
pooling, the integer window sum :class:`PoolSum`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import FLOAT32, DataType
from bnncc.errors import ShapeError
from bnncc.ir.op import Op, value_bounds
from bnncc.ir.ops.linear import im2col


@dataclass(kw_only=True)
class PoolWindow(Op):
    """Fields and size rule of a 2-D max-pooling window, whatever the layout.

    Along each spatial axis (kernel ``k``, stride ``s``, dilation ``d``, pads ``p0``/``p1``)
    the output length is ``floor((size + p0 + p1 - d*(k-1) - 1) / s) + 1``, or with
    ``ceil_mode`` the ceiling of the division (the last, partial window counts).
    """

    kernel_shape: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (2, 2)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    def _extra_end(self, size: int, axis: int) -> int:
        """Padding added at the end so that ceil mode's partial window exists."""
        if not self.ceil_mode:
            return 0
        kernel = self.dilations[axis] * (self.kernel_shape[axis] - 1) + 1
        span = size + self.pads[axis] + self.pads[axis + 2] - kernel
        return (-span) % self.strides[axis]

    def _output_size(self, size: int, axis: int) -> int:
        kernel = self.dilations[axis] * (self.kernel_shape[axis] - 1) + 1
        span = size + self.pads[axis] + self.pads[axis + 2] + self._extra_end(size, axis) - kernel
        return span // self.strides[axis] + 1

    def pooled_size(self, height: int, width: int) -> tuple[int, int]:
        """(OH, OW) of an input of ``height`` x ``width``; fails naming the node if the window
        does not fit."""
        oh, ow = self._output_size(height, 0), self._output_size(width, 1)
        if oh < 1 or ow < 1:
            self.fail(f"kernel {self.kernel_shape} does not fit input {(height, width)}")
        return oh, ow

    def window_max(self, x_nchw: np.ndarray) -> np.ndarray:
        """``max_{u, v} x_pad[n, c, i*sh + u*dh, j*sw + v*dw]`` laid out as (N, OH, OW, C);
        padding is the lowest value of the array's type, so it never wins. ``x_nchw`` may be
        a transposed view."""
        lowest = np.iinfo(x_nchw.dtype).min if x_nchw.dtype.kind == "i" else -np.inf
        pads = (
            self.pads[0],
            self.pads[1],
            self.pads[2] + self._extra_end(x_nchw.shape[2], 0),
            self.pads[3] + self._extra_end(x_nchw.shape[3], 1),
        )
        patches = im2col(x_nchw, self.kernel_shape, self.strides, pads, self.dilations, pad_value=lowest)
        return patches.max(axis=(4, 5))


@dataclass(kw_only=True)
class MaxPool(PoolWindow):
    """``y[n, c, i, j] = max_{u, v} x_pad[n, c, i*sh + u*dh, j*sw + v*dw]``; padding never wins
    (it is the lowest value of the type). With ``ceil_mode`` the last partial window counts."""

    onnx_domain = ""

    def infer(self, ins):
        shape = ins[0].shape
        if len(shape) != 4:
            self.fail(f"only 2-D max pooling of NCHW tensors is supported, got shape {shape}")
        oh, ow = self.pooled_size(shape[2], shape[3])
        return [((shape[0], shape[1], oh, ow), ins[0].dtype)]

    def execute(self, x):
        return [np.ascontiguousarray(self.window_max(x).transpose(0, 3, 1, 2))]


@dataclass(kw_only=True)
class AveragePool(PoolWindow):
    """ONNX ``AveragePool`` (also ``GlobalAveragePool`` and ``ReduceMean`` over H and W) of an
    NCHW tensor, as onnxruntime computes it:

    ``y[n, c, i, j] = S[n, c, i, j] / D[i, j]``, ``S`` the sum of ``x`` over the window
    ``rows i*sh .. i*sh + kh - 1`` (shifted up by the top padding) and the columns alike, the
    padding counting as zeros, and ``D[i, j] = R(i) * K(j)`` the number of window rows (and
    columns) counted: with ``count_include_pad`` the window clipped to the padded image
    ``[-p0, size + p1)``, else clipped to the image ``[0, size)``. With ``ceil_mode`` the last,
    partial window counts (its divisor is clipped likewise). Output: (N, C, OH, OW) as
    ``MaxPool``'s, real valued.
    """

    count_include_pad: bool = False

    onnx_domain = ""

    def attributes(self) -> dict:
        """ONNX AveragePool's attributes (dilations are always 1: AveragePool before opset
        19 has no such attribute)."""
        fields = super().attributes()
        fields.pop("dilations")
        return fields

    def infer(self, ins):
        shape = ins[0].shape
        if len(shape) != 4:
            self.fail(f"only 2-D average pooling of NCHW tensors is supported, got shape {shape}")
        if tuple(self.dilations) != (1, 1):
            self.fail(f"dilations {tuple(self.dilations)} are not supported (only 1, 1)")
        oh, ow = self.pooled_size(shape[2], shape[3])
        return [((shape[0], shape[1], oh, ow), FLOAT32)]

    def _counts(self, size: int, axis: int) -> np.ndarray:
        """Per output index along ``axis``: the window elements the divisor counts."""
        count = self._output_size(size, axis)
        start = np.arange(count) * self.strides[axis] - self.pads[axis]
        end = start + self.kernel_shape[axis]
        if self.count_include_pad:
            return np.minimum(end, size + self.pads[axis + 2]) - start
        return np.minimum(end, size) - np.maximum(start, 0)

    def divisors(self, height: int, width: int) -> np.ndarray:
        """``D`` of shape (OH, OW) (see the class docstring)."""
        return np.outer(self._counts(height, 0), self._counts(width, 1))

    def window_sum(self, x_nchw: np.ndarray) -> np.ndarray:
        """``S`` laid out as (N, OH, OW, C): the window sums, padding (and the ceil-mode
        extension) counting as zeros."""
        pads = (
            self.pads[0],
            self.pads[1],
            self.pads[2] + self._extra_end(x_nchw.shape[2], 0),
            self.pads[3] + self._extra_end(x_nchw.shape[3], 1),
        )
        patches = im2col(x_nchw, self.kernel_shape, self.strides, pads, self.dilations, pad_value=0)
        return patches.sum(axis=(4, 5))

    def execute(self, x):
        sums = self.window_sum(x).astype(np.float64)
        divisors = self.divisors(x.shape[2], x.shape[3]).astype(np.float64)
        return [np.ascontiguousarray((sums / divisors[None, :, :, None]).transpose(0, 3, 1, 2))]


# The hardware stage. hw.py reaches PoolWindow (above) through window.py, so it is imported
# only once the NCHW ops of this module exist.
from bnncc.ir.ops.hw import HWOp  # noqa: E402


@dataclass(kw_only=True)
class PoolSum(HWOp):
    """The integer sum of each window of an NHWC stream, the hardware stage of average
    pooling (rtl_lib/pool_sum.v). With ``C = channels`` and ``K = window``, either

    * windows from a ``SlidingWindow`` (input (N, OH, OW, K*C), each pixel's patch with the
      channels fastest): ``y[n, i, j, c] = sum_{w < K} x[n, i, j, w*C + c]``, output
      (N, OH, OW, C); or
    * a global pool of the pixel stream (input (N, H, W, C) with ``H*W = K``):
      ``y[n, 0, 0, c] = sum_{h, w} x[n, h, w, c]``, output (N, 1, 1, C).

    The output type is the narrowest integer type holding ``K`` times the input's range. PE
    channels per beat (PE divides C).

    With ``count_ones`` the input is BIPOLAR (elements -1/+1, streamed as bits 1/0) and the
    stage sums the bits: ``y = #{+1 in the window} = (sum + K) / 2``, of type UINT holding
    0..K (the window's sum is ``2 y - K``).
    """

    channels: int
    window: int
    count_ones: bool = False

    def folding_dims(self, ins):
        return self.channels, None

    def is_global(self, shape) -> bool:
        """True if ``shape`` is a pixel stream summed whole (not windows of K*C)."""
        return shape[-1] != self.window * self.channels

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        if (x.dtype.kind == "BIPOLAR") != bool(self.count_ones):
            self.fail(f"count_ones={bool(self.count_ones)} needs {'a' if self.count_ones else 'a non-'}BIPOLAR input, "
                      f"got {x.dtype}")
        if self.channels < 1 or self.window < 1:
            self.fail(f"channels ({self.channels}) and window ({self.window}) must be >= 1")
        shape = tuple(x.shape)
        if len(shape) != 4:
            self.fail(f"expected an NHWC tensor (N, H, W, C), got shape {shape}", ShapeError)
        if not self.is_global(shape):
            out_shape = shape[:3] + (self.channels,)
        elif shape[3] == self.channels and shape[1] * shape[2] == self.window:
            out_shape = (shape[0], 1, 1, self.channels)
        else:
            self.fail(
                f"input {shape} is neither windows of {self.window} x {self.channels} channels nor "
                f"{self.window} pixels of {self.channels} channels",
                ShapeError,
            )
        self.check_folding(ins)
        if self.count_ones:
            return [(out_shape, DataType.uint(max(1, self.window.bit_length())))]
        low, high = value_bounds(x)
        return [(out_shape, DataType.for_range(int(low) * self.window, int(high) * self.window))]

    def execute(self, x):
        if self.is_global(x.shape):
            sums = x.reshape(x.shape[0], 1, 1, self.window, self.channels).sum(axis=3)
        else:
            sums = x.reshape(x.shape[:3] + (self.window, self.channels)).sum(axis=3)
        return [(sums + self.window) // 2 if self.count_ones else sums]
