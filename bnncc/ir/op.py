"""Base classes of IR operations.

An operation is a dataclass with typed fields. It knows its own shape and type rule
(:meth:`Op.infer`), how to run on numpy arrays (:meth:`Op.execute`), and which of its fields
are written as attributes when the IR is exported to ONNX.

Values passed to :meth:`Op.execute` are stored as the executor stores them: int64 for tensors
of an integer :class:`~bnncc.datatype.DataType`, float64 otherwise. Non-constant tensors have
the batch dimension first, and every operation must work for any batch size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np

from bnncc.datatype import FLOAT32, DataType
from bnncc.errors import UnsupportedModelError
from bnncc.ir.graph import TensorInfo

#: (shape, element type) of one output, as returned by :meth:`Op.infer`.
OutputSpec = tuple[tuple[int, ...], DataType]


@dataclass(kw_only=True)
class Op:
    """One operation: ``name`` (unique in its graph), ordered input and output tensor names."""

    name: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    #: ONNX domain used when the IR is written back to ONNX ("" for standard ONNX ops).
    onnx_domain: ClassVar[str] = "bnncc"

    @property
    def op_type(self) -> str:
        return type(self).__name__

    def infer(self, ins: Sequence[TensorInfo]) -> list[OutputSpec]:
        """Shapes and element types of the outputs, given the inputs' metadata.

        Raises :class:`~bnncc.errors.BnnccError` naming this node when the inputs do not fit.
        """
        raise NotImplementedError

    def execute(self, *values: np.ndarray) -> list[np.ndarray]:
        """Compute the outputs from input arrays (batch first for activations)."""
        raise NotImplementedError

    def attributes(self) -> dict:
        """The typed fields of this op, for export to ONNX (everything but name and tensors)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("name", "inputs", "outputs")
        }

    def clone(self, **changes) -> "Op":
        """A copy with fresh tensor lists and the given fields changed."""
        changes.setdefault("inputs", list(self.inputs))
        changes.setdefault("outputs", list(self.outputs))
        return dataclasses.replace(self, **changes)

    def fail(self, message: str, error=UnsupportedModelError) -> None:
        """Raise ``error`` with a message that names this node."""
        raise error(f"node '{self.name}' ({self.op_type}): {message}")


class Quantizer:
    """Mixin for operations that turn real values into integer codes at decision boundaries.

    Verification uses :meth:`boundary_distance` to tell rounding ties from real mismatches.
    """

    def boundary_distance(self, *values: np.ndarray) -> np.ndarray:
        """For each element of output 0, the distance (in code units of the decision variable)
        from the nearest decision boundary."""
        raise NotImplementedError


def same_as_input(ins: Sequence[TensorInfo], dtype: DataType | None = None) -> list[OutputSpec]:
    """Output 0 has the shape of input 0 and ``dtype`` (default: input 0's type)."""
    return [(ins[0].shape, dtype or ins[0].dtype)]


def float_or_integer(ins: Sequence[TensorInfo], low_high=None) -> DataType:
    """FLOAT32 unless every input is an integer tensor and ``low_high()`` bounds the result."""
    if low_high is not None and all(info.dtype.is_integer for info in ins):
        low, high = low_high()
        return DataType.for_range(low, high)
    return FLOAT32


def value_bounds(info: TensorInfo) -> tuple[float, float]:
    """Smallest and largest value a tensor can hold (its constant's, else its type's)."""
    if info.value is not None and info.value.size:
        return float(info.value.min()), float(info.value.max())
    return float(info.dtype.min), float(info.dtype.max)


def broadcast_shape(op: Op, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """Numpy broadcast of ``shapes``; a clear error naming ``op`` if they do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        op.fail(f"input shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast")


def exact_matmul(a: np.ndarray, b: np.ndarray, a_bound: float | None = None) -> np.ndarray:
    """``a @ b``; exact for integer operands.

    Integer products go through BLAS in the narrowest float type whose mantissa holds every
    partial sum exactly: float32 while ``max|a| * max|b| * K < 2**24``, float64 below 2**53,
    int64 beyond. ``a_bound`` (an upper bound of ``|a|``) saves scanning a large ``a``.
    Real operands are multiplied in float64. A stack of vectors times one matrix is
    computed as a single 2-D product (numpy's stacked matmul does not reach BLAS).
    """
    if b.ndim == 2 and a.ndim > 2:
        flat = exact_matmul(a.reshape(-1, a.shape[-1]), b, a_bound)
        return flat.reshape(a.shape[:-1] + (b.shape[1],))
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        a_max = float(np.abs(a).max(initial=0)) if a_bound is None else float(a_bound)
        bound = a_max * float(np.abs(b).max(initial=0)) * a.shape[-1]
        if bound >= 2.0**53:
            return np.matmul(a, b)
        dtype = np.float32 if bound < 2.0**24 else np.float64
        product = np.matmul(a.astype(dtype, copy=False), b.astype(dtype, copy=False))
        return np.rint(product).astype(np.int64)
    return np.matmul(a.astype(np.float64, copy=False), b.astype(np.float64, copy=False))
