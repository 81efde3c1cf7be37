"""Absorb scales, offsets, BatchNorm and activation quantizers into integer thresholds.

After streamlining, a quantizer reads ``v = f(t)``, where ``t`` is an integer tensor (the
accumulator of a MatMul or Conv, or an integer input) and ``f`` is a chain of per-channel
element-wise operations that never reverse order within a channel: ``Mul`` by a constant of
either sign, ``Add``, ``Relu``, ``Clip``. The quantizer ``Q`` maps ``v`` to a code that only
grows (or only shrinks) with ``v``. So for channel c the composed map ``t -> Q(f(t))`` is
monotone, and each code level ``L`` is reached exactly on a half-line of integers:

* increasing channel: ``Q(f(t)) >= L  <=>  t >= T_L``, with ``T_L`` the smallest integer in
  ``t``'s range whose code is at least ``L`` (found by binary search, evaluating ``f`` and
  ``Q`` exactly as the executor does);
* decreasing channel (a negative BatchNorm or quantizer scale): ``Q(f(t)) >= L  <=>
  -t >= T_L`` with ``T_L`` found on ``-t``; the channel's weights are negated so the product
  computes ``-t`` directly;
* constant channel (a zero scale): every threshold is either ``min(t)`` (always reached) or
  ``max(t) + 1`` (never reached).

The chain and the quantizer (with a ``Clip`` that narrows its code, as QCDQ exports have)
become one ``MultiThreshold`` on ``t`` with integer thresholds ``T[c, L]``, writing the
quantizer's (or the Clip's) code tensor, so it is exact on every integer input
(a value exactly on a rounding boundary may still round differently in another engine's
float arithmetic; verification reports those apart).
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer
from bnncc.passes.base import Pass
from bnncc.passes.patterns import per_channel, sole_consumer

CHAIN_OPS = (ops.Mul, ops.Add, ops.Relu, ops.Clip)


class AbsorbThresholds(Pass):
    """See the module docstring."""

    name = "absorb_thresholds"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for op in graph.ops():
            if isinstance(op, Quantizer) and graph.has_op(op.name):
                absorb(graph, op, notes)
        reinfer(graph)


def _chain(graph: Graph, quantizer):
    """Walk up from the quantizer's input through single-reader chain ops to an integer
    tensor: (t, [chain ops from t to the quantizer]) or None."""
    chain = []
    tensor = quantizer.inputs[0]
    while True:
        info = graph.tensors[tensor]
        if info.dtype.is_integer and info.batched:
            return tensor, list(reversed(chain))
        producer = graph.producer(tensor)
        if not isinstance(producer, CHAIN_OPS) or sole_consumer(graph, tensor) is None:
            return None
        if len(producer.inputs) > 1 and any(graph.constant(t) is None for t in producer.inputs[1:]):
            return None
        chain.append(producer)
        tensor = producer.inputs[0]


def _levels(dtype: DataType) -> np.ndarray:
    """The code values L whose half-lines define the thresholds: every code above the
    type's minimum (for BIPOLAR just +1)."""
    if dtype == BIPOLAR:
        return np.array([1])
    return np.arange(int(dtype.min) + 1, int(dtype.max) + 1)


def _probe_shape(rank: int, channels: int, count: int) -> tuple[int, ...]:
    shape = [1] * rank
    shape[0], shape[1] = count, channels
    return tuple(shape)


def _integer_clip(graph: Graph, quantizer):
    """A Clip that narrows the quantizer's code (QCDQ: QuantizeLinear -> Clip), or None."""
    reader = sole_consumer(graph, quantizer.outputs[0])
    if isinstance(reader, ops.Clip) and graph.tensors[reader.outputs[0]].dtype.is_integer:
        return reader
    return None


def _evaluate(graph: Graph, chain, quantizer, t_values: np.ndarray, tail=()) -> np.ndarray:
    """Codes of chain + quantizer (+ a narrowing Clip) for integer accumulator values shaped
    (B, C, 1, ...)."""
    value = t_values
    for op in list(chain) + [quantizer] + list(tail):
        constants = [graph.constant(t) for t in op.inputs[1:]]
        [value] = op.execute(value, *constants)
    return value


def _search(evaluate, low: int, high: int, channels: int, rank: int, levels: np.ndarray) -> np.ndarray:
    """Per channel and level, the smallest t in [low, high] with evaluate(t) >= level, or
    high + 1 if none (evaluate is non-decreasing in t for every channel)."""
    n = levels.size
    lo = np.full((n, channels), low, dtype=np.int64)
    hi = np.full((n, channels), high + 1, dtype=np.int64)
    target = levels.reshape(n, 1)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        probe = np.minimum(mid, high).reshape((n * channels,) + (1,) * (rank - 1))
        codes = evaluate(_channel_probe(probe, n, channels, rank)).reshape(n, channels)
        reached = (codes >= target) & (mid <= high)
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid + 1)
    return lo


def _channel_probe(values: np.ndarray, n: int, channels: int, rank: int) -> np.ndarray:
    """Lay out (n * C) probe values as a (n, C, 1, ...) tensor: row i, channel c."""
    return values.reshape(_probe_shape(rank, channels, n))


def absorb(graph: Graph, quantizer, notes: list[str]) -> bool:
    """Replace the chain feeding ``quantizer`` and the quantizer by a MultiThreshold."""
    found = _chain(graph, quantizer)
    if found is None:
        return False
    t, chain = found
    info = graph.tensors[t]
    rank = len(info.shape)
    if rank < 2:
        return False
    if isinstance(quantizer, ops.MultiThreshold) and quantizer.channel_axis % rank != 1:
        return False
    channels = info.shape[1]
    for op in chain:
        for constant in op.inputs[1:]:
            if per_channel(graph.constant(constant), rank, 1) is None:
                return False
    if isinstance(quantizer, ops.MultiThreshold) and graph.constant(quantizer.inputs[1]) is None:
        return False
    clip = _integer_clip(graph, quantizer)
    final = clip or quantizer
    out_dtype = graph.tensors[final.outputs[0]].dtype
    low, high = int(info.dtype.min), int(info.dtype.max)
    tail = [clip] if clip else []
    evaluate = lambda values: _evaluate(graph, chain, quantizer, values, tail)
    ends = evaluate(_channel_probe(np.array([low] * channels + [high] * channels), 2, channels, rank)).reshape(2, channels)
    decreasing = ends[0] > ends[1]
    if np.any(decreasing) and not _can_negate(graph, t):
        return False
    levels = _levels(out_dtype)
    up = _search(evaluate, low, high, channels, rank, levels)
    down = _search(lambda values: evaluate(-values), -high, -low, channels, rank, levels)
    thresholds = np.where(decreasing[None, :], down, up).T
    if np.any(decreasing):
        _negate_channels(graph, t, decreasing)
    name = new_constant(graph, f"{quantizer.name}_thresholds", thresholds, DataType.for_range(thresholds.min(), thresholds.max()))
    for op in chain + tail:
        graph.remove_op(op.name)
    graph.remove_op(quantizer.name)
    add_inferred(graph, ops.MultiThreshold(
        name=quantizer.name, inputs=[t, name], outputs=[final.outputs[0]], out_dtype=out_dtype, channel_axis=1,
    ))
    flipped = int(np.count_nonzero(decreasing))
    detail = f"; {flipped} channel(s) with negative scale negated" if flipped else ""
    notes.append(
        f"node '{quantizer.name}': {len(chain)} element-wise op(s) and {quantizer.op_type} absorbed into "
        f"{thresholds.shape[1]} integer threshold(s) per channel{detail}"
    )
    return True


def _can_negate(graph: Graph, t: str) -> bool:
    producer = graph.producer(t)
    return (
        isinstance(producer, (ops.MatMul, ops.Conv))
        and graph.constant(producer.inputs[1]) is not None
        and len(producer.inputs) == 2
        and sole_consumer(graph, t) is not None
    )


def _negate_channels(graph: Graph, t: str, mask: np.ndarray) -> None:
    """Negate the weights of the output channels in ``mask`` of the product writing ``t``."""
    producer = graph.producer(t)
    weight = graph.constant(producer.inputs[1])
    sign = np.where(mask, -1, 1)
    if isinstance(producer, ops.Conv):
        flipped = weight * sign.reshape(-1, 1, 1, 1)
    else:
        flipped = weight * sign.reshape(1, -1)
    dtype = DataType.for_range(int(flipped.min()), int(flipped.max()))
    if graph.tensors[producer.inputs[1]].dtype == BIPOLAR:
        dtype = BIPOLAR
    name = new_constant(graph, f"{producer.name}_w_signed", flipped, dtype)
    graph.replace_op(producer.name, producer.clone(inputs=[producer.inputs[0], name]))
