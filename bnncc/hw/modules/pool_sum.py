"""The integer window sum of average pooling (``rtl_lib/pool_sum.v``): its registry entry.

Input at one beat per cycle (PE channels per beat): WINDOW positions of CH/PE beats per
window, so cycles per frame = input elements / PE; a window's CH/PE sums leave one per
cycle, each one cycle after the last-position beat that completes it (a global pool: after
the frame's last pixel). PE divides the channels. Behind a sliding window (a KxK pool) its
PE is the window's SIMD, so the coupling is to its producer's output beat.

Resource terms: CH/PE accumulator words of PE*OUT_BITS bits (registers for one word, else
an array read at the registered word counter, which Yosys maps as a RAM with a registered
read address: distributed RAM, or block RAM when that is cheaper), PE adders of OUT_BITS bits (the
zero of a window's first position folded into them; the IN_BITS low bits and the carry bits
above them, which cost more on ECP5, apart), a two-entry output queue (an array
with an asynchronous read) and the position counters.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward, tile
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, flag, not_multiple, vdiv, vmod
from bnncc.hw.stage import StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops.pool import PoolSum
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: PoolSum, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    parameters = {"CH": op.channels, "PE": op.pe, "WINDOW": op.window, "IN_BITS": element_bits(x.dtype),
                  "IN_SIGNED": int(x.dtype.kind == "INT"), "OUT_BITS": element_bits(y.dtype)}
    in_beats = per_frame(x.shape) // op.pe
    out_beats = per_frame(y.shape) // op.pe
    return StageRTL(op.name, instance_name(op.name), "pool_sum", parameters, Stream(op.pe, x.dtype),
                    Stream(op.pe, y.dtype), in_beats, out_beats, in_beats)


def foldings(graph: Graph, op: PoolSum) -> list[dict]:
    return [{"pe": pe} for pe in divisors(op.channels)]


def couple(op: PoolSum, elems: int) -> dict:
    """The PE that takes a producer's beats of ``elems`` elements without a converter (a
    sliding window's SIMD in front of it)."""
    return {"pe": math.gcd(elems, op.channels)}


# -- rules ----------------------------------------------------------------------------------
def _derived(p: dict) -> dict:
    """The ranges of the Verilog's 64-bit checks, from widths clamped to legal values as the
    Verilog clamps them."""
    ib = p["IN_BITS"] if 1 <= p["IN_BITS"] <= 32 else 1
    ob = p["OUT_BITS"] if 1 <= p["OUT_BITS"] <= 48 else 1
    window = p["WINDOW"] if p["WINDOW"] >= 1 else 1
    signed = p["IN_SIGNED"] != 0
    in_min, in_max = (-(1 << (ib - 1)), (1 << (ib - 1)) - 1) if signed else (0, (1 << ib) - 1)
    out_min, out_max = (-(1 << (ob - 1)), (1 << (ob - 1)) - 1) if signed else (0, (1 << ob) - 1)
    legal = (p["CH"] >= 1 and p["PE"] >= 1 and vmod(p["CH"], p["PE"]) == 0 and p["WINDOW"] >= 1
             and p["IN_BITS"] == ib and p["OUT_BITS"] == ob and p["IN_SIGNED"] in (0, 1))
    return {"CF": vdiv(p["CH"], p["PE"]), "LEGAL": legal, "SUM_MIN": window * in_min, "SUM_MAX": window * in_max,
            "OUT_MIN": out_min, "OUT_MAX": out_max}


RULES = ModuleRules(
    "pool_sum",
    defaults={"CH": 4, "PE": 1, "WINDOW": 4, "IN_BITS": 4, "IN_SIGNED": 0, "OUT_BITS": 6},
    derived=_derived,
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("WINDOW must be >= 1", lambda p: p["WINDOW"] < 1),
        Rule("IN_BITS must be 1..32", lambda p: not (1 <= p["IN_BITS"] <= 32)),
        Rule("IN_SIGNED must be 0 or 1", flag("IN_SIGNED")),
        Rule("OUT_BITS must be 1..48", lambda p: not (1 <= p["OUT_BITS"] <= 48)),
        Rule("OUT_BITS=%0d cannot hold the sums %0d..%0d",
             lambda p: p["LEGAL"] and (p["SUM_MIN"] < p["OUT_MIN"] or p["SUM_MAX"] > p["OUT_MAX"]),
             ("OUT_BITS", "SUM_MIN", "SUM_MAX")),
    ),
)


# -- timing ---------------------------------------------------------------------------------
class WindowSum(Pattern):
    """pool_sum.v: input at one beat per cycle; sum beat f of window n is pushed into the
    output queue one cycle after the input beat that completes it (beat f of the window's
    last position). Beats of the other positions only add into the accumulators. The input
    holds a completing beat while the two-entry queue is full (its ready reads registers
    only): output k can leave as late as 2 cycles before output k + 2 is ready."""

    hold, lead = 2, 2

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        cf, window = p["CH"] // p["PE"], p["WINDOW"]
        self.in_beats, self.out_beats = stage.in_beats, stage.out_beats
        windows = self.out_beats // cf
        trigger = (np.arange(windows)[:, None] * window * cf + (window - 1) * cf + np.arange(cf)[None, :]).reshape(-1)
        self.trigger = tile(trigger, self.in_beats)

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, forward(pops[self.trigger] + 1, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        need[self.trigger] = pushes - 1
        return Schedule(backward(need, 1), pushes)

    def pops(self, arrival, alap):
        """A beat that completes no sum waits only for the one before it."""
        completes = np.zeros(len(arrival), dtype=bool)
        completes[self.trigger] = True
        ready = np.where(completes, alap.pops, NEVER_BEFORE)
        return forward(np.maximum(arrival, ready), 1)


# -- resource terms -------------------------------------------------------------------------
def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a pool_sum instance (see the module docstring)."""
    pe, ob = p["PE"], p["OUT_BITS"]
    cf, dw = p["CH"] // pe, pe * p["OUT_BITS"]
    counters = counter_bits(cf) + counter_bits(p["WINDOW"])
    accumulators = memory_cost(Memory(dw, cf, "ram"), family)
    queue = memory_cost(Memory(dw, 2, "ram_async"), family)
    # the data bits read out of distributed RAM (ECP5 spends logic on each)
    lutram_read = dw * (int(accumulators["lutram"] > 0) + int(queue["lutram"] > 0))
    low = min(p["IN_BITS"], ob)
    return Terms(
        lut={"const": 1, "counter_bits": counters, "add": pe * low, "add_carry": pe * (ob - low),
             "mux": accumulators["mux"] + queue["mux"],
             "decode": accumulators["decode"] + queue["decode"], "lutram_read": lutram_read},
        ff={"control": counters + 4, "data": dw if cf == 1 else 0, "memory": accumulators["ff"] + queue["ff"]},
        bram=accumulators["bram"] + queue["bram"], lutram=accumulators["lutram"] + queue["lutram"])


COEFFICIENTS = {
    "xilinx": {
        "lut": {"add": 0.993, "add_carry": 0.932, "const": 18.386, "counter_bits": 0.882, "decode": 0, "lutram_read": 0,
                "mux": 0},
        "ff": {"control": 1.607, "data": 0.97, "memory": 0},
    },
    "ecp5": {
        "lut": {"add": 1.407, "add_carry": 5.504, "const": 19.538, "counter_bits": 0.34, "decode": 7.294, "lutram_read": 0,
                "mux": 0.896},
        "ff": {"control": 1.692, "data": 0.971, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
def grid_point(name: str, ch: int, pe: int, window: int, in_bits: int, signed: int) -> dict:
    low, high = (-(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1) if signed else (0, (1 << in_bits) - 1)
    out_bits = max(1, max((-window * low - 1).bit_length() if low < 0 else 0, (window * high).bit_length()) + signed)
    params = {"CH": ch, "PE": pe, "WINDOW": window, "IN_BITS": in_bits, "IN_SIGNED": signed, "OUT_BITS": out_bits}
    return calibration.point(name, params)


def calibration_grid(quick: bool) -> list[dict]:
    points = [(64, 1, 64, 4, 0), (64, 8, 4, 2, 0), (128, 4, 9, 4, 1), (32, 32, 4, 8, 1), (256, 16, 64, 2, 0),
              (16, 1, 49, 8, 0), (512, 8, 16, 4, 1), (10, 10, 25, 3, 0), (48, 3, 9, 1, 1), (96, 12, 49, 6, 0),
              (20, 5, 4, 8, 1), (1024, 16, 9, 2, 0), (64, 64, 36, 4, 0), (128, 2, 4, 4, 0)]
    if quick:
        points = points[:2]
    return [grid_point(f"poolsum_{ch}c_pe{pe}_w{window}_b{bits}{'s' if signed else 'u'}", ch, pe, window, bits, signed)
            for ch, pe, window, bits, signed in points]


SPEC = ModuleSpec(
    name="pool_sum",
    kind="stage",
    rules=RULES,
    ir_ops=(PoolSum,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["IN_BITS"], 1), ("m_axis", "out", p["PE"] * p["OUT_BITS"], 1)],
    pattern=WindowSum,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
)
