"""The vector-vector unit of grouped convolutions (``rtl_lib/vvau.v``): its registry entry.

A VVAU of G groups (``CH = G*GROUP_IN`` input, ``G*GROUP_OUT`` output channels) takes one
beat per cycle of ``SIMD*PE*GROUP_IN`` elements (PE groups of one kernel position, or with
SIMD > 1 and PE = G, SIMD whole positions): WG*CF beats per output pixel (WG = WINDOW/SIMD
position groups, CF = G/PE beats each), so cycles per frame = input elements /
(SIMD*PE*GROUP_IN); a pixel's CF output beats of PE*GROUP_OUT elements leave one per cycle,
each LAT = 3 + WSPLIT + DOT_STAGES + RC cycles after the beat that completes it (the operand
register of the beat and its weight word, one cycle more when the weight ROM is deeper than
64 words and read in two steps, the lanes' ``mac_dot`` with DOT_STAGES registers, the sum,
the compare bits registered with more than one threshold, then the output queue of LAT + 1
entries). DOT_STAGES is chosen by :func:`dot_stages` for at most 6 LUT levels
(:func:`bnncc.hw.modules.mac_dot.logic_levels` from registered operands); :func:`vvau_levels`
gives the deepest path for :mod:`bnncc.hw.timing`. Behind a sliding window, whose SIMD follows its consumer's
beat (``coupling`` ``"consumer"`` of ``sliding_window``), the window's SIMD is this
SIMD*PE*GROUP_IN: no width converter.

Memories: weights in WG*CF words of SIMD*PE*GROUP_OUT*GROUP_IN*W_BITS bits (layout in
``rtl_lib/vvau.v`` and :func:`vvau_fields`; two's complement, or for a bipolar weight its
bit, 1 = +1); with a fused ``MultiThreshold``, thresholds in CF words laid out as the
MVAU's with PE*GROUP_OUT rows per word (:func:`bnncc.hw.memory_words.threshold_words`),
clamped to the sums' range.

Resource terms: per product (SIMD*PE*GROUP_OUT*GROUP_IN of them) the partial-product bits of
``mac_dot`` (:func:`bnncc.hw.modules.mac_dot.partial_product_bits`: a LUT each in front of a
carry chain), scaled by the share of the weight bits that carry information (hint
``WEIGHT_LANE_BITS``: ternary 4-bit weights are 2 bits, their ROM bits above the second only
repeat the sign), priced apart where one weight word holds the whole window (SIMD = WINDOW,
CF = 1: products by constants); an XNOR-popcount per lane when both operands are bipolar; per
output lane the tree adders of ACC_BITS bits joining its carry chains
(:func:`~bnncc.hw.modules.mac_dot.chain_groups`) and one adder of ACC_BITS bits into the
accumulator; with thresholds, compares of ACC_BITS bits, priced
apart where the threshold bit is a constant (the same in every threshold word, hint
``THRESHOLD_CONSTANT_BITS``: with PE = G all are; a compare against a constant is a carry
chain on the sum's bits) and where it comes out of the threshold ROM (a LUT per bit that a
deeper ROM no longer shares with the compare: priced per bit and address bit, and per bit
again where the ROM is deeper than a LUT holds beside one bit of the sum), and the
balanced sum of the compare bits; the weight ROM (as wide as the bits that carry
information), the threshold ROM (CF words), CF accumulator words and the output queue
through :func:`memory_cost`; the operand (and weight bank) registers, mac_dot's registers,
the sums and the registered compare bits; the counters. No DSP blocks.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.hw import calibration
from bnncc.hw.memory_map import THRESHOLD_CONSTANT_BITS, Memory, constant_bits, memory_cost
from bnncc.hw.memory_words import threshold_words
from bnncc.hw.modules import mac_dot
from bnncc.hw.modules.mvau import popcount_luts as mvau_popcount_luts
from bnncc.hw.timing import MAX_LEVELS
from bnncc.hw.modules.pool_sum import WindowSum
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Schedule, backward, forward, tile
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, not_multiple, vdiv, vmod
from bnncc.hw.stage import Memory as MemoryFile, StageRTL, Stream
from bnncc.hw.stage_common import channel_thresholds, divisors, instance_name, out_bias, per_frame, signed_bits
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops.vvau import VVAU, vvau_range
from bnncc.sim.beats import element_bits


#: Hint: the two's complement bits of the weights each product reads (its WG*CF values, one
#: field of every weight word), summed over the SIMD*PE*GROUP_OUT*GROUP_IN products (see
#: :func:`lane_widths`); absent, every product is taken as WS wide.
WEIGHT_LANE_BITS = "WEIGHT_LANE_BITS"


# -- memory words ---------------------------------------------------------------------------
def vvau_fields(weights: np.ndarray, pe: int, simd: int = 1, group_in: int = 1, group_out: int = 1) -> np.ndarray:
    """The weight words of ``weights`` (K, M*CG) as integers (WG*CF, SIMD*PE*MG*CG): word
    ``w*CF + f``, field ``((s*PE + p)*MG + i)*CG + j`` = ``W[w*SIMD + s, m*CG + j]`` with
    ``m = (f*PE + p)*MG + i``; depthwise with SIMD = 1: word ``k*CF + f``, field ``p`` =
    ``W[k, f*PE + p]``."""
    w = np.asarray(weights).astype(np.int64)
    k = w.shape[0]
    groups = w.shape[1] // (group_in * group_out)
    six = w.reshape(k // simd, simd, groups // pe, pe, group_out, group_in)  # (w, s, f, p, i, j)
    return six.transpose(0, 2, 1, 3, 4, 5).reshape((k // simd) * (groups // pe), -1)


def lane_widths(weights: np.ndarray, pe: int, simd: int = 1, group_in: int = 1, group_out: int = 1) -> list[int]:
    """Per product (field of the weight words, :func:`vvau_fields`), the bits of the
    narrowest two's complement type holding the values it reads, at least 1. A product of
    ternary 4-bit weights is 2 bits: its ROM bits above the second only repeat the sign, and
    Yosys merges them (and narrows the product they feed)."""
    fields = vvau_fields(weights, pe, simd, group_in, group_out)
    return _field_widths(fields)


def _field_widths(fields: np.ndarray) -> list[int]:
    low, high = np.minimum(fields.min(axis=0), 0), np.maximum(fields.max(axis=0), 0)
    return [signed_bits(int(lo), int(hi)) for lo, hi in zip(low, high)]


def weight_hints(weights: np.ndarray, pe: int, simd: int = 1, group_in: int = 1, group_out: int = 1) -> dict:
    """:data:`WEIGHT_LANE_BITS` of integer ``weights`` (K, M*CG)."""
    return {WEIGHT_LANE_BITS: sum(lane_widths(weights, pe, simd, group_in, group_out))}


def vvau_words(weights: np.ndarray, pe: int, bits: int, bipolar: bool, simd: int = 1, group_in: int = 1,
               group_out: int = 1) -> list[int]:
    """The WG*CF weight words of ``weights`` (K, M*CG) (layout of :func:`vvau_fields`)."""
    w = vvau_fields(weights, pe, simd, group_in, group_out)
    fields = (w + 1) // 2 if bipolar else w % (1 << bits)
    return [sum(int(v) << (p * bits) for p, v in enumerate(row)) for row in fields]


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: VVAU, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    weights = graph.constant(op.inputs[1])
    w_dtype = graph.tensors[op.inputs[1]].dtype
    w_bits = element_bits(w_dtype)
    name = instance_name(op.name)
    cg, mg, simd = op.group_in, op.group_out, op.simd
    shape = (op.pe, simd, cg, mg)
    words = vvau_words(weights, op.pe, w_bits, w_dtype == BIPOLAR, simd, cg, mg) if memories else []
    files = [MemoryFile(f"{name}_weights.mem", words, simd * op.pe * mg * cg * w_bits)]
    low, high = vvau_range(x, weights, cg, mg)
    acc_bits = max(2, signed_bits(min(low, 0), high))
    n_thresholds, stage_hints = 0, {}
    if w_dtype != BIPOLAR:
        stage_hints.update(weight_hints(weights, *shape[:2], cg, mg))
    lanes = op.pe * mg
    if op.has_thresholds:
        # thresholds clamped to [low, high + 1] count the same; the sums' width holds them
        thresholds = np.clip(channel_thresholds(graph, op, op.out_channels), low, high + 1)
        n_thresholds = thresholds.shape[1]
        acc_bits = max(2, signed_bits(min(low, int(thresholds.min()), 0), max(high + 1, int(thresholds.max()))))
        t_words = threshold_words(thresholds, lanes, acc_bits)
        stage_hints[THRESHOLD_CONSTANT_BITS] = constant_bits(t_words, lanes * n_thresholds * acc_bits)
        files.append(MemoryFile(f"{name}_thresholds.mem", t_words if memories else [], lanes * n_thresholds * acc_bits))
    parameters = {
        "CH": op.channels, "PE": op.pe, "WINDOW": op.kernel, "GROUP_IN": cg, "GROUP_OUT": mg, "SIMD": simd,
        "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"), "IN_BIPOLAR": int(x.dtype == BIPOLAR),
        "W_BITS": w_bits, "W_SIGNED": int(w_dtype.kind == "INT"), "W_BIPOLAR": int(w_dtype == BIPOLAR),
        "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
        "OUT_BITS": element_bits(y.dtype) if n_thresholds else acc_bits,
        "OUT_BIAS": out_bias(y.dtype) if n_thresholds else 0,
        "DOT_STAGES": 1,
        "WEIGHT_FILE": files[0].filename, "THRESHOLD_FILE": files[1].filename if n_thresholds else "",
    }
    parameters["DOT_STAGES"] = dot_stages(parameters)
    out_dtype = y.dtype if n_thresholds else DataType.int(acc_bits)
    in_elems = simd * op.pe * cg
    in_beats = per_frame(x.shape) // in_elems
    out_beats = per_frame(y.shape) // lanes
    return StageRTL(op.name, name, "vvau", parameters, Stream(in_elems, x.dtype), Stream(lanes, out_dtype),
                    in_beats, out_beats, in_beats, memories=files, hints=stage_hints)


def hints(parameters: dict, words: dict) -> dict:
    """The threshold memory's constant bits (see :data:`THRESHOLD_CONSTANT_BITS`) and the
    weights' lane widths (:func:`weight_hints`), from the memory words."""
    p, out = parameters, {}
    if not p["W_BIPOLAR"] and words.get("WEIGHT_FILE"):
        wb, n = p["W_BITS"], _geometry(p)["products"]
        fields = np.array([[(word >> (i * wb)) & ((1 << wb) - 1) for i in range(n)] for word in words["WEIGHT_FILE"]],
                          dtype=np.int64)
        if p["W_SIGNED"]:
            fields = np.where(fields >= 1 << (wb - 1), fields - (1 << wb), fields)
        out[WEIGHT_LANE_BITS] = sum(_field_widths(fields))
    if p.get("THRESHOLD_FILE") and "THRESHOLD_FILE" in words:
        lanes = p["PE"] * p.get("GROUP_OUT", 1)
        out[THRESHOLD_CONSTANT_BITS] = constant_bits(words["THRESHOLD_FILE"], lanes * p["N_THRESHOLDS"] * p["ACC_BITS"])
    return out


def foldings(graph: Graph, op: VVAU) -> list[dict]:
    """Every legal (pe, simd): PE groups per beat (dividing G) one position at a time, then
    all G groups with SIMD kernel positions per beat (dividing K)."""
    groups = op.groups
    return [{"pe": pe, "simd": 1} for pe in divisors(groups)] + \
        [{"pe": groups, "simd": simd} for simd in divisors(op.kernel) if simd > 1]


def couple(op: VVAU, elems: int) -> dict:
    """The folding that takes a producer's beats of ``elems`` elements without a converter
    (``simd*pe*GROUP_IN == elems`` when one exists; else the nearest below)."""
    groups, cg = op.groups, op.group_in
    if elems > op.channels and elems % op.channels == 0:
        return {"pe": groups, "simd": math.gcd(elems // op.channels, op.kernel)}
    return {"pe": math.gcd(max(1, elems // cg), groups), "simd": 1}


def macs(stage: StageRTL) -> int:
    """SIMD*PE*GROUP_OUT*GROUP_IN multiply-accumulates per input beat."""
    return stage.in_beats * _geometry(stage.parameters)["products"]


def work(stage: StageRTL) -> dict:
    p = stage.parameters
    g = _geometry(p)
    kind = "xnor" if p["IN_BIPOLAR"] and p["W_BIPOLAR"] else f"w{p['W_BITS']}a{p['IN_BITS']}"
    return {"mw": p["WINDOW"] * g["cg"], "mh": g["m"], "macs_per_frame": macs(stage), "mac_kind": kind,
            "weight_bits": p["WINDOW"] * g["m"] * g["cg"] * p["W_BITS"], "thresholds": g["m"] * p["N_THRESHOLDS"]}


def _geometry(p: dict) -> dict:
    """The derived sizes of vvau.v: groups, beats per position group (cf), position groups
    (wg), output lanes, products per lane (nprod) and in all, the dot products' pipeline
    registers (ds), the latency and the output queue's depth."""
    cg, mg, simd, pe = p.get("GROUP_IN", 1), p.get("GROUP_OUT", 1), p.get("SIMD", 1), p["PE"]
    groups = p["CH"] // cg
    nprod = simd * cg
    ds = p.get("DOT_STAGES", 1)
    cf, wg = groups // pe, p["WINDOW"] // simd
    wsplit = int(wg * cf > WEIGHT_BANK)
    return {"cg": cg, "mg": mg, "simd": simd, "groups": groups, "m": groups * mg, "cf": cf,
            "wg": wg, "lanes": pe * mg, "nprod": nprod, "products": pe * mg * nprod,
            "ds": ds, "wsplit": wsplit, "banks": -(-(wg * cf) // WEIGHT_BANK),
            "rc": int(p["N_THRESHOLDS"] > 1),
            "latency": 3 + wsplit + ds + int(p["N_THRESHOLDS"] > 1), "queue": 4 + wsplit + ds + int(p["N_THRESHOLDS"] > 1)}


#: Words of a weight ROM bank (vvau.v WSPLIT): a deeper ROM reads every bank into a register,
#: then the beat's bank (a LUT6 holds 64 words of a bit).
WEIGHT_BANK = 64


# -- the dot products: mac_dot per lane, its pipeline, the logic depth ----------------------
def _dot_operands(p: dict) -> dict:
    """The operand parameters of the lanes' mac_dot (its names for vvau.v's)."""
    return {"INPUT_BITS": p["IN_BITS"], "INPUT_SIGNED": p["IN_SIGNED"], "INPUT_BIPOLAR": p["IN_BIPOLAR"],
            "WEIGHT_BITS": p["W_BITS"], "WEIGHT_SIGNED": p["W_SIGNED"], "WEIGHT_BIPOLAR": p["W_BIPOLAR"], "BINARY": 0}


def mac_dot_parameters(p: dict) -> dict:
    """The parameters vvau.v gives every lane's mac_dot instance: vvau.v's stand-ins (widths
    1..16, ACC_BITS 2..48, DOT_STAGES 1..8, flags 0/1, a bipolar flag only on a 1-bit unsigned
    operand, products per lane at least 1), so that an illegal VVAU is reported by its own
    checks alone."""
    ib = p["IN_BITS"] if 1 <= p["IN_BITS"] <= 16 else 1
    wb = p["W_BITS"] if 1 <= p["W_BITS"] <= 16 else 1
    xsg, wsg = int(p["IN_SIGNED"] == 1), int(p["W_SIGNED"] == 1)
    simd, cg = p.get("SIMD", 1), p.get("GROUP_IN", 1)
    window = p["WINDOW"] if p["WINDOW"] >= 1 else 1
    simd = simd if simd >= 1 and window % simd == 0 else 1
    return {"N": simd * (cg if cg >= 1 else 1), "INPUT_BITS": ib, "INPUT_SIGNED": xsg,
            "INPUT_BIPOLAR": int(p["IN_BIPOLAR"] == 1 and ib == 1 and not xsg), "WEIGHT_BITS": wb,
            "WEIGHT_SIGNED": wsg, "WEIGHT_BIPOLAR": int(p["W_BIPOLAR"] == 1 and wb == 1 and not wsg), "BINARY": 0,
            "DW": p["ACC_BITS"] if 2 <= p["ACC_BITS"] <= 48 else 2,
            "STAGES": p["DOT_STAGES"] if 1 <= p.get("DOT_STAGES", 1) <= 8 else 1, "CHAIN": 0, "FORM": 0}


def dot_stages(p: dict) -> int:
    """DOT_STAGES of a VVAU: the lanes' mac_dot starts from the operand register (the beat
    and its weight word), so its deepest path is :func:`mac_dot.logic_levels` with nothing
    ahead; among the pipelines within MAX_LEVELS LUT levels the one with the fewest
    carry chains (fewer tree adders), then the fewest registers (as the MVAU's
    :func:`~bnncc.hw.modules.mvau.mac_pipeline`)."""
    operands, n = _dot_operands(p), p.get("SIMD", 1) * p.get("GROUP_IN", 1)
    best = None
    for stages in range(1, 9):
        if mac_dot.logic_levels(operands, n, stages) > MAX_LEVELS:
            continue
        key = (mac_dot.chain_groups(operands, n, stages), stages)
        if best is None or key < best:
            best = key
    return best[1] if best else 8


#: LUT levels of vvau.v's paths outside the dot products (xc7, Yosys): the accumulator's
#: word read and add, and with thresholds the compares and the balanced count of their bits
#: into the output queue (measured on the DS-CNN and MobileNet layers).
ACCUMULATE_LEVELS = 3
THRESHOLD_LEVELS = 6


def vvau_levels(p: dict) -> tuple[int, int]:
    """(LUT levels, carry cells) of a VVAU's deepest register-to-register path on xc7, the
    input of :mod:`bnncc.hw.timing` (as :func:`bnncc.hw.timing.mvau_levels` for the MVAU):
    the deepest of the lanes' mac_dot (its chains and tree at DOT_STAGES), the accumulator
    and, with thresholds, the compare and count of the threshold stage; carry cells as the
    accumulator's ACC_BITS-bit adder (4 bits per CARRY4)."""
    operands, n = _dot_operands(p), p.get("SIMD", 1) * p.get("GROUP_IN", 1)
    dot = mac_dot.logic_levels(operands, n, p.get("DOT_STAGES", 1))
    luts = max(dot, THRESHOLD_LEVELS if p["N_THRESHOLDS"] > 1 else ACCUMULATE_LEVELS)
    return luts, -(-p["ACC_BITS"] // 4)


# -- rules ----------------------------------------------------------------------------------
def _flags(p: dict) -> bool:
    return any(p[k] not in (0, 1) for k in ("IN_SIGNED", "W_SIGNED", "IN_BIPOLAR", "W_BIPOLAR"))


def _derived(p: dict) -> dict:
    """vvau.v's NG: the groups CH/GROUP_IN (PE, or 1, where GROUP_IN does not divide CH)."""
    cg = p["GROUP_IN"] if p["GROUP_IN"] >= 1 else 1
    pe = p["PE"] if p["PE"] >= 1 else 1
    return {"NG": vdiv(p["CH"], cg) if p["CH"] >= cg and vmod(p["CH"], cg) == 0 else pe}


RULES = ModuleRules(
    "vvau",
    defaults={"CH": 4, "PE": 1, "WINDOW": 9, "GROUP_IN": 1, "GROUP_OUT": 1, "SIMD": 1, "IN_BITS": 4, "IN_SIGNED": 0, "IN_BIPOLAR": 0, "W_BITS": 4, "W_SIGNED": 1,
              "W_BIPOLAR": 0, "ACC_BITS": 12, "N_THRESHOLDS": 0, "OUT_BITS": 12, "OUT_BIAS": 0, "DOT_STAGES": 1,
              "WEIGHT_FILE": "",
              "THRESHOLD_FILE": ""},
    derived=_derived,
    children=lambda p: [("lane[0].u_dot", "mac_dot", mac_dot_parameters(p))],
    rules=(
        Rule("GROUP_IN (%0d) must divide CH (%0d)", not_multiple("CH", "GROUP_IN"), ("GROUP_IN", "CH")),
        Rule("GROUP_OUT must be >= 1", lambda p: p["GROUP_OUT"] < 1),
        Rule("PE (%0d) must divide CH/GROUP_IN (%0d)", lambda p: p["PE"] < 1 or vmod(p["NG"], p["PE"]) != 0,
             ("PE", "NG")),
        Rule("WINDOW must be >= 1", lambda p: p["WINDOW"] < 1),
        Rule("SIMD (%0d) must divide WINDOW (%0d)", lambda p: p["SIMD"] < 1 or vmod(p["WINDOW"], p["SIMD"]) != 0,
             ("SIMD", "WINDOW")),
        Rule("SIMD > 1 needs PE (%0d) = CH/GROUP_IN (%0d)", lambda p: p["SIMD"] > 1 and p["PE"] != p["NG"],
             ("PE", "NG")),
        Rule("IN_BITS and W_BITS must be 1..16", lambda p: not (1 <= p["IN_BITS"] <= 16) or not (1 <= p["W_BITS"] <= 16)),
        Rule("IN_SIGNED, IN_BIPOLAR, W_SIGNED and W_BIPOLAR must be 0 or 1", _flags),
        Rule("a bipolar operand is 1 bit and not signed",
             lambda p: (p["IN_BIPOLAR"] != 0 and (p["IN_BITS"] != 1 or p["IN_SIGNED"] != 0))
             or (p["W_BIPOLAR"] != 0 and (p["W_BITS"] != 1 or p["W_SIGNED"] != 0))),
        Rule("ACC_BITS must be 2..48", lambda p: not (2 <= p["ACC_BITS"] <= 48)),
        Rule("DOT_STAGES (%0d) must be 1..8", lambda p: not (1 <= p["DOT_STAGES"] <= 8), ("DOT_STAGES",)),
        Rule("N_THRESHOLDS must be >= 0", lambda p: p["N_THRESHOLDS"] < 0),
        Rule("without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)",
             lambda p: p["N_THRESHOLDS"] == 0 and p["OUT_BITS"] != p["ACC_BITS"], ("OUT_BITS", "ACC_BITS")),
        Rule("OUT_BITS must be 1..32 with thresholds", lambda p: p["N_THRESHOLDS"] > 0 and not (1 <= p["OUT_BITS"] <= 32)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
class WindowDot(WindowSum):
    """vvau.v: input at one beat per cycle; output beat f of window n is pushed into the
    output queue LAT = 3 + WSPLIT + DOT_STAGES + RC cycles after the input beat that
    completes it (beat f of the window's last position group): the operand register (and the
    weight banks' register), the lanes' mac_dot, the sum, the registered compare bits, then
    the count. The input holds a completing beat while the queue of LAT + 1
    entries and the sums in flight fill it (its ready reads registers only): output k can
    leave as late as LAT + 1 cycles before output k + LAT + 1 is ready."""

    def __init__(self, stage: StageRTL):
        g = _geometry(stage.parameters)
        cf, window = g["cf"], g["wg"]
        self.latency = g["latency"]
        self.hold, self.lead = g["queue"], g["latency"] + 1
        self.in_beats, self.out_beats = stage.in_beats, stage.out_beats
        windows = self.out_beats // cf
        trigger = (np.arange(windows)[:, None] * window * cf + (window - 1) * cf + np.arange(cf)[None, :]).reshape(-1)
        self.trigger = tile(trigger, self.in_beats)

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, forward(pops[self.trigger] + self.latency, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        need[self.trigger] = pushes - self.latency
        return Schedule(backward(need, 1), pushes)


# -- resource terms -------------------------------------------------------------------------
def _signed_width(bits: int, signed: int, bipolar: int) -> int:
    """An operand's width as a two's complement number (vvau.v XS / WS)."""
    if bipolar:
        return 2
    return (bits if bits > 1 else 2) if signed else bits + 1


def _count_bits(nt: int) -> int:
    """The adder bits of the balanced sum of ``nt`` compare bits (a node of height h, h + 1 bits)."""
    bits, alive, h = 0, nt, 0
    while alive > 1:
        h += 1
        bits += (alive // 2) * (h + 1)
        alive = (alive + 1) // 2
    return bits


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a vvau instance (see the module docstring)."""
    g = _geometry(p)
    lanes, products, nprod = g["lanes"], g["products"], g["nprod"]
    ab, ob, nt = p["ACC_BITS"], p["OUT_BITS"], p["N_THRESHOLDS"]
    cf = g["cf"]
    depth = g["wg"] * cf
    ws = _signed_width(p["W_BITS"], p["W_SIGNED"], p["W_BIPOLAR"])
    dw = lanes * ab
    xnor = p["IN_BIPOLAR"] and p["W_BIPOLAR"]
    counters = counter_bits(cf) + counter_bits(g["wg"]) + counter_bits(depth)
    # a ROM deeper than a bank is read bank by bank (vvau.v WSPLIT): every bank a 64-word ROM
    rom_words, rom_copies = (WEIGHT_BANK, g["banks"]) if g["wsplit"] else (depth, 1)
    weights = memory_cost(Memory(products * p["W_BITS"], rom_words, "rom"), family)
    weights = {k: v * rom_copies for k, v in weights.items()}
    # the weight bits that carry information: a product whose values need fewer bits than WS
    # has ROM bits that repeat its sign (Yosys merges their registers)
    wl = min(products * ws, p.get(WEIGHT_LANE_BITS, products * ws)) if not p["W_BIPOLAR"] else products
    weight_bits = max(1, round(wl * p["W_BITS"] / ws))
    weight_rom = weights["rom"] if weights["bram"] else \
        memory_cost(Memory(weight_bits, rom_words, "rom"), family)["rom"] * rom_copies
    # thresholds equal in every word (one word: CF = 1) are constants: a compare against a
    # constant is a carry chain whose inputs are the sum's bits, a fraction of a LUT per bit
    t_bits = lanes * nt * ab
    t_const = min(t_bits, p.get(THRESHOLD_CONSTANT_BITS, 0)) if nt else 0
    queue = memory_cost(Memory(lanes * ob, g["queue"], "ram_async"), family)
    # with one position group every beat is its window's last: no accumulator, no adder
    accumulators = memory_cost(Memory(dw, cf, "ram"), family) if g["wg"] > 1 else None
    tword = max(1, lanes * nt * ab - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    tmem = memory_cost(Memory(tword, cf, "rom"), family) if nt > 0 and cf > 1 else None
    memories = tuple(m for m in (weights, accumulators, tmem, queue) if m)
    # the data bits read out of distributed RAM (ECP5 spends logic on each)
    lutram_read = dw * int(bool(accumulators) and accumulators["lutram"] > 0) + lanes * ob * int(queue["lutram"] > 0)
    # the lanes' mac_dot: a LUT per partial-product bit in front of a carry chain (products
    # by constants where one weight word holds the whole window), the chains' sums meeting in
    # a tree of ACC_BITS-bit adders; bipolar pairs: an XNOR-popcount per lane
    operands = _dot_operands(p)
    _, _, pp_bits = mac_dot.partial_product_bits(operands)
    chains = mac_dot.chain_groups(operands, nprod, g["ds"])
    pp = 0 if xnor else products * pp_bits * wl / (products * ws)
    lut = {"const": 1, "counter_bits": counters, "add": lanes * ab if accumulators else 0,
           "xnor": lanes * mvau_popcount_luts(nprod, 0)[0] if xnor else 0,
           "mac_pp": pp if depth > 1 else 0, "mac_pp_const": pp if depth == 1 else 0,
           "mac_tree": lanes * (chains - 1) * ab, "weight_rom": weight_rom,
           # a deeper threshold ROM no longer shares the compare's LUT: priced by address bits
           "threshold_rom": tmem["rom"] if tmem else 0.0, "threshold_address": tword * counter_bits(cf) if tmem else 0,
           # a ROM bit of more words than a LUT holds beside one compared bit of the sum
           "threshold_deep": tword if tmem and not tmem["bram"] and cf > (32 if family == "xilinx" else 8) else 0,
           "compare": t_bits - t_const, "compare_const": t_const,
           "count": lanes * (_count_bits(nt) + ob) if nt > 1 else 0,
           "mux": sum(m["mux"] for m in memories), "decode": sum(m["decode"] for m in memories),
           "lutram_read": lutram_read}
    in_bits = g["simd"] * p["PE"] * g["cg"] * p["IN_BITS"]
    # mac_dot's inner registers: about an ACC_BITS-bit sum per chain (at most two per lane
    # live at once) per register before its output register
    inner = lanes * (g["ds"] - 1) * min(chains, 2) * ab
    return Terms(
        lut=lut,
        # a threshold ROM in logic: Yosys moves its address register behind it (tword bits)
        # the operand register (with a split weight ROM also its banks' registers and the beat
        # waiting beside them), mac_dot's registers, the sums, the registered compare bits
        ff={"control": counters + 8 + 3 * g["ds"],
            "operand": in_bits + (weight_bits if depth > 1 else 0) + g["wsplit"] * (in_bits + g["banks"] * weight_bits),
            "dot": dw + inner, "data": dw + (dw if cf == 1 and accumulators else 0),
            "compare_register": lanes * nt if g["rc"] else 0,
            "threshold_register": tword if tmem and not tmem["bram"] else 0,
            "memory": sum(m["ff"] for m in memories)},
        bram=sum(m["bram"] for m in memories), lutram=sum(m["lutram"] for m in memories), dsp=0.0)


COEFFICIENTS = {
    # fitted by benchmarks/calibrate_estimates.py [--family ecp5] --grid-only --modules vvau
    # --fit on the 57 grid points (depthwise, grouped, channel multiplier, kernel positions per
    # beat, the one-channel-per-beat depthwise layers of DS-CNN and MobileNet) with the dot
    # products in mac_dot (benchmarks/results/calibration_vvau_xilinx.json,
    # calibration_vvau_ecp5.json); block RAM exact on both
    "xilinx": {
        "lut": {"add": 1.092, "compare": 0.178, "compare_const": 0.467, "const": 0, "count": 0, "counter_bits": 4.583,
                "decode": 0, "lutram_read": 0.332, "mac_pp": 0.505, "mac_pp_const": 1.554, "mac_tree": 7.351, "mux": 0,
                "threshold_address": 0.43, "threshold_deep": 1.804, "threshold_rom": 0, "weight_rom": 2.565,
                "xnor": 1.445},
        "ff": {"compare_register": 1.265, "control": 2.575, "data": 0.651, "dot": 1.075, "memory": 0, "operand": 1.102,
               "threshold_register": 0.094},
    },
    "ecp5": {
        "lut": {"add": 1.823, "compare": 0.287, "compare_const": 1.404, "const": 14.276, "count": 0, "counter_bits": 3.172,
                "decode": 0.116, "lutram_read": 0.673, "mac_pp": 2.806, "mac_pp_const": 3.962, "mac_tree": 18.714,
                "mux": 2.879, "threshold_address": 0.371, "threshold_deep": 0.343, "threshold_rom": 0.482,
                "weight_rom": 0.532, "xnor": 3.539},
        "ff": {"compare_register": 1.28, "control": 2.862, "data": 0.608, "dot": 1.041, "memory": 0, "operand": 1.167,
               "threshold_register": 0.082},
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
               out_bits: int = 1, span: int = 0, cg: int = 1, mg: int = 1, simd: int = 1) -> dict:
    """A VVAU with random weights and sorted random thresholds in the reachable range,
    ACC_BITS chosen as the builder chooses it. With ``span`` > 0 the (signed) weights are
    drawn from -span..span only, as trained per-channel-scaled weights often are (ternary
    at span 1). ``cg``/``mg``: input/output channels per group, ``simd``: kernel positions
    per beat."""
    (xb, xs, xp), (wb, ws, wp) = OPERANDS[operands]
    rng = calibration.rng(name)
    choices = calibration.values(wb, ws, wp)
    if span:
        choices = choices[np.abs(choices) <= span]
    m = ch // cg * mg
    w = rng.choice(choices, size=(window, m * cg))
    x = calibration.values(xb, xs, xp)
    per_out = (window, m, cg)
    low = int(np.minimum(w * x.min(), w * x.max()).reshape(per_out).sum(axis=(0, 2)).min())
    high = int(np.maximum(w * x.min(), w * x.max()).reshape(per_out).sum(axis=(0, 2)).max())
    acc_bits = max(2, signed_bits(min(low, 0), high + (1 if n_thresholds else 0)))
    params = {"CH": ch, "PE": pe, "WINDOW": window, "GROUP_IN": cg, "GROUP_OUT": mg, "SIMD": simd,
              "IN_BITS": xb, "IN_SIGNED": xs, "IN_BIPOLAR": xp, "W_BITS": wb,
              "W_SIGNED": ws, "W_BIPOLAR": wp, "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
              "OUT_BITS": out_bits if n_thresholds else acc_bits,
              "OUT_BIAS": -(1 << (out_bits - 1)) if n_thresholds > 1 else 0, "DOT_STAGES": 1,
              "WEIGHT_FILE": "weights.mem", "THRESHOLD_FILE": ""}
    params["DOT_STAGES"] = dot_stages(params)
    lanes = pe * mg
    memories = {"weights.mem": calibration.mem_text(vvau_words(w, pe, wb, bool(wp), simd, cg, mg),
                                                    simd * lanes * cg * wb)}
    if n_thresholds:
        T = np.sort(rng.integers(low, high + 2, size=(m, n_thresholds)), axis=1)
        memories["thresholds.mem"] = calibration.mem_text(threshold_words(T, lanes, acc_bits),
                                                          lanes * n_thresholds * acc_bits)
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
    points = [(*point, 1, 1, 1) for point in points] + [
        # (ch, pe, window, operands, thresholds, out bits, span, group_in, group_out, simd)
        # grouped convolutions (CG > 1), channel multipliers (MG > 1), both
        (32, 4, 9, "u4xi4", 0, 0, 0, 2, 1, 1), (48, 16, 9, "i4xi4", 15, 4, 2, 3, 1, 1),
        (32, 8, 9, "bin", 1, 1, 0, 4, 1, 1), (16, 16, 9, "i4xi4", 15, 4, 1, 1, 2, 1),
        (16, 4, 9, "u4xi4", 0, 0, 0, 1, 4, 1), (24, 6, 9, "i2xi2", 3, 2, 0, 2, 2, 1),
        (32, 16, 9, "u4xbip", 3, 2, 0, 2, 2, 1),
        # kernel positions per beat (PE = G): the whole window, a proper divisor of it
        (16, 16, 9, "i4xi4", 15, 4, 1, 1, 1, 9), (32, 32, 9, "i4xi4", 15, 4, 2, 1, 1, 3),
        (8, 8, 9, "bin", 1, 1, 0, 1, 1, 9), (16, 16, 25, "i2xi2", 3, 2, 0, 1, 1, 5),
        (12, 4, 9, "u4xi4", 15, 4, 1, 3, 1, 3), (8, 8, 9, "i4xi4", 15, 4, 2, 1, 2, 9),
        # the depthwise layers of DS-CNN and MobileNet at 1,000 FPS: one channel per beat
        (8, 1, 9, "i4xi4", 15, 4, 3, 1, 1, 1), (16, 1, 9, "i4xi4", 15, 4, 2, 1, 1, 1), (32, 1, 9, "i4xi4", 15, 4, 4, 1, 1, 1),
        (32, 1, 9, "u4xi4", 15, 4, 0, 1, 1, 1)]
    if quick:
        points = points[:2]
    return [grid_point(f"vvau_{ch}c_pe{pe}_k{window}_{ops}" + (f"_t{nt}" if nt else "") + (f"_s{span}" if span else "")
                       + (f"_g{cg}x{mg}" if (cg, mg) != (1, 1) else "") + (f"_simd{simd}" if simd > 1 else ""),
                       ch, pe, window, ops, nt, ob, span, cg, mg, simd)
            for ch, pe, window, ops, nt, ob, span, cg, mg, simd in points]


SPEC = ModuleSpec(
    name="vvau",
    kind="stage",
    rules=RULES,
    ir_ops=(VVAU,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p.get("SIMD", 1) * p["PE"] * p.get("GROUP_IN", 1) * p["IN_BITS"], 1),
                             ("m_axis", "out", p["PE"] * p.get("GROUP_OUT", 1) * p["OUT_BITS"], 1)],
    pattern=WindowDot,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    hints=hints,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.simd * op.pe * op.group_in, op.pe * op.group_out),
    macs=macs,
    work=work,
)
