"""FIFO depths of a hardware graph with forks and joins, from one max-plus schedule S of the
whole graph at the bottleneck period P.

Every instance is described by when it pops input beats and pushes output beats (the
single-stream patterns of :mod:`bnncc.hw.patterns`, each module's in its registry entry, and the port
timings below for forks and joins); a FIFO passes a beat on its latency (its registry entry's,
:func:`bnncc.hw.modules.stream_fifo.latency`) after it was pushed and keeps it until its
consumer pops it. S is built in three steps:

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

**Memory.** The schedule is built in three walks over the instances in topological order
(forward, backward, forward) that keep only the arrays a later instance still needs: a push
array until its consumer has read it, an instance's entries while a width converter behind
it may still block it, the ``alap`` of the lazy instances between the second and third walk,
and the pops a FIFO's depth reads until that depth is known (it is computed as soon as they
are final, and the arrays dropped). An array that waits past the next instance is kept
packed (:class:`bnncc.hw.patterns.Packed`: its first value and one byte per difference), so
the memory in use is a few unpacked arrays of the largest instance's beats over the frames
plus a byte per waiting beat, not every instance's arrays at once. The depths of a graph are
remembered by its content (:func:`graph_key`), so that sizing the same design again (the
folding search estimates a design before it is written) returns them at once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from bnncc.backends.verilog.fifo_sizing import (
    FIFO_MODULE, block, derive_fifo_depths, fifo_depth, fifo_latency, held_beats,
)
from bnncc.hw.graph import End, HwGraph, Instance
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Packed, Schedule, forward
from bnncc.hw.port_timing import PortTiming, Single
from bnncc.hw.registry import spec

#: Designs whose depths are remembered (by :func:`graph_key`).
CACHED_DESIGNS = 16
_cache: OrderedDict = OrderedDict()


def port_timing(instance: Instance) -> PortTiming:
    """The timing of one instance: its registry entry's pattern (of the stage for a stage, of
    the instance itself for a FIFO or width converter the backend placed)."""
    timing = spec(instance.module).pattern(instance.stage if instance.stage is not None else instance)
    return timing if isinstance(timing, PortTiming) else Single(timing)


def derive_depths(graph: HwGraph, floor: int = 2) -> dict[str, int]:
    """The depth of every FIFO of a hardware graph but the output FIFO, by FIFO instance name:
    for a chain as :func:`bnncc.backends.verilog.fifo_sizing.derive_fifo_depths` derives them
    (the FIFO in front of stage ``s`` is ``s_fifo``), for a graph with forks and joins from the
    schedule S of the module docstring. Remembered by the graph's content."""
    key = (graph_key(graph), floor)
    if key in _cache:
        _cache.move_to_end(key)
        return dict(_cache[key])
    if graph.is_chain():
        latencies = {stage.instance: fifo_latency(graph.instances[f"{stage.instance}_fifo"].parameters)
                     for stage in graph.stages if f"{stage.instance}_fifo" in graph.instances}
        depths = {f"{name}_fifo": depth for name, depth in derive_fifo_depths(graph.stages, floor, latencies).items()}
    else:
        depths = derive_graph_depths(graph, floor)
    _cache[key] = dict(depths)
    while len(_cache) > CACHED_DESIGNS:
        _cache.popitem(last=False)
    return depths


def graph_key(graph: HwGraph) -> tuple:
    """Everything the timing patterns of ``graph`` are built from: every instance's module,
    parameters, hints, ports and stage description (without its memories: a pattern reads
    parameters and beats, never weights), the wires, and the input's beats."""
    def stage_key(stage) -> tuple | None:
        if stage is None:
            return None
        return (stage.node, stage.instance, stage.module, _frozen(stage.parameters), repr(stage.input),
                repr(stage.output), stage.in_beats, stage.out_beats, stage.cycles, stage.input_unit,
                _frozen(stage.hints), tuple(map(repr, stage.inputs)), tuple(map(repr, stage.outputs)),
                stage.fifo_in_front)

    def instance_key(i: Instance) -> tuple:
        return (i.name, i.module, _frozen(i.parameters), _frozen(i.hints), i.cycles, i.buffered,
                tuple(map(repr, i.inputs)), tuple(map(repr, i.outputs)), stage_key(i.stage))
    return (graph.input_beats, tuple(instance_key(i) for i in graph.instances.values()),
            tuple((w.source, w.target, repr(w.stream)) for w in graph.wires))


def _frozen(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    return repr(value)


def derive_graph_depths(graph: HwGraph, floor: int = 2) -> dict[str, int]:
    """The depth of every FIFO of ``graph`` but the output FIFO, by FIFO instance name, such
    that the graph sustains its bottleneck period (see the module docstring)."""
    walk = _Walk(graph)
    period = max(graph.bottleneck_cycles,
                 max(t.pattern.period() for t in walk.timings.values() if isinstance(t, Single)))
    beats = graph.input_beats
    frames = np.repeat(np.arange(FRAMES, dtype=np.int64), beats) * period
    paced = frames + (np.tile(np.arange(beats, dtype=np.int64), FRAMES) * period) // beats
    del frames

    deadline = walk.eager_output(paced)
    alaps = walk.latest(deadline)
    del deadline
    depths = walk.depths(paced, alaps, floor)
    return {i.name: depths[i.name] for i in walk.order if i.name in depths}


def output_pushes(graph: HwGraph, arrivals: np.ndarray) -> np.ndarray:
    """The cycles of the output beats of ``graph`` over the frames when its input beats
    arrive at ``arrivals`` and every instance runs as early as its arrivals allow (step 1 of
    the module docstring, FIFOs taken deep enough never to block)."""
    return _Walk(graph).eager_output(arrivals)


class _Walk:
    """The topology of a graph as positions in its topological order: who reads each output
    port, and how long a blocking converter may still change an instance's entries."""

    def __init__(self, graph: HwGraph):
        self.graph = graph
        self.order = list(graph.instances.values())
        self.position = {i.name: p for p, i in enumerate(self.order)}
        self.timings = {i.name: port_timing(i) for i in self.order}
        self.sources: dict[End, End] = {}     # input port -> the output port (or top input) feeding it
        self.targets: dict[End, End] = {}     # output port -> the input port (or top output) it feeds
        for wire in graph.wires:
            self.sources[wire.target] = wire.source
            self.targets[wire.source] = wire.target
        # a width converter (any single-stream instance without a stage) blocks the single-stream
        # instances in front of it up to and including the first stage: the last position that
        # may change an instance's entries
        self.touched = {}
        for p, instance in enumerate(self.order):
            self.touched[instance.name] = p
            if not self._single(instance.name) or instance.stage is not None:
                continue
            end = End(instance.name, 0)
            while True:
                source = self.sources[end].instance
                if source is None or not self._single(source):
                    break
                self.touched[source] = p
                if self.graph.instances[source].stage is not None:
                    break
                end = End(source, 0)

    def _single(self, name: str) -> bool:
        return isinstance(self.timings[name], Single)

    def _reader(self, end: End) -> int:
        """Position of the instance that reads output port ``end`` (past the end for the top)."""
        target = self.targets[end].instance
        return len(self.order) if target is None else self.position[target]

    def _arrivals(self, instance: Instance, store: "_Store", paced: np.ndarray) -> list[np.ndarray]:
        result = []
        for index in range(len(instance.inputs)):
            source = self.sources[End(instance.name, index)]
            result.append(paced if source.instance is None else store.take(source))
        return result

    def eager_output(self, paced: np.ndarray) -> np.ndarray:
        """Step 1: every instance eager; the pushes at the graph's output."""
        pushes = _Store()
        output = self.sources[End(None)]
        for p, instance in enumerate(self.order):
            arrivals = self._arrivals(instance, pushes, paced)
            own_pushes = self.timings[instance.name].asap(arrivals)[1]
            del arrivals
            for index, times in enumerate(own_pushes):
                end = End(instance.name, index)
                pushes.put(end, times, p, self._reader(end))
            del own_pushes
        return pushes.take(output)

    def latest(self, deadline: np.ndarray) -> dict:
        """Step 2: the latest pops and pushes of the lazy instances (the only ones step 3 reads)
        such that the output leaves by ``deadline``; the others' are dropped when read."""
        latest_pops = _Store()
        alaps = {}
        for p in range(len(self.order) - 1, -1, -1):
            instance = self.order[p]
            deadlines = []
            for index in range(len(instance.outputs)):
                target = self.targets[End(instance.name, index)]
                deadlines.append(deadline if target.instance is None else latest_pops.take(target))
            timing = self.timings[instance.name]
            own_pops, own_pushes = timing.alap(deadlines)
            del deadlines
            if not timing.eager:
                alaps[instance.name] = ([Packed(t) for t in own_pops], [Packed(t) for t in own_pushes])
            for index, times in enumerate(own_pops):
                end = End(instance.name, index)
                source = self.sources[end].instance
                # read by the instance in front (backwards: nearer the start, later in this walk)
                reader = -1 if source is None else self.position[source]
                if reader >= 0:
                    latest_pops.put(end, times, len(self.order) - 1 - p, len(self.order) - 1 - reader)
            del own_pops, own_pushes
        return alaps

    def depths(self, paced: np.ndarray, alaps: dict, floor: int) -> dict[str, int]:
        """Step 3 and the depths: every FIFO's depth as soon as the pops it reads are final."""
        pushes, pops = _Store(), _Store()
        entries: dict[str, list] = {}  # single-stream instances: [pattern, pops, pushes] while they may be blocked
        pending = []                   # (position from which its pops are final, FIFO, its consumer's port, fork)
        needed: dict[End, int] = {}    # pops a pending depth reads -> the position it is computed at
        for instance in self.order:
            if instance.module != FIFO_MODULE:
                continue
            consumer = self.targets[End(instance.name, 0)]
            if consumer.instance is None:
                continue
            source = self.sources[End(instance.name, 0)].instance
            queue = getattr(self.timings.get(source), "output_queue", 0) if source is not None else 0
            ends = [End(instance.name, 0), consumer] + ([End(source, 0)] if queue else [])
            ready = max(self.touched[e.instance] for e in ends)
            pending.append((ready, instance, consumer, source if queue else None, queue))
            for end in ends:
                needed[end] = max(needed.get(end, -1), ready)
                pops.hold(end)
        pending.sort(key=lambda item: self.position[item[1].name])
        depths: dict[str, int] = {}
        for p, instance in enumerate(self.order):
            name = instance.name
            timing = self.timings[name]
            arrivals = self._arrivals(instance, pushes, paced)
            if not timing.eager:
                alap_pops, alap_pushes = alaps.pop(name)
                alap_pushes = alap_pushes[0].unpack()
                own_pops = [timing.pattern.pops(arrivals[0], Schedule(alap_pops[0].unpack(), alap_pushes))]
                own_pushes = [alap_pushes]
                del alap_pops, alap_pushes
            else:
                own_pops, own_pushes = timing.asap(arrivals)
            single = isinstance(timing, Single)
            if single and instance.stage is None:
                self._block_producers(instance, own_pops[0], arrivals[0], entries)
            del arrivals
            if single:
                entries[name] = [timing.pattern, own_pops[0], own_pushes[0]]
            else:
                for index, times in enumerate(own_pops):
                    end = End(name, index)
                    if end in needed:
                        pops.put(end, times, p, needed[end])
            for index, times in enumerate(own_pushes):
                end = End(name, index)
                pushes.put(end, times, p, self._reader(end))
            del own_pops, own_pushes
            # entries no converter can change any more: their pops are final
            for done in [n for n in entries if self.touched[n] <= p]:
                end = End(done, 0)
                if end in needed:
                    pops.put(end, entries[done][1], p, needed[end])
                del entries[done]
            for item in [item for item in pending if item[0] <= p]:
                pending.remove(item)
                depths.update(self._depth(item, pops, floor))
        return depths

    def _depth(self, item, pops: "_Store", floor: int) -> dict[str, int]:
        _, fifo, consumer, fork, queue = item
        taken = pops.read(consumer)
        pushed = pops.read(End(fifo.name, 0))
        if queue:
            accepted = pops.read(End(fork, 0))
            latest = np.full_like(pushed, NEVER_AFTER)
            latest[:-queue] = accepted[queue:] - 1
            del accepted
            pushed = forward(np.maximum(pushed, np.minimum(latest, taken - fifo_latency(fifo.parameters))), 1)
        depth = max(floor, fifo_depth(held_beats(pushed, taken), fifo_latency(fifo.parameters)))
        for end in (consumer, End(fifo.name, 0)) + ((End(fork, 0),) if queue else ()):
            pops.release(end)
        return {fifo.name: depth}

    def _block_producers(self, converter: Instance, taken, offered, entries) -> None:
        """A converter that cannot take its producer's beats as offered: the converters and the
        single-stream stage in front of it push when it takes them (and pop no earlier than
        their ``alap`` of those pushes)."""
        if not np.any(taken > offered):
            return
        chain, end = [], End(converter.name, 0)
        while True:
            source = self.sources[end].instance
            if source is None or source not in entries:
                break
            chain.insert(0, source)
            if self.graph.instances[source].stage is not None:
                break
            end = End(source, 0)
        if not chain:
            return
        group = [entries[name] for name in chain]
        block(group, taken)


class _Store:
    """Arrays by port while a later instance needs them: ``put`` with the position it is made
    at and the last position that reads it; an array read later than the next position is
    kept packed. ``take`` reads and forgets; ``read`` reads, and ``release`` forgets it once
    every reader counted by ``hold`` has released it."""

    def __init__(self):
        self.arrays: dict[End, object] = {}
        self.readers: dict[End, int] = {}

    def put(self, end: End, times: np.ndarray, position: int, until: int) -> None:
        self.arrays[end] = Packed(times) if until > position + 1 else times

    def take(self, end: End) -> np.ndarray:
        value = self.arrays.pop(end)
        return value.unpack() if isinstance(value, Packed) else value

    def read(self, end: End) -> np.ndarray:
        value = self.arrays[end]
        return value.unpack() if isinstance(value, Packed) else value

    def release(self, end: End) -> None:
        """One reader that ``hold`` counted is done with ``end``; forgotten after the last."""
        self.readers[end] -= 1
        if not self.readers[end]:
            del self.arrays[end], self.readers[end]

    def hold(self, end: End) -> None:
        """One more reader will ``read`` and then ``release`` ``end``."""
        self.readers[end] = self.readers.get(end, 0) + 1
