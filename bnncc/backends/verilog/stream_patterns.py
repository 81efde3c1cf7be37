"""When each ``rtl_lib`` module takes and gives beats: one pattern class per module (and the
two width-converter directions), as a max-plus system over ``FRAMES`` frames: an event
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


def _tile(per_frame: np.ndarray, stride: int) -> np.ndarray:
    """A per-frame index array repeated over the frames, frame f shifted by f * stride."""
    return (per_frame[None, :] + stride * np.arange(FRAMES)[:, None]).reshape(-1)


class Mvau(Pattern):
    """mvau.v: a vector of SF input beats is taken at one beat per cycle while row group 0
    is issued; the NF row groups take SF cycles each, so the next vector starts
    (NF-1)*SF + 1 cycles after the last beat of this one; row group n's result leaves 4
    cycles after its last issue, i.e. 4 + n*SF cycles after the vector's last beat. Results
    wait in an output FIFO of OD entries: issuing a row group's last beat needs a free one."""

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        self.sf, self.nf = p["MW"] // p["SIMD"], p["MH"] // p["PE"]
        self.od = 2 if self.sf >= 3 else -(-5 // self.sf)
        # a result must be taken the cycle before the issue of the one OD later, 4 cycles
        # before that one is ready
        self.hold, self.lead = self.od, 5
        self.vectors = stage.in_beats // self.sf
        self.in_beats, self.out_beats = stage.in_beats, self.vectors * self.nf
        gaps = np.ones(FRAMES * self.in_beats, dtype=np.int64)
        gaps[::self.sf] = (self.nf - 1) * self.sf + 1
        self.in_gaps = gaps

    def asap(self, arrival):
        pops = forward(arrival, self.in_gaps)
        last = pops[self.sf - 1::self.sf]
        pushes = (last[:, None] + 4 + self.sf * np.arange(self.nf)[None, :]).reshape(-1)
        return Schedule(pops, pushes)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        issues = backward(pushes - 4, self.sf)          # last issue of every row group
        credit = np.full_like(pushes, NEVER_AFTER)
        credit[:-self.od] = issues[self.od:] - 1        # result k leaves before k + OD is issued
        pushes = backward(np.minimum(pushes, credit), 1)
        first = issues[::self.nf]
        pops = (first[:, None] - (self.sf - 1) + np.arange(self.sf)[None, :]).reshape(-1)
        return Schedule(pops, pushes)


class Thresholding(Pattern):
    """thresholding.v: one beat per cycle, an output beat 2 cycles after its input beat."""

    hold, lead = 2, 3   # output and stage-1 registers (the skid entry is left as margin)

    def __init__(self, stage: StageRTL):
        self.in_beats = self.out_beats = stage.in_beats

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, pops + 2)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        return Schedule(pushes - 2, pushes)


class LabelSelect(Pattern):
    """label_select.v: a frame's beats at one per cycle; its K indices leave one per cycle
    from the cycle after its last beat."""

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        self.beats, self.k = p["NUM_CLASSES"] // p["PE"], p["K"]
        self.frames = stage.in_beats // self.beats
        self.in_beats, self.out_beats = stage.in_beats, self.frames * self.k

    def asap(self, arrival):
        pops = forward(arrival, 1)
        starts = np.full(FRAMES * self.out_beats, NEVER_BEFORE, dtype=np.int64)
        starts[::self.k] = pops[self.beats - 1::self.beats] + 1
        return Schedule(pops, forward(starts, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        ends = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        ends[self.beats - 1::self.beats] = pushes[::self.k] - 1
        return Schedule(backward(ends, 1), pushes)


def _pool_axis(n: int, k: int, s: int, before: int, after: int):
    """streaming_maxpool_1d along one axis of n items: for every window its last item and
    how many windows before it also end at the last item (read out one item each after it)."""
    windows = (n + before + after - k) // s + 1
    starts = np.arange(windows) * s - before
    last = np.minimum(starts + k - 1, n - 1)
    at_end = np.flatnonzero(last == n - 1)
    flushed = np.maximum(np.arange(windows) - at_end[0], 0) if len(at_end) else np.zeros(windows, dtype=np.int64)
    return last, flushed


class MaxPool(Pattern):
    """streaming_maxpool.v: input at one beat per cycle; a pooled beat leaves 4 cycles
    (two 1-D stages of 2) after the input beat that closes its window. Windows that end past
    the last column (row) are read out after it, one pixel (pooled row) each, while the input
    waits."""

    hold, lead = 3, 5   # of the 4-entry output queue, whose credit is taken 2 cycles early

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        cf, h, w = p["CH"] // p["PE"], p["H"], p["W"]
        extra = [0, 0]
        if p["CEIL_MODE"]:
            for axis, (size, k, s, a, b) in enumerate([(h, p["K_H"], p["STRIDE_H"], p["PAD_T"], p["PAD_B"]),
                                                       (w, p["K_W"], p["STRIDE_W"], p["PAD_L"], p["PAD_R"])]):
                span = size + a + b - k
                extra[axis] = (s - span % s) % s if span >= 0 else 0
        rows, row_flush = _pool_axis(h, p["K_H"], p["STRIDE_H"], p["PAD_T"], p["PAD_B"] + extra[0])
        cols, col_flush = _pool_axis(w, p["K_W"], p["STRIDE_W"], p["PAD_L"], p["PAD_R"] + extra[1])
        ow, row_beats = len(cols), w * cf
        self.in_beats = h * row_beats
        self.out_beats = len(rows) * ow * cf
        oh_i, ow_i, c_i = (a.reshape(-1) for a in np.indices((len(rows), ow, cf)))
        trigger = rows[oh_i] * row_beats + cols[ow_i] * cf + c_i
        latency = np.full(self.out_beats, 4, dtype=np.int64)
        late_col = col_flush[ow_i] > 0
        trigger[late_col] = rows[oh_i[late_col]] * row_beats + row_beats - 1
        latency[late_col] += (col_flush[ow_i[late_col]] - 1) * cf + c_i[late_col] + 1
        late_row = row_flush[oh_i] > 0
        trigger[late_row] = self.in_beats - 1
        latency[late_row] = 5 + (row_flush[oh_i[late_row]] - 1) * ow * cf + ow_i[late_row] * cf + c_i[late_row]
        self.trigger = _tile(trigger, self.in_beats)
        self.latency = np.tile(latency, FRAMES)
        gaps = np.ones(self.in_beats, dtype=np.int64)
        gaps[::row_beats] += int(col_flush.max()) * cf
        gaps[0] += int(row_flush.max()) * ow * cf
        self.in_gaps = np.tile(gaps, FRAMES)

    def asap(self, arrival):
        pops = forward(arrival, self.in_gaps)
        return Schedule(pops, forward(pops[self.trigger] + self.latency, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        np.minimum.at(need, self.trigger, pushes - self.latency)
        return Schedule(backward(need, self.in_gaps), pushes)

    def pops(self, arrival, alap):
        """A beat that closes no window waits only for the one before it."""
        closes = np.zeros(len(arrival), dtype=bool)
        closes[self.trigger] = True
        ready = np.where(closes, alap.pops, NEVER_BEFORE)
        return forward(np.maximum(arrival, ready), self.in_gaps)


class SlidingWindow(Pattern):
    """sliding_window.v: input rows go into NROWS row slots at one beat per cycle while the
    slot of the row is released; output beats leave in (oh, ow, u, v, c) order at one per
    cycle, each issued the cycle after the input word it copies was written and pushed 2
    cycles later (padding needs nothing; a frame's last beat waits for its last input
    beat). The end of output row oh releases the rows above output row oh+1, the end of a
    frame all of its rows: input row R can be written from the cycle after the release of
    row R - NROWS."""

    hold, lead = 3, 3   # of the 4-entry output queue, whose credit is taken at issue
    eager = False       # windows repeat the rows K_H*K_W times: keep the rows, not the windows

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        cf = p["IFM_CH"] // p["SIMD"]
        h, w = p["IFM_H"], p["IFM_W"]
        span_h = (p["K_H"] - 1) * p["DIL_H"] + 1
        span_w = (p["K_W"] - 1) * p["DIL_W"] + 1
        oh = (p["PAD_T"] + h + p["PAD_B"] - span_h) // p["STRIDE_H"] + 1
        ow = (p["PAD_L"] + w + p["PAD_R"] - span_w) // p["STRIDE_W"] + 1
        nrows = min(h, span_h - 1 + p["STRIDE_H"]) + p.get("EXTRA_ROWS", 0)
        self.row_beats, self.rows, self.out_rows = w * cf, h, oh
        self.in_beats = h * self.row_beats
        self.row_out = ow * p["K_H"] * p["K_W"] * cf            # output beats per output row
        self.out_beats = oh * self.row_out
        i_oh, i_ow, i_u, i_v, i_c = (a.reshape(-1) for a in np.indices((oh, ow, p["K_H"], p["K_W"], cf)))
        ir = i_oh * p["STRIDE_H"] + i_u * p["DIL_H"] - p["PAD_T"]
        ic = i_ow * p["STRIDE_W"] + i_v * p["DIL_W"] - p["PAD_L"]
        inside = (ir >= 0) & (ir < h) & (ic >= 0) & (ic < w)
        trigger = np.where(inside, ir * self.row_beats + ic * cf + i_c, -1)
        trigger[-1] = self.in_beats - 1
        self.trigger = trigger                                   # per frame, -1: padding
        top = np.arange(oh) * p["STRIDE_H"] - p["PAD_T"]         # first image row of each output row
        self.needs = np.clip(np.minimum(top + span_h - 1, h - 1), -1, h - 1)
        self.needs[-1] = h - 1
        released = np.clip(np.append(top[1:], h), 0, h)          # rows released by each output row end
        released[-1] = h
        released_abs = _tile(released, h)                       # over frames, absolute rows
        rows = np.arange(FRAMES * h)
        need = rows - nrows + 1                                   # released rows needed to write row R
        event = np.searchsorted(released_abs, need, side="left")
        self.release = np.where(need > 0, event, -1)            # output row whose end frees row R
        self.order = self._order()

    def _order(self) -> list[tuple[bool, int]]:
        """Rows in an order that respects every dependency: (True, input row) is written before
        the first output row that reads it, (False, output row) after the rows it reads."""
        order, written = [], 0
        for event in range(FRAMES * self.out_rows):
            frame, row = divmod(event, self.out_rows)
            while written <= frame * self.rows + self.needs[row]:
                order.append((True, written))
                written += 1
            order.append((False, event))
        return order

    def _in_slice(self, row: int) -> slice:
        return slice(row * self.row_beats, (row + 1) * self.row_beats)

    def _out_slice(self, event: int) -> slice:
        return slice(event * self.row_out, (event + 1) * self.row_out)

    def _sources(self, event: int) -> np.ndarray:
        """Absolute input beat of every output beat of output row ``event`` (-1: padding)."""
        frame, row = divmod(event, self.out_rows)
        trigger = self.trigger[row * self.row_out:(row + 1) * self.row_out]
        return np.where(trigger >= 0, trigger + frame * self.in_beats, -1)

    def asap(self, arrival):
        pops = np.full(FRAMES * self.in_beats, NEVER_BEFORE, dtype=np.int64)
        issues = np.full(FRAMES * self.out_beats, NEVER_BEFORE, dtype=np.int64)
        last_pop = last_issue = NEVER_BEFORE
        for is_input, index in self.order:
            if is_input:
                part = self._in_slice(index)
                x = arrival[part].copy()
                event = self.release[index]
                released = issues[(event + 1) * self.row_out - 1] + 1 if event >= 0 else NEVER_BEFORE
                x[0] = max(x[0], last_pop + 1, released)
                pops[part] = forward(x, 1)
                last_pop = pops[part.stop - 1]
            else:
                part = self._out_slice(index)
                sources = self._sources(index)
                x = np.where(sources >= 0, pops[sources] + 1, NEVER_BEFORE)
                x[0] = max(x[0], last_issue + 1)
                issues[part] = forward(x, 1)
                last_issue = issues[part.stop - 1]
        return Schedule(pops, issues + 2)

    def alap(self, deadline):
        issues = np.full(FRAMES * self.out_beats, NEVER_AFTER, dtype=np.int64)
        pops = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        frees = np.full(FRAMES * self.out_rows, NEVER_AFTER, dtype=np.int64)
        next_pop = next_issue = NEVER_AFTER
        for is_input, index in reversed(self.order):
            if is_input:
                part = self._in_slice(index)
                x = need[part].copy()
                x[-1] = min(x[-1], next_pop - 1)
                pops[part] = backward(x, 1)
                next_pop = pops[part.start]
                event = self.release[index]
                if event >= 0:
                    frees[event] = min(frees[event], next_pop - 1)
            else:
                part = self._out_slice(index)
                x = deadline[part] - 2
                x[-1] = min(x[-1], next_issue - 1, frees[index])
                issues[part] = backward(x, 1)
                next_issue = issues[part.start]
                sources = self._sources(index)
                read = sources >= 0
                np.minimum.at(need, sources[read], issues[part][read] - 1)
        return Schedule(pops, issues + 2)

    def pops(self, arrival, alap):
        """A row is written as soon as it arrives and its slot is released."""
        ready = np.full(len(arrival), NEVER_BEFORE, dtype=np.int64)
        released = self.release >= 0
        ends = (self.release[released] + 1) * self.row_out - 1
        ready[np.flatnonzero(released) * self.row_beats] = alap.pushes[ends] - 2 + 1
        return forward(np.maximum(arrival, ready), 1)


class Gather(Pattern):
    """width_converter.v, narrow to wide (RATIO input beats per output beat): input at one
    beat per cycle, a word leaves the cycle after its last piece arrives. It holds the word
    being gathered and one finished word: word m+2 cannot start before word m has left."""

    def __init__(self, ratio: int, out_beats: int):
        self.ratio, self.out_beats, self.in_beats = ratio, out_beats, out_beats * ratio

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, forward(pops[self.ratio - 1::self.ratio] + 1, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        ends = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        ends[self.ratio - 1::self.ratio] = pushes - 1
        return Schedule(backward(ends, 1), pushes)

    def latest(self, pops, ready):
        latest = np.full(len(ready), NEVER_AFTER, dtype=np.int64)
        latest[:-2] = pops[2 * self.ratio::self.ratio] - 1
        return latest


class Split(Pattern):
    """width_converter.v, wide to narrow (RATIO output beats per input beat): the pieces of
    a word leave at one per cycle from the cycle after it arrives. It holds the word being
    sent and the next one: word k+2 is taken after word k's last piece left."""

    def __init__(self, ratio: int, in_beats: int):
        self.ratio, self.in_beats, self.out_beats = ratio, in_beats, in_beats * ratio

    def asap(self, arrival):
        pops = forward(arrival, 1)
        starts = np.full(FRAMES * self.out_beats, NEVER_BEFORE, dtype=np.int64)
        starts[::self.ratio] = pops + 1
        pushes = forward(starts, 1)
        room = np.full(len(pops), NEVER_BEFORE, dtype=np.int64)
        room[2:] = pushes[self.ratio - 1::self.ratio][:-2] + 1
        return Schedule(forward(np.maximum(arrival, room), 1), pushes)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        return Schedule(backward(pushes[::self.ratio] - 1, 1), pushes)

    def latest(self, pops, ready):
        latest = np.full(len(ready), NEVER_AFTER, dtype=np.int64)
        latest[self.ratio - 1::self.ratio][:-2] = pops[2:] - 1
        return backward(latest, 1)


#: rtl_lib module -> its pattern.
PATTERNS = {
    "mvau": Mvau,
    "thresholding": Thresholding,
    "label_select": LabelSelect,
    "streaming_maxpool": MaxPool,
    "sliding_window": SlidingWindow,
}


