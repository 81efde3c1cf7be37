"""The intermediate representation: graph, tensor table and operations."""

from bnncc.ir.graph import Graph, TensorInfo
from bnncc.ir.op import Op, Quantizer

__all__ = ["Graph", "TensorInfo", "Op", "Quantizer"]
