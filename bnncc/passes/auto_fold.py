"""Automatic folding: choose PE and SIMD for every hardware stage so that the pipeline
reaches a target number of cycles per frame with as little hardware as possible.

A stage's cycles per frame fall as its parallelism grows:

* MVAU: ``V * (MH / PE) * (MW / SIMD)`` for V vectors per frame; it costs about
  ``PE * SIMD`` multiply-accumulate units (an XNOR-popcount bit is cheaper than a multi-bit
  product, see :func:`mac_cost`);
* sliding window: ``max(in, out)`` beats per frame at SIMD channels per beat; its SIMD is
  tied to the consumer's (the largest common divisor with the channel count);
* max pool, thresholding, label select: elements per frame / PE.

Each MVAU takes the cheapest (PE, SIMD) that meets the target (PE divides MH, SIMD divides
MW; for a convolution SIMD is preferred among divisors of the channel count, so the sliding
window keeps up); the other stages take the smallest PE that meets it. No stage is made
faster than the target needs. If some stage cannot meet it at full parallelism, the result
says so and gives the best achievable cycles per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bnncc.datatype import BIPOLAR
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def mac_cost(graph: Graph, op: hw.MVAU) -> float:
    """Relative LUT cost of one multiply-accumulate lane of an MVAU."""
    if op.binary_xnor:
        return 1.0
    x_bits = element_bits(graph.tensors[op.inputs[0]].dtype)
    w_bits = element_bits(graph.tensors[op.inputs[1]].dtype)
    return 1.0 + 1.5 * x_bits * w_bits


@dataclass
class FoldingPlan:
    """The chosen folding, the cycles each stage then needs, and whether the target holds."""

    table: dict[str, dict[str, int]]
    cycles: dict[str, int]
    target: int

    @property
    def bottleneck(self) -> int:
        return max(self.cycles.values())

    @property
    def met(self) -> bool:
        return self.bottleneck <= self.target


def _vectors(graph: Graph, op) -> int:
    shape = graph.tensors[op.inputs[0]].shape
    return int(np.prod(shape[1:-1])) if len(shape) > 2 else 1


def _mvau_choice(graph: Graph, op: hw.MVAU, target: int, window_channels: int | None):
    vectors = _vectors(graph, op)
    options = []
    for pe in divisors(op.mh):
        for simd in divisors(op.mw):
            cycles = vectors * (op.mh // pe) * (op.mw // simd)
            if window_channels is not None:
                window_simd = math.gcd(simd, window_channels)
                cycles = max(cycles, vectors * op.mw // window_simd)
            cost = pe * simd * mac_cost(graph, op) + pe * 8
            options.append((cycles > target, cost if cycles <= target else cycles, cycles, -simd, pe, simd))
    best = min(options)
    return best[4], best[5], best[2]


def plan_folding(graph: Graph, target: int) -> FoldingPlan:
    """Choose the folding of every stage of ``graph`` for ``target`` cycles per frame."""
    stages = [op for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)]
    table: dict[str, dict[str, int]] = {}
    cycles: dict[str, int] = {}
    for index, op in enumerate(stages):
        before = stages[index - 1] if index else None
        window = before.ifm_channels if isinstance(before, hw.SlidingWindow) else None
        if isinstance(op, hw.MVAU):
            pe, simd, needed = _mvau_choice(graph, op, target, window)
            table[op.name] = {"PE": pe, "SIMD": simd}
            cycles[op.name] = needed
        elif isinstance(op, hw.SlidingWindow):
            continue
        else:
            elements = int(np.prod(graph.tensors[op.inputs[0]].shape[1:]))
            channels = op.ifm_channels if isinstance(op, hw.StreamingMaxPool) else graph.tensors[op.inputs[0]].shape[-1]
            pe = next((d for d in divisors(channels) if elements // d <= target), channels)
            table[op.name] = {"PE": pe}
            cycles[op.name] = elements // pe
    for index, op in enumerate(stages):
        if isinstance(op, hw.SlidingWindow):
            consumer = stages[index + 1] if index + 1 < len(stages) else None
            simd = math.gcd(table.get(consumer.name, {}).get("SIMD", 1), op.ifm_channels) if consumer else 1
            table[op.name] = {"SIMD": simd}
            (oh, ow), (kh, kw) = op.ofm_dims, op.kernel_shape
            h, w = op.ifm_dims
            cycles[op.name] = max(h * w, oh * ow * kh * kw) * op.ifm_channels // simd
    return FoldingPlan(table, cycles, target)
