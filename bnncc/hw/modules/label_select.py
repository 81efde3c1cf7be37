"""Top-K class selection (``rtl_lib/label_select.v``): its registry entry.

It reads a frame's NUM_CLASSES scores (PE per beat) and gives the indices of the K largest:
cycles per frame = max(classes / PE, K); PE divides the classes. An accepted beat waits a
cycle in an input register (data, class index, first/last flags) before the insertion, so the
comparators start from registers: the first index leaves two cycles after a frame's last beat.

Resource terms: a running top-K of (value, index) pairs updated by a chain of PE*K
comparisons of IN_BITS+1 bits, each followed by value and index multiplexers. (The input
register, IN_BITS*PE + IDX_BITS + 3 flip-flops, is not yet in the terms: they keep the fit of
the calibration grid, synthesized before it.)
"""

from __future__ import annotations

import numpy as np

from bnncc.errors import UnsupportedModelError
from bnncc.hw import calibration
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, clog2 as vclog2, flag, not_multiple
from bnncc.hw.stage import StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.hw.terms import Terms, clog2
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: hw.LabelSelect, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    if len(op.outputs) > 1 and op.outputs[1] and graph.consumers(op.outputs[1]) + [t for t in graph.outputs if t == op.outputs[1]]:
        raise UnsupportedModelError(f"node '{op.name}' (LabelSelect): only the indices of the top-k are produced in RTL")
    classes = x.shape[-1]
    index_dtype = graph.tensors[op.outputs[0]].dtype
    parameters = {"NUM_CLASSES": classes, "PE": op.pe, "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"),
                  "K": op.k, "IDX_BITS": element_bits(index_dtype)}
    frames = per_frame(x.shape) // classes
    in_beats = frames * classes // op.pe
    cycles = frames * max(classes // op.pe, op.k)
    return StageRTL(op.name, instance_name(op.name), "label_select", parameters, Stream(op.pe, x.dtype),
                    Stream(1, index_dtype), in_beats, frames * op.k, cycles)


def foldings(graph: Graph, op: hw.LabelSelect) -> list[dict]:
    return [{"pe": pe} for pe in divisors(graph.tensors[op.inputs[0]].shape[-1])]


# -- rules ----------------------------------------------------------------------------------
RULES = ModuleRules(
    "label_select",
    defaults={"NUM_CLASSES": 10, "PE": 1, "IN_BITS": 8, "IN_SIGNED": 1, "K": 1, "IDX_BITS": 4},
    rules=(
        Rule("PE (%0d) must divide NUM_CLASSES (%0d)", not_multiple("NUM_CLASSES", "PE"), ("PE", "NUM_CLASSES")),
        Rule("IN_BITS must be >= 1", lambda p: p["IN_BITS"] < 1),
        Rule("IN_SIGNED must be 0 or 1", flag("IN_SIGNED")),
        Rule("K (%0d) must be in 1..NUM_CLASSES (%0d)", lambda p: p["K"] < 1 or p["K"] > p["NUM_CLASSES"],
             ("K", "NUM_CLASSES")),
        Rule("IDX_BITS (%0d) cannot hold index %0d",
             lambda p: p["IDX_BITS"] < 1 or (p["NUM_CLASSES"] > 1 and p["IDX_BITS"] < vclog2(p["NUM_CLASSES"])),
             ("IDX_BITS", "NUM_CLASSES - 1")),
    ),
)


# -- timing ---------------------------------------------------------------------------------
class LabelSelect(Pattern):
    """label_select.v: a frame's beats at one per cycle; its K indices leave one per cycle
    from the second cycle after its last beat (the input register, then the top-K registers)."""

    #: cycles from a frame's last beat to its first index
    LATENCY = 2

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        self.beats, self.k = p["NUM_CLASSES"] // p["PE"], p["K"]
        self.frames = stage.in_beats // self.beats
        self.in_beats, self.out_beats = stage.in_beats, self.frames * self.k

    def asap(self, arrival):
        pops = forward(arrival, 1)
        starts = np.full(FRAMES * self.out_beats, NEVER_BEFORE, dtype=np.int64)
        starts[::self.k] = pops[self.beats - 1::self.beats] + self.LATENCY
        return Schedule(pops, forward(starts, 1))

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        ends = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        ends[self.beats - 1::self.beats] = pushes[::self.k] - self.LATENCY
        return Schedule(backward(ends, 1), pushes)


# -- resource terms -------------------------------------------------------------------------
def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a label_select instance (see the module docstring)."""
    pe, k, idx = p["PE"], p["K"], p["IDX_BITS"]
    vw, in_w = p["IN_BITS"] + 1, pe * p["IN_BITS"]
    kw = clog2(k + 1)
    return Terms(
        lut={"const": 1, "compare": pe * k * vw, "select": pe * k * (vw + idx + 1), "index_bits": idx + kw,
             "data": in_w + k * idx},
        ff={"control": idx + kw + 3, "data": in_w + k * (vw + 2 * idx + 1)})


COEFFICIENTS = {
    "xilinx": {
        "lut": {"compare": 2.698, "const": 0, "data": 0.224, "index_bits": 2.177, "select": 0.093},
        "ff": {"control": 0.727, "data": 1.009},
    },
    "ecp5": {
        "lut": {"compare": 1.622, "const": 0, "data": 0, "index_bits": 0, "select": 3.219},
        "ff": {"control": 0.769, "data": 1.003},
    },
}


# -- calibration grid -----------------------------------------------------------------------
def grid_point(name: str, classes: int, pe: int, in_bits: int, k: int) -> dict:
    params = {"NUM_CLASSES": classes, "PE": pe, "IN_BITS": in_bits, "IN_SIGNED": 1, "K": k,
              "IDX_BITS": max(1, (classes - 1).bit_length())}
    return calibration.point(name, params)


def calibration_grid(quick: bool) -> list[dict]:
    if quick:
        return []
    return [grid_point(f"label_{classes}_pe{pe}_in{in_bits}_k{k}", classes, pe, in_bits, k)
            for classes, pe, in_bits, k in [(10, 1, 8, 1), (10, 10, 16, 1), (100, 4, 12, 5), (1000, 8, 16, 1),
                                            (10, 2, 11, 3), (10, 5, 8, 1), (100, 10, 8, 1), (20, 2, 16, 2),
                                            (1000, 40, 12, 1), (10, 1, 12, 5)]]


SPEC = ModuleSpec(
    name="label_select",
    kind="stage",
    rules=RULES,
    ir_ops=(hw.LabelSelect,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["PE"] * p["IN_BITS"], 1), ("m_axis", "out", p["IDX_BITS"], 1)],
    pattern=LabelSelect,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    beat_elems=lambda op: (op.pe, 1),
    macs=lambda stage: 0,
)
