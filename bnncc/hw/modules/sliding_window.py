"""The sliding-window generator (``rtl_lib/sliding_window.v``): its registry entry.

It turns an NHWC image stream into the stream of its K_H x K_W windows (padding, strides,
dilations), SIMD channels per beat: cycles per frame = max(H*W, OH*OW*K_H*K_W) * C / SIMD.
Its SIMD is coupled to its consumer's (an MVAU): gcd(SIMD of the consumer, C), so that no
width converter sits between them.

Parallel mode (``rtl_lib/window_parallel.v``, :mod:`bnncc.hw.modules.window_parallel`):
SIMD = M*C with M > 1 dividing K_H*K_W gives M whole kernel positions per beat from one
whole pixel (C elements) per input beat; cycles per frame = max(padded positions,
OH*OW*K_H*K_W/M). A consumer taking such a multiple of C per beat (a VVAU with SIMD over
kernel positions) gets it.

Registered reads: an op with ``register_reads`` (set by ApplyFolding from the pipeline
budget, :func:`bnncc.hw.timing.pipeline_budget`) gets READ_REG = 1, whatever
memory its line buffer maps to: the budget asks for it only where a block RAM's clock-to-out
does not fit the clock, and a line buffer small enough for LUT RAM pays DW flip-flops and a
cycle of latency for it (a line buffer's depth in LUT RAM or block RAM is the synthesis
tool's choice, not known here). In serial mode the read data is then registered once more
(the block RAM's output register) and every output beat leaves a cycle later; in parallel
mode the line buffer is read a cycle ahead through two registers, with the same timing.

Resource terms: a line buffer of NROWS image rows (IFM_W*CF words of DW = SIMD*ELEM_BITS
bits), written on one port and read through a register (READ_REG: two) on the other; a 4-word output
queue read asynchronously; a reader walking (oh, ow, u, v, cf) with signed row, column and
offset positions of SW bits (ten such registers and their adders and comparisons make the
bulk of the logic), and slot bases of AW bits.
"""

from __future__ import annotations

import math

import numpy as np

from bnncc.errors import UnsupportedModelError
from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.modules import window_parallel as parallel
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, NEVER_BEFORE, Pattern, Schedule, backward, forward, tile
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below, shl1, vdiv, vmod
from bnncc.hw.stage import StageRTL, Stream
from bnncc.hw.stage_common import divisors, geometry, instance_name
from bnncc.hw.terms import Terms, clog2, counter_bits
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits, to_field


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: hw.SlidingWindow, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    pad = np.asarray(op.pad_value)
    if pad.size > 1 and not np.all(pad == pad.reshape(-1)[0]):
        raise UnsupportedModelError(f"node '{op.name}' (SlidingWindow): a padding value per channel is not supported in RTL yet")
    out_dtype = graph.tensors[op.outputs[0]].dtype
    pad_field = int(to_field(np.asarray(pad.reshape(-1)[0] if pad.size else 0), x.dtype))
    (h, w), (oh, ow) = op.ifm_dims, op.ofm_dims
    kh, kw = op.kernel_shape
    parameters = {"IFM_CH": op.ifm_channels, "IFM_H": h, "IFM_W": w, **geometry(op), "DIL_H": op.dilations[0],
                  "DIL_W": op.dilations[1], "PAD_VALUE": pad_field, "SIMD": op.simd, "ELEM_BITS": element_bits(x.dtype)}
    out_beats = oh * ow * kh * kw * op.ifm_channels // op.simd
    if op.register_reads:
        parameters["READ_REG"] = 1
    if parallel.is_parallel(parameters):
        return StageRTL(op.name, instance_name(op.name), "sliding_window", parameters,
                        Stream(op.ifm_channels, x.dtype), Stream(op.simd, out_dtype), h * w, out_beats,
                        cycles_per_frame(parameters), input_unit=w)
    in_beats = h * w * op.ifm_channels // op.simd
    return StageRTL(op.name, instance_name(op.name), "sliding_window", parameters, Stream(op.simd, x.dtype),
                    Stream(op.simd, out_dtype), in_beats, out_beats, max(in_beats, out_beats),
                    input_unit=w * op.ifm_channels // op.simd)


def cycles_per_frame(p: dict) -> int:
    """Cycles per frame in steady state: max(input beats, output beats) in serial mode,
    max(padded positions, output beats) in parallel mode."""
    if parallel.is_parallel(p):
        return parallel.cycles_per_frame(p)
    h, w, ch, simd = p["IFM_H"], p["IFM_W"], p["IFM_CH"], p["SIMD"]
    g = parallel.geometry({**p, "SIMD": ch})
    return max(h * w * ch // simd, g["oh"] * g["ow"] * g["kk"] * ch // simd)


def foldings(graph: Graph, op: hw.SlidingWindow) -> list[dict]:
    """SIMD dividing C (serial), or M*C with M > 1 dividing K_H*K_W (parallel)."""
    c, kk = op.ifm_channels, op.kernel_shape[0] * op.kernel_shape[1]
    return [{"simd": simd} for simd in divisors(c)] + [{"simd": m * c} for m in divisors(kk) if m > 1]


def couple(op: hw.SlidingWindow, elems: int) -> dict:
    """The SIMD that feeds a consumer taking ``elems`` elements per beat without a converter:
    ``elems`` itself when it is M*C with M > 1 dividing K_H*K_W (parallel mode), else
    gcd(elems, C)."""
    c, kk = op.ifm_channels, op.kernel_shape[0] * op.kernel_shape[1]
    if parallel.legal_parallel(c, kk, elems):
        return {"simd": elems}
    return {"simd": math.gcd(elems, c)}


# -- rules ----------------------------------------------------------------------------------
RULES = ModuleRules(
    "sliding_window",
    defaults={"IFM_CH": 2, "IFM_H": 4, "IFM_W": 4, "K_H": 3, "K_W": 3, "STRIDE_H": 1, "STRIDE_W": 1, "DIL_H": 1,
              "DIL_W": 1, "PAD_T": 0, "PAD_L": 0, "PAD_B": 0, "PAD_R": 0, "PAD_VALUE": 0, "SIMD": 1, "ELEM_BITS": 1,
              "EXTRA_ROWS": 0, "READ_REG": 0},
    derived=lambda p: {
        "SPAN_H": (p["K_H"] - 1) * p["DIL_H"] + 1, "SPAN_W": (p["K_W"] - 1) * p["DIL_W"] + 1,
        "HP": p["PAD_T"] + p["IFM_H"] + p["PAD_B"], "WP": p["PAD_L"] + p["IFM_W"] + p["PAD_R"],
    },
    # the parallel mode's core (SIMD > IFM_CH)
    children=lambda p: [("parallel.core", "window_parallel", {k: p[k] for k in parallel.RULES.defaults})]
    if p["SIMD"] > p["IFM_CH"] else [],
    rules=(
        Rule("SIMD (%0d) must divide IFM_CH (%0d) or be a multiple of it by a factor dividing K_H*K_W (%0d)",
             lambda p: p["IFM_CH"] < 1 or p["SIMD"] < 1
             or (p["SIMD"] <= p["IFM_CH"] and vmod(p["IFM_CH"], p["SIMD"]) != 0)
             or (p["SIMD"] > p["IFM_CH"] and (vmod(p["SIMD"], p["IFM_CH"]) != 0
                                              or vmod(p["K_H"] * p["K_W"], vdiv(p["SIMD"], p["IFM_CH"])) != 0)),
             ("SIMD", "IFM_CH", "K_H * K_W")),
        Rule("IFM_H and IFM_W must be >= 1", lambda p: any_below(p, ("IFM_H", "IFM_W"), 1)),
        Rule("K_H and K_W must be >= 1", lambda p: any_below(p, ("K_H", "K_W"), 1)),
        Rule("strides must be >= 1", lambda p: any_below(p, ("STRIDE_H", "STRIDE_W"), 1)),
        Rule("dilations must be >= 1", lambda p: any_below(p, ("DIL_H", "DIL_W"), 1)),
        Rule("pads must be >= 0", lambda p: any_below(p, ("PAD_T", "PAD_L", "PAD_B", "PAD_R"), 0)),
        Rule("ELEM_BITS must be 1..32", lambda p: not (1 <= p["ELEM_BITS"] <= 32)),
        Rule("PAD_VALUE (%0d) does not fit %0d bits",
             lambda p: p["ELEM_BITS"] < 32 and (p["PAD_VALUE"] >= shl1(p["ELEM_BITS"])
                                               or p["PAD_VALUE"] < -shl1(p["ELEM_BITS"] - 1)),
             ("PAD_VALUE", "ELEM_BITS")),
        Rule("EXTRA_ROWS must be >= 0", lambda p: p["EXTRA_ROWS"] < 0),
        Rule("READ_REG must be 0 or 1", lambda p: p["READ_REG"] not in (0, 1)),
        Rule("kernel %0dx%0d (dilation %0dx%0d) does not fit the padded %0dx%0d image",
             lambda p: p["HP"] < p["SPAN_H"] or p["WP"] < p["SPAN_W"], ("K_H", "K_W", "DIL_H", "DIL_W", "HP", "WP")),
    ),
)


# -- timing ---------------------------------------------------------------------------------
#: Cycles from writing an input word to the earliest issue of an output beat that copies it.
READ_DELAY = 2


class SlidingWindow(Pattern):
    """sliding_window.v: input rows go into NROWS row slots at one beat per cycle while the
    slot of the row is released; output beats leave in (oh, ow, u, v, c) order at one per
    cycle, each issued 2 cycles after the input word it copies was written (the check is
    registered) and pushed 2 cycles later, 3 with READ_REG (padding needs nothing; a frame's
    last beat waits for its last input beat). The queue's credit is taken at issue, so
    output k may leave as late as issue k + 3 - 1, ``lead`` = the push delay + 1 cycles
    before push k + 3. The end of output row oh releases the rows above output row oh+1, the end of a
    frame all of its rows: input row R can be written from the cycle after the release of
    row R - NROWS (two cycles after with READ_REG: the released slots reach the writer's
    room counter through a register)."""

    hold = 3            # of the 4-entry output queue, whose credit is taken at issue
    eager = False       # windows repeat the rows K_H*K_W times: keep the rows, not the windows

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        #: cycles from an output beat's issue to its push (the RAM stages and the queue write)
        self.push_delay = 2 + p.get("READ_REG", 0)
        self.lead = self.push_delay + 1
        #: cycles from the issue of an output row's last beat to the first write into a slot it releases
        self.release_delay = 1 + p.get("READ_REG", 0)
        cf = p["IFM_CH"] // p["SIMD"]
        h, w = p["IFM_H"], p["IFM_W"]
        span_h = (p["K_H"] - 1) * p["DIL_H"] + 1
        span_w = (p["K_W"] - 1) * p["DIL_W"] + 1
        oh = (p["PAD_T"] + h + p["PAD_B"] - span_h) // p["STRIDE_H"] + 1
        ow = (p["PAD_L"] + w + p["PAD_R"] - span_w) // p["STRIDE_W"] + 1
        nrows = min(h, span_h - 1 + p["STRIDE_H"]) + p.get("EXTRA_ROWS", 0)
        self.row_beats, self.rows, self.out_rows = w * cf, h, oh
        self.in_beats = h * self.row_beats
        self.row_out = ow * p["K_H"] * p["K_W"] * cf            # output beats per output row
        self.out_beats = oh * self.row_out
        i_oh, i_ow, i_u, i_v, i_c = (a.reshape(-1) for a in np.indices((oh, ow, p["K_H"], p["K_W"], cf)))
        ir = i_oh * p["STRIDE_H"] + i_u * p["DIL_H"] - p["PAD_T"]
        ic = i_ow * p["STRIDE_W"] + i_v * p["DIL_W"] - p["PAD_L"]
        inside = (ir >= 0) & (ir < h) & (ic >= 0) & (ic < w)
        trigger = np.where(inside, ir * self.row_beats + ic * cf + i_c, -1)
        trigger[-1] = self.in_beats - 1
        self.trigger = trigger                                   # per frame, -1: padding
        top = np.arange(oh) * p["STRIDE_H"] - p["PAD_T"]         # first image row of each output row
        self.needs = np.clip(np.minimum(top + span_h - 1, h - 1), -1, h - 1)
        self.needs[-1] = h - 1
        released = np.clip(np.append(top[1:], h), 0, h)          # rows released by each output row end
        released[-1] = h
        released_abs = tile(released, h)                       # over frames, absolute rows
        rows = np.arange(FRAMES * h)
        need = rows - nrows + 1                                   # released rows needed to write row R
        event = np.searchsorted(released_abs, need, side="left")
        self.release = np.where(need > 0, event, -1)            # output row whose end frees row R
        self.order = self._order()

    def _order(self) -> list[tuple[bool, int]]:
        """Rows in an order that respects every dependency: (True, input row) is written before
        the first output row that reads it, (False, output row) after the rows it reads."""
        order, written = [], 0
        for event in range(FRAMES * self.out_rows):
            frame, row = divmod(event, self.out_rows)
            while written <= frame * self.rows + self.needs[row]:
                order.append((True, written))
                written += 1
            order.append((False, event))
        return order

    def _in_slice(self, row: int) -> slice:
        return slice(row * self.row_beats, (row + 1) * self.row_beats)

    def _out_slice(self, event: int) -> slice:
        return slice(event * self.row_out, (event + 1) * self.row_out)

    def _sources(self, event: int) -> np.ndarray:
        """Absolute input beat of every output beat of output row ``event`` (-1: padding)."""
        frame, row = divmod(event, self.out_rows)
        trigger = self.trigger[row * self.row_out:(row + 1) * self.row_out]
        return np.where(trigger >= 0, trigger + frame * self.in_beats, -1)

    def asap(self, arrival):
        pops = np.full(FRAMES * self.in_beats, NEVER_BEFORE, dtype=np.int64)
        issues = np.full(FRAMES * self.out_beats, NEVER_BEFORE, dtype=np.int64)
        last_pop = last_issue = NEVER_BEFORE
        for is_input, index in self.order:
            if is_input:
                part = self._in_slice(index)
                x = arrival[part].copy()
                event = self.release[index]
                released = issues[(event + 1) * self.row_out - 1] + self.release_delay if event >= 0 else NEVER_BEFORE
                x[0] = max(x[0], last_pop + 1, released)
                pops[part] = forward(x, 1)
                last_pop = pops[part.stop - 1]
            else:
                part = self._out_slice(index)
                sources = self._sources(index)
                x = np.where(sources >= 0, pops[sources] + READ_DELAY, NEVER_BEFORE)
                x[0] = max(x[0], last_issue + 1)
                issues[part] = forward(x, 1)
                last_issue = issues[part.stop - 1]
        return Schedule(pops, issues + self.push_delay)

    def alap(self, deadline):
        issues = np.full(FRAMES * self.out_beats, NEVER_AFTER, dtype=np.int64)
        pops = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        need = np.full(FRAMES * self.in_beats, NEVER_AFTER, dtype=np.int64)
        frees = np.full(FRAMES * self.out_rows, NEVER_AFTER, dtype=np.int64)
        next_pop = next_issue = NEVER_AFTER
        for is_input, index in reversed(self.order):
            if is_input:
                part = self._in_slice(index)
                x = need[part].copy()
                x[-1] = min(x[-1], next_pop - 1)
                pops[part] = backward(x, 1)
                next_pop = pops[part.start]
                event = self.release[index]
                if event >= 0:
                    frees[event] = min(frees[event], next_pop - self.release_delay)
            else:
                part = self._out_slice(index)
                x = deadline[part] - self.push_delay
                x[-1] = min(x[-1], next_issue - 1, frees[index])
                issues[part] = backward(x, 1)
                next_issue = issues[part.start]
                sources = self._sources(index)
                read = sources >= 0
                np.minimum.at(need, sources[read], issues[part][read] - READ_DELAY)
        return Schedule(pops, issues + self.push_delay)

    def pops(self, arrival, alap):
        """A row is written as soon as it arrives and its slot is released."""
        ready = np.full(len(arrival), NEVER_BEFORE, dtype=np.int64)
        released = self.release >= 0
        ends = (self.release[released] + 1) * self.row_out - 1
        ready[np.flatnonzero(released) * self.row_beats] = alap.pushes[ends] - self.push_delay + self.release_delay
        return forward(np.maximum(arrival, ready), 1)


def pattern(stage: StageRTL) -> Pattern:
    """The beat pattern of the instance's mode."""
    if parallel.is_parallel(stage.parameters):
        return parallel.WindowParallel(stage)
    return SlidingWindow(stage)


# -- resource terms -------------------------------------------------------------------------
def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a sliding_window instance (see the module docstring)."""
    if parallel.is_parallel(p):
        return parallel.terms(p, family)
    simd, bits, ch = p["SIMD"], p["ELEM_BITS"], p["IFM_CH"]
    cf, dw = ch // simd, simd * bits
    span_h = (p["K_H"] - 1) * p["DIL_H"] + 1
    span_w = (p["K_W"] - 1) * p["DIL_W"] + 1
    hp = p["PAD_T"] + p["IFM_H"] + p["PAD_B"]
    wp = p["PAD_L"] + p["IFM_W"] + p["PAD_R"]
    oh = (hp - span_h) // p["STRIDE_H"] + 1 if hp >= span_h else 1
    ow = (wp - span_w) // p["STRIDE_W"] + 1 if wp >= span_w else 1
    nrows = min(p["IFM_H"], span_h - 1 + p["STRIDE_H"]) + p.get("EXTRA_ROWS", 0)
    roww = p["IFM_W"] * cf
    depth = nrows * roww
    aw = counter_bits(depth)
    rmax = 2 * p["IFM_H"] + p["PAD_T"] + p["PAD_B"] + nrows + p["STRIDE_H"] + p["K_H"] * p["DIL_H"]
    cmax = (wp + p["STRIDE_W"] + p["K_W"] * p["DIL_W"] + 1) * cf
    sw = max(clog2(max(rmax, cmax) + 2) + 2, aw + 1)
    counters = sum(counter_bits(n) for n in (oh, ow, p["K_H"], p["K_W"], cf, roww))
    line = memory_cost(Memory(dw, depth, "ram"), family)
    queue = memory_cost(Memory(dw, 4, "ram_async"), family)
    return Terms(
        lut={"const": 1, "position_bits": sw, "address_bits": aw, "counter_bits": counters, "data": dw,
             "mux": line["mux"] + queue["mux"], "decode": line["decode"] + queue["decode"]},
        ff={"control": 8 * sw + 3 * aw + counters + 9,
            # the read register (a block RAM's own latch), READ_REG's second one (the block
            # RAM's output register on ECP5) in flip-flops beside a LUT RAM
            "data": 0 if line["bram"] else dw * (1 + p.get("READ_REG", 0)),
            "memory": line["ff"] + queue["ff"]},
        bram=line["bram"] + queue["bram"], lutram=line["lutram"] + queue["lutram"])


# The parallel mode's terms (window_parallel.terms), fitted on its calibration grid of 12
# single-instance Yosys runs per family (PARALLEL_GRID; results in
# benchmarks/results/calibration_window_parallel_<family>.json).
PARALLEL_COEFFICIENTS = {
    "xilinx": {
        "lut": {"par_const": 11.716, "par_counter_bits": 3.063, "par_decode": 0, "par_mux": 0, "par_out_mux": 0.499,
                "par_pad_mux": 1.157},
        "ff": {"par_control": 3.713, "par_data": 1.052, "par_memory": 0, "par_window": 0.986},
    },
    "ecp5": {
        "lut": {"par_const": 0, "par_counter_bits": 3.681, "par_decode": 7.128, "par_mux": 0.611, "par_out_mux": 0.938,
                "par_pad_mux": 2.651},
        "ff": {"par_control": 1.526, "par_data": 0, "par_memory": 0, "par_window": 1.305},
    },
}


# Refitted after the reader became two register stages, on the calibration grid
# (benchmarks/results/calibration_sliding_window_<family>.json) and the example designs'
# instances re-synthesized with that RTL (calibration_<family>.json): 59 xilinx and 45 ECP5
# points.
COEFFICIENTS = {
    "xilinx": {
        "lut": {"address_bits": 12.401, "const": 53.855, "counter_bits": 3.257, "data": 1.169, "decode": 1.999, "mux": 0, "position_bits": 5.453},
        "ff": {"control": 1.391, "data": 1.05, "memory": 0},
    },
    "ecp5": {
        "lut": {"address_bits": 42.895, "const": 0, "counter_bits": 0, "data": 1.406, "decode": 8.673, "mux": 0.81, "position_bits": 13.744},
        "ff": {"control": 1.665, "data": 0.852, "memory": 0},
    },
}
for _family, _table in PARALLEL_COEFFICIENTS.items():
    for _kind in ("lut", "ff"):
        COEFFICIENTS[_family][_kind].update(_table[_kind])


# -- calibration grid -----------------------------------------------------------------------
def grid_point(name: str, ch: int, h: int, w: int, k: int, stride: int, pad: int, simd: int, bits: int) -> dict:
    params = {"IFM_CH": ch, "IFM_H": h, "IFM_W": w, "K_H": k, "K_W": k, "STRIDE_H": stride, "STRIDE_W": stride,
              "PAD_T": pad, "PAD_L": pad, "PAD_B": pad, "PAD_R": pad, "DIL_H": 1, "DIL_W": 1, "PAD_VALUE": 0,
              "SIMD": simd, "ELEM_BITS": bits}
    return calibration.point(name, params)


def parallel_point(ch: int, h: int, w: int, kernel: tuple[int, int], stride: int, pad: int, m: int,
                   bits: int, dilation: int = 1) -> dict:
    """A grid point of the parallel mode: SIMD = m*ch, m kernel positions per beat."""
    kh, kw = kernel
    params = {"IFM_CH": ch, "IFM_H": h, "IFM_W": w, "K_H": kh, "K_W": kw, "STRIDE_H": stride, "STRIDE_W": stride,
              "PAD_T": pad if kh > 1 else 0, "PAD_L": pad, "PAD_B": pad if kh > 1 else 0, "PAD_R": pad,
              "DIL_H": dilation, "DIL_W": dilation, "PAD_VALUE": 0, "SIMD": m * ch, "ELEM_BITS": bits}
    name = f"swp_{ch}c{h}x{w}_k{kh}x{kw}s{stride}p{pad}d{dilation}_m{m}_b{bits}"
    return calibration.point(name, params)


#: The parallel mode's grid (benchmarks/results/calibration_window_parallel_<family>.json):
#: depthwise shapes of the examples (3x3 stride 1 and 2 with padding 1), 5x5, 1-D, and
#: whole windows or a third of them per beat.
PARALLEL_GRID = [
    (8, 16, 16, (3, 3), 1, 1, 9, 4), (8, 16, 16, (3, 3), 1, 1, 3, 4), (16, 12, 12, (3, 3), 1, 1, 9, 1),
    (32, 10, 10, (3, 3), 1, 1, 9, 1), (4, 32, 32, (3, 3), 2, 1, 9, 8), (16, 8, 8, (3, 3), 1, 0, 3, 2),
    (2, 1, 64, (1, 5), 1, 2, 5, 8), (8, 20, 20, (5, 5), 1, 2, 5, 2), (64, 7, 7, (3, 3), 1, 1, 9, 1),
    (32, 28, 28, (3, 3), 1, 1, 3, 4), (32, 112, 112, (3, 3), 1, 1, 3, 4), (16, 56, 56, (3, 3), 2, 1, 9, 4),
]


def calibration_grid(quick: bool) -> list[dict]:
    if quick:
        return []
    return [parallel_point(*point) for point in PARALLEL_GRID] + [grid_point(f"swg_{ch}c{h}x{w}_k{k}s{s}p{pad}_simd{simd}_b{bits}", ch, h, w, k, s, pad, simd, bits)
            for ch, h, w, k, s, pad, simd, bits in [
                (3, 32, 32, 3, 1, 0, 1, 8), (3, 32, 32, 3, 1, 1, 3, 8), (64, 30, 30, 3, 1, 0, 8, 1),
                (64, 30, 30, 3, 1, 0, 32, 1), (64, 14, 14, 3, 1, 1, 16, 2), (128, 12, 12, 3, 1, 0, 4, 1),
                (128, 5, 5, 3, 1, 0, 128, 2), (256, 3, 3, 3, 1, 0, 16, 1), (32, 16, 16, 2, 2, 0, 8, 4),
                (16, 28, 28, 5, 1, 2, 4, 1), (8, 10, 10, 3, 2, 1, 8, 8), (96, 8, 8, 1, 1, 0, 12, 2)]]


SPEC = ModuleSpec(
    name="sliding_window",
    kind="stage",
    rules=RULES,
    ir_ops=(hw.SlidingWindow,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", min(p["SIMD"], p["IFM_CH"]) * p["ELEM_BITS"], 1),
                             ("m_axis", "out", p["SIMD"] * p["ELEM_BITS"], 1)],
    pattern=pattern,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    foldings=foldings,
    coupling="consumer",
    couple=couple,
    beat_elems=lambda op: (min(op.simd, op.ifm_channels), op.simd),
    macs=lambda stage: 0,
)
