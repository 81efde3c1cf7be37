"""Streamline across forks and joins: scales and offsets move through a residual ``a + b``
and a ``Concat``, so that the join works on integers and the quantizer after it can
become thresholds on the integer result.

* A difference of activations is a sum: ``x - y = x + y * (-1)``, so a join subtracting
  one branch from another gets a negative integer multiplier.
* Fork: an affine ``x * a`` (or ``x + a``) read by k operations is k copies of it, one per
  reader, each of which then moves on its own way.
* Offset into a join: ``(x + c) + y = (x + y) + c`` and ``concat(x + c, y) = concat(x, y) +
  concat(c, 0)`` (``c`` broadcast to ``x``'s shape, zeros for the other inputs).
* Scales into an Add: with integer ``x``, ``y`` and scales ``s_x``, ``s_y`` whose ratio is
  one number ``r = s_x / s_y = p / q`` (``p``, ``q`` coprime integers, ``q > 0``, both at
  most :data:`MAX_MULTIPLIER` in magnitude; a power of two is a shift),
  ``x * s_x + y * s_y = (p x + q y) * (s_y / q)`` (signs chosen so that ``s_y / q > 0``
  where ``s_y`` has one sign): the sum is computed on one integer grid
  exactly and one scale follows it. An operand with no scale is an integer with scale 1.
  A ratio that differs per channel, is irrational or needs a larger multiplier is refused
  and the reason recorded (:mod:`bnncc.passes.refusals`), naming the Add.
* Scales into a Concat: ``concat(x_k * s_k) = concat(x_k) * concat(s_k)`` with each ``s_k``
  broadcast to its input's shape: the result carries per-channel scales, which a quantizer
  after it absorbs into per-channel thresholds (and which stop before a convolution, with
  the reason recorded there).

Integer multipliers are integer ``Mul`` operations in front of the Add; ``to_hw`` folds them
into the ``StreamAdd`` stage (its ``A_MUL``/``B_MUL``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from bnncc.datatype import DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.passes import refusals
from bnncc.passes.patterns import broadcast_to_tensor, compress, emit_affine, sole_consumer

#: Largest integer multiplier (in magnitude) a branch of an Add is given to reach the
#: common grid.
MAX_MULTIPLIER = 64
#: Relative difference under which a scale ratio equals p / q (float32 scales).
RATIO_TOLERANCE = 1e-6
RULE = "streamline"


def is_join(graph: Graph, op) -> bool:
    """True if ``op`` joins activations: an Add of two distinct non-constant batched
    tensors, or a Concat of such tensors."""
    if isinstance(op, ops.Add):
        streams = op.inputs
    elif isinstance(op, ops.Concat):
        streams = op.inputs
    else:
        return False
    if len(set(streams)) != len(streams) or len(streams) < 2:
        return False
    return all(graph.constant(t) is None and graph.tensors[t].batched for t in streams)


def subtraction_as_addition(graph: Graph, notes: list[str]) -> None:
    """Rewrite every ``Sub(x, y)`` of two activations as ``Add(x, Mul(y, -1))``."""
    for op in graph.ops():
        if not isinstance(op, ops.Sub) or len(op.inputs) != 2 or op.inputs[0] == op.inputs[1]:
            continue
        if not all(graph.constant(t) is None and graph.tensors[t].batched for t in op.inputs):
            continue
        negated = graph.fresh_name(f"{op.inputs[1]}__negated")
        graph.remove_op(op.name)
        emit_affine(graph, graph.fresh_name(f"{op.name}_negate"), op.inputs[1], negated, ops.Mul, np.asarray(-1.0))
        add_inferred(graph, ops.Add(name=op.name, inputs=[op.inputs[0], negated], outputs=list(op.outputs)))
        notes.append(f"node '{op.name}': difference of activations as a sum with the second negated")


def split_fork(graph: Graph, op, notes: list[str]) -> bool:
    """Give every reader of the affine ``op``'s output its own copy of ``op``; True if the
    output had several readers (and is not a graph output)."""
    tensor = op.outputs[0]
    readers = graph.consumers(tensor)
    if tensor in graph.outputs or len(readers) < 2:
        return False
    graph.remove_op(op.name)
    for reader in readers:
        copy = graph.fresh_name(f"{tensor}__to_{reader.name}")
        add_inferred(graph, op.clone(name=graph.fresh_name(f"{op.name}__to_{reader.name}"), outputs=[copy]))
        current = graph.op(reader.name)
        graph.replace_op(reader.name, current.clone(inputs=[copy if t == tensor else t for t in current.inputs]))
    notes.append(f"node '{op.name}': {op.op_type} copied for each of its {len(readers)} readers (a fork)")
    return True


def _real_affine_input(graph: Graph, tensor: str, join, op_class):
    """The ``op_class`` (Mul/Add) with a constant that writes ``tensor`` for ``join`` alone
    and computes real values, or None."""
    producer = graph.producer(tensor)
    if not isinstance(producer, op_class) or graph.constant(producer.inputs[1]) is None:
        return None
    source = producer.inputs[0]
    if graph.constant(source) is not None or not graph.tensors[source].batched:
        return None
    if sole_consumer(graph, tensor) is not join or graph.tensors[tensor].dtype.is_integer:
        return None
    return producer


def _rebuild(graph: Graph, join, inputs: list[str], removed: list, op_class, value, notes, what: str) -> None:
    """Replace ``join`` (and the ``removed`` affines feeding it) by the join of ``inputs``
    followed by ``op_class(value)`` writing the join's output."""
    for op in removed:
        graph.remove_op(op.name)
    graph.remove_op(join.name)
    middle = graph.fresh_name(f"{join.outputs[0]}__joined")
    add_inferred(graph, join.clone(inputs=inputs, outputs=[middle]))
    emit_affine(graph, graph.fresh_name(f"{join.name}_{op_class.__name__.lower()}"), middle, join.outputs[0], op_class,
                compress(value))
    notes.append(f"node '{join.name}': {what}")


def _offset_into_join(graph: Graph, op, source: str, value, join, notes) -> bool:
    """``(x + c) (+|concat) y = (x (+|concat) y) + c'``."""
    tensor = op.outputs[0]
    out_shape = graph.tensors[join.outputs[0]].shape
    if isinstance(join, ops.Add):
        offset = broadcast_to_tensor(value, out_shape).astype(np.float64)
    else:
        parts = [broadcast_to_tensor(value, graph.tensors[t].shape) if t == tensor else np.zeros(graph.tensors[t].shape)
                 for t in join.inputs]
        offset = np.concatenate(parts, axis=join.axis)
    inputs = [source if t == tensor else t for t in join.inputs]
    _rebuild(graph, join, inputs, [op], ops.Add, offset, notes, f"offset of '{op.name}' moved below the join")
    return True


def _scaled_operand(graph: Graph, tensor: str, join):
    """(integer source, scale, Mul to remove or None) for an operand of ``join``; None if it
    is neither an integer tensor nor an integer tensor times a constant scale."""
    if graph.tensors[tensor].dtype.is_integer:
        return tensor, np.asarray(1.0), None
    mul = _real_affine_input(graph, tensor, join, ops.Mul)
    if mul is None or not graph.tensors[mul.inputs[0]].dtype.is_integer:
        return None
    return mul.inputs[0], graph.constant(mul.inputs[1]).astype(np.float64), mul


def _operand_problem(graph: Graph, tensor: str, join) -> str | None:
    """Why operand ``tensor`` of ``join`` is not integers times a scale (None if it may
    still become one: an offset above it has yet to move into the join)."""
    if _real_affine_input(graph, tensor, join, ops.Add) is not None:
        return None
    producer = graph.producer(tensor)
    what = f"node '{producer.name}' ({producer.op_type})" if producer is not None else "a graph input"
    return (f"operand '{_user_name(tensor)}' is real ({graph.tensors[tensor].dtype}, written by {what}), not quantized integers "
            "times a scale, so the join cannot work on integers")


def _user_name(tensor: str) -> str:
    """The tensor's name in the model: without the suffix a fork copy carries."""
    return tensor.split("__to_")[0]


def _refuse(graph: Graph, join, reason: str) -> bool:
    refusals.record(graph, join, reason, RULE)
    return False


def common_grid(ratio: float) -> tuple[int, int] | None:
    """Coprime ``(p, q)``, ``q > 0``, with ``p / q == ratio`` (within float32 rounding) and
    both at most :data:`MAX_MULTIPLIER` in magnitude; None if there is none."""
    if not np.isfinite(ratio) or ratio == 0:
        return None
    fraction = Fraction(float(ratio)).limit_denominator(MAX_MULTIPLIER)
    p, q = fraction.numerator, fraction.denominator
    if p == 0 or abs(p) > MAX_MULTIPLIER or abs(p / q - ratio) > RATIO_TOLERANCE * abs(ratio):
        return None
    return p, q


def _integer_multiplier(graph: Graph, source: str, factor: int, join) -> str:
    """``source`` itself for factor 1, else the output of a new integer ``Mul(source, factor)``."""
    if factor == 1:
        return source
    constant = new_constant(graph, f"{join.name}_multiplier", np.asarray(factor, dtype=np.int64),
                            DataType.for_range(factor, factor))
    product = graph.fresh_name(f"{source}__x{abs(factor)}")
    add_inferred(graph, ops.Mul(name=graph.fresh_name(f"{join.name}_times_{abs(factor)}"),
                                inputs=[source, constant], outputs=[product]))
    return product


def _scaled_operands(graph: Graph, join) -> list | None:
    """(integer tensor, scale, its Mul) of every operand of ``join``; None when an operand
    has none (recording why when the reason is known)."""
    operands = []
    for tensor in join.inputs:
        scaled = _scaled_operand(graph, tensor, join)
        if scaled is None:
            problem = _operand_problem(graph, tensor, join)
            if problem:
                _refuse(graph, join, problem)
            return None
        operands.append(scaled)
    return operands


def _scales_into_add(graph: Graph, join, notes) -> bool:
    operands = _scaled_operands(graph, join)
    if operands is None:
        return False
    (a, s_a, mul_a), (b, s_b, mul_b) = operands
    if mul_a is None and mul_b is None:
        return False  # already integers on one grid
    shape = graph.tensors[join.outputs[0]].shape
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = compress(broadcast_to_tensor(s_a, shape) / broadcast_to_tensor(s_b, shape))
    if ratio.ndim != 0:
        values = np.unique(ratio)
        return _refuse(graph, join, (
            f"the scales of its operands '{_user_name(join.inputs[0])}' and '{_user_name(join.inputs[1])}' have a ratio that differs along the "
            f"tensor ({values.size} values, {values.min():g}..{values.max():g}); one integer multiplier per operand "
            "brings both to one grid only for a single ratio"))
    grid = common_grid(float(ratio))
    if grid is None:
        return _refuse(graph, join, (
            f"the scales of its operands '{_user_name(join.inputs[0])}' and '{_user_name(join.inputs[1])}' have ratio {float(ratio):.9g}, not "
            f"p/q for integers |p|, q <= {MAX_MULTIPLIER}, so no integer multipliers bring both to one grid exactly"))
    p, q = grid
    if np.all(np.asarray(s_b) < 0):
        p, q = -p, -q  # a positive scale after the sum keeps the quantizer after it increasing
    for op in (mul_a, mul_b):
        if op is not None:
            graph.remove_op(op.name)
    inputs = [_integer_multiplier(graph, a, p, join), _integer_multiplier(graph, b, q, join)]
    unit = np.asarray(s_b, dtype=np.float64) / q
    kind = "a shift" if (p == 1 or q == 1) and (abs(p * q) & (abs(p * q) - 1)) == 0 and abs(p * q) > 1 else "integer multipliers"
    detail = "one scale" if (p, q) == (1, 1) else f"{kind} {p} and {q} (scale ratio {p}/{q})"
    _rebuild(graph, join, inputs, [], ops.Mul, unit, notes, f"operands brought to one integer grid, {detail}")
    return True


def _scales_into_concat(graph: Graph, join, notes) -> bool:
    operands = _scaled_operands(graph, join)
    if operands is None:
        return False
    if all(mul is None for _, _, mul in operands):
        return False
    scales = np.concatenate([broadcast_to_tensor(scale, graph.tensors[t].shape).astype(np.float64)
                             for t, (_, scale, _) in zip(join.inputs, operands)], axis=join.axis)
    removed = [mul for _, _, mul in operands if mul is not None]
    kind = "one scale" if compress(scales).ndim == 0 else "per-channel scales"
    _rebuild(graph, join, [source for source, _, _ in operands], removed, ops.Mul, scales, notes,
             f"concatenates the integers; {kind} follow it")
    return True


def into_join(graph: Graph, op, source: str, value, reader, notes: list[str]) -> bool:
    """Move the affine ``op`` (feeding the join ``reader`` alone) into or below the join;
    True if the graph changed. A streamline move (module docstring)."""
    if not is_join(graph, reader) or op.outputs[0] not in reader.inputs:
        return False
    if isinstance(op, ops.Add):
        return _offset_into_join(graph, op, source, value, reader, notes)
    if graph.tensors[op.outputs[0]].dtype.is_integer:
        return False  # an integer multiplier already in front of the join
    if isinstance(reader, ops.Add):
        return _scales_into_add(graph, reader, notes)
    return _scales_into_concat(graph, reader, notes)
