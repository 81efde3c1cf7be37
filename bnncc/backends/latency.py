"""First-frame latency of a stitched design, estimated from each stage's stream pattern.

Input beats of a frame are taken to arrive evenly between the first and the last beat's
arrival times ``a0 <= a1``. A stage that needs ``h`` of its ``n`` input beats before its first
output, works through a frame in ``c`` cycles, and still has ``t`` cycles of work after its
last input beat then emits

    first output at  f = a0 + (a1 - a0) * h / n + d
    last output at   l = max(a1 + t, a0 + c) + d

with ``d`` cycles of register delay (the FIFO in front and the stage's own pipeline). The
next stage receives its first and last beats at (f, l). The design's latency is the last
stage's ``l`` with the first input beat at 0 and the input streamed at full rate (a1 = the
first stage's input beats).

Each module's ``h`` and ``t`` (in the stage's own input beats) are its registry entry's
``head_tail`` (:mod:`bnncc.hw.registry`): e.g. an MVAU needs one input vector (h = MW / SIMD)
and works (MH / PE) * (MW / SIMD) cycles on the last one. A stage with several inputs starts
from the latest (a0, a1) among them; a fork passes its (f, l) to every output.
"""

from __future__ import annotations

from bnncc.hw.graph import End, HwGraph
from bnncc.hw.registry import spec

#: Register stages per link: FIFO output register plus the stage's own pipeline.
DELAY = 4


def first_frame_latency(graph: HwGraph) -> int:
    """Estimated cycles from the first input beat to the last output beat of one frame of a
    hardware graph: the stages in topological order, a stage with several inputs starting from
    the latest first and last arrivals among them, a fork passing its (f, l) to every output."""
    arrival: dict[End, tuple[float, float]] = {}
    start = (0.0, float(max(1, graph.input_beats)))
    for instance in graph.instances.values():
        ends = [graph.wire_into(End(instance.name, k)).source for k in range(len(instance.inputs))]
        times = [start if end.instance is None else arrival[end] for end in ends]
        first, last = max(t[0] for t in times), max(t[1] for t in times)
        stage = instance.stage
        if stage is not None:
            head, tail = spec(stage.module).head_tail(stage)
            beats = max(1, stage.in_beats)
            first, last = (first + (last - first) * min(head, beats) / beats + DELAY,
                           max(last + tail, first + stage.cycles) + DELAY)
        for k in range(len(instance.outputs)):
            arrival[End(instance.name, k)] = (first, last)
    return int(round(arrival[graph.wire_into(End(None)).source][1]))
