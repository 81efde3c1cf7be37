"""The vector-vector unit of depthwise convolutions (``rtl_lib/vvau.v``): its registry entry.

Input at one beat per cycle (PE channels per beat): WINDOW = K_H*K_W kernel positions of
CH/PE beats per output pixel, so cycles per frame = input elements / PE; a pixel's CH/PE
output beats leave one per cycle, each three cycles after the last-position beat that
completes it (a product stage, the sum, then the thresholds into the output queue). PE
divides the channels. Behind a sliding window, whose SIMD follows its consumer's beat
(``coupling`` ``"consumer"`` of ``sliding_window``), the window's SIMD is this PE: no width
converter.

Memories: weights in WINDOW*CF words of PE*W_BITS bits, word ``k*CF + f`` holding
``W[k, f*PE + p]`` in element ``p`` (two's complement, or for a bipolar weight its bit,
1 = +1); with a fused ``MultiThreshold``, thresholds in CF words laid out as the MVAU's
(:func:`bnncc.hw.memory_words.threshold_words`), clamped to the sums' range.

Resource terms: per lane one product (a soft multiplier of XS x WS' partial-product bits,
where WS' is the width the lane's weights actually need (hint ``WEIGHT_LANE_BITS``: ternary
4-bit weights are 2 bits, their ROM bits above the second only repeat the sign and Yosys
merges them with the product logic); or a DSP block where Yosys maps it to one, as for the
MVAU, on xilinx only when the product keeps at least 9 bits (min(XS + WS, ACC_BITS)); a
conditional negate when one operand is bipolar; an agreement bit when both are) and one
adder of ACC_BITS bits; with thresholds, PE*N compares of ACC_BITS bits, priced apart where
the threshold bit is a constant (the same in every threshold word, hint
``THRESHOLD_CONSTANT_BITS``: with PE = CH all are; a compare against a constant is a carry
chain on the sum's bits) and where it comes out of the threshold ROM (a LUT per bit that a
deeper ROM no longer shares with the compare: priced per bit and address bit), and the
counts; the weight ROM (WINDOW*CF words, read at a registered address, as wide as the bits
that carry information), the threshold ROM (CF words), CF accumulator words of PE*ACC_BITS
bits and a four-entry output queue through :func:`memory_cost`; the product and sum
registers; the counters.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.hw import calibration
from bnncc.hw.memory_map import THRESHOLD_CONSTANT_BITS, Memory, constant_bits, memory_cost
from bnncc.hw.memory_words import threshold_words
from bnncc.hw.modules.mvau import uses_dsp
from bnncc.hw.modules.pool_sum import WindowSum
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below, not_multiple
from bnncc.hw.stage import Memory as MemoryFile, StageRTL, Stream
from bnncc.hw.stage_common import channel_thresholds, divisors, instance_name, out_bias, per_frame, signed_bits
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops.vvau import VVAU, vvau_range
from bnncc.sim.beats import element_bits


#: Hint: the two's complement bits of the weights each lane reads (its WINDOW*CF values),
#: summed over the PE lanes (see :func:`lane_widths`); absent, every lane is taken as WS wide.
WEIGHT_LANE_BITS = "WEIGHT_LANE_BITS"


# -- memory words ---------------------------------------------------------------------------
def lane_widths(weights: np.ndarray, pe: int) -> list[int]:
    """Per lane ``p``, the bits of the narrowest two's complement type holding the values it
    reads (channels ``f*PE + p`` of ``weights`` (K, C), all positions), at least 1. A lane of
    ternary 4-bit weights is 2 bits: its ROM bits above the second only repeat the sign, and
    Yosys merges them (and narrows the product they feed)."""
    w = np.asarray(weights).astype(np.int64)
    lanes = w.reshape(w.shape[0], -1, pe)  # (K, CF, PE): channel f*PE + p
    low, high = np.minimum(lanes.min(axis=(0, 1)), 0), np.maximum(lanes.max(axis=(0, 1)), 0)
    return [signed_bits(int(lo), int(hi)) for lo, hi in zip(low, high)]


def weight_hints(weights: np.ndarray, pe: int) -> dict:
    """:data:`WEIGHT_LANE_BITS` of integer ``weights`` (K, C)."""
    return {WEIGHT_LANE_BITS: sum(lane_widths(weights, pe))}


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
    files = [MemoryFile(f"{name}_weights.mem", words, op.pe * w_bits)]
    low, high = vvau_range(x, weights)
    acc_bits = max(2, signed_bits(min(low, 0), high))
    n_thresholds, stage_hints = 0, {}
    if w_dtype != BIPOLAR:
        stage_hints.update(weight_hints(weights, op.pe))
    if op.has_thresholds:
        # thresholds clamped to [low, high + 1] count the same; the sums' width holds them
        thresholds = np.clip(channel_thresholds(graph, op, op.channels), low, high + 1)
        n_thresholds = thresholds.shape[1]
        acc_bits = max(2, signed_bits(min(low, int(thresholds.min()), 0), max(high + 1, int(thresholds.max()))))
        t_words = threshold_words(thresholds, op.pe, acc_bits)
        stage_hints[THRESHOLD_CONSTANT_BITS] = constant_bits(t_words, op.pe * n_thresholds * acc_bits)
        files.append(MemoryFile(f"{name}_thresholds.mem", t_words if memories else [], op.pe * n_thresholds * acc_bits))
    parameters = {
        "CH": op.channels, "PE": op.pe, "WINDOW": op.kernel,
        "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"), "IN_BIPOLAR": int(x.dtype == BIPOLAR),
        "W_BITS": w_bits, "W_SIGNED": int(w_dtype.kind == "INT"), "W_BIPOLAR": int(w_dtype == BIPOLAR),
        "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
        "OUT_BITS": element_bits(y.dtype) if n_thresholds else acc_bits,
        "OUT_BIAS": out_bias(y.dtype) if n_thresholds else 0,
        "WEIGHT_FILE": files[0].filename, "THRESHOLD_FILE": files[1].filename if n_thresholds else "",
    }
    out_dtype = y.dtype if n_thresholds else DataType.int(acc_bits)
    in_beats = per_frame(x.shape) // op.pe
    out_beats = per_frame(y.shape) // op.pe
    return StageRTL(op.name, name, "vvau", parameters, Stream(op.pe, x.dtype), Stream(op.pe, out_dtype),
                    in_beats, out_beats, in_beats, memories=files, hints=stage_hints)


def hints(parameters: dict, words: dict) -> dict:
    """The threshold memory's constant bits (see :data:`THRESHOLD_CONSTANT_BITS`) and the
    weights' lane widths (:func:`weight_hints`), from the memory words."""
    p, out = parameters, {}
    if not p["W_BIPOLAR"] and words.get("WEIGHT_FILE"):
        wb, pe = p["W_BITS"], p["PE"]
        fields = np.array([[(word >> (i * wb)) & ((1 << wb) - 1) for i in range(pe)] for word in words["WEIGHT_FILE"]],
                          dtype=np.int64)
        if p["W_SIGNED"]:
            fields = np.where(fields >= 1 << (wb - 1), fields - (1 << wb), fields)
        out.update(weight_hints(fields, pe))
    if p.get("THRESHOLD_FILE") and "THRESHOLD_FILE" in words:
        out[THRESHOLD_CONSTANT_BITS] = constant_bits(words["THRESHOLD_FILE"], p["PE"] * p["N_THRESHOLDS"] * p["ACC_BITS"])
    return out


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
            "weight_bits": p["WINDOW"] * p["CH"] * p["W_BITS"], "thresholds": p["CH"] * p["N_THRESHOLDS"]}


# -- rules ----------------------------------------------------------------------------------
def _flags(p: dict) -> bool:
    return any(p[k] not in (0, 1) for k in ("IN_SIGNED", "W_SIGNED", "IN_BIPOLAR", "W_BIPOLAR"))


RULES = ModuleRules(
    "vvau",
    defaults={"CH": 4, "PE": 1, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 0, "IN_BIPOLAR": 0, "W_BITS": 4, "W_SIGNED": 1,
              "W_BIPOLAR": 0, "ACC_BITS": 12, "N_THRESHOLDS": 0, "OUT_BITS": 12, "OUT_BIAS": 0, "WEIGHT_FILE": "",
              "THRESHOLD_FILE": ""},
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", lambda p: any_below(p, ("CH", "PE"), 1) or not_multiple("CH", "PE")(p),
             ("PE", "CH")),
        Rule("WINDOW must be >= 1", lambda p: p["WINDOW"] < 1),
        Rule("IN_BITS and W_BITS must be 1..16", lambda p: not (1 <= p["IN_BITS"] <= 16) or not (1 <= p["W_BITS"] <= 16)),
        Rule("IN_SIGNED, IN_BIPOLAR, W_SIGNED and W_BIPOLAR must be 0 or 1", _flags),
        Rule("a bipolar operand is 1 bit and not signed",
             lambda p: (p["IN_BIPOLAR"] != 0 and (p["IN_BITS"] != 1 or p["IN_SIGNED"] != 0))
             or (p["W_BIPOLAR"] != 0 and (p["W_BITS"] != 1 or p["W_SIGNED"] != 0))),
        Rule("ACC_BITS must be 2..48", lambda p: not (2 <= p["ACC_BITS"] <= 48)),
        Rule("N_THRESHOLDS must be >= 0", lambda p: p["N_THRESHOLDS"] < 0),
        Rule("without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)",
             lambda p: p["N_THRESHOLDS"] == 0 and p["OUT_BITS"] != p["ACC_BITS"], ("OUT_BITS", "ACC_BITS")),
        Rule("OUT_BITS must be 1..32 with thresholds", lambda p: p["N_THRESHOLDS"] > 0 and not (1 <= p["OUT_BITS"] <= 32)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
#: Cycles from a completing input beat to its output beat (product, sum, then thresholds).
LATENCY = 3


class WindowDot(WindowSum):
    """vvau.v: input at one beat per cycle; output beat f of window n is pushed into the
    output queue three cycles after the input beat that completes it (beat f of the window's
    last position). The input holds a completing beat while the four-entry queue and the
    sums in flight fill it (its ready reads registers only): output k can leave as late as
    4 cycles before output k + 4 is ready."""

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
    """The first window's beats before the first output; three cycles after the last input."""
    p = stage.parameters
    return p["WINDOW"] * p["CH"] // p["PE"], LATENCY


# -- resource terms -------------------------------------------------------------------------
def _signed_width(bits: int, signed: int, bipolar: int) -> int:
    """An operand's width as a two's complement number (vvau.v XS / WS)."""
    if bipolar:
        return 2
    return (bits if bits > 1 else 2) if signed else bits + 1


#: On xilinx Yosys maps a product to a DSP block only when it keeps at least this many bits:
#: a product cut to a narrower sum (ACC_BITS < XS + WS) stays in LUTs.
DSP_MIN_PRODUCT = 9


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a vvau instance (see the module docstring)."""
    pe, ab, ob, nt = p["PE"], p["ACC_BITS"], p["OUT_BITS"], p["N_THRESHOLDS"]
    cf = p["CH"] // pe
    depth = p["WINDOW"] * cf
    xs = _signed_width(p["IN_BITS"], p["IN_SIGNED"], p["IN_BIPOLAR"])
    ws = _signed_width(p["W_BITS"], p["W_SIGNED"], p["W_BIPOLAR"])
    dw = pe * ab
    pw = xs + ws
    counters = counter_bits(cf) + counter_bits(p["WINDOW"]) + counter_bits(depth)
    weights = memory_cost(Memory(pe * p["W_BITS"], depth, "rom"), family)
    # the weight bits that carry information: a lane whose values need fewer bits than WS
    # has ROM bits that repeat its sign, merged in logic with the product bits they feed
    wl = min(pe * ws, p.get(WEIGHT_LANE_BITS, pe * ws)) if not p["W_BIPOLAR"] else pe
    weight_rom = weights["rom"] if weights["bram"] else \
        memory_cost(Memory(max(1, round(wl * p["W_BITS"] / ws)), depth, "rom"), family)["rom"]
    # thresholds equal in every word (one word: CF = 1) are constants: a compare against a
    # constant is a carry chain whose inputs are the sum's bits, a fraction of a LUT per bit
    t_bits = pe * nt * ab
    t_const = min(t_bits, p.get(THRESHOLD_CONSTANT_BITS, 0)) if nt else 0
    queue = memory_cost(Memory(pe * ob, 4, "ram_async"), family)
    # with one kernel position every beat is its window's last: no accumulator, no adder
    accumulators = memory_cost(Memory(dw, cf, "ram"), family) if p["WINDOW"] > 1 else None
    tword = max(1, pe * nt * ab - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    tmem = memory_cost(Memory(tword, cf, "rom"), family) if nt > 0 and cf > 1 else None
    low = min(pw, ab) if accumulators else 0
    memories = tuple(m for m in (weights, accumulators, tmem, queue) if m)
    # the data bits read out of distributed RAM (ECP5 spends logic on each)
    lutram_read = dw * int(bool(accumulators) and accumulators["lutram"] > 0) + pe * ob * int(queue["lutram"] > 0)
    lut = {"const": 1, "counter_bits": counters, "add": pe * low, "add_carry": pe * (ab - low) if accumulators else 0,
           "xnor": 0, "negate": 0, "multiply": 0, "dsp_sum": 0, "weight_rom": weight_rom,
           # a deeper threshold ROM no longer shares the compare's LUT: priced by address bits
           "threshold_rom": tmem["rom"] if tmem else 0.0, "threshold_address": tword * counter_bits(cf) if tmem else 0,
           "compare": t_bits - t_const, "compare_const": t_const, "count": pe * nt * ob if nt > 1 else 0,
           "mux": sum(m["mux"] for m in memories), "decode": sum(m["decode"] for m in memories),
           "lutram_read": lutram_read}
    dsp = 0.0
    mvau_view = {"BINARY": 0, "INPUT_BIPOLAR": p["IN_BIPOLAR"], "WEIGHT_BIPOLAR": p["W_BIPOLAR"],
                 "INPUT_BITS": p["IN_BITS"], "INPUT_SIGNED": p["IN_SIGNED"], "WEIGHT_BITS": p["W_BITS"],
                 "WEIGHT_SIGNED": p["W_SIGNED"]}
    if p["IN_BIPOLAR"] and p["W_BIPOLAR"]:
        lut["xnor"] = pe
    elif p["IN_BIPOLAR"] or p["W_BIPOLAR"]:
        lut["negate"] = wl if p["IN_BIPOLAR"] else pe * xs
    elif uses_dsp(mvau_view, family) and (family != "xilinx" or min(pw, ab) >= DSP_MIN_PRODUCT):
        dsp = float(pe)  # the DSP block may take the accumulator's add too: its bits are priced apart
        lut["dsp_sum"], lut["add"], lut["add_carry"] = lut["add"] + lut["add_carry"], 0, 0
    else:
        lut["multiply"] = xs * wl
    return Terms(
        lut=lut,
        # a threshold ROM in logic: Yosys moves its address register behind it (tword bits)
        ff={"control": counters + 8,
            "data": 2 * dw + (dw if cf == 1 and accumulators else 0) + (tword if tmem and not tmem["bram"] else 0),
            "memory": sum(m["ff"] for m in memories)},
        bram=sum(m["bram"] for m in memories), lutram=sum(m["lutram"] for m in memories), dsp=dsp)


COEFFICIENTS = {
    # xilinx: fitted by benchmarks/calibrate_estimates.py --designs
    # ../shared/models/hls4ml_branched_ch_last.onnx@150,../shared/models/hls4ml_separable_conv_ch_last.onnx@40
    # --modules vvau --fit on the grid below and those models' depthwise layers
    # (benchmarks/results/calibration_vvau_depthwise_xilinx.json: 49 instances, mean |LUT
    # error| 6.8 %, largest 19 %). ecp5: fitted on the first 22 points of the grid
    # (calibration_vvau_ecp5.json); compare_const, threshold_address weigh as before the split
    "xilinx": {
        "lut": {"add": 0, "add_carry": 2.221, "compare": 0.264, "compare_const": 0.412, "const": 3.518, "count": 0,
                "counter_bits": 2.741, "decode": 0, "dsp_sum": 0.978, "lutram_read": 0.083, "multiply": 0.622, "mux": 0,
                "negate": 3.1, "threshold_address": 0.469, "threshold_rom": 0, "weight_rom": 0.731, "xnor": 3.97},
        "ff": {"control": 1.87, "data": 0.664, "memory": 0},  # as before: the refit is worse on the models
    },
    "ecp5": {
        "lut": {"add": 2.242, "add_carry": 0, "compare": 1.026, "compare_const": 1.026, "const": 89.03, "count": 0,
                "counter_bits": 0, "decode": 0, "dsp_sum": 0.692, "lutram_read": 0.632, "multiply": 0, "mux": 0,
                "negate": 1.771, "threshold_address": 0, "threshold_rom": 0.921, "weight_rom": 0.35, "xnor": 0},
        "ff": {"control": 1.964, "data": 0.73, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
OPERANDS = {  # name: (input bits, signed, bipolar), (weight bits, signed, bipolar)
    "bin": ((1, 0, 1), (1, 0, 1)),
    "u4xbip": ((4, 0, 0), (1, 0, 1)),
    "u4xi4": ((4, 0, 0), (4, 1, 0)),
    "i2xi2": ((2, 1, 0), (2, 1, 0)),
    "u8xi8": ((8, 0, 0), (8, 1, 0)),
    "i4xi4": ((4, 1, 0), (4, 1, 0)),
    "i8xi8": ((8, 1, 0), (8, 1, 0)),
}


def grid_point(name: str, ch: int, pe: int, window: int, operands: str, n_thresholds: int = 0,
               out_bits: int = 1, span: int = 0) -> dict:
    """A VVAU with random weights and sorted random thresholds in the reachable range,
    ACC_BITS chosen as the builder chooses it. With ``span`` > 0 the (signed) weights are
    drawn from -span..span only, as trained per-channel-scaled weights often are (ternary
    at span 1)."""
    (xb, xs, xp), (wb, ws, wp) = OPERANDS[operands]
    rng = calibration.rng(name)
    choices = calibration.values(wb, ws, wp)
    if span:
        choices = choices[np.abs(choices) <= span]
    w = rng.choice(choices, size=(window, ch))
    x = calibration.values(xb, xs, xp)
    low = int(np.minimum(w * x.min(), w * x.max()).sum(axis=0).min())
    high = int(np.maximum(w * x.min(), w * x.max()).sum(axis=0).max())
    acc_bits = max(2, signed_bits(min(low, 0), high + (1 if n_thresholds else 0)))
    params = {"CH": ch, "PE": pe, "WINDOW": window, "IN_BITS": xb, "IN_SIGNED": xs, "IN_BIPOLAR": xp, "W_BITS": wb,
              "W_SIGNED": ws, "W_BIPOLAR": wp, "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
              "OUT_BITS": out_bits if n_thresholds else acc_bits,
              "OUT_BIAS": -(1 << (out_bits - 1)) if n_thresholds > 1 else 0,
              "WEIGHT_FILE": "weights.mem", "THRESHOLD_FILE": ""}
    memories = {"weights.mem": calibration.mem_text(vvau_words(w, pe, wb, bool(wp)), pe * wb)}
    if n_thresholds:
        T = np.sort(rng.integers(low, high + 2, size=(ch, n_thresholds)), axis=1)
        memories["thresholds.mem"] = calibration.mem_text(threshold_words(T, pe, acc_bits), pe * n_thresholds * acc_bits)
        params["THRESHOLD_FILE"] = "thresholds.mem"
    return calibration.point(name, params, memories)


def calibration_grid(quick: bool) -> list[dict]:
    points = [(32, 4, 9, "u4xi4", 0, 0), (64, 8, 9, "bin", 0, 0), (16, 1, 9, "u4xi4", 0, 0), (64, 16, 9, "i2xi2", 0, 0),
              (32, 32, 9, "u4xbip", 0, 0), (128, 4, 9, "u4xi4", 0, 0), (48, 6, 25, "u8xi8", 0, 0), (20, 5, 9, "bin", 0, 0),
              (256, 16, 9, "u4xi4", 0, 0), (8, 8, 1, "i2xi2", 0, 0), (32, 8, 9, "i2xi2", 0, 0), (96, 3, 9, "u4xbip", 0, 0),
              (64, 64, 9, "bin", 0, 0), (16, 4, 25, "i2xi2", 0, 0),
              # with fused thresholds: bipolar outputs, 2-bit and 4-bit codes
              (64, 8, 9, "bin", 1, 1), (32, 4, 9, "u4xi4", 15, 4), (64, 16, 9, "i2xi2", 3, 2), (128, 8, 9, "u4xi4", 15, 4),
              (32, 32, 9, "u4xbip", 3, 2), (96, 3, 9, "i2xi2", 3, 2), (16, 16, 25, "u4xi4", 7, 3), (256, 4, 9, "bin", 1, 1)]
    points = [(*point, 0) for point in points] + [
        # the depthwise layers of 4-bit CNNs (the hls4ml QKeras models, DS-CNN, MobileNet):
        # 15 thresholds, constant where PE = CH, weights of a narrow span, 3x3 and 5x5 kernels
        (64, 64, 9, "i4xi4", 15, 4, 1), (32, 32, 9, "i4xi4", 15, 4, 5), (32, 8, 9, "i4xi4", 15, 4, 5),
        (64, 16, 9, "i4xi4", 15, 4, 2), (32, 32, 9, "i4xi4", 15, 4, 2), (16, 16, 9, "i4xi4", 15, 4, 0),
        (3, 3, 9, "i4xi4", 15, 4, 4), (16, 16, 25, "i4xi4", 15, 4, 3), (32, 4, 25, "i4xi4", 15, 4, 0),
        (64, 64, 9, "u4xi4", 15, 4, 1), (32, 2, 9, "i4xi4", 15, 4, 3), (64, 32, 9, "u4xi4", 15, 4, 7),
        (32, 32, 9, "i2xi2", 3, 2, 0), (64, 8, 25, "i2xi2", 3, 2, 0), (32, 8, 9, "i8xi8", 15, 4, 0),
        (16, 16, 9, "u4xi4", 0, 0, 2), (128, 128, 9, "i4xi4", 15, 4, 1), (64, 1, 9, "i4xi4", 15, 4, 5)]
    if quick:
        points = points[:2]
    return [grid_point(f"vvau_{ch}c_pe{pe}_k{window}_{ops}" + (f"_t{nt}" if nt else "") + (f"_s{span}" if span else ""),
                       ch, pe, window, ops, nt, ob, span)
            for ch, pe, window, ops, nt, ob, span in points]


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
    hints=hints,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=macs,
    work=work,
)
