"""to_hw: the integer middle of the graph becomes hardware stages.

Pattern / check / rewrite, in topological order. Every hardware op keeps the node name of
the operation it replaces (the product's, for an MVAU), so messages of later passes name
the user's node, and its output tensor names, so that verification compares the same
tensors.

1. ``MatMul(x, W)`` or ``XnorPopcountMatMul(x, W)`` with ``x`` an integer stream and ``W``
   an integer constant (K, M) becomes ``MVAU(x, W)``; when the product's only reader is a
   ``MultiThreshold`` (channels last, constant thresholds) that joins it:
   ``MVAU(x, W, T)``. The accumulator type is the narrowest holding every column's range
   (:func:`bnncc.ir.ops.hw.accumulator_range`). A ``MultiThreshold`` that is the only
   reader of a ``VVAU`` (a grouped convolution, from ``lower_conv``) joins it the same way.
2. ``MultiThreshold(x, T)`` on any other integer stream, channels last (or one row of
   thresholds shared by all channels), becomes ``Thresholding``.
3. ``Im2Col`` becomes ``SlidingWindow`` and ``MaxPoolNHWC`` ``StreamingMaxPool`` on
   integer streams. Zero padding of a BIPOLAR input followed by an integer product and its
   thresholds becomes a window padding with -1 and an MVAU whose thresholds correct the
   border per class of output positions (:mod:`bnncc.passes.binary_padding`); without
   thresholds the reason is recorded. Any other ``Im2Col`` whose padding value is not a value
   of its input type is left alone; ``host_partition`` reports it.
   ``NearestUpsample`` on NHWC integer streams becomes ``Upsample``
   (:func:`bnncc.passes.lower_upsample.rewrite_upsample`).
4. ``Reshape``/``Flatten``/``Squeeze``/``Unsqueeze`` of a hardware stage's output that
   feeds a hardware stage becomes ``StreamReshape`` (row-major order is NHWC order, so the
   stream is unchanged).
5. ``TopK`` (largest, last axis) or ``ArgMax`` (last axis, first maximum) of an integer
   stream written by a hardware stage becomes ``LabelSelect``.
6. Joins (:mod:`bnncc.passes.lower_joins`): ``Add`` of two integer streams of one shape
   becomes ``StreamAdd`` (integer multipliers in front of it fold into the stage; bipolar
   operands travel as bits, the offset moving into the thresholds after the sum), a
   ``Concat`` of integer streams along the channel axis ``StreamConcat``.

A product on an integer stream whose weights cannot be an MVAU's (computed at run time, not
2-D, not integers) is left alone and the reason recorded for it
(:mod:`bnncc.passes.refusals`), so ``host_partition`` reports it rather than its consequence.

Thresholds must be integers in hardware. For an integer ``x`` in ``[lo, hi]``,
``x >= T  <=>  x >= ceil(T)  <=>  x >= clip(ceil(T), lo, hi + 1)``, so non-integer (or
infinite) thresholds are replaced by ``clip(ceil(T), lo, hi + 1)`` -- exact.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import DataType
from bnncc.ir import ops
from bnncc.ir.build import new_constant, reinfer
from bnncc.ir.graph import Graph, TensorInfo
from bnncc.ir.op import value_bounds
from bnncc.ir.ops.hw import HWOp, accumulator_range, is_integral
from bnncc.ir.ops.vvau import VVAU, vvau_range
from bnncc.passes import refusals
from bnncc.passes.base import Pass
from bnncc.passes.binary_padding import is_bipolar_zero_padding, rewrite_padded_bipolar
from bnncc.passes.lower_joins import rewrite_add, rewrite_concat
from bnncc.passes.lower_upsample import rewrite_upsample
from bnncc.ir.ops.upsample import NearestUpsample
from bnncc.passes.patterns import sole_consumer

RESHAPES = (ops.Reshape, ops.Flatten, ops.Squeeze, ops.Unsqueeze)


class ToHardware(Pass):
    """See the module docstring."""

    name = "to_hw"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for name in [op.name for op in graph.ops()]:
            if not graph.has_op(name) or isinstance(graph.op(name), HWOp):
                continue  # a MultiThreshold already fused into an MVAU
            op = graph.op(name)
            if isinstance(op, ops.Add):
                rewrite_add(graph, op, notes)
            elif isinstance(op, ops.Concat):
                rewrite_concat(graph, op, notes)
            elif isinstance(op, (ops.MatMul, ops.XnorPopcountMatMul)):
                rewrite_product(graph, op, notes)
            elif isinstance(op, ops.MultiThreshold):
                if not fuse_into_vvau(graph, op, notes):
                    rewrite_thresholds(graph, op, notes)
            elif isinstance(op, ops.Im2Col):
                rewrite_im2col(graph, op, notes)
            elif isinstance(op, ops.MaxPoolNHWC):
                rewrite_maxpool(graph, op, notes)
            elif isinstance(op, NearestUpsample):
                rewrite_upsample(graph, op, notes)
        for op in graph.ops():
            if isinstance(op, RESHAPES):
                rewrite_reshape(graph, op, notes)
        for op in graph.ops():
            if isinstance(op, (ops.TopK, ops.ArgMax)):
                rewrite_label_select(graph, op, notes)
        if notes:
            reinfer(graph)


# -- shared checks -------------------------------------------------------------------------
def stream_info(graph: Graph, tensor: str) -> TensorInfo | None:
    """The metadata of ``tensor`` if it is an integer stream (not a constant), else None."""
    info = graph.tensors.get(tensor)
    if info is None or info.value is not None or not info.dtype.is_integer:
        return None
    return info


def install(graph: Graph, new_op, replaced: list) -> None:
    """Put ``new_op`` in place of the first of ``replaced``, drop the others, and record its
    outputs' shapes and types from its own rule."""
    graph.replace_op(replaced[0].name, new_op)
    for old in replaced[1:]:
        graph.remove_op(old.name)
    infos = [graph.tensors[t] for t in new_op.inputs if t]
    batched = any(info.batched for info in infos)
    for tensor, (shape, dtype) in zip(new_op.outputs, new_op.infer(infos)):
        if tensor:
            graph.set_tensor(tensor, shape, dtype, batched=batched)


def integer_constant(graph: Graph, tensor: str) -> str:
    """``tensor`` if it is typed as integers, else a new integer-typed constant of the same
    (integral) values, typed by their range."""
    info = graph.tensors[tensor]
    if info.dtype.is_integer:
        return tensor
    value = np.rint(info.value).astype(np.int64)
    dtype = DataType.for_range(int(value.min()), int(value.max())) if value.size else DataType.int(8)
    return new_constant(graph, f"{tensor}_int", value, dtype)


def thresholds_last_axis(graph: Graph, mt: ops.MultiThreshold) -> bool:
    """True if ``mt`` thresholds its input along the last axis (or shares one row of
    thresholds among all channels, where the axis does not matter)."""
    rank = len(graph.tensors[mt.inputs[0]].shape)
    rows = graph.tensors[mt.inputs[1]].shape[0]
    return rank >= 2 and (rows == 1 or mt.channel_axis % rank == rank - 1)


def hardware_thresholds(graph: Graph, mt: ops.MultiThreshold, low: int, high: int, notes: list[str]) -> str:
    """Name of integer thresholds equivalent to ``mt``'s for inputs in ``[low, high]``:
    the same tensor if they are integers, else ``clip(ceil(T), low, high + 1)``."""
    value = graph.constant(mt.inputs[1])
    if is_integral(value):
        return integer_constant(graph, mt.inputs[1])
    rounded = np.clip(np.ceil(value.astype(np.float64)), low, high + 1).astype(np.int64)
    name = new_constant(graph, f"{mt.inputs[1]}_ceil", rounded, DataType.for_range(low, high + 1))
    notes.append(f"node '{mt.name}': thresholds rounded up to integers (exact for an integer input)")
    return name


def fusable_thresholds(graph: Graph, product) -> ops.MultiThreshold | None:
    """The MultiThreshold that can join ``product`` in one MVAU: the product's only reader,
    thresholding it along the last axis with constant thresholds."""
    reader = sole_consumer(graph, product.outputs[0])
    if not isinstance(reader, ops.MultiThreshold) or reader.inputs[0] != product.outputs[0]:
        return None
    if graph.constant(reader.inputs[1]) is None or not thresholds_last_axis(graph, reader):
        return None
    return reader


# -- 1. products (+ thresholds) -> MVAU ------------------------------------------------------
def rewrite_product(graph: Graph, op, notes: list[str]) -> None:
    """``MatMul``/``XnorPopcountMatMul`` [+ ``MultiThreshold``] -> ``MVAU``."""
    x = stream_info(graph, op.inputs[0])
    weights = graph.constant(op.inputs[1])
    if x is None:
        return  # a real input: host_partition names where integer arithmetic stopped
    problem = _weight_problem(weights)
    if problem is not None:
        refusals.record(graph, op, problem, ToHardware.name)
        return
    binary = isinstance(op, ops.XnorPopcountMatMul)
    low, high = accumulator_range(x, weights, binary)
    acc_dtype = DataType.for_range(low, high)
    mt = fusable_thresholds(graph, op)
    inputs = [op.inputs[0], integer_constant(graph, op.inputs[1])]
    if mt is not None:
        inputs.append(hardware_thresholds(graph, mt, low, high, notes))
    mvau = ops.MVAU(
        name=op.name,
        inputs=inputs,
        outputs=list(mt.outputs if mt is not None else op.outputs),
        mw=int(weights.shape[0]),
        mh=int(weights.shape[1]),
        acc_dtype=acc_dtype,
        out_dtype=mt.out_dtype if mt is not None else acc_dtype,
        binary_xnor=binary,
    )
    install(graph, mvau, [op] + ([mt] if mt is not None else []))
    fused = f" + MultiThreshold '{mt.name}'" if mt is not None else ""
    notes.append(
        f"node '{op.name}': {op.op_type}{fused} -> MVAU "
        f"(MW={mvau.mw}, MH={mvau.mh}, accumulator {acc_dtype}, output {mvau.out_dtype})"
    )


def _weight_problem(weights) -> str | None:
    """Why a product's weights cannot be an MVAU's weight memory, or None."""
    if weights is None:
        return "its weights are computed at run time; an MVAU needs constant weights"
    if weights.ndim != 2:
        return f"its weights have shape {weights.shape}; an MVAU needs a 2-D (K, M) matrix"
    if not is_integral(weights):
        return "its weights are real numbers, not integers (a weight scale that could not move behind the product)"
    return None


def fuse_into_vvau(graph: Graph, mt: ops.MultiThreshold, notes: list[str]) -> bool:
    """``VVAU`` + its only reader ``MultiThreshold`` -> ``VVAU(x, W, T)``, as for an MVAU."""
    vvau = graph.producer(mt.inputs[0])
    if not isinstance(vvau, VVAU) or vvau.has_thresholds or fusable_thresholds(graph, vvau) is not mt:
        return False
    low, high = vvau_range(graph.tensors[vvau.inputs[0]], graph.constant(vvau.inputs[1]), vvau.group_in, vvau.group_out)
    thresholds = hardware_thresholds(graph, mt, low, high, notes)
    install(graph, vvau.clone(inputs=[*vvau.inputs, thresholds], outputs=list(mt.outputs), out_dtype=mt.out_dtype),
            [vvau, mt])
    notes.append(f"node '{vvau.name}': VVAU + MultiThreshold '{mt.name}' -> VVAU (output {mt.out_dtype})")
    return True


# -- 2. standalone thresholds -> Thresholding -------------------------------------------------
def rewrite_thresholds(graph: Graph, op: ops.MultiThreshold, notes: list[str]) -> None:
    """``MultiThreshold`` on an integer stream -> ``Thresholding``."""
    x = stream_info(graph, op.inputs[0])
    if x is None or graph.constant(op.inputs[1]) is None or not thresholds_last_axis(graph, op):
        return
    low, high = (int(v) for v in value_bounds(x))
    thresholds = hardware_thresholds(graph, op, low, high, notes)
    stage = ops.Thresholding(
        name=op.name,
        inputs=[op.inputs[0], thresholds],
        outputs=list(op.outputs),
        channels=int(x.shape[-1]),
        out_dtype=op.out_dtype,
    )
    install(graph, stage, [op])
    notes.append(f"node '{op.name}': MultiThreshold -> Thresholding ({stage.channels} channels, output {op.out_dtype})")


# -- 3. windows ------------------------------------------------------------------------------
def padding_problem(dtype: DataType, pads, pad_value) -> str | None:
    """Why padding a ``dtype`` stream with ``pad_value`` cannot be streamed in ``dtype``'s
    width, or None if it can (no padding, or every pad value is a value of ``dtype``)."""
    if not any(pads) or dtype.allows(np.asarray(pad_value)):
        return None
    values = sorted({float(v) for v in np.asarray(pad_value, dtype=np.float64).reshape(-1)})
    shown = ", ".join(f"{v:g}" for v in values)
    if dtype.kind == "BIPOLAR":
        what = "zero padding" if values == [0.0] else f"padding with {shown}"
        return f"{what} of a bipolar input cannot be represented in 1 bit; pad with -1 or +1 (an explicit Pad) instead"
    return f"padding value {shown} is not a value of the input type {dtype}; the stream cannot carry it"


def _window_geometry(graph: Graph, op) -> dict:
    x = graph.tensors[op.inputs[0]].shape
    y = graph.tensors[op.outputs[0]].shape
    return {"ifm_channels": int(x[3]), "ifm_dims": (int(x[1]), int(x[2])), "ofm_dims": (int(y[1]), int(y[2]))}


def rewrite_im2col(graph: Graph, op: ops.Im2Col, notes: list[str]) -> None:
    """``Im2Col`` on an integer stream (padding representable) -> ``SlidingWindow``."""
    x = stream_info(graph, op.inputs[0])
    if x is None or len(x.shape) != 4:
        return
    if is_bipolar_zero_padding(graph, op):
        reason = rewrite_padded_bipolar(graph, op, fusable_thresholds, notes)
        if reason is not None:
            refusals.record(graph, op, reason, ToHardware.name)
        return
    if padding_problem(x.dtype, op.pads, op.pad_value) is not None:
        return
    stage = ops.SlidingWindow(
        name=op.name, inputs=list(op.inputs), outputs=list(op.outputs),
        kernel_shape=tuple(op.kernel_shape), strides=tuple(op.strides), pads=tuple(op.pads),
        dilations=tuple(op.dilations), pad_value=op.pad_value, **_window_geometry(graph, op),
    )
    install(graph, stage, [op])
    (h, w), c = stage.ifm_dims, stage.ifm_channels
    notes.append(f"node '{op.name}': Im2Col -> SlidingWindow ({_kernel_text(op)} over {h}x{w}x{c})")


def rewrite_maxpool(graph: Graph, op: ops.MaxPoolNHWC, notes: list[str]) -> None:
    """``MaxPoolNHWC`` on an integer stream -> ``StreamingMaxPool``."""
    x = stream_info(graph, op.inputs[0])
    if x is None or len(x.shape) != 4:
        return
    stage = ops.StreamingMaxPool(
        name=op.name, inputs=list(op.inputs), outputs=list(op.outputs),
        kernel_shape=tuple(op.kernel_shape), strides=tuple(op.strides), pads=tuple(op.pads),
        dilations=tuple(op.dilations), ceil_mode=bool(op.ceil_mode), **_window_geometry(graph, op),
    )
    install(graph, stage, [op])
    notes.append(f"node '{op.name}': MaxPoolNHWC -> StreamingMaxPool ({_kernel_text(op)})")


def _kernel_text(op) -> str:
    return f"kernel {op.kernel_shape[0]}x{op.kernel_shape[1]}, stride {op.strides[0]}x{op.strides[1]}"


# -- 4. reshapes between stages ----------------------------------------------------------------
def feeds_hardware(graph: Graph, tensor: str) -> bool:
    """True if some reader of ``tensor`` is a hardware stage, a classifier that becomes
    one, or a reshape whose output feeds hardware."""
    for reader in graph.consumers(tensor):
        if isinstance(reader, HWOp) or label_select_candidate(graph, reader):
            return True
        if isinstance(reader, RESHAPES) and reader.inputs[0] == tensor and feeds_hardware(graph, reader.outputs[0]):
            return True
    return False


def rewrite_reshape(graph: Graph, op, notes: list[str]) -> None:
    """A reshape from a hardware stage into a hardware stage -> ``StreamReshape``."""
    if stream_info(graph, op.inputs[0]) is None or not isinstance(graph.producer(op.inputs[0]), HWOp):
        return
    if not feeds_hardware(graph, op.outputs[0]):
        return
    shape = tuple(graph.tensors[op.outputs[0]].shape)
    stage = ops.StreamReshape(
        name=op.name, inputs=[op.inputs[0]], outputs=list(op.outputs), shape=shape,
    )
    install(graph, stage, [op])
    notes.append(f"node '{op.name}': {op.op_type} -> StreamReshape {graph.tensors[op.inputs[0]].shape} -> {shape}")


# -- 5. classification -------------------------------------------------------------------------
def label_select_candidate(graph: Graph, op) -> bool:
    """True if ``op`` is a TopK (largest) or ArgMax (first maximum) along the last axis of
    an integer stream with a class axis, i.e. what ``LabelSelect`` computes."""
    if isinstance(op, ops.TopK):
        fits = op.largest
    elif isinstance(op, ops.ArgMax):
        fits = not op.select_last_index
    else:
        return False
    x = stream_info(graph, op.inputs[0])
    return fits and x is not None and len(x.shape) >= 2 and op.axis % len(x.shape) == len(x.shape) - 1


def _is_used(graph: Graph, tensor: str) -> bool:
    return tensor in graph.outputs or bool(graph.consumers(tensor))


def rewrite_label_select(graph: Graph, op, notes: list[str]) -> None:
    """``TopK``/``ArgMax`` of a hardware stage's output -> ``LabelSelect`` (outputs: the
    indices, then the values if anything reads them)."""
    if not label_select_candidate(graph, op) or not isinstance(graph.producer(op.inputs[0]), HWOp):
        return
    if isinstance(op, ops.TopK):
        values, indices = op.outputs[0], op.outputs[1]
        outputs = [indices, values] if _is_used(graph, values) else [indices]
        k, keepdims = int(op.k), True
    else:
        outputs, k, keepdims = [op.outputs[0]], 1, bool(op.keepdims)
    stage = ops.LabelSelect(
        name=op.name, inputs=[op.inputs[0]], outputs=outputs, k=k, keepdims=keepdims,
    )
    install(graph, stage, [op])
    notes.append(f"node '{op.name}': {op.op_type} -> LabelSelect (k={k})")
