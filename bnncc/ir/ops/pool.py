"""Max pooling over NCHW activations, and the window arithmetic shared with the NHWC form
(:class:`bnncc.ir.ops.window.MaxPoolNHWC`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.ir.op import Op
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
