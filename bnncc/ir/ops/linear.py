"""Linear operations: MatMul, Gemm, Conv (NCHW, as ONNX defines them).

For integer operands the result is exact (int64, see :func:`bnncc.ir.op.exact_matmul`) and
its type is the narrowest that holds every possible sum: with inputs bounded by
``[a_lo, a_hi]`` and weights by ``[w_lo, w_hi]``, each of the K products lies between the
min and max of the four corner products, and the sum between K times those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bnncc.datatype import DataType
from bnncc.errors import ShapeError
from bnncc.ir.op import Op, exact_matmul, float_or_integer, value_bounds


def _accumulator_bounds(ins, terms: int, bias=None):
    """Bounds of a sum of ``terms`` products of input 0 and input 1 elements (plus a bias)."""
    a_lo, a_hi = value_bounds(ins[0])
    w_lo, w_hi = value_bounds(ins[1])
    corners = [a_lo * w_lo, a_lo * w_hi, a_hi * w_lo, a_hi * w_hi]
    low, high = terms * min(corners), terms * max(corners)
    if bias is not None:
        b_lo, b_hi = value_bounds(bias)
        low, high = low + b_lo, high + b_hi
    return int(np.floor(low)), int(np.ceil(high))


@dataclass(kw_only=True)
class MatMul(Op):
    """``y = a @ b`` with numpy/ONNX MatMul broadcasting; ``b`` is usually a constant (K, M)."""

    onnx_domain = ""

    def infer(self, ins):
        a, b = ins[0].shape, ins[1].shape
        if len(a) < 1 or len(b) < 1 or a[-1] != (b[-2] if len(b) > 1 else b[0]):
            self.fail(f"cannot multiply shapes {a} and {b}", ShapeError)
        shape = np.matmul(np.zeros(a, dtype=np.int8), np.zeros(b, dtype=np.int8)).shape
        return [(shape, float_or_integer(ins, lambda: _accumulator_bounds(ins, a[-1])))]

    def execute(self, a, b):
        return [exact_matmul(a, b)]


@dataclass(kw_only=True)
class XnorPopcountMatMul(Op):
    """Binary matrix product as hardware computes it: ``x`` and ``w`` are BIPOLAR (-1/+1),
    and the result is the number of positions where they agree,
    ``p[n, m] = #{k : x[n, k] == w[k, m]}``, so that ``x @ w = 2 * p - K``."""

    def infer(self, ins):
        a, b = ins[0].shape, ins[1].shape
        if len(b) != 2 or a[-1] != b[0]:
            self.fail(f"cannot multiply shapes {a} and {b}", ShapeError)
        return [(tuple(a[:-1]) + (b[1],), DataType.for_range(0, b[0]))]

    def execute(self, x, w):
        return [(exact_matmul(x, w) + w.shape[0]) // 2]


@dataclass(kw_only=True)
class Gemm(Op):
    """ONNX Gemm: ``y = alpha * op(a) @ op(b) + beta * c``, op = optional transpose."""

    onnx_domain = "bnncc"
    alpha: float = 1.0
    beta: float = 1.0
    trans_a: bool = False
    trans_b: bool = False

    def infer(self, ins):
        if len(ins[0].shape) != 2 or len(ins[1].shape) != 2:
            self.fail(f"Gemm needs 2-D operands, got {ins[0].shape} and {ins[1].shape}", ShapeError)
        m, k = ins[0].shape[::-1] if self.trans_a else ins[0].shape
        k2, n = ins[1].shape[::-1] if self.trans_b else ins[1].shape
        if k != k2:
            self.fail(f"inner dimensions differ: {ins[0].shape} and {ins[1].shape}", ShapeError)
        if self.trans_a:
            self.fail("transposed activations (transA=1) move the batch dimension; not supported")
        integer = self.alpha == 1.0 and self.beta == 1.0
        bias = ins[2] if len(ins) > 2 else None
        dtype = float_or_integer(ins, (lambda: _accumulator_bounds(ins, k, bias)) if integer else None)
        return [((m, n), dtype)]

    def execute(self, a, b, c=None):
        b = b.T if self.trans_b else b
        y = exact_matmul(a, b)
        if self.alpha != 1.0:
            y = self.alpha * y
        if c is not None:
            y = y + (self.beta * c if self.beta != 1.0 else c)
        return [y]


def conv_output_size(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, dilation: int) -> int:
    """Output length of a convolution/pooling window along one axis:
    ``floor((size + pads - dilation * (kernel - 1) - 1) / stride) + 1``."""
    return (size + pad_begin + pad_end - dilation * (kernel - 1) - 1) // stride + 1


def im2col(x: np.ndarray, kernel, strides, pads, dilations, pad_value=0) -> np.ndarray:
    """Patches of an NCHW tensor: (N, OH, OW, C, KH, KW), via a strided view (no copy until
    the caller reshapes). ``pads`` is (top, left, bottom, right)."""
    top, left, bottom, right = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=pad_value)
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    dh, dw = dilations
    oh = conv_output_size(h, kh, sh, 0, 0, dh)
    ow = conv_output_size(w, kw, sw, 0, 0, dw)
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x,
        shape=(n, oh, ow, c, kh, kw),
        strides=(s[0], s[2] * sh, s[3] * sw, s[1], s[2] * dh, s[3] * dw),
        writeable=False,
    )


def pad_nchw(x: np.ndarray, pads, value) -> np.ndarray:
    """Surround the H and W axes of an NCHW tensor with ``value`` (a scalar or one value per
    channel); ``pads`` is (top, left, bottom, right)."""
    top, left, bottom, right = pads
    if not any(pads):
        return x
    value = np.asarray(value)
    if value.ndim == 0:
        return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value.item())
    out = np.empty(x.shape[:2] + (x.shape[2] + top + bottom, x.shape[3] + left + right), dtype=np.result_type(x, value))
    out[...] = value.reshape(1, -1, 1, 1)
    out[:, :, top : top + x.shape[2], left : left + x.shape[3]] = x
    return out


@dataclass(kw_only=True)
class Conv(Op):
    """2-D convolution, NCHW activations, weights (M, C/group, KH, KW), optional bias (M):
    ``y[n, m, i, j] = b[m] + sum_{c, u, v} x_pad[n, c, i*sh + u*dh, j*sw + v*dw] * w[m, c, u, v]``.

    ``x_pad`` is ``x`` surrounded by ``pad_value`` (0 as in ONNX; after scales move past the
    convolution, the integer code of real zero, which may differ per input channel: then
    ``pad_value`` has shape (C,)).
    """

    onnx_domain = ""
    kernel_shape: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    group: int = 1
    pad_value: float | np.ndarray = 0

    def infer(self, ins):
        x, w = ins[0].shape, ins[1].shape
        if len(x) != 4 or len(w) != 4:
            self.fail(f"only 2-D convolutions are supported (input {x}, weight {w})")
        if x[1] != w[1] * self.group or w[0] % self.group:
            self.fail(f"input has {x[1]} channels but weights {w} with group={self.group}", ShapeError)
        oh = conv_output_size(x[2], w[2], self.strides[0], self.pads[0], self.pads[2], self.dilations[0])
        ow = conv_output_size(x[3], w[3], self.strides[1], self.pads[1], self.pads[3], self.dilations[1])
        if oh < 1 or ow < 1:
            self.fail(f"kernel {w[2:]} does not fit input {x[2:]}", ShapeError)
        terms = w[1] * w[2] * w[3]
        bias = ins[2] if len(ins) > 2 else None
        dtype = float_or_integer(ins, lambda: _accumulator_bounds(ins, terms, bias))
        return [((x[0], w[0], oh, ow), dtype)]

    def execute(self, x, w, b=None):
        m, cg, kh, kw = w.shape
        integer = x.dtype.kind in "iu" and w.dtype.kind in "iu"
        bound = None
        if integer:
            pad = np.abs(np.asarray(self.pad_value, dtype=np.float64)).max(initial=0)
            bound = max(float(np.abs(x).max(initial=0)), float(pad))
        x = pad_nchw(x, self.pads, self.pad_value)
        patches = im2col(x, (kh, kw), self.strides, (0, 0, 0, 0), self.dilations)
        n, oh, ow = patches.shape[:3]
        per_group = m // self.group
        outputs = []
        for g in range(self.group):
            part = patches if self.group == 1 else patches[:, :, :, g * cg : (g + 1) * cg]
            part = part.reshape(n * oh * ow, cg * kh * kw)
            weight = w[g * per_group : (g + 1) * per_group].reshape(per_group, -1)
            outputs.append(exact_matmul(part, weight.T, a_bound=bound))
        y = outputs[0] if self.group == 1 else np.concatenate(outputs, axis=1)
        y = y.reshape(n, oh, ow, m).transpose(0, 3, 1, 2)
        if b is not None:
            y = y + b.reshape(1, m, 1, 1)
        return [np.ascontiguousarray(y)]
