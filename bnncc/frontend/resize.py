"""Builders of ONNX ``Resize`` (mode nearest) and ``Upsample`` (opset 7-9, mode nearest):
both become :class:`~bnncc.ir.ops.upsample.NearestUpsample` when they repeat pixels.

A resize of an (N, C, H, W) tensor by scales ``(1, 1, F_H, F_W)`` maps output index ``o``
along an axis of input length ``L`` to the input index ``nearest(t(o))`` clamped to
``0..L-1``, with ``t`` the coordinate transformation (onnxruntime's arithmetic, in float32):

* ``half_pixel``, ``pytorch_half_pixel``, ``half_pixel_symmetric``: ``(o + 0.5)/F - 0.5``;
* ``asymmetric``: ``o / F``; ``tf_half_pixel_for_nn``: ``(o + 0.5)/F``;
* ``align_corners``: ``o (L - 1)/(L F - 1)``;

and ``nearest`` one of ``round_prefer_floor``, ``round_prefer_ceil``, ``floor``, ``ceil``.
Pixel repetition is ``floor(o / F)``. For an integer ``F`` and ``o = iF + r`` (``0 <= r <
F``), ``half_pixel`` gives ``i + (r + 0.5)/F - 0.5``, strictly within half a step of ``i``,
so both rounding modes repeat pixels (floor and ceil do not for ``F > 1``); ``asymmetric``
gives ``i + r/F``, repeated by ``floor`` (and by the rounding modes only for ``F <= 2``);
``tf_half_pixel_for_nn`` gives ``i + (r + 0.5)/F``, repeated by ``floor``. The builder
computes the map for the node's own sizes and accepts it exactly when it is ``floor(o /
F)`` on both spatial axes; otherwise it refuses, naming the two modes. ``Upsample`` and
opset-10 ``Resize`` use ``floor(o / F)`` itself (onnxruntime: asymmetric, floor).

Scales come from ``scales`` (output length ``floor(L * s)``) or ``sizes`` (``s = size /
L``); N and C must keep their sizes, H and W scales must be positive integers. A standard
Resize in a channels-last network (QKeras/hls4ml exports) reads an NHWC tensor: when the
import holds its input also in NCHW, or its scales are ``(1, s_H, s_W, 1)`` with ``s_H !=
1``, H and W are axes 1 and 2, and the node becomes ``Transpose(NearestUpsample(Transpose(x,
(0,3,1,2))), (0,2,3,1))`` (the inner transpose is the NCHW copy when there is one), so the
layers of the network still meet in NCHW.
"""

from __future__ import annotations

import numpy as np

from bnncc.frontend.context import NodeContext
from bnncc.ir import ops
from bnncc.ir.ops.upsample import NearestUpsample

TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric", "asymmetric", "tf_half_pixel_for_nn",
              "align_corners")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def source_index(transform: str, nearest: str, length: int, factor: int) -> np.ndarray:
    """onnxruntime's input index of each output index along an axis of input ``length``
    upsampled by ``factor`` (float32 arithmetic, clamped to the input)."""
    f32 = np.float32
    o = np.arange(length * factor).astype(f32)
    scale, out_len = f32(factor), length * factor
    if transform in ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"):
        x = (o + f32(0.5)) / scale - f32(0.5)
        if transform == "pytorch_half_pixel" and out_len == 1:
            x = np.zeros_like(o)
    elif transform == "asymmetric":
        x = o / scale
    elif transform == "tf_half_pixel_for_nn":
        x = (o + f32(0.5)) / scale
    else:  # align_corners
        x = np.zeros_like(o) if out_len == 1 else o * f32(length - 1) / f32(out_len - 1)
    low = np.floor(x)
    tie = x == low + f32(0.5)
    if nearest == "floor":
        index = low
    elif nearest == "ceil":
        index = np.ceil(x)
    else:
        index = np.where(tie, low if nearest == "round_prefer_floor" else low + 1, np.round(x))
    return np.clip(index.astype(np.int64), 0, length - 1)


def _check_rank(ctx: NodeContext) -> tuple[int, ...]:
    shape = tuple(ctx.info(0).shape)
    if len(shape) != 4:
        ctx.fail(f"only 2-D upsampling of a 4-D (N, C, H, W) or (N, H, W, C) tensor is supported, got shape {shape}")
    return shape


def _integer_factors(ctx: NodeContext, scales, axes: tuple[int, int]) -> tuple[int, int]:
    """(F_H, F_W): the scales of ``axes`` (H, W), which must be positive integers, every other
    scale (N and C) being 1."""
    scales = [float(s) for s in scales]
    if len(scales) != 4:
        ctx.fail(f"expected 4 scales, got {scales}")
    if any(scales[i] != 1 for i in range(4) if i not in axes):
        layout = "NHWC" if axes == (1, 2) else "NCHW"
        ctx.fail(f"scales {scales} of an {layout} tensor: only H and W may be scaled (N and C scales must be 1)")
    for axis, value in zip("HW", (scales[axes[0]], scales[axes[1]])):
        if value < 1 or value != int(value):
            ctx.fail(f"scales {scales}: the {axis} scale {value:g} is not a positive integer; only nearest-neighbour "
                     "upsampling by integer factors is supported")
    return int(scales[axes[0]]), int(scales[axes[1]])


def _spatial_axes(ctx: NodeContext, scales) -> tuple[int, int]:
    """(H, W) axes: (1, 2) for an NHWC tensor (one the channels-last import also holds in
    NCHW, or scales of the form (1, s_H, s_W, 1) with s_H != 1), else (2, 3)."""
    scales = [float(s) for s in scales]
    nhwc = ctx.inputs[0] in ctx.nchw or (len(scales) == 4 and scales[1] != 1 and scales[3] == 1)
    return (1, 2) if nhwc else (2, 3)


def _emit(ctx: NodeContext, axes: tuple[int, int], factors: tuple[int, int]) -> list:
    """The NearestUpsample of an NCHW input; for an NHWC input (a channels-last network) the
    NCHW one between transposes, reading the NCHW copy the import already holds if any, and
    its output recorded as the NCHW copy of the node's output."""
    if axes == (2, 3):
        return [NearestUpsample(name=ctx.name, inputs=ctx.inputs[:1], outputs=ctx.outputs[:1], factors=factors)]
    built = []
    source = ctx.nchw.get(ctx.inputs[0])
    if source is None:
        source = ctx.fresh("input_nchw")
        built.append(ops.Transpose(name=ctx.fresh("to_nchw"), inputs=ctx.inputs[:1], outputs=[source], perm=(0, 3, 1, 2)))
    out = ctx.fresh("output_nchw")
    built.append(NearestUpsample(name=ctx.name, inputs=[source], outputs=[out], factors=factors))
    built.append(ops.Transpose(name=ctx.fresh("to_nhwc"), inputs=[out], outputs=ctx.outputs[:1], perm=(0, 2, 3, 1)))
    ctx.nchw[ctx.outputs[0]] = out
    return built


def _full_rank(ctx: NodeContext, values, axes, fill) -> list:
    """Per-axis ``values`` given for ``axes`` (opset 18) laid out over the 4 axes."""
    if axes is None:
        return list(values)
    full = [fill] * 4
    for axis, value in zip(axes, values):
        if not -4 <= int(axis) < 4:
            ctx.fail(f"axes {list(axes)} are out of range for a 4-D input")
        full[int(axis) % 4] = value
    return full


def _resize_scales(ctx: NodeContext, shape) -> list:
    """The per-axis scales of a Resize node from its ``scales`` or ``sizes`` input."""
    if ctx.opset < 11:
        return list(np.asarray(ctx.const(1, "scales")).reshape(-1))
    axes = ctx.attr("axes")
    scales = ctx.optional_const(2, "scales")
    if scales is not None and np.asarray(scales).size:
        return _full_rank(ctx, list(np.asarray(scales).reshape(-1)), axes, 1.0)
    sizes = ctx.optional_const(3, "sizes")
    if sizes is None or not np.asarray(sizes).size:
        ctx.fail("neither scales nor sizes is given")
    policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
    if policy != "stretch":
        ctx.fail(f"keep_aspect_ratio_policy '{policy}' is not supported (only 'stretch')")
    sizes = _full_rank(ctx, [int(s) for s in np.asarray(sizes).reshape(-1)], axes, None)
    if len(sizes) != 4:
        ctx.fail(f"expected 4 sizes (N, C, H, W), got {sizes}")
    sizes = [shape[i] if s is None else s for i, s in enumerate(sizes)]
    return [s / d for s, d in zip(sizes, shape)]


def build_resize(ctx: NodeContext):
    """ONNX Resize with mode nearest and integer H, W scales -> NearestUpsample."""
    shape = _check_rank(ctx)
    mode = ctx.attr("mode", "nearest")
    if mode != "nearest":
        ctx.fail(f"mode '{mode}' is not supported (only 'nearest' with integer scales)")
    scales = _resize_scales(ctx, shape)
    axes = _spatial_axes(ctx, scales)
    fh, fw = _integer_factors(ctx, scales, axes)
    if ctx.opset >= 11:
        transform = ctx.attr("coordinate_transformation_mode", "half_pixel")
        nearest = ctx.attr("nearest_mode", "round_prefer_floor")
        if transform == "tf_crop_and_resize" or transform not in TRANSFORMS:
            ctx.fail(f"coordinate_transformation_mode '{transform}' is not supported (it does not repeat pixels)")
        if nearest not in NEAREST_MODES:
            ctx.fail(f"nearest_mode '{nearest}' is not one of {', '.join(NEAREST_MODES)}")
        for axis, length, factor in (("H", shape[axes[0]], fh), ("W", shape[axes[1]], fw)):
            if not np.array_equal(source_index(transform, nearest, length, factor), np.arange(length * factor) // factor):
                ctx.fail(f"coordinate_transformation_mode '{transform}' with nearest_mode '{nearest}' does not repeat "
                         f"pixels for the {axis} factor {factor}; use half_pixel with round_prefer_floor or "
                         "round_prefer_ceil, or asymmetric with floor")
    return _emit(ctx, axes, (fh, fw))


def build_upsample(ctx: NodeContext):
    """ONNX Upsample (opset 7-9, deprecated since 10) with mode nearest -> NearestUpsample."""
    if not 7 <= ctx.opset <= 9:
        ctx.fail(f"Upsample is supported at opsets 7-9 (it is deprecated since 10; use Resize), found opset {ctx.opset}")
    shape = _check_rank(ctx)
    mode = ctx.attr("mode", "nearest")
    if mode != "nearest":
        ctx.fail(f"mode '{mode}' is not supported (only 'nearest' with integer scales)")
    scales = ctx.attr("scales") if ctx.opset < 9 else np.asarray(ctx.const(1, "scales")).reshape(-1)
    if scales is None:
        ctx.fail("the scales attribute is missing")
    axes = _spatial_axes(ctx, scales)
    return _emit(ctx, axes, _integer_factors(ctx, scales, axes))
