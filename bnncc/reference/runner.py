"""Run an ONNX model (QONNX/FINN custom ops included) with onnxruntime as the reference.

The model's custom quantizers are first rewritten into standard ops
(:func:`~bnncc.reference.rewrite.rewrite_custom_ops`), which adds their integer codes as graph
outputs; requested intermediate tensors become graph outputs too. Inputs and outputs are
batched along their first axis.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from bnncc.errors import ShapeError, UnsupportedModelError, UsageError
from bnncc.reference.rewrite import rewrite_custom_ops


class ReferenceRunner:
    """onnxruntime session on the rewritten model.

    ``extra_outputs`` names intermediate tensors to return as well (for example the outputs of
    ``QuantizeLinear`` nodes of a QDQ model). ``intra_op_threads``/``inter_op_threads`` set
    onnxruntime's thread pools (None: onnxruntime's choice).
    """

    def __init__(
        self,
        model: onnx.ModelProto,
        extra_outputs: Sequence[str] = (),
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
    ):
        rewritten, codes = rewrite_custom_ops(model)
        self._output_names = [o.name for o in model.graph.output]
        self._code_tensors = list(codes)
        self._extra_outputs = _add_extra_outputs(rewritten, extra_outputs)
        self._aliases = _widen_narrow_outputs(rewritten.graph)
        self._model = rewritten

        initializers = {i.name for i in rewritten.graph.initializer}
        self._inputs = [v for v in rewritten.graph.input if v.name not in initializers]
        self._input_dtypes = {v.name: _numpy_dtype(v) for v in self._inputs}
        self._batch = _fixed_batch(self._inputs)
        self._batched_outputs = _input_dependent(rewritten.graph)

        options = ort.SessionOptions()
        # No graph optimization at all: even ORT_ENABLE_BASIC fuses nodes (Conv+BatchNorm,
        # Conv+Add/Mul, MatMul+Add into Gemm ...) and so changes where float rounding happens.
        # Running the graph node by node keeps every intermediate value exactly what the
        # original, unfused computation produces, which is what the reference must show.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        # fatal only: old exporters list initializers as inputs (a warning), and a node that
        # fails to run is reported by this class on one line, not by onnxruntime's own log
        options.log_severity_level = 4
        if intra_op_threads is not None:
            options.intra_op_num_threads = intra_op_threads
        if inter_op_threads is not None:
            options.inter_op_num_threads = inter_op_threads
        try:
            self._session = ort.InferenceSession(
                rewritten.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            detail = " ".join(str(exc).split())
            raise UnsupportedModelError(f"onnxruntime cannot load the rewritten model: {detail}") from exc
        self._session_outputs = [o.name for o in self._session.get_outputs()]

    # -- properties ------------------------------------------------------------------------------
    @property
    def code_tensors(self) -> list[str]:
        """Names of the integer-code tensors the rewrite exposed (one per quantizer)."""
        return list(self._code_tensors)

    @property
    def output_names(self) -> list[str]:
        """The original model's outputs."""
        return list(self._output_names)

    @property
    def extra_outputs(self) -> list[str]:
        """Requested intermediate tensors that were added as outputs."""
        return list(self._extra_outputs)

    @property
    def input_names(self) -> list[str]:
        """The model's (non-initializer) inputs."""
        return [v.name for v in self._inputs]

    @property
    def model(self) -> onnx.ModelProto:
        """The rewritten model that onnxruntime runs."""
        return self._model

    # -- running ---------------------------------------------------------------------------------
    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run N samples (first axis of every input) and return every output, batched.

        A model with a symbolic batch dimension runs all N samples at once; one with a fixed
        batch size B runs N / B times and concatenates the results along the first axis
        (outputs that do not depend on any input, e.g. codes of quantized weights, are returned
        once). Integer outputs are returned as int64.
        """
        feeds, samples = self._feeds(inputs)
        if self._batch is None:
            results = [self._session_run(feeds)]
        else:
            if samples % self._batch:
                raise ShapeError(f"{samples} samples do not split into batches of {self._batch}, the model's fixed batch size")
            results = [
                self._session_run({k: v[start : start + self._batch] for k, v in feeds.items()})
                for start in range(0, samples, self._batch)
            ]
        outputs = {}
        for index, name in enumerate(self._session_outputs):
            if len(results) > 1 and name in self._batched_outputs:
                value = np.concatenate([r[index] for r in results], axis=0)
            else:
                value = np.asarray(results[0][index])
            outputs[self._aliases.get(name, name)] = _widen(value)
        return outputs

    def _session_run(self, feeds: Mapping[str, np.ndarray]) -> list:
        """One onnxruntime call; a failure inside a node (the model is loadable but cannot run,
        e.g. an attribute out of range) is the model's fault, reported on one line."""
        try:
            return self._session.run(self._session_outputs, feeds)
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            if isinstance(exc, (MemoryError, KeyboardInterrupt)):
                raise
            detail = " ".join(str(exc).split())
            raise UnsupportedModelError(f"onnxruntime cannot run the model: {detail}") from exc

    def _feeds(self, inputs: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
        """Inputs cast to the declared element types, and the common number of samples."""
        missing = [name for name in self._input_dtypes if name not in inputs]
        unknown = [name for name in inputs if name not in self._input_dtypes]
        if missing or unknown:
            raise UsageError(
                f"model inputs are {list(self._input_dtypes)}; missing {missing}, unknown {unknown}"
            )
        feeds = {name: np.asarray(inputs[name]).astype(dtype, copy=False) for name, dtype in self._input_dtypes.items()}
        counts = set()
        for name, value in feeds.items():
            if value.ndim == 0:
                raise ShapeError(f"input '{name}' is a scalar; inputs need a batch axis first")
            counts.add(value.shape[0])
        if len(counts) > 1:
            raise ShapeError(f"inputs disagree on the number of samples: {sorted(counts)}")
        samples = counts.pop() if counts else 1
        if samples == 0:
            raise ShapeError("no samples to run (the batch axis has length 0)")
        return feeds, samples


# ---------------------------------------------------------------------------------------------
def _numpy_dtype(value: onnx.ValueInfoProto) -> np.dtype:
    """Numpy dtype of a declared tensor input."""
    if not value.type.HasField("tensor_type") or value.type.tensor_type.elem_type == onnx.TensorProto.UNDEFINED:
        raise UnsupportedModelError(f"model input '{value.name}' is not a tensor of a known element type")
    return np.dtype(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))


def _fixed_batch(inputs: Sequence[onnx.ValueInfoProto]) -> int | None:
    """The inputs' fixed batch size, or None if the batch dimension is symbolic (or unknown)."""
    sizes = set()
    for value in inputs:
        shape = value.type.tensor_type.shape
        if value.type.tensor_type.HasField("shape") and shape.dim and shape.dim[0].HasField("dim_value"):
            sizes.add(shape.dim[0].dim_value)
    if len(sizes) > 1:
        raise ShapeError(f"model inputs have different fixed batch sizes {sorted(sizes)}")
    return sizes.pop() if sizes else None


def _input_dependent(graph: onnx.GraphProto) -> set[str]:
    """Tensors whose value depends on a graph input (those carry the batch axis)."""
    initializers = {i.name for i in graph.initializer}
    dependent = {v.name for v in graph.input if v.name not in initializers}
    for node in graph.node:
        if any(name in dependent for name in _node_reads(node)):
            dependent.update(node.output)
    return dependent


def _node_reads(node: onnx.NodeProto) -> set[str]:
    """Inputs of ``node``, including outer-scope names read by its subgraphs."""
    names = set(node.input)
    for attribute in node.attribute:
        subgraphs = [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs)
        for subgraph in subgraphs:
            for inner in subgraph.node:
                names.update(_node_reads(inner))
    return names


def _tensor_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """Types of every tensor ONNX shape inference knows in ``model``."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # best effort: fall back to what the model declares
        inferred = model
    graph = inferred.graph
    types = {v.name: v.type for v in (*graph.input, *graph.value_info, *graph.output)}
    for init in graph.initializer:
        types[init.name] = helper.make_tensor_type_proto(init.data_type, list(init.dims))
    return types


def _add_extra_outputs(model: onnx.ModelProto, names: Sequence[str]) -> list[str]:
    """Make the tensors ``names`` graph outputs of ``model`` (in place); return those added."""
    if not names:
        return []
    graph = model.graph
    produced = {name for node in graph.node for name in node.output}
    produced.update(v.name for v in graph.input)
    produced.update(i.name for i in graph.initializer)
    missing = [name for name in names if name not in produced]
    if missing:
        raise UsageError(f"requested extra outputs {missing} are not tensors of the model")
    types = _tensor_types(model)
    existing = {o.name for o in graph.output}
    added = []
    for name in names:
        if name in existing:
            continue
        tensor_type = types.get(name)
        if tensor_type is None or tensor_type.tensor_type.elem_type == onnx.TensorProto.UNDEFINED:
            raise UnsupportedModelError(f"cannot add '{name}' as an output: shape inference does not know its element type")
        output = helper.make_tensor_value_info(name, tensor_type.tensor_type.elem_type, None)
        if tensor_type.tensor_type.HasField("shape"):
            output.type.tensor_type.shape.CopyFrom(tensor_type.tensor_type.shape)
        graph.output.append(output)
        existing.add(name)
        added.append(name)
    return added


#: Integer element types that onnxruntime's Python API cannot return (no numpy equivalent).
NARROW_INTEGER_TYPES = frozenset({onnx.TensorProto.INT4, onnx.TensorProto.UINT4})


def _widen_narrow_outputs(graph: onnx.GraphProto) -> dict[str, str]:
    """Replace each graph output of a 4-bit integer type by an int64 ``Cast`` of it (in place).

    Returns ``{alias: original name}`` for the replaced outputs.
    """
    taken = {name for node in graph.node for name in (*node.input, *node.output, node.name)}
    taken.update(v.name for v in (*graph.input, *graph.output, *graph.value_info))
    taken.update(i.name for i in graph.initializer)
    aliases = {}
    for output in graph.output:
        if output.type.tensor_type.elem_type not in NARROW_INTEGER_TYPES:
            continue
        name = output.name
        alias, index = f"{name}__int64", 1
        while alias in taken:
            index += 1
            alias = f"{name}__int64_{index}"
        taken.add(alias)
        graph.node.append(helper.make_node("Cast", [name], [alias], name=alias, to=onnx.TensorProto.INT64))
        output.name = alias
        output.type.tensor_type.elem_type = onnx.TensorProto.INT64
        aliases[alias] = name
    return aliases


def _widen(value: np.ndarray) -> np.ndarray:
    """Integer arrays (int8, uint8, int32 ...) as int64; other arrays unchanged."""
    if np.issubdtype(value.dtype, np.integer):
        return value.astype(np.int64)
    return value
