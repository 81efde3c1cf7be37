"""Max pooling on a stream (``rtl_lib/streaming_maxpool.v``, with its submodule
``streaming_maxpool_1d``): its registry entry.

Input at one beat per cycle (PE channels per beat): cycles per frame = H*W*C / PE; PE divides
the channels and is coupled to its producer's output beat (gcd(producer's elements, C)) when
the folding table does not set it.

Resource terms: two 1-D pooling stages (along rows, then along columns); each keeps NB =
min(ceil(K/S), windows) accumulator banks of L words (registers if L = 1, else a RAM with a
registered read), a lane-wise maximum per bank (PE comparisons of ELEM_BITS bits) and a
4-word output queue.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.errors import UnsupportedModelError
from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward, tile
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below, flag, not_multiple, vdiv, vmod
from bnncc.hw.stage import StageRTL, Stream
from bnncc.hw.stage_common import divisors, geometry, instance_name
from bnncc.hw.terms import Terms, clog2, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: hw.StreamingMaxPool, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    if tuple(op.dilations) != (1, 1):
        raise UnsupportedModelError(f"node '{op.name}' (StreamingMaxPool): dilated pooling is not supported in RTL")
    (h, w), (oh, ow) = op.ifm_dims, op.ofm_dims
    parameters = {"CH": op.ifm_channels, "H": h, "W": w, **geometry(op), "CEIL_MODE": int(op.ceil_mode), "PE": op.pe,
                  "ELEM_BITS": element_bits(x.dtype), "SIGNED": int(x.dtype.kind == "INT")}
    in_beats = h * w * op.ifm_channels // op.pe
    out_beats = oh * ow * op.ifm_channels // op.pe
    return StageRTL(op.name, instance_name(op.name), "streaming_maxpool", parameters, Stream(op.pe, x.dtype),
                    Stream(op.pe, x.dtype), in_beats, out_beats, in_beats, input_unit=w * op.ifm_channels // op.pe)


def foldings(graph: Graph, op: hw.StreamingMaxPool) -> list[dict]:
    return [{"pe": pe} for pe in divisors(op.ifm_channels)]


def couple(op: hw.StreamingMaxPool, elems: int) -> dict:
    """The PE that takes a producer's beats of ``elems`` elements without a converter."""
    return {"pe": math.gcd(elems, op.ifm_channels)}


# -- rules ----------------------------------------------------------------------------------
def _maxpool_derived(p: dict) -> dict:
    span_h = p["H"] + p["PAD_T"] + p["PAD_B"] - p["K_H"]
    span_w = p["W"] + p["PAD_L"] + p["PAD_R"] - p["K_W"]

    def extra(span, stride):
        return vmod(stride - vmod(span, stride), stride) if p["CEIL_MODE"] != 0 and span >= 0 else 0

    extra_w = extra(span_w, p["STRIDE_W"])
    return {
        "CF": vdiv(p["CH"], p["PE"]), "SPAN_H": span_h, "SPAN_W": span_w,
        "EXTRA_H": extra(span_h, p["STRIDE_H"]), "EXTRA_W": extra_w,
        "OW": vdiv(span_w + extra_w, p["STRIDE_W"]) + 1 if span_w >= 0 else 1,
    }


def _maxpool_children(p: dict) -> list[tuple[str, str, dict]]:
    common = {"PE": p["PE"], "EB": p["ELEM_BITS"], "SIGNED": p["SIGNED"]}
    return [
        ("pool_w", "streaming_maxpool_1d", {"N": p["W"], "L": p["CF"], "K": p["K_W"], "S": p["STRIDE_W"],
                                            "P0": p["PAD_L"], "P1": p["PAD_R"] + p["EXTRA_W"], **common,
                                            "AXIS": "columns"}),
        ("pool_h", "streaming_maxpool_1d", {"N": p["H"], "L": p["OW"] * p["CF"], "K": p["K_H"], "S": p["STRIDE_H"],
                                            "P0": p["PAD_T"], "P1": p["PAD_B"] + p["EXTRA_H"], **common,
                                            "AXIS": "rows"}),
    ]


RULES = ModuleRules(
    "streaming_maxpool",
    defaults={"CH": 2, "H": 4, "W": 4, "K_H": 2, "K_W": 2, "STRIDE_H": 2, "STRIDE_W": 2, "PAD_T": 0, "PAD_L": 0,
              "PAD_B": 0, "PAD_R": 0, "CEIL_MODE": 0, "PE": 1, "ELEM_BITS": 1, "SIGNED": 0},
    derived=_maxpool_derived,
    children=_maxpool_children,
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("H and W must be >= 1", lambda p: any_below(p, ("H", "W"), 1)),
        Rule("K_H and K_W must be >= 1", lambda p: any_below(p, ("K_H", "K_W"), 1)),
        Rule("strides must be >= 1", lambda p: any_below(p, ("STRIDE_H", "STRIDE_W"), 1)),
        Rule("CEIL_MODE must be 0 or 1", flag("CEIL_MODE")),
        Rule("SIGNED must be 0 or 1", flag("SIGNED")),
        Rule("ELEM_BITS must be >= 1", lambda p: p["ELEM_BITS"] < 1),
        Rule("window %0dx%0d does not fit the padded %0dx%0d image", lambda p: p["SPAN_H"] < 0 or p["SPAN_W"] < 0,
             ("K_H", "K_W", "H + PAD_T + PAD_B", "W + PAD_L + PAD_R")),
    ),
)


def _maxpool_1d_derived(p: dict) -> dict:
    n, k, s, p0, p1 = p["N"], p["K"], p["S"], p["P0"], p["P1"]
    windows = vdiv(n + p0 + p1 - k, s) + 1 if n + p0 + p1 >= k else 1
    return {"M": windows, "PS_LAST": (windows - 1) * s - p0}


RULES_1D = ModuleRules(
    "streaming_maxpool_1d",
    defaults={"N": 4, "L": 1, "K": 2, "S": 2, "P0": 0, "P1": 0, "PE": 1, "EB": 1, "SIGNED": 0, "AXIS": "items"},
    derived=_maxpool_1d_derived,
    rules=(
        Rule("illegal %s geometry N=%0d L=%0d K=%0d S=%0d pads %0d/%0d",
             lambda p: p["N"] < 1 or p["L"] < 1 or p["K"] < 1 or p["S"] < 1 or p["P0"] < 0 or p["P1"] < 0,
             ("AXIS", "N", "L", "K", "S", "P0", "P1")),
        Rule("padding %0d before the %s must be smaller than the window (%0d)", lambda p: p["P0"] >= p["K"],
             ("P0", "AXIS", "K")),
        Rule("the last window along the %s lies entirely in the padding",
             lambda p: p["N"] + p["P0"] + p["P1"] >= p["K"] and p["PS_LAST"] > p["N"] - 1, ("AXIS",)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
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
        self.trigger = tile(trigger, self.in_beats)
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


# -- resource terms -------------------------------------------------------------------------
def _pool_1d(n: int, length: int, k: int, s: int, p0: int, p1: int, dw: int, bits: int, family: str, out: Terms) -> None:
    """Add the terms of one ``streaming_maxpool_1d`` stage to ``out``."""
    windows = (n + p0 + p1 - k) // s + 1 if n + p0 + p1 >= k else 1
    banks = min(-(-k // s), windows)
    counters = counter_bits(n) + counter_bits(length) + counter_bits(banks)
    sw = clog2(n + p0 + p1 + k + 2 * banks * s + 2) + 2
    queue = memory_cost(Memory(dw, 4, "ram_async"), family)
    lut, ff = out.lut, out.ff
    lut["const"] = lut.get("const", 0) + 1
    lut["counter_bits"] = lut.get("counter_bits", 0) + counters + banks * sw
    lut["compare"] = lut.get("compare", 0) + banks * dw
    # the window flags computed a cycle ahead: every bank's current and next window (first
    # and last items, their compares with item i + 1, and their advance adders), per bit
    lut["window_bits"] = lut.get("window_bits", 0) + banks * sw
    lut["select"] = lut.get("select", 0) + (banks - 1) * dw
    mux, decode, data = queue["mux"], queue["decode"], 2 * dw
    if length > 1:
        bank = memory_cost(Memory(dw, length, "ram"), family)
        out.bram += banks * bank["bram"]
        out.lutram += banks * bank["lutram"]
        mux += banks * bank["mux"]
        decode += banks * bank["decode"]
        # the accumulator read (registered), and one word ahead for items of 3 beats or more
        data += 0 if bank["bram"] else banks * dw * (2 if length >= 3 else 1)
        ff["memory"] = ff.get("memory", 0) + banks * bank["ff"]
    else:
        data += banks * dw
    out.bram += queue["bram"]
    out.lutram += queue["lutram"]
    lut["mux"] = lut.get("mux", 0) + mux
    lut["decode"] = lut.get("decode", 0) + decode
    # counters, window starts, flags; i + 1, the windows' ends and next windows, next flags
    ff["control"] = ff.get("control", 0) + counters + banks * sw + 4 * banks + 10 + counter_bits(n) + 3 * banks * sw
    ff["data"] = ff.get("data", 0) + data
    ff["memory"] = ff.get("memory", 0) + queue["ff"]


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a streaming_maxpool instance (see the module docstring)."""
    pe, bits = p["PE"], p["ELEM_BITS"]
    cf, dw = p["CH"] // pe, pe * bits
    span_h = p["H"] + p["PAD_T"] + p["PAD_B"] - p["K_H"]
    span_w = p["W"] + p["PAD_L"] + p["PAD_R"] - p["K_W"]
    extra_h = (p["STRIDE_H"] - span_h % p["STRIDE_H"]) % p["STRIDE_H"] if p["CEIL_MODE"] and span_h >= 0 else 0
    extra_w = (p["STRIDE_W"] - span_w % p["STRIDE_W"]) % p["STRIDE_W"] if p["CEIL_MODE"] and span_w >= 0 else 0
    ow = (span_w + extra_w) // p["STRIDE_W"] + 1 if span_w >= 0 else 1
    out = Terms()
    _pool_1d(p["W"], cf, p["K_W"], p["STRIDE_W"], p["PAD_L"], p["PAD_R"] + extra_w, dw, bits, family, out)
    _pool_1d(p["H"], ow * cf, p["K_H"], p["STRIDE_H"], p["PAD_T"], p["PAD_B"] + extra_h, dw, bits, family, out)
    return out


COEFFICIENTS = {
    "xilinx": {
        "lut": {"compare": 2.041, "const": 0, "counter_bits": 3.402, "decode": 0, "mux": 0.313, "select": 0.385,
                "window_bits": 7.04},
        "ff": {"control": 1.132, "data": 0.658, "memory": 0},
    },
    "ecp5": {
        "lut": {"compare": 2.355, "const": 0, "counter_bits": 5.93, "decode": 0, "mux": 0.844, "select": 0.762,
                "window_bits": 12.74},
        "ff": {"control": 1.18, "data": 0.652, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
def grid_point(name: str, ch: int, h: int, w: int, k: int, stride: int, pe: int, bits: int, signed: int) -> dict:
    params = {"CH": ch, "H": h, "W": w, "K_H": k, "K_W": k, "STRIDE_H": stride, "STRIDE_W": stride, "PAD_T": 0,
              "PAD_L": 0, "PAD_B": 0, "PAD_R": 0, "CEIL_MODE": 0, "PE": pe, "ELEM_BITS": bits, "SIGNED": signed}
    return calibration.point(name, params)


def calibration_grid(quick: bool) -> list[dict]:
    if quick:
        return []
    return [grid_point(f"pool_{ch}c{h}x{w}_k{k}s{s}_pe{pe}_b{bits}", ch, h, w, k, s, pe, bits, signed)
            for ch, h, w, k, s, pe, bits, signed in [
                (64, 28, 28, 2, 2, 4, 1, 0), (64, 28, 28, 2, 2, 64, 1, 0), (128, 10, 10, 2, 2, 16, 2, 1),
                (128, 10, 10, 2, 2, 128, 2, 1), (32, 16, 16, 3, 2, 8, 4, 1), (16, 24, 24, 2, 2, 1, 8, 0),
                (256, 6, 6, 3, 3, 32, 1, 0)]]


SPEC = ModuleSpec(
    name="streaming_maxpool",
    kind="stage",
    rules=RULES,
    extra_rules=(RULES_1D,),
    ir_ops=(hw.StreamingMaxPool,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["ELEM_BITS"], 1),
                             ("m_axis", "out", p["PE"] * p["ELEM_BITS"], 1)],
    pattern=MaxPool,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
)
