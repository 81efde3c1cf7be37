"""The IR: a ``networkx.DiGraph`` of typed operations and one table of tensor metadata.

Nodes of the digraph are operation names; each carries its :class:`~bnncc.ir.op.Op` under
the key ``"op"``. An edge ``u -> v`` means an output tensor of ``u`` is an input of ``v``; its
``"tensors"`` attribute lists those tensor names. Shapes, element types and constant values
live in :attr:`Graph.tensors`, keyed by tensor name.

The first dimension of every non-constant tensor is the batch dimension. It is stored as 1;
every operation is written so that the executor can run any batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import networkx as nx
import numpy as np

from bnncc.datatype import DataType


@dataclass
class TensorInfo:
    """Metadata of one tensor: shape (batch first for activations), element type, the value
    if the tensor is a constant, and whether it carries the batch dimension (it depends on a
    graph input) or is computed from constants alone (such as a de-quantized weight)."""

    shape: tuple[int, ...]
    dtype: DataType
    value: np.ndarray | None = None
    batched: bool = True

    @property
    def is_constant(self) -> bool:
        return self.value is not None


@dataclass
class Graph:
    """A dataflow graph of IR operations."""

    name: str = "model"
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    nx_graph: nx.DiGraph = field(default_factory=nx.DiGraph)

    # -- building -------------------------------------------------------------------------
    def add_op(self, op) -> None:
        """Insert ``op``; its inputs must already be produced or be constants/graph inputs."""
        if op.name in self.nx_graph:
            raise ValueError(f"duplicate node name '{op.name}'")
        self.nx_graph.add_node(op.name, op=op)
        self._connect(op)

    def remove_op(self, name: str) -> None:
        """Remove the node ``name`` (its output tensors stay in the table until pruned)."""
        self.nx_graph.remove_node(name)

    def replace_op(self, name: str, op) -> None:
        """Swap the operation of node ``name`` for ``op`` (same name), re-deriving edges."""
        self.nx_graph.remove_node(name)
        self.add_op(op)

    def _connect(self, op) -> None:
        producers = self.producers()
        for tensor in op.inputs:
            if tensor and tensor in producers:
                self._add_edge(producers[tensor], op.name, tensor)
        for consumer in self.ops():
            if consumer is op:
                continue
            for tensor in consumer.inputs:
                if tensor in op.outputs:
                    self._add_edge(op.name, consumer.name, tensor)

    def _add_edge(self, source: str, target: str, tensor: str) -> None:
        if self.nx_graph.has_edge(source, target):
            tensors = self.nx_graph.edges[source, target]["tensors"]
            if tensor not in tensors:
                tensors.append(tensor)
        else:
            self.nx_graph.add_edge(source, target, tensors=[tensor])

    def set_tensor(
        self, name: str, shape, dtype: DataType, value: np.ndarray | None = None, batched: bool | None = None
    ) -> None:
        """Record (or overwrite) the metadata of tensor ``name`` (constants are never batched)."""
        batched = value is None if batched is None else batched
        self.tensors[name] = TensorInfo(tuple(int(d) for d in shape), dtype, value, batched)

    def add_constant(self, name: str, value: np.ndarray, dtype: DataType) -> None:
        """Record a constant tensor."""
        value = np.asarray(value).astype(dtype.numpy_dtype)
        self.set_tensor(name, value.shape, dtype, value)

    # -- queries --------------------------------------------------------------------------
    def op(self, name: str):
        """The operation of node ``name``."""
        return self.nx_graph.nodes[name]["op"]

    def ops(self) -> Iterator:
        """All operations in a deterministic topological order."""
        for name in nx.lexicographical_topological_sort(self.nx_graph, key=self._order_key()):
            yield self.nx_graph.nodes[name]["op"]

    def _order_key(self):
        position = {name: index for index, name in enumerate(self.nx_graph.nodes)}
        return lambda name: position[name]

    def producers(self) -> dict[str, str]:
        """Map from tensor name to the name of the node that produces it."""
        result = {}
        for name, data in self.nx_graph.nodes(data=True):
            for tensor in data["op"].outputs:
                result[tensor] = name
        return result

    def producer(self, tensor: str):
        """The operation producing ``tensor``, or None for inputs and constants."""
        name = self.producers().get(tensor)
        return None if name is None else self.op(name)

    def consumers(self, tensor: str) -> list:
        """Operations that read ``tensor``."""
        return [op for op in self.ops() if tensor in op.inputs]

    def constant(self, tensor: str) -> np.ndarray | None:
        """The value of ``tensor`` if it is a constant, else None."""
        info = self.tensors.get(tensor)
        return None if info is None else info.value

    def prune(self) -> None:
        """Drop nodes whose outputs nobody uses and tensors nobody references."""
        changed = True
        while changed:
            changed = False
            used = set(self.outputs)
            for op in self.ops():
                used.update(t for t in op.inputs if t)
            for op in list(self.ops()):
                if not any(t in used for t in op.outputs):
                    self.remove_op(op.name)
                    changed = True
        referenced = set(self.inputs) | set(self.outputs)
        for op in self.ops():
            referenced.update(t for t in op.inputs if t)
            referenced.update(op.outputs)
        for name in list(self.tensors):
            if name not in referenced:
                del self.tensors[name]

    def op_count(self) -> dict[str, int]:
        """How many operations of each type the graph holds."""
        counts: dict[str, int] = {}
        for op in self.ops():
            counts[op.op_type] = counts.get(op.op_type, 0) + 1
        return dict(sorted(counts.items()))

    def copy(self) -> "Graph":
        """A copy whose structure can be changed without touching this graph (constant arrays
        are shared; passes must not modify arrays in place)."""
        import copy as _copy

        clone = Graph(self.name, list(self.inputs), list(self.outputs))
        clone.tensors = {k: TensorInfo(v.shape, v.dtype, v.value, v.batched) for k, v in self.tensors.items()}
        for op in self.ops():
            clone.add_op(_copy.copy(op))
        return clone
