"""Element-wise operations with numpy/ONNX broadcasting.

On integer inputs, Add, Sub, Mul, Neg, Relu and Clip stay integer and their result type is
derived by interval arithmetic on the input bounds; everything else produces FLOAT32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Callable

import numpy as np

from bnncc.datatype import FLOAT32, DataType
from bnncc.ir.op import Op, broadcast_shape, float_or_integer, same_as_input, value_bounds


@dataclass(kw_only=True)
class Binary(Op):
    """Base of two-input element-wise operations: ``y = fn(a, b)``."""

    onnx_domain = ""
    fn: ClassVar[Callable]
    #: Interval rule ``(a_lo, a_hi, b_lo, b_hi) -> (lo, hi)``, or None if the result is real.
    bounds: ClassVar[Callable | None] = None

    def infer(self, ins):
        shape = broadcast_shape(self, [info.shape for info in ins])
        rule = type(self).bounds
        low_high = None
        if rule is not None:
            low_high = lambda: tuple(int(v) for v in rule(*value_bounds(ins[0]), *value_bounds(ins[1])))
        return [(shape, float_or_integer(ins, low_high))]

    def execute(self, a, b):
        return [type(self).fn(a, b)]


def _corners(a_lo, a_hi, b_lo, b_hi):
    products = [a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi]
    return min(products), max(products)


@dataclass(kw_only=True)
class Add(Binary):
    """``y = a + b``."""

    fn = staticmethod(np.add)
    bounds = staticmethod(lambda a_lo, a_hi, b_lo, b_hi: (a_lo + b_lo, a_hi + b_hi))


@dataclass(kw_only=True)
class Sub(Binary):
    """``y = a - b``."""

    fn = staticmethod(np.subtract)
    bounds = staticmethod(lambda a_lo, a_hi, b_lo, b_hi: (a_lo - b_hi, a_hi - b_lo))


@dataclass(kw_only=True)
class Mul(Binary):
    """``y = a * b``."""

    fn = staticmethod(np.multiply)
    bounds = staticmethod(_corners)


@dataclass(kw_only=True)
class Div(Binary):
    """``y = a / b``; with ``integer_division`` (ONNX integer tensors) the quotient is
    truncated toward zero, as ONNX defines it for integer types."""

    onnx_domain = "bnncc"
    integer_division: bool = False

    def infer(self, ins):
        shape = broadcast_shape(self, [info.shape for info in ins])
        if self.integer_division:
            return [(shape, ins[0].dtype)]
        return [(shape, FLOAT32)]

    def execute(self, a, b):
        if self.integer_division:
            return [np.trunc(a / b).astype(np.int64)]
        return [np.divide(a.astype(np.float64), b)]


@dataclass(kw_only=True)
class Pow(Binary):
    """``y = a ** b`` in real arithmetic."""

    fn = staticmethod(lambda a, b: np.power(a.astype(np.float64), b))


@dataclass(kw_only=True)
class Unary(Op):
    """Base of one-input element-wise operations: ``y = fn(x)``."""

    onnx_domain = ""
    fn: ClassVar[Callable]

    def infer(self, ins):
        return same_as_input(ins, FLOAT32)

    def execute(self, x):
        return [type(self).fn(x)]


@dataclass(kw_only=True)
class Relu(Unary):
    """``y = max(x, 0)``."""

    fn = staticmethod(lambda x: np.maximum(x, 0))

    def infer(self, ins):
        if ins[0].dtype.is_integer:
            low, high = value_bounds(ins[0])
            return same_as_input(ins, DataType.for_range(max(0, int(low)), max(0, int(high))))
        return same_as_input(ins, FLOAT32)


@dataclass(kw_only=True)
class Neg(Unary):
    """``y = -x``."""

    fn = staticmethod(np.negative)

    def infer(self, ins):
        if ins[0].dtype.is_integer:
            low, high = value_bounds(ins[0])
            return same_as_input(ins, DataType.for_range(-int(high), -int(low)))
        return same_as_input(ins, FLOAT32)


@dataclass(kw_only=True)
class Sign(Unary):
    """ONNX ``Sign``: -1, 0 or +1 (zero maps to 0, unlike ``BipolarQuant``)."""

    fn = staticmethod(lambda x: np.sign(x).astype(np.int64))

    def infer(self, ins):
        return same_as_input(ins, DataType.int(2))


@dataclass(kw_only=True)
class Identity(Unary):
    """``y = x``."""

    fn = staticmethod(lambda x: x)

    def infer(self, ins):
        return same_as_input(ins)


@dataclass(kw_only=True)
class Cast(Unary):
    """Type conversion to ``to`` (integer targets truncate toward zero, as ONNX does)."""

    onnx_domain = "bnncc"
    to: DataType = FLOAT32

    def infer(self, ins):
        return same_as_input(ins, self.to)

    def execute(self, x):
        if self.to.is_integer:
            return [np.trunc(x).astype(np.int64)]
        return [x.astype(np.float64)]


@dataclass(kw_only=True)
class Clip(Op):
    """``y = min(max(x, low), high)``; ``low``/``high`` are None when absent."""

    onnx_domain = "bnncc"
    low: float | None = None
    high: float | None = None

    def infer(self, ins):
        if ins[0].dtype.is_integer and all(v is None or float(v).is_integer() for v in (self.low, self.high)):
            lo, hi = value_bounds(ins[0])
            lo = lo if self.low is None else max(lo, self.low)
            hi = hi if self.high is None else min(hi, self.high)
            return same_as_input(ins, DataType.for_range(int(lo), int(max(lo, hi))))
        return same_as_input(ins, FLOAT32)

    def execute(self, x):
        y = x
        if self.low is not None:
            y = np.maximum(y, self.low)
        if self.high is not None:
            y = np.minimum(y, self.high)
        if x.dtype.kind == "i" and y.dtype.kind == "f":
            y = y.astype(np.int64)
        return [y]


@dataclass(kw_only=True)
class BatchNormalization(Op):
    """Inference-mode batch normalization over axis 1:
    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta``; inputs x, gamma, beta, mean, var."""

    onnx_domain = ""
    epsilon: float = 1e-5

    def infer(self, ins):
        channels = ins[0].shape[1] if len(ins[0].shape) > 1 else None
        for info in ins[1:]:
            if info.shape != (channels,):
                self.fail(f"parameter of shape {info.shape} does not match {channels} channels")
        return same_as_input(ins, FLOAT32)

    def execute(self, x, gamma, beta, mean, var):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv = gamma / np.sqrt(var + self.epsilon)
        return [(x - mean.reshape(shape)) * inv.reshape(shape) + beta.reshape(shape)]
