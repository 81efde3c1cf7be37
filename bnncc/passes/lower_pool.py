"""Lower average pooling of quantized activations to an integer window sum and a scale.

After streamlining, an ``AveragePool`` reads ``x = t * a + b`` where ``t`` is an integer
tensor (a quantizer's code) and ``a``, ``b`` are per-channel constants (``Mul`` then
``Add``, either of them absent). Every window of the pool divides by the same count ``D``
(the importer refuses pools whose divisor varies at the border), so with ``S_p(t)`` the
window sums of ``t`` padded with ``p``:

* without padding, ``avgpool(t * a + b) = S(t) * (a / D) + b`` (``D = kh * kw``);
* with ``count_include_pad`` the padding is a real zero, the code ``p = -b / a``, and
  ``avgpool(t * a + b) = (sum of x_pad over the window) / D = S_p(t) * (a / D) + b``
  exactly when ``p`` is an integer in every channel (else the reason is recorded).

For a BIPOLAR ``t`` (elements -1/+1, streamed as bits) the stage counts the +1s of each
window, ``P = (S + K) / 2`` for a window of ``K`` positions, and
``S * (a / D) + b = P * (2a / D) + (b - a K / D)``; its zero padding must then be -1 or +1.

``S`` is computed channels-last like a convolution: ``Transpose(0,2,3,1) -> Im2Col(kernel,
strides, pads, p) -> PoolSum(window=kh*kw) -> Transpose(0,3,1,2)``; a pool whose one window
covers the whole image is a global pool, ``Transpose(0,2,3,1) -> PoolSum(window=H*W) ->
Transpose(0,3,1,2)``, summing the pixel stream directly. The scale ``a / D`` and the offset
``b`` then move on as streamlining moves any scale (the moves of
:mod:`bnncc.passes.streamline` run again), so ``absorb_thresholds`` folds them, with the
quantizer after the pool, into integer thresholds on the sum. A ``Trunc`` after the pool
(Brevitas' ``TruncAvgPool2d``: the pool, a ``Mul`` by ``kh*kw``, then ``Trunc``) is such a
quantizer: ``Trunc(S(t) * a)`` becomes thresholds on ``S(t)``, exact with its rounding mode.

A pool whose input is not integers times per-channel constants (a real input), or whose
zero padding is not an integer code, is left as it is with the reason recorded
(:mod:`bnncc.passes.refusals`).
"""

from __future__ import annotations

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops.pool import AveragePool, PoolSum
from bnncc.passes import refusals
from bnncc.passes.base import Pass
from bnncc.passes.patterns import channel_shape, emit_affine, per_channel
from bnncc.passes.streamline import move_one, sink_relu

TO_NHWC = (0, 2, 3, 1)
TO_NCHW = (0, 3, 1, 2)


class LowerPool(Pass):
    """See the module docstring."""

    name = "lower_pool"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for op in graph.ops():
            if isinstance(op, AveragePool) and graph.has_op(op.name):
                reason = lower(graph, op, notes)
                if reason is not None:
                    refusals.record(graph, op, reason, self.name)
        if notes:
            while move_one(graph, notes) or sink_relu(graph, notes):
                pass
            reinfer(graph)


def integer_source(graph: Graph, tensor: str):
    """``(t, a, b)`` with ``tensor = t * a + b``, ``t`` an integer stream and ``a``, ``b``
    per-channel vectors (length C or 1) of the canonical ``Mul``/``Add`` in front of it; or
    None."""
    scale, offset = np.ones(1), np.zeros(1)
    producer = graph.producer(tensor)
    for op_class in (ops.Add, ops.Mul):
        if not isinstance(producer, op_class) or graph.constant(producer.inputs[1]) is None:
            continue
        source = producer.inputs[0]
        if not graph.tensors[source].batched or graph.constant(source) is not None:
            return None
        vector = per_channel(graph.constant(producer.inputs[1]).astype(np.float64), 4, 1)
        if vector is None:
            return None
        if op_class is ops.Add:
            offset = vector
        else:
            scale = vector
        tensor, producer = source, graph.producer(source)
    info = graph.tensors[tensor]
    if not info.dtype.is_integer or not info.batched or info.value is not None:
        return None
    return tensor, scale, offset


def lower(graph: Graph, pool: AveragePool, notes: list[str]) -> str | None:
    """Rewrite ``pool`` as an integer window sum and a scale; None, or why not."""
    source = integer_source(graph, pool.inputs[0])
    if source is None:
        return "its input is not integer codes times a per-channel scale (no quantizer in front of it)"
    t, scale, offset = source
    _, channels, height, width = graph.tensors[t].shape
    divisors = pool.divisors(height, width)
    if divisors.min() != divisors.max():
        return f"the divisor varies at the border ({int(divisors.min())} to {int(divisors.max())} elements)"
    divisor = int(divisors.flat[0])
    bipolar = graph.tensors[t].dtype.kind == "BIPOLAR"
    pad_code = 0
    if any(pool.pads):
        if np.any(scale == 0) and np.any(offset != 0):
            return "a channel with zero scale and non-zero offset has no code for the zero padding"
        with np.errstate(divide="ignore", invalid="ignore"):
            codes = np.where(offset == 0, 0.0, -offset / scale)
        if not np.all(codes == np.round(codes)):
            shown = ", ".join(f"{v:g}" for v in sorted(set(codes.tolist()))[:4])
            return f"its zero padding is the code {shown}, not an integer code of its input"
        if bipolar and not np.all(np.abs(codes) == 1):
            return "zero padding of a bipolar input cannot be represented in 1 bit (count_include_pad=1 with pads)"
        pad_code = _pad_value(codes)
    graph.remove_op(pool.name)
    current = _window_sum(graph, pool, t, channels, (height, width), pad_code, bipolar)
    window = pool.kernel_shape[0] * pool.kernel_shape[1]
    if bipolar:  # the stage counts the +1s, p: the window's sum is 2 p - K
        scale, offset = 2 * scale, offset - scale * window / divisor
    scale_out = channel_shape(scale / divisor, 4, 1)
    steps = [(ops.Mul, scale_out)] + ([(ops.Add, channel_shape(offset, 4, 1))] if np.any(offset != 0) else [])
    for index, (op_class, value) in enumerate(steps):
        target = pool.outputs[0] if index == len(steps) - 1 else graph.fresh_name(f"{pool.name}_scaled")
        emit_affine(graph, graph.fresh_name(f"{pool.name}_{op_class.__name__.lower()}"), current, target, op_class, value)
        current = target
    form = "global sum" if summed_global(pool, height, width) else f"{pool.kernel_shape[0]}x{pool.kernel_shape[1]} window sum"
    notes.append(
        f"node '{pool.name}': AveragePool -> PoolSum ({form} of {divisor} positions of integer '{t}') "
        f"times scale / {divisor}"
    )
    return None


def summed_global(pool: AveragePool, height: int, width: int) -> bool:
    """True if the pool's only window is the whole unpadded image."""
    return not any(pool.pads) and tuple(pool.kernel_shape) == (height, width)


def _pad_value(codes: np.ndarray):
    """The padding code as Im2Col holds it: an int, or one value per channel."""
    codes = np.asarray(codes, dtype=np.float64).reshape(-1)
    if np.all(codes == codes[0]):
        return int(codes[0])
    return codes.astype(np.int64)


def _window_sum(graph: Graph, pool: AveragePool, t: str, channels: int, image, pad_code, bipolar: bool) -> str:
    """Add ``Transpose -> [Im2Col ->] PoolSum -> Transpose`` from ``t`` (the PoolSum keeps the
    pool's node name); returns the NCHW tensor of window sums."""
    base = pool.name
    nhwc = graph.fresh_name(f"{t}__nhwc")
    add_inferred(graph, ops.Transpose(name=graph.fresh_name(f"{base}__to_nhwc"), inputs=[t], outputs=[nhwc], perm=TO_NHWC))
    if summed_global(pool, *image):
        window, windows = image[0] * image[1], nhwc
    else:
        window = pool.kernel_shape[0] * pool.kernel_shape[1]
        windows = graph.fresh_name(f"{base}__windows")
        add_inferred(graph, ops.Im2Col(
            name=graph.fresh_name(f"{base}__im2col"), inputs=[nhwc], outputs=[windows],
            kernel_shape=tuple(pool.kernel_shape), strides=tuple(pool.strides), pads=tuple(pool.pads), pad_value=pad_code,
        ))
    sums = graph.fresh_name(f"{base}__sums_nhwc")
    add_inferred(graph, PoolSum(name=base, inputs=[windows], outputs=[sums],
                                channels=channels, window=window, count_ones=bipolar))
    out = graph.fresh_name(f"{base}__sums")
    add_inferred(graph, ops.Transpose(name=graph.fresh_name(f"{base}__to_nchw"), inputs=[sums], outputs=[out], perm=TO_NCHW))
    return out
