"""What a node builder sees of the ONNX node it maps and of the IR built so far."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from bnncc.errors import ShapeError, UnsupportedModelError
from bnncc.ir.graph import Graph, TensorInfo


@dataclass
class NodeContext:
    """One ONNX node being imported into ``graph``."""

    node: onnx.NodeProto
    name: str
    graph: Graph
    opset: int
    onnx_types: dict[str, int]
    #: NHWC tensor -> a tensor of the IR holding it transposed to NCHW (channels-last import).
    nchw: dict[str, str] = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """Input tensor names, empty optional inputs kept as ''."""
        return list(self.node.input)

    @property
    def outputs(self) -> list[str]:
        return list(self.node.output)

    def attr(self, key: str, default=None):
        """Attribute ``key`` decoded to a Python value (bytes become str), or ``default``."""
        for attribute in self.node.attribute:
            if attribute.name == key:
                value = onnx.helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    return value.decode()
                if isinstance(value, onnx.TensorProto):
                    return onnx.numpy_helper.to_array(value)
                if isinstance(value, list) and value and isinstance(value[0], bytes):
                    return [v.decode() for v in value]
                return value
        return default

    def has_input(self, index: int) -> bool:
        return index < len(self.node.input) and self.node.input[index] != ""

    def info(self, index: int) -> TensorInfo:
        name = self.node.input[index]
        return self.graph.tensors[name]

    def const(self, index: int, what: str) -> np.ndarray:
        """The constant value of input ``index``; fails naming the node if it is not constant."""
        if not self.has_input(index):
            self.fail(f"{what} input is missing")
        value = self.graph.constant(self.node.input[index])
        if value is None:
            self.fail(f"{what} ('{self.node.input[index]}') must be a constant, but it is computed at run time")
        return value

    def optional_const(self, index: int, what: str, default=None):
        """Like :meth:`const`, or ``default`` when the optional input is absent."""
        return self.const(index, what) if self.has_input(index) else default

    def is_integer_onnx(self, index: int) -> bool:
        """True if input ``index`` has an integer element type in the ONNX file."""
        elem = self.onnx_types.get(self.node.input[index], onnx.TensorProto.FLOAT)
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem)).kind in "iub"

    def fresh(self, suffix: str) -> str:
        """A new tensor/node name derived from this node's name."""
        return f"{self.name}__{suffix}"

    def fail(self, message: str, error=UnsupportedModelError):
        raise error(f"node '{self.name}' ({self.node.op_type}): {message}")

    def fail_shape(self, message: str):
        self.fail(message, ShapeError)
