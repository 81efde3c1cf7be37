"""Rewrite qonnx's channels-last ops into standard ONNX for onnxruntime.

A node ``op`` in domain ``qonnx.custom_op.channels_last`` (Conv, MaxPool,
BatchNormalization) on an NHWC tensor computes, as qonnx executes it,
``y = Transpose(op(Transpose(x, (0, 3, 1, 2)), ...), (0, 2, 3, 1))``; a channels-last ``Conv``
also stores its weight as ``(O, kH, kW, I/group)`` and transposes it the same way. Each such
node becomes exactly those standard nodes; the standard op keeps the node's name and
attributes.
"""

from __future__ import annotations

import onnx
from onnx import helper

from bnncc.frontend.domains import CHANNELS_LAST_DOMAIN

#: NHWC -> NCHW and back.
TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)

#: Op type -> indices of the inputs that are channels-last 4-D tensors.
TRANSPOSED_INPUTS = {"Conv": (0, 1), "MaxPool": (0,), "BatchNormalization": (0,)}


def rewrite_channels_last(graph: onnx.GraphProto, taken: set[str]) -> bool:
    """Replace, in place, every channels-last node of ``graph`` (main graph only). ``taken``
    holds the names in use and receives the new ones. Returns whether anything changed."""

    def fresh(base: str) -> str:
        name, index = base, 1
        while name in taken:
            index += 1
            name = f"{base}_{index}"
        taken.add(name)
        return name

    changed = False
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        transposed = TRANSPOSED_INPUTS.get(node.op_type) if node.domain == CHANNELS_LAST_DOMAIN else None
        if transposed is None:
            nodes.append(node)
            continue
        changed = True
        prefix = node.name or node.output[0]
        standard = onnx.NodeProto()
        standard.CopyFrom(node)
        standard.domain = ""
        for index in transposed:
            if index < len(node.input) and node.input[index]:
                nchw = fresh(f"{prefix}/input{index}_nchw")
                nodes.append(helper.make_node("Transpose", [node.input[index]], [nchw], name=fresh(f"{prefix}/to_nchw{index}"), perm=list(TO_NCHW)))
                standard.input[index] = nchw
        output_nchw = fresh(f"{prefix}/output_nchw")
        standard.output[0] = output_nchw
        nodes.append(standard)
        nodes.append(helper.make_node("Transpose", [output_nchw], [node.output[0]], name=fresh(f"{prefix}/to_nhwc"), perm=list(TO_NHWC)))
    if changed:
        del graph.node[:]
        graph.node.extend(nodes)
    return changed
