"""Builders for quantizers: QONNX ``Quant``/``IntQuant``/``BipolarQuant``/``Trunc``, FINN
``MultiThreshold`` and ONNX ``QuantizeLinear``/``DequantizeLinear``.

A QONNX or FINN quantizer with real output ``y`` becomes an integer quantizer writing
``code_tensor_name(y)`` followed by a ``Dequantize`` writing ``y``, so the integers are
explicit in the IR and comparable with the reference engine.
"""

from __future__ import annotations

import numpy as np
import onnx

from bnncc import quant_math
from bnncc.datatype import BIPOLAR, DataType
from bnncc.frontend.context import NodeContext
from bnncc.frontend.domains import QUANT_DOMAINS  # noqa: F401  (re-exported)
from bnncc.ir import ops
from bnncc.naming import code_tensor_name

#: Widest integer code bnncc accepts from a quantizer.
MAX_QUANT_BITS = 32

#: ONNX element types QuantizeLinear/DequantizeLinear may use, and their integer types.
QDQ_TYPES = {
    onnx.TensorProto.INT8: DataType.int(8),
    onnx.TensorProto.UINT8: DataType.uint(8),
    onnx.TensorProto.INT16: DataType.int(16),
    onnx.TensorProto.UINT16: DataType.uint(16),
    onnx.TensorProto.INT4: DataType.int(4),
    onnx.TensorProto.UINT4: DataType.uint(4),
}


def _float_array(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _bit_width(ctx: NodeContext, index: int, what: str) -> int:
    value = np.asarray(ctx.const(index, what), dtype=np.float64)
    if value.size != 1:
        ctx.fail(f"{what} must be a scalar, got shape {value.shape}")
    bits = float(value.reshape(()))
    if bits != int(bits) or not 1 <= bits <= MAX_QUANT_BITS:
        ctx.fail(f"{what} {bits:g} is not supported (expected an integer from 1 to {MAX_QUANT_BITS})")
    return int(bits)


def _flag(ctx: NodeContext, name: str, default: int) -> bool:
    """A 0/1 integer attribute such as ``signed`` or ``narrow``."""
    value = ctx.attr(name, default)
    if isinstance(value, bool) or value not in (0, 1):
        ctx.fail(f"attribute '{name}' must be 0 or 1, got {value!r}")
    return bool(value)


def _rounding_mode(ctx: NodeContext, default: str) -> str:
    mode = ctx.attr("rounding_mode", default)
    try:
        return quant_math.normalize_rounding_mode(mode)
    except ValueError as exc:
        ctx.fail(str(exc))


def _check_scale(ctx: NodeContext, scale: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(scale)) or np.any(scale == 0):
        ctx.fail("scale must be finite and non-zero")
    return scale


def _with_dequantize(ctx: NodeContext, quantizer, scale, zero_point):
    """``quantizer`` writing the code tensor, then ``Dequantize`` writing the node's output."""
    output = ctx.outputs[0]
    dequantize = ops.Dequantize(
        name=ctx.fresh("dequantize"),
        inputs=[code_tensor_name(output)],
        outputs=[output],
        scale=_float_array(scale),
        zero_point=_float_array(zero_point),
    )
    return [quantizer, dequantize]


def build_quant(ctx: NodeContext):
    """QONNX Quant/IntQuant(x, scale, zeropt, bitwidth; signed, narrow, rounding_mode)."""
    scale = _check_scale(ctx, _float_array(ctx.const(1, "scale")))
    zero_point = _float_array(ctx.const(2, "zero point"))
    bits = _bit_width(ctx, 3, "bit width")
    signed = _flag(ctx, "signed", 1)
    narrow = _flag(ctx, "narrow", 0)
    code = code_tensor_name(ctx.outputs[0])
    if bits == 1 and signed:
        quantizer = ops.BipolarQuant(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=[code], scale=scale, zero_point=zero_point
        )
    else:
        low, high = quant_math.int_range(bits, signed, narrow)
        quantizer = ops.Quant(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=[code], scale=scale, zero_point=zero_point,
            dtype=DataType.for_range(low, high) if signed else DataType.uint(bits),
            low=low, high=high, rounding_mode=_rounding_mode(ctx, "ROUND"),
        )
    return _with_dequantize(ctx, quantizer, scale, zero_point)


def build_bipolar_quant(ctx: NodeContext):
    """QONNX BipolarQuant(x, scale): code = +1 if x / scale >= 0 else -1; y = code * scale."""
    scale = _check_scale(ctx, _float_array(ctx.const(1, "scale")))
    code = code_tensor_name(ctx.outputs[0])
    quantizer = ops.BipolarQuant(name=ctx.name, inputs=ctx.inputs[:1], outputs=[code], scale=scale)
    return _with_dequantize(ctx, quantizer, scale, np.zeros(()))


def build_trunc(ctx: NodeContext):
    """QONNX/Brevitas Trunc, told apart by the number of inputs:

    * 5 (QONNX v1, older Brevitas): ``x, scale, zeropt, in_bits, out_bits``;
      ``shift = 2**(in_bits - out_bits)``, ``y = (code - zeropt) * scale``;
    * 6 (Brevitas 0.13, e.g. ``TruncAvgPool2d``): ``x, scale, zeropt, in_bits, out_scale,
      out_bits``;
    * 7 (QONNX v2): ``x, scale, zeropt, in_bits, out_scale, out_zeropt, out_bits``.

    For 6 and 7 inputs, as qonnx executes them: ``shift = 2**round(log2(out_scale / scale))``
    (one power of two), ``y = (code - zeropt / shift) * out_scale``; ``out_zeropt`` is unused.
    In every version ``code = round_mode(clip(round(x / scale + zeropt) / shift))``.
    """
    count = len(ctx.inputs)
    if count not in (5, 6, 7):
        ctx.fail(f"expected 5, 6 or 7 inputs (Trunc v1, Brevitas 0.13, Trunc v2), found {count}")
    scale = _check_scale(ctx, _float_array(ctx.const(1, "scale")))
    zero_point = _float_array(ctx.const(2, "zero point"))
    in_bits = _bit_width(ctx, 3, "input bit width")
    if count >= 6:
        out_scale = _check_scale(ctx, _float_array(ctx.const(4, "output scale")))
        out_bits = _bit_width(ctx, count - 1, "output bit width")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = out_scale / scale
        if not np.all(np.isfinite(ratio) & (ratio > 0)):
            ctx.fail(f"output scale / scale must be positive and finite, got {np.unique(ratio).tolist()}")
        exponents = np.unique(np.round(np.log2(ratio)))
        if exponents.size != 1:
            ctx.fail("output scale / input scale must be one power of two")
        shift = float(2.0 ** exponents[0])
        real_scale, real_zero_point = out_scale, zero_point / shift
    else:
        out_bits = _bit_width(ctx, 4, "output bit width")
        shift = float(2.0 ** (in_bits - out_bits))
        real_scale, real_zero_point = scale, zero_point
    if out_bits > in_bits:
        ctx.fail(f"output bit width {out_bits} exceeds input bit width {in_bits}")
    signed = _flag(ctx, "signed", 1)
    low, high = quant_math.int_range(out_bits, signed, _flag(ctx, "narrow", 0))
    quantizer = ops.Trunc(
        name=ctx.name, inputs=ctx.inputs[:1], outputs=[code_tensor_name(ctx.outputs[0])],
        scale=scale, zero_point=zero_point, shift=shift,
        dtype=DataType.for_range(low, high) if signed else DataType.uint(out_bits),
        low=low, high=high, rounding_mode=_rounding_mode(ctx, "FLOOR"),
    )
    return _with_dequantize(ctx, quantizer, real_scale, real_zero_point)


def build_multithreshold(ctx: NodeContext):
    """FINN MultiThreshold(x, thresholds; out_dtype, out_scale, out_bias, data_layout).

    With code ``q = a * count + b0`` (a = 2, b0 = -1 for BIPOLAR; a = 1, b0 = min for INT(n);
    a = 1, b0 = 0 otherwise) the real output ``out_scale * count + out_bias`` is
    ``(q - zp) * s`` with ``s = out_scale / a`` and ``zp = b0 - out_bias * a / out_scale``.
    """
    try:
        out_dtype = DataType.parse(ctx.attr("out_dtype", ""))
    except ValueError as exc:
        ctx.fail(f"out_dtype: {exc}")
    if not out_dtype.is_integer:
        ctx.fail("out_dtype must be an integer type")
    out_scale = float(ctx.attr("out_scale", 1.0))
    out_bias = float(ctx.attr("out_bias", 0.0))
    if out_scale == 0:
        ctx.fail("out_scale must be non-zero")
    rank = len(ctx.info(0).shape)
    layout = ctx.attr("data_layout", "NCHW")
    if layout not in ("NCHW", "NHWC"):
        ctx.fail(f"unknown data_layout '{layout}' (expected NCHW or NHWC)")
    channel_axis = 1 if rank in (2, 4) and layout == "NCHW" or rank == 2 else rank - 1
    step, offset = (2, -1) if out_dtype == BIPOLAR else (1, int(out_dtype.min))
    quantizer = ops.MultiThreshold(
        name=ctx.name, inputs=ctx.inputs[:2], outputs=[code_tensor_name(ctx.outputs[0])],
        out_dtype=out_dtype, channel_axis=channel_axis,
    )
    scale = out_scale / step
    zero_point = offset - out_bias * step / out_scale
    return _with_dequantize(ctx, quantizer, scale, zero_point)


def _per_axis(ctx: NodeContext, value: np.ndarray, rank: int) -> np.ndarray:
    """Reshape a 1-D per-axis parameter so that it broadcasts along ``axis`` of a rank-``rank``
    tensor."""
    value = np.asarray(value)
    if value.ndim == 0 or value.size == 1:
        return value.reshape(())
    if ctx.attr("block_size", 0):
        ctx.fail("blocked quantization (block_size) is not supported")
    axis = int(ctx.attr("axis", 1))
    if not -rank <= axis < rank:
        ctx.fail(f"axis={axis} is out of range for a rank-{rank} input (expected {-rank}..{rank - 1})")
    axis %= rank
    shape = [1] * rank
    shape[axis] = value.size
    return value.reshape(shape)


def build_quantize_linear(ctx: NodeContext):
    """ONNX QuantizeLinear(x, y_scale, y_zero_point; axis, saturate, output_dtype)."""
    rank = len(ctx.info(0).shape)
    scale = _check_scale(ctx, _per_axis(ctx, _float_array(ctx.const(1, "y_scale")), rank))
    if ctx.has_input(2):
        elem = ctx.onnx_types.get(ctx.inputs[2], onnx.TensorProto.UINT8)
        zero_point = _per_axis(ctx, np.asarray(ctx.const(2, "y_zero_point"), dtype=np.int64), rank)
    else:
        elem = int(ctx.attr("output_dtype", 0)) or onnx.TensorProto.UINT8
        zero_point = np.zeros((), dtype=np.int64)
    if elem not in QDQ_TYPES:
        name = onnx.TensorProto.DataType.Name(elem)
        ctx.fail(f"quantized type {name} is not supported (expected int8, uint8, int16, uint16, int4 or uint4)")
    return [
        ops.QuantizeLinear(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1],
            scale=scale, zero_point=zero_point, dtype=QDQ_TYPES[elem],
        )
    ]


def build_dequantize_linear(ctx: NodeContext):
    """ONNX DequantizeLinear(x, x_scale, x_zero_point; axis): y = (x - zero_point) * scale."""
    rank = len(ctx.info(0).shape)
    if not ctx.info(0).dtype.is_integer:
        ctx.fail("input is not an integer tensor")
    scale = _check_scale(ctx, _per_axis(ctx, _float_array(ctx.const(1, "x_scale")), rank))
    zero_point = _per_axis(ctx, _float_array(ctx.optional_const(2, "x_zero_point", 0)), rank)
    return [
        ops.Dequantize(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], scale=scale, zero_point=zero_point)
    ]



#: Op type -> builder, for ops in one of :data:`QUANT_DOMAINS`.
CUSTOM_BUILDERS = {
    "Quant": build_quant,
    "IntQuant": build_quant,
    "BipolarQuant": build_bipolar_quant,
    "Trunc": build_trunc,
    "MultiThreshold": build_multithreshold,
}

#: Quantizers of the standard ONNX domain.
QDQ_BUILDERS = {
    "QuantizeLinear": build_quantize_linear,
    "DequantizeLinear": build_dequantize_linear,
}
