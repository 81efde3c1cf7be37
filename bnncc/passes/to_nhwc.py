"""Keep activations channels-last (NHWC) between layers by sinking layout transposes.

After :class:`~bnncc.passes.lower_conv.LowerConv` every convolution ends in
``T = Transpose(0,3,1,2)`` (NHWC -> NCHW), ``T(x)[n, c, h, w] = x[n, h, w, c]``, and the next
one starts with its inverse ``T^-1 = Transpose(0,2,3,1)``. This pass moves each ``T`` down
the graph, one consumer at a time, using identities that hold for every input:

* ``T^-1(T(x)) = x``: the pair cancels.
* Element-wise ``f`` with constants ``p`` broadcast against the NCHW tensor:
  ``f(T(x), p) = T(f(x, p'))`` where ``p'`` is ``p`` raised to rank 4 (leading 1s) and laid
  out NHWC, ``p' = p.transpose(0,2,3,1)``: per-channel (1, C, 1, 1) becomes (1, 1, 1, C);
  scalars stay. Covers Add, Sub, Mul, Div, Pow, Relu, Identity, Neg, Sign, Cast, Clip.
* ``MultiThreshold`` along NCHW axis ``a`` of ``T(x)`` is ``T`` of the same thresholds
  along NHWC axis ``(0,3,1,2)[a]`` of ``x`` (channel axis 1 becomes 3).
* ``MaxPool(T(x)) = T(MaxPoolNHWC(x))`` with the same window; nearest upsampling likewise,
  ``NearestUpsample(T(x)) = T(NearestUpsample(x))`` with the NHWC form's factors on axes 1, 2.
* A flatten to 2-D: ``Flatten(T(x))[n, c*H*W + h*W + w] = x[n, h, w, c] =
  Flatten(x)[n, (h*W + w)*C + c]``, i.e. ``Flatten(T(x)) = Flatten(x)[:, q]`` with
  ``q[(h*W + w)*C + c] = c*H*W + h*W + w``. When the flattened vector reaches a
  ``MatMul`` with a constant weight ``W`` (directly or through feature-wise ops), then
  ``Flatten(T(x)) @ W = Flatten(x) @ W[q]``: the Transpose disappears and the weight rows
  (and the rows of per-feature thresholds or constants on the way) are permuted by ``q``.
  For 1x1 spatial size ``q`` is the identity and nothing is permuted.

* A join of transposed streams: ``T(x) + T(y) = T(x + y)`` (same shapes) and
  ``concat_a(T(x_1), ..., T(x_k)) = T(concat_b(x_1, ..., x_k))`` with ``b = (0,3,1,2)[a]``
  (the NCHW channel axis 1 is NHWC axis 3). The rule waits until every operand is a ``T``
  (the other operands' transposes sink to the join first). When nothing else moves, an
  operand that no ``T`` writes (the host's input quantizer, say) is laid out NHWC by
  ``y = T(T^-1(y))``, the ``T^-1`` staying where ``y`` is computed.

A moved ``T`` writes the consumer's original output tensor, so every tensor name keeps its
NCHW meaning; tensors whose element order changes get new names. Transposes that reach a
graph output, or an op none of these rules covers, stay where they are, as does every
``Transpose(0,2,3,1)`` (e.g. the one after the host-side quantizer of the graph input).
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops.elementwise import Binary, Unary
from bnncc.ir.ops.upsample import NearestUpsample
from bnncc.passes.base import Pass
from bnncc.passes.patterns import record_alias

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)


def is_transpose(op, perm: tuple[int, ...]) -> bool:
    """True if ``op`` is a Transpose with permutation ``perm``."""
    return isinstance(op, ops.Transpose) and tuple(op.perm) == perm


def nhwc_flatten_order(channels: int, height: int, width: int) -> np.ndarray:
    """``q`` with ``q[(h*W + w)*C + c] = c*H*W + h*W + w``: NCHW-flatten index of each
    NHWC-flatten position."""
    return np.arange(channels * height * width).reshape(channels, height, width).transpose(1, 2, 0).reshape(-1)


def nhwc_constant(value: np.ndarray) -> np.ndarray | None:
    """A constant broadcast against an NCHW tensor, laid out for the NHWC tensor (rank raised
    to 4 with leading 1s, then axes (0,2,3,1)); one-element constants are returned as they
    are; None if the rank exceeds 4."""
    if value.size == 1:
        return value
    if value.ndim > 4:
        return None
    return np.ascontiguousarray(value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(TO_NHWC))


# -- rule 1: T^-1(T(x)) = x ---------------------------------------------------------------
def _cancel(graph: Graph, transpose, consumer) -> str | None:
    if not is_transpose(consumer, TO_NHWC):
        return None
    source, target = transpose.inputs[0], consumer.outputs[0]
    graph.remove_op(consumer.name)
    if target in graph.outputs:
        add_inferred(graph, ops.Identity(name=consumer.name, inputs=[source], outputs=[target]))
    else:
        graph.rewire(target, source)
    return f"node '{consumer.name}': cancelled against transpose '{transpose.name}' (NHWC -> NCHW -> NHWC)"


# -- rule 2: layout-free consumers ---------------------------------------------------------
def _binary_nhwc(graph: Graph, op, y: str, x: str):
    """Binary ``op`` of ``y`` and constants, rewritten for ``x``; None if not possible."""
    if graph.tensors[op.outputs[0]].shape != graph.tensors[y].shape:
        return None  # the constant would broadcast the activation to another shape
    relaid = {}
    for index, tensor in enumerate(op.inputs):
        if tensor == y:
            continue
        value = graph.constant(tensor)
        if value is None or graph.tensors[tensor].batched:
            return None
        relaid[index] = nhwc_constant(value)
        if relaid[index] is None:
            return None
    inputs = [x if tensor == y else tensor for tensor in op.inputs]
    for index, value in relaid.items():
        if value is not graph.constant(op.inputs[index]):
            inputs[index] = new_constant(graph, f"{op.inputs[index]}__nhwc", value, graph.tensors[op.inputs[index]].dtype)
    changed = [op.inputs[i] for i in relaid if inputs[i] != op.inputs[i]]
    return op.clone(inputs=inputs), f"constants {changed} laid out NHWC" if changed else ""


def _nhwc_form(graph: Graph, op, y: str, x: str):
    """(op rewritten to read the NHWC tensor ``x`` instead of ``y = T(x)``, what changed),
    or None if ``op`` is not layout-free."""
    if len(op.outputs) != 1:
        return None
    if isinstance(op, ops.MultiThreshold):
        if op.inputs[0] != y or y in op.inputs[1:]:
            return None
        axis = TO_NCHW[op.channel_axis % 4]
        return op.clone(inputs=[x] + op.inputs[1:], channel_axis=axis), f"channel_axis {op.channel_axis} -> {axis}"
    if isinstance(op, ops.MaxPool):
        nhwc = ops.MaxPoolNHWC(name=op.name, inputs=[x], outputs=list(op.outputs), **op.attributes())
        return nhwc, "MaxPool -> MaxPoolNHWC"
    if isinstance(op, NearestUpsample) and not op.channels_last:
        return op.clone(inputs=[x], channels_last=True), "channels last"
    if isinstance(op, (Unary, ops.Clip)):
        return op.clone(inputs=[x]), ""
    if isinstance(op, Binary):
        return _binary_nhwc(graph, op, y, x)
    return None


def _through_layout_free(graph: Graph, transpose, consumer) -> str | None:
    x, y = transpose.inputs[0], transpose.outputs[0]
    form = _nhwc_form(graph, consumer, y, x)
    if form is None:
        return None
    nhwc_op, what = form
    target = consumer.outputs[0]
    nhwc_out = graph.fresh_name(f"{target}__nhwc")
    graph.remove_op(consumer.name)
    add_inferred(graph, nhwc_op.clone(outputs=[nhwc_out]))
    record_alias(graph, nhwc_out, target, perm=(0, 2, 3, 1))
    name = graph.fresh_name(f"{consumer.name}__to_nchw")
    add_inferred(graph, ops.Transpose(name=name, inputs=[nhwc_out], outputs=[target], perm=TO_NCHW))
    detail = f" ({what})" if what else ""
    return f"node '{consumer.name}': now on NHWC data{detail}; transpose '{transpose.name}' moved below it as '{name}'"


# -- rule 3: flatten feeding a MatMul with constant weights ---------------------------------
def _feature_params(graph: Graph, op, tensor: str, features: int) -> dict[int, int] | None:
    """For ``op`` reading the flattened (N, F) ``tensor`` element by element (or a MatMul
    with a constant (F, M) weight): ``{input index: axis}`` of the constants indexed by
    feature (those must be permuted with the features); None if ``op`` is neither."""
    if isinstance(op, ops.MatMul):
        weight = graph.constant(op.inputs[1])
        if op.inputs[0] != tensor or weight is None or weight.ndim != 2 or weight.shape[0] != features:
            return None
        return {1: 0}
    if isinstance(op, ops.MultiThreshold):
        if op.inputs[0] != tensor or tensor in op.inputs[1:] or op.channel_axis % 2 != 1:
            return None
        return {1: 0} if graph.tensors[op.inputs[1]].shape[0] == features else {}
    if isinstance(op, (Unary, ops.Clip)):
        return {}
    if isinstance(op, Binary):
        params = {}
        for index, name in enumerate(op.inputs):
            value = graph.constant(name)
            if name == tensor:
                continue
            if value is None or graph.tensors[name].batched:
                return None
            if value.size == 1:
                continue
            if value.shape not in ((features,), (1, features)):
                return None
            params[index] = value.ndim - 1
        return params
    return None


def _chain_to_matmul(graph: Graph, tensor: str, features: int):
    """``[(op, params), ...]``: the single-reader path of feature-wise ops from the flattened
    ``tensor`` to a MatMul with a constant weight (last); None if there is no such path."""
    chain = []
    while True:
        readers = graph.consumers(tensor)
        if tensor in graph.outputs or len(readers) != 1 or len(readers[0].outputs) != 1:
            return None
        op = readers[0]
        params = _feature_params(graph, op, tensor, features)
        if params is None:
            return None
        chain.append((op, params))
        if isinstance(op, ops.MatMul):
            return chain
        tensor = op.outputs[0]


def _flattens(graph: Graph, op, y: str) -> bool:
    """True if ``op`` turns the 4-D ``y`` into (N, C*H*W) in row-major order."""
    if not isinstance(op, (ops.Flatten, ops.Reshape)) or op.inputs[0] != y:
        return False
    shape = graph.tensors[y].shape
    return len(shape) == 4 and graph.tensors[op.outputs[0]].shape == (shape[0], int(np.prod(shape[1:])))


def _permute_chain(graph: Graph, chain, tensor: str, renamed: str, order: np.ndarray) -> None:
    """Rewrite ``chain`` to read ``renamed`` (= ``tensor[:, order]``), permuting its
    feature-indexed constants; intermediate tensors get new names, the MatMul keeps its output."""
    for op, params in chain:
        inputs = [renamed if name == tensor else name for name in op.inputs]
        for index, axis in params.items():
            info = graph.tensors[op.inputs[index]]
            inputs[index] = new_constant(graph, f"{op.inputs[index]}__nhwc", np.take(info.value, order, axis=axis), info.dtype)
        last = isinstance(op, ops.MatMul)
        outputs = list(op.outputs) if last else [graph.fresh_name(f"{op.outputs[0]}__nhwc")]
        graph.remove_op(op.name)
        add_inferred(graph, op.clone(inputs=inputs, outputs=outputs))
        if not last:
            record_alias(graph, outputs[0], op.outputs[0], order=order)
        tensor, renamed = op.outputs[0], outputs[0]


def _through_flatten(graph: Graph, transpose, flat) -> str | None:
    x, y = transpose.inputs[0], transpose.outputs[0]
    if not _flattens(graph, flat, y):
        return None
    _, height, width, channels = graph.tensors[x].shape
    order = nhwc_flatten_order(channels, height, width)
    chain = _chain_to_matmul(graph, flat.outputs[0], order.size)
    if chain is None:
        return None
    graph.remove_op(flat.name)
    matmul = chain[-1][0].name
    if np.array_equal(order, np.arange(order.size)):
        add_inferred(graph, flat.clone(inputs=[x]))
        return f"node '{flat.name}': flattens the NHWC tensor directly (transpose '{transpose.name}' removed; {height}x{width} spatial, no permutation of MatMul '{matmul}')"
    renamed = graph.fresh_name(f"{flat.outputs[0]}__nhwc")
    add_inferred(graph, flat.clone(inputs=[x], outputs=[renamed]))
    _permute_chain(graph, chain, flat.outputs[0], renamed, order)
    return (
        f"node '{flat.name}': flattens the NHWC tensor directly (transpose '{transpose.name}' removed); "
        f"weight rows of MatMul '{matmul}' permuted from c*H*W + h*W + w to (h*W + w)*C + c"
    )


# -- rule 4: joins of transposed streams ----------------------------------------------------
def _through_join(graph: Graph, transpose, join) -> str | None:
    if not isinstance(join, (ops.Add, ops.Concat)) or len(join.inputs) < 2 or len(set(join.inputs)) != len(join.inputs):
        return None
    producers = [graph.producer(t) for t in join.inputs]
    if not all(is_transpose(p, TO_NCHW) and len(graph.tensors[p.inputs[0]].shape) == 4 for p in producers):
        return None
    if isinstance(join, ops.Add) and graph.tensors[join.inputs[0]].shape != graph.tensors[join.inputs[1]].shape:
        return None
    sources = [p.inputs[0] for p in producers]
    changes = {"axis": TO_NCHW[join.axis % 4]} if isinstance(join, ops.Concat) else {}
    target = join.outputs[0]
    nhwc_out = graph.fresh_name(f"{target}__nhwc")
    graph.remove_op(join.name)
    add_inferred(graph, join.clone(inputs=sources, outputs=[nhwc_out], **changes))
    record_alias(graph, nhwc_out, target, perm=(0, 2, 3, 1))
    name = graph.fresh_name(f"{join.name}__to_nchw")
    add_inferred(graph, ops.Transpose(name=name, inputs=[nhwc_out], outputs=[target], perm=TO_NCHW))
    axis = f" (axis {join.axis} -> {changes['axis']})" if changes else ""
    return f"node '{join.name}': joins the NHWC streams{axis}; transposes {[p.name for p in producers]} moved below it as '{name}'"


def _align_join(graph: Graph, notes: list[str]) -> bool:
    """Once no other rule applies: give a join that reads some transposed streams ``T(x)``
    and some NCHW tensors ``y`` (the host's input quantizer, say) the pair
    ``y = T(T^-1(y))`` on each ``y``, so that the join rule takes it; True if one changed."""
    for join in graph.ops():
        if not isinstance(join, (ops.Add, ops.Concat)) or len(set(join.inputs)) != len(join.inputs) < 2:
            continue
        producers = [graph.producer(t) for t in join.inputs]
        transposed = [is_transpose(p, TO_NCHW) and len(graph.tensors[p.inputs[0]].shape) == 4 for p in producers]
        plain = [t for t, done in zip(join.inputs, transposed) if not done]
        if not any(transposed) or any(graph.constant(t) is not None or len(graph.tensors[t].shape) != 4 for t in plain):
            continue
        inputs = list(join.inputs)
        for tensor in plain:
            existing = [op for op in graph.consumers(tensor) if is_transpose(op, TO_NHWC)]
            nhwc, nchw = graph.fresh_name(f"{tensor}__nhwc"), graph.fresh_name(f"{tensor}__relaid")
            if existing:  # one NHWC copy of a tensor: its readers share one stream
                nhwc = existing[0].outputs[0]
            else:
                add_inferred(graph, ops.Transpose(name=graph.fresh_name(f"{join.name}__{tensor}_to_nhwc"),
                                                  inputs=[tensor], outputs=[nhwc], perm=TO_NHWC))
                record_alias(graph, nhwc, tensor, perm=TO_NHWC)
            add_inferred(graph, ops.Transpose(name=graph.fresh_name(f"{join.name}__{tensor}_to_nchw"), inputs=[nhwc],
                                              outputs=[nchw], perm=TO_NCHW))
            inputs[join.inputs.index(tensor)] = nchw
        graph.replace_op(join.name, join.clone(inputs=inputs))
        notes.append(f"node '{join.name}': NCHW operand(s) {plain} laid out NHWC to join the NHWC streams")
        return True
    return False


RULES = (_cancel, _through_flatten, _through_join, _through_layout_free)


class ToNHWC(Pass):
    """Sink every NHWC -> NCHW Transpose until it cancels or reaches a MatMul (module docstring)."""

    name = "to_nhwc"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        while self._step(graph, notes) or _align_join(graph, notes):
            pass
        if notes:
            reinfer(graph)

    @staticmethod
    def _step(graph: Graph, notes: list[str]) -> bool:
        """Apply the first rule that fits a (Transpose(0,3,1,2), consumer) pair; False if none."""
        for transpose in graph.ops():
            if not is_transpose(transpose, TO_NCHW) or len(graph.tensors[transpose.inputs[0]].shape) != 4:
                continue
            for consumer in graph.consumers(transpose.outputs[0]):
                for rule in RULES:
                    note = rule(graph, transpose, consumer)
                    if note:
                        notes.append(note)
                        return True
        return False
