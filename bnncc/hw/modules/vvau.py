"""The vector-vector unit of depthwise convolutions (``rtl_lib/vvau.v``): its registry entry.

Input at one beat per cycle (PE channels per beat): WINDOW = K_H*K_W kernel positions of
CH/PE beats per output pixel, so cycles per frame = input elements / PE; a pixel's CH/PE
dot products leave one per cycle, each two cycles after the last-position beat that
completes it (a product stage, then the sum into the output queue). PE divides the
channels. Behind a sliding window, whose SIMD follows its consumer's beat (``coupling``
``"consumer"`` of ``sliding_window``), the window's SIMD is this PE: no width converter.

Weights: WINDOW*CF words of PE*W_BITS bits, word ``k*CF + f`` holding ``W[k, f*PE + p]`` in
element ``p`` (two's complement, or for a bipolar weight its bit, 1 = +1).

Resource terms: per lane one product (a soft multiplier of XS x WS partial-product bits,
or a DSP block where Yosys maps it to one, as for the MVAU; a conditional negate when one
operand is bipolar; an agreement bit when both are) and one adder of OUT_BITS bits; the
weight ROM (WINDOW*CF words, read at a registered address), CF accumulator words of
PE*OUT_BITS bits and a four-entry output queue through :func:`memory_cost`; the product
registers (PE*OUT_BITS bits); the counters.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.datatype import BIPOLAR
from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.modules.mvau import uses_dsp
from bnncc.hw.modules.pool_sum import WindowSum
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below, not_multiple
from bnncc.hw.stage import Memory as MemoryFile, StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops.vvau import VVAU
from bnncc.sim.beats import element_bits


# -- memory words ---------------------------------------------------------------------------
def vvau_words(weights: np.ndarray, pe: int, bits: int, bipolar: bool) -> list[int]:
    """The WINDOW*CF weight words of ``weights`` (K, C) (see the module docstring)."""
    w = np.asarray(weights).astype(np.int64)
    fields = (w + 1) // 2 if bipolar else w % (1 << bits)
    rows = fields.reshape(-1, pe)  # (K*CF, PE): word k*CF + f, element p = channel f*PE + p
    return [sum(int(v) << (p * bits) for p, v in enumerate(row)) for row in rows]


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: VVAU, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    weights = graph.constant(op.inputs[1])
    w_dtype = graph.tensors[op.inputs[1]].dtype
    w_bits = element_bits(w_dtype)
    name = instance_name(op.name)
    words = vvau_words(weights, op.pe, w_bits, w_dtype == BIPOLAR) if memories else []
    weight_file = MemoryFile(f"{name}_weights.mem", words, op.pe * w_bits)
    parameters = {
        "CH": op.channels, "PE": op.pe, "WINDOW": op.kernel,
        "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"), "IN_BIPOLAR": int(x.dtype == BIPOLAR),
        "W_BITS": w_bits, "W_SIGNED": int(w_dtype.kind == "INT"), "W_BIPOLAR": int(w_dtype == BIPOLAR),
        "OUT_BITS": element_bits(y.dtype), "WEIGHT_FILE": weight_file.filename,
    }
    in_beats = per_frame(x.shape) // op.pe
    out_beats = per_frame(y.shape) // op.pe
    return StageRTL(op.name, name, "vvau", parameters, Stream(op.pe, x.dtype), Stream(op.pe, y.dtype),
                    in_beats, out_beats, in_beats, memories=[weight_file])


def foldings(graph: Graph, op: VVAU) -> list[dict]:
    return [{"pe": pe} for pe in divisors(op.channels)]


def couple(op: VVAU, elems: int) -> dict:
    """The PE that takes a producer's beats of ``elems`` elements without a converter."""
    return {"pe": math.gcd(elems, op.channels)}


def macs(stage: StageRTL) -> int:
    """One multiply-accumulate per input element."""
    return stage.in_beats * stage.parameters["PE"]


def work(stage: StageRTL) -> dict:
    p = stage.parameters
    kind = "xnor" if p["IN_BIPOLAR"] and p["W_BIPOLAR"] else f"w{p['W_BITS']}a{p['IN_BITS']}"
    return {"mw": p["WINDOW"], "mh": p["CH"], "macs_per_frame": macs(stage), "mac_kind": kind,
            "weight_bits": p["WINDOW"] * p["CH"] * p["W_BITS"], "thresholds": 0}


# -- rules ----------------------------------------------------------------------------------
def _flags(p: dict) -> bool:
    return any(p[k] not in (0, 1) for k in ("IN_SIGNED", "W_SIGNED", "IN_BIPOLAR", "W_BIPOLAR"))


RULES = ModuleRules(
    "vvau",
    defaults={"CH": 4, "PE": 1, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 0, "IN_BIPOLAR": 0, "W_BITS": 4, "W_SIGNED": 1,
              "W_BIPOLAR": 0, "OUT_BITS": 12, "WEIGHT_FILE": ""},
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", lambda p: any_below(p, ("CH", "PE"), 1) or not_multiple("CH", "PE")(p),
             ("PE", "CH")),
        Rule("WINDOW must be >= 1", lambda p: p["WINDOW"] < 1),
        Rule("IN_BITS and W_BITS must be 1..16", lambda p: not (1 <= p["IN_BITS"] <= 16) or not (1 <= p["W_BITS"] <= 16)),
        Rule("IN_SIGNED, IN_BIPOLAR, W_SIGNED and W_BIPOLAR must be 0 or 1", _flags),
        Rule("a bipolar operand is 1 bit and not signed",
             lambda p: (p["IN_BIPOLAR"] != 0 and (p["IN_BITS"] != 1 or p["IN_SIGNED"] != 0))
             or (p["W_BIPOLAR"] != 0 and (p["W_BITS"] != 1 or p["W_SIGNED"] != 0))),
        Rule("OUT_BITS must be 2..48", lambda p: not (2 <= p["OUT_BITS"] <= 48)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
#: Cycles from a completing input beat to its sum's output beat (product stage, then queue).
LATENCY = 2


class WindowDot(WindowSum):
    """vvau.v: input at one beat per cycle; sum beat f of window n is pushed into the output
    queue two cycles after the input beat that completes it (beat f of the window's last
    position). The input holds a completing beat while the four-entry queue and the sum in
    flight fill it (its ready reads registers only): output k can leave as late as 3 cycles
    before output k + 4 is ready."""

    hold, lead = 4, LATENCY + 1

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, forward(pops[self.trigger] + LATENCY, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        need[self.trigger] = pushes - LATENCY
        return Schedule(backward(need, 1), pushes)


def head_tail(stage: StageRTL) -> tuple[int, int]:
    """The first window's beats before the first sum; two cycles after the last input."""
    p = stage.parameters
    return p["WINDOW"] * p["CH"] // p["PE"], LATENCY


# -- resource terms -------------------------------------------------------------------------
def _signed_width(bits: int, signed: int, bipolar: int) -> int:
    """An operand's width as a two's complement number (vvau.v XS / WS)."""
    if bipolar:
        return 2
    return (bits if bits > 1 else 2) if signed else bits + 1


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a vvau instance (see the module docstring)."""
    pe, ob = p["PE"], p["OUT_BITS"]
    cf = p["CH"] // pe
    depth = p["WINDOW"] * cf
    xs = _signed_width(p["IN_BITS"], p["IN_SIGNED"], p["IN_BIPOLAR"])
    ws = _signed_width(p["W_BITS"], p["W_SIGNED"], p["W_BIPOLAR"])
    dw = pe * ob
    pw = xs + ws
    counters = counter_bits(cf) + counter_bits(p["WINDOW"]) + counter_bits(depth)
    weights = memory_cost(Memory(pe * p["W_BITS"], depth, "rom"), family)
    queue = memory_cost(Memory(dw, 4, "ram_async"), family)
    # with one kernel position every beat is its window's last: no accumulator, no adder
    accumulators = memory_cost(Memory(dw, cf, "ram"), family) if p["WINDOW"] > 1 else None
    low = min(pw, ob) if accumulators else 0
    memories = tuple(m for m in (weights, accumulators, queue) if m)
    # the data bits read out of distributed RAM (ECP5 spends logic on each)
    lutram_read = dw * sum(int(m["lutram"] > 0) for m in (accumulators, queue) if m)
    lut = {"const": 1, "counter_bits": counters, "add": pe * low, "add_carry": pe * (ob - low) if accumulators else 0,
           "xnor": 0, "negate": 0, "multiply": 0, "dsp_sum": 0, "weight_rom": weights["rom"],
           "mux": sum(m["mux"] for m in memories), "decode": sum(m["decode"] for m in memories),
           "lutram_read": lutram_read}
    dsp = 0.0
    mvau_view = {"BINARY": 0, "INPUT_BIPOLAR": p["IN_BIPOLAR"], "WEIGHT_BIPOLAR": p["W_BIPOLAR"],
                 "INPUT_BITS": p["IN_BITS"], "INPUT_SIGNED": p["IN_SIGNED"], "WEIGHT_BITS": p["W_BITS"],
                 "WEIGHT_SIGNED": p["W_SIGNED"]}
    if p["IN_BIPOLAR"] and p["W_BIPOLAR"]:
        lut["xnor"] = pe
    elif p["IN_BIPOLAR"] or p["W_BIPOLAR"]:
        lut["negate"] = pe * (ws if p["IN_BIPOLAR"] else xs)
    elif uses_dsp(mvau_view, family):
        dsp = float(pe)  # the DSP block may take the accumulator's add too: its bits are priced apart
        lut["dsp_sum"], lut["add"], lut["add_carry"] = lut["add"] + lut["add_carry"], 0, 0
    else:
        lut["multiply"] = pe * xs * ws
    return Terms(
        lut=lut,
        ff={"control": counters + 7, "data": dw + (dw if cf == 1 and accumulators else 0), "memory": sum(m["ff"] for m in memories)},
        bram=sum(m["bram"] for m in memories), lutram=sum(m["lutram"] for m in memories), dsp=dsp)


COEFFICIENTS = {
    # fitted by benchmarks/calibrate_estimates.py --grid-only --modules vvau --fit on the grid below
    # (benchmarks/results/calibration_vvau_xilinx.json, calibration_vvau_ecp5.json)
    "xilinx": {
        "lut": {"add": 1.148, "add_carry": 1.344, "const": 0, "counter_bits": 2.695, "decode": 0, "dsp_sum": 0.635,
                "lutram_read": 0, "multiply": 0.603, "mux": 0, "negate": 1.3, "weight_rom": 1.042, "xnor": 0},
        "ff": {"control": 1.416, "data": 0.583, "memory": 0},
    },
    "ecp5": {
        "lut": {"add": 1.948, "add_carry": 0, "const": 87.879, "counter_bits": 0, "decode": 0, "dsp_sum": 0.601,
                "lutram_read": 0.673, "multiply": 0, "mux": 0, "negate": 1.518, "weight_rom": 0.404, "xnor": 0},
        "ff": {"control": 1.456, "data": 0.832, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
OPERANDS = {  # name: (input bits, signed, bipolar), (weight bits, signed, bipolar)
    "bin": ((1, 0, 1), (1, 0, 1)),
    "u4xbip": ((4, 0, 0), (1, 0, 1)),
    "u4xi4": ((4, 0, 0), (4, 1, 0)),
    "i2xi2": ((2, 1, 0), (2, 1, 0)),
    "u8xi8": ((8, 0, 0), (8, 1, 0)),
}


def grid_point(name: str, ch: int, pe: int, window: int, operands: str) -> dict:
    """A VVAU with random weights, OUT_BITS as the compiler chooses it."""
    (xb, xs, xp), (wb, ws, wp) = OPERANDS[operands]
    rng = calibration.rng(name)
    w = rng.choice(calibration.values(wb, ws, wp), size=(window, ch))
    x = calibration.values(xb, xs, xp)
    low = int(np.minimum(w * x.min(), w * x.max()).sum(axis=0).min())
    high = int(np.maximum(w * x.min(), w * x.max()).sum(axis=0).max())
    out_bits = 2
    while -(1 << (out_bits - 1)) > min(low, -1) or (1 << (out_bits - 1)) - 1 < high:
        out_bits += 1
    params = {"CH": ch, "PE": pe, "WINDOW": window, "IN_BITS": xb, "IN_SIGNED": xs, "IN_BIPOLAR": xp, "W_BITS": wb,
              "W_SIGNED": ws, "W_BIPOLAR": wp, "OUT_BITS": out_bits, "WEIGHT_FILE": "weights.mem"}
    memories = {"weights.mem": calibration.mem_text(vvau_words(w, pe, wb, bool(wp)), pe * wb)}
    return calibration.point(name, params, memories)


def calibration_grid(quick: bool) -> list[dict]:
    points = [(32, 4, 9, "u4xi4"), (64, 8, 9, "bin"), (16, 1, 9, "u4xi4"), (64, 16, 9, "i2xi2"), (32, 32, 9, "u4xbip"),
              (128, 4, 9, "u4xi4"), (48, 6, 25, "u8xi8"), (20, 5, 9, "bin"), (256, 16, 9, "u4xi4"), (8, 8, 1, "i2xi2"),
              (32, 8, 9, "i2xi2"), (96, 3, 9, "u4xbip"), (64, 64, 9, "bin"), (16, 4, 25, "i2xi2")]
    if quick:
        points = points[:2]
    return [grid_point(f"vvau_{ch}c_pe{pe}_k{window}_{ops}", ch, pe, window, ops) for ch, pe, window, ops in points]


SPEC = ModuleSpec(
    name="vvau",
    kind="stage",
    rules=RULES,
    ir_ops=(VVAU,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["IN_BITS"], 1), ("m_axis", "out", p["PE"] * p["OUT_BITS"], 1)],
    pattern=WindowDot,
    head_tail=head_tail,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=macs,
    work=work,
)
