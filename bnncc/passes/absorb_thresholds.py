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

The chain is taken as long as it can be: from the quantizer up through single-reader
element-wise ops to the *highest* integer tensor, so integer steps in between (a Relu on the
accumulator, ``relu(t) = max(t, 0)``; an integer bias ``t + b``; the ``2 p - K`` the XNOR
rewrite leaves) are part of ``f`` and not left behind as operations between hardware
stages. Relu is where this matters most. With ``theta_L`` the least value at which a
non-decreasing quantizer reaches level ``L``, ``Q(relu(v)) >= L  <=>  relu(v) >= theta_L
<=>  v >= theta_L`` if ``theta_L > 0``, and it always holds if ``theta_L <= 0``: the
threshold becomes ``theta_L`` where it is positive and ``-inf`` (the least ``t``, always
reached) elsewhere -- which is what the search finds, through any scales, offsets (bias)
and BatchNorm before or after the Relu, in any order and of any sign.

Any other activation ``g`` that is monotone in each channel joins the chain the same way
(:data:`MONOTONE_ACTIVATIONS`: LeakyRelu and PRelu with non-negative slopes, HardSigmoid,
Sigmoid, Tanh, Elu with ``alpha >= 0``, Selu, Softplus; HardTanh and Relu6 are ``Clip``):
``Q(g(v))`` is monotone in ``v``, so the search above finds ``T_L``, the least integer ``t``
with ``Q(g(f(t))) >= L``, by evaluating ``g`` exactly as its executor does (float32, the way
onnxruntime computes it), and the result is exact on every integer ``t`` of the range. A
decreasing ``g`` (HardSigmoid with ``alpha < 0``, Selu with ``gamma < 0``) gives a decreasing
channel, handled as a negative scale is. An activation that is not monotone for its
parameters (a negative LeakyRelu/PRelu slope, Elu with ``alpha < 0``, Sin, Cos, HardSwish)
stops the chain, and the reason is recorded naming it.

Integer ``Relu``/``Clip`` steps *after* the quantizer (``relu(code)`` of a signed code, a
QCDQ narrowing Clip) join it as well: ``g(Q(f(t)))`` for a non-decreasing integer map ``g``
is still a monotone integer-valued map of ``t`` with values in the output type, so the
code is ``min + #{L > min : g(Q(f(t))) >= L}``, which is what a MultiThreshold computes.

A max-pool on the way joins too, and the thresholds move in front of it: for a map ``F``
(the steps after the pool and the quantizer) that does not decrease in any channel,
``F(max_i f(t_i)) = max_i F(f(t_i))`` whatever the steps ``f`` before the pool, so
``Q(f2(maxpool(f1(t)))) = maxpool(MultiThreshold(t))`` with the thresholds of
``Q o f2 o f1`` (negated channels included). The pool then takes the maximum of narrow
codes instead of wide accumulators, and the product and its thresholds are one stage. (If
``F`` decreases somewhere the pool would have to become a min-pool: such a chain stops at
the pool.)

When the map decreases in a channel, the product writing ``t`` is negated in that channel:
a MatMul or Conv then computes ``t' = -t``, an XNOR-popcount ``p' = K - p`` (the popcount
of the negated weights); the thresholds are found on ``t'`` (``t = c - t'`` with ``c = 0``
or ``K``). A sum of two streams ``t = p x + q y`` (a residual join) is negated as a whole,
``t' = (-p) x + (-q) y``: when the map decreases in every channel; a map that decreases in
some channels only is refused, naming the join.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer
from bnncc.passes import refusals
from bnncc.passes.base import Pass
from bnncc.ir.ops.activation import MONOTONE_ACTIVATIONS, Activation
from bnncc.passes.patterns import per_channel, sole_consumer

CHAIN_OPS = (ops.Mul, ops.Add, ops.Relu, ops.Clip) + MONOTONE_ACTIVATIONS
#: Integer steps after a quantizer that join its MultiThreshold (non-decreasing maps).
TAIL_OPS = (ops.Relu, ops.Clip)
#: Most code levels a MultiThreshold is built for (16-bit codes: 65,535 thresholds per
#: channel); a wider quantizer stays a quantizer, with the reason recorded.
MAX_THRESHOLDS = 2**16 - 1
#: Products whose output channels can be negated (decreasing channels).
PRODUCTS = (ops.MatMul, ops.Conv, ops.XnorPopcountMatMul)


class AbsorbThresholds(Pass):
    """See the module docstring."""

    name = "absorb_thresholds"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for op in graph.ops():
            if isinstance(op, Quantizer) and graph.has_op(op.name):
                absorb(graph, op, notes)
        reinfer(graph)


def _chains(graph: Graph, quantizer) -> list[tuple[str, list]]:
    """Walk up from the quantizer's input through single-reader chain ops with per-channel
    constants (and at most one max-pool); every (t, [ops from t to the quantizer]) for an
    integer tensor t on the way, the highest first."""
    chain = []
    tensor = quantizer.inputs[0]
    found = []
    pooled = False
    while True:
        info = graph.tensors[tensor]
        if info.dtype.is_integer and info.batched:
            found.append((tensor, list(reversed(chain))))
        producer = graph.producer(tensor)
        if producer is None or sole_consumer(graph, tensor) is None:
            break
        if isinstance(producer, ops.MaxPool) and not pooled and graph.tensors[producer.inputs[0]].batched:
            pooled = True
        elif not _chain_step(graph, producer):
            _record_non_monotone(graph, producer, quantizer)
            _record_off_channel(graph, producer, quantizer)
            break
        chain.append(producer)
        tensor = producer.inputs[0]
    return list(reversed(found))


def _chain_step(graph: Graph, op) -> bool:
    """True if ``op`` is a chain op on a batched input with per-channel constants (an
    activation: one that is monotone in every channel for its parameters)."""
    if not isinstance(op, CHAIN_OPS):
        return False
    constants = [graph.constant(t) for t in op.inputs[1:]]
    if any(c is None for c in constants) or op.inputs[0] in op.inputs[1:]:
        return False
    rank = len(graph.tensors[op.inputs[0]].shape)
    if rank < 2 or any(per_channel(c, rank, 1) is None for c in constants):
        return False
    return not isinstance(op, Activation) or op.monotone(*constants) is None


def _record_non_monotone(graph: Graph, op, quantizer) -> None:
    """Record why an activation that is not monotone (for its parameters) stops the chain of
    ``quantizer``: thresholds describe monotone maps only."""
    if not isinstance(op, Activation):
        return
    constants = [graph.constant(t) for t in op.inputs[1:]]
    if any(c is None for c in constants):
        reason = "its parameters are computed at run time, so it cannot become thresholds"
    else:
        rank = len(graph.tensors[op.inputs[0]].shape)
        if rank < 2 or any(per_channel(c, rank, 1) is None for c in constants):
            reason = "its parameters vary within a channel, so it cannot become per-channel thresholds"
        else:
            why = op.monotone(*constants)
            if why is None:
                return
            reason = (f"{why}; only a monotone activation before a quantizer becomes thresholds "
                      f"(quantizer '{quantizer.name}')")
    refusals.record(graph, op, reason, AbsorbThresholds.name)
    refusals.record(graph, quantizer, reason, AbsorbThresholds.name, cause=op)
    producer = graph.producer(op.inputs[0])
    while isinstance(producer, CHAIN_OPS) and sole_consumer(graph, producer.outputs[0]) is not None:
        # the scales and offsets streamlined down to the activation are stuck there too
        refusals.record(graph, producer, reason, AbsorbThresholds.name, cause=op)
        producer = graph.producer(producer.inputs[0])


def _record_off_channel(graph: Graph, op, quantizer) -> None:
    """Record why a scale or offset whose constant varies along an axis other than the
    channel axis 1 (a channels-last tensor, say) stops the chain of ``quantizer``: thresholds
    are per channel on axis 1."""
    if not isinstance(op, (ops.Mul, ops.Add)):
        return
    rank = len(graph.tensors[op.inputs[0]].shape)
    for name in op.inputs[1:]:
        value = graph.constant(name)
        if value is None or rank < 2 or per_channel(value, rank, 1) is not None:
            continue
        reason = (f"its constant '{name}' (shape {tuple(np.shape(value))}) varies along an axis other than the "
                  f"channel axis 1 of its {rank}-D input, so it cannot become per-channel thresholds "
                  f"(quantizer '{quantizer.name}')")
        refusals.record(graph, op, reason, AbsorbThresholds.name)
        refusals.record(graph, quantizer, reason, AbsorbThresholds.name, cause=op)
        return


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


def _integer_tail(graph: Graph, quantizer) -> list:
    """Integer Relu/Clip steps that only read the quantizer's code (and each other): a QCDQ
    narrowing Clip, a Relu of a signed code."""
    tail = []
    tensor = quantizer.outputs[0]
    while True:
        reader = sole_consumer(graph, tensor)
        if not isinstance(reader, TAIL_OPS) or reader.inputs[0] != tensor:
            return tail
        if not graph.tensors[reader.outputs[0]].dtype.is_integer:
            return tail
        tail.append(reader)
        tensor = reader.outputs[0]


def _evaluate(graph: Graph, chain, quantizer, t_values: np.ndarray, tail=()) -> np.ndarray:
    """Codes of chain + quantizer (+ a narrowing Clip) for integer accumulator values shaped
    (B, C, 1, ...)."""
    value = t_values
    for op in list(chain) + [quantizer] + list(tail):
        if isinstance(op, ops.MaxPool):
            continue  # element-wise probes: the pool is placed after the thresholds
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


#: Most (integer input, channel) pairs :func:`_check_every_input` evaluates; a wider
#: accumulator range relies on the monotonicity of each step alone.
MAX_EXHAUSTIVE = 1 << 22


def _check_every_input(evaluate, low: int, high: int, rank: int, thresholds: np.ndarray, decreasing: np.ndarray,
                       reflection: int, out_dtype: DataType) -> str | None:
    """None if the thresholds give the chain's code on every integer ``t`` in [low, high] of
    every channel (checked when the range is small enough), else why not: an activation
    evaluated in float32 may fail to be monotone in its last bit, and then no thresholds
    reproduce it on every input."""
    channels = thresholds.shape[0]
    if (high - low + 1) * channels > MAX_EXHAUSTIVE:
        return None
    step = max(1, MAX_EXHAUSTIVE // (8 * channels))
    levels = ops.MultiThreshold(name="check", out_dtype=out_dtype, channel_axis=1)
    for start in range(low, high + 1, step):
        t = np.arange(start, min(high, start + step - 1) + 1, dtype=np.int64)
        grid = _channel_probe(np.repeat(t, channels), t.size, channels, rank)
        expected = evaluate(grid).reshape(t.size, channels)
        flip = decreasing.reshape((1, channels) + (1,) * (rank - 2))
        [codes] = levels.execute(np.where(flip, reflection - grid, grid), thresholds)
        wrong = np.argwhere(codes.reshape(t.size, channels) != expected)
        if wrong.size:
            row, channel = wrong[0]
            return (f"the activation chain is not monotone in float32 (channel {int(channel)} at integer input "
                    f"{int(t[row])}), so no thresholds reproduce it on every input")
    return None


def _channel_probe(values: np.ndarray, n: int, channels: int, rank: int) -> np.ndarray:
    """Lay out (n * C) probe values as a (n, C, 1, ...) tensor: row i, channel c."""
    return values.reshape(_probe_shape(rank, channels, n))


def absorb(graph: Graph, quantizer, notes: list[str]) -> bool:
    """Replace the chain feeding ``quantizer`` and the quantizer by a MultiThreshold;
    record the reason on the graph and return False when it cannot."""
    candidates = _chains(graph, quantizer)
    if not candidates:
        return False  # real input (the host-side input quantizer, or a consequence upstream)
    reasons = []
    for t, chain in candidates:  # the longest chain first
        reason = _absorb(graph, quantizer, t, chain, notes)
        if reason is None:
            refusals.withdraw(graph, quantizer.name)
            return True
        reasons.append(reason)
    for op in candidates[0][1] + [quantizer]:  # every step left in place is stuck for this reason
        refusals.record(graph, op, reasons[0], AbsorbThresholds.name, cause=quantizer)
    return False


def absorb_below(graph: Graph, tensor: str, notes: list[str]) -> bool:
    """Absorb the quantizer reached from ``tensor`` through single-reader chain ops (the
    ``2 p - K`` restore steps of the XNOR rewrite, say), if there is one."""
    current = tensor
    while True:
        reader = sole_consumer(graph, current)
        if reader is None or reader.inputs[0] != current:
            return False
        if isinstance(reader, Quantizer):
            return absorb(graph, reader, notes)
        if not isinstance(reader, CHAIN_OPS):
            return False
        current = reader.outputs[0]


def _absorb(graph: Graph, quantizer, t: str, chain: list, notes: list[str]) -> str | None:
    """Absorb ``chain`` (from integer ``t``) and ``quantizer``; None, or why not."""
    info = graph.tensors[t]
    rank = len(info.shape)
    if rank < 2:
        return f"its integer input '{t}' has no channel axis (shape {info.shape})"
    if isinstance(quantizer, ops.MultiThreshold):
        if quantizer.channel_axis % rank != 1:
            return f"thresholds along axis {quantizer.channel_axis} (not the channel axis 1) cannot absorb a scale"
        if graph.constant(quantizer.inputs[1]) is None:
            return "thresholds computed at run time cannot become integer thresholds"
    channels = info.shape[1]
    tail = _integer_tail(graph, quantizer)
    final = tail[-1] if tail else quantizer
    out_dtype = graph.tensors[final.outputs[0]].dtype
    if out_dtype.max - out_dtype.min > MAX_THRESHOLDS:
        return (f"its {out_dtype} code would need {int(out_dtype.max - out_dtype.min):,} thresholds per channel; "
                f"at most {MAX_THRESHOLDS:,} (16-bit codes) become integer thresholds")
    low, high = int(info.dtype.min), int(info.dtype.max)
    evaluate = lambda values: _evaluate(graph, chain, quantizer, values, tail)
    pools = [op for op in chain if isinstance(op, ops.MaxPool)]
    if pools:
        after = chain[chain.index(pools[0]) + 1:]
        far = np.array([-1e12] * channels + [1e12] * channels)
        outer = _evaluate(graph, after, quantizer, _channel_probe(far, 2, channels, rank), tail).reshape(2, channels)
        if np.any(outer[0] > outer[1]):
            return (
                f"the steps after max-pool '{pools[0].name}' decrease in {int(np.count_nonzero(outer[0] > outer[1]))} "
                "channel(s) (a negative scale after the pool), so the pool cannot follow the thresholds"
            )
    ends = evaluate(_channel_probe(np.array([low] * channels + [high] * channels), 2, channels, rank)).reshape(2, channels)
    decreasing = ends[0] > ends[1]
    reflection = _reflection(graph, t)
    if np.any(decreasing) and is_integer_join(graph, t):
        increasing = ends[0] < ends[1]
        if np.any(increasing):
            return (
                f"the map from '{t}' to the code decreases in {int(np.count_nonzero(decreasing))} of {channels} "
                f"channels (a negative scale) and increases in {int(np.count_nonzero(increasing))}; '{t}' is a sum of "
                f"two streams (node '{graph.producer(t).name}'), which can be negated only in every channel at once"
            )
        decreasing = np.ones_like(decreasing)  # constant channels follow the others
    if np.any(decreasing) and reflection is None:
        producer = graph.producer(t)
        source = f"node '{producer.name}' ({producer.op_type})" if producer is not None else f"input '{t}'"
        return (
            f"the map from '{t}' to the code decreases in {int(np.count_nonzero(decreasing))} channel(s) (a negative "
            f"scale) and {source} is not a product with constant weights that could be negated"
        )
    levels = _levels(out_dtype)
    up = _search(evaluate, low, high, channels, rank, levels)
    down = _search(lambda values: evaluate((reflection or 0) - values), (reflection or 0) - high,
                   (reflection or 0) - low, channels, rank, levels)
    thresholds = np.where(decreasing[None, :], down, up).T
    if any(isinstance(op, Activation) for op in chain):
        problem = _check_every_input(evaluate, low, high, rank, thresholds, decreasing, reflection or 0, out_dtype)
        if problem is not None:
            return problem
    if np.any(decreasing):
        _negate_channels(graph, t, decreasing)
    name = new_constant(graph, f"{quantizer.name}_thresholds", thresholds, DataType.for_range(thresholds.min(), thresholds.max()))
    for op in chain + tail:
        graph.remove_op(op.name)
    graph.remove_op(quantizer.name)
    codes = graph.fresh_name(f"{quantizer.name}_unpooled") if pools else final.outputs[0]
    add_inferred(graph, ops.MultiThreshold(
        name=quantizer.name, inputs=[t, name], outputs=[codes], out_dtype=out_dtype, channel_axis=1,
    ))
    flipped = int(np.count_nonzero(decreasing))
    detail = f"; {flipped} channel(s) with negative scale negated" if flipped else ""
    if pools:
        add_inferred(graph, pools[0].clone(inputs=[codes], outputs=[final.outputs[0]]))
        detail += f"; max-pool '{pools[0].name}' now follows the thresholds"
        chain = [op for op in chain if op is not pools[0]]
    after = f" and {len(tail)} integer step(s) after it" if tail else ""
    notes.append(
        f"node '{quantizer.name}': {len(chain)} element-wise op(s), {quantizer.op_type}{after} absorbed into "
        f"{thresholds.shape[1]} integer threshold(s) per channel{detail}"
    )
    return None


def is_integer_join(graph: Graph, t: str) -> bool:
    """True if ``t`` is the sum of two integer streams (an Add join, its operands possibly
    integer multiples ``Mul(x, p)``) read by one operation."""
    producer = graph.producer(t)
    return (
        isinstance(producer, ops.Add) and len(producer.inputs) == 2 and producer.inputs[0] != producer.inputs[1]
        and all(graph.constant(x) is None and graph.tensors[x].dtype.is_integer for x in producer.inputs)
        and graph.tensors[t].dtype.is_integer and sole_consumer(graph, t) is not None
    )


def _negate_join(graph: Graph, t: str) -> None:
    """Make the sum writing ``t`` compute ``-t``: ``(-p) x + (-q) y``."""
    join = graph.producer(t)
    inputs = []
    for operand in join.inputs:
        producer = graph.producer(operand)
        factor = graph.constant(producer.inputs[1]) if isinstance(producer, ops.Mul) else None
        if factor is not None and factor.size == 1 and sole_consumer(graph, operand) is join:
            negated = -np.asarray(factor, dtype=np.int64).reshape(())
            name = new_constant(graph, f"{producer.inputs[1]}_negated", negated, DataType.for_range(int(negated), int(negated)))
            graph.replace_op(producer.name, producer.clone(inputs=[producer.inputs[0], name]))
            inputs.append(operand)
            continue
        minus_one = new_constant(graph, f"{join.name}_minus_one", np.asarray(-1, dtype=np.int64), DataType.int(1))
        negated = graph.fresh_name(f"{operand}__negated")
        add_inferred(graph, ops.Mul(name=graph.fresh_name(f"{join.name}_negate"), inputs=[operand, minus_one],
                                    outputs=[negated]))
        inputs.append(negated)
    graph.replace_op(join.name, join.clone(inputs=inputs))


def _reflection(graph: Graph, t: str) -> int | None:
    """``c`` such that negating the weights of the product writing ``t`` makes it compute
    ``c - t`` (0 for MatMul/Conv, K for XNOR-popcount; 0 for a sum of two streams, whose
    multipliers are negated, in every channel at once), or None if it cannot be negated."""
    if is_integer_join(graph, t):
        return 0
    producer = graph.producer(t)
    if not (
        isinstance(producer, PRODUCTS)
        and graph.constant(producer.inputs[1]) is not None
        and len(producer.inputs) == 2
        and sole_consumer(graph, t) is not None
    ):
        return None
    if isinstance(producer, ops.XnorPopcountMatMul):
        return int(graph.constant(producer.inputs[1]).shape[0])
    return 0


def _negate_channels(graph: Graph, t: str, mask: np.ndarray) -> None:
    """Negate the weights of the output channels in ``mask`` of the product writing ``t``
    (every channel of a sum of two streams: its multipliers)."""
    if is_integer_join(graph, t):
        _negate_join(graph, t)
        return
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
