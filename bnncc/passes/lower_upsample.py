"""Nearest-neighbour upsampling on integer codes: scales move past it, and on an integer
NHWC stream it becomes the hardware stage ``Upsample``.

``U`` (:class:`~bnncc.ir.ops.upsample.NearestUpsample`) copies values, so it commutes with
every element-wise function of the value and its channel: for a constant ``a`` broadcast
against ``x``, ``U(x * a) = U(x) * U(a)`` and ``U(x + a) = U(x) + U(a)`` (``U(a)`` is
``a`` itself when it is constant along H and W, a scalar or per channel), and
``U(relu(x)) = relu(U(x))``. After streamlining, a quantizer's ``Mul``/``Add`` stops in
front of ``U`` (streamlining knows no rule for it); :class:`MoveUpsampleScales` moves it
behind ``U`` and lets the moves of :mod:`bnncc.passes.streamline` run again, so the scale
reaches the next quantizer or layer (a Conv, a Concat) and ``U`` reads integer codes.

:func:`rewrite_upsample` (called by ``to_hw``): ``NearestUpsample`` on NHWC data (after
``to_nhwc``) of an integer stream becomes ``Upsample`` with the same factors, keeping the
node name and output tensor.
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops.upsample import NearestUpsample, Upsample
from bnncc.passes.base import Pass
from bnncc.passes.patterns import broadcast_to_tensor, compress, emit_affine, sole_consumer
from bnncc.passes.streamline import move_one, sink_relu


class MoveUpsampleScales(Pass):
    """See the module docstring."""

    name = "upsample_scales"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        while _move_one(graph, notes):
            while move_one(graph, notes) or sink_relu(graph, notes):
                pass
        if notes:
            reinfer(graph)


def _move_one(graph: Graph, notes: list[str]) -> bool:
    """Move the first Mul/Add with a constant operand, or Relu, read only by a
    NearestUpsample behind it; True if one moved."""
    for op in graph.ops():
        if not isinstance(op, (ops.Mul, ops.Add, ops.Relu)):
            continue
        reader = sole_consumer(graph, op.outputs[0])
        if not isinstance(reader, NearestUpsample) or reader.inputs[0] != op.outputs[0]:
            continue
        source = op.inputs[0]
        if not graph.tensors[source].batched or graph.constant(source) is not None:
            continue
        value = None
        if not isinstance(op, ops.Relu):
            value = graph.constant(op.inputs[1])
            if value is None:
                continue
        graph.remove_op(op.name)
        graph.remove_op(reader.name)
        middle = graph.fresh_name(f"{reader.name}_pre")
        add_inferred(graph, reader.clone(inputs=[source], outputs=[middle]))
        if value is None:
            add_inferred(graph, op.clone(inputs=[middle], outputs=[reader.outputs[0]]))
        else:
            full = broadcast_to_tensor(value.astype(np.float64), graph.tensors[source].shape)
            [moved] = reader.execute(full)
            emit_affine(graph, graph.fresh_name(f"{op.name}_moved"), middle, reader.outputs[0], type(op), compress(moved))
        notes.append(f"node '{op.name}': {op.op_type} moved past '{reader.name}' (nearest upsampling copies values)")
        return True
    return False


def rewrite_upsample(graph: Graph, op: NearestUpsample, notes: list[str]) -> None:
    """``NearestUpsample`` of an integer NHWC stream -> ``Upsample``."""
    x = graph.tensors.get(op.inputs[0])
    if not op.channels_last or x is None or x.value is not None or not x.dtype.is_integer or len(x.shape) != 4:
        return
    _, height, width, channels = (int(d) for d in x.shape)
    stage = Upsample(name=op.name, inputs=[op.inputs[0]], outputs=list(op.outputs), channels=channels, H=height, W=width,
                     factors=tuple(int(f) for f in op.factors))
    graph.replace_op(op.name, stage)
    for tensor, (shape, dtype) in zip(stage.outputs, stage.infer([x])):
        graph.set_tensor(tensor, shape, dtype, batched=x.batched)
    notes.append(f"node '{op.name}': NearestUpsample -> Upsample ({height}x{width}x{channels} by "
                 f"{stage.factors[0]}x{stage.factors[1]})")
