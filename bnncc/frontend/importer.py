"""Map an ONNX model to the IR, folding constants and inferring shapes as it goes.

Nodes are visited in topological order. Each is turned into IR operations by the builder
registered for its domain and op type; each operation's shape and type rule runs at once,
and an operation whose inputs are all constant is executed and replaced by its result
(this folds shape sub-graphs such as Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
``Dequantize`` of a constant is kept, so quantized weights stay integers in the IR.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import onnx

from bnncc.datatype import FLOAT32, DataType
from bnncc.errors import ShapeError, UnsupportedModelError, UnsupportedOpError
from bnncc.frontend.channels_last import CHANNELS_LAST_BUILDERS, in_nchw
from bnncc.frontend.context import NodeContext
from bnncc.frontend.domains import CHANNELS_LAST_DOMAIN, STANDARD_DOMAINS
from bnncc.frontend.idioms import unwrap_batchnorm
from bnncc.frontend.load import load_model
from bnncc.frontend.quant_ops import CUSTOM_BUILDERS, QDQ_BUILDERS, QUANT_DOMAINS
from bnncc.frontend.standard_ops import STANDARD_BUILDERS, VALUE_BUILDERS
from bnncc.ir import ops
from bnncc.ir.build import to_type
from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer


ALL_STANDARD = {**STANDARD_BUILDERS, **QDQ_BUILDERS}

#: Quantizers that act element by element (given scalar parameters).
ELEMENTWISE_QUANTIZERS = frozenset({"Quant", "IntQuant", "BipolarQuant", "Trunc"})

#: Largest number of elements of one sample of a graph input.
MAX_INPUT_ELEMENTS = 1 << 28


def load_graph(path: str | os.PathLike) -> Graph:
    """Load an ONNX file and import it (see :func:`import_model`)."""
    return import_model(load_model(path), source=str(path))


def import_model(model: onnx.ModelProto, source: str = "model", require_quantization: bool = True) -> Graph:
    """Build the IR of ``model``; raises a :class:`~bnncc.errors.BnnccError` naming ``source``
    or the offending node for anything bnncc cannot represent. With
    ``require_quantization`` a model without any quantizer is rejected."""
    importer = _Importer(model, source)
    return importer.run(require_quantization)


class _Importer:
    def __init__(self, model: onnx.ModelProto, source: str):
        model = unwrap_batchnorm(model)
        self.model = model
        self.source = source
        self.graph = Graph(name=model.graph.name or Path(source).stem)
        self.opset = _default_opset(model)
        self.annotations = _annotations(model)
        self.onnx_types = _onnx_types(model)
        self.node_names: set[str] = set()
        self.readers = _readers(model.graph)
        self.nchw: dict[str, str] = {}

    def run(self, require_quantization: bool) -> Graph:
        self._add_initializers()
        self._add_inputs()
        for index, node in enumerate(_topological(self.model.graph, self.source)):
            self._import_node(index, node)
        self._set_outputs()
        self.graph.prune()
        if require_quantization:
            self._require_quantization()
        return self.graph

    # -- tensors --------------------------------------------------------------------------
    def _add_initializers(self) -> None:
        readers = self.readers
        for tensor in self.model.graph.initializer:
            value = onnx.numpy_helper.to_array(tensor)
            if value.dtype.kind in "OSUc":  # strings, complex (4-bit integers are numpy kind "V")
                raise UnsupportedModelError(
                    f"{self.source}: tensor '{tensor.name}' has element type {value.dtype}; expected numbers"
                )
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                self._check_non_finite(tensor.name, value, readers.get(tensor.name, []))
            self.graph.add_constant(tensor.name, value, self._constant_type(tensor.name, value))

    def _check_non_finite(self, name: str, value: np.ndarray, readers: list[tuple[onnx.NodeProto, int]]) -> None:
        """NaN is refused everywhere; +-infinity only where it has a meaning (a threshold that
        is never or always reached, an open Clip bound)."""
        where = ", ".join(f"'{node.name or node.op_type}' ({node.op_type})" for node, _ in readers) or "no node"
        what = "NaN" if np.any(np.isnan(value)) else "infinite values"
        if what == "infinite values" and readers and all(
            (node.op_type == "MultiThreshold" and index == 1) or (node.op_type == "Clip" and index in (1, 2))
            for node, index in readers
        ):
            return
        raise UnsupportedModelError(f"{self.source}: tensor '{name}' (read by {where}) holds {what}; expected finite numbers")

    def _constant_type(self, name: str, value: np.ndarray) -> DataType:
        annotated = self.annotations.get(name)
        if annotated is not None and annotated.is_integer:
            if not annotated.allows(value):
                raise UnsupportedModelError(
                    f"{self.source}: tensor '{name}' is annotated {annotated} but holds other values"
                )
            return annotated
        if value.dtype.kind in "iu":
            if value.size == 0:
                return DataType.int(64)
            info = np.iinfo(value.dtype)
            return DataType.for_range(info.min, info.max)
        if value.dtype.kind == "b":
            return DataType.parse("BINARY")
        return FLOAT32

    def _add_inputs(self) -> None:
        initializers = {t.name for t in self.model.graph.initializer}
        for value_info in self.model.graph.input:
            if value_info.name in initializers:
                continue
            shape = self._input_shape(value_info)
            if not value_info.type.HasField("tensor_type"):
                raise UnsupportedModelError(f"{self.source}: input '{value_info.name}' is not a tensor")
            elem = value_info.type.tensor_type.elem_type
            if elem and np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)).kind in "OSUc":
                name = onnx.TensorProto.DataType.Name(elem)
                raise UnsupportedModelError(
                    f"{self.source}: input '{value_info.name}' has element type {name}; expected a numeric tensor"
                )
            dtype = self.annotations.get(value_info.name)
            if dtype is None:
                np_type = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)) if elem else np.dtype(np.float32)
                dtype = FLOAT32 if np_type.kind == "f" else self._constant_type(value_info.name, np.zeros(0, np_type))
            self.graph.set_tensor(value_info.name, shape, dtype)
            self.graph.inputs.append(value_info.name)
        if not self.graph.inputs:
            raise UnsupportedModelError(f"{self.source}: the model has no inputs")

    def _input_shape(self, value_info) -> tuple[int, ...]:
        tensor_type = value_info.type.tensor_type
        if not tensor_type.HasField("shape"):
            raise ShapeError(f"{self.source}: input '{value_info.name}' has no shape")
        shape = []
        for axis, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value <= 0 and axis > 0:
                raise ShapeError(
                    f"{self.source}: input '{value_info.name}' has dimension {dim.dim_value} at axis {axis}; "
                    "expected a positive size"
                )
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(dim.dim_value)
            elif axis == 0:
                shape.append(1)
            else:
                label = dim.dim_param or "?"
                raise ShapeError(
                    f"{self.source}: input '{value_info.name}' has dynamic dimension '{label}' at axis {axis}; "
                    "only the batch dimension (axis 0) may be dynamic"
                )
        if not shape:
            raise ShapeError(f"{self.source}: input '{value_info.name}' is a scalar; expected a batch of tensors")
        if float(np.prod(np.asarray(shape, dtype=np.float64))) > MAX_INPUT_ELEMENTS:
            raise ShapeError(
                f"{self.source}: input '{value_info.name}' of shape {tuple(shape)} has more than "
                f"{MAX_INPUT_ELEMENTS} elements per sample"
            )
        if shape[0] != 1:
            raise ShapeError(
                f"{self.source}: input '{value_info.name}' has fixed batch size {shape[0]}; "
                "export with batch size 1 or a dynamic batch dimension"
            )
        return tuple(shape)

    # -- nodes ----------------------------------------------------------------------------
    def _node_name(self, index: int, node: onnx.NodeProto) -> str:
        name = node.name or f"{node.op_type}_{index}"
        while name in self.node_names:
            name = f"{name}_{index}"
        self.node_names.add(name)
        return name

    def _import_node(self, index: int, node: onnx.NodeProto) -> None:
        name = self._node_name(index, node)
        for tensor in node.input:
            if tensor and tensor not in self.graph.tensors:
                raise UnsupportedModelError(
                    f"node '{name}' ({node.op_type}): input '{tensor}' is not produced by any node"
                )
        ctx = NodeContext(node, name, self.graph, self.opset, self.onnx_types, self.nchw)
        if node.domain in STANDARD_DOMAINS and node.op_type in VALUE_BUILDERS:
            value = VALUE_BUILDERS[node.op_type](ctx)
            if not node.output or not node.output[0]:
                ctx.fail("has no output")
            if value.dtype.kind in "OSUc":
                ctx.fail(f"value has element type {value.dtype}; expected numbers")
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                self._check_non_finite(node.output[0], value, self.readers.get(node.output[0], []))
            self.graph.add_constant(node.output[0], value, self._constant_type(node.output[0], value))
            return
        builder = self._builder(name, node)
        # A builder may be a generator: each operation it yields is in the graph (shapes known)
        # before it resumes, so it can build on what it added.
        for op in builder(ctx):
            self._add_or_fold(op)
        if node.domain in QUANT_DOMAINS and node.op_type in ELEMENTWISE_QUANTIZERS:
            for op in in_nchw(ctx, builder):
                self._add_or_fold(op)

    def _builder(self, name: str, node: onnx.NodeProto):
        if node.domain in STANDARD_DOMAINS and node.op_type in ALL_STANDARD:
            return ALL_STANDARD[node.op_type]
        if node.domain in QUANT_DOMAINS and node.op_type in CUSTOM_BUILDERS:
            return CUSTOM_BUILDERS[node.op_type]
        if node.domain == CHANNELS_LAST_DOMAIN and node.op_type in CHANNELS_LAST_BUILDERS:
            return CHANNELS_LAST_BUILDERS[node.op_type]
        domain = node.domain or "ai.onnx"
        supported = (
            ", ".join(sorted(ALL_STANDARD)) + "; and " + ", ".join(sorted(CUSTOM_BUILDERS))
            + f"; and in '{CHANNELS_LAST_DOMAIN}': " + ", ".join(sorted(CHANNELS_LAST_BUILDERS))
        )
        raise UnsupportedOpError(
            f"node '{name}': op type '{node.op_type}' (domain '{domain}') is not supported; "
            f"supported: {supported}"
        )

    def _add_or_fold(self, op) -> None:
        infos = [self.graph.tensors[t] for t in op.inputs if t]
        specs = op.infer(infos)
        if self._foldable(op, infos):
            arguments = [info.value if info.is_constant else np.broadcast_to(np.int64(0), info.shape) for info in infos]
            values = op.execute(*arguments)
            for tensor, value, (_, dtype) in zip(op.outputs, values, specs):
                self.graph.add_constant(tensor, to_type(np.asarray(value), dtype), dtype)
            return
        batched = any(info.batched for info in infos)
        for tensor, (shape, dtype) in zip(op.outputs, specs):
            if tensor:
                self.graph.set_tensor(tensor, shape, dtype, batched=batched)
        self.graph.add_op(op)

    def _foldable(self, op, infos) -> bool:
        if isinstance(op, ops.Dequantize):
            return False
        if isinstance(op, ops.Shape):
            return True
        outputs = {o.name for o in self.model.graph.output}
        if any(t in outputs for t in op.outputs):
            return False
        return all(info.is_constant for info in infos)

    # -- checks ---------------------------------------------------------------------------
    def _set_outputs(self) -> None:
        for value_info in self.model.graph.output:
            if value_info.name not in self.graph.tensors:
                raise UnsupportedModelError(f"{self.source}: output '{value_info.name}' is not produced by any node")
            if not self.graph.tensors[value_info.name].batched:
                raise UnsupportedModelError(f"{self.source}: output '{value_info.name}' does not depend on the input")
            self.graph.outputs.append(value_info.name)

    def _require_quantization(self) -> None:
        for op in self.graph.ops():
            if isinstance(op, Quantizer):
                return
        if any(self.graph.tensors[name].dtype.is_integer for name in self.graph.inputs):
            return
        raise UnsupportedModelError(
            f"{self.source}: no quantization found (no Quant, BipolarQuant, MultiThreshold or QuantizeLinear "
            "node, no integer input); bnncc compiles quantized networks: export with Brevitas "
            "(export_qonnx) or quantize with onnxruntime.quantization"
        )


def _default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in STANDARD_DOMAINS:
            return int(entry.version)
    return 13


def _readers(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    """Tensor name -> the (node, input index) pairs that read it."""
    readers: dict[str, list[tuple[onnx.NodeProto, int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name:
                readers.setdefault(name, []).append((node, index))
    return readers


def _annotations(model: onnx.ModelProto) -> dict[str, DataType]:
    """FINN ``finn_datatype`` annotations: tensor name -> DataType."""
    result = {}
    for annotation in model.graph.quantization_annotation:
        for entry in annotation.quant_parameter_tensor_names:
            if entry.key == "finn_datatype":
                try:
                    result[annotation.tensor_name] = DataType.parse(entry.value)
                except ValueError:
                    raise UnsupportedModelError(
                        f"tensor '{annotation.tensor_name}': unknown finn_datatype '{entry.value}'"
                    ) from None
    return result


def _onnx_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor ONNX shape inference can type (custom ops excluded)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # inference is best effort: unknown custom ops leave tensors untyped
        inferred = model
    types = {}
    graph = inferred.graph
    for value_info in list(graph.input) + list(graph.value_info) + list(graph.output):
        elem = value_info.type.tensor_type.elem_type
        if elem:
            types[value_info.name] = elem
    for tensor in graph.initializer:
        types[tensor.name] = tensor.data_type
    return types


def _topological(graph: onnx.GraphProto, source: str) -> list[onnx.NodeProto]:
    """The graph's nodes in dependency order (ONNX requires it; some writers do not comply)."""
    dependency = nx.DiGraph()
    producer = {}
    for index, node in enumerate(graph.node):
        dependency.add_node(index)
        for tensor in node.output:
            producer[tensor] = index
    for index, node in enumerate(graph.node):
        for tensor in node.input:
            if tensor in producer:
                dependency.add_edge(producer[tensor], index)
    try:
        order = list(nx.lexicographical_topological_sort(dependency))
    except nx.NetworkXUnfeasible:
        raise UnsupportedModelError(f"{source}: the graph has a cycle") from None
    return [graph.node[i] for i in order]
