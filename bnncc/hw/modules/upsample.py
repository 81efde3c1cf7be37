"""Nearest-neighbour upsampling (``rtl_lib/upsample.v``): its registry entry.

Per input row of W pixels (DEPTH = W*CH/PE beats of PE channels) the stage emits
F_H*W*F_W*CH/PE beats: F_H passes over a line buffer of one row, each pixel's CH/PE beats
F_W times in a pass. Output at one beat per cycle, so cycles per frame = output beats (a
row of one beat, DEPTH = 1, loses one cycle per row: its next word is written only after
the last read of the word before). PE divides the channels; the stage only copies beats,
so its PE follows its producer's beat (coupling to the producer, like ``pool_sum``).

Resource terms: the line buffer (DEPTH words of PE*BITS bits written on one port and read
through a register on the other: block RAM, LUT RAM or registers as Yosys maps it), the
read register (apart when the buffer is block RAM, whose output register may or may not
hold it), a two-entry output queue (LUT RAM or registers, its data path per beat bit), the
counters of pass, pixel, repetition and beat, the three address registers (write, read,
pixel base) and their two comparisons, and the queue's control.

Registered reads: an op with ``register_reads`` (set by ApplyFolding from the pipeline
budget, as for the sliding window) is built with READ_REG = 1: the read word is registered
once more (the block RAM's output register) into a four-entry queue, one cycle of latency
more.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.patterns import FRAMES, NEVER_BEFORE, Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, not_multiple
from bnncc.hw.stage import StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.hw.terms import Terms, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops.upsample import Upsample
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def cycles_per_frame(p: dict, rows: int) -> int:
    """Output beats of ``rows`` input rows, plus one idle cycle per row when a row is one beat."""
    depth = p["W"] * p["CH"] // p["PE"]
    return rows * (p["F_H"] * p["F_W"] * depth + (1 if depth == 1 else 0))


def build(graph: Graph, op: Upsample, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    y = graph.tensors[op.outputs[0]]
    parameters = {"CH": op.channels, "PE": op.pe, "W": op.W, "F_H": int(op.factors[0]), "F_W": int(op.factors[1]),
                  "BITS": element_bits(x.dtype)}
    if op.register_reads:
        parameters["READ_REG"] = 1
    in_beats = per_frame(x.shape) // op.pe
    out_beats = per_frame(y.shape) // op.pe
    return StageRTL(op.name, instance_name(op.name), "upsample", parameters, Stream(op.pe, x.dtype), Stream(op.pe, y.dtype),
                    in_beats, out_beats, cycles_per_frame(parameters, op.H))


def foldings(graph: Graph, op: Upsample) -> list[dict]:
    return [{"pe": pe} for pe in divisors(op.channels)]


def couple(op: Upsample, elems: int) -> dict:
    """The PE that takes a producer's beats of ``elems`` elements without a converter."""
    return {"pe": math.gcd(elems, op.channels)}


# -- rules ----------------------------------------------------------------------------------
RULES = ModuleRules(
    "upsample",
    defaults={"CH": 4, "PE": 1, "W": 4, "F_H": 2, "F_W": 2, "BITS": 4, "READ_REG": 0},
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("W must be >= 1", lambda p: p["W"] < 1),
        Rule("F_H (%0d) and F_W (%0d) must be >= 1", lambda p: p["F_H"] < 1 or p["F_W"] < 1, ("F_H", "F_W")),
        Rule("BITS must be 1..64", lambda p: not (1 <= p["BITS"] <= 64)),
        Rule("READ_REG must be 0 or 1", lambda p: p["READ_REG"] not in (0, 1)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
#: Cycles from taking an input beat to the earliest output beat that copies it: written, then
#: read (the cycle after), then in the output queue (the cycle after the read register);
#: READ_REG adds its register.
LATENCY = 3


class RowRepeat(Pattern):
    """upsample.v, row by row (rows of all frames back to back; row R holds input beats
    R*DEPTH + a, a = x*CF + f):

    * output beat k of row R copies input beat R*DEPTH + a(k) and is read (issued) at least
      one cycle after that beat is taken and one cycle after the read before it; it is valid
      2 cycles after its read (3 with READ_REG): push[k] >= max(pop[src(k)] + latency,
      push[k-1] + 1), latency = 3 + READ_REG;
    * input beat (R, a) is taken at least one cycle after the last read of (R-1, a) (in the
      last pass, last repetition): pop >= max(arrival, pop_prev + 1, push[last(R-1, a)] -
      latency + 2).
    """

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        cf, w, fh, fw = p["CH"] // p["PE"], p["W"], p["F_H"], p["F_W"]
        self.latency = LATENCY + p.get("READ_REG", 0)
        self.depth = w * cf
        self.in_beats, self.out_beats = stage.in_beats, stage.out_beats
        self.rows = FRAMES * self.in_beats // self.depth
        # per row: the address each output beat reads, in emission order (pass, x, r, f)
        grid = np.arange(w)[None, :, None, None] * cf + np.arange(cf)[None, None, None, :]
        self.address = np.broadcast_to(grid, (fh, w, fw, cf)).reshape(-1)
        self.row_out = self.address.size
        self.first = np.unique(self.address, return_index=True)[1]  # the first read of each address
        self.last = self.row_out - 1 - np.unique(self.address[::-1], return_index=True)[1]  # and the last

    def _rows(self, array, width):
        return array.reshape(self.rows, width)

    def asap(self, arrival):
        pops = np.empty(len(arrival), dtype=np.int64)
        pushes = np.empty(self.rows * self.row_out, dtype=np.int64)
        pop_rows, push_rows, arrive = self._rows(pops, self.depth), self._rows(pushes, self.row_out), self._rows(arrival, self.depth)
        prev_pop, prev_push = NEVER_BEFORE, NEVER_BEFORE
        for row in range(self.rows):
            lower = arrive[row].astype(np.int64)
            if row:
                lower = np.maximum(lower, push_rows[row - 1][self.last] - self.latency + 2)
            lower[0] = max(lower[0], prev_pop + 1)
            pop_rows[row] = forward(lower, 1)
            ready = pop_rows[row][self.address] + self.latency
            ready[0] = max(ready[0], prev_push + 1)
            push_rows[row] = forward(ready, 1)
            prev_pop, prev_push = pop_rows[row][-1], push_rows[row][-1]
        return Schedule(pops, pushes)

    def alap(self, deadline):
        pops = np.empty(self.rows * self.depth, dtype=np.int64)
        pushes = np.empty(len(deadline), dtype=np.int64)
        pop_rows, push_rows, due = self._rows(pops, self.depth), self._rows(pushes, self.row_out), self._rows(deadline, self.row_out)
        next_pop, next_push = None, None
        for row in range(self.rows - 1, -1, -1):
            upper = due[row].astype(np.int64)
            if next_pop is not None:
                upper[self.last] = np.minimum(upper[self.last], next_pop + self.latency - 2)
                upper[-1] = min(upper[-1], next_push - 1)
            push_rows[row] = backward(upper, 1)
            need = push_rows[row][self.first] - self.latency
            if next_pop is not None:
                need[-1] = min(need[-1], next_pop[0] - 1)
            pop_rows[row] = backward(need, 1)
            next_pop, next_push = pop_rows[row], push_rows[row][0]
        return Schedule(pops, pushes)

    def pops(self, arrival, alap):
        """Input waits only for the line buffer: the last read of its address in the row
        before (at the ``alap`` pushes)."""
        release = np.full(len(arrival), NEVER_BEFORE, dtype=np.int64)
        last = self._rows(alap.pushes, self.row_out)[:-1][:, self.last] - self.latency + 2
        release[self.depth:] = last.reshape(-1)
        return forward(np.maximum(arrival, release), 1)


# -- resource terms -------------------------------------------------------------------------
def terms(p: dict, family: str) -> Terms:
    """The estimate terms of an upsample instance (see the module docstring)."""
    pe, cf = p["PE"], p["CH"] // p["PE"]
    dw, depth = pe * p["BITS"], p["W"] * p["CH"] // p["PE"]
    aw = counter_bits(depth)
    counters = counter_bits(p["F_H"]) + counter_bits(p["W"]) + counter_bits(p["F_W"]) + counter_bits(cf)
    line = memory_cost(Memory(dw, depth, "ram"), family)
    queue = memory_cost(Memory(dw, 4 if p.get("READ_REG", 0) else 2, "ram_async"), family)
    lutram_read = dw * int(line["lutram"] > 0)
    return Terms(
        lut={"const": 1, "counter_bits": counters, "address_bits": 3 * aw, "compare": 2 * aw, "beat_bits": dw,
             "mux": line["mux"] + queue["mux"], "decode": line["decode"] + queue["decode"], "lutram_read": lutram_read},
        # READ_REG's second read register: flip-flops beside a LUT RAM, the block RAM's
        # output register (data_bram) beside a block RAM
        ff={"control": counters + 3 * aw + 6, "data": dw * (1 + p.get("READ_REG", 0)) if line["bram"] == 0 else 0,
            "data_bram": dw if line["bram"] else 0,
            "memory": line["ff"] + queue["ff"]},
        bram=line["bram"], lutram=line["lutram"])


COEFFICIENTS = {
    "xilinx": {
        "lut": {"address_bits": 0, "beat_bits": 0.56, "compare": 0, "const": 22.313, "counter_bits": 3.821, "decode": 0.754,
                "lutram_read": 0.066, "mux": 0.989},
        "ff": {"control": 1.037, "data": 1.075, "data_bram": 0, "memory": 0},
    },
    "ecp5": {
        "lut": {"address_bits": 3.54, "beat_bits": 1.542, "compare": 0, "const": 0, "counter_bits": 4.071, "decode": 0.148,
                "lutram_read": 0, "mux": 1.148},
        "ff": {"control": 1.355, "data": 0.861, "data_bram": 1.904, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
def calibration_grid(quick: bool) -> list[dict]:
    points = [(16, 1, 16, 2, 2, 4), (64, 8, 8, 2, 2, 2), (32, 4, 32, 2, 2, 4), (8, 8, 28, 3, 3, 1), (128, 16, 13, 2, 1, 4),
              (3, 1, 5, 3, 2, 8), (256, 8, 16, 2, 2, 4), (48, 3, 40, 1, 2, 3), (64, 64, 7, 2, 2, 1), (10, 5, 64, 4, 4, 2),
              (512, 32, 4, 2, 2, 2), (96, 12, 20, 2, 3, 6)]
    if quick:
        points = points[:2]
    return [calibration.point(f"upsample_{ch}c_pe{pe}_w{w}_f{fh}x{fw}_b{bits}",
                              {"CH": ch, "PE": pe, "W": w, "F_H": fh, "F_W": fw, "BITS": bits})
            for ch, pe, w, fh, fw, bits in points]


SPEC = ModuleSpec(
    name="upsample",
    kind="stage",
    rules=RULES,
    ir_ops=(Upsample,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["BITS"], 1), ("m_axis", "out", p["PE"] * p["BITS"], 1)],
    pattern=RowRepeat,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
)
