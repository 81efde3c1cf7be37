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

3. A grouped convolution (``group = G > 1``, ``CG = C/G`` input and ``MG = M/G`` output
   channels per group; depthwise is ``CG = MG = 1``, a depthwise convolution with channel
   multiplier ``k`` is ``CG = 1, MG = k``) whose groups are small (``CG*MG <=``
   :data:`VVAU_GROUP_MACS`) becomes ``Transpose -> Im2Col -> VVAU(W3) [-> Add(bias)] ->
   Transpose`` with ``W3[u*KW + v, m*CG + j] = W[m, j, u, v]`` (K, M*CG): the vector-vector
   unit multiplies output channel ``m``'s kernel with the window of its own group
   ``g(m) = m // MG`` only (:class:`~bnncc.ir.ops.vvau.VVAU`), reading the patch order of
   ``Im2Col`` above, at ``CG*MG`` multiply-accumulates per group and kernel position.

4. A grouped convolution with larger groups is the dense convolution with the
   block-diagonal weight ``Wd[m, c, u, v] = W[m, c - g(m)*CG, u, v]`` when ``c`` lies in the
   group ``g(m)`` of output channel ``m`` and 0 elsewhere: the products with the zeros add
   nothing, so ``y`` is unchanged, and the result is lowered as in 2. It costs ``G`` times the
   multiply-accumulates of the grouped form (the MVAU also multiplies the zeros), but the
   MVAU folds down to one multiply-accumulate per cycle, while a VVAU lane computes a whole
   group's ``CG*MG`` products of a kernel position in one cycle: for large groups at low
   frame rates the VVAU's least parallelism would cost more than the dense MVAU's zeros.

Real-valued convolutions and those whose weights are computed at run time are left as they
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
#: The largest group (``CG*MG`` products per kernel position) lowered to a VVAU; larger
#: groups become a block-diagonal MVAU (module docstring, 3 and 4).
VVAU_GROUP_MACS = 16


def group_shape(graph: Graph, conv: ops.Conv) -> tuple[int, int, int]:
    """``(G, CG, MG)`` of ``conv``: groups, input and output channels per group."""
    channels = graph.tensors[conv.inputs[0]].shape[1]
    outputs = graph.tensors[conv.inputs[1]].shape[0]
    return conv.group, channels // conv.group, outputs // conv.group


def on_vvau(graph: Graph, conv: ops.Conv) -> bool:
    """True if the grouped ``conv`` is lowered to a VVAU (``group > 1`` and ``CG*MG <=``
    :data:`VVAU_GROUP_MACS`, module docstring 3)."""
    groups, per_in, per_out = group_shape(graph, conv)
    return groups > 1 and per_in * per_out <= VVAU_GROUP_MACS


def group_reason(graph: Graph, conv: ops.Conv) -> str | None:
    """Why a grouped convolution cannot be lowered: None, every ``group`` that divides the
    input and output channels is lowered (ONNX requires that it does)."""
    channels = graph.tensors[conv.inputs[0]].shape[1]
    outputs = graph.tensors[conv.inputs[1]].shape[0]
    if conv.group >= 1 and channels % conv.group == 0 and outputs % conv.group == 0:
        return None
    return f"group={conv.group} does not divide its {channels} input and {outputs} output channels"


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
    depthwise = on_vvau(graph, conv)
    dense_from = conv.group if conv.group > 1 and not depthwise else 0
    if dense_from:
        weight = block_diagonal(weight, conv.group)
    graph.remove_op(conv.name)
    columns = graph.fresh_name(f"{base}__nhwc")
    _transpose(graph, f"{base}__to_nhwc", conv.inputs[0], columns, TO_NHWC)
    what = "1x1 convolution as MatMul"
    if depthwise:
        what = "1x1 grouped convolution as VVAU"
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
        groups, per_in, per_out = group_shape(graph, conv)
        kernel = grouped_weight(weight)
        matrix = new_constant(graph, f"{base}__weight", kernel, weight_info.dtype)
        acc_dtype = vvau_dtype(graph.tensors[columns], kernel, per_in, per_out)
        add_inferred(graph, VVAU(name=base, inputs=[columns, matrix], outputs=[product], channels=groups * per_in,
                                 kernel=int(kernel.shape[0]), group_in=per_in, group_out=per_out, acc_dtype=acc_dtype))
        what = what.replace("MatMul", f"VVAU (group={groups}, {per_in} in and {per_out} out per group)")
    else:
        matrix = new_constant(graph, f"{base}__weight", conv_weight_matrix(weight), weight_info.dtype)
        add_inferred(graph, ops.MatMul(name=base, inputs=[columns, matrix], outputs=[product]))
        if dense_from:
            what += f" (group={dense_from} as a block-diagonal weight)"
    if len(conv.inputs) > 2:
        product = _add_bias(graph, base, product, conv.inputs[2])
    _transpose(graph, f"{base}__to_nchw", product, conv.outputs[0], TO_NCHW)
    return f"node '{base}': Conv lowered to NHWC {what} with weight {tuple(graph.tensors[matrix].shape)}"


def grouped_weight(weight: np.ndarray) -> np.ndarray:
    """``W3[u*KW + v, m*CG + j] = W[m, j, u, v]``: (M, CG, KH, KW) -> (KH*KW, M*CG)."""
    m, cg = weight.shape[:2]
    return np.ascontiguousarray(weight.reshape(m * cg, -1).T)


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
