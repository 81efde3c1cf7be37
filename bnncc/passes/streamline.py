"""Streamline: move real-valued scales and offsets downstream until they meet a quantizer,
so that every linear operation sees integer inputs and integer weights.

First every affine operation with a constant operand takes one of two canonical forms,
``Mul(x, a)`` and ``Add(x, b)``: ``x - c = x + (-c)``, ``c - x = (-1) x + c``,
``x / c = x * (1/c)``, ``-x = (-1) x``; inference BatchNorm is
``x * g/sqrt(v + eps) + (beta - mean * g/sqrt(v + eps))`` per channel; a de-quantizer of an
activation is ``(q - z) * s = (q + (-z)) * s``.

Then, repeatedly, an affine operation moves past the operation that reads it:

* ``(x * a) * b = x * (ab)``, ``(x + a) + b = x + (a + b)``, ``(x + a) * b = x * b + ab``;
* ``(x * a) @ W = (x @ W) * a`` for a scalar a; ``(x + a) @ W = x @ W + a @ W``;
* a per-channel scale ``a = s P`` with small integer ratios ``P`` moves as ``s``, ``P``
  going into the integer weights (:mod:`bnncc.passes.ratio_weights`);
* ``conv(pad_p(x * a), W) = conv(pad_{p/a}(x), W) * a`` for a scalar a != 0, and
  ``conv(pad_p(x + a), W) = conv(pad_{p-a}(x), W) + sum_{c,u,v} W[m,c,u,v] a[c]`` for a per
  input channel a: the padding value moves into the integer domain, so zero padding of a
  quantized input becomes padding with the code of zero;
* shape operations T (Reshape, Flatten, Transpose, Squeeze, Unsqueeze):
  ``T(x op a) = T(x) op T(a)`` with a broadcast to x's shape first;
* ``maxpool(x * a) = maxpool(x) * a`` for a > 0 per channel, ``maxpool(x + a) = maxpool(x) + a``
  per channel; ``relu(x * a) = relu(x) * a`` for a > 0;
* ``pad_v(x * a) = pad_{v/a}(x) * a`` and ``pad_v(x + a) = pad_{v-a}(x) + a`` for scalar a.

Across forks and joins (:mod:`bnncc.passes.join_moves`): an affine read by several
operations is copied for each, and scales and offsets move through a residual ``a + b``
(both operands brought to one integer grid: ``x s_x + y s_y = (p x + q y) s_y / q`` for
``s_x / s_y = p / q``; a difference ``x - y`` is ``x + y * (-1)``) and a ``Concat`` (``concat(x_k s_k) = concat(x_k) concat(s_k)``).

``x * 1`` and ``x + 0`` disappear. The moves stop at quantizers, graph outputs and
anything else, leaving at most ``Mul`` then ``Add`` in front of each.

An affine op that cannot move past the layer reading it (a grouped convolution, weights
computed at run time, a per-feature scale in front of a product) has the reason recorded
(:mod:`bnncc.passes.refusals`), naming the node that blocks it.

A 1-D window op runs as the 2-D op with H = 1 between ``Unsqueeze(axis 2)`` and
``Squeeze(axis 2)`` (:mod:`bnncc.frontend.standard_ops`). Such a ``Squeeze`` followed, through
single-reader element-wise operations with constant operands (scales, biases, activations,
quantizers), by an ``Unsqueeze`` of axis 2 or a ``Flatten`` from axis 1 goes away:
``Unsqueeze(f(Squeeze(x))) = f'(x)`` and ``Flatten(f(Squeeze(x))) = Flatten(f'(x))``, where
``f'`` is ``f`` with every constant of rank >= 1 (an operand, or a quantizer's scale and
zero point) given the size-1 axis 2 too (a constant
aligned to the right of (N, C, L) is aligned to the right of (N, C, 1, L) by inserting the axis
before its last one). The rewritten tensors are recorded as aliases (reshapes) of the
originals for verification.

A ``Relu`` sinks below the max-pooling and shape operations that read it, so that it ends
next to the quantizer whose thresholds absorb it: ``maxpool(relu(x)) = relu(maxpool(x))``
(``max(max_i x_i, 0) = max_i max(x_i, 0)``; the padding of a max-pool never wins either
way) and ``T(relu(x)) = relu(T(x))`` for a shape operation T (element-wise).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.ops.activation import Activation
from bnncc.ir.graph import Graph
from bnncc.passes import refusals
from bnncc.passes.base import Pass
from bnncc.passes.join_moves import into_join, split_fork, subtraction_as_addition
from bnncc.passes.lower_conv import block_diagonal, group_reason
from bnncc.passes.ratio_weights import past_layer
from bnncc.passes.patterns import (
    broadcast_to_tensor,
    channel_shape,
    compress,
    constant_operand,
    emit_affine,
    per_channel,
    sole_consumer,
)

SHAPE_OPS = (ops.Reshape, ops.Flatten, ops.Transpose, ops.Squeeze, ops.Unsqueeze)


class Streamline(Pass):
    """See the module docstring."""

    name = "streamline"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        subtraction_as_addition(graph, notes)
        canonicalize(graph, notes)
        while fold_squeeze(graph, notes) or move_one(graph, notes) or sink_relu(graph, notes):
            pass


#: Element-wise operations (output shaped as input 0, every other input constant) that a
#: folded Squeeze/Unsqueeze pair carries over to the 4-D tensor.
ELEMENTWISE = (
    ops.Mul, ops.Add, ops.Sub, ops.Div, ops.Relu, ops.Clip, ops.Neg, ops.Sign, ops.Quant, ops.BipolarQuant,
    ops.Dequantize, ops.QuantizeLinear, ops.Trunc, Activation,
)


def _squeeze_region(graph: Graph, squeeze) -> tuple[list, object] | None:
    """The element-wise ops from ``squeeze`` (axis 2 of a rank-4 tensor) to an Unsqueeze of
    axis 2 or a Flatten from axis 1 reading their last output, and that reader; None if the
    chain ends elsewhere (a fork, a graph output, another operation)."""
    rank = len(graph.tensors[squeeze.inputs[0]].shape)
    if rank != 4 or tuple(a % rank for a in squeeze.axes) != (2,):
        return None
    region, tensor = [], squeeze.outputs[0]
    while True:
        if tensor in graph.outputs:
            return None
        reader = sole_consumer(graph, tensor)
        if reader is None or reader.inputs[0] != tensor:
            return None
        if isinstance(reader, ops.Unsqueeze) and tuple(a % 4 for a in reader.axes) == (2,):
            return (region, reader) if reader.outputs[0] not in graph.outputs else None
        if isinstance(reader, ops.Flatten) and reader.axis == 1:
            return region, reader
        if not isinstance(reader, ELEMENTWISE) or len(reader.outputs) != 1:
            return None
        if any(t and graph.constant(t) is None for t in reader.inputs[1:]):
            return None
        if graph.tensors[reader.outputs[0]].shape != graph.tensors[tensor].shape:
            return None
        region.append(reader)
        tensor = reader.outputs[0]


def _with_axis_2(value: np.ndarray) -> np.ndarray:
    """A constant broadcast against (N, C, L) reshaped to broadcast the same way against
    (N, C, 1, L)."""
    value = np.asarray(value)
    if value.ndim == 0:
        return value
    return np.expand_dims(value, value.ndim - 1)


def fold_squeeze(graph: Graph, notes: list[str]) -> bool:
    """Remove the first Squeeze(axis 2) whose element-wise region ends at an Unsqueeze(axis 2)
    or a Flatten (see the module docstring); True if one went."""
    for squeeze in graph.ops():
        if not isinstance(squeeze, ops.Squeeze):
            continue
        found = _squeeze_region(graph, squeeze)
        if found is None:
            continue
        region, end = found
        graph.remove_op(squeeze.name)
        current = squeeze.inputs[0]
        aliases = graph.metadata.setdefault("aliases", {})
        for op in region:
            graph.remove_op(op.name)
            constants = []
            for t in op.inputs[1:]:
                value = graph.constant(t) if t else None
                if value is None or value.ndim == 0:
                    constants.append(t)
                else:
                    constants.append(new_constant(graph, f"{t}_2d", _with_axis_2(value), graph.tensors[t].dtype))
            fields = {  # parameters held as fields (a quantizer's scale and zero point)
                f.name: _with_axis_2(getattr(op, f.name)) for f in dataclasses.fields(op)
                if isinstance(getattr(op, f.name), np.ndarray)
            }
            target = graph.fresh_name(f"{op.outputs[0]}_2d")
            add_inferred(graph, op.clone(inputs=[current] + constants, outputs=[target], **fields))
            aliases[target] = {"tensor": op.outputs[0], "shape": list(graph.tensors[target].shape[1:])}
            current = target
        graph.remove_op(end.name)
        if isinstance(end, ops.Unsqueeze):
            graph.rewire(end.outputs[0], current)
        else:
            add_inferred(graph, end.clone(inputs=[current]))
        graph.prune()
        notes.append(
            f"node '{squeeze.name}': Squeeze of axis 2 folded with '{end.name}' ({end.op_type}); "
            f"{len(region)} element-wise op(s) between them now on the 4-D tensor"
        )
        return True
    return False


def sink_relu(graph: Graph, notes: list[str]) -> bool:
    """Move the first Relu read only by a MaxPool or shape operation below it; True if one
    moved."""
    for op in graph.ops():
        if not isinstance(op, ops.Relu):
            continue
        reader = sole_consumer(graph, op.outputs[0])
        if not isinstance(reader, (ops.MaxPool,) + SHAPE_OPS) or reader.inputs[0] != op.outputs[0]:
            continue
        graph.remove_op(op.name)
        graph.remove_op(reader.name)
        middle = graph.fresh_name(f"{reader.name}_pre")
        add_inferred(graph, reader.clone(inputs=[op.inputs[0]] + list(reader.inputs[1:]), outputs=[middle]))
        add_inferred(graph, op.clone(inputs=[middle], outputs=[reader.outputs[0]]))
        notes.append(f"node '{op.name}': Relu moved past '{reader.name}' ({reader.op_type} commutes with max(x, 0))")
        return True
    return False


# -- canonical forms ----------------------------------------------------------------------
def _replace_with_chain(graph: Graph, op, source: str, steps, notes: list[str], what: str) -> None:
    """Replace ``op`` by a chain of (op_class, constant) steps from ``source`` to its output."""
    graph.remove_op(op.name)
    current = source
    steps = [(cls, value) for cls, value in steps if not _is_neutral(cls, value)] or [(ops.Mul, np.asarray(1.0))]
    for index, (op_class, value) in enumerate(steps):
        target = op.outputs[0] if index == len(steps) - 1 else graph.fresh_name(f"{op.name}_{index}")
        emit_affine(graph, graph.fresh_name(f"{op.name}_{op_class.__name__.lower()}"), current, target, op_class, value)
        current = target
    notes.append(f"node '{op.name}': {what}")


def _is_neutral(op_class, value) -> bool:
    value = np.asarray(value)
    return bool(np.all(value == (1 if op_class is ops.Mul else 0)))


def canonicalize(graph: Graph, notes: list[str]) -> None:
    """Rewrite Sub, Div, Neg, BatchNorm, activation Dequantize and constant-first Add/Mul
    into ``Mul(x, a)`` / ``Add(x, b)``."""
    for op in graph.ops():
        rewrite = _canonical_steps(graph, op)
        if rewrite is not None:
            source, steps, what = rewrite
            _replace_with_chain(graph, op, source, steps, notes, what)


def _canonical_steps(graph: Graph, op):
    """(source tensor, [(Mul|Add, constant)], description) for ``op``, or None."""
    if isinstance(op, ops.BatchNormalization) and graph.tensors[op.inputs[0]].batched:
        gamma, beta, mean, var = (graph.constant(t).astype(np.float64) for t in op.inputs[1:5])
        rank = len(graph.tensors[op.inputs[0]].shape)
        a = gamma / np.sqrt(var + op.epsilon)
        return op.inputs[0], [(ops.Mul, channel_shape(a, rank)), (ops.Add, channel_shape(beta - mean * a, rank))], "BatchNorm as per-channel Mul + Add"
    if isinstance(op, ops.Dequantize) and graph.tensors[op.inputs[0]].batched:
        steps = [(ops.Add, -op.zero_point), (ops.Mul, op.scale)]
        return op.inputs[0], steps, "de-quantizer as Add + Mul"
    if isinstance(op, ops.Neg):
        return op.inputs[0], [(ops.Mul, np.asarray(-1.0))], "Neg as Mul(-1)"
    if not isinstance(op, (ops.Sub, ops.Div, ops.Add, ops.Mul)):
        return None
    operand = constant_operand(graph, op)
    if operand is None:
        return None
    source, value = operand
    value = value.astype(np.float64)
    first = op.inputs[0] == source
    if isinstance(op, ops.Sub):
        steps = [(ops.Add, -value)] if first else [(ops.Mul, np.asarray(-1.0)), (ops.Add, value)]
        return source, steps, "Sub as Add"
    if isinstance(op, ops.Div):
        if op.integer_division or not first:
            return None
        return source, [(ops.Mul, 1.0 / value)], "Div as Mul"
    if first:
        return None
    return source, [(type(op), value)], "constant operand moved second"


# -- moves --------------------------------------------------------------------------------
def _affine(graph: Graph, op):
    """(source, constant) of a canonical Mul/Add, else None."""
    if not isinstance(op, (ops.Mul, ops.Add)) or graph.constant(op.inputs[1]) is None:
        return None
    if not graph.tensors[op.inputs[0]].batched or graph.constant(op.inputs[0]) is not None:
        return None
    return op.inputs[0], graph.constant(op.inputs[1]).astype(np.float64)


def move_one(graph: Graph, notes: list[str]) -> bool:
    """Apply the first applicable move; True if one was made."""
    for op in graph.ops():
        affine = _affine(graph, op)
        if affine is None:
            continue
        source, value = affine
        if _is_neutral(type(op), value) and op.outputs[0] not in graph.outputs:
            graph.remove_op(op.name)
            graph.rewire(op.outputs[0], source)
            notes.append(f"node '{op.name}': neutral {op.op_type} removed")
            return True
        reader = sole_consumer(graph, op.outputs[0])
        if reader is None:
            if split_fork(graph, op, notes):
                return True
            continue
        for move in MOVES:
            if move(graph, op, source, value, reader, notes):
                return True
        stuck = _stuck_reason(graph, op, value, reader)
        if stuck is not None:
            refusals.record(graph, op, stuck[0], Streamline.name, cause=stuck[1])
    return False


def _stuck_reason(graph: Graph, op, value, reader):
    """(reason, node it is about) when the affine ``op`` cannot move past the layer
    ``reader`` (so it will sit between hardware stages), else None."""
    if not isinstance(reader, (ops.Conv, ops.MatMul)) or reader.inputs[0] != op.outputs[0]:
        return None
    if isinstance(reader, ops.Conv) and group_reason(graph, reader):
        return group_reason(graph, reader), reader
    if graph.constant(reader.inputs[1]) is None:
        return "its weights are computed at run time, so the scales in front of it cannot move into integers", reader
    joined = graph.producer(op.inputs[0])
    if isinstance(op, ops.Mul) and compress(value).ndim != 0 and isinstance(joined, ops.Concat):
        scales = ", ".join(f"{v:g}" for v in np.unique(np.asarray(value)))
        return (
            f"concatenates branches with different scales ({scales}) whose ratios are not small rationals; the "
            f"per-channel scale this leaves cannot move past '{reader.name}' ({reader.op_type}) into its integer "
            "weights (quantize the concatenation, or give its inputs one scale)"
        ), joined
    if isinstance(op, ops.Mul) and compress(value).ndim != 0:
        return (
            f"a scale that differs per input feature ({np.asarray(value).size} values) cannot move past "
            f"'{reader.name}' ({reader.op_type}) into its integer weights; one scale per tensor is needed there"
        ), op
    return None


def _swap(graph: Graph, affine_op, reader, new_reader, op_class, value, notes, what: str) -> None:
    """Replace ``affine -> reader`` by ``new_reader -> op_class(value)`` writing the reader's
    output name."""
    graph.remove_op(affine_op.name)
    graph.remove_op(reader.name)
    middle = graph.fresh_name(f"{reader.name}_pre")
    add_inferred(graph, new_reader.clone(outputs=[middle] + list(new_reader.outputs[1:])))
    emit_affine(graph, graph.fresh_name(f"{affine_op.name}_moved"), middle, reader.outputs[0], op_class, compress(value))
    notes.append(f"node '{affine_op.name}': {affine_op.op_type} moved past '{reader.name}' ({what})")


def _merge(graph, op, source, value, reader, notes) -> bool:
    other = _affine(graph, reader)
    if other is None or reader.inputs[0] != op.outputs[0]:
        return False
    second = other[1]
    if type(op) is type(reader):
        merged = value * second if isinstance(op, ops.Mul) else value + second
        graph.remove_op(op.name)
        graph.remove_op(reader.name)
        emit_affine(graph, reader.name, source, reader.outputs[0], type(op), compress(merged))
        notes.append(f"node '{op.name}': merged into '{reader.name}'")
        return True
    if isinstance(op, ops.Add) and isinstance(reader, ops.Mul):
        multiply = ops.Mul(name=reader.name, inputs=[source, reader.inputs[1]], outputs=[reader.outputs[0]])
        _swap(graph, op, reader, multiply, ops.Add, value * second, notes, "(x + a) * b = x * b + ab")
        return True
    return False


def _past_matmul(graph, op, source, value, reader, notes) -> bool:
    if not isinstance(reader, ops.MatMul) or reader.inputs[0] != op.outputs[0]:
        return False
    weight = graph.constant(reader.inputs[1])
    if weight is None or weight.ndim != 2:
        return False
    moved = reader.clone(inputs=[source, reader.inputs[1]])
    if isinstance(op, ops.Mul):
        if compress(value).ndim != 0:
            return False
        _swap(graph, op, reader, moved, ops.Mul, value, notes, "scalar scale")
        return True
    offset = broadcast_to_tensor(value, graph.tensors[source].shape) @ weight.astype(np.float64)
    _swap(graph, op, reader, moved, ops.Add, offset, notes, "offset a @ W")
    return True


def _past_conv(graph, op, source, value, reader, notes) -> bool:
    if not isinstance(reader, ops.Conv) or reader.inputs[0] != op.outputs[0] or len(reader.inputs) > 2:
        return False
    weight = graph.constant(reader.inputs[1])
    if weight is None or group_reason(graph, reader):
        return False
    if reader.group != 1:  # a grouped kernel as its dense, block-diagonal equivalent
        weight = block_diagonal(weight, reader.group)
    pad = np.asarray(reader.pad_value, dtype=np.float64)
    if isinstance(op, ops.Mul):
        scalar = compress(value)
        if scalar.ndim != 0 or scalar == 0:
            return False
        moved = reader.clone(inputs=[source, reader.inputs[1]], pad_value=_pad_field(pad / scalar))
        _swap(graph, op, reader, moved, ops.Mul, scalar, notes, "scalar scale; padding value divided")
        return True
    vector = per_channel(value, 4, 1)
    if vector is None:
        return False
    offset = np.einsum("mcuv,c->m", weight.astype(np.float64), np.broadcast_to(vector, (weight.shape[1],)))
    moved = reader.clone(inputs=[source, reader.inputs[1]], pad_value=_pad_field(pad - (vector if vector.size > 1 else vector[0])))
    _swap(graph, op, reader, moved, ops.Add, channel_shape(offset, 4, 1), notes, "offset through the kernel; padding value shifted")
    return True


def _pad_field(value: np.ndarray):
    """A pad value as the Conv field holds it: a Python float, or a per-channel array."""
    value = compress(np.asarray(value, dtype=np.float64))
    return float(value) if value.ndim == 0 else value.reshape(-1)


def _past_shape_op(graph, op, source, value, reader, notes) -> bool:
    if not isinstance(reader, SHAPE_OPS):
        return False
    [transformed] = reader.execute(broadcast_to_tensor(value, graph.tensors[source].shape))
    moved = reader.clone(inputs=[source])
    _swap(graph, op, reader, moved, type(op), transformed, notes, "constant reshaped alike")
    return True


def _past_monotone(graph, op, source, value, reader, notes) -> bool:
    rank = len(graph.tensors[source].shape)
    if isinstance(reader, ops.MaxPool):
        vector = per_channel(value, rank, 1)
        if vector is None or (isinstance(op, ops.Mul) and not np.all(vector > 0)):
            return False
    elif isinstance(reader, ops.Relu):
        if not isinstance(op, ops.Mul) or not np.all(value > 0):
            return False
    else:
        return False
    _swap(graph, op, reader, reader.clone(inputs=[source]), type(op), value, notes, "order-preserving")
    return True


def _past_pad(graph, op, source, value, reader, notes) -> bool:
    pad_class = getattr(ops, "Pad", None)
    if pad_class is None or not isinstance(reader, pad_class):
        return False
    scalar = compress(value)
    if scalar.ndim != 0 or (isinstance(op, ops.Mul) and scalar == 0):
        return False
    new_value = reader.value / float(scalar) if isinstance(op, ops.Mul) else reader.value - float(scalar)
    _swap(graph, op, reader, reader.clone(inputs=[source], value=new_value), type(op), scalar, notes, "padding value moved")
    return True


MOVES = (_merge, _past_matmul, _past_conv, _past_shape_op, _past_monotone, _past_pad, into_join, past_layer)
