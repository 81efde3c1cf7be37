"""Editing helpers shared by the importer and the passes."""

from __future__ import annotations

import numpy as np

from bnncc.datatype import DataType
from bnncc.ir.graph import Graph


def to_type(value: np.ndarray, dtype: DataType) -> np.ndarray:
    """``value`` stored as the executor stores ``dtype`` (float results of integer types are
    rounded to the nearest integer, which they already equal)."""
    if dtype.is_integer and value.dtype.kind == "f":
        return np.rint(value).astype(np.int64)
    return value.astype(dtype.numpy_dtype)


def add_inferred(graph: Graph, op) -> None:
    """Add ``op`` and record its outputs' shapes and types from its own rule; outputs are
    batched when any input is."""
    infos = [graph.tensors[t] for t in op.inputs if t]
    specs = op.infer(infos)
    batched = any(info.batched for info in infos)
    for tensor, (shape, dtype) in zip(op.outputs, specs):
        if tensor:
            graph.set_tensor(tensor, shape, dtype, batched=batched)
    graph.add_op(op)


def fold_into_constants(graph: Graph, op) -> None:
    """Execute ``op`` (every input constant) and record its outputs as constants."""
    infos = [graph.tensors[t] for t in op.inputs if t]
    specs = op.infer(infos)
    values = op.execute(*[info.value for info in infos])
    for tensor, value, (_, dtype) in zip(op.outputs, values, specs):
        graph.add_constant(tensor, to_type(np.asarray(value), dtype), dtype)


def reinfer(graph: Graph) -> None:
    """Re-run every operation's shape and type rule in topological order (after a pass
    changed constants, accumulator types may narrow or widen)."""
    for op in graph.ops():
        infos = [graph.tensors[t] for t in op.inputs if t]
        batched = any(info.batched for info in infos)
        for tensor, (shape, dtype) in zip(op.outputs, op.infer(infos)):
            if tensor:
                graph.set_tensor(tensor, shape, dtype, batched=batched)


def new_constant(graph: Graph, base: str, value: np.ndarray, dtype: DataType) -> str:
    """Add a constant under a fresh name derived from ``base``; returns the name."""
    name = graph.fresh_name(base)
    graph.add_constant(name, value, dtype)
    return name
