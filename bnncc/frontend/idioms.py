"""Exporter idioms rewritten to the plain op they mean, on the ONNX graph before import.

* FINN-ONNX wraps a BatchNormalization of a 2-D tensor ``(N, C)`` in
  ``Unsqueeze(axes=A) -> BatchNormalization -> Squeeze(axes=A)`` with every axis in ``A`` at
  least 2. BatchNormalization works per channel along axis 1 and element-wise otherwise, so
  ``Squeeze(BN(Unsqueeze(x))) = BN(x)`` exactly; the three nodes become one BatchNormalization
  (the BN node's name, the Squeeze's output). Only applied when the intermediate tensors have
  no other reader and are not graph outputs.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from bnncc.frontend.domains import STANDARD_DOMAINS


def _axes(node: onnx.NodeProto, constants: dict[str, np.ndarray]) -> tuple[int, ...] | None:
    """Constant axes of an Unsqueeze/Squeeze (attribute before opset 13, input after)."""
    for attribute in node.attribute:
        if attribute.name == "axes":
            return tuple(attribute.ints)
    if len(node.input) > 1 and node.input[1] in constants:
        return tuple(int(a) for a in np.asarray(constants[node.input[1]]).reshape(-1))
    return None


def unwrap_batchnorm(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with every Unsqueeze -> BatchNormalization -> Squeeze wrapping
    replaced by the BatchNormalization alone (see the module docstring); ``model`` itself is
    returned when there is none."""
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in graph.output}

    def sole_reader(tensor: str, op_type: str) -> onnx.NodeProto | None:
        nodes = readers.get(tensor, [])
        if tensor in outputs or len(nodes) != 1 or nodes[0].op_type != op_type or nodes[0].domain not in STANDARD_DOMAINS:
            return None
        return nodes[0]

    replaced: dict[int, onnx.NodeProto | None] = {}
    for unsqueeze in graph.node:
        if unsqueeze.op_type != "Unsqueeze" or unsqueeze.domain not in STANDARD_DOMAINS:
            continue
        batchnorm = sole_reader(unsqueeze.output[0], "BatchNormalization")
        if batchnorm is None or batchnorm.input[0] != unsqueeze.output[0] or len(batchnorm.output) != 1:
            continue
        squeeze = sole_reader(batchnorm.output[0], "Squeeze")
        axes = _axes(unsqueeze, constants)
        if squeeze is None or axes is None or not axes or _axes(squeeze, constants) != axes or min(axes) < 2:
            continue
        merged = onnx.NodeProto()
        merged.CopyFrom(batchnorm)
        merged.input[0] = unsqueeze.input[0]
        merged.output[0] = squeeze.output[0]
        replaced[id(unsqueeze)] = None
        replaced[id(batchnorm)] = None
        replaced[id(squeeze)] = merged
    if not replaced:
        return model
    result = onnx.ModelProto()
    result.CopyFrom(model)
    kept = []
    for node in graph.node:
        if id(node) not in replaced:
            kept.append(node)
        elif replaced[id(node)] is not None:
            kept.append(replaced[id(node)])
    del result.graph.node[:]
    result.graph.node.extend(kept)
    return result
