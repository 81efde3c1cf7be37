"""Rewrite QONNX/FINN quantization ops into standard ONNX ops that onnxruntime can run.

Every rewritten quantizer keeps its real output ``y`` under its original name and also exposes
its integer code (a float tensor holding integers) as an extra graph output named
``naming.code_tensor_name(y)``, the name the importer gives the same code in the IR. The
arithmetic is that of :mod:`bnncc.quant_math`. With ``v = x / scale + zero_point`` (``Div``
then ``Add``, in the input's float type, as QONNX computes it in numpy):

* ``Quant``/``IntQuant``: ``code = round_mode(clip(v, low, high))`` with ``[low, high] =
  quant_math.int_range(bits, signed, narrow)``, ``y = (code - zero_point) * scale``. A 1-bit
  signed ``Quant`` is bipolar: ``code = +1 if v >= 0 else -1``.
* ``BipolarQuant``: ``code = +1 if x / scale >= 0 else -1`` (zero maps to +1, unlike
  ``Sign``), ``y = code * scale``.
* ``Trunc``: ``code = round_mode(clip(round(v) / shift, low, high))`` with ``[low, high]`` the
  range of the output bit width and ``shift`` a constant power of two.
  Version 1 (5 inputs ``x, scale, zeropt, in_bits, out_bits``): ``shift = 2**(in_bits -
  out_bits)``, ``y = (code - zero_point) * scale``.
  Version 2 (7 inputs ``x, scale, zeropt, in_bits, out_scale, out_zeropt, out_bits``) and
  Brevitas 0.13's export (6 inputs, the same without ``out_zeropt``):
  ``shift = 2**round(log2(out_scale / scale))``, ``y = (code - zero_point / shift) *
  out_scale``; like QONNX, the ``out_zeropt`` input is not used.
* ``MultiThreshold``: ``count = sum_i [x >= T[c, i]]`` with ``c`` the index along the channel
  axis; ``y = out_scale * count + out_bias`` (computed in float64 and rounded once to the
  input's type, as QONNX's numpy code does); the code is ``count`` mapped into ``out_dtype``
  like ``MultiThreshold.code_from_count`` of the IR: ``2 * count - 1`` (BIPOLAR),
  ``count + min`` (INT(n)), ``count`` otherwise.

Rounding modes are built from exact float operations only: ``UP = sign(v) * ceil(|v|)``,
``DOWN = sign(v) * floor(|v|)``, and ``HALF_UP``/``HALF_DOWN = sign(v) * (floor(|v|) +
[frac >= 1/2])`` / ``[frac > 1/2]`` with ``frac = |v| - floor(|v|)``, which is exact (Sterbenz),
unlike ``floor(|v| + 0.5)`` that rounds in float32 once |v| >= 2**23.

Opset: the emitted ops need default-domain opset >= 13 (``ReduceSum`` with an ``axes`` input,
``GreaterOrEqual``). A model with a lower opset is first converted with onnx's version
converter, which adapts each node whose meaning changed between the versions (``Softmax``,
``Split``, ``Squeeze``, ``ReduceSum`` ...); if the converter fails the model is rejected.
qonnx's channels-last Conv/MaxPool/BatchNormalization become Transpose + standard op + Transpose
first (:mod:`bnncc.reference.channels_last`). Custom ops in other domains, or in subgraphs of
control-flow nodes, are left unchanged for the importer to reject.
"""

from __future__ import annotations

import functools
from typing import Callable, NoReturn

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bnncc import quant_math
from bnncc.datatype import DataType
from bnncc.errors import UnsupportedModelError
from bnncc.frontend.domains import QUANT_DOMAINS, STANDARD_DOMAINS
from bnncc.frontend.load import all_nodes
from bnncc.naming import code_tensor_name
from bnncc.reference.channels_last import rewrite_channels_last

#: Domains under which Brevitas, QONNX and FINN write the same quantization ops.
CUSTOM_DOMAINS = QUANT_DOMAINS

#: Spellings of the standard ONNX domain.
DEFAULT_DOMAINS = STANDARD_DOMAINS

#: Lowest default-domain opset of the ops this rewrite emits.
MIN_OPSET = 13

#: Highest IR version written (onnxruntime 1.31 refuses IR versions above 13; onnx 1.23 writes 14).
MAX_IR_VERSION = 10

#: ``data_layout`` values of ``MultiThreshold``.
MULTITHRESHOLD_LAYOUTS = frozenset({"NCHW", "NHWC"})


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------
def rewrite_custom_ops(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Return a copy of ``model`` whose QONNX/FINN quantizers are standard ONNX ops, and the
    names of the code tensors it added as graph outputs (in node order).

    ``model`` itself is not modified. The copy's IR version is ``min(model.ir_version, 10)``
    (raised to what its opsets need, if that is more).
    """
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    codes: list[str] = []
    changed = rewrite_channels_last(rewritten.graph, _all_names(rewritten.graph))
    if any(_handler_for(node) is not None for node in rewritten.graph.node):
        rewritten = _ensure_opset(rewritten)
        codes = _rewrite_graph(rewritten)
        changed = True
    if changed:
        _prune_opset_imports(rewritten)
    rewritten.ir_version = _ir_version(rewritten, model.ir_version)
    return rewritten, codes


def _rewrite_graph(model: onnx.ModelProto) -> list[str]:
    """Replace, in place and in node order, every recognized quantizer of the main graph."""
    graph = model.graph
    types = _TypeTable(model)
    constants = _constant_values(graph)
    names = _NameSource(_all_names(graph))
    new_nodes: list[onnx.NodeProto] = []
    codes: list[str] = []
    parameters: set[str] = set()
    for node in graph.node:
        handler = _handler_for(node)
        if handler is None:
            new_nodes.append(node)
            continue
        emitter = _Emitter(node, types, constants, names)
        handler(emitter)
        code_name, code_dtype = emitter.code
        new_nodes.extend(emitter.nodes)
        graph.initializer.extend(emitter.initializers)
        output = helper.make_tensor_value_info(code_name, helper.np_dtype_to_tensor_dtype(code_dtype), None)
        shape = types.shape(node.input[0])  # a code has its input's shape
        if shape is not None:
            output.type.tensor_type.shape.CopyFrom(shape)
        graph.output.append(output)
        codes.append(code_name)
        parameters.update(name for name in node.input[1:] if name)
    del graph.node[:]
    graph.node.extend(new_nodes)
    _prune_unused(graph, parameters)
    return codes


# ---------------------------------------------------------------------------------------------
# opset and IR version
# ---------------------------------------------------------------------------------------------
def _default_opset(model: onnx.ModelProto) -> int | None:
    """Version of the default-domain opset import, or None if there is none."""
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    return max(versions) if versions else None


def _ensure_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """Make the default-domain opset at least :data:`MIN_OPSET`.

    A model without a default-domain import gets one; a lower opset is converted with
    ``onnx.version_converter`` (custom-domain nodes pass through it untouched).
    """
    version = _default_opset(model)
    if version is None:
        model.opset_import.append(helper.make_opsetid("", MIN_OPSET))
        return model
    if version >= MIN_OPSET:
        return model
    try:
        converted = onnx.version_converter.convert_version(model, MIN_OPSET)
    except Exception as exc:  # the converter raises several unrelated types
        detail = " ".join(str(exc).split())
        raise UnsupportedModelError(
            f"model uses ONNX opset {version}; the onnxruntime reference needs opset >= {MIN_OPSET} "
            f"and onnx's version converter could not convert it: {detail}"
        ) from exc
    return converted


def _ir_version(model: onnx.ModelProto, original: int) -> int:
    """``min(original, MAX_IR_VERSION)``, raised to the lowest IR version the opsets allow."""
    needed = helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    return max(min(original, MAX_IR_VERSION), needed)


def _prune_opset_imports(model: onnx.ModelProto) -> None:
    """Drop imports of non-default domains that no node or function uses any more."""
    used = {node.domain for node in all_nodes(model.graph)}
    for function in model.functions:
        used.add(function.domain)
        used.update(node.domain for node in function.node)
    kept = [o for o in model.opset_import if o.domain in DEFAULT_DOMAINS or o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)


# ---------------------------------------------------------------------------------------------
# graph helpers
# ---------------------------------------------------------------------------------------------
def _all_names(graph: onnx.GraphProto) -> set[str]:
    """Every node and tensor name used anywhere in ``graph`` (subgraphs included)."""
    names = {i.name for i in graph.initializer}
    names.update(v.name for v in (*graph.input, *graph.output, *graph.value_info))
    for node in all_nodes(graph):
        names.add(node.name)
        names.update(node.input)
        names.update(node.output)
    names.discard("")
    return names


def _constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Values of initializers and of ``Constant`` node outputs in the main graph."""
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in DEFAULT_DOMAINS and node.attribute:
            value = _constant_node_value(node.attribute[0])
            if value is not None:
                values[node.output[0]] = value
    return values


def _constant_node_value(attribute: onnx.AttributeProto) -> np.ndarray | None:
    """The value of a ``Constant`` node given its (single) attribute; None for sparse values."""
    readers = {
        "value": lambda a: numpy_helper.to_array(a.t),
        "value_float": lambda a: np.asarray(a.f, dtype=np.float32),
        "value_floats": lambda a: np.asarray(a.floats, dtype=np.float32),
        "value_int": lambda a: np.asarray(a.i, dtype=np.int64),
        "value_ints": lambda a: np.asarray(a.ints, dtype=np.int64),
    }
    reader = readers.get(attribute.name)
    return None if reader is None else reader(attribute)


def _prune_unused(graph: onnx.GraphProto, candidates: set[str]) -> None:
    """Remove those ``candidates`` (constant parameters of replaced nodes) nothing uses now."""
    used = {name for node in all_nodes(graph) for name in node.input}
    used.update(o.name for o in graph.output)
    unused = candidates - used
    if not unused:
        return
    initializer_names = {i.name for i in graph.initializer}
    kept_inits = [i for i in graph.initializer if i.name not in unused]
    kept_nodes = [n for n in graph.node if not (n.op_type == "Constant" and n.output[0] in unused)]
    kept_inputs = [v for v in graph.input if not (v.name in unused and v.name in initializer_names)]
    for field, kept in ((graph.initializer, kept_inits), (graph.node, kept_nodes), (graph.input, kept_inputs)):
        del field[:]
        field.extend(kept)


class _NameSource:
    """Deterministic fresh names: ``base``, else ``base_2``, ``base_3`` ..."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def fresh(self, base: str) -> str:
        name, index = base, 1
        while name in self.taken:
            index += 1
            name = f"{base}_{index}"
        self.taken.add(name)
        return name

    def claim(self, name: str) -> bool:
        """Reserve ``name`` exactly; False if it is already used."""
        if name in self.taken:
            return False
        self.taken.add(name)
        return True


class _TypeTable:
    """Element types and shapes of the model's tensors, from ONNX shape inference on a stand-in
    in which every recognized quantizer is an ``Identity`` (each keeps its input's shape and
    type). Best effort: where inference cannot go (unknown ops) nothing is known."""

    def __init__(self, model: onnx.ModelProto):
        stand_in = onnx.ModelProto()
        stand_in.CopyFrom(model)
        for node in stand_in.graph.node:
            if _handler_for(node) is not None:
                replacement = helper.make_node("Identity", [node.input[0]], [node.output[0]], name=node.name)
                node.CopyFrom(replacement)
        try:
            stand_in = onnx.shape_inference.infer_shapes(stand_in, strict_mode=False, data_prop=True)
        except Exception:  # inference is only a help; declared types are used instead
            pass
        graph = stand_in.graph
        self._types: dict[str, onnx.TypeProto.Tensor] = {}
        for value in (*graph.input, *graph.value_info, *graph.output):
            if value.type.HasField("tensor_type"):
                self._types[value.name] = value.type.tensor_type
        for init in graph.initializer:
            tensor_type = onnx.TypeProto.Tensor(elem_type=init.data_type)
            tensor_type.shape.dim.extend(onnx.TensorShapeProto.Dimension(dim_value=d) for d in init.dims)
            self._types[init.name] = tensor_type

    def numpy_dtype(self, name: str) -> np.dtype | None:
        """Numpy dtype of ``name``, or None if unknown."""
        tensor_type = self._types.get(name)
        if tensor_type is None or tensor_type.elem_type == TensorProto.UNDEFINED:
            return None
        return np.dtype(helper.tensor_dtype_to_np_dtype(tensor_type.elem_type))

    def shape(self, name: str) -> onnx.TensorShapeProto | None:
        """Inferred shape of ``name`` (symbolic dimensions kept), or None if the rank is unknown."""
        tensor_type = self._types.get(name)
        return tensor_type.shape if tensor_type is not None and tensor_type.HasField("shape") else None

    def dims(self, name: str) -> list[int | None] | None:
        """Dimensions of ``name`` (None for a symbolic one), or None if the rank is unknown."""
        tensor_type = self._types.get(name)
        if tensor_type is None or not tensor_type.HasField("shape"):
            return None
        return [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]


# ---------------------------------------------------------------------------------------------
# emitting the replacement of one node
# ---------------------------------------------------------------------------------------------
class _Emitter:
    """Collects the standard nodes and initializers replacing one custom ``node``.

    ``dtype`` is the float type of the node's input ``x`` (float32 if unknown): all arithmetic
    and all emitted constants use it. New names start with the node's name (or, for an unnamed
    node, its output's name).
    """

    def __init__(self, node, types: _TypeTable, constants: dict[str, np.ndarray], names: _NameSource):
        self.node = node
        self.types = types
        self.constants = constants
        self.names = names
        self.prefix = node.name or node.output[0]
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.code: tuple[str, np.dtype] | None = None
        if len(node.output) < 1 or not node.output[0]:
            self.fail("has no output")
        if len(node.input) < 1 or not node.input[0]:
            self.fail("has no input")
        dtype = types.numpy_dtype(node.input[0])
        if dtype is not None and not np.issubdtype(dtype, np.floating):
            self.fail(f"input '{node.input[0]}' has element type {dtype}, expected a float type")
        self.dtype = np.dtype(np.float32) if dtype is None else dtype

    # -- failure and attributes ----------------------------------------------------------------
    def fail(self, message: str) -> NoReturn:
        """Raise :class:`UnsupportedModelError` naming this node."""
        label = self.node.name or f"<unnamed, output '{self.node.output[0] if self.node.output else '?'}'>"
        raise UnsupportedModelError(f"node '{label}' ({self.node.op_type}): {message}")

    def attribute(self, name: str, default):
        """Value of attribute ``name`` (strings decoded), or ``default`` if absent."""
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def flag(self, name: str, default: int) -> bool:
        """A 0/1 integer attribute."""
        value = self.attribute(name, default)
        if value not in (0, 1):
            self.fail(f"attribute '{name}' must be 0 or 1, got {value!r}")
        return bool(value)

    def rounding_mode(self, default: str) -> str:
        """Canonical rounding mode of the ``rounding_mode`` attribute."""
        mode = self.attribute("rounding_mode", default)
        try:
            return quant_math.normalize_rounding_mode(mode)
        except ValueError as exc:
            self.fail(str(exc))

    # -- inputs --------------------------------------------------------------------------------
    def require_inputs(self, *counts: int) -> int:
        """Check the number of inputs is one of ``counts``; return it."""
        count = len(self.node.input)
        if count not in counts or not all(self.node.input):
            expected = " or ".join(str(c) for c in counts)
            self.fail(f"expected {expected} inputs, found {count} ({list(self.node.input)})")
        return count

    def constant_input(self, index: int, what: str) -> np.ndarray:
        """Value of input ``index``, which must be an initializer or a ``Constant`` output."""
        name = self.node.input[index]
        if name not in self.constants:
            self.fail(f"{what} input '{name}' must be a constant (initializer or Constant output), "
                      f"but it is computed by the graph")
        return self.constants[name]

    def bit_width(self, index: int, what: str) -> int:
        """A constant, uniform, positive integer bit width."""
        value = np.asarray(self.constant_input(index, what), dtype=np.float64)
        if value.size == 0 or np.any(value != value.flat[0]):
            self.fail(f"{what} must be one number, got {value.tolist()}")
        bits = float(value.flat[0])
        if not bits.is_integer() or not 1 <= bits <= 64:
            self.fail(f"{what} must be an integer in 1..64, got {bits}")
        return int(bits)

    def parameter(self, index: int) -> str:
        """Input ``index`` as a tensor of :attr:`dtype`: constants of another type get a
        converted copy; computed tensors are used as they are."""
        name = self.node.input[index]
        value = self.constants.get(name)
        if value is None or value.dtype == self.dtype:
            return name
        return self.const(value, label=f"input{index}")

    def zero_point(self, index: int) -> str | None:
        """Input ``index`` as a zero point, or None if it is a constant zero (then skipped)."""
        value = self.constants.get(self.node.input[index])
        if value is not None and not np.any(value):
            return None
        return self.parameter(index)

    # -- emitting --------------------------------------------------------------------------------
    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        """Add a standard node; return its (only) output name."""
        node_name = self.names.fresh(f"{self.prefix}/{op_type}")
        if output is None:
            output = self.names.fresh(f"{node_name}_output_0")
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=node_name, **attributes))
        return output

    def const(self, value, dtype=None, label: str = "const") -> str:
        """Add an initializer holding ``value`` as ``dtype`` (default :attr:`dtype`)."""
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.names.fresh(f"{self.prefix}/{label}")
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def cast(self, value: str, dtype, output: str | None = None) -> str:
        """``Cast`` to a numpy ``dtype``."""
        return self.op("Cast", [value], output, to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def affine(self, value: str, scale: float, bias: float, output: str | None, dtype=None) -> str:
        """``value * scale + bias``, skipping a unit scale and a zero bias."""
        steps = [(op, c, label) for op, c, label, trivial in
                 (("Mul", scale, "scale", 1), ("Add", bias, "bias", 0)) if c != trivial]
        if not steps:
            return self.op("Identity", [value], output)
        for position, (op_type, constant, label) in enumerate(steps):
            last = position == len(steps) - 1
            value = self.op(op_type, [value, self.const(constant, dtype, label)], output if last else None)
        return value

    def code_output(self, dtype=None) -> str:
        """Reserve the code tensor name ``code_tensor_name(y)`` and record it as the exposed code."""
        name = code_tensor_name(self.node.output[0])
        if not self.names.claim(name):
            self.fail(f"cannot expose the integer code as '{name}': the model already has a tensor of that name")
        self.code = (name, np.dtype(self.dtype if dtype is None else dtype))
        return name


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------
def _emit_round(e: _Emitter, v: str, out: str) -> str:
    """ROUND / HALF_EVEN: ONNX ``Round`` rounds half to even, like ``np.round``."""
    return e.op("Round", [v], out)


def _emit_ceil(e: _Emitter, v: str, out: str) -> str:
    """CEIL: ``ceil(v)``."""
    return e.op("Ceil", [v], out)


def _emit_floor(e: _Emitter, v: str, out: str) -> str:
    """FLOOR: ``floor(v)``."""
    return e.op("Floor", [v], out)


def _emit_signed_magnitude(e: _Emitter, v: str, out: str, magnitude_op: str) -> str:
    """``sign(v) * magnitude_op(|v|)``: UP with ``Ceil``, DOWN (towards zero) with ``Floor``."""
    magnitude = e.op(magnitude_op, [e.op("Abs", [v])])
    return e.op("Mul", [e.op("Sign", [v]), magnitude], out)


def _emit_half(e: _Emitter, v: str, out: str, compare: str) -> str:
    """Half-step rounding away from (``GreaterOrEqual``: HALF_UP) or towards (``Greater``:
    HALF_DOWN) zero: ``sign(v) * (floor(a) + [frac compare 1/2])``, ``a = |v|``,
    ``frac = a - floor(a)`` (exact), equal to ``sign(v) * floor(a + 1/2)`` resp.
    ``sign(v) * ceil(a - 1/2)``."""
    magnitude = e.op("Abs", [v])
    whole = e.op("Floor", [magnitude])
    fraction = e.op("Sub", [magnitude, whole])
    carry = e.cast(e.op(compare, [fraction, e.const(0.5, label="half")]), e.dtype)
    return e.op("Mul", [e.op("Sign", [v]), e.op("Add", [whole, carry])], out)


#: Emitters of the canonical rounding modes (see ``quant_math.ROUNDING_MODES``).
ROUNDING_EMITTERS: dict[str, Callable[[_Emitter, str, str], str]] = {
    "ROUND": _emit_round,
    "CEIL": _emit_ceil,
    "FLOOR": _emit_floor,
    "UP": functools.partial(_emit_signed_magnitude, magnitude_op="Ceil"),
    "DOWN": functools.partial(_emit_signed_magnitude, magnitude_op="Floor"),
    "HALF_UP": functools.partial(_emit_half, compare="GreaterOrEqual"),
    "HALF_DOWN": functools.partial(_emit_half, compare="Greater"),
}


def _emit_scaled(e: _Emitter, x: str, scale: str, zero: str | None) -> str:
    """``v = x / scale (+ zero_point)``."""
    value = e.op("Div", [x, scale])
    return value if zero is None else e.op("Add", [value, zero])


def _emit_bipolar(e: _Emitter, value: str, out: str) -> str:
    """``+1 if value >= 0 else -1`` (0 maps to +1)."""
    non_negative = e.op("GreaterOrEqual", [value, e.const(0.0, label="zero")])
    return e.op("Where", [non_negative, e.const(1.0, label="one"), e.const(-1.0, label="minus_one")], out)


def _emit_clip_round(e: _Emitter, value: str, low: int, high: int, mode: str, out: str) -> str:
    """``round_mode(clip(value, low, high))``."""
    clipped = e.op("Clip", [value, e.const(low, label="low"), e.const(high, label="high")])
    return ROUNDING_EMITTERS[mode](e, clipped, out)


def _emit_dequantize(e: _Emitter, code: str, zero: str | None, scale: str, out: str) -> str:
    """``y = (code - zero_point) * scale``."""
    shifted = code if zero is None else e.op("Sub", [code, zero])
    return e.op("Mul", [shifted, scale], out)


# ---------------------------------------------------------------------------------------------
# one rewrite per op
# ---------------------------------------------------------------------------------------------
def _rewrite_quant(e: _Emitter) -> None:
    """``Quant``/``IntQuant(x, scale, zeropt, bitwidth)``: ``code = round_mode(clip(x / scale +
    zeropt, low, high))`` (bipolar for 1 signed bit), ``y = (code - zeropt) * scale``."""
    e.require_inputs(4)
    bits = e.bit_width(3, "bit width")
    signed, narrow = e.flag("signed", 1), e.flag("narrow", 0)
    mode = e.rounding_mode("ROUND")
    scale, zero = e.parameter(1), e.zero_point(2)
    value = _emit_scaled(e, e.node.input[0], scale, zero)
    code = e.code_output()
    if bits == 1 and signed:
        _emit_bipolar(e, value, code)
    else:
        low, high = quant_math.int_range(bits, signed, narrow)
        _emit_clip_round(e, value, low, high, mode, code)
    _emit_dequantize(e, code, zero, scale, e.node.output[0])


def _rewrite_bipolar_quant(e: _Emitter) -> None:
    """``BipolarQuant(x, scale)``: ``code = +1 if x / scale >= 0 else -1``, ``y = code * scale``."""
    e.require_inputs(2)
    scale = e.parameter(1)
    code = e.code_output()
    _emit_bipolar(e, _emit_scaled(e, e.node.input[0], scale, None), code)
    _emit_dequantize(e, code, None, scale, e.node.output[0])


def _trunc_v1_output(e: _Emitter, zero: str | None) -> tuple[int, np.ndarray, str | None, str]:
    """Trunc version 1 (``x, scale, zeropt, in_bits, out_bits``): ``shift = 2**(in_bits -
    out_bits)``; ``y = (code - zeropt) * scale``."""
    in_bits = e.bit_width(3, "input bit width")
    out_bits = e.bit_width(4, "output bit width")
    return out_bits, np.asarray(2.0 ** (in_bits - out_bits)), zero, e.parameter(1)


def _trunc_v2_output(e: _Emitter, zero: str | None) -> tuple[int, np.ndarray, str | None, str]:
    """Trunc version 2 (``x, scale, zeropt, in_bits, out_scale, out_zeropt, out_bits``) and
    Brevitas 0.13's 6-input Trunc (``x, scale, zeropt, in_bits, out_scale, out_bits``, no
    ``out_zeropt``): ``shift = 2**round(log2(out_scale / scale))``; ``y = (code - zeropt /
    shift) * out_scale``. As in QONNX, ``in_bits`` and ``out_zeropt`` do not enter the
    computation (and need not be constant); ``scale`` and ``out_scale`` must be constant to
    compute ``shift``."""
    out_bits = e.bit_width(len(e.node.input) - 1, "output bit width")
    scale = np.asarray(e.constant_input(1, "scale"), dtype=np.float64)
    out_scale = np.asarray(e.constant_input(4, "output scale"), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = out_scale / scale
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        e.fail(f"output scale / scale must be positive and finite, got {ratio.tolist()}")
    shift = 2.0 ** np.round(np.log2(ratio))
    if zero is None:
        out_zero = None
    elif e.node.input[2] in e.constants:
        out_zero = e.const(np.asarray(e.constants[e.node.input[2]], dtype=np.float64) / shift, label="out_zero")
    else:
        out_zero = e.op("Div", [zero, e.const(shift, label="shift")])
    return out_bits, shift, out_zero, e.parameter(4)


#: Trunc versions by number of inputs (6: Brevitas 0.13, which leaves out ``out_zeropt``).
TRUNC_VERSIONS = {5: _trunc_v1_output, 6: _trunc_v2_output, 7: _trunc_v2_output}


def _rewrite_trunc(e: _Emitter) -> None:
    """``Trunc``: ``code = round_mode(clip(round(x / scale + zeropt) / shift, low, high))``, with
    ``[low, high] = int_range(out_bits, signed, narrow)``; ``shift`` and ``y`` by version."""
    count = e.require_inputs(*TRUNC_VERSIONS)
    signed, narrow = e.flag("signed", 1), e.flag("narrow", 0)
    mode = e.rounding_mode("FLOOR")
    scale, zero = e.parameter(1), e.zero_point(2)
    out_bits, shift, out_zero, out_scale = TRUNC_VERSIONS[count](e, zero)
    integer = e.op("Round", [_emit_scaled(e, e.node.input[0], scale, zero)])
    shifted = e.op("Div", [integer, e.const(shift, label="shift")])
    low, high = quant_math.int_range(out_bits, signed, narrow)
    code = e.code_output()
    _emit_clip_round(e, shifted, low, high, mode, code)
    _emit_dequantize(e, code, out_zero, out_scale, e.node.output[0])


def multithreshold_channel_axis(data_layout: str, rank: int) -> int:
    """Channel axis of a ``MultiThreshold`` input, as QONNX executes it: axis 3 for a 4D NHWC
    input, axis 1 for other 2D and 4D inputs, the last axis for any other rank."""
    if rank == 4 and data_layout == "NHWC":
        return 3
    if rank in (2, 4):
        return 1
    return rank - 1


#: ``count -> code`` as ``count * a + b`` per DataType kind (default: ``count``).
_COUNT_TO_CODE: dict[str, Callable[[DataType], tuple[int, int]]] = {
    "BIPOLAR": lambda dtype: (2, -1),
    "INT": lambda dtype: (1, int(dtype.min)),
}


def count_code_affine(out_dtype: DataType) -> tuple[int, int]:
    """``(a, b)`` with ``code = a * count + b``, as ``MultiThreshold.code_from_count``."""
    return _COUNT_TO_CODE.get(out_dtype.kind, lambda dtype: (1, 0))(out_dtype)


def _rewrite_multithreshold(e: _Emitter) -> None:
    """``MultiThreshold(x, T)``: ``count = sum_i [x >= T[c, i]]`` computed as ``ReduceSum`` over
    the first axis of ``x >= T'``, where ``T'`` of shape ``(N, 1, .., C, .., 1)`` holds the
    thresholds along the channel axis of ``x``; ``code = a * count + b`` (see
    :func:`count_code_affine`), ``y = out_scale * count + out_bias``."""
    e.require_inputs(2)
    x = e.node.input[0]
    dtype_name = e.attribute("out_dtype", None)
    if dtype_name is None:
        e.fail("attribute 'out_dtype' is missing")
    try:
        out_dtype = DataType.parse(dtype_name)
    except ValueError as exc:
        e.fail(f"attribute 'out_dtype': {exc}")
    layout = e.attribute("data_layout", "NCHW")
    if layout not in MULTITHRESHOLD_LAYOUTS:
        e.fail(f"data_layout must be one of {sorted(MULTITHRESHOLD_LAYOUTS)}, got '{layout}'")
    dims = e.types.dims(x)
    if not dims:
        e.fail(f"the rank of input '{x}' is unknown (or 0); it is needed to find the channel axis")
    axis = multithreshold_channel_axis(layout, len(dims))
    thresholds = e.constant_input(1, "thresholds")
    if thresholds.ndim != 2:
        e.fail(f"thresholds must have shape (C, N), got {thresholds.shape}")
    rows, steps = thresholds.shape
    if rows != 1 and dims[axis] is not None and rows != dims[axis]:
        e.fail(f"thresholds have {rows} rows for {dims[axis]} channels (axis {axis} of '{x}')")

    compare_dtype = np.result_type(e.dtype, thresholds.dtype)
    layout_shape = [steps] + [1] * len(dims)
    layout_shape[1 + axis] = rows
    placed = e.const(thresholds.T.reshape(layout_shape), compare_dtype, label="thresholds")
    operand = x if compare_dtype == e.dtype else e.cast(x, compare_dtype)
    reached = e.cast(e.op("GreaterOrEqual", [operand, placed]), compare_dtype)
    axes = e.const([0], np.int64, label="axes")
    count = e.op("ReduceSum", [reached, axes], keepdims=0)

    a, b = count_code_affine(out_dtype)
    e.affine(count, a, b, e.code_output(compare_dtype), compare_dtype)

    out_scale = float(e.attribute("out_scale", 1.0))
    out_bias = float(e.attribute("out_bias", 0.0))
    y = e.node.output[0]
    wide = count if compare_dtype == np.float64 else e.cast(count, np.float64)
    if e.dtype == np.float64:
        e.affine(wide, out_scale, out_bias, y, np.float64)
    else:
        e.cast(e.affine(wide, out_scale, out_bias, None, np.float64), e.dtype, y)


#: Rewrite of each recognized op type (under any of :data:`CUSTOM_DOMAINS`).
REWRITES: dict[str, Callable[[_Emitter], None]] = {
    "Quant": _rewrite_quant,
    "IntQuant": _rewrite_quant,
    "BipolarQuant": _rewrite_bipolar_quant,
    "Trunc": _rewrite_trunc,
    "MultiThreshold": _rewrite_multithreshold,
}


def _handler_for(node: onnx.NodeProto) -> Callable[[_Emitter], None] | None:
    """The rewrite of ``node``, or None if it is not a recognized custom quantizer."""
    if node.domain not in CUSTOM_DOMAINS:
        return None
    return REWRITES.get(node.op_type)
