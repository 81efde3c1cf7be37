"""The IR: a ``networkx.DiGraph`` of typed operations and one table of tensor metadata.

Nodes of the digraph are operation names; each carries its :class:`~bnncc.ir.op.Op` under
the key ``"op"``. An edge ``u -> v`` means an output tensor of ``u`` is an input of ``v``; its
``"tensors"`` attribute lists those tensor names. Shapes, element types and constant values
live in :attr:`Graph.tensors`, keyed by tensor name.

The first dimension of every non-constant tensor is the batch dimension. It is stored as 1;
every operation is written so that the executor can run any batch size.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
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
    """A dataflow graph of IR operations.

    Operations are kept by name in insertion order; the ``networkx.DiGraph`` view
    (:attr:`nx_graph`) is rebuilt from their tensor names whenever the structure changed.
    Operations are treated as immutable once added: change one with :meth:`replace_op`.
    """

    name: str = "model"
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    #: Facts passes record for later passes and backends (e.g. the host/hardware partition).
    metadata: dict = field(default_factory=dict)
    _ops: dict[str, object] = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    # -- building -------------------------------------------------------------------------
    def add_op(self, op) -> None:
        """Insert ``op`` (its name must be new)."""
        if op.name in self._ops:
            raise ValueError(f"duplicate node name '{op.name}'")
        self._ops[op.name] = op
        self._cache.clear()

    def remove_op(self, name: str) -> None:
        """Remove the node ``name`` (its output tensors stay in the table until pruned)."""
        del self._ops[name]
        self._cache.clear()

    def replace_op(self, name: str, op) -> None:
        """Put ``op`` in place of node ``name`` (keeping its position in insertion order)."""
        self._ops = {(op.name if key == name else key): (op if key == name else value) for key, value in self._ops.items()}
        self._cache.clear()

    def rewire(self, old: str, new: str) -> None:
        """Make every reader of tensor ``old`` (operations and graph outputs) read ``new``."""
        for op in list(self._ops.values()):
            if old in op.inputs:
                self.replace_op(op.name, op.clone(inputs=[new if t == old else t for t in op.inputs]))
        self.outputs = [new if t == old else t for t in self.outputs]

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

    def fresh_name(self, base: str) -> str:
        """A tensor/node name starting with ``base`` that is not used yet."""
        name, index = base, 0
        while name in self.tensors or name in self._ops:
            index += 1
            name = f"{base}_{index}"
        return name

    # -- queries --------------------------------------------------------------------------
    @property
    def nx_graph(self) -> nx.DiGraph:
        """Nodes: operation names with the op under ``"op"``; edge u -> v: a tensor written by
        u is read by v, the tensor names under ``"tensors"``."""
        if "nx" not in self._cache:
            digraph = nx.DiGraph()
            producers = {}
            for name, op in self._ops.items():
                digraph.add_node(name, op=op)
                for tensor in op.outputs:
                    producers[tensor] = name
            for name, op in self._ops.items():
                for tensor in op.inputs:
                    source = producers.get(tensor)
                    if source is None:
                        continue
                    if digraph.has_edge(source, name):
                        if tensor not in digraph.edges[source, name]["tensors"]:
                            digraph.edges[source, name]["tensors"].append(tensor)
                    else:
                        digraph.add_edge(source, name, tensors=[tensor])
            self._cache["nx"] = digraph
            self._cache["producers"] = producers
        return self._cache["nx"]

    def op(self, name: str):
        """The operation of node ``name``."""
        return self._ops[name]

    def has_op(self, name: str) -> bool:
        return name in self._ops

    def ops(self) -> list:
        """All operations in a deterministic topological order (insertion order breaks ties)."""
        if "order" not in self._cache:
            position = {name: index for index, name in enumerate(self._ops)}
            order = nx.lexicographical_topological_sort(self.nx_graph, key=position.__getitem__)
            self._cache["order"] = [self._ops[name] for name in order]
        return list(self._cache["order"])

    def producers(self) -> dict[str, str]:
        """Map from tensor name to the name of the node that produces it."""
        self.nx_graph
        return dict(self._cache["producers"])

    def producer(self, tensor: str):
        """The operation producing ``tensor``, or None for inputs and constants."""
        self.nx_graph
        name = self._cache["producers"].get(tensor)
        return None if name is None else self._ops[name]

    def consumers(self, tensor: str) -> list:
        """Operations that read ``tensor``, in topological order."""
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
            for op in self._ops.values():
                used.update(t for t in op.inputs if t)
            for op in list(self._ops.values()):
                if not any(t in used for t in op.outputs):
                    self.remove_op(op.name)
                    changed = True
        referenced = set(self.inputs) | set(self.outputs)
        for op in self._ops.values():
            referenced.update(t for t in op.inputs if t)
            referenced.update(op.outputs)
        for name in list(self.tensors):
            if name not in referenced:
                del self.tensors[name]

    def op_count(self) -> dict[str, int]:
        """How many operations of each type the graph holds."""
        counts: dict[str, int] = {}
        for op in self._ops.values():
            counts[op.op_type] = counts.get(op.op_type, 0) + 1
        return dict(sorted(counts.items()))

    def copy(self) -> "Graph":
        """A copy whose structure and table can be changed without touching this graph
        (constant arrays are shared: passes must not modify arrays in place)."""
        clone = Graph(self.name, list(self.inputs), list(self.outputs), metadata=copy.deepcopy(self.metadata))
        clone.tensors = {k: TensorInfo(v.shape, v.dtype, v.value, v.batched) for k, v in self.tensors.items()}
        for op in self._ops.values():
            clone.add_op(op.clone())
        return clone
