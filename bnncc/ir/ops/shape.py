"""Operations that move or select elements without computing: Reshape, Flatten, Transpose,
Squeeze, Unsqueeze, Concat, Gather, Slice, Shape.

Activations keep their batch dimension first. An operation that would move, merge or select
along axis 0 of a batched tensor is rejected with a message naming the node; on tensors
computed from constants alone (weights, shape arithmetic) every axis is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import DataType
from bnncc.ir.op import Op


def _check_not_batch(op: Op, ins, axes, what: str) -> None:
    if not ins[0].batched:
        return
    rank = len(ins[0].shape)
    if any(a % max(rank, 1) == 0 for a in axes):
        op.fail(f"{what} the batch dimension (axis 0); bnncc keeps the batch dimension first")


@dataclass(kw_only=True)
class Reshape(Op):
    """``y = x.reshape(shape)``; ``shape`` has every dimension resolved (no 0 or -1). On
    activations the batch dimension stays first: ``y = x.reshape((N,) + shape[1:])``."""

    onnx_domain = "bnncc"
    shape: tuple[int, ...] = ()

    def infer(self, ins):
        if int(np.prod(ins[0].shape)) != int(np.prod(self.shape)):
            self.fail(f"cannot reshape {ins[0].shape} to {self.shape}")
        if ins[0].batched and (not self.shape or self.shape[0] != ins[0].shape[0]):
            self.fail(f"reshape {ins[0].shape} -> {self.shape} merges the batch dimension")
        return [(tuple(self.shape), ins[0].dtype)]

    def execute(self, x):
        if x.size != int(np.prod(self.shape)):
            return [x.reshape((x.shape[0],) + tuple(self.shape[1:]))]
        return [x.reshape(self.shape)]


@dataclass(kw_only=True)
class Flatten(Op):
    """``y = x.reshape(prod(x.shape[:axis]), prod(x.shape[axis:]))``."""

    onnx_domain = ""
    axis: int = 1

    def infer(self, ins):
        shape = ins[0].shape
        axis = self.axis % (len(shape) + 1) if self.axis < 0 else self.axis
        if axis != 1 and ins[0].batched:
            self.fail(f"axis={self.axis} merges the batch dimension with others (only axis=1 keeps it)")
        return [((int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))), ins[0].dtype)]

    def execute(self, x):
        axis = self.axis % (x.ndim + 1) if self.axis < 0 else self.axis
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]


@dataclass(kw_only=True)
class Transpose(Op):
    """``y = x.transpose(perm)``; ``perm[0]`` must be 0 on activations."""

    onnx_domain = ""
    perm: tuple[int, ...] = ()

    def infer(self, ins):
        perm = self.perm or tuple(reversed(range(len(ins[0].shape))))
        if sorted(perm) != list(range(len(ins[0].shape))):
            self.fail(f"perm {perm} is not a permutation of {len(ins[0].shape)} axes")
        if ins[0].batched and perm[0] != 0:
            self.fail(f"perm {perm} moves the batch dimension")
        return [(tuple(ins[0].shape[p] for p in perm), ins[0].dtype)]

    def execute(self, x):
        return [np.transpose(x, self.perm or None)]


@dataclass(kw_only=True)
class Squeeze(Op):
    """Remove the size-1 axes ``axes`` (all size-1 axes if empty)."""

    onnx_domain = "bnncc"
    axes: tuple[int, ...] = ()

    def _axes(self, shape):
        if self.axes:
            return tuple(sorted(a % len(shape) for a in self.axes))
        return tuple(i for i, d in enumerate(shape) if d == 1 and i > 0)

    def infer(self, ins):
        shape = ins[0].shape
        axes = self._axes(shape)
        if any(shape[a] != 1 for a in axes):
            self.fail(f"cannot squeeze axes {axes} of shape {shape}")
        _check_not_batch(self, ins, axes, "squeezes")
        return [(tuple(d for i, d in enumerate(shape) if i not in axes), ins[0].dtype)]

    def execute(self, x):
        return [np.squeeze(x, axis=self._axes(x.shape))]


@dataclass(kw_only=True)
class Unsqueeze(Op):
    """Insert size-1 axes at positions ``axes`` of the output."""

    onnx_domain = "bnncc"
    axes: tuple[int, ...] = ()

    def _axes(self, rank):
        out_rank = rank + len(self.axes)
        return tuple(sorted(a % out_rank for a in self.axes))

    def infer(self, ins):
        axes = self._axes(len(ins[0].shape))
        if ins[0].batched and 0 in axes:  # output axes: only a new axis 0 displaces the batch
            self.fail("inserts an axis before the batch dimension (axis 0); bnncc keeps the batch dimension first")
        shape = list(ins[0].shape)
        for a in axes:
            shape.insert(a, 1)
        return [(tuple(shape), ins[0].dtype)]

    def execute(self, x):
        return [np.expand_dims(x, self._axes(x.ndim))]


@dataclass(kw_only=True)
class Concat(Op):
    """Join the inputs along ``axis``."""

    onnx_domain = ""
    axis: int = 0

    def infer(self, ins):
        rank = len(ins[0].shape)
        axis = self.axis % rank
        if any(info.batched for info in ins) and axis == 0:
            self.fail("concatenates along the batch dimension")
        shape = list(ins[0].shape)
        for info in ins[1:]:
            if len(info.shape) != rank or any(
                a != b for i, (a, b) in enumerate(zip(info.shape, ins[0].shape)) if i != axis
            ):
                self.fail(f"cannot concatenate shapes {[i.shape for i in ins]} along axis {axis}")
            shape[axis] += info.shape[axis]
        dtypes = {info.dtype for info in ins}
        dtype = dtypes.pop() if len(dtypes) == 1 else DataType.parse("FLOAT32")
        return [(tuple(shape), dtype)]

    def execute(self, *values):
        return [np.concatenate(values, axis=self.axis)]


@dataclass(kw_only=True)
class Gather(Op):
    """ONNX ``Gather``: ``y = take(x, indices, axis)`` (negative indices count from the end)."""

    onnx_domain = ""
    axis: int = 0

    def infer(self, ins):
        data, indices = ins[0], ins[1]
        axis = self.axis % len(data.shape)
        _check_not_batch(self, ins, (axis,), "selects along")
        shape = data.shape[:axis] + indices.shape + data.shape[axis + 1 :]
        return [(tuple(shape), data.dtype)]

    def execute(self, x, indices):
        axis = self.axis % x.ndim
        return [np.take(x, np.where(indices < 0, indices + x.shape[axis], indices), axis=axis)]


@dataclass(kw_only=True)
class Slice(Op):
    """ONNX ``Slice`` with constant ``starts``, ``ends``, ``axes`` and ``steps``."""

    onnx_domain = "bnncc"
    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()
    axes: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()

    def _index(self, rank):
        index = [slice(None)] * rank
        axes = self.axes or tuple(range(len(self.starts)))
        steps = self.steps or (1,) * len(self.starts)
        for start, end, axis, step in zip(self.starts, self.ends, axes, steps):
            index[axis % rank] = slice(start, end, step)
        return tuple(index)

    def infer(self, ins):
        axes = self.axes or tuple(range(len(self.starts)))
        _check_not_batch(self, ins, axes, "slices")
        shape = np.zeros(ins[0].shape, dtype=np.int8)[self._index(len(ins[0].shape))].shape
        return [(shape, ins[0].dtype)]

    def execute(self, x):
        return [x[self._index(x.ndim)]]


@dataclass(kw_only=True)
class Shape(Op):
    """The shape of the input (batch dimension included, as 1) as an int64 vector."""

    onnx_domain = "bnncc"
    start: int = 0
    end: int | None = None

    def infer(self, ins):
        shape = ins[0].shape[self.start : self.end]
        return [((len(shape),), DataType.int(64))]

    def execute(self, x):
        return [np.array(x.shape[self.start : self.end], dtype=np.int64)]
