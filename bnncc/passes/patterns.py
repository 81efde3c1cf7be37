"""Small queries and constructors the rewrite passes share."""

from __future__ import annotations

import numpy as np

from bnncc.datatype import FLOAT32
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.ir import ops


def sole_consumer(graph: Graph, tensor: str):
    """The only operation reading ``tensor``, or None if there are several, none, or the
    tensor is also a graph output."""
    if tensor in graph.outputs:
        return None
    readers = graph.consumers(tensor)
    return readers[0] if len(readers) == 1 else None


def constant_operand(graph: Graph, op) -> tuple[str, np.ndarray] | None:
    """For a two-input op with exactly one batched input and one constant input: (name of
    the batched input, constant value); else None."""
    if len(op.inputs) != 2:
        return None
    a, b = op.inputs
    value_a, value_b = graph.constant(a), graph.constant(b)
    if value_b is not None and value_a is None and graph.tensors[a].batched:
        return a, value_b
    if value_a is not None and value_b is None and graph.tensors[b].batched:
        return b, value_a
    return None


def compress(value: np.ndarray) -> np.ndarray:
    """Shrink every axis along which ``value`` is constant to length 1 (a scalar if it is
    constant everywhere), keeping it broadcast-equivalent."""
    value = np.asarray(value)
    if value.size and np.all(value == value.reshape(-1)[0]):
        return value.reshape(-1)[0].reshape(())
    for axis in range(value.ndim):
        if value.shape[axis] > 1 and np.all(value == value.take([0], axis=axis)):
            value = value.take([0], axis=axis)
    return value


def broadcast_to_tensor(value: np.ndarray, shape) -> np.ndarray:
    """``value`` broadcast to the full ``shape`` (batch dimension 1) as a writable array."""
    return np.array(np.broadcast_to(value, shape))


def per_channel(value: np.ndarray, rank: int, axis: int = 1) -> np.ndarray | None:
    """``value`` as a vector over ``axis`` of a rank-``rank`` tensor (length 1 if scalar), or
    None if it varies along any other axis (or would add dimensions)."""
    value = np.asarray(value)
    if value.ndim > rank:
        return None
    full_rank = value.reshape((1,) * (rank - value.ndim) + value.shape)
    others = [a for a in range(rank) if a != axis % rank]
    if any(full_rank.shape[a] != 1 for a in others):
        return None
    return full_rank.reshape(-1)


def channel_shape(vector: np.ndarray, rank: int, axis: int = 1) -> np.ndarray:
    """A per-channel vector shaped to broadcast along ``axis`` of a rank-``rank`` tensor."""
    vector = np.asarray(vector).reshape(-1)
    if vector.size == 1:
        return vector.reshape(())
    shape = [1] * rank
    shape[axis % rank] = vector.size
    return vector.reshape(shape)


def emit_affine(graph: Graph, name: str, source: str, target: str, op_class, value: np.ndarray) -> None:
    """Add ``target = op_class(source, value)`` (value a new float constant)."""
    constant = new_constant(graph, f"{name}_c", np.asarray(value, dtype=np.float64), FLOAT32)
    add_inferred(graph, op_class(name=name, inputs=[source, constant], outputs=[target]))


AFFINE_TYPES = (ops.Mul, ops.Add)


def record_alias(graph: Graph, new: str, original: str, perm=None, order=None) -> None:
    """Note that tensor ``new`` holds the values of ``original`` rearranged:
    ``new = transpose(original, perm)`` or ``new[..., i] = original[..., order[i]]``.
    Verification uses this to compare renamed tensors with the reference."""
    aliases = graph.metadata.setdefault("aliases", {})
    entry = {"tensor": original}
    if perm is not None:
        entry["perm"] = [int(p) for p in perm]
    if order is not None:
        entry["order"] = [int(i) for i in order]
    aliases[new] = entry
