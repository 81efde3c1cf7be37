"""Builders for standard ONNX operators: each maps one ONNX node to IR operations.

Inputs that ONNX passes as tensors but that bnncc needs as typed fields (Reshape's shape,
Clip's bounds, Squeeze's axes, ...) must be constant after folding; the builder says which
node and input when they are not.
"""

from __future__ import annotations

import numpy as np
import onnx

from bnncc.datatype import DataType
from bnncc.frontend.context import NodeContext
from bnncc.frontend.resize import build_resize, build_upsample
from bnncc.ir import ops
from bnncc.ir.ops import activation
from bnncc.ir.ops.pool import AveragePool


def _ints(value) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


def _axis(ctx: NodeContext, axis, rank: int, what: str = "axis") -> int:
    """``axis`` checked to lie in ``-rank .. rank-1``."""
    axis = int(axis)
    if not -rank <= axis < rank:
        ctx.fail(f"{what}={axis} is out of range for a rank-{rank} input (expected {-rank}..{rank - 1})")
    return axis


def _simple(op_class):
    """Builder for ops whose ONNX inputs and outputs map one to one, without attributes."""

    def build(ctx: NodeContext):
        return [op_class(name=ctx.name, inputs=[t for t in ctx.inputs if t], outputs=ctx.outputs[:1])]

    return build


def _auto_pads(ctx: NodeContext, in_hw, kernel, strides, dilations) -> tuple[int, int, int, int]:
    """Explicit (top, left, bottom, right) pads from ``pads`` or ``auto_pad``."""
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = _ints(ctx.attr("pads", [0, 0, 0, 0]))
        if len(pads) != 4:
            ctx.fail(f"expected 4 pads for a 2-D window, got {list(pads)}")
        return pads
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        ctx.fail(f"unknown auto_pad '{auto_pad}'")
    begin, end = [], []
    for size, k, s, d in zip(in_hw, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return (begin[0], begin[1], end[0], end[1])


def _window_fields(ctx: NodeContext, kernel) -> dict:
    """kernel_shape, strides, pads and dilations of a 2-D window op (Conv, MaxPool)."""
    kernel = _ints(kernel)
    if len(kernel) != 2:
        ctx.fail(f"only 2-D windows are supported (kernel_shape {list(kernel)})")
    strides = _ints(ctx.attr("strides", [1, 1]))
    dilations = _ints(ctx.attr("dilations", [1, 1]))
    for name, values in (("kernel_shape", kernel), ("strides", strides), ("dilations", dilations)):
        if len(values) != 2 or min(values) < 1:
            ctx.fail(f"{name} {list(values)}: expected two positive integers")
    if len(ctx.info(0).shape) != 4:
        ctx.fail(f"input has shape {ctx.info(0).shape}; expected a 4-D (N, C, H, W) tensor")
    pads = _auto_pads(ctx, ctx.info(0).shape[2:], kernel, strides, dilations)
    if min(pads) < 0:
        ctx.fail(f"negative pads {list(pads)} are not supported")
    return {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dilations}


def _window_fields_1d(ctx: NodeContext, kernel) -> dict:
    """The 2-D window fields of a 1-D window op on an (N, C, L) input, seen as (N, C, 1, L):
    kernel (1, K), strides (1, s), dilations (1, d), pads (0, b, 0, e)."""
    kernel = _ints(kernel)
    strides = _ints(ctx.attr("strides", [1]))
    dilations = _ints(ctx.attr("dilations", [1]))
    for name, values in (("kernel_shape", kernel), ("strides", strides), ("dilations", dilations)):
        if len(values) != 1 or min(values) < 1:
            ctx.fail(f"{name} {list(values)}: expected one positive integer for a 1-D window")
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad in ("NOTSET", ""):
        pads = _ints(ctx.attr("pads", [0, 0]))
        if len(pads) != 2:
            ctx.fail(f"expected 2 pads for a 1-D window, got {list(pads)}")
        pads = (0, pads[0], 0, pads[1])
    else:
        pads = _auto_pads(ctx, (1,) + tuple(ctx.info(0).shape[2:]), (1,) + kernel, (1,) + strides, (1,) + dilations)
    if min(pads) < 0:
        ctx.fail(f"negative pads {[pads[1], pads[3]]} are not supported")
    return {"kernel_shape": (1,) + kernel, "strides": (1,) + strides, "pads": tuple(pads), "dilations": (1,) + dilations}


def _as_2d(ctx: NodeContext, build_2d) -> list:
    """A 1-D window op on an (N, C, L) input as the 2-D op with H = 1: Unsqueeze the input to
    (N, C, 1, L), apply ``build_2d(input, output)``, Squeeze the result back to (N, C', L')."""
    if len(ctx.info(0).shape) != 3:
        ctx.fail(f"input has shape {ctx.info(0).shape}; expected a 3-D (N, C, L) tensor for a 1-D window")
    wide_in, wide_out = ctx.fresh("in_2d"), ctx.fresh("out_2d")
    return [
        ops.Unsqueeze(name=ctx.fresh("unsqueeze"), inputs=[ctx.inputs[0]], outputs=[wide_in], axes=(2,)),
        *build_2d(wide_in, wide_out),
        ops.Squeeze(name=ctx.fresh("squeeze"), inputs=[wide_out], outputs=ctx.outputs[:1], axes=(2,)),
    ]


def build_conv_1d(ctx: NodeContext):
    """ONNX Conv with a 3-D weight (M, C/g, K) on (N, C, L): the 2-D convolution with kernel
    (1, K) of the input seen as (N, C, 1, L), the weight as (M, C/g, 1, K)."""
    weight = ctx.info(1)
    kernel = _ints(ctx.attr("kernel_shape", weight.shape[2:]))
    if tuple(kernel) != tuple(weight.shape[2:]):
        ctx.fail(f"kernel_shape {list(kernel)} does not match the weight's spatial shape {list(weight.shape[2:])}")
    fields = _window_fields_1d(ctx, kernel)
    weight_2d = ctx.fresh("weight_2d")
    unsqueeze_weight = ops.Unsqueeze(name=ctx.fresh("unsqueeze_weight"), inputs=[ctx.inputs[1]], outputs=[weight_2d], axes=(2,))
    rest = [t for t in ctx.inputs[2:] if t]
    group = int(ctx.attr("group", 1))
    return [unsqueeze_weight] + _as_2d(ctx, lambda x, y: [
        ops.Conv(name=ctx.name, inputs=[x, weight_2d] + rest, outputs=[y], group=group, **fields)
    ])


def build_conv(ctx: NodeContext):
    weight = ctx.info(1)
    if len(weight.shape) == 3:
        return build_conv_1d(ctx)
    if len(weight.shape) != 4:
        ctx.fail(f"only 2-D convolutions are supported (weight shape {weight.shape})")
    kernel = _ints(ctx.attr("kernel_shape", weight.shape[2:]))
    if tuple(kernel) != tuple(weight.shape[2:]):
        ctx.fail(f"kernel_shape {list(kernel)} does not match the weight's spatial shape {list(weight.shape[2:])}")
    fields = _window_fields(ctx, kernel)
    inputs = [t for t in ctx.inputs if t]
    return [ops.Conv(name=ctx.name, inputs=inputs, outputs=ctx.outputs[:1], group=int(ctx.attr("group", 1)), **fields)]


def build_maxpool(ctx: NodeContext):
    if len(ctx.outputs) > 1 and ctx.outputs[1]:
        ctx.fail("the indices output of MaxPool is not supported")
    ceil_mode = bool(ctx.attr("ceil_mode", 0))
    if len(_ints(ctx.attr("kernel_shape", []))) == 1:  # 1-D: the 2-D pool with H = 1
        fields = _window_fields_1d(ctx, ctx.attr("kernel_shape", []))
        return _as_2d(ctx, lambda x, y: [
            ops.MaxPool(name=ctx.name, inputs=[x], outputs=[y], ceil_mode=ceil_mode, **fields)
        ])
    fields = _window_fields(ctx, ctx.attr("kernel_shape", []))
    return [ops.MaxPool(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], ceil_mode=ceil_mode, **fields)]


def _one_divisor(ctx: NodeContext, pool: AveragePool) -> AveragePool:
    """``pool`` if every window divides by the same count, else fail naming the node: a
    divisor that varies at the border (``count_include_pad=0`` with pads, ceil-mode windows
    past the padding) is refused."""
    height, width = ctx.info(0).shape[2:]
    pool.pooled_size(height, width)  # fails naming the node if the window does not fit
    divisors = pool.divisors(height, width)
    if divisors.min() != divisors.max():
        why = "count_include_pad=0 with pads" if any(pool.pads) and not pool.count_include_pad else "ceil_mode windows past the padding"
        ctx.fail(
            f"the divisor varies at the border ({int(divisors.max())} elements inside, {int(divisors.min())} at the "
            f"edge: {why}); only average pools with one divisor for every window are supported"
        )
    return pool


def build_average_pool(ctx: NodeContext):
    """ONNX AveragePool (2-D, dilations 1) with one divisor for every window."""
    fields = _window_fields(ctx, ctx.attr("kernel_shape", []))
    if fields["dilations"] != (1, 1):
        ctx.fail(f"dilations {list(fields['dilations'])} are not supported (only [1, 1])")
    pool = AveragePool(
        name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], ceil_mode=bool(ctx.attr("ceil_mode", 0)),
        count_include_pad=bool(ctx.attr("count_include_pad", 0)), **fields,
    )
    return [_one_divisor(ctx, pool)]


def _global_pool(ctx: NodeContext, output: str) -> AveragePool:
    """The mean over H and W of an NCHW input, written to ``output`` (N, C, 1, 1)."""
    shape = ctx.info(0).shape
    if len(shape) != 4:
        ctx.fail(f"input has shape {shape}; expected a 4-D (N, C, H, W) tensor")
    return AveragePool(
        name=ctx.name, inputs=ctx.inputs[:1], outputs=[output], kernel_shape=(shape[2], shape[3]), strides=(1, 1),
    )


def build_global_average_pool(ctx: NodeContext):
    """ONNX GlobalAveragePool: the mean over H and W, (N, C, 1, 1)."""
    return [_global_pool(ctx, ctx.outputs[0])]


def build_reduce_mean(ctx: NodeContext):
    """ONNX ReduceMean over the spatial axes (2, 3) of an NCHW tensor (axes an attribute before
    opset 18, an input after): the global average pool, then with ``keepdims=0`` a Flatten
    to (N, C)."""
    rank = len(ctx.info(0).shape)
    axes = _ints(ctx.attr("axes", [])) if ctx.opset < 18 else _ints(ctx.optional_const(1, "axes", np.zeros(0, np.int64)))
    if rank != 4 or sorted(_axis(ctx, a, rank, "axes") % rank for a in axes) != [2, 3]:
        ctx.fail(f"only the mean over the spatial axes [2, 3] of an NCHW tensor is supported, got axes {list(axes)} of a rank-{rank} tensor")
    if ctx.attr("keepdims", 1):
        return [_global_pool(ctx, ctx.outputs[0])]
    pooled = ctx.fresh("pooled")
    return [
        _global_pool(ctx, pooled),
        ops.Flatten(name=ctx.fresh("flatten"), inputs=[pooled], outputs=ctx.outputs[:1], axis=1),
    ]


def _pad_spec(ctx: NodeContext, rank: int) -> tuple[tuple[int, ...], tuple[int, ...], float]:
    """(axes, pads, value) of an ONNX Pad: attributes before opset 11, constant inputs after
    (``axes`` from opset 18); ``pads`` lists every axis' begin, then every axis' end."""
    if ctx.opset < 11:
        pads = _ints(ctx.attr("pads", ctx.attr("paddings", [])))
        return tuple(range(rank)), pads, float(ctx.attr("value", 0.0))
    pads = _ints(ctx.const(1, "pads"))
    value = np.asarray(ctx.optional_const(2, "constant_value", 0.0)).reshape(-1)
    axes = _ints(ctx.optional_const(3, "axes", np.arange(rank)))
    return tuple(a % rank for a in axes), pads, float(value[0]) if value.size else 0.0


def build_pad(ctx: NodeContext):
    """ONNX Pad, constant mode, on the spatial axes (2, 3) of an NCHW tensor only."""
    mode = ctx.attr("mode", "constant")
    if mode != "constant":
        ctx.fail(f"mode '{mode}' is not supported; only constant padding of the spatial axes can be compiled")
    rank = len(ctx.info(0).shape)
    axes, pads, value = _pad_spec(ctx, rank)
    if len(pads) != 2 * len(axes):
        ctx.fail(f"expected {2 * len(axes)} pads for axes {list(axes)}, got {list(pads)}")
    begin, end = dict(zip(axes, pads[: len(axes)])), dict(zip(axes, pads[len(axes) :]))
    if any(p < 0 for p in pads):
        ctx.fail(f"negative pads {list(pads)} (cropping) are not supported")
    if rank != 4 or any(begin[a] or end[a] for a in axes if a not in (2, 3)):
        ctx.fail(f"only the spatial axes (2, 3) of an NCHW tensor can be padded; got pads {list(pads)} on a rank-{rank} tensor")
    spatial = (begin.get(2, 0), begin.get(3, 0), end.get(2, 0), end.get(3, 0))
    return [ops.Pad(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], pads=spatial, value=value)]


def build_gemm(ctx: NodeContext):
    return [
        ops.Gemm(
            name=ctx.name,
            inputs=[t for t in ctx.inputs if t],
            outputs=ctx.outputs[:1],
            alpha=float(ctx.attr("alpha", 1.0)),
            beta=float(ctx.attr("beta", 1.0)),
            trans_a=bool(ctx.attr("transA", 0)),
            trans_b=bool(ctx.attr("transB", 0)),
        )
    ]


def build_batchnorm(ctx: NodeContext):
    if ctx.attr("training_mode", 0):
        ctx.fail("training_mode=1 is not an inference graph")
    if not ctx.attr("spatial", 1):
        ctx.fail("spatial=0 (opset < 9: statistics per element, not per channel) is not supported")
    for index, what in enumerate(("scale", "bias", "mean", "var"), start=1):
        value = np.asarray(ctx.const(index, what), dtype=np.float64)
        if not np.all(np.isfinite(value)):
            ctx.fail(f"{what} holds NaN or infinite values")
    epsilon = float(ctx.attr("epsilon", 1e-5))
    variance = np.asarray(ctx.const(4, "var"), dtype=np.float64)
    if not np.isfinite(epsilon) or np.any(variance + epsilon <= 0):
        ctx.fail(f"var + epsilon must be positive, got minimum {float(np.min(variance + epsilon)):g}")
    return [
        ops.BatchNormalization(
            name=ctx.name,
            inputs=ctx.inputs[:5],
            outputs=ctx.outputs[:1],
            epsilon=epsilon,
        )
    ]


def build_div(ctx: NodeContext):
    integer = ctx.is_integer_onnx(0) and ctx.is_integer_onnx(1)
    return [ops.Div(name=ctx.name, inputs=ctx.inputs[:2], outputs=ctx.outputs[:1], integer_division=integer)]


def build_clip(ctx: NodeContext):
    if ctx.opset < 11:
        low, high = ctx.attr("min"), ctx.attr("max")
    else:
        low = ctx.optional_const(1, "min")
        high = ctx.optional_const(2, "max")
    low = None if low is None else float(np.asarray(low).reshape(()))
    high = None if high is None else float(np.asarray(high).reshape(()))
    return [ops.Clip(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], low=low, high=high)]


def build_reshape(ctx: NodeContext):
    """ONNX Reshape; the target shape is the ``shape`` attribute before opset 5, an input after."""
    target = list(_ints(ctx.attr("shape", []))) if ctx.opset < 5 else list(_ints(ctx.const(1, "shape")))
    in_shape = ctx.info(0).shape
    allow_zero = bool(ctx.attr("allowzero", 0))
    for i, d in enumerate(target):
        if d == 0 and not allow_zero:
            if i >= len(in_shape):
                ctx.fail_shape(f"shape {target} copies axis {i}, which input {in_shape} does not have")
            target[i] = in_shape[i]
    if target.count(-1) > 1:
        ctx.fail_shape(f"shape {target} has more than one -1")
    if -1 in target:
        known = int(np.prod([d for d in target if d != -1]))
        total = int(np.prod(in_shape))
        if known == 0 or total % known:
            ctx.fail_shape(f"cannot reshape {in_shape} to {target}")
        target[target.index(-1)] = total // known
    return [ops.Reshape(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], shape=tuple(target))]


def build_flatten(ctx: NodeContext):
    return [ops.Flatten(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], axis=int(ctx.attr("axis", 1)))]


def build_transpose(ctx: NodeContext):
    perm = _ints(ctx.attr("perm", []))
    return [ops.Transpose(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], perm=perm)]


def _axes(ctx: NodeContext):
    if ctx.opset < 13:
        return _ints(ctx.attr("axes", []))
    return _ints(ctx.optional_const(1, "axes", np.zeros(0, dtype=np.int64)))


def build_squeeze(ctx: NodeContext):
    return [ops.Squeeze(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], axes=_axes(ctx))]


def build_unsqueeze(ctx: NodeContext):
    axes = _axes(ctx)
    if not axes:
        ctx.fail("axes are required")
    return [ops.Unsqueeze(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], axes=axes)]


def build_concat(ctx: NodeContext):
    if ctx.attr("axis") is None:
        ctx.fail("attribute 'axis' is missing")
    axis = _axis(ctx, ctx.attr("axis"), len(ctx.info(0).shape))
    return [ops.Concat(name=ctx.name, inputs=[t for t in ctx.inputs if t], outputs=ctx.outputs[:1], axis=axis)]


def build_gather(ctx: NodeContext):
    shape = ctx.info(0).shape
    axis = _axis(ctx, ctx.attr("axis", 0), len(shape))
    indices = ctx.graph.constant(ctx.inputs[1])
    if indices is not None:
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            ctx.fail(f"indices have type {indices.dtype}; expected integers")
        if indices.size and (indices.min() < -shape[axis] or indices.max() >= shape[axis]):
            ctx.fail(f"indices {indices.reshape(-1).tolist()} are out of range for axis {axis} of size {shape[axis]}")
    return [ops.Gather(name=ctx.name, inputs=ctx.inputs[:2], outputs=ctx.outputs[:1], axis=axis)]


def build_slice(ctx: NodeContext):
    if ctx.opset < 10:
        starts, ends = _ints(ctx.attr("starts")), _ints(ctx.attr("ends"))
        axes, steps = _ints(ctx.attr("axes", [])), ()
    else:
        starts, ends = _ints(ctx.const(1, "starts")), _ints(ctx.const(2, "ends"))
        axes = _ints(ctx.optional_const(3, "axes", []))
        steps = _ints(ctx.optional_const(4, "steps", []))
    if any(step == 0 for step in steps):
        ctx.fail(f"steps {list(steps)} contain 0")
    clamp = lambda values: tuple(max(min(v, 2**62), -(2**62)) for v in values)
    return [
        ops.Slice(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1],
            starts=clamp(starts), ends=clamp(ends), axes=axes, steps=steps,
        )
    ]


def build_shape(ctx: NodeContext):
    end = ctx.attr("end")
    return [
        ops.Shape(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1],
            start=int(ctx.attr("start", 0)), end=None if end is None else int(end),
        )
    ]


def build_cast(ctx: NodeContext):
    to = int(ctx.attr("to"))
    kind = np.dtype(onnx_np_dtype(to)).kind
    if kind == "f":
        target = DataType.parse("FLOAT32")
    elif kind == "b":
        target = DataType.parse("BINARY")
    else:
        info = np.iinfo(onnx_np_dtype(to))
        target = DataType.for_range(info.min, info.max)
    return [ops.Cast(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], to=target)]


def onnx_np_dtype(elem_type: int):
    """The numpy dtype of an ONNX element type."""
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type)


def build_topk(ctx: NodeContext):
    k = ctx.attr("k") if ctx.opset < 10 else np.asarray(ctx.const(1, "K")).reshape(-1)
    if k is None or np.size(k) != 1:
        ctx.fail(f"K must be one integer, got {None if k is None else np.asarray(k).tolist()}")
    k = int(np.asarray(k).reshape(-1)[0])
    if not ctx.attr("sorted", 1):
        ctx.fail("sorted=0 is not supported")
    return [
        ops.TopK(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:2],
            k=int(k), axis=_axis(ctx, ctx.attr("axis", -1), len(ctx.info(0).shape)), largest=bool(ctx.attr("largest", 1)),
        )
    ]


def build_argmax(ctx: NodeContext):
    return [
        ops.ArgMax(
            name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1],
            axis=_axis(ctx, ctx.attr("axis", 0), len(ctx.info(0).shape)), keepdims=bool(ctx.attr("keepdims", 1)),
            select_last_index=bool(ctx.attr("select_last_index", 0)),
        )
    ]


def build_softmax(ctx: NodeContext):
    rank = len(ctx.info(0).shape)
    axis = _axis(ctx, ctx.attr("axis", -1 if ctx.opset >= 13 else 1), rank)
    if ctx.opset < 13 and axis % rank != rank - 1:
        ctx.fail(f"opset {ctx.opset} Softmax over axes {axis}.. of a rank-{rank} tensor is not supported")
    return [ops.Softmax(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], axis=axis)]


def _activation(op_class, **defaults):
    """Builder of an element-wise activation with float attributes ``defaults`` (ONNX names
    and defaults)."""

    def build(ctx: NodeContext):
        fields = {key: float(ctx.attr(key, value)) for key, value in defaults.items()}
        return [op_class(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], **fields)]

    return build


def build_prelu(ctx: NodeContext):
    """ONNX PRelu with a constant slope (per tensor or broadcast per channel)."""
    slope = np.asarray(ctx.const(1, "slope"), dtype=np.float64)
    if not np.all(np.isfinite(slope)):
        ctx.fail("slope holds NaN or infinite values")
    return [activation.PRelu(name=ctx.name, inputs=ctx.inputs[:2], outputs=ctx.outputs[:1])]


def build_dropout(ctx: NodeContext):
    if len(ctx.outputs) > 1 and ctx.outputs[1]:
        ctx.fail("the mask output of Dropout is not supported")
    return [ops.Identity(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1])]


def constant_value(ctx: NodeContext) -> np.ndarray:
    """ONNX Constant: the value of its one numeric ``value*`` attribute."""
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        value = ctx.attr(key)
        if value is not None:
            return np.asarray(value)
    ctx.fail("only numeric Constant values are supported")


#: Largest number of elements a folded ConstantOfShape may have.
MAX_CONSTANT_ELEMENTS = 1 << 26


def constant_of_shape_value(ctx: NodeContext) -> np.ndarray:
    """ONNX ConstantOfShape(shape; value): ``full(shape, value)`` with ``value`` a one-element
    tensor (default float32 zero). ``shape`` must be constant (TorchScript exports compute
    Pad's pads this way)."""
    shape = np.asarray(ctx.const(0, "shape"))
    if shape.ndim != 1 or shape.dtype.kind not in "iu":
        ctx.fail_shape(f"shape must be a 1-D integer tensor, got {shape.dtype} of shape {shape.shape}")
    if np.any(shape < 0):
        ctx.fail_shape(f"shape {shape.tolist()} has a negative dimension")
    if int(np.prod(shape.astype(np.float64))) > MAX_CONSTANT_ELEMENTS:
        ctx.fail_shape(f"shape {shape.tolist()} is too large to fold")
    fill = ctx.attr("value")
    fill = np.zeros(1, np.float32) if fill is None else np.asarray(fill)
    if fill.size != 1:
        ctx.fail(f"value must hold one element, got {fill.size}")
    return np.full(tuple(int(d) for d in shape), fill.reshape(-1)[0], dtype=fill.dtype)


#: Op types of the default ONNX domain whose output is a constant computed by the importer.
VALUE_BUILDERS = {
    "Constant": constant_value,
    "ConstantOfShape": constant_of_shape_value,
}


#: ONNX op type -> builder, for the default ONNX domain.
STANDARD_BUILDERS = {
    "Add": _simple(ops.Add),
    "ArgMax": build_argmax,
    "AveragePool": build_average_pool,
    "BatchNormalization": build_batchnorm,
    "Cast": build_cast,
    "Clip": build_clip,
    "Concat": build_concat,
    "Conv": build_conv,
    "Cos": _activation(activation.Cos),
    "Div": build_div,
    "Dropout": build_dropout,
    "Elu": _activation(activation.Elu, alpha=1.0),
    "Flatten": build_flatten,
    "Gather": build_gather,
    "Gemm": build_gemm,
    "GlobalAveragePool": build_global_average_pool,
    "HardSigmoid": _activation(activation.HardSigmoid, alpha=0.2, beta=0.5),
    "HardSwish": _activation(activation.HardSwish),
    "Identity": _simple(ops.Identity),
    "LeakyRelu": _activation(activation.LeakyRelu, alpha=0.01),
    "MatMul": _simple(ops.MatMul),
    "MaxPool": build_maxpool,
    "Mul": _simple(ops.Mul),
    "Neg": _simple(ops.Neg),
    "Pad": build_pad,
    "Pow": _simple(ops.Pow),
    "PRelu": build_prelu,
    "Relu": _simple(ops.Relu),
    "ReduceMean": build_reduce_mean,
    "Reshape": build_reshape,
    "Resize": build_resize,
    "Selu": _activation(activation.Selu, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875),
    "Shape": build_shape,
    "Sigmoid": _activation(activation.Sigmoid),
    "Sign": _simple(ops.Sign),
    "Sin": _activation(activation.Sin),
    "Slice": build_slice,
    "Softmax": build_softmax,
    "Softplus": _activation(activation.Softplus),
    "Squeeze": build_squeeze,
    "Sub": _simple(ops.Sub),
    "Tanh": _activation(activation.Tanh),
    "TopK": build_topk,
    "Transpose": build_transpose,
    "Unsqueeze": build_unsqueeze,
    "Upsample": build_upsample,
}
