"""Tidy: the clean-up every later pass relies on.

* Identity operations disappear.
* ``Gemm(a, b, c) = alpha * a @ op(b) + beta * c`` becomes ``MatMul`` (with ``b`` transposed
  when ``transB``), then ``Mul(alpha)`` and ``Add(beta * c)`` where they are not 1 and 0.
* Operations whose inputs are all constant are evaluated, except a ``Dequantize`` feeding a
  weight: quantized weights stay integers.
* Shape operations on a de-quantized weight move onto the integer weight:
  ``T(Dequantize(q; s, z)) = Dequantize(T(q); T(s), T(z))`` (s and z broadcast to q first).
* Weight scales move behind the product. For ``w = q * s`` with ``s`` constant along the
  reduction axis (one scale per output channel m): ``x @ w = (x @ q) * s[m]`` and
  ``conv(x, w) + b = conv(x, q) * s[m] + b[m]``. The integer weight is left alone.
* Any other ``Dequantize`` of a constant (a quantized bias, say) becomes a real constant.
* Layout transposes sink through element-wise steps and cancel in pairs
  (:mod:`bnncc.passes.sink_transposes`), so the steps between channels-last layers run on
  NCHW tensors.

A grouped convolution that cannot be lowered (its group does not divide its channels)
keeps its real weights; the reason is recorded for it
(:mod:`bnncc.passes.refusals`).
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import FLOAT32
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, fold_into_constants, new_constant
from bnncc.ir.graph import Graph
from bnncc.passes import refusals
from bnncc.passes.base import Pass
from bnncc.passes.lower_conv import group_reason
from bnncc.passes.sink_transposes import sink_transposes
from bnncc.passes.patterns import broadcast_to_tensor, channel_shape, compress, emit_affine, sole_consumer

SHAPE_OPS = (ops.Transpose, ops.Reshape, ops.Flatten, ops.Squeeze, ops.Unsqueeze)
WEIGHT_READERS = (ops.MatMul, ops.Conv, ops.Gemm)


class Tidy(Pass):
    """See the module docstring."""

    name = "tidy"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        remove_identities(graph, notes)
        fold_constants(graph, notes)
        lower_gemms(graph, notes)
        changed = True
        while changed:
            changed = any(
                [
                    fold_constants(graph, notes),
                    push_shape_ops_into_weights(graph, notes),
                    move_weight_scales(graph, notes),
                    fold_loose_dequantize(graph, notes),
                    sink_transposes(graph, notes),
                ]
            )


def remove_identities(graph: Graph, notes: list[str]) -> bool:
    """Drop ``Identity`` nodes whose output is not a graph output."""
    changed = False
    for op in graph.ops():
        if isinstance(op, ops.Identity) and op.outputs[0] not in graph.outputs:
            graph.remove_op(op.name)
            graph.rewire(op.outputs[0], op.inputs[0])
            notes.append(f"node '{op.name}': identity removed")
            changed = True
    return changed


def fold_constants(graph: Graph, notes: list[str]) -> bool:
    """Evaluate operations whose inputs are all constant (weight de-quantizers excepted)."""
    changed = False
    for op in graph.ops():
        if isinstance(op, ops.Dequantize) or any(t in graph.outputs for t in op.outputs):
            continue
        if all(graph.constant(t) is not None for t in op.inputs if t):
            fold_into_constants(graph, op)
            graph.remove_op(op.name)
            notes.append(f"node '{op.name}': folded into a constant")
            changed = True
    return changed


def lower_gemms(graph: Graph, notes: list[str]) -> bool:
    """``Gemm`` -> ``MatMul`` (+ ``Mul(alpha)``) (+ ``Add(beta * c)``)."""
    changed = False
    for op in graph.ops():
        if not isinstance(op, ops.Gemm):
            continue
        graph.remove_op(op.name)
        b = op.inputs[1]
        if op.trans_b:
            transposed = graph.fresh_name(f"{op.name}_bT")
            add_inferred(graph, ops.Transpose(name=transposed, inputs=[b], outputs=[transposed], perm=(1, 0)))
            b = transposed
        current = graph.fresh_name(f"{op.name}_matmul")
        add_inferred(graph, ops.MatMul(name=current, inputs=[op.inputs[0], b], outputs=[current]))
        steps = []
        if op.alpha != 1.0:
            steps.append((ops.Mul, "alpha", [op.alpha]))
        if len(op.inputs) > 2 and op.inputs[2]:
            steps.append((ops.Add, "bias", None))
        for index, (op_class, label, value) in enumerate(steps):
            target = op.outputs[0] if index == len(steps) - 1 else graph.fresh_name(f"{op.name}_{label}")
            if value is not None:
                emit_affine(graph, graph.fresh_name(f"{op.name}_{label}"), current, target, op_class, np.asarray(value))
            else:
                bias = _scaled_bias(graph, op)
                add_inferred(graph, ops.Add(name=graph.fresh_name(f"{op.name}_bias"), inputs=[current, bias], outputs=[target]))
            current = target
        if not steps:
            _rename_output(graph, current, op.outputs[0])
        notes.append(f"node '{op.name}': Gemm lowered to MatMul")
        changed = True
    return changed


def _scaled_bias(graph: Graph, op) -> str:
    """The tensor ``beta * c`` of a Gemm (a new constant, or a Mul node for computed c)."""
    c = op.inputs[2]
    if op.beta == 1.0:
        return c
    value = graph.constant(c)
    if value is not None:
        return new_constant(graph, f"{op.name}_beta_c", op.beta * value.astype(np.float64), FLOAT32)
    scaled = graph.fresh_name(f"{op.name}_beta_c")
    emit_affine(graph, scaled, c, scaled, ops.Mul, np.asarray(op.beta))
    return scaled


def _rename_output(graph: Graph, current: str, wanted: str) -> None:
    """Make the op writing ``current`` write ``wanted`` instead."""
    producer = graph.producer(current)
    graph.replace_op(producer.name, producer.clone(outputs=[wanted if t == current else t for t in producer.outputs]))
    graph.tensors[wanted] = graph.tensors.pop(current)


def _dequantized_constant(graph: Graph, tensor: str):
    """The Dequantize op producing ``tensor`` from a constant integer tensor, or None."""
    producer = graph.producer(tensor)
    if isinstance(producer, ops.Dequantize) and graph.constant(producer.inputs[0]) is not None:
        return producer
    return None


def push_shape_ops_into_weights(graph: Graph, notes: list[str]) -> bool:
    """``T(Dequantize(q; s, z))`` -> ``Dequantize(T(q); T(s), T(z))`` for shape ops T."""
    changed = False
    for op in graph.ops():
        if not isinstance(op, SHAPE_OPS):
            continue
        dequantize = _dequantized_constant(graph, op.inputs[0])
        if dequantize is None or sole_consumer(graph, op.inputs[0]) is not op:
            continue
        q = graph.constant(dequantize.inputs[0])
        [moved] = op.execute(q)
        scale = compress(op.execute(broadcast_to_tensor(dequantize.scale, q.shape))[0])
        zero_point = compress(op.execute(broadcast_to_tensor(dequantize.zero_point, q.shape))[0])
        integer = new_constant(graph, f"{op.name}_q", moved, graph.tensors[dequantize.inputs[0]].dtype)
        graph.remove_op(op.name)
        graph.remove_op(dequantize.name)
        add_inferred(
            graph,
            ops.Dequantize(name=graph.fresh_name(f"{op.name}_dequantize"), inputs=[integer], outputs=[op.outputs[0]],
                           scale=scale.astype(np.float64), zero_point=zero_point.astype(np.float64)),
        )
        notes.append(f"node '{op.name}': {op.op_type} moved onto the integer weight")
        changed = True
    return changed


def _output_channel_scale(dequantize, q: np.ndarray, reduce_axes) -> np.ndarray | None:
    """Per-output-channel scale of ``w = (q - z) * s`` when z == 0 and s is constant along
    ``reduce_axes``; else None."""
    if np.any(dequantize.zero_point != 0):
        return None
    full = broadcast_to_tensor(dequantize.scale, q.shape)
    reduced = full
    for axis in reduce_axes:
        reduced = reduced.take([0], axis=axis)
    if not np.all(full == reduced):
        return None
    return reduced.reshape(-1)


def move_weight_scales(graph: Graph, notes: list[str]) -> bool:
    """``x @ (q * s) = (x @ q) * s`` and ``conv(x, q * s) + b = conv(x, q) * s + b``."""
    changed = False
    for op in graph.ops():
        if not isinstance(op, (ops.MatMul, ops.Conv)) or not graph.tensors[op.inputs[0]].batched:
            continue
        dequantize = _dequantized_constant(graph, op.inputs[1])
        if dequantize is None or sole_consumer(graph, op.inputs[1]) is not op:
            continue
        q = graph.constant(dequantize.inputs[0])
        conv = isinstance(op, ops.Conv)
        if conv and group_reason(graph, op):
            refusals.record(graph, op, group_reason(graph, op), Tidy.name)
            continue
        if (conv and q.ndim != 4) or (not conv and q.ndim != 2):
            continue
        scale = _output_channel_scale(dequantize, q, (1, 2, 3) if conv else (0,))
        if scale is None:
            continue
        rank = len(graph.tensors[op.outputs[0]].shape)
        axis = 1 if conv else rank - 1
        bias = op.inputs[2] if conv and len(op.inputs) > 2 else None
        graph.remove_op(op.name)
        product = graph.fresh_name(f"{op.name}_int")
        add_inferred(graph, op.clone(name=op.name, inputs=[op.inputs[0], dequantize.inputs[0]], outputs=[product]))
        scaled = op.outputs[0] if bias is None else graph.fresh_name(f"{op.name}_scaled")
        if np.all(scale == 1):
            _rename_output(graph, product, scaled)
        else:
            emit_affine(graph, graph.fresh_name(f"{op.name}_scale"), product, scaled, ops.Mul, channel_shape(scale, rank, axis))
        if bias is not None:
            bias_value = graph.constant(bias)
            if bias_value is None:  # a computed bias (a quantizer of a constant): the same channel shape
                bias_name = graph.fresh_name(f"{op.name}_bias_shaped")
                shape = tuple(channel_shape(np.zeros(graph.tensors[bias].shape[-1]), rank, axis).shape)
                add_inferred(graph, ops.Reshape(name=graph.fresh_name(f"{op.name}_bias_reshape"), inputs=[bias],
                                                outputs=[bias_name], shape=shape))
            else:
                bias_name = new_constant(
                    graph, f"{op.name}_bias", channel_shape(bias_value.astype(np.float64), rank, axis), FLOAT32
                )
            add_inferred(graph, ops.Add(name=graph.fresh_name(f"{op.name}_bias"), inputs=[scaled, bias_name], outputs=[op.outputs[0]]))
        notes.append(f"node '{op.name}': weight scale moved behind the product; integer weights kept")
        changed = True
    return changed


def fold_loose_dequantize(graph: Graph, notes: list[str]) -> bool:
    """Evaluate a ``Dequantize`` of a constant that no weight reader or shape op consumes."""
    changed = False
    for op in graph.ops():
        if not isinstance(op, ops.Dequantize) or graph.constant(op.inputs[0]) is None:
            continue
        if op.outputs[0] in graph.outputs:
            continue
        readers = graph.consumers(op.outputs[0])
        keeps = any(
            isinstance(r, SHAPE_OPS) or (isinstance(r, WEIGHT_READERS) and r.inputs[1:2] == [op.outputs[0]]) for r in readers
        )
        if keeps:
            continue
        fold_into_constants(graph, op)
        graph.remove_op(op.name)
        notes.append(f"node '{op.name}': constant de-quantized")
        changed = True
    return changed
