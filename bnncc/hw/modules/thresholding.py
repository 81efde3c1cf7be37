"""Multi-threshold activation (``rtl_lib/thresholding.v``): its registry entry.

Each element (PE per beat) is compared with its channel's N thresholds, which the builder
sorts ascending (the count #{t : x >= T[t]} does not depend on their order, and the module
requires sorted thresholds: its compare bits are then a thermometer code whose count has
bit j = XOR of c[m * 2**j - 1], m >= 1); the output is that count plus OUT_BIAS. One beat
per cycle: cycles per frame = elements / PE, PE divides the channels.

``REGISTER_COMPARES`` puts a register between the compares and the count (latency 3 cycles
instead of 2). The builder sets it when a channel has more than
:data:`REGISTER_COMPARES_ABOVE` threshold (there is a count to compute), unless the threshold
memory is the same in every word (one set shared by all channels, or a single word): then
the thresholds are constants and Yosys reduces compare and count to a table of the input,
which registered compare bits would only make larger. Measured with Yosys on xc7 (LUT levels
between registers, unregistered -> registered): 3 to 6 thresholds 4-5 -> 3-4, 15 thresholds
5 -> 3, 31 and 63 thresholds 6 -> 4, 255 thresholds 8 -> 6, at equal or fewer LUTs and PE*N
more flip-flops; one threshold is not shortened.

Resource terms: a ROM of CH/PE words of PE*N*THRESHOLD_BITS bits (less the parameter hint
``THRESHOLD_CONSTANT_BITS``, bits equal in every word that Yosys removes) read through a
register (Yosys's choice of block RAM or logic; in logic about one LUT per 16 words per
bit, and the registered word only beyond 8 words, where Yosys registers the address),
PE*N signed comparisons of THRESHOLD_BITS bits, PE XOR trees over the compare bits
(``count`` = PE * sum over output bits j of floor(N / 2**j) XOR inputs), an input skid
register, the output register and, with ``REGISTER_COMPARES``, PE*N compare flip-flops.
When every word is the same the thresholds are constants and Yosys reduces compare and count
to one fixed function of the IN_BITS-bit input per output bit: at most a LUT6 per 64 input
values (``table`` = PE * OUT_BITS * 2**max(0, IN_BITS - 6)), or the compare-and-count logic
if that is smaller.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR
from bnncc.hw import calibration
from bnncc.hw.memory_map import THRESHOLD_CONSTANT_BITS, Memory, constant_bits, memory_cost
from bnncc.hw.memory_words import thresholding_words
from bnncc.hw.patterns import Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, flag, not_multiple
from bnncc.hw.stage import Memory as MemoryFile, StageRTL, Stream
from bnncc.hw.stage_common import channel_thresholds, divisors, instance_name, out_bias, per_frame, signed_bits
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: hw.Thresholding, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    thresholds = channel_thresholds(graph, op, op.channels)
    low, high = int(x.dtype.min), int(x.dtype.max)
    if x.dtype == BIPOLAR:
        # The stream holds bits b with x = 2b - 1: x >= T  <=>  b >= ceil((T + 1) / 2).
        thresholds = np.ceil((thresholds.astype(np.float64) + 1) / 2).astype(np.int64)
        low, high = 0, 1
    thresholds = np.sort(np.clip(thresholds, low, high + 1), axis=1)  # the module needs them sorted
    bits = signed_bits(min(low, 0), high + 1)
    name = instance_name(op.name)
    words = thresholding_words(thresholds, op.pe, bits)
    width = op.pe * thresholds.shape[1] * bits
    constant = constant_bits(words, width)
    memory = MemoryFile(f"{name}_thresholds.mem", words if memories else [], width)
    beats = per_frame(x.shape) // op.pe
    parameters = {
        "CH": op.channels, "PE": op.pe, "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"),
        "N_THRESHOLDS": thresholds.shape[1], "THRESHOLD_BITS": bits, "OUT_BITS": element_bits(op.out_dtype),
        "OUT_BIAS": out_bias(op.out_dtype),
        "REGISTER_COMPARES": register_compares(thresholds.shape[1], constant >= width),
        "THRESHOLD_FILE": memory.filename,
    }
    return StageRTL(op.name, name, "thresholding", parameters, Stream(op.pe, x.dtype), Stream(op.pe, op.out_dtype),
                    beats, beats, beats, [memory], hints={THRESHOLD_CONSTANT_BITS: constant})


#: More thresholds per channel than this get a register between the compares and the count.
REGISTER_COMPARES_ABOVE = 1


def register_compares(n_thresholds: int, constant: bool) -> int:
    """1 when registered compare bits shorten the deepest path: more than
    :data:`REGISTER_COMPARES_ABOVE` thresholds read from a memory that is not constant."""
    return int(n_thresholds > REGISTER_COMPARES_ABOVE and not constant)


def hints(parameters: dict, words: dict) -> dict:
    """The threshold memory's constant bits (see :data:`THRESHOLD_CONSTANT_BITS`)."""
    if not parameters.get("THRESHOLD_FILE") or "THRESHOLD_FILE" not in words:
        return {}
    p = parameters
    return {THRESHOLD_CONSTANT_BITS: constant_bits(words["THRESHOLD_FILE"], p["PE"] * p["N_THRESHOLDS"] * p["THRESHOLD_BITS"])}


def foldings(graph: Graph, op: hw.Thresholding) -> list[dict]:
    return [{"pe": pe} for pe in divisors(graph.tensors[op.inputs[0]].shape[-1])]


# -- rules ----------------------------------------------------------------------------------
RULES = ModuleRules(
    "thresholding",
    defaults={"CH": 4, "PE": 1, "IN_BITS": 8, "IN_SIGNED": 1, "N_THRESHOLDS": 1, "THRESHOLD_BITS": 9, "OUT_BITS": 1,
              "OUT_BIAS": 0, "REGISTER_COMPARES": 0, "THRESHOLD_FILE": ""},
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("IN_BITS must be >= 1", lambda p: p["IN_BITS"] < 1),
        Rule("IN_SIGNED must be 0 or 1", flag("IN_SIGNED")),
        Rule("N_THRESHOLDS must be >= 1", lambda p: p["N_THRESHOLDS"] < 1),
        Rule("THRESHOLD_BITS (%0d) must be >= IN_BITS + 1 (%0d)", lambda p: p["THRESHOLD_BITS"] < p["IN_BITS"] + 1,
             ("THRESHOLD_BITS", "IN_BITS + 1")),
        Rule("OUT_BITS must be 1..32", lambda p: not (1 <= p["OUT_BITS"] <= 32)),
        Rule("REGISTER_COMPARES must be 0 or 1", flag("REGISTER_COMPARES")),
    ),
)


# -- timing ---------------------------------------------------------------------------------
def latency(parameters: dict) -> int:
    """Cycles from an input beat to its output beat: the stage-1 and output registers, and
    the compare register with ``REGISTER_COMPARES``."""
    return 2 + parameters.get("REGISTER_COMPARES", 0)


class Thresholding(Pattern):
    """thresholding.v: one beat per cycle, an output beat ``latency`` (2 or 3) cycles after its
    input beat; it holds that many beats (the skid entry is left as margin)."""

    def __init__(self, stage: StageRTL):
        self.in_beats = self.out_beats = stage.in_beats
        self.latency = latency(stage.parameters)
        self.hold, self.lead = self.latency, self.latency + 1

    def asap(self, arrival):
        pops = forward(arrival, 1)
        return Schedule(pops, pops + self.latency)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        return Schedule(pushes - self.latency, pushes)


# -- resource terms -------------------------------------------------------------------------
def xor_inputs(n_thresholds: int, out_bits: int) -> int:
    """Compare bits the count's XOR trees read: floor(N / 2**j) for output bit j."""
    return sum(n_thresholds >> j for j in range(min(out_bits, 31)))


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a thresholding instance (see the module docstring)."""
    ch, pe, nt, tb = p["CH"], p["PE"], p["N_THRESHOLDS"], p["THRESHOLD_BITS"]
    fold, in_w, out_w = ch // pe, pe * p["IN_BITS"], pe * p["OUT_BITS"]
    registered = p.get("REGISTER_COMPARES", 0)
    word = max(1, pe * nt * tb - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    table = pe * p["OUT_BITS"] * 2 ** max(0, p["IN_BITS"] - 6)
    count = pe * xor_inputs(nt, p["OUT_BITS"])
    if not registered and p.get(THRESHOLD_CONSTANT_BITS, 0) >= pe * nt * tb and table < pe * nt * tb + count:
        return Terms(lut={"const": 1, "counter_bits": counter_bits(fold), "table": table, "data": in_w},
                     ff={"control": counter_bits(fold) + 4, "data": 2 * in_w + out_w})
    rom = memory_cost(Memory(word, fold, "rom"), family)
    # a ROM in logic: ABC builds each output bit of these (sorted) thresholds from about
    # one LUT per 16 words (measured over 8 to 256 words), not from the 64 a LUT6 could hold
    rom_bits = word * max(1.0, fold / 16) if fold > 1 and not rom["bram"] and not rom["lutram"] else 0.0
    return Terms(
        lut={"const": 1, "counter_bits": counter_bits(fold), "compare": pe * nt * tb, "count": count,
             "data": in_w, "rom": rom_bits, "mux": rom["mux"]},
        # the registered word of a ROM in logic; up to 8 words Yosys registers the address
        ff={"control": counter_bits(fold) + 4 + registered, "data": 2 * in_w + out_w + (0 if rom["bram"] or fold <= 8 else word),
            "memory": rom["ff"], "compares": pe * nt * registered},
        bram=rom["bram"], lutram=rom["lutram"])


COEFFICIENTS = {
    # fitted (benchmarks/calibrate_estimates.py --modules thresholding --fit) on the grid and
    # the thresholding instances of ResNet-8 w4a4 at 1,000 FPS, the residual w1a1 at 10,000
    # FPS and hls4ml's branched CNN at 150 FPS; the examples' stages all have shared
    # thresholds that Yosys reduces to a few LUTs (``table`` costs no more than the fixed logic)
    "xilinx": {
        "lut": {"compare": 0.168, "const": 6.312, "count": 0, "counter_bits": 1.519, "data": 1.489, "mux": 0, "rom": 0.838,
                "table": 0},
        "ff": {"compares": 1.788, "control": 0.654, "data": 0.955, "memory": 0},
    },
    "ecp5": {
        "lut": {"compare": 0.773, "const": 12.359, "count": 0.689, "counter_bits": 0.773, "data": 1.216, "mux": 0,
                "rom": 0.9, "table": 0},
        "ff": {"compares": 1.814, "control": 0.693, "data": 0.944, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
def grid_point(name: str, ch: int, pe: int, in_bits: int, in_signed: int, n_thresholds: int,
               shared: bool = False) -> dict:
    """A thresholding stage with random sorted thresholds over the input range (one set for
    every channel with ``shared``)."""
    rng = calibration.rng(name)
    low, high = (-(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1) if in_signed else (0, (1 << in_bits) - 1)
    bits = in_bits + 1 if in_signed else in_bits + 2
    T = np.sort(rng.integers(low, high + 2, size=(1 if shared else ch, n_thresholds)), axis=1)
    T = np.broadcast_to(T, (ch, n_thresholds))
    out_bits = max(1, int(n_thresholds).bit_length())
    words = thresholding_words(T, pe, bits)
    width = pe * n_thresholds * bits
    params = {"CH": ch, "PE": pe, "IN_BITS": in_bits, "IN_SIGNED": in_signed, "N_THRESHOLDS": n_thresholds,
              "THRESHOLD_BITS": bits, "OUT_BITS": out_bits, "OUT_BIAS": 0,
              "REGISTER_COMPARES": register_compares(n_thresholds, constant_bits(words, width) >= width),
              "THRESHOLD_FILE": "thresholds.mem"}
    return calibration.point(name, params, {"thresholds.mem": calibration.mem_text(words, pe * n_thresholds * bits)})


def calibration_grid(quick: bool) -> list[dict]:
    if quick:
        return []
    return [grid_point(f"thr_{ch}c_pe{pe}_in{in_bits}_t{nt}", ch, pe, in_bits, in_signed, nt)
            for ch, pe, in_bits, in_signed, nt in [
                (64, 1, 8, 1, 1), (64, 8, 8, 1, 3), (128, 16, 4, 0, 15), (256, 4, 16, 1, 3), (32, 32, 6, 1, 7),
                (512, 2, 12, 1, 1), (10, 10, 16, 1, 3), (64, 64, 8, 1, 1), (64, 4, 8, 1, 1), (256, 16, 8, 1, 3),
                (64, 2, 16, 1, 3), (128, 8, 4, 1, 15), (16, 1, 8, 0, 3), (32, 8, 12, 1, 7), (1024, 8, 8, 1, 1),
                (96, 3, 10, 1, 3)]] + \
        [grid_point(f"thr_shared_{ch}c_pe{pe}_in{in_bits}_t{nt}", ch, pe, in_bits, in_signed, nt, shared=True)
         for ch, pe, in_bits, in_signed, nt in [(32, 1, 10, 0, 255), (16, 2, 8, 1, 63), (8, 1, 6, 0, 15),
                                                (64, 4, 9, 1, 31)]]


SPEC = ModuleSpec(
    name="thresholding",
    kind="stage",
    rules=RULES,
    ir_ops=(hw.Thresholding,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["IN_BITS"], 1), ("m_axis", "out", p["PE"] * p["OUT_BITS"], 1)],
    pattern=Thresholding,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    hints=hints,
    foldings=foldings,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
)
