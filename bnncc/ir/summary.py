"""A short description of an IR graph for ``bnncc inspect``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer


@dataclass
class Summary:
    """Inputs, outputs, operation counts and quantizers of a graph."""

    name: str
    inputs: list[dict]
    outputs: list[dict]
    operations: dict[str, int]
    quantizers: list[dict]
    parameters: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def text(self) -> str:
        lines = [f"graph {self.name}"]
        for label, tensors in (("input", self.inputs), ("output", self.outputs)):
            for t in tensors:
                lines.append(f"  {label:6} {t['name']}: {t['dtype']} {tuple(t['shape'])}")
        lines.append(f"  {sum(self.operations.values())} operations: " + ", ".join(f"{k} {v}" for k, v in self.operations.items()))
        lines.append(f"  {self.parameters} constant parameters")
        lines.append(f"  {len(self.quantizers)} quantizers:")
        for q in self.quantizers:
            lines.append(f"    {q['node']:32} {q['type']:14} -> {q['dtype']} {tuple(q['shape'])}")
        return "\n".join(lines)


def summarize(graph: Graph) -> Summary:
    """Describe ``graph``."""
    def tensor(name):
        info = graph.tensors[name]
        return {"name": name, "shape": ["N", *info.shape[1:]], "dtype": info.dtype.name}

    quantizers = [
        {
            "node": op.name,
            "type": op.op_type,
            "dtype": graph.tensors[op.outputs[0]].dtype.name,
            "shape": ["N", *graph.tensors[op.outputs[0]].shape[1:]],
        }
        for op in graph.ops()
        if isinstance(op, Quantizer)
    ]
    parameters = sum(int(np.prod(info.shape)) for info in graph.tensors.values() if info.value is not None)
    return Summary(
        name=graph.name,
        inputs=[tensor(n) for n in graph.inputs],
        outputs=[tensor(n) for n in graph.outputs],
        operations=graph.op_count(),
        quantizers=quantizers,
        parameters=parameters,
    )
