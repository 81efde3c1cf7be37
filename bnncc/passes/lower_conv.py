"""Lower integer convolutions to channels-last im2col + matrix product.

1. A constant ``Pad`` feeding a ``Conv`` becomes part of the convolution's padding: padding
   ``x`` by ``(t1, l1, b1, r1)`` elements of ``v`` and then by the Conv's own
   ``(t2, l2, b2, r2)`` elements of ``pad_value`` is one padding by ``(t1 + t2, ...)`` when
   both fill values are ``v`` (or the Conv adds no padding of its own, so its ``pad_value``
   can become ``v``). Otherwise the Pad is left in place.

2. A convolution with ``group == 1``, an integer input and an integer constant weight
   ``W`` (M, C, KH, KW),

       y[n, m, i, j] = sum_{c, u, v} x_pad[n, c, i*sh + u*dh, j*sw + v*dw] * W[m, c, u, v]

   is, with ``x' = x`` in NHWC order and ``P = Im2Col(x')`` whose element
   ``P[n, i, j, (u*KW + v)*C + c] = x'_pad[n, i*sh + u*dh, j*sw + v*dw, c]``,

       y' = P @ W2,   W2[(u*KW + v)*C + c, m] = W[m, c, u, v]   (W2 of shape (KH*KW*C, M)),

   then ``y = y'`` back in NCHW order. The graph becomes
   ``Transpose(0,2,3,1) -> Im2Col -> MatMul(W2) [-> Add(bias)] -> Transpose(0,3,1,2)``; the
   MatMul keeps the Conv's name and the last Transpose writes the Conv's output tensor.
   A 1x1 convolution with stride 1 and no padding needs no Im2Col (``P = x'``).
   :class:`~bnncc.passes.to_nhwc.ToNHWC` then cancels the transposes between layers.

Grouped convolutions, real-valued ones and those whose weights are computed at run time are
left as they are; the reason is recorded on the graph for that node
(:mod:`bnncc.passes.refusals`), and the hardware mapping reports it.
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant, reinfer
from bnncc.ir.graph import Graph
from bnncc.passes import refusals
from bnncc.passes.base import Pass

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)


def conv_weight_matrix(weight: np.ndarray) -> np.ndarray:
    """``W2[(u*KW + v)*C + c, m] = W[m, c, u, v]``: (M, C, KH, KW) -> (KH*KW*C, M)."""
    m = weight.shape[0]
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(-1, m))


def _scalar(value):
    """A pad value as a Python number (an int when it is integral)."""
    value = float(value)
    return int(value) if value.is_integer() else value


# -- 1. Pad into Conv ----------------------------------------------------------------------
def _mergeable_pad(graph: Graph, conv: ops.Conv):
    """The Pad feeding ``conv`` if it can become part of its padding, else None (and the
    reason recorded for the Pad)."""
    pad = graph.producer(conv.inputs[0])
    if not isinstance(pad, ops.Pad):
        return None
    if graph.tensors[pad.inputs[0]].dtype.is_integer and not float(pad.value).is_integer():
        # a fractional fill of integer codes stays a (real-valued) Pad
        refusals.record(graph, pad, (
            f"padding value {pad.value:g} is not an integer code of its quantized input, so it cannot become "
            f"the padding of convolution '{conv.name}'"
        ), LowerConv.name)
        return None
    if any(conv.pads) and not np.all(np.asarray(conv.pad_value) == pad.value):
        shown = ", ".join(f"{v:g}" for v in sorted({float(v) for v in np.asarray(conv.pad_value).reshape(-1)}))
        refusals.record(graph, pad, (
            f"pads with {pad.value:g} while convolution '{conv.name}' pads with {shown}: two fill values "
            "cannot be one padding"
        ), LowerConv.name)
        return None
    return pad


def _merge_pad(graph: Graph, conv: ops.Conv, pad: ops.Pad) -> str:
    pads = tuple(int(a) + int(b) for a, b in zip(conv.pads, pad.pads))
    pad_value = conv.pad_value if any(conv.pads) else _scalar(pad.value)
    merged = conv.clone(inputs=[pad.inputs[0]] + conv.inputs[1:], pads=pads, pad_value=pad_value)
    graph.replace_op(conv.name, merged)
    return f"node '{conv.name}': merged Pad '{pad.name}' (value {pad.value:g}) into its padding, now {pads}"


def merge_pads(graph: Graph, notes: list[str]) -> None:
    """Fold every mergeable Pad into the Conv it feeds (repeatedly, for chains of Pads)."""
    changed = True
    while changed:
        changed = False
        for conv in graph.ops():
            if isinstance(conv, ops.Conv):
                pad = _mergeable_pad(graph, conv)
                if pad is not None:
                    notes.append(_merge_pad(graph, conv, pad))
                    changed = True


# -- 2. Conv -> Im2Col + MatMul ------------------------------------------------------------
def group_reason(graph: Graph, conv: ops.Conv) -> str | None:
    """Why a grouped convolution cannot be lowered (None for ``group == 1``)."""
    if conv.group == 1:
        return None
    channels = graph.tensors[conv.inputs[0]].shape[1]
    return (
        f"grouped/depthwise convolution (group={conv.group} of {channels} channels) is not supported yet; "
        "only group=1 convolutions become hardware stages"
    )


def why_not_lowered(graph: Graph, conv: ops.Conv) -> str | None:
    """Why :class:`LowerConv` leaves ``conv`` a Conv (for error messages of later passes),
    or None if it can be lowered."""
    x, w = graph.tensors[conv.inputs[0]], graph.tensors[conv.inputs[1]]
    grouped = group_reason(graph, conv)
    if grouped:
        return grouped
    if w.value is None:
        return "its weights are computed at run time; only constant weights become hardware"
    if not w.dtype.is_integer:
        return f"its weights are real ({w.dtype}), not quantized to integers"
    if not x.dtype.is_integer:
        return f"its input is real ({x.dtype}), not an integer stream"
    if len(conv.inputs) > 2 and graph.constant(conv.inputs[2]) is None:
        return "its bias is computed at run time"
    return None


def _needs_im2col(conv: ops.Conv, weight: np.ndarray) -> bool:
    pointwise = tuple(weight.shape[2:]) == (1, 1) and tuple(conv.strides) == (1, 1)
    return not (pointwise and not any(conv.pads))


def _transpose(graph: Graph, name: str, source: str, target: str, perm) -> None:
    add_inferred(graph, ops.Transpose(name=graph.fresh_name(name), inputs=[source], outputs=[target], perm=perm))


def lower_conv(graph: Graph, conv: ops.Conv) -> str:
    """Replace ``conv`` by the NHWC im2col form (module docstring); returns the note."""
    base = conv.name
    weight_info = graph.tensors[conv.inputs[1]]
    weight = weight_info.value
    graph.remove_op(conv.name)
    columns = graph.fresh_name(f"{base}__nhwc")
    _transpose(graph, f"{base}__to_nhwc", conv.inputs[0], columns, TO_NHWC)
    what = "1x1 convolution as MatMul"
    if _needs_im2col(conv, weight):
        patches = graph.fresh_name(f"{base}__patches")
        im2col = ops.Im2Col(
            name=graph.fresh_name(f"{base}__im2col"), inputs=[columns], outputs=[patches],
            kernel_shape=tuple(weight.shape[2:]), strides=tuple(conv.strides), pads=tuple(conv.pads),
            dilations=tuple(conv.dilations), pad_value=conv.pad_value,
        )
        add_inferred(graph, im2col)
        columns = patches
        what = f"Im2Col {weight.shape[2]}x{weight.shape[3]} + MatMul"
    matrix = new_constant(graph, f"{base}__weight", conv_weight_matrix(weight), weight_info.dtype)
    product = graph.fresh_name(f"{base}__nhwc_out")
    add_inferred(graph, ops.MatMul(name=base, inputs=[columns, matrix], outputs=[product]))
    if len(conv.inputs) > 2:
        product = _add_bias(graph, base, product, conv.inputs[2])
    _transpose(graph, f"{base}__to_nchw", product, conv.outputs[0], TO_NCHW)
    return f"node '{base}': Conv lowered to NHWC {what} with weight {tuple(graph.tensors[matrix].shape)}"


def _add_bias(graph: Graph, base: str, product: str, bias: str) -> str:
    """``y' + b`` with the bias as a channels-last (1, 1, 1, M) constant."""
    info = graph.tensors[bias]
    value = new_constant(graph, f"{base}__bias", info.value.reshape(1, 1, 1, -1), info.dtype)
    total = graph.fresh_name(f"{base}__biased")
    add_inferred(graph, ops.Add(name=graph.fresh_name(f"{base}__bias_add"), inputs=[product, value], outputs=[total]))
    return total


class LowerConv(Pass):
    """Pad -> Conv merging, then Conv -> Transpose, Im2Col, MatMul, Transpose (module docstring)."""

    name = "lower_conv"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        merge_pads(graph, notes)
        for op in graph.ops():
            if not isinstance(op, ops.Conv):
                continue
            reason = why_not_lowered(graph, op)
            if reason is None:
                notes.append(lower_conv(graph, op))
            else:
                refusals.record(graph, op, reason, self.name)
        if notes:
            reinfer(graph)
