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
    the previous one and not before x[i] (gaps[0] is unused). With o[i] the sum of the gaps
    up to i, t = o + the running maximum of x - o (in the one array it returns, besides o
    for uneven gaps)."""
    t = _less_offsets(x, gaps)
    np.maximum.accumulate(t, out=t)
    return _plus_offsets(t, gaps)


def backward(x: np.ndarray, gaps) -> np.ndarray:
    """t[i] = min(x[i], t[i+1] - gaps[i+1]): the latest times of events in order, each at least
    gaps[i+1] cycles before the next one and not after x[i]: o + the running minimum of
    x - o from the end."""
    t = _less_offsets(x, gaps)
    reverse = t[::-1]
    np.minimum.accumulate(reverse, out=reverse)
    return _plus_offsets(t, gaps)


#: Events of an even ramp i * gap added at a time (the ramp is not built whole).
RAMP_CHUNK = 1 << 16


def _less_offsets(x: np.ndarray, gaps) -> np.ndarray:
    """x - o as a new array."""
    if not np.isscalar(gaps):
        return x - _offsets(len(x), gaps)
    t = np.array(x, dtype=np.result_type(np.asarray(x).dtype, np.int64))
    _add_ramp(t, -int(gaps))
    return t


def _plus_offsets(t: np.ndarray, gaps) -> np.ndarray:
    """t + o, in place."""
    if not np.isscalar(gaps):
        t += _offsets(len(t), gaps)
    else:
        _add_ramp(t, int(gaps))
    return t


_RAMP = np.arange(RAMP_CHUNK, dtype=np.int64)
_RAMP.setflags(write=False)


def _add_ramp(t: np.ndarray, step: int) -> None:
    """t[i] += i * step, a chunk at a time."""
    if not step:
        return
    for start in range(0, len(t), RAMP_CHUNK):
        part = t[start:start + RAMP_CHUNK]
        ramp = _RAMP[:len(part)]
        if step == 1:
            part += ramp
        elif step == -1:
            part -= ramp
        else:
            part += ramp * step
        if start:
            part += start * step


def _offsets(n: int, gaps) -> np.ndarray:
    if np.isscalar(gaps):
        offset = np.arange(n, dtype=np.int64)
        if int(gaps) != 1:
            offset *= int(gaps)
        return offset
    offset = np.cumsum(np.asarray(gaps, dtype=np.int64))
    if n:
        offset -= offset[0]
    return offset


class Packed:
    """An integer array kept in little memory while it waits to be read: its first value and
    the differences of neighbours, one byte for each difference in [0, 255] (events one or a
    few cycles apart, the common case) and the others apart with their positions.
    ``unpack`` gives the same array back (the running sum of the differences)."""

    def __init__(self, times: np.ndarray):
        self.dtype, self.size = times.dtype, len(times)
        self.raw = None if times.dtype.kind in "iu" else times    # only integers are packed
        if self.raw is not None:
            return
        self.first = times[:1].copy()
        steps = np.diff(times)
        self.apart = np.flatnonzero((steps < 0) | (steps > 255))
        self.values = steps[self.apart]
        self.small = steps.astype(np.uint8)

    def unpack(self) -> np.ndarray:
        if self.raw is not None:
            return self.raw
        times = np.empty(self.size, dtype=np.int64)
        if not self.size:
            return times.astype(self.dtype)
        times[0] = self.first[0]
        rest = times[1:]
        rest[:] = self.small
        rest[self.apart] = self.values
        np.cumsum(times, out=times)
        return times if self.dtype == np.int64 else times.astype(self.dtype)

    @property
    def nbytes(self) -> int:
        if self.raw is not None:
            return self.raw.nbytes
        return self.small.nbytes + self.apart.nbytes + self.values.nbytes + self.first.nbytes


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
