"""Beat timing of instances with several stream ports (forks and joins), in the max-plus form
of the single-stream patterns (:mod:`bnncc.hw.patterns`): ``asap`` and
``alap`` over lists of ports. :mod:`bnncc.backends.verilog.graph_fifo_sizing` builds the
schedule of a whole hardware graph from them.
"""

from __future__ import annotations

from functools import reduce

import numpy as np

from bnncc.hw.patterns import FRAMES, NEVER_BEFORE, backward, forward


class PortTiming:
    """The timing of one instance over its ports: ``asap(arrivals)`` and ``alap(deadlines)``
    give (pops per input port, pushes per output port)."""

    eager = True

    def asap(self, arrivals: list[np.ndarray]) -> tuple[list, list]:
        raise NotImplementedError

    def alap(self, deadlines: list[np.ndarray]) -> tuple[list, list]:
        raise NotImplementedError


class Single(PortTiming):
    """An instance with one input and one output stream and its single-stream pattern."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.eager = pattern.eager

    def asap(self, arrivals):
        schedule = self.pattern.asap(arrivals[0])
        return [schedule.pops], [schedule.pushes]

    def alap(self, deadlines):
        schedule = self.pattern.alap(deadlines[0])
        return [schedule.pops], [schedule.pushes]


class Lockstep(PortTiming):
    """One output beat per cycle from beat k of every input, ``latency`` cycles after beat k
    of the last input is there: a fork (one input, every output gets each beat) or an
    element-wise join (every input gives one beat to each output beat). A join that queues
    each input in ``queue`` entries (a skid buffer: 2) takes beat k of an input as soon as it
    is there and the queue has room, i.e. one cycle after beat k - queue was used:
    ``taken[k] = max(arrival[k], used[k - queue] + 1)``, one per cycle; those are its pops.
    A fork that queues each output in ``output_queue`` entries can keep beats there that a
    consumer does not take yet (see ``graph_fifo_sizing``)."""

    def __init__(self, inputs: int, outputs: int, latency: int, queue: int = 0, output_queue: int = 0):
        self.inputs, self.outputs, self.latency, self.queue = inputs, outputs, latency, queue
        self.output_queue = output_queue

    def asap(self, arrivals):
        used = forward(_latest(arrivals), 1)
        if not self.queue:
            return [used] * self.inputs, [used + self.latency] * self.outputs
        room = np.full_like(used, NEVER_BEFORE)
        room[self.queue:] = used[:-self.queue] + 1
        taken = [forward(np.maximum(arrival, room), 1) for arrival in arrivals]
        return taken, [used + self.latency] * self.outputs

    def alap(self, deadlines):
        pushes = backward(_earliest(deadlines), 1)
        return [pushes - self.latency] * self.inputs, [pushes] * self.outputs


def _latest(times: list[np.ndarray]) -> np.ndarray:
    """The elementwise maximum of ``times`` (without stacking them into one more array each)."""
    return reduce(np.maximum, times[1:], times[0])


def _earliest(times: list[np.ndarray]) -> np.ndarray:
    """The elementwise minimum of ``times``."""
    return reduce(np.minimum, times[1:], times[0])


class Interleave(PortTiming):
    """A channel concatenation: for every pixel, ``counts[k]`` beats of input k in input
    order, one per cycle, each leaving ``latency`` cycles after it is taken."""

    def __init__(self, counts: list[int], pixels: int, latency: int):
        per_pixel = np.concatenate([np.full(c, k, dtype=np.int64) for k, c in enumerate(counts)])
        self.size = len(per_pixel) * pixels * FRAMES
        #: the positions in the interleaved order of input k's beats, in its own order
        step = np.int64(len(per_pixel))
        index = np.int32 if self.size < 2 ** 31 else np.int64
        self.positions = [(np.arange(pixels * FRAMES, dtype=index)[:, None] * index(step)
                           + np.flatnonzero(per_pixel == k).astype(index)[None, :]).reshape(-1)
                          for k in range(len(counts))]
        self.latency = latency
        self.inputs = len(counts)

    def _split(self, times: np.ndarray) -> list[np.ndarray]:
        return [times[positions] for positions in self.positions]

    def asap(self, arrivals):
        wanted = np.empty(self.size, dtype=np.int64)
        for positions, arrival in zip(self.positions, arrivals):
            wanted[positions] = arrival[:len(positions)]
        taken = forward(wanted, 1)
        return self._split(taken), [taken + self.latency]

    def alap(self, deadlines):
        pushes = backward(deadlines[0], 1)
        return self._split(pushes - self.latency), [pushes]
