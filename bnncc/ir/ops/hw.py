"""Hardware stages: operations that each become one streaming dataflow module.

Every hardware op computes exactly what the IR operations it replaces compute (its
``execute`` calls theirs), on integer NHWC streams, batch first. What it adds is the
hardware view: its own typed fields that backends read (matrix sizes, window geometry,
accumulator width) and the folding factors ``pe`` and ``simd`` that a later pass chooses.

* :class:`MVAU` -- matrix product (multiply-accumulate or XNOR-popcount) plus optional
  per-channel thresholds: ``MatMul``/``XnorPopcountMatMul`` (+ ``MultiThreshold``).
* :class:`Thresholding` -- per-channel thresholds alone: ``MultiThreshold``.
* :class:`SlidingWindow` -- NHWC im2col patches: ``Im2Col``.
* :class:`StreamingMaxPool` -- NHWC max pooling: ``MaxPoolNHWC``.
* :class:`StreamReshape` -- a new shape for the same NHWC stream: ``Reshape``/``Flatten``.
* :class:`LabelSelect` -- the k largest values' indices: ``TopK``/``ArgMax``.
* :class:`StreamAdd` -- ``a_mul * a + b_mul * b`` of two streams (a residual join): ``Add``.
* :class:`StreamConcat` -- N streams joined along channels: ``Concat``.
* :class:`StreamFork` -- one stream to several stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.errors import ShapeError
from bnncc.ir.graph import TensorInfo
from bnncc.ir.op import Quantizer, Op, value_bounds
from bnncc.ir.ops.classify import TopK
from bnncc.ir.ops.linear import MatMul, XnorPopcountMatMul
from bnncc.ir.ops.quant import MultiThreshold
from bnncc.ir.ops.shape import Reshape
from bnncc.ir.ops.window import Im2Col, MaxPoolNHWC


# -- shared checks and arithmetic ---------------------------------------------------------
def is_integral(value: np.ndarray) -> bool:
    """True if every element of ``value`` is a finite integer."""
    value = np.asarray(value)
    if value.dtype.kind in "iub":
        return True
    return bool(np.all(np.isfinite(value)) and np.all(value == np.round(value)))


def accumulator_range(x: TensorInfo, weights: np.ndarray, binary_xnor: bool) -> tuple[int, int]:
    """Smallest and largest accumulator value of ``x @ weights`` over every input ``x`` of
    its type.

    Multiply-accumulate: with ``x`` in ``[lo, hi]``, column ``m`` lies in
    ``[sum_k min(w[k,m]*lo, w[k,m]*hi), sum_k max(w[k,m]*lo, w[k,m]*hi)]`` (each term is
    linear in ``x[k]``, so its extremes are at the ends); the result spans all columns.
    XNOR-popcount: the count of agreeing positions, ``[0, MW]``. An empty matrix gives 0.
    """
    weights = np.asarray(weights)
    if binary_xnor:
        return 0, int(weights.shape[0])
    if weights.size == 0:
        return 0, 0
    lo, hi = (int(v) for v in value_bounds(x))
    w = np.rint(weights) if weights.dtype.kind == "f" else weights
    magnitude = float(np.abs(w).max()) * max(abs(lo), abs(hi)) * w.shape[0]
    w = w.astype(np.int64 if magnitude < 2.0**62 else object)
    low_terms, high_terms = np.minimum(w * lo, w * hi), np.maximum(w * lo, w * hi)
    return int(low_terms.sum(axis=0).min()), int(high_terms.sum(axis=0).max())


def accumulator_dtype(x: TensorInfo, weights: np.ndarray, binary_xnor: bool) -> DataType:
    """The narrowest integer type holding :func:`accumulator_range`."""
    return DataType.for_range(*accumulator_range(x, weights, binary_xnor))


@dataclass(kw_only=True)
class HWOp(Op):
    """Base of every hardware stage.

    ``pe`` (processing elements: output channels or matrix rows handled per cycle) and
    ``simd`` (input elements handled per cycle per PE) are the folding factors; 1 and 1 is
    the smallest, slowest stage. Each stage says which dimension each must divide
    (:meth:`folding_dims`); :meth:`check_folding` enforces it.
    """

    pe: int = 1
    simd: int = 1

    def folding_dims(self, ins: Sequence[TensorInfo]) -> tuple[int | None, int | None]:
        """(dimension PE must divide, dimension SIMD must divide); None: must be 1."""
        return None, None

    def check_folding(self, ins: Sequence[TensorInfo]) -> None:
        """Fail unless ``pe`` and ``simd`` divide the dimensions of :meth:`folding_dims`."""
        for label, factor, dim in zip(("PE", "SIMD"), (self.pe, self.simd), self.folding_dims(ins)):
            if not isinstance(factor, (int, np.integer)) or factor < 1:
                self.fail(f"{label}={factor} must be a positive integer")
            if dim is None and factor != 1:
                self.fail(f"{label}={factor}: this stage has no {label} parallelism (must be 1)")
            if dim is not None and dim % factor:
                self.fail(f"{label}={factor} does not divide {dim}")

    def require_integer_stream(self, info: TensorInfo, what: str = "input") -> None:
        """Fail unless ``info`` is a non-constant integer tensor (a hardware stream)."""
        if not info.dtype.is_integer:
            self.fail(f"{what} is {info.dtype}; hardware stages take integer streams")
        if info.value is not None:
            self.fail(f"{what} is a constant; hardware stages take streams")

    def require_constant(self, info: TensorInfo, what: str) -> np.ndarray:
        """The value of ``info``, failing unless it is a constant of finite integers."""
        if info.value is None:
            self.fail(f"{what} must be a constant (they are stored in the stage's memory)")
        if not is_integral(info.value):
            self.fail(f"{what} must be integers, found non-integer values")
        return info.value

    def check_thresholds(self, info: TensorInfo, channels: int, out_dtype: DataType) -> None:
        """Thresholds: constant integers of shape (channels or 1, S), S fitting ``out_dtype``
        (exactly 1 for BIPOLAR, at most ``max - min`` otherwise)."""
        self.require_constant(info, "thresholds")
        shape = info.shape
        if len(shape) != 2 or shape[0] not in (1, channels):
            self.fail(f"thresholds must have shape ({channels} or 1, S), got {shape}", ShapeError)
        steps = shape[1]
        if out_dtype == BIPOLAR and steps != 1:
            self.fail(f"a BIPOLAR output needs exactly 1 threshold per channel, got {steps}")
        if not out_dtype.is_integer:
            self.fail(f"out_dtype must be an integer type, got {out_dtype}")
        if out_dtype != BIPOLAR and steps > int(out_dtype.max) - int(out_dtype.min):
            self.fail(f"{steps} thresholds produce counts that do not fit {out_dtype}")


# -- matrix-vector-activation unit --------------------------------------------------------
#: DSP multipliers an MVAU can pack its products into (``MVAU.dsp``), by device family
#: name: Xilinx 7-series, Xilinx UltraScale(+), Lattice ECP5.
DSP_KINDS = ("dsp48e1", "dsp48e2", "mult18x18d")


@dataclass(kw_only=True)
class MVAU(Quantizer, HWOp):
    """Matrix-vector-activation unit: an MH x MW matrix times a stream of MW-vectors, then
    optional per-channel thresholds.

    Inputs ``x`` (N, ..., MW) integer, ``weights`` (MW, MH) integer constant (stored as
    ``MatMul`` stores it; hardware row ``m`` is column ``m``), optional ``thresholds``
    (MH or 1, S) integer constant. The accumulator is

    * ``acc[..., m] = sum_k x[..., k] * W[k, m]`` (multiply-accumulate), or
    * with ``binary_xnor`` (``x`` and ``W`` BIPOLAR): ``acc[..., m] = #{k : x[..., k] ==
      W[k, m]}``, the XNOR-popcount, so that ``x @ W = 2 * acc - MW``.

    With thresholds the output is ``code(sum_i [acc[..., m] >= T[m, i]])`` with the codes of
    ``MultiThreshold.code_from_count`` for ``out_dtype``; without, it is ``acc`` and
    ``out_dtype == acc_dtype``. ``acc_dtype`` holds every accumulator value
    (:func:`accumulator_range`).

    Threshold classes: with a ``class_map`` (one class per input vector of a frame, the
    vectors of a frame being the ``x[n, ...]`` rows in row-major order), the thresholds have
    shape (N_CLASSES, MH or 1, S) and vector ``v`` of every frame is thresholded with
    ``T[class_map[v]]`` (the border classes of a zero-padded bipolar convolution,
    :mod:`bnncc.passes.binary_padding`).
    """

    mw: int
    mh: int
    acc_dtype: DataType
    out_dtype: DataType
    binary_xnor: bool = False
    class_map: tuple[int, ...] = ()
    #: the products on DSP multipliers of this kind (:data:`DSP_KINDS`), several narrow ones
    #: per multiplier; "" computes them in LUTs and carry chains. No effect on the values.
    dsp: str = ""
    #: LUT levels (6-input LUTs, as Yosys maps for xc7) the dot products may take between
    #: two registers; 0: the builder's default (:data:`bnncc.hw.timing.MAX_LEVELS`). Set from
    #: the clock and the device family (:mod:`bnncc.passes.pipeline_depth`). No effect on the values.
    max_levels: int = 0
    #: adder-tree levels the dot products may take between two registers (an adder of the
    #: tree is a carry chain: on ECP5 it takes about two LUT levels' time); 0: as many as
    #: ``max_levels`` allows. Set for XNOR-popcounts from the budget's chain levels. No
    #: effect on the values.
    max_tree_levels: int = 0
    #: the weight and input words registered once more after their memories (a block RAM's
    #: output register) ahead of the dot products. No effect on the values.
    register_reads: bool = False

    @property
    def n_classes(self) -> int:
        """Threshold classes (1 without a class map)."""
        return max(self.class_map) + 1 if self.class_map else 1

    @property
    def has_thresholds(self) -> bool:
        return len(self.inputs) > 2 and bool(self.inputs[2])

    def product_op(self) -> Op:
        """The IR product this unit computes first."""
        cls = XnorPopcountMatMul if self.binary_xnor else MatMul
        return cls(name=self.name, inputs=list(self.inputs[:2]), outputs=[])

    def threshold_op(self) -> MultiThreshold:
        """The IR thresholding applied to the accumulator."""
        return MultiThreshold(name=self.name, out_dtype=self.out_dtype, channel_axis=-1)

    def folding_dims(self, ins):
        return self.mh, self.mw

    def infer(self, ins):
        x, weights = ins[0], ins[1]
        self.require_integer_stream(x)
        w = self.require_constant(weights, "weights")
        if weights.shape != (self.mw, self.mh):
            self.fail(f"weights have shape {weights.shape}, expected (MW, MH) = ({self.mw}, {self.mh})", ShapeError)
        if not x.shape or x.shape[-1] != self.mw:
            self.fail(f"input {x.shape} does not end in MW = {self.mw}", ShapeError)
        if self.binary_xnor and (x.dtype != BIPOLAR or not np.all(np.abs(w) == 1)):
            self.fail(f"XNOR-popcount needs BIPOLAR input and +-1 weights, got {x.dtype} input")
        low, high = accumulator_range(x, w, self.binary_xnor)
        if not self.acc_dtype.is_integer or low < self.acc_dtype.min or high > self.acc_dtype.max:
            self.fail(f"acc_dtype {self.acc_dtype} cannot hold accumulator values {low}..{high}")
        if self.class_map:
            self._check_classes(x, ins[2] if self.has_thresholds else None)
        elif self.has_thresholds:
            self.check_thresholds(ins[2], self.mh, self.out_dtype)
        elif self.out_dtype != self.acc_dtype:
            self.fail(
                f"without thresholds the output is the accumulator, "
                f"but out_dtype {self.out_dtype} != acc_dtype {self.acc_dtype}"
            )
        self.check_folding(ins)
        return [(tuple(x.shape[:-1]) + (self.mh,), self.out_dtype)]

    def _check_classes(self, x: TensorInfo, thresholds: TensorInfo | None) -> None:
        if thresholds is None:
            self.fail("a class map needs thresholds (one set per class)")
        vectors = int(np.prod(x.shape[1:-1], dtype=np.int64))
        if len(self.class_map) != vectors or min(self.class_map) < 0:
            self.fail(f"class_map has {len(self.class_map)} entries, expected one class >= 0 per vector "
                      f"of a frame ({vectors})", ShapeError)
        shape = thresholds.shape
        if len(shape) != 3 or shape[0] != self.n_classes:
            self.fail(f"thresholds with classes must have shape ({self.n_classes}, {self.mh} or 1, S), got {shape}",
                      ShapeError)
        self.check_thresholds(TensorInfo(shape[1:], thresholds.dtype, value=thresholds.value[0]), self.mh,
                              self.out_dtype)

    def _by_class(self, acc, thresholds, method):
        """``method`` of the thresholding applied to each vector with its class's thresholds."""
        if not self.class_map:
            return method(acc, thresholds)
        classes = np.asarray(self.class_map)
        flat = acc.reshape(acc.shape[0], len(classes), acc.shape[-1])
        out = None
        for c in range(thresholds.shape[0]):
            rows = classes == c
            if not rows.any():
                continue
            (part,) = method(flat[:, rows], thresholds[c])
            if out is None:
                out = np.zeros(flat.shape, dtype=part.dtype)
            out[:, rows] = part
        return [out.reshape(acc.shape)]

    def execute(self, x, weights, thresholds=None):
        (acc,) = self.product_op().execute(x, weights)
        if thresholds is None:
            return [acc]
        return self._by_class(acc, thresholds, self.threshold_op().execute)

    def boundary_distance(self, x, weights, thresholds=None):
        """Distance of each accumulator from its channel's nearest threshold (infinite
        without thresholds: an accumulator is never a rounding tie)."""
        (acc,) = self.product_op().execute(x, weights)
        if thresholds is None:
            return np.full(acc.shape, np.inf)
        if not self.class_map:
            return self.threshold_op().boundary_distance(acc, thresholds)
        (out,) = self._by_class(acc, thresholds, lambda a, t: [self.threshold_op().boundary_distance(a, t)])
        return out


# -- thresholding -------------------------------------------------------------------------
@dataclass(kw_only=True)
class Thresholding(Quantizer, HWOp):
    """Per-channel multi-thresholding of an integer stream, channels last:
    ``y[..., c] = code(sum_i [x[..., c] >= T[c, i]])`` (``T`` of shape (C or 1, S), codes as
    ``MultiThreshold.code_from_count`` for ``out_dtype``)."""

    channels: int
    out_dtype: DataType

    def reference_op(self) -> MultiThreshold:
        return MultiThreshold(name=self.name, out_dtype=self.out_dtype, channel_axis=-1)

    def folding_dims(self, ins):
        return self.channels, None

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        if len(x.shape) < 2 or x.shape[-1] != self.channels:
            self.fail(f"input {x.shape} does not end in {self.channels} channels", ShapeError)
        self.check_thresholds(ins[1], self.channels, self.out_dtype)
        self.check_folding(ins)
        return [(tuple(x.shape), self.out_dtype)]

    def execute(self, x, thresholds):
        return self.reference_op().execute(x, thresholds)

    def boundary_distance(self, x, thresholds):
        return self.reference_op().boundary_distance(x, thresholds)


# -- sliding windows ----------------------------------------------------------------------
@dataclass(kw_only=True)
class _WindowStage(HWOp):
    """Shared geometry checks of the windowed stages (NHWC in, NHWC out)."""

    ifm_channels: int
    ifm_dims: tuple[int, int]
    ofm_dims: tuple[int, int]

    def reference_op(self) -> Op:
        raise NotImplementedError

    def folding_dims(self, ins):
        return None, self.ifm_channels

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        if len(x.shape) != 4 or tuple(x.shape[1:]) != (*self.ifm_dims, self.ifm_channels):
            self.fail(f"input {x.shape} is not (N, {self.ifm_dims[0]}, {self.ifm_dims[1]}, {self.ifm_channels})", ShapeError)
        specs = self.reference_op().infer(ins)
        out_shape = specs[0][0]
        if tuple(out_shape[1:3]) != tuple(self.ofm_dims):
            self.fail(f"output is {out_shape[1:3]} pixels but ofm_dims says {tuple(self.ofm_dims)}", ShapeError)
        self.check_folding(ins)
        return specs

    def execute(self, x):
        return self.reference_op().execute(x)


@dataclass(kw_only=True)
class SlidingWindow(_WindowStage):
    """Sliding-window generator: NHWC patches exactly as ``Im2Col``,
    ``y[n, i, j, (u*KW + v)*C + c] = x_pad[n, i*sh + u*dh, j*sw + v*dw, c]`` with ``x_pad``
    surrounded by ``pads`` (top, left, bottom, right) of ``pad_value``. ``ifm_dims`` =
    (H, W), ``ofm_dims`` = (OH, OW), ``ifm_channels`` = C; SIMD channels per beat."""

    kernel_shape: tuple[int, int] = (1, 1)
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    pad_value: float | np.ndarray = 0
    #: the line buffer's read data registered once more (a block RAM's output register):
    #: ahead of the output queue, one cycle of latency more (serial mode), or read a cycle
    #: ahead, same timing (parallel mode). No effect on the values.
    register_reads: bool = False

    def reference_op(self) -> Im2Col:
        return Im2Col(
            name=self.name, kernel_shape=self.kernel_shape, strides=self.strides, pads=self.pads,
            dilations=self.dilations, pad_value=self.pad_value,
        )

    def check_folding(self, ins):
        """SIMD divides C, or is M*C with M > 1 dividing K_H*K_W (M kernel positions per beat)."""
        c, kk = self.ifm_channels, self.kernel_shape[0] * self.kernel_shape[1]
        simd = self.simd
        if isinstance(simd, (int, np.integer)) and simd > c > 0 and simd % c == 0 and kk % (simd // c) == 0:
            return self.clone(simd=c).check_folding(ins)
        super().check_folding(ins)


@dataclass(kw_only=True)
class StreamingMaxPool(_WindowStage):
    """Streaming max pooling, exactly as ``MaxPoolNHWC``:
    ``y[n, i, j, c] = max_{u, v} x_pad[n, i*sh + u*dh, j*sw + v*dw, c]`` (padding never
    wins; with ``ceil_mode`` the last partial window counts). ``ifm_dims`` = (H, W),
    ``ofm_dims`` = (OH, OW), ``ifm_channels`` = C; PE channels per beat."""

    kernel_shape: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (2, 2)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    def reference_op(self) -> MaxPoolNHWC:
        return MaxPoolNHWC(
            name=self.name, kernel_shape=self.kernel_shape, strides=self.strides, pads=self.pads,
            dilations=self.dilations, ceil_mode=self.ceil_mode,
        )

    def folding_dims(self, ins):
        return self.ifm_channels, None


# -- stream plumbing and classification ---------------------------------------------------
@dataclass(kw_only=True)
class StreamReshape(HWOp):
    """A new shape for the same stream: ``y = x.reshape((N,) + shape[1:])``. Elements keep
    their row-major (NHWC) order, so the stream of beats is unchanged and the stage costs
    nothing in hardware (a backend wires it through)."""

    shape: tuple[int, ...] = ()

    def reference_op(self) -> Reshape:
        return Reshape(name=self.name, shape=tuple(self.shape))

    def infer(self, ins):
        self.require_integer_stream(ins[0])
        self.check_folding(ins)
        return self.reference_op().infer(ins)

    def execute(self, x):
        return self.reference_op().execute(x)


@dataclass(kw_only=True)
class LabelSelect(HWOp):
    """Indices of the ``k`` largest values along the last axis of an integer (N, ..., C)
    stream, largest first; among equal values the lower index comes first (as ONNX TopK
    and ArgMax). Outputs: ``indices`` (N, ..., k) and, if a second output is named, the
    ``values`` (N, ..., k). With ``keepdims`` false (ArgMax's, only for k = 1) the last
    axis is dropped. Indices are typed as the narrowest type holding 0..C-1."""

    k: int = 1
    keepdims: bool = True

    def reference_op(self) -> TopK:
        return TopK(name=self.name, k=self.k, axis=-1, largest=True)

    def folding_dims(self, ins):
        return ins[0].shape[-1], None

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        if len(x.shape) < 2:
            self.fail(f"input {x.shape} has no class axis after the batch dimension", ShapeError)
        channels = x.shape[-1]
        if not 1 <= self.k <= channels:
            self.fail(f"k={self.k} outside 1..{channels}")
        if not self.keepdims and self.k != 1:
            self.fail(f"keepdims=False drops the class axis, which needs k=1, got k={self.k}")
        self.check_folding(ins)
        shape = tuple(x.shape[:-1]) + ((self.k,) if self.keepdims else ())
        return [(shape, DataType.for_range(0, channels - 1)), (shape, x.dtype)]

    def execute(self, x):
        values, indices = self.reference_op().execute(x)
        if not self.keepdims:
            values, indices = values[..., 0], indices[..., 0]
        return [indices, values]


# -- forks and joins ----------------------------------------------------------------------
def stream_field(values: np.ndarray, dtype: DataType) -> np.ndarray:
    """The value a stream's element field holds: the bit ``(v + 1) / 2`` of a BIPOLAR value
    ``v`` (1 = +1, 0 = -1), the integer itself for every other integer type."""
    return (values + 1) // 2 if dtype == BIPOLAR else values


def field_range(dtype: DataType) -> tuple[int, int]:
    """Smallest and largest element field of ``dtype`` (0..1 for BIPOLAR)."""
    return (0, 1) if dtype == BIPOLAR else (int(dtype.min), int(dtype.max))


def field_format(dtype: DataType) -> tuple[int, bool]:
    """(bits, signed) of the element field a stream of ``dtype`` carries: one unsigned bit
    for BIPOLAR (although its values are signed), the type's own for the others."""
    low, _ = field_range(dtype)
    return int(dtype.bits), low < 0


def signed_for_range(low: int, high: int) -> DataType:
    """The narrowest signed INT(n) holding ``low..high``."""
    bits = 1
    while -(1 << (bits - 1)) > low or (1 << (bits - 1)) - 1 < high:
        bits += 1
    return DataType.int(bits)


@dataclass(kw_only=True)
class StreamAdd(HWOp):
    """Element-wise weighted sum of two integer streams of one shape (NHWC, channels last):
    ``y = a_mul * field(a) + b_mul * field(b)`` with ``field`` the element field the stream
    carries (:func:`stream_field`: the integer itself, or for BIPOLAR the bit ``(v + 1) / 2``).
    This is what ``stream_add`` computes (``A_MUL``, ``B_MUL`` are ``a_mul``, ``b_mul``).

    A bipolar operand ``v = 2 * bit - 1`` enters as ``m * v = 2m * bit - m``: the pass that
    builds the stage doubles its multiplier and shifts the thresholds that read the sum by
    ``m`` (``to_hw``), so the stage itself never adds a constant. ``a_dtype``/``b_dtype``
    must be the input types; ``out_dtype`` is the narrowest signed INT holding every result
    (the RTL's output is signed). ``pe`` elements per beat; it divides ``channels``.
    """

    channels: int
    a_dtype: DataType
    b_dtype: DataType
    out_dtype: DataType
    a_mul: int = 1
    b_mul: int = 1

    def rtl_parameters(self) -> dict[str, int]:
        """The parameters of ``stream_add`` this stage needs: SIMD, A_BITS, A_SIGNED, A_MUL,
        B_BITS, B_SIGNED, B_MUL, OUT_BITS (a BIPOLAR operand is one unsigned bit)."""
        (a_bits, a_signed), (b_bits, b_signed) = field_format(self.a_dtype), field_format(self.b_dtype)
        return {"SIMD": int(self.pe), "A_BITS": a_bits, "A_SIGNED": int(a_signed), "A_MUL": int(self.a_mul),
                "B_BITS": b_bits, "B_SIGNED": int(b_signed), "B_MUL": int(self.b_mul), "OUT_BITS": int(self.out_dtype.bits)}

    def result_range(self) -> tuple[int, int]:
        """Smallest and largest ``a_mul * field(a) + b_mul * field(b)``."""
        ends = []
        for dtype, mul in ((self.a_dtype, self.a_mul), (self.b_dtype, self.b_mul)):
            low, high = field_range(dtype)
            ends.append(sorted((mul * low, mul * high)))
        return ends[0][0] + ends[1][0], ends[0][1] + ends[1][1]

    def folding_dims(self, ins):
        return self.channels, None

    def infer(self, ins):
        a, b = ins[0], ins[1]
        self.require_integer_stream(a, "input a")
        self.require_integer_stream(b, "input b")
        if tuple(a.shape) != tuple(b.shape):
            self.fail(f"inputs have shapes {a.shape} and {b.shape}; both streams must have one shape", ShapeError)
        if len(a.shape) < 2 or a.shape[-1] != self.channels:
            self.fail(f"input {a.shape} does not end in {self.channels} channels", ShapeError)
        if (a.dtype, b.dtype) != (self.a_dtype, self.b_dtype):
            self.fail(f"inputs are {a.dtype} and {b.dtype}, the stage is built for {self.a_dtype} and {self.b_dtype}")
        for label, mul in (("a_mul", self.a_mul), ("b_mul", self.b_mul)):
            if not isinstance(mul, (int, np.integer)) or mul == 0:
                self.fail(f"{label}={mul} must be a non-zero integer")
        wanted = signed_for_range(*self.result_range())
        if self.out_dtype != wanted:
            self.fail(f"out_dtype {self.out_dtype} is not {wanted}, the narrowest INT holding {self.result_range()}")
        self.check_folding(ins)
        return [(tuple(a.shape), self.out_dtype)]

    def execute(self, a, b):
        return [self.a_mul * stream_field(a, self.a_dtype) + self.b_mul * stream_field(b, self.b_dtype)]


@dataclass(kw_only=True)
class StreamConcat(HWOp):
    """Concatenation of N integer streams along the last (channel) axis:
    ``y[..., C_0 + ... + C_{k-1} + c] = x_k[..., c]`` for inputs of shapes (..., C_k) equal
    but for the channels. ``channels`` = (C_0, ..., C_{N-1}). Every input has one element
    type, ``dtype`` (``stream_concat`` has one element width, BITS); BIPOLAR streams join
    only BIPOLAR streams. ``pe`` elements per beat (the RTL's SIMD) divides every C_k."""

    channels: tuple[int, ...]
    dtype: DataType

    def folding_dims(self, ins):
        return int(np.gcd.reduce([int(c) for c in self.channels])), None

    def infer(self, ins):
        if len(ins) != len(self.channels) or len(ins) < 2:
            self.fail(f"{len(ins)} inputs for {len(self.channels)} channel counts; a concat joins at least 2 streams")
        first = ins[0]
        for index, (info, count) in enumerate(zip(ins, self.channels)):
            self.require_integer_stream(info, f"input {index}")
            if len(info.shape) < 2 or tuple(info.shape[:-1]) != tuple(first.shape[:-1]) or info.shape[-1] != count:
                self.fail(f"input {index} has shape {info.shape}, expected {tuple(first.shape[:-1]) + (count,)}", ShapeError)
            if info.dtype != self.dtype:
                self.fail(f"input {index} is {info.dtype}; every input of the stage is {self.dtype}")
        self.check_folding(ins)
        return [(tuple(first.shape[:-1]) + (int(sum(self.channels)),), self.dtype)]

    def rtl_parameters(self, pixels: int) -> dict[str, int]:
        """The parameters of ``stream_concat`` for frames of ``pixels`` pixels: N_IN, BITS,
        SIMD, PIXELS and CHANNELS (C_k in bits [16k +: 16])."""
        packed = sum(int(c) << (16 * k) for k, c in enumerate(self.channels))
        return {"N_IN": len(self.channels), "BITS": field_format(self.dtype)[0], "SIMD": int(self.pe),
                "PIXELS": int(pixels), "CHANNELS": packed}

    def execute(self, *values):
        return [np.concatenate(values, axis=-1)]


@dataclass(kw_only=True)
class StreamFork(HWOp):
    """One integer stream to ``n_out`` identical streams: ``y_k = x`` for k < n_out (the
    RTL's ``stream_fork``, N_OUT = n_out). ``pe`` elements per beat divides ``channels``,
    the last axis."""

    channels: int
    n_out: int = 2

    def folding_dims(self, ins):
        return self.channels, None

    def infer(self, ins):
        x = ins[0]
        self.require_integer_stream(x)
        if self.n_out < 2:
            self.fail(f"n_out={self.n_out}; a fork has at least 2 outputs")
        if len(x.shape) < 2 or x.shape[-1] != self.channels:
            self.fail(f"input {x.shape} does not end in {self.channels} channels", ShapeError)
        self.check_folding(ins)
        return [(tuple(x.shape), x.dtype)] * self.n_out

    def rtl_parameters(self, bits: int) -> dict[str, int]:
        """The parameters of ``stream_fork`` for ``bits``-bit elements: WIDTH (``pe``
        elements per beat) and N_OUT."""
        return {"WIDTH": int(self.pe) * int(bits), "N_OUT": int(self.n_out)}

    def execute(self, x):
        return [x] * self.n_out
