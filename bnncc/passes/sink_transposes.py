"""Sink layout transposes through element-wise steps until they cancel.

A channels-last layer imports as ``Transpose(op(Transpose(x, TO_NCHW)), TO_NHWC)``, so the
element-wise steps between two such layers (a quantizer, its de-quantizer, an activation, a
scale or a bias) run on NHWC tensors between a ``Transpose(., TO_NHWC)`` and the next layer's
``Transpose(., TO_NCHW)``. Thresholds are per channel on axis 1 and hardware stages stream
NCHW tensors, so those steps must run in NCHW. Three rewrites bring them there:

* an element-wise step ``f`` (one tensor input; its constants broadcast) commutes with a
  transpose: ``f(transpose(x, p), c) = transpose(f(x, c'), p)`` with
  ``c' = transpose(c, argsort(p))`` (``c`` first given the rank of ``x``). The step then reads
  ``x`` and the transpose moves below it;
* a concatenation of transposes with one permutation ``p`` along axis ``a`` is the transpose
  of the concatenation along ``p[a]``;
* ``transpose(transpose(x, p), q) = x`` when ``q`` undoes ``p``: the reader takes ``x``.

Each tensor an element-wise step now writes is recorded as an alias of the one it replaces
(``new = transpose(original, argsort(p))``), so verification still compares it.
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.ir.ops.activation import Activation
from bnncc.passes.patterns import record_alias

#: Steps that act on each element alone (a quantizer, de-quantizer, activation, arithmetic
#: with constants); their array parameters broadcast against the input.
ELEMENTWISE = (
    ops.Quant, ops.BipolarQuant, ops.Dequantize, ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Relu, ops.Neg,
    ops.Sign, ops.Cast, ops.Clip, Activation,
)
#: Array attributes of those steps that broadcast against the input.
ARRAY_FIELDS = ("scale", "zero_point")


def sink_transposes(graph: Graph, notes: list[str]) -> bool:
    """Apply the three rewrites of the module docstring until none applies; True if any did."""
    changed = False
    progress = True
    while progress:
        progress = False
        for op in graph.ops():
            if not graph.has_op(op.name):
                continue
            if isinstance(op, ops.Transpose) and graph.constant(op.inputs[0]) is None:
                progress |= _cancel_inverse(graph, op, notes) or _sink_below(graph, op, notes)
            elif isinstance(op, ops.Concat):
                progress |= _concat_of_transposes(graph, op, notes)
        changed |= progress
    if changed:
        graph.prune()
    return changed


def _inverse(perm) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


def _cancel_inverse(graph: Graph, transpose, notes: list[str]) -> bool:
    """``transpose(transpose(x, p), q)`` with ``q = argsort(p)``: readers take ``x``."""
    source = graph.producer(transpose.inputs[0])
    if not isinstance(source, ops.Transpose) or tuple(transpose.perm) != _inverse(source.perm):
        return False
    if transpose.outputs[0] in graph.outputs:
        return False
    graph.rewire(transpose.outputs[0], source.inputs[0])
    graph.remove_op(transpose.name)
    notes.append(f"node '{transpose.name}': cancels transpose '{source.name}'")
    return True


def _broadcast_constant(value: np.ndarray, rank: int, perm) -> np.ndarray | None:
    """``c'`` with ``transpose(c', perm) = c`` (``c`` padded to ``rank``), or None if ``c``
    has more axes than the tensor."""
    value = np.asarray(value)
    if value.ndim > rank:
        return None
    if value.ndim == 0:
        return value
    full = value.reshape((1,) * (rank - value.ndim) + value.shape)
    return np.ascontiguousarray(np.transpose(full, _inverse(perm)))


def _sink_below(graph: Graph, transpose, notes: list[str]) -> bool:
    """Move ``transpose`` below each element-wise step that reads its output."""
    y = transpose.outputs[0]
    perm = tuple(transpose.perm)
    rank = len(perm)
    moved = False
    for reader in graph.consumers(y):
        if not isinstance(reader, ELEMENTWISE) or len(reader.outputs) != 1:
            continue
        variable = [t for t in reader.inputs if t and graph.constant(t) is None]
        if variable != [y] or reader.inputs.count(y) != 1:
            continue
        inputs, fields = [], {}
        for t in reader.inputs:
            if t == y:
                inputs.append(transpose.inputs[0])
                continue
            if not t:
                inputs.append(t)
                continue
            value = graph.constant(t)
            moved_value = _broadcast_constant(value, rank, perm)
            if moved_value is None:
                break
            if np.ndim(value) == 0 or moved_value.shape == np.shape(value) and np.array_equal(moved_value, value):
                inputs.append(t)
            else:
                inputs.append(new_constant(graph, f"{t}_transposed", moved_value, graph.tensors[t].dtype))
        else:
            for field in ARRAY_FIELDS:
                if hasattr(reader, field):
                    moved_value = _broadcast_constant(getattr(reader, field), rank, perm)
                    if moved_value is None:
                        break
                    fields[field] = moved_value
            else:
                _swap(graph, transpose, reader, inputs, fields, notes)
                moved = True
    return moved


def _swap(graph: Graph, transpose, reader, inputs, fields, notes: list[str]) -> None:
    """``reader`` on the untransposed input, writing a fresh tensor; a copy of ``transpose``
    writes ``reader``'s output."""
    original = reader.outputs[0]
    fresh = graph.fresh_name(f"{original}__pre_transpose")
    graph.remove_op(reader.name)
    add_inferred(graph, reader.clone(inputs=inputs, outputs=[fresh], **fields))
    add_inferred(graph, transpose.clone(name=graph.fresh_name(f"{transpose.name}_after_{reader.name}"),
                                        inputs=[fresh], outputs=[original]))
    _alias(graph, fresh, original, _inverse(transpose.perm))
    if not graph.consumers(transpose.outputs[0]) and transpose.outputs[0] not in graph.outputs:
        graph.remove_op(transpose.name)
    notes.append(f"node '{reader.name}': moved above transpose '{transpose.name}'")


def _alias(graph: Graph, new: str, original: str, perm) -> None:
    """Record ``new = transpose(original, perm)``, through an alias ``original`` already has."""
    entry = graph.metadata.get("aliases", {}).get(original)
    if entry is not None and "order" not in entry:
        inner = entry.get("perm", list(range(len(perm))))
        record_alias(graph, new, entry["tensor"], perm=[inner[i] for i in perm])
        return
    record_alias(graph, new, original, perm=perm)


def _concat_of_transposes(graph: Graph, concat, notes: list[str]) -> bool:
    """``concat([transpose(x_i, p)], a) = transpose(concat([x_i], p[a]), p)``."""
    producers = [graph.producer(t) for t in concat.inputs]
    if not all(isinstance(p, ops.Transpose) for p in producers):
        return False
    perm = tuple(producers[0].perm)
    if any(tuple(p.perm) != perm for p in producers):
        return False
    rank = len(perm)
    original = concat.outputs[0]
    fresh = graph.fresh_name(f"{original}__pre_transpose")
    graph.remove_op(concat.name)
    add_inferred(graph, concat.clone(inputs=[p.inputs[0] for p in producers], outputs=[fresh],
                                     axis=perm[concat.axis % rank]))
    add_inferred(graph, ops.Transpose(name=graph.fresh_name(f"{concat.name}_transpose"), inputs=[fresh],
                                      outputs=[original], perm=perm))
    _alias(graph, fresh, original, _inverse(perm))
    notes.append(f"node '{concat.name}': concatenates before transpose (axis {perm[concat.axis % rank]})")
    return True
