"""Depths of the FIFOs in front of the stages, derived from when each stage takes and gives
beats.

Every instance of the chain (stage or width converter) is described by the cycles at which it
pops input beats and pushes output beats (:mod:`bnncc.hw.patterns`; each module's
pattern in its registry entry). From them one schedule S of the whole chain is built at the bottleneck rate:

1. the anchor, the instance with the longest modelled period P, runs as fast as it can (input
   always there) and everything after it as soon as possible: that fixes when the last output
   beats leave;
2. from those times back to the input, every instance's latest schedule (``alap``);
3. from the input forward, every stage pops as early as its arrivals (the pushes in front of
   its FIFO plus the FIFO's latency, 2 or 3 cycles) allow. Stages are eager (push as early as they can) except
   the sliding window, whose windows repeat its rows K_H*K_W times: it pushes as late as its
   consumer allows and writes rows as soon as they arrive and a slot is free, so rows, not
   windows, wait. A width converter sits between a producer and a FIFO without a FIFO of its
   own: it pops at the producer's pushes (when it cannot take a beat as offered, the producer
   pushes later and pops no later than its ``alap``);
4. beats that the consumer does not take yet stay inside the stage and converters in front
   of the FIFO as long as their storage holds them.

Every event of S satisfies its module's constraints and is no later than the latest schedule,
so the anchor keeps the period P. A FIFO deep enough for the beats it holds in S imposes no
constraint S does not meet; the real chain, with an always-ready source and sink, satisfies
the same monotone max-plus constraints from earlier starting points, so each of its events is
no later than in S: it sustains P. ``stream_fifo`` accepts a beat while fewer than DEPTH wait
besides the one in its output register, so DEPTH is the most beats held when one is pushed.

A FIFO's latency is its registry entry's (:func:`bnncc.hw.modules.stream_fifo.latency`: 2, or
3 with READ_REG 1), given per FIFO. A FIFO that holds no more than the beats a full-rate stream
keeps in flight (its latency) gets that DEPTH (at least 2, the floor ``stream_fifo`` accepts);
a FIFO that has to collect beats gets ``MARGIN`` (2) beats
more, for what the patterns leave out: a cycle or two of pipeline latency, the exact credit and
skid-entry timing, windows past the edge of a max-pool read out in one go.

Only what a later step reads is kept: the ``alap`` of the lazy instances (packed, see
:class:`bnncc.hw.patterns.Packed`), and the entries of the last two stages and the converters
between them; a FIFO's depth is computed as soon as the converters after its stage are placed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.hw.stage import StageRTL, Stream, converter_widths
from bnncc.hw.modules.width_converter import Gather, Split
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Packed, Pattern, Schedule, backward
from bnncc.hw.modules.stream_fifo import latency as fifo_latency
from bnncc.hw.registry import spec

#: The module of the FIFOs the backend places, and the name of the one at the output.
FIFO_MODULE = "stream_fifo"
OUTPUT_FIFO = "output_fifo"
#: Beats added to the depth of a FIFO that collects beats (see the module docstring).
MARGIN = 2
#: Cycles from a push into a ``stream_fifo`` (READ_REG 0) to the earliest pop of that beat.
FIFO_LATENCY = fifo_latency({})

@dataclass
class _Link:
    pattern: Pattern
    stage: str | None      # the stage's instance name; None for a width converter
    eager: bool            # pushes as early as it can (else as late as its consumer allows)
    latency: int = 0       # cycles of the FIFO in front of the stage (0 for a converter)


def _links(stages: list[StageRTL], latencies: dict[str, int]) -> list[_Link]:
    """The stages and width converters in chain order (as ``top.chain`` builds them); a
    converter is eager when the stage before it is."""
    links: list[_Link] = []
    current = stages[0].input
    frame_elems = stages[0].in_beats * stages[0].input.elems
    eager = True
    for stage in stages:
        for elems in converter_widths(current, stage.input):
            target = Stream(elems, current.dtype)
            if current.elems > elems:
                links.append(_Link(Split(current.elems // elems, frame_elems // current.elems), None, eager))
            else:
                links.append(_Link(Gather(elems // current.elems, frame_elems // elems), None, eager))
            current = target
        pattern = spec(stage.module).pattern(stage)
        eager = pattern.eager
        links.append(_Link(pattern, stage.instance, eager, latencies.get(stage.instance, FIFO_LATENCY)))
        current = stage.output
        frame_elems = stage.out_beats * stage.output.elems
    return links


def _latency(link: _Link) -> int:
    """Cycles from a push of the instance before ``link`` to the earliest pop by ``link``."""
    return link.latency if link.stage is not None else 0


def held_beats(pushes: np.ndarray, pops: np.ndarray) -> int:
    """The most beats a FIFO holds when a beat is pushed into it."""
    popped = np.searchsorted(pops, pushes, side="left")
    return int(np.max(np.arange(len(pushes)) - popped)) if len(pushes) else 0


#: Rounds of the fixed point in ``_kept`` (it settles in two or three).
KEPT_ROUNDS = 8


def _kept(group: list[list], deadline: np.ndarray) -> np.ndarray:
    """Pushes into a FIFO when the beats its consumer does not take yet wait inside the stage
    and converters in front of it (``group``: [pattern, pops, pushes] in chain order) as long
    as they have room, but leave by ``deadline``, so that the consumer's pops stay the same.
    The stage's pops stay fixed; a converter's pops are the pushes of the instance before it.
    Computed as the greatest fixed point, from above; without one, nothing waits inside."""
    if not group:
        return deadline
    patterns, earliest = [g[0] for g in group], [g[2] for g in group]
    ready = [patterns[0].asap(group[0][1]).pushes] + [None] * (len(group) - 1)
    kept = [np.full_like(e, NEVER_AFTER) for e in earliest]
    for _ in range(KEPT_ROUNDS):
        previous = list(kept)   # every round makes new arrays: the last ones need no copy
        for i in range(len(group) - 1, -1, -1):
            pops = group[0][1] if i == 0 else kept[i - 1]
            if i:
                ready[i] = patterns[i].asap(pops).pushes
            upper = deadline if i == len(group) - 1 else patterns[i + 1].alap(kept[i + 1]).pops
            latest = backward(np.minimum(upper, patterns[i].latest(pops, ready[i])), 1)
            kept[i] = np.maximum(np.maximum(earliest[i], ready[i]), latest)
        if all(np.array_equal(a, b) for a, b in zip(kept, previous)):
            return kept[-1]
    return earliest[-1]


def derive_fifo_depths(stages: list[StageRTL], floor: int = 2, latencies: dict[str, int] | None = None
                       ) -> dict[str, int]:
    """The depth of the FIFO in front of every stage, by stage instance name, such that the
    chain sustains its slowest instance's period (see the module docstring); the FIFO in
    front of stage ``s`` passes a beat on ``latencies[s]`` cycles after its push (default
    :data:`FIFO_LATENCY`)."""
    links = _links(stages, latencies or {})
    anchor = max(range(len(links)), key=lambda i: links[i].pattern.period())
    first = links[anchor].pattern
    pushes = first.asap(np.zeros(FRAMES * first.in_beats, dtype=np.int64)).pushes
    for link in links[anchor + 1:]:
        pushes = link.pattern.asap(pushes + _latency(link)).pushes
    deadline = pushes
    del pushes
    # step 2 keeps the alap of the lazy instances only (the others' is not read again), packed
    alaps: list[tuple | None] = [None] * len(links)
    for index in range(len(links) - 1, -1, -1):
        schedule = links[index].pattern.alap(deadline)
        deadline = schedule.pops - _latency(links[index])
        if not links[index].eager:
            alaps[index] = (Packed(schedule.pops), Packed(schedule.pushes))
        del schedule
    pushes = backward(deadline, 1)
    del deadline
    held: dict[str, int] = {}
    pending = None           # the last stage: (name, the group in front of its FIFO, its own entry)
    group: list[list] = []   # the last stage and the converters after it: [pattern, pops, pushes]
    for index, link in enumerate(links):
        alap = None
        if alaps[index] is not None:
            alap = Schedule(alaps[index][0].unpack(), alaps[index][1].unpack())
            alaps[index] = None
        if link.stage is None:
            pops = pushes
            if link.eager:
                schedule = link.pattern.asap(pops)
                if np.any(schedule.pops > pops):
                    block(group, schedule.pops)
                pops, pushes = schedule.pops, schedule.pushes
            else:
                pushes = backward(np.minimum(alap.pushes, link.pattern.latest(pops, alap.pushes)), 1)
            group.append([link.pattern, pops, pushes])
            continue
        arrival = pushes + link.latency
        if link.eager:
            schedule = link.pattern.asap(arrival)
            pops, pushes = schedule.pops, schedule.pushes
        else:
            pops, pushes = link.pattern.pops(arrival, alap), alap.pushes
        del arrival, alap
        if pending is not None:   # no converter changes the stage before any more: its FIFO's depth
            held[pending[0]] = _held(*pending[1:])
        pending = (link.stage, group, [link.pattern, pops, pushes], link.latency)
        group = [pending[2]]
    if pending is not None:
        held[pending[0]] = _held(*pending[1:])
    latency = {link.stage: link.latency for link in links if link.stage is not None}
    return {name: max(floor, fifo_depth(beats, latency[name])) for name, beats in held.items()}


def _held(before: list[list], own: list, latency: int) -> int:
    """Beats held by the FIFO (of ``latency`` cycles) in front of the stage of entry ``own``,
    behind ``before``."""
    return held_beats(_kept(before, own[1] - latency), own[1])


def block(group: list[list], taken: np.ndarray) -> None:
    """A converter takes the beats of ``group``'s last instance only at ``taken``: that
    instance pushes then, and every instance before it pushes when the next one pops; their
    pops are counted at the latest those pushes allow (their alap pops)."""
    for entry in reversed(group):
        pattern, pops, pushes = entry
        entry[2] = np.maximum(pushes, taken)
        entry[1] = np.maximum(pops, pattern.alap(entry[2]).pops)
        taken = entry[1]


def fifo_depth(held: int, latency: int = FIFO_LATENCY) -> int:
    """``stream_fifo`` DEPTH for a FIFO of ``latency`` cycles that holds at most ``held``
    beats when one is pushed: a stream at full rate keeps ``latency`` beats in it (DEPTH
    ``latency`` passes it on); a FIFO that has to keep more gets MARGIN beats on top."""
    return held if held <= latency else held + MARGIN

