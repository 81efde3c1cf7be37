"""Runs any IR graph on numpy arrays: the oracle after every pass.

Integer tensors are held as int64 and computed exactly (matrix products of integers go
through float64 BLAS only while every partial sum stays below 2**53, where float64 is exact);
real tensors are held as float64. Every operation runs on the whole batch at once.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from bnncc.errors import ShapeError
from bnncc.ir.build import to_type
from bnncc.ir.graph import Graph

#: ``{tensor: (mask, values)}``: after computing ``tensor``, elements where ``mask`` is true
#: are replaced by ``values`` there (used to follow the reference engine through a tie).
Overrides = Mapping[str, tuple[np.ndarray, np.ndarray]]


class Executor:
    """Executes ``graph``; build once, run many times."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.ops = list(graph.ops())
        self.constants = {
            name: info.value.astype(info.dtype.numpy_dtype, copy=False)
            for name, info in graph.tensors.items()
            if info.value is not None
        }
        self._last_use = self._compute_last_use()

    def _compute_last_use(self) -> dict[str, int]:
        last = {}
        for index, op in enumerate(self.ops):
            for tensor in op.inputs:
                last[tensor] = index
        for tensor in self.graph.outputs:
            last[tensor] = len(self.ops)
        return last

    def prepare_inputs(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check and convert user inputs: every graph input present, shapes equal to the
        graph's apart from the batch dimension, values allowed by the input's type."""
        prepared = {}
        for name in self.graph.inputs:
            if name not in inputs:
                raise ShapeError(f"missing input '{name}'")
            info = self.graph.tensors[name]
            value = np.asarray(inputs[name])
            if value.ndim != len(info.shape) or tuple(value.shape[1:]) != tuple(info.shape[1:]):
                expected = ("N",) + tuple(info.shape[1:])
                raise ShapeError(
                    f"input '{name}' has shape {tuple(value.shape)}, expected "
                    f"({', '.join(str(d) for d in expected)})"
                )
            if info.dtype.is_integer and not info.dtype.allows(value):
                raise ShapeError(f"input '{name}' holds values outside {info.dtype}")
            prepared[name] = value.astype(info.dtype.numpy_dtype)
        return prepared

    def run(
        self,
        inputs: Mapping[str, np.ndarray],
        keep: Iterable[str] | str = (),
        overrides: Overrides | None = None,
    ) -> dict[str, np.ndarray]:
        """Run the graph; returns the graph outputs plus the tensors named in ``keep``
        (``keep="all"`` keeps every tensor computed)."""
        keep_all = keep == "all"
        wanted = set(self.graph.outputs) | (set() if keep_all else set(keep))
        values = dict(self.constants)
        values.update(self.prepare_inputs(inputs))
        overrides = overrides or {}
        for index, op in enumerate(self.ops):
            args = [values[t] if t else None for t in op.inputs]
            while args and args[-1] is None:
                args.pop()
            results = op.execute(*args)
            for tensor, result in zip(op.outputs, results):
                result = self._store(tensor, np.asarray(result))
                if tensor in overrides:
                    mask, replacement = overrides[tensor]
                    result = np.where(mask, replacement, result).astype(result.dtype)
                values[tensor] = result
            if not keep_all:
                for tensor in op.inputs:
                    if self._last_use.get(tensor) == index and tensor not in wanted and tensor not in self.constants:
                        values.pop(tensor, None)
        if keep_all:
            return values
        return {name: values[name] for name in wanted if name in values}

    def _store(self, tensor: str, value: np.ndarray) -> np.ndarray:
        info = self.graph.tensors.get(tensor)
        if info is None:
            return value
        if value.dtype == info.dtype.numpy_dtype:
            return value
        return to_type(value, info.dtype)


def execute(graph: Graph, inputs: Mapping[str, np.ndarray], keep: Iterable[str] | str = ()) -> dict[str, np.ndarray]:
    """One-shot convenience wrapper around :class:`Executor`."""
    return Executor(graph).run(inputs, keep=keep)
