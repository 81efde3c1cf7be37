"""Operations that end a classifier: TopK, ArgMax, Softmax."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import FLOAT32, DataType
from bnncc.ir.op import Op, same_as_input

INDEX_TYPE = DataType.int(64)


def _check_axis(op: Op, ins, axis: int) -> int:
    rank = len(ins[0].shape)
    axis = axis % rank
    if axis == 0 and ins[0].batched:
        op.fail("works along the batch dimension (axis 0)")
    return axis


@dataclass(kw_only=True)
class TopK(Op):
    """The ``k`` largest (or smallest) values along ``axis`` and their indices; ties keep
    the lower index first, as ONNX specifies."""

    onnx_domain = "bnncc"
    k: int = 1
    axis: int = -1
    largest: bool = True

    def infer(self, ins):
        axis = _check_axis(self, ins, self.axis)
        if not 1 <= self.k <= ins[0].shape[axis]:
            self.fail(f"k={self.k} outside 1..{ins[0].shape[axis]}")
        shape = list(ins[0].shape)
        shape[axis] = self.k
        return [(tuple(shape), ins[0].dtype), (tuple(shape), INDEX_TYPE)]

    def execute(self, x):
        axis = self.axis % x.ndim
        key = -x if self.largest else x
        order = np.argsort(key, axis=axis, kind="stable")
        indices = np.take(order, np.arange(self.k), axis=axis)
        return [np.take_along_axis(x, indices, axis=axis), indices.astype(np.int64)]


@dataclass(kw_only=True)
class ArgMax(Op):
    """Index of the largest value along ``axis`` (first occurrence, or last with
    ``select_last_index``)."""

    onnx_domain = ""
    axis: int = 0
    keepdims: bool = True
    select_last_index: bool = False

    def infer(self, ins):
        axis = _check_axis(self, ins, self.axis)
        shape = list(ins[0].shape)
        if self.keepdims:
            shape[axis] = 1
        else:
            del shape[axis]
        return [(tuple(shape), INDEX_TYPE)]

    def execute(self, x):
        axis = self.axis % x.ndim
        if self.select_last_index:
            flipped = np.flip(x, axis=axis)
            index = x.shape[axis] - 1 - np.argmax(flipped, axis=axis)
        else:
            index = np.argmax(x, axis=axis)
        if self.keepdims:
            index = np.expand_dims(index, axis)
        return [index.astype(np.int64)]


@dataclass(kw_only=True)
class Softmax(Op):
    """``y = exp(x - max) / sum(exp(x - max))`` along ``axis``."""

    onnx_domain = ""
    axis: int = -1

    def infer(self, ins):
        _check_axis(self, ins, self.axis)
        return same_as_input(ins, FLOAT32)

    def execute(self, x):
        axis = self.axis % x.ndim
        shifted = x.astype(np.float64) - x.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        return [e / e.sum(axis=axis, keepdims=True)]
