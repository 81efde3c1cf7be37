"""Quantizers: real values to integer codes, and codes back to reals.

Every quantizer outputs an integer code tensor; the real value a framework would see is
``Dequantize``'s ``(code - zero_point) * scale``. Scales and zero points are fields (numpy
arrays broadcastable to the input), not tensors: the importer requires them to be constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bnncc import quant_math
from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.ir.op import Op, Quantizer, broadcast_shape, same_as_input, value_bounds


def _array_field():
    return field(default_factory=lambda: np.ones((), dtype=np.float64))


def _broadcast_parameters(op: Op, ins, *params: np.ndarray):
    """Check that per-tensor/per-channel parameters broadcast to the input without changing
    its shape (a parameter may not add a batch dimension)."""
    shape = broadcast_shape(op, [ins[0].shape] + [p.shape for p in params])
    if shape != tuple(ins[0].shape):
        op.fail(f"quantizer parameters of shape {[p.shape for p in params]} do not fit input {ins[0].shape}")


@dataclass(kw_only=True)
class Quant(Quantizer, Op):
    """QONNX ``Quant``/``IntQuant``: ``code = round_mode(clip(x / scale + zero_point, low, high))``.

    ``dtype`` is the integer type of the code: INT(b)/UINT(b) of the bit width, where
    ``[low, high]`` is ``[-2**(b-1) + narrow, 2**(b-1) - 1]`` signed or
    ``[0, 2**b - 1 - narrow]`` unsigned.
    """

    scale: np.ndarray = _array_field()
    zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.float64))
    dtype: DataType = DataType.int(8)
    low: int = -128
    high: int = 127
    rounding_mode: str = "ROUND"

    def infer(self, ins):
        _broadcast_parameters(self, ins, self.scale, self.zero_point)
        return same_as_input(ins, self.dtype)

    def execute(self, x):
        return [quant_math.quant_code(x, self.scale, self.zero_point, self.low, self.high, self.rounding_mode)]

    def boundary_distance(self, x):
        return quant_math.quant_boundary_distance(
            x, self.scale, self.zero_point, self.low, self.high, self.rounding_mode
        )


@dataclass(kw_only=True)
class BipolarQuant(Quantizer, Op):
    """QONNX ``BipolarQuant`` (and 1-bit signed ``Quant``): ``code = +1 if x / scale + zero_point
    >= 0 else -1``; zero maps to +1, unlike ONNX ``Sign``."""

    scale: np.ndarray = _array_field()
    zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.float64))

    def infer(self, ins):
        _broadcast_parameters(self, ins, self.scale, self.zero_point)
        return same_as_input(ins, BIPOLAR)

    def execute(self, x):
        return [quant_math.bipolar_code(x, self.scale, self.zero_point)]

    def boundary_distance(self, x):
        return quant_math.bipolar_boundary_distance(x, self.scale, self.zero_point)


@dataclass(kw_only=True)
class Trunc(Quantizer, Op):
    """QONNX ``Trunc``: drops low bits of an integer code.

    ``code = round_mode(clip(round(x / scale + zero_point) / shift, low, high))`` with
    ``shift`` a power of two (2**(in_bits - out_bits) in version 1 of the op,
    2**round(log2(out_scale / scale)) in version 2).
    """

    scale: np.ndarray = _array_field()
    zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.float64))
    shift: float = 1.0
    dtype: DataType = DataType.int(8)
    low: int = -128
    high: int = 127
    rounding_mode: str = "FLOOR"

    def infer(self, ins):
        _broadcast_parameters(self, ins, self.scale, self.zero_point)
        return same_as_input(ins, self.dtype)

    def execute(self, x):
        code = quant_math.trunc_code(
            x, self.scale, self.zero_point, self.shift, self.low, self.high, self.rounding_mode
        )
        return [code]

    def boundary_distance(self, x):
        return quant_math.trunc_boundary_distance(
            x, self.scale, self.zero_point, self.shift, self.low, self.high, self.rounding_mode
        )


@dataclass(kw_only=True)
class QuantizeLinear(Quantizer, Op):
    """ONNX ``QuantizeLinear``: ``code = clip(round_half_even(x / scale) + zero_point, low, high)``,
    where ``[low, high]`` is the range of the output type (int8, uint8, int4, uint4, ...)."""

    scale: np.ndarray = _array_field()
    zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.int64))
    dtype: DataType = DataType.int(8)

    def infer(self, ins):
        _broadcast_parameters(self, ins, self.scale, self.zero_point)
        return same_as_input(ins, self.dtype)

    def execute(self, x):
        return [quant_math.quantize_linear_code(x, self.scale, self.zero_point, self.dtype.min, self.dtype.max)]

    def boundary_distance(self, x):
        return quant_math.quantize_linear_boundary_distance(x, self.scale)


@dataclass(kw_only=True)
class MultiThreshold(Quantizer, Op):
    """Successive thresholding: ``count = sum_i [x >= T[c, i]]`` per channel ``c``.

    Inputs: ``x`` and the thresholds ``T`` of shape (C, N) or (1, N). The integer output is
    ``count`` mapped into ``out_dtype``: ``2 * count - 1`` for BIPOLAR,
    ``count + out_dtype.min`` for INT(n) (an n-bit signed code centred by its offset), and
    ``count`` for BINARY/UINT(n). The real output of FINN's op, ``out_scale * count +
    out_bias``, is a following ``Dequantize``.
    """

    out_dtype: DataType = DataType.uint(1)
    channel_axis: int = 1

    def infer(self, ins):
        x, thresholds = ins[0], ins[1]
        if len(thresholds.shape) != 2:
            self.fail(f"thresholds must have shape (C, N), got {thresholds.shape}")
        axis = self.channel_axis % len(x.shape)
        channels = x.shape[axis]
        if thresholds.shape[0] not in (1, channels):
            self.fail(f"thresholds have {thresholds.shape[0]} rows for {channels} channels")
        steps = thresholds.shape[1]
        if self.out_dtype == BIPOLAR and steps != 1:
            self.fail(f"a BIPOLAR output needs exactly 1 threshold per channel, got {steps}")
        span = int(self.out_dtype.max) - int(self.out_dtype.min)
        if self.out_dtype != BIPOLAR and steps > span:
            self.fail(f"{steps} thresholds produce counts that do not fit {self.out_dtype}")
        return same_as_input(ins, self.out_dtype)

    def code_from_count(self, count: np.ndarray) -> np.ndarray:
        """Map threshold counts to ``out_dtype`` codes (see the class docstring)."""
        if self.out_dtype == BIPOLAR:
            return 2 * count - 1
        if self.out_dtype.kind == "INT":
            return count + int(self.out_dtype.min)
        return count

    def execute(self, x, thresholds):
        count = quant_math.multithreshold_count(x, thresholds, self.channel_axis % x.ndim)
        return [self.code_from_count(count)]

    def boundary_distance(self, x, thresholds):
        return quant_math.multithreshold_boundary_distance(x, thresholds, self.channel_axis % x.ndim)


@dataclass(kw_only=True)
class Dequantize(Op):
    """Integer code to real: ``y = (code - zero_point) * scale``."""

    scale: np.ndarray = _array_field()
    zero_point: np.ndarray = field(default_factory=lambda: np.zeros((), dtype=np.float64))

    @property
    def is_identity(self) -> bool:
        """True when ``y == code`` exactly (unit scale, zero zero point)."""
        return bool(np.all(self.scale == 1) and np.all(self.zero_point == 0))

    def infer(self, ins):
        shape = broadcast_shape(self, [ins[0].shape, self.scale.shape, self.zero_point.shape])
        if shape != tuple(ins[0].shape):
            self.fail(f"scale {self.scale.shape} / zero point {self.zero_point.shape} do not fit input {ins[0].shape}")
        if self.is_identity:
            return [(shape, ins[0].dtype)]
        integral = np.all(self.scale == np.round(self.scale)) and np.all(self.zero_point == np.round(self.zero_point))
        if ins[0].dtype.is_integer and integral:
            low, high = value_bounds(ins[0])
            corners = [(v - z) * s for v in (low, high) for z in (self.zero_point.min(), self.zero_point.max())
                       for s in (self.scale.min(), self.scale.max())]
            if DataType.range_fits(int(min(corners)), int(max(corners))):  # else: too wide for integers
                return [(shape, DataType.for_range(int(min(corners)), int(max(corners))))]
        return [(shape, FLOAT32)]

    def execute(self, code):
        return [(code.astype(np.float64) - self.zero_point) * self.scale]
