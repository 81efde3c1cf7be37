"""Write any IR graph as ONNX, for people to look at in Netron.

Operations whose fields are exactly ONNX attributes keep the standard domain; all others are
written in the ``bnncc`` domain with their typed fields as attributes. Integer tensors are
stored FINN-style: float32 containers annotated with ``finn_datatype``. The activations'
batch dimension is written as the symbol ``N``. Output is deterministic.
"""

from __future__ import annotations

import enum
import os

import numpy as np
import onnx
from onnx import helper, numpy_helper

from bnncc.ir.graph import Graph

IR_VERSION = 10
ONNX_OPSET = 13
BNNCC_DOMAIN = "bnncc"


def _attribute_value(value):
    """Convert a typed op field to something ``onnx.helper.make_attribute`` accepts, or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, np.ndarray):
        return numpy_helper.from_array(value.astype(np.float32) if value.dtype.kind == "f" else value.astype(np.int64))
    if isinstance(value, (tuple, list)):
        if not value:
            return None
        if all(isinstance(v, (bool, int, np.integer)) for v in value):
            return [int(v) for v in value]
        return [float(v) for v in value]
    if hasattr(value, "name"):  # DataType
        return value.name
    return str(value)


def to_onnx(graph: Graph) -> onnx.ModelProto:
    """The ONNX model of ``graph``."""
    nodes = []
    for op in graph.ops():
        attributes = {}
        for key, value in op.attributes().items():
            converted = _attribute_value(value)
            if converted is not None:
                attributes[key] = converted
        nodes.append(
            helper.make_node(op.op_type, list(op.inputs), list(op.outputs), name=op.name, domain=op.onnx_domain, **attributes)
        )
    initializers, value_infos = [], []
    for name, info in sorted(graph.tensors.items()):
        if info.value is not None:
            initializers.append(numpy_helper.from_array(info.value.astype(np.float32), name))
        elif name not in graph.inputs and name not in graph.outputs:
            value_infos.append(_value_info(name, info))
    model_graph = helper.make_graph(
        nodes,
        graph.name,
        [_value_info(name, graph.tensors[name]) for name in graph.inputs],
        [_value_info(name, graph.tensors[name]) for name in graph.outputs],
        initializers,
        value_info=value_infos,
    )
    for name, info in sorted(graph.tensors.items()):
        if info.dtype.is_integer:
            annotation = onnx.TensorAnnotation(tensor_name=name)
            annotation.quant_parameter_tensor_names.append(
                onnx.StringStringEntryProto(key="finn_datatype", value=info.dtype.name)
            )
            model_graph.quantization_annotation.append(annotation)
    model = helper.make_model(
        model_graph,
        producer_name="bnncc",
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(BNNCC_DOMAIN, 1)],
    )
    model.ir_version = IR_VERSION
    return model


def _value_info(name: str, info) -> onnx.ValueInfoProto:
    shape = ["N"] + list(info.shape[1:]) if info.shape else []
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)


def save_ir(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` as ONNX to ``path`` (written to a temporary name first, then renamed, so
    an existing file is never left half-written)."""
    path = os.fspath(path)
    temporary = path + ".tmp"
    onnx.save(to_onnx(graph), temporary)
    os.replace(temporary, path)
