"""The parallel mode of the sliding window (``rtl_lib/window_parallel.v``, instantiated by
``sliding_window.v`` when SIMD = M*IFM_CH with M > 1 dividing K_H*K_W): its registry entry
(parameter rules) and what ``bnncc/hw/modules/sliding_window.py`` reads of that mode: its
geometry, beat pattern, cycles per frame and resource terms.

Timing (the RTL's walker, exactly): the padded image (HP x WP positions, raster order) is
walked at most one position per cycle; step k happens at

    t_k = max(t_{k-1} + 1, arrival of its input beat (image positions),
              last beat of entry e - 16 popped + 1 (window corners: entry e of the 16-entry queue))

and the window of entry e can leave NB = K_H*K_W/M beats, one per cycle, the first 3 cycles
after its corner's step. Where the credit binds nowhere (checked) the steps are
closed forms (:func:`~bnncc.hw.patterns.forward` over the positions); else the pattern
walks the positions one by one. Cycles per frame: about max(HP*WP, OH*OW*NB) in steady
state (:func:`cycles_per_frame`). READ_REG (WP >= 3) reads the line buffer a cycle ahead
through two registers: the same timing, LBW more flip-flops (the block RAM's output register
where the buffer is block RAM); READ_REG also keeps the output queue's head patch in a register
(the same timing; a patch of flip-flops).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np

from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, vdiv, vmod
from bnncc.hw.terms import Terms, counter_bits

#: Entries of the output queue (the credit the walker reserves at a window corner).
QUEUE = 16
#: Cycles from a window corner's step to the first beat of its window leaving.
LATENCY = 3


def is_parallel(p: dict) -> bool:
    """Whether sliding_window parameters select the parallel mode (SIMD > IFM_CH)."""
    return p["SIMD"] > p["IFM_CH"]


def legal_parallel(channels: int, kernel_positions: int, simd: int) -> bool:
    """SIMD = M*C with M > 1 dividing K_H*K_W."""
    return simd > channels and simd % channels == 0 and kernel_positions % (simd // channels) == 0


def geometry(p: dict) -> dict:
    """The walker's geometry of a parallel sliding window (parameters of the Verilog)."""
    span_h = (p["K_H"] - 1) * p["DIL_H"] + 1
    span_w = (p["K_W"] - 1) * p["DIL_W"] + 1
    hp = p["PAD_T"] + p["IFM_H"] + p["PAD_B"]
    wp = p["PAD_L"] + p["IFM_W"] + p["PAD_R"]
    m = p["SIMD"] // p["IFM_CH"]
    kk = p["K_H"] * p["K_W"]
    return {"span_h": span_h, "span_w": span_w, "hp": hp, "wp": wp, "m": m, "kk": kk, "nb": kk // m,
            "oh": (hp - span_h) // p["STRIDE_H"] + 1, "ow": (wp - span_w) // p["STRIDE_W"] + 1,
            "pw": p["IFM_CH"] * p["ELEM_BITS"]}


def cycles_per_frame(p: dict) -> int:
    """Cycles per frame in steady state, input always there and output never blocked: at
    least max(HP*WP, OH*OW*NB), more where the windows come in bursts longer than the
    output queue hides (several output rows close together, then rows without windows):
    the period of :class:`WindowParallel`."""
    return _period(tuple(sorted(p.items())))


@functools.lru_cache(maxsize=256)
def _period(items: tuple) -> int:
    return WindowParallel(SimpleNamespace(parameters=dict(items))).period()


def _positions(p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per padded position of one frame (raster order): whether it is an image position,
    and whether it is a window corner."""
    g = geometry(p)
    r, c = (a.reshape(-1) for a in np.indices((g["hp"], g["wp"])))
    image = (r >= p["PAD_T"]) & (r < p["PAD_T"] + p["IFM_H"]) & (c >= p["PAD_L"]) & (c < p["PAD_L"] + p["IFM_W"])
    dr, dc = r - (g["span_h"] - 1), c - (g["span_w"] - 1)
    corner = (dr >= 0) & (dr % p["STRIDE_H"] == 0) & (dc >= 0) & (dc % p["STRIDE_W"] == 0)
    return image, corner


class WindowParallel(Pattern):
    """The beat timing of the parallel mode (see the module docstring): one input beat per
    image position, NB output beats per window corner."""

    eager = False   # windows repeat each pixel up to K_H*K_W times: keep the pixels

    def __init__(self, stage):
        p = stage.parameters
        g = geometry(p)
        self.nb = g["nb"]
        image, corner = _positions(p)
        self.in_beats = int(image.sum())
        self.out_beats = int(corner.sum()) * self.nb
        self.image = np.tile(image, FRAMES)
        self.corner = np.tile(corner, FRAMES)

    def asap(self, arrival):
        fast = self._asap_without_credit(np.asarray(arrival, dtype=np.int64))
        return fast if fast is not None else self._asap_loop(arrival)

    def alap(self, deadline):
        fast = self._alap_without_credit(np.asarray(deadline, dtype=np.int64))
        return fast if fast is not None else self._alap_loop(deadline)

    def _beats(self, firsts: np.ndarray) -> np.ndarray:
        """Every output beat's cycle from its window's first beat's (beats in a row)."""
        return (firsts[:, None] + np.arange(self.nb, dtype=np.int64)[None, :]).reshape(-1)

    def _asap_without_credit(self, arrival):
        """The earliest schedule as closed forms when the queue's credit never holds the
        walker back (checked; None if it would)."""
        x = np.full(len(self.image), NEVER_BEFORE, dtype=np.int64)
        x[self.image] = arrival
        steps = forward(x, 1)
        corners = steps[self.corner]
        firsts = forward(corners + LATENCY, self.nb)
        lasts = firsts + self.nb - 1
        if np.any(corners[QUEUE:] < lasts[:-QUEUE] + 1):
            return None
        return Schedule(steps[self.image], self._beats(firsts))

    def _alap_without_credit(self, deadline):
        """The latest schedule as closed forms when the queue's credit binds nowhere
        (checked; None if it would)."""
        pushes = backward(deadline, 1)
        firsts, lasts = pushes[::self.nb], pushes[self.nb - 1::self.nb]
        y = np.full(len(self.image), NEVER_AFTER, dtype=np.int64)
        y[self.corner] = firsts - LATENCY
        steps = backward(y, 1)
        if np.any(steps[self.corner][QUEUE:] < lasts[:-QUEUE] + 1):
            return None
        return Schedule(steps[self.image], pushes)

    def _asap_loop(self, arrival):
        arrival = [int(a) for a in arrival]
        pops, pushes, last_beat = [], [], []
        t, prev_push = NEVER_BEFORE - 1, NEVER_BEFORE   # unconstrained steps stay at NEVER_BEFORE
        j = 0
        for image, corner in zip(self.image.tolist(), self.corner.tolist()):
            t = t + 1
            if image:
                t = max(t, arrival[j])
                pops.append(t)
                j += 1
            if corner:
                e = len(last_beat)
                if e >= QUEUE:
                    t = max(t, last_beat[e - QUEUE] + 1)
                if image:
                    pops[-1] = t
                first = max(t + LATENCY, prev_push + 1)
                pushes.extend(range(first, first + self.nb))
                prev_push = first + self.nb - 1
                last_beat.append(prev_push)
        return Schedule(np.array(pops, dtype=np.int64), np.array(pushes, dtype=np.int64))

    def _alap_loop(self, deadline):
        deadline = [int(d) for d in deadline]
        n_out = len(deadline) // self.nb
        pops, pushes = [], [0] * len(deadline)
        corner_steps = [NEVER_AFTER] * n_out
        t, next_push = NEVER_AFTER + 1, NEVER_AFTER     # unconstrained steps stay at NEVER_AFTER
        e = n_out
        for image, corner in zip(reversed(self.image.tolist()), reversed(self.corner.tolist())):
            t = t - 1
            if corner:
                e -= 1
                last = next_push - 1
                if e + QUEUE < n_out:
                    last = min(last, corner_steps[e + QUEUE] - 1)
                for i in reversed(range(self.nb)):
                    k = e * self.nb + i
                    last = min(last, deadline[k])
                    pushes[k] = last
                    last -= 1
                next_push = pushes[e * self.nb]
                t = min(t, next_push - LATENCY)
                corner_steps[e] = t
            if image:
                pops.append(t)
        return Schedule(np.array(pops[::-1], dtype=np.int64), np.array(pushes, dtype=np.int64))


def read_reg(p: dict) -> int:
    """Whether READ_REG takes effect: asked for, with a line buffer of WP >= 3 words."""
    g = geometry(p)
    return int(bool(p.get("READ_REG", 0)) and g["span_h"] > 1 and g["wp"] >= 3)


def terms(p: dict, family: str) -> Terms:
    """Line buffer (SPAN_H - 1 padded rows, WP words) through ``memory_cost``, the window
    registers (K_H x SPAN_W pixels), the 16-patch output queue (distributed RAM), the output
    multiplexer (NB beats of SIMD elements), the padding multiplexer and the walker's
    counters."""
    g = geometry(p)
    pw, bw = g["pw"], p["SIMD"] * p["ELEM_BITS"]
    lines = g["span_h"] - 1
    line = memory_cost(Memory(lines * pw, g["wp"], "ram"), family) if lines else \
        {"mux": 0, "decode": 0, "ff": 0, "bram": 0, "lutram": 0}
    # READ_REG: the queue's head patch also in a register
    head = bool(p.get("READ_REG", 0))
    queue = memory_cost(Memory(g["kk"] * pw, QUEUE, "ram_async"), family)
    counters = sum(counter_bits(n) for n in (g["wp"], g["hp"], max(g["span_w"], p["STRIDE_W"]),
                                             max(g["span_h"], p["STRIDE_H"]), g["nb"]))
    window = p["K_H"] * g["span_w"] * pw
    return Terms(
        lut={"par_const": 1, "par_counter_bits": counters, "par_out_mux": bw * (g["nb"] - 1), "par_pad_mux": pw,
             "par_mux": line["mux"] + queue["mux"], "par_decode": line["decode"] + queue["decode"]},
        ff={"par_control": counters + (4 if head else 0), "par_window": window + pw + (g["kk"] * pw if head else 0),
            "par_data": 0 if (line["bram"] or not lines) else lines * pw * (1 + read_reg(p)),
            "par_memory": line["ff"] + queue["ff"]},
        bram=line["bram"] + queue["bram"], lutram=line["lutram"] + queue["lutram"])


RULES = ModuleRules(
    "window_parallel",
    defaults={"IFM_CH": 2, "IFM_H": 4, "IFM_W": 4, "K_H": 3, "K_W": 3, "STRIDE_H": 1, "STRIDE_W": 1, "DIL_H": 1,
              "DIL_W": 1, "PAD_T": 0, "PAD_L": 0, "PAD_B": 0, "PAD_R": 0, "PAD_VALUE": 0, "SIMD": 18, "ELEM_BITS": 1,
              "READ_REG": 0},
    derived=lambda p: {
        "SPAN_H": (p["K_H"] - 1) * p["DIL_H"] + 1, "SPAN_W": (p["K_W"] - 1) * p["DIL_W"] + 1,
        "HP": p["PAD_T"] + p["IFM_H"] + p["PAD_B"], "WP": p["PAD_L"] + p["IFM_W"] + p["PAD_R"],
        "KK": p["K_H"] * p["K_W"],
        "MG": max(1, vdiv(p["SIMD"], p["IFM_CH"])) if p["IFM_CH"] >= 1 else 1,
    },
    rules=(
        Rule("SIMD (%0d) must be a multiple of IFM_CH (%0d) by a factor > 1 dividing K_H*K_W (%0d)",
             lambda p: p["IFM_CH"] < 1 or p["SIMD"] <= p["IFM_CH"] or vmod(p["SIMD"], p["IFM_CH"]) != 0
             or vmod(p["KK"], p["MG"]) != 0, ("SIMD", "IFM_CH", "KK")),
        Rule("READ_REG must be 0 or 1", lambda p: p["READ_REG"] not in (0, 1)),
        Rule("kernel %0dx%0d (dilation %0dx%0d) does not fit the padded %0dx%0d image",
             lambda p: p["HP"] < p["SPAN_H"] or p["WP"] < p["SPAN_W"], ("K_H", "K_W", "DIL_H", "DIL_W", "HP", "WP")),
    ),
)

SPEC = ModuleSpec(name="window_parallel", kind="submodule", rules=RULES)
