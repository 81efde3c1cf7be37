"""What the CPU computes around the accelerator, as JSON-ready data.

:func:`describe_host_steps` lists, in execution order, the host steps before the hardware
(from the graph inputs to the streams sent to the accelerator) and after it (from the
streams it returns to the graph outputs). Each step gives the operation type, its inputs
and outputs with shapes (``"N"`` for the batch dimension) and element types, its typed
fields, and its constant operands: small arrays in full, large ones summarised (shape,
type, min, max, SHA-256 of the values). A one-line ``summary`` chains the steps, e.g.
``x -> Reshape(N, 784) -> Mul 2 -> Add -1 -> BipolarQuant(...) -> hardware: q (BIPOLAR ...)``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir.graph import Graph
from bnncc.passes.host_partition import find_partition

#: Arrays with at most this many elements are written out in full.
SMALL_ARRAY = 16


def describe_host_steps(graph: Graph) -> dict:
    """The host pre and post steps of ``graph`` (module docstring), using the partition in
    ``graph.metadata["partition"]`` or computing it."""
    partition = graph.metadata.get("partition") or find_partition(graph).to_dict()
    pre = [describe_op(graph, graph.op(name)) for name in partition["host_pre"]]
    post = [describe_op(graph, graph.op(name)) for name in partition["host_post"]]
    to_hw = [describe_stream(graph, t) for t in partition["hw_inputs"]]
    from_hw = [describe_stream(graph, t) for t in partition["hw_outputs"]]
    return {
        "graph_inputs": [describe_tensor(graph, t) for t in graph.inputs],
        "host_pre": pre,
        "to_hardware": to_hw,
        "from_hardware": from_hw,
        "host_post": post,
        "graph_outputs": [describe_tensor(graph, t) for t in graph.outputs],
        "summary": {
            "pre": " -> ".join([", ".join(graph.inputs)] + [s["text"] for s in pre] + ["hardware: " + _streams_text(to_hw)]),
            "post": " -> ".join(["hardware: " + _streams_text(from_hw)] + [s["text"] for s in post] + [", ".join(graph.outputs)]),
        },
    }


# -- tensors ------------------------------------------------------------------------------
def describe_tensor(graph: Graph, name: str) -> dict:
    """Name, shape (``"N"`` for the batch dimension), element type, and the value of a
    constant (in full if small, else summarised)."""
    info = graph.tensors[name]
    shape = ["N", *info.shape[1:]] if info.batched and info.shape else list(info.shape)
    entry = {"name": name, "shape": shape, "dtype": info.dtype.name}
    if info.value is not None:
        entry["value"] = to_json(info.value)
    return entry


def describe_stream(graph: Graph, name: str) -> dict:
    """A tensor crossing the host/hardware boundary, with its width per element."""
    entry = describe_tensor(graph, name)
    dtype = graph.tensors[name].dtype
    entry["bits_per_element"] = dtype.bits
    if dtype == BIPOLAR:
        entry["encoding"] = "bit 1 = +1, bit 0 = -1"
    elif dtype.kind == "INT":
        entry["encoding"] = "two's complement"
    else:
        entry["encoding"] = "unsigned"
    return entry


def _streams_text(streams: list[dict]) -> str:
    return ", ".join(
        f"{s['name']} ({s['dtype']} {_shape_text(s['shape'])}, {s['bits_per_element']} bit/element)" for s in streams
    )


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


# -- operations -----------------------------------------------------------------------------
def describe_op(graph: Graph, op) -> dict:
    """One host step: node, type, inputs/outputs and every typed field."""
    fields = {key: to_json(value) for key, value in op.attributes().items()}
    return {
        "node": op.name,
        "op": op.op_type,
        "inputs": [describe_tensor(graph, t) for t in op.inputs if t],
        "outputs": [describe_tensor(graph, t) for t in op.outputs if t],
        "fields": fields,
        "text": step_text(graph, op),
    }


def step_text(graph: Graph, op) -> str:
    """A short form of a step: ``Mul 2`` (constant operands), ``Reshape(N, 784)``,
    ``BipolarQuant(scale=1, zero_point=0)`` (fields)."""
    if "shape" in op.attributes() and op.outputs:
        return f"{op.op_type}{_shape_text(describe_tensor(graph, op.outputs[0])['shape'])}"
    constants = [_brief(graph.tensors[t].value) for t in op.inputs if t and graph.tensors[t].value is not None]
    fields = [f"{key}={_brief(value)}" for key, value in op.attributes().items()]
    text = op.op_type + (" " + ", ".join(constants) if constants else "")
    return text + (f"({', '.join(fields)})" if fields else "")


def _brief(value) -> str:
    """A value in a few characters: scalars and small arrays as numbers, others by shape."""
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return _number(value.reshape(-1)[0])
        if value.size <= 4:
            return "[" + ", ".join(_number(v) for v in value.reshape(-1)) + "]"
        return f"array{tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_brief(v) for v in value) + ")"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number(value)
    if isinstance(value, DataType):
        return value.name
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _number(value) -> str:
    value = float(value)
    if value.is_integer() and math.isfinite(value):
        return str(int(value))
    return f"{value:g}"


# -- JSON --------------------------------------------------------------------------------------
def to_json(value):
    """``value`` as JSON data: numbers (non-finite floats as "inf"/"-inf"/"nan"), lists,
    DataType names; arrays of at most :data:`SMALL_ARRAY` elements in full, larger ones as
    ``{"shape", "dtype", "min", "max", "sha256"}``."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return int(value) if value.is_integer() and abs(value) < 2**53 else value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, DataType):
        return value.name
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, np.ndarray):
        return _array_json(value)
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if dataclasses.is_dataclass(value):
        return to_json(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def _array_json(value: np.ndarray):
    if value.size <= SMALL_ARRAY:
        return to_json(value.tolist()) if value.ndim else to_json(value.item())
    as_float = value.astype(np.float64)
    return {
        "shape": list(value.shape),
        "dtype": str(value.dtype),
        "min": to_json(np.nanmin(as_float)),
        "max": to_json(np.nanmax(as_float)),
        "sha256": hashlib.sha256(np.ascontiguousarray(as_float).tobytes()).hexdigest(),
    }
