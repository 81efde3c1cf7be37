"""When an ``rtl_lib`` module takes and gives beats: the base class of the pattern every
stream-handling registry entry gives (``ModuleSpec.pattern``), as a max-plus system over
``FRAMES`` frames: an event
happens at the latest of the events it waits for plus a fixed delay (one beat per cycle,
pipeline latencies, rows released in a line buffer, credits of an output queue).

A pattern gives

* ``asap(arrival)``: the earliest pops and pushes when input beat j can be taken from cycle
  ``arrival[j]`` on and the output is never blocked;
* ``alap(deadline)``: the latest pops and pushes such that output beat k leaves by
  ``deadline[k]``;
* ``pops(arrival, alap)``: the earliest pops when the outputs leave at the ``alap`` pushes,
  as far as the module's storage (a line buffer) lets it take input early;
* ``latest(pops, ready)``: how long its storage can keep output beats that are ready.

Times are closed forms in numpy (the sliding window loops over image rows).
:mod:`bnncc.backends.verilog.fifo_sizing` builds the chain's schedule from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.hw.stage import StageRTL

#: Frames of the schedule: the first fills the pipeline, the others are in steady state.
FRAMES = 4
#: Cycle values standing for "no constraint" (far below / above any event).
NEVER_BEFORE = -(1 << 40)
NEVER_AFTER = 1 << 40


def forward(x: np.ndarray, gaps) -> np.ndarray:
    """t[i] = max(x[i], t[i-1] + gaps[i]): events in order, each at least gaps[i] cycles after
    the previous one and not before x[i] (gaps[0] is unused)."""
    offset = _offsets(len(x), gaps)
    return offset + np.maximum.accumulate(x - offset)


def backward(x: np.ndarray, gaps) -> np.ndarray:
    """t[i] = min(x[i], t[i+1] - gaps[i+1]): the latest times of events in order, each at least
    gaps[i+1] cycles before the next one and not after x[i]."""
    offset = _offsets(len(x), gaps)
    return offset + np.minimum.accumulate((x - offset)[::-1])[::-1]


def _offsets(n: int, gaps) -> np.ndarray:
    if np.isscalar(gaps):
        return np.arange(n, dtype=np.int64) * int(gaps)
    offset = np.cumsum(np.asarray(gaps, dtype=np.int64))
    return offset - offset[0] if n else offset


@dataclass
class Schedule:
    """Pop (input beat) and push (output beat) cycles of one instance over the frames."""

    pops: np.ndarray
    pushes: np.ndarray


class Pattern:
    """The timing of one instance: ``in_beats`` / ``out_beats`` per frame. Subclasses give
    ``asap`` and ``alap``; by default a module cannot take input earlier than ``alap`` does."""

    in_beats: int
    out_beats: int
    #: Output beats it can keep after they are ready without slowing its input: output k can
    #: leave as late as LEAD cycles before output k + HOLD is ready.
    hold = 0
    lead = 0
    #: Pushes as early as it can (else as late as its consumer allows, holding its input).
    eager = True

    def asap(self, arrival: np.ndarray) -> Schedule:
        raise NotImplementedError

    def alap(self, deadline: np.ndarray) -> Schedule:
        raise NotImplementedError

    def pops(self, arrival: np.ndarray, alap: Schedule) -> np.ndarray:
        return np.maximum(arrival, alap.pops)

    def latest(self, pops: np.ndarray, ready: np.ndarray) -> np.ndarray:
        """The latest pushes its storage allows when it pops at ``pops`` and output beats are
        ready at ``ready``."""
        if not self.hold:
            return ready
        latest = np.full(len(ready), NEVER_AFTER, dtype=np.int64)
        latest[:-self.hold] = ready[self.hold:] - self.lead
        return latest

    def period(self) -> int:
        """Cycles per frame in steady state when input is always there and output never blocked."""
        pushes = self.asap(np.zeros(FRAMES * self.in_beats, dtype=np.int64)).pushes
        return int(pushes[-1] - pushes[-1 - self.out_beats])


def tile(per_frame: np.ndarray, stride: int) -> np.ndarray:
    """A per-frame index array repeated over the frames, frame f shifted by f * stride."""
    return (per_frame[None, :] + stride * np.arange(FRAMES)[:, None]).reshape(-1)


class PassThrough(Pattern):
    """One output beat per input beat, at one beat per cycle, each ``latency`` cycles after
    its input beat; the module holds ``hold`` beats (its output registers)."""

    def __init__(self, beats: int, latency: int, hold: int = 0):
        self.in_beats = self.out_beats = beats
        self.latency, self.hold, self.lead = latency, hold, latency + 1 if hold else 0

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, pops + self.latency)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        return Schedule(pushes - self.latency, pushes)
