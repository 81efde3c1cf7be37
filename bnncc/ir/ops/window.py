"""Sliding-window operations: channels-last (NHWC) im2col and max pooling, and the ONNX
constant ``Pad`` of the two spatial axes of an NCHW tensor.

Hardware streams activations in NHWC order (DESIGN.md), so the passes that lower
convolutions express them on NHWC tensors: a convolution becomes ``Im2Col`` followed by a
matrix product, and max pooling becomes ``MaxPoolNHWC``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import FLOAT32, DataType
from bnncc.errors import ShapeError
from bnncc.ir.op import Op
from bnncc.ir.ops.linear import conv_output_size, im2col, pad_nchw
from bnncc.ir.ops.pool import PoolWindow


def padded_type(dtype: DataType, value) -> DataType:
    """Element type of a tensor of ``dtype`` surrounded by ``value`` (a scalar or array):
    ``dtype`` itself if it allows every value, else the narrowest integer type holding
    both ``dtype``'s range and the values, FLOAT32 when a value is not an integer."""
    value = np.asarray(value, dtype=np.float64)
    if not dtype.is_integer or dtype.allows(value):
        return dtype
    if not np.all(np.isfinite(value)) or not np.all(value == np.round(value)):
        return FLOAT32
    return DataType.for_range(min(int(dtype.min), int(value.min())), max(int(dtype.max), int(value.max())))


def _pad_operands(x: np.ndarray, value) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and the pad ``value`` in one numpy type: integers stay integers when the value
    is one, otherwise both become float64 (so a fractional pad value is not truncated)."""
    value = np.asarray(value)
    if x.dtype.kind in "iu" and np.all(value == np.round(value)):
        return x, value.astype(x.dtype)
    return x.astype(np.float64, copy=False), value.astype(np.float64)


@dataclass(kw_only=True)
class Im2Col(Op):
    """Patches of an NHWC tensor, one row per output pixel (kernel row, kernel column,
    channel fastest):

    ``y[n, i, j, (u*KW + v)*C + c] = x_pad[n, i*sh + u*dh, j*sw + v*dw, c]``

    where ``x_pad`` is ``x`` surrounded by ``pads`` = (top, left, bottom, right) elements
    of ``pad_value`` (a scalar, or one value per channel, shape (C,)). Then a convolution
    with weights ``W[m, c, u, v]`` is ``y @ W2`` with ``W2[(u*KW + v)*C + c, m] = W[m, c, u, v]``.
    Output: (N, OH, OW, KH*KW*C), with OH, OW as for ``Conv``; its type is the input's
    when there is no padding or every pad value is a value of the input type, else the
    narrowest type holding both (:func:`padded_type`).
    """

    kernel_shape: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    pad_value: float | np.ndarray = 0

    def _check_fields(self, channels: int) -> None:
        for field_name, values, count, low in (
            ("kernel_shape", self.kernel_shape, 2, 1),
            ("strides", self.strides, 2, 1),
            ("dilations", self.dilations, 2, 1),
            ("pads", self.pads, 4, 0),
        ):
            if len(values) != count or any(int(v) < low for v in values):
                self.fail(f"{field_name} must be {count} integers >= {low}, got {tuple(values)}")
        value_shape = np.shape(self.pad_value)
        if value_shape not in ((), (channels,)):
            self.fail(f"pad_value must be a scalar or one value per channel ({channels}), got shape {value_shape}")

    def infer(self, ins):
        shape = ins[0].shape
        if len(shape) != 4:
            self.fail(f"expected an NHWC tensor (N, H, W, C), got shape {shape}", ShapeError)
        self._check_fields(shape[3])
        kh, kw = self.kernel_shape
        oh = conv_output_size(shape[1], kh, self.strides[0], self.pads[0], self.pads[2], self.dilations[0])
        ow = conv_output_size(shape[2], kw, self.strides[1], self.pads[1], self.pads[3], self.dilations[1])
        if oh < 1 or ow < 1:
            self.fail(f"kernel {tuple(self.kernel_shape)} does not fit input {shape[1:3]} with pads {tuple(self.pads)}", ShapeError)
        dtype = padded_type(ins[0].dtype, self.pad_value) if any(self.pads) else ins[0].dtype
        return [((shape[0], oh, ow, kh * kw * shape[3]), dtype)]

    def execute(self, x):
        x, value = _pad_operands(x, self.pad_value)
        padded = pad_nchw(x.transpose(0, 3, 1, 2), self.pads, value)
        patches = im2col(padded, self.kernel_shape, self.strides, (0, 0, 0, 0), self.dilations)
        n, oh, ow = patches.shape[:3]
        return [patches.transpose(0, 1, 2, 4, 5, 3).reshape(n, oh, ow, -1)]


@dataclass(kw_only=True)
class MaxPoolNHWC(PoolWindow):
    """Max pooling of an NHWC tensor, the channels-last form of ``MaxPool``:

    ``y[n, i, j, c] = max_{u, v} x_pad[n, i*sh + u*dh, j*sw + v*dw, c]``

    Padding never wins (it is the lowest value of the type); with ``ceil_mode`` the last
    partial window counts. Output: (N, OH, OW, C).
    """

    def infer(self, ins):
        shape = ins[0].shape
        if len(shape) != 4:
            self.fail(f"expected an NHWC tensor (N, H, W, C), got shape {shape}", ShapeError)
        oh, ow = self.pooled_size(shape[1], shape[2])
        return [((shape[0], oh, ow, shape[3]), ins[0].dtype)]

    def execute(self, x):
        return [np.ascontiguousarray(self.window_max(x.transpose(0, 3, 1, 2)))]


@dataclass(kw_only=True)
class Pad(Op):
    """ONNX ``Pad`` in constant mode on the spatial axes of an NCHW tensor:

    ``y[n, c, top + i, left + j] = x[n, c, i, j]``, every other element of the
    (N, C, top + H + bottom, left + W + right) output is ``value``.

    ``pads`` is (top, left, bottom, right). The output type is the input's if it holds
    ``value``, else the narrowest type holding both (FLOAT32 for a fractional value).
    """

    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    value: float = 0.0

    def infer(self, ins):
        shape = ins[0].shape
        if len(shape) != 4:
            self.fail(f"pads the two spatial axes of an NCHW tensor, got shape {shape}", ShapeError)
        if len(self.pads) != 4 or any(int(p) < 0 for p in self.pads):
            self.fail(f"pads must be 4 integers >= 0 (top, left, bottom, right), got {tuple(self.pads)}")
        top, left, bottom, right = self.pads
        dtype = padded_type(ins[0].dtype, self.value) if any(self.pads) else ins[0].dtype
        return [((shape[0], shape[1], shape[2] + top + bottom, shape[3] + left + right), dtype)]

    def execute(self, x):
        x, value = _pad_operands(x, self.value)
        return [pad_nchw(x, self.pads, value)]
