"""Binary products as XNOR-popcount.

For BIPOLAR ``x`` and ``W`` (values -1/+1, one bit each in hardware: 1 means +1) over K
terms, ``x @ W = agreements - disagreements = 2 p - K`` where ``p`` counts the positions
where the two bits agree (XNOR, then popcount). The product becomes
``XnorPopcountMatMul`` computing ``p``, and the affine correction is folded forward:

* into a following ``MultiThreshold``: ``2p - K >= T  <=>  p >= ceil((T + K) / 2)``;
* otherwise into an explicit ``Mul(2)``, ``Add(-K)`` on the integer ``p``; when those
  steps (and any bias, scale or Relu after them) lead to a quantizer, they become part of
  its thresholds (:func:`bnncc.passes.absorb_thresholds.absorb_below`), so no ``Mul`` or
  ``Add`` is left between hardware stages. Only the last layer keeps them, on the host.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.passes.absorb_thresholds import absorb_below
from bnncc.passes.base import Pass
from bnncc.passes.patterns import sole_consumer


class XnorPopcount(Pass):
    """See the module docstring."""

    name = "xnor_popcount"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for op in graph.ops():
            if isinstance(op, ops.MatMul) and _is_binary(graph, op):
                rewrite(graph, op, notes)


def _is_binary(graph: Graph, op) -> bool:
    weight = graph.constant(op.inputs[1])
    return (
        weight is not None
        and weight.ndim == 2
        and graph.tensors[op.inputs[0]].dtype == BIPOLAR
        and graph.tensors[op.inputs[0]].batched
        and graph.tensors[op.inputs[1]].dtype == BIPOLAR
    )


def rewrite(graph: Graph, op, notes: list[str]) -> None:
    k = graph.constant(op.inputs[1]).shape[0]
    reader = sole_consumer(graph, op.outputs[0])
    graph.remove_op(op.name)
    if isinstance(reader, ops.MultiThreshold) and reader.inputs[0] == op.outputs[0]:
        thresholds = graph.constant(reader.inputs[1])
        shifted = np.ceil((thresholds.astype(np.float64) + k) / 2).astype(np.int64)
        shifted = np.clip(shifted, 0, k + 1)
        name = new_constant(graph, f"{reader.name}_popcount_thresholds", shifted, DataType.for_range(shifted.min(), shifted.max()))
        add_inferred(graph, ops.XnorPopcountMatMul(name=op.name, inputs=list(op.inputs), outputs=[op.outputs[0]]))
        graph.replace_op(reader.name, reader.clone(inputs=[op.outputs[0], name]))
        notes.append(f"node '{op.name}': XNOR-popcount over {k} bits; thresholds of '{reader.name}' shifted to popcounts")
        return
    popcount = graph.fresh_name(f"{op.name}_popcount")
    add_inferred(graph, ops.XnorPopcountMatMul(name=op.name, inputs=list(op.inputs), outputs=[popcount]))
    doubled = graph.fresh_name(f"{op.name}_doubled")
    two = new_constant(graph, f"{op.name}_two", np.asarray(2), DataType.uint(2))
    minus_k = new_constant(graph, f"{op.name}_minus_k", np.asarray(-k), DataType.for_range(-k, -k))
    add_inferred(graph, ops.Mul(name=graph.fresh_name(f"{op.name}_times_two"), inputs=[popcount, two], outputs=[doubled]))
    add_inferred(graph, ops.Add(name=graph.fresh_name(f"{op.name}_minus_k"), inputs=[doubled, minus_k], outputs=[op.outputs[0]]))
    notes.append(f"node '{op.name}': XNOR-popcount over {k} bits; result restored as 2 p - {k}")
    absorb_below(graph, op.outputs[0], notes)
