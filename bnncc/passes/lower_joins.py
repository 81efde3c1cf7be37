"""Joins of integer streams become hardware stages (part of ``to_hw``).

* ``Add(x', y')`` of two integer streams of one shape, where ``x'`` is ``x`` or an integer
  ``Mul(x, p)`` (a scalar integer multiplier streamline put there, read by the Add alone),
  becomes ``StreamAdd(x, y)`` with ``a_mul = p`` and ``b_mul = q``: ``p x + q y``.
* A BIPOLAR operand ``v = 2 bit - 1`` travels as its bit, and ``stream_add`` multiplies the
  bit: ``p v = 2p bit - p``. The stage gets the multiplier ``2p`` and computes
  ``s' = s + o`` with ``o`` the sum of ``p`` over bipolar operands. Every reader of the sum
  must then be a ``MultiThreshold`` with constant thresholds, which absorbs the offset:
  ``s >= T  <=>  s' >= T + o``. The stage writes a new tensor ``s'``; otherwise it keeps
  the Add's output name.
* ``Concat`` of integer streams of one element type along the last (NHWC channel) axis
  becomes ``StreamConcat``.

A join that cannot become a stage is left alone with the reason recorded
(:mod:`bnncc.passes.refusals`); ``host_partition`` reports it.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.ir import ops
from bnncc.ir.build import new_constant
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import StreamAdd, StreamConcat, is_integral, signed_for_range
from bnncc.passes import refusals
from bnncc.passes.patterns import sole_consumer

RULE = "to_hw"
#: Widest sum ``stream_add`` produces (OUT_BITS) and most inputs ``stream_concat`` joins (N_IN).
MAX_SUM_BITS = 32
MAX_CONCAT_INPUTS = 8


def _stream(graph: Graph, tensor: str):
    info = graph.tensors.get(tensor)
    if info is None or info.value is not None or not info.dtype.is_integer or not info.batched:
        return None
    return info


def _multiplied(graph: Graph, tensor: str, join) -> tuple[str, int, object]:
    """(source, integer multiplier, Mul op to remove or None) for an operand of ``join``."""
    producer = graph.producer(tensor)
    if isinstance(producer, ops.Mul) and sole_consumer(graph, tensor) is join:
        factor = graph.constant(producer.inputs[1])
        source = producer.inputs[0]
        if factor is not None and factor.size == 1 and is_integral(factor) and _stream(graph, source) is not None:
            return source, int(np.asarray(factor).reshape(())), producer
    return tensor, 1, None


def rewrite_add(graph: Graph, op: ops.Add, notes: list[str]) -> bool:
    """``Add`` of two integer streams -> ``StreamAdd`` (module docstring); True if rewritten."""
    if len(op.inputs) != 2 or op.inputs[0] == op.inputs[1]:
        return False
    infos = [_stream(graph, t) for t in op.inputs]
    if any(info is None for info in infos):
        return False
    if infos[0].shape != infos[1].shape or len(infos[0].shape) < 2:
        refusals.record(graph, op, f"adds streams of shapes {infos[0].shape} and {infos[1].shape}; a StreamAdd "
                                   "adds two streams of one shape", RULE)
        return False
    (a, p, mul_a), (b, q, mul_b) = (_multiplied(graph, t, op) for t in op.inputs)
    a_info, b_info = graph.tensors[a], graph.tensors[b]
    offset = sum(m for m, info in ((p, a_info), (q, b_info)) if info.dtype == BIPOLAR)
    readers = graph.consumers(op.outputs[0])
    if offset:
        problem = _offset_problem(graph, op, readers)
        if problem:
            _record_reader_cause(graph, op, readers) or refusals.record(graph, op, problem, RULE)
            return False
    a_mul = 2 * p if a_info.dtype == BIPOLAR else p
    b_mul = 2 * q if b_info.dtype == BIPOLAR else q
    stage = StreamAdd(name=op.name, inputs=[a, b], outputs=[op.outputs[0]], channels=int(a_info.shape[-1]),
                      a_dtype=a_info.dtype, b_dtype=b_info.dtype, out_dtype=DataType.int(2), a_mul=a_mul, b_mul=b_mul)
    stage.out_dtype = signed_for_range(*stage.result_range())
    if stage.out_dtype.bits > MAX_SUM_BITS:
        refusals.record(graph, op, f"its sum {p} * '{a}' + {q} * '{b}' needs {stage.out_dtype.bits} bits; stream_add "
                                   f"produces at most {MAX_SUM_BITS}", RULE)
        return False
    if offset:
        stage.outputs = [graph.fresh_name(f"{op.outputs[0]}__fields")]
        for reader in readers:
            _shift_thresholds(graph, reader, op.outputs[0], stage.outputs[0], offset)
    for mul in (mul_a, mul_b):
        if mul is not None:
            graph.remove_op(mul.name)
    graph.replace_op(op.name, stage)
    graph.set_tensor(stage.outputs[0], a_info.shape, stage.out_dtype, batched=True)
    shift = f"; bipolar operands as bits, thresholds of the readers shifted by {offset}" if offset else ""
    notes.append(f"node '{op.name}': Add -> StreamAdd ({a_mul} * '{a}' + {b_mul} * '{b}', output {stage.out_dtype}{shift})")
    return True


def _offset_problem(graph: Graph, op, readers) -> str | None:
    """Why the readers of a sum of bipolar operands cannot absorb the bits' offset."""
    if op.outputs[0] in graph.outputs:
        return "adds bipolar operands and its sum is a graph output; the bits' offset needs thresholds after it"
    for reader in readers:
        if not isinstance(reader, ops.MultiThreshold) or reader.inputs[0] != op.outputs[0] \
                or graph.constant(reader.inputs[1]) is None:
            return (f"adds bipolar operands, whose bits carry an offset that only thresholds after the sum absorb, "
                    f"but node '{reader.name}' ({reader.op_type}) reads the sum")
    return None


def _record_reader_cause(graph: Graph, op, readers) -> bool:
    """Record for ``op`` the reason an earlier pass gave for a reader of its output (a
    quantizer after the sum that did not become thresholds); True if there was one."""
    names = {reader.name for reader in readers}
    for entry in refusals.reasons(graph):
        if entry["node"] in names:
            graph.metadata[refusals.KEY].append({"node": op.name, "rule": RULE, "message": entry["message"]})
            return True
    return False


def _shift_thresholds(graph: Graph, reader: ops.MultiThreshold, old: str, new: str, offset: int) -> None:
    """Make ``reader`` read ``new = old + offset`` with thresholds ``T + offset``."""
    value = graph.constant(reader.inputs[1]).astype(np.float64) + offset
    dtype = DataType.for_range(int(value.min()), int(value.max())) if is_integral(value) and value.size else FLOAT32
    name = new_constant(graph, f"{reader.inputs[1]}_shifted", np.rint(value) if dtype.is_integer else value, dtype)
    graph.replace_op(reader.name, reader.clone(inputs=[new, name] + list(reader.inputs[2:])))


def rewrite_concat(graph: Graph, op: ops.Concat, notes: list[str]) -> bool:
    """``Concat`` of integer streams along the last axis -> ``StreamConcat``; True if rewritten."""
    infos = [_stream(graph, t) for t in op.inputs]
    if len(infos) < 2 or any(info is None for info in infos):
        return False
    rank = len(infos[0].shape)
    if op.axis % rank != rank - 1:
        refusals.record(graph, op, f"concatenates along axis {op.axis} of a rank-{rank} stream; a StreamConcat "
                                   "joins streams along the last (channel) axis", RULE)
        return False
    if len(infos) > MAX_CONCAT_INPUTS:
        refusals.record(graph, op, f"concatenates {len(infos)} streams; stream_concat joins at most "
                                   f"{MAX_CONCAT_INPUTS}", RULE)
        return False
    dtypes = sorted({str(info.dtype) for info in infos})
    if len(dtypes) > 1:
        refusals.record(graph, op, f"concatenates streams of element types {', '.join(dtypes)}; a StreamConcat "
                                   "joins streams of one element type (quantize the branches alike)", RULE)
        return False
    stage = StreamConcat(name=op.name, inputs=list(op.inputs), outputs=list(op.outputs),
                         channels=tuple(int(info.shape[-1]) for info in infos), dtype=infos[0].dtype)
    graph.replace_op(op.name, stage)
    notes.append(f"node '{op.name}': Concat -> StreamConcat (channels {list(stage.channels)}, {stage.dtype})")
    return True
