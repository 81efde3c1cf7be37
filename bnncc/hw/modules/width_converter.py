"""The width converter (``rtl_lib/width_converter.v``) the backend places between streams
of different elements per beat: its registry entry.

Timing: :class:`Gather` (narrow to wide) and :class:`Split` (wide to narrow).

Resource terms (IN_WIDTH, OUT_WIDTH, ratio R, counter CW = clog2(R+1) bits): a split
holds two input words (shift register and hold register), a gather two output words
(gather register and output register). A split's shift register costs one LUT per bit or
two, depending on how the reload and shift enables pack (two for CW = 3 or 4 in Yosys 0.70
xc7: measured, hence a term of its own).
"""

from __future__ import annotations

import numpy as np

from bnncc.hw import calibration
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below, vmod
from bnncc.hw.terms import Terms, clog2

RULES = ModuleRules(
    "width_converter",
    defaults={"IN_WIDTH": 32, "OUT_WIDTH": 8},
    rules=(
        Rule("IN_WIDTH and OUT_WIDTH must be >= 1", lambda p: any_below(p, ("IN_WIDTH", "OUT_WIDTH"), 1)),
        Rule("IN_WIDTH (%0d) and OUT_WIDTH (%0d): one must be a multiple of the other",
             lambda p: (p["IN_WIDTH"] > p["OUT_WIDTH"] and vmod(p["IN_WIDTH"], p["OUT_WIDTH"]) != 0)
             or (p["OUT_WIDTH"] > p["IN_WIDTH"] and vmod(p["OUT_WIDTH"], p["IN_WIDTH"]) != 0),
             ("IN_WIDTH", "OUT_WIDTH")),
    ),
)


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


def _ratio(p: dict) -> int:
    a, b = p["IN_WIDTH"], p["OUT_WIDTH"]
    return max(a, b) // min(a, b)


def pattern(stage) -> Pattern:
    """Split or gather by the direction of the conversion (``stage.parameters``)."""
    p = stage.parameters
    if p["IN_WIDTH"] > p["OUT_WIDTH"]:
        return Split(_ratio(p), stage.in_beats)
    return Gather(_ratio(p), stage.out_beats)


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a width_converter instance (see the module docstring)."""
    a, b = p["IN_WIDTH"], p["OUT_WIDTH"]
    if a == b:
        return Terms()
    ratio = a // b if a > b else b // a
    cw = 1 if ratio <= 1 else clog2(ratio + 1)
    if a > b:
        return Terms(lut={"const": 1, "count_bits": cw, "split": a, "split_packed": a if cw in (3, 4) else 0},
                     ff={"control": cw + 1, "data": 2 * a})
    return Terms(lut={"const": 1, "count_bits": cw, "gather": b}, ff={"control": cw + 2, "data": 2 * b})


COEFFICIENTS = {
    "xilinx": {
        "lut": {"const": 9.363, "count_bits": 0.176, "gather": 0.993, "split": 1.043, "split_packed": 0.908},
        "ff": {"control": 1, "data": 1},
    },
    "ecp5": {
        "lut": {"const": 32.922, "count_bits": 0, "gather": 1.627, "split": 2.732, "split_packed": 4.225},
        "ff": {"control": 1, "data": 1},
    },
}


def calibration_grid(quick: bool) -> list[dict]:
    pairs = [(8, 48)] + ([] if quick else [
        (1, 3), (3, 1), (2, 10), (10, 2), (6, 96), (96, 6), (32, 256), (256, 32), (64, 576), (576, 64), (24, 1152),
        (1152, 24), (16, 48), (48, 16), (60, 12), (84, 12), (120, 10), (130, 10), (150, 5), (192, 6), (320, 10),
        (12, 60), (10, 130)])
    return [calibration.point(f"wc_{a}_{b}", {"IN_WIDTH": a, "OUT_WIDTH": b}) for a, b in pairs]


SPEC = ModuleSpec(
    name="width_converter",
    kind="stream",
    rules=RULES,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["IN_WIDTH"], 1), ("m_axis", "out", p["OUT_WIDTH"], 1)],
    pattern=pattern,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
