"""Builders for qonnx's channels-last ops (domain ``qonnx.custom_op.channels_last``).

qonnx executes such a node as the standard op on NCHW tensors between transposes:
``y = transpose(op(transpose(x, (0, 3, 1, 2)), ...), (0, 2, 3, 1))``. The data input is NHWC;
a channels-last ``Conv`` also stores its weight as ``(O, kH, kW, I/group)`` and transposes it
the same way to ``(O, I/group, kH, kW)``; the other inputs (bias, BatchNorm parameters) are
per-channel vectors and stay as they are. The importer builds exactly that: Transpose ops
(folded when their input is constant), the standard op under the node's own name, and a
Transpose back to NHWC writing the node's output.

The importer remembers which NHWC tensors it also holds in NCHW (``NodeContext.nchw``): a
channels-last op reading such a tensor takes the NCHW one instead of transposing it again
(``Transpose(Transpose(x, TO_NHWC), TO_NCHW) = x``), and an element-wise quantizer between two
channels-last layers is built on the NCHW tensor as well (:func:`in_nchw`). So the layers of a
channels-last network meet in NCHW, as the passes expect, and the NHWC copies left unread are
pruned.
"""

from __future__ import annotations

import numpy as np
import onnx

from bnncc.frontend.context import NodeContext
from bnncc.frontend.standard_ops import build_batchnorm, build_conv, build_maxpool
from bnncc.ir import ops
from bnncc.naming import code_tensor_name
from bnncc.passes.patterns import record_alias

#: NHWC -> NCHW and back.
TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)


def _wrapped(inner, transposed: tuple[int, ...]):
    """Builder of a channels-last op: inputs ``transposed`` go to NCHW, ``inner`` builds the
    standard op, its output goes back to NHWC."""

    def build(ctx: NodeContext):
        inputs = list(ctx.inputs)
        for index in transposed:
            if not ctx.has_input(index):
                continue
            shape = ctx.info(index).shape
            if len(shape) != 4:
                ctx.fail(f"input {index} ('{inputs[index]}') has shape {shape}; channels-last ops are supported on 4-D tensors only")
            if inputs[index] in ctx.nchw:  # already available in NCHW: Transpose(Transpose(x)) = x
                inputs[index] = ctx.nchw[inputs[index]]
                continue
            nchw = ctx.fresh(f"input{index}_nchw")
            yield ops.Transpose(name=ctx.fresh(f"to_nchw{index}"), inputs=[inputs[index]], outputs=[nchw], perm=TO_NCHW)
            inputs[index] = nchw
        if len(ctx.outputs) > 1 and any(ctx.outputs[1:]):
            ctx.fail("only the first output of a channels-last op is supported")
        standard = onnx.NodeProto()
        standard.CopyFrom(ctx.node)
        standard.domain = ""
        del standard.input[:]
        standard.input.extend(inputs)
        del standard.output[:]
        standard.output.append(ctx.fresh("output_nchw"))
        yield from inner(NodeContext(standard, ctx.name, ctx.graph, ctx.opset, ctx.onnx_types, ctx.nchw))
        yield ops.Transpose(name=ctx.fresh("to_nhwc"), inputs=[standard.output[0]], outputs=ctx.outputs[:1], perm=TO_NHWC)
        ctx.nchw[ctx.outputs[0]] = standard.output[0]

    return build


def in_nchw(ctx: NodeContext, builder):
    """Build ``ctx.node``, an element-wise quantizer with scalar parameters whose input is also
    available in NCHW, a second time on the NCHW tensor, so that consecutive channels-last
    layers need no transposes between them: ``q(x) = Transpose(q(Transpose(x, TO_NCHW)),
    TO_NHWC)`` for element-wise ``q``. The NHWC original stays for any other reader (and is
    pruned if none); the copy's code tensor is recorded as an alias of the original's, so
    verification still compares it. Yields nothing when the node does not qualify."""
    x = ctx.inputs[0] if ctx.inputs else ""
    if x not in ctx.nchw or len(ctx.outputs) != 1 or not ctx.outputs[0]:
        return
    for name in ctx.inputs[1:]:
        value = ctx.graph.constant(name) if name else None
        if value is None or np.size(value) != 1:
            return
    copy = onnx.NodeProto()
    copy.CopyFrom(ctx.node)
    copy.input[0] = ctx.nchw[x]
    output = ctx.fresh("nchw")
    copy.output[0] = output
    copy.name = f"{ctx.name}__nchw"
    yield from builder(NodeContext(copy, copy.name, ctx.graph, ctx.opset, ctx.onnx_types, ctx.nchw))
    record_alias(ctx.graph, code_tensor_name(output), code_tensor_name(ctx.outputs[0]), perm=TO_NCHW)
    record_alias(ctx.graph, output, ctx.outputs[0], perm=TO_NCHW)
    ctx.nchw[ctx.outputs[0]] = output


#: Op type -> builder, for ops in the channels-last domain.
CHANNELS_LAST_BUILDERS = {
    "Conv": _wrapped(build_conv, (0, 1)),
    "MaxPool": _wrapped(build_maxpool, (0,)),
    "BatchNormalization": _wrapped(build_batchnorm, (0,)),
}
