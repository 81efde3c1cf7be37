"""FIFO depths of a hardware graph with forks and joins, from one max-plus schedule S of the
whole graph at the bottleneck period P.

Every instance is described by when it pops input beats and pushes output beats (the
single-stream patterns of :mod:`bnncc.hw.patterns`, each module's in its registry entry, and the port
timings below for forks and joins); a FIFO passes a beat on ``FIFO_LATENCY`` cycles after
it was pushed and keeps it until its consumer pops it. S is built in three steps:

1. **pace**: the design's input beats arrive evenly at the period P (beat j of frame f at
   ``f*P + floor(j*P/n)``) and every instance runs as early as its arrivals allow; the times
   of the output beats are the deadlines;
2. **latest**: from those deadlines back to the input, every instance's latest pops and
   pushes (``alap``); a fork's output must leave by the earliest of its consumers' deadlines;
3. **forward**: from the paced input forward, every instance pops as early as its arrivals
   allow; the eager ones push as early as they can, the lazy ones (the sliding window, which
   repeats its rows K_H*K_W times) as late as their consumers allow, holding rows instead of
   windows. A join pops beat k when beat k of every input is there (``stream_add``), or in its
   interleaving order (``stream_concat``). A width converter without room for a beat when it is
   offered makes its producer push later (and pop no earlier than its ``alap``).

Each FIFO then holds at most the beats pushed into it and not yet popped by its consumer in S;
a FIFO at least that deep imposes no constraint S does not meet, and the real graph, with an
always-ready source and sink, satisfies the same monotone max-plus constraints from earlier
starting points, so its events are no later than S's: it sustains P and cannot deadlock. On a
reconvergent path this is what the skip branch of a residual block must hold: the beats the
fork has passed on while the long branch fills its line buffers and pipelines. Depths follow
:func:`bnncc.backends.verilog.fifo_sizing.fifo_depth` (``MARGIN`` beats on a FIFO that
collects beats).
"""

from __future__ import annotations

import numpy as np

from bnncc.backends.verilog.fifo_sizing import (
    FIFO_LATENCY, FIFO_MODULE, block, derive_fifo_depths, fifo_depth, held_beats,
)
from bnncc.hw.graph import End, HwGraph, Instance
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Schedule, forward
from bnncc.hw.port_timing import PortTiming, Single
from bnncc.hw.registry import spec


def port_timing(instance: Instance) -> PortTiming:
    """The timing of one instance: its registry entry's pattern (of the stage for a stage, of
    the instance itself for a FIFO or width converter the backend placed)."""
    timing = spec(instance.module).pattern(instance.stage if instance.stage is not None else instance)
    return timing if isinstance(timing, PortTiming) else Single(timing)


def derive_depths(graph: HwGraph, floor: int = 2) -> dict[str, int]:
    """The depth of every FIFO of a hardware graph but the output FIFO, by FIFO instance name:
    for a chain as :func:`bnncc.backends.verilog.fifo_sizing.derive_fifo_depths` derives them
    (the FIFO in front of stage ``s`` is ``s_fifo``), for a graph with forks and joins from the
    schedule S of the module docstring."""
    if graph.is_chain():
        return {f"{name}_fifo": depth for name, depth in derive_fifo_depths(graph.stages, floor).items()}
    return derive_graph_depths(graph, floor)


def derive_graph_depths(graph: HwGraph, floor: int = 2) -> dict[str, int]:
    """The depth of every FIFO of ``graph`` but the output FIFO, by FIFO instance name, such
    that the graph sustains its bottleneck period (see the module docstring)."""
    order = list(graph.instances.values())
    timings = {i.name: port_timing(i) for i in order}
    period = max(graph.bottleneck_cycles,
                 max(t.pattern.period() for t in timings.values() if isinstance(t, Single)))
    beats = graph.input_beats
    frames = np.repeat(np.arange(FRAMES, dtype=np.int64), beats) * period
    paced = frames + (np.tile(np.arange(beats, dtype=np.int64), FRAMES) * period) // beats

    eager_pushes = _forward(graph, order, timings, paced, alaps=None)
    deadline = eager_pushes[graph.wire_into(End(None)).source]
    alaps = _backward(graph, order, timings, deadline)
    pushes, pops = _forward(graph, order, timings, paced, alaps, with_pops=True)
    depths = {}
    for instance in order:
        if instance.module != FIFO_MODULE:
            continue
        consumer = graph.wire_from(End(instance.name, 0)).target
        if consumer.instance is None:
            continue
        pushed = _kept_in_queue(graph, instance, timings, pops, pops[consumer])
        held = held_beats(pushed, pops[consumer])
        depths[instance.name] = max(floor, fifo_depth(held))
    return depths


def _kept_in_queue(graph: HwGraph, fifo: Instance, timings: dict, pops: dict, taken: np.ndarray) -> np.ndarray:
    """When beats enter ``fifo`` if its producer queues each output (a fork: ``queue``
    entries per output) and keeps there what the FIFO's consumer does not take yet: beat k
    must leave the queue before the producer takes beat k + queue (one cycle before, as its
    input ready is registered), and need not leave before ``FIFO_LATENCY`` cycles ahead of
    its use. Without such a producer, the pushes as scheduled."""
    pushed = pops[End(fifo.name, 0)]
    source = graph.wire_into(End(fifo.name, 0)).source.instance
    queue = getattr(timings.get(source), "output_queue", 0) if source is not None else 0
    if not queue:
        return pushed
    accepted = pops[End(source, 0)]
    latest = np.full_like(pushed, NEVER_AFTER)
    latest[:-queue] = accepted[queue:] - 1
    return forward(np.maximum(pushed, np.minimum(latest, taken - FIFO_LATENCY)), 1)


def _arrivals(graph: HwGraph, instance: Instance, pushes: dict, paced: np.ndarray) -> list[np.ndarray]:
    result = []
    for index in range(len(instance.inputs)):
        source = graph.wire_into(End(instance.name, index)).source
        result.append(paced if source.instance is None else pushes[source])
    return result


def _forward(graph: HwGraph, order: list[Instance], timings: dict, paced: np.ndarray, alaps, with_pops=False):
    """Pushes (and pops) of every port in S (step 1 with ``alaps`` None: every instance eager)."""
    pushes: dict[End, np.ndarray] = {}
    pops: dict[End, np.ndarray] = {}
    entries: dict[str, list] = {}  # single-stream instances: [pattern, pops, pushes], updated when blocked
    for instance in order:
        timing = timings[instance.name]
        arrivals = _arrivals(graph, instance, pushes, paced)
        if alaps is not None and not timing.eager:
            alap_pops, alap_pushes = alaps[instance.name]
            own_pops = [timing.pattern.pops(arrivals[0], Schedule(alap_pops[0], alap_pushes[0]))]
            own_pushes = [alap_pushes[0]]
        else:
            own_pops, own_pushes = timing.asap(arrivals)
        if isinstance(timing, Single) and instance.stage is None and alaps is not None:
            _block_producers(graph, instance, own_pops[0], arrivals[0], entries, pushes, pops)
        for index, times in enumerate(own_pops):
            pops[End(instance.name, index)] = times
        for index, times in enumerate(own_pushes):
            pushes[End(instance.name, index)] = times
        if isinstance(timing, Single):
            entries[instance.name] = [timing.pattern, own_pops[0], own_pushes[0]]
    return (pushes, pops) if with_pops else pushes


def _block_producers(graph, converter: Instance, taken, offered, entries, pushes, pops) -> None:
    """A converter that cannot take its producer's beats as offered: the converters and the
    single-stream stage in front of it push when it takes them (and pop no earlier than their
    ``alap`` of those pushes)."""
    if not np.any(taken > offered):
        return
    chain, end = [], End(converter.name, 0)
    while True:
        source = graph.wire_into(end).source.instance
        if source is None or source not in entries:
            break
        chain.insert(0, source)
        if graph.instances[source].stage is not None:
            break
        end = End(source, 0)
    if not chain:
        return
    group = [entries[name] for name in chain]
    block(group, taken)
    for name, entry in zip(chain, group):
        pops[End(name, 0)], pushes[End(name, 0)] = entry[1], entry[2]


def _backward(graph: HwGraph, order: list[Instance], timings: dict, deadline: np.ndarray) -> dict:
    """Latest pops and pushes of every instance such that the output leaves by ``deadline``."""
    latest_pops: dict[End, np.ndarray] = {}
    alaps = {}
    for instance in reversed(order):
        deadlines = []
        for index in range(len(instance.outputs)):
            target = graph.wire_from(End(instance.name, index)).target
            deadlines.append(deadline if target.instance is None else latest_pops[target])
        own_pops, own_pushes = timings[instance.name].alap(deadlines)
        alaps[instance.name] = (own_pops, own_pushes)
        for index, times in enumerate(own_pops):
            latest_pops[End(instance.name, index)] = times
    return alaps
