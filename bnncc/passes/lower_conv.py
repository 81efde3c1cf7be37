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

3. A depthwise convolution (``group == C == M``: every output channel reads its own input
   channel) becomes ``Transpose -> Im2Col -> VVAU(W3) [-> Add(bias)] -> Transpose`` with
   ``W3[u*KW + v, c] = W[c, 0, u, v]`` (K, C): the vector-vector unit multiplies channel
   ``c``'s window element at kernel position ``k`` with its own weight
   (:class:`~bnncc.ir.ops.vvau.VVAU`), reading the patch order of ``Im2Col`` above.

4. A grouped convolution (``1 < group``, not depthwise) is the dense convolution with the
   block-diagonal weight ``Wd[m, c, u, v] = W[m, c - g(m)*Cg, u, v]`` when ``c`` lies in the
   group ``g(m) = m // (M/group)`` of output channel ``m`` (``Cg = C/group`` channels each)
   and 0 elsewhere: the products with the zeros add nothing, so ``y`` is unchanged, and the
   result is lowered as in 2. It costs ``group`` times the multiply-accumulates of the
   grouped form (the MVAU also multiplies the zeros).

A depthwise convolution with a channel multiplier (``group == C``, ``M = k*C``, k > 1),
real-valued convolutions and those whose weights are computed at run time are left as they
are; the reason is recorded on the graph for that node (:mod:`bnncc.passes.refusals`), and
the hardware mapping reports it.
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops.vvau import VVAU, vvau_dtype
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
def is_depthwise(graph: Graph, conv: ops.Conv) -> bool:
    """True if ``conv`` is depthwise with channel multiplier 1 (``group == C == M``, C > 1)."""
    channels = graph.tensors[conv.inputs[0]].shape[1]
    outputs = graph.tensors[conv.inputs[1]].shape[0]
    return conv.group > 1 and conv.group == channels == outputs


def group_reason(graph: Graph, conv: ops.Conv) -> str | None:
    """Why a grouped convolution cannot be lowered (None if it can: group 1, depthwise with
    channel multiplier 1, or 1 < group < C)."""
    channels = graph.tensors[conv.inputs[0]].shape[1]
    outputs = graph.tensors[conv.inputs[1]].shape[0]
    if conv.group == 1 or is_depthwise(graph, conv) or conv.group < channels:
        return None
    return (
        f"depthwise convolution with channel multiplier {outputs // channels} (group={conv.group}, {channels} input "
        f"and {outputs} output channels) is not supported; only multiplier 1 (as many outputs as inputs) is"
    )


def block_diagonal(weight: np.ndarray, group: int) -> np.ndarray:
    """``Wd`` of a grouped weight ``W`` (M, C/group, KH, KW): (M, C, KH, KW), zero outside
    each output channel's group (module docstring, 4)."""
    m, cg = weight.shape[:2]
    dense = np.zeros((m, cg * group) + tuple(weight.shape[2:]), dtype=weight.dtype)
    per_group = m // group
    for g in range(group):
        dense[g * per_group:(g + 1) * per_group, g * cg:(g + 1) * cg] = weight[g * per_group:(g + 1) * per_group]
    return dense


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
    depthwise = is_depthwise(graph, conv)
    dense_from = conv.group if conv.group > 1 and not depthwise else 0
    if dense_from:
        weight = block_diagonal(weight, conv.group)
    graph.remove_op(conv.name)
    columns = graph.fresh_name(f"{base}__nhwc")
    _transpose(graph, f"{base}__to_nhwc", conv.inputs[0], columns, TO_NHWC)
    what = "1x1 convolution as MatMul"
    if depthwise:
        what = "1x1 depthwise convolution as VVAU"
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
    product = graph.fresh_name(f"{base}__nhwc_out")
    if depthwise:
        kernel = depthwise_weight(weight)
        matrix = new_constant(graph, f"{base}__weight", kernel, weight_info.dtype)
        acc_dtype = vvau_dtype(graph.tensors[columns], kernel)
        add_inferred(graph, VVAU(name=base, inputs=[columns, matrix], outputs=[product], channels=int(kernel.shape[1]),
                                 kernel=int(kernel.shape[0]), acc_dtype=acc_dtype))
        what = what.replace("MatMul", "VVAU")
    else:
        matrix = new_constant(graph, f"{base}__weight", conv_weight_matrix(weight), weight_info.dtype)
        add_inferred(graph, ops.MatMul(name=base, inputs=[columns, matrix], outputs=[product]))
        if dense_from:
            what += f" (group={dense_from} as a block-diagonal weight)"
    if len(conv.inputs) > 2:
        product = _add_bias(graph, base, product, conv.inputs[2])
    _transpose(graph, f"{base}__to_nchw", product, conv.outputs[0], TO_NCHW)
    return f"node '{base}': Conv lowered to NHWC {what} with weight {tuple(graph.tensors[matrix].shape)}"


def depthwise_weight(weight: np.ndarray) -> np.ndarray:
    """``W3[u*KW + v, c] = W[c, 0, u, v]``: (C, 1, KH, KW) -> (KH*KW, C)."""
    return np.ascontiguousarray(weight[:, 0].reshape(weight.shape[0], -1).T)


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
