"""The elementwise add of two streams (``rtl_lib/stream_add.v``, the join of a residual
block; each input queued in a ``skid_buffer``): its registry entry.

Implements the ``StreamAdd`` op. Ports ``a_axis`` and ``b_axis`` in, ``m_axis`` out. Timing:
an output beat two cycles after the later of its two input beats; each input queues two beats
(:class:`~bnncc.hw.port_timing.Lockstep` with ``queue=2``).

Resource terms: the two input queues (two registers of SIMD*A_BITS and SIMD*B_BITS bits and a
multiplexer per bit), SIMD sums of OUT_BITS bits (``add``; inside the DSP block when a product is on one), the
output register. A multiplier
whose magnitude is a power of two is a shift (a negative one a subtraction); any other is a
product of EXT_BITS = max(A_BITS, B_BITS, OUT_BITS) bits per element, which Yosys maps to a
DSP block on ECP5 and on xc7 from EXT_BITS >= 9 (DSP_Y_MINWIDTH), and otherwise builds from
LUTs (``multiply``: partial-product bits, EXT_BITS**2 per element).
"""

from __future__ import annotations

from bnncc.hw import calibration
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, wrap32
from bnncc.hw.terms import Terms
from bnncc.hw.port_timing import Lockstep
from bnncc.hw.stage import Port, StagePort, StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import StreamAdd
from bnncc.sim.beats import element_bits

#: Cycles from the later input beat to the output beat.
LATENCY = 2

def _stream_add_derived(p: dict) -> dict:
    """The result range of ``A_MUL*a + B_MUL*b`` (64-bit in the Verilog, exact here), from
    operand widths clamped to legal values as the Verilog clamps them."""
    legal = {name: p[name] if lo <= p[name] <= hi else 1
             for name, lo, hi in (("A_BITS", 1, 31), ("B_BITS", 1, 31), ("OUT_BITS", 1, 32))}

    def operand(bits: int, signed: bool, mul: int) -> tuple[int, int]:
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return (mul * low, mul * high) if mul >= 0 else (mul * high, mul * low)

    a_lo, a_hi = operand(legal["A_BITS"], p["A_SIGNED"] != 0, wrap32(p["A_MUL"]))
    b_lo, b_hi = operand(legal["B_BITS"], p["B_SIGNED"] != 0, wrap32(p["B_MUL"]))
    ob = legal["OUT_BITS"]
    return {
        "LEGAL": p["SIMD"] >= 1 and all(p[name] == legal[name] for name in legal)
        and p["A_SIGNED"] in (0, 1) and p["B_SIGNED"] in (0, 1),
        "SUM_MIN": a_lo + b_lo, "SUM_MAX": a_hi + b_hi, "OUT_MIN": -(1 << (ob - 1)), "OUT_MAX": (1 << (ob - 1)) - 1,
    }


RULES = ModuleRules(
    "stream_add",
    defaults={"SIMD": 1, "A_BITS": 8, "B_BITS": 8, "A_SIGNED": 1, "B_SIGNED": 1, "A_MUL": 1, "B_MUL": 1, "OUT_BITS": 9},
    derived=_stream_add_derived,
    children=lambda p: [(f"{side}_queue", "skid_buffer", {"WIDTH": p["SIMD"] * p[f"{side.upper()}_BITS"]})
                        for side in ("a", "b")],
    rules=(
        Rule("SIMD must be >= 1", lambda p: p["SIMD"] < 1),
        Rule("A_BITS and B_BITS must be 1..31",
             lambda p: not (1 <= p["A_BITS"] <= 31) or not (1 <= p["B_BITS"] <= 31)),
        Rule("A_SIGNED and B_SIGNED must be 0 or 1", lambda p: p["A_SIGNED"] not in (0, 1) or p["B_SIGNED"] not in (0, 1)),
        Rule("OUT_BITS must be 1..32", lambda p: not (1 <= p["OUT_BITS"] <= 32)),
        Rule("OUT_BITS=%0d cannot hold the results %0d..%0d",
             lambda p: p["LEGAL"] and (p["SUM_MIN"] < p["OUT_MIN"] or p["SUM_MAX"] > p["OUT_MAX"]),
             ("OUT_BITS", "SUM_MIN", "SUM_MAX")),
    ),
)


def _products(p: dict) -> int:
    """Multipliers that are products, not shifts: magnitude 0 or a power of two is a shift."""
    return sum(1 for name in ("A_MUL", "B_MUL") if abs(wrap32(p[name])) & (abs(wrap32(p[name])) - 1))


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a stream_add instance (see the module docstring)."""
    simd, a, b, out = p["SIMD"], p["A_BITS"], p["B_BITS"], p["OUT_BITS"]
    ext = max(a, b, out)
    products = simd * _products(p)
    on_dsp = family == "ecp5" or (family == "xilinx" and ext >= 9)
    # a product on a DSP block takes the sum into the block's post-adder
    return Terms(lut={"const": 1, "queue": simd * (a + b), "add": 0 if products and on_dsp else simd * out,
                      "multiply": 0 if on_dsp else products * ext * ext},
                 ff={"control": 5, "data": 2 * simd * (a + b) + simd * out},
                 dsp=float(products) if on_dsp else 0.0)


COEFFICIENTS = {
    # fitted against Yosys on the calibration grid below (calibrate_estimates.py --fit); its
    # products all land on DSP blocks, so ``multiply`` (soft products: xc7 below 9 bits,
    # iCE40) takes the mvau's fitted cost of a partial-product bit
    "xilinx": {
        "lut": {"add": 0.942, "const": 7.429, "multiply": 1.891, "queue": 1.062},
        "ff": {"control": 3.759, "data": 0.775},
    },
    "ecp5": {
        "lut": {"add": 0, "const": 10.236, "multiply": 3.026, "queue": 3.044},
        "ff": {"control": 1.4, "data": 1},
    },
}


def calibration_grid(quick: bool) -> list[dict]:
    shapes = [(4, 4, 4, 1, 1, 5), (2, 8, 8, 2, 1, 10)] + ([] if quick else [
        (1, 8, 8, 1, 1, 9), (8, 2, 2, 1, 1, 3), (16, 4, 4, 1, -1, 5), (4, 8, 4, 3, 1, 11), (2, 16, 16, 1, 1, 17),
        (32, 1, 1, 1, 1, 2), (8, 6, 4, 5, 2, 10)])
    points = []
    for simd, a, b, a_mul, b_mul, out in shapes:
        params = {"SIMD": simd, "A_BITS": a, "B_BITS": b, "A_SIGNED": 1, "B_SIGNED": 1, "A_MUL": a_mul, "B_MUL": b_mul,
                  "OUT_BITS": out}
        points.append(calibration.point(f"add_s{simd}_a{a}x{a_mul}_b{b}x{b_mul}_o{out}".replace("-", "m"), params))
    return points


def build(graph: Graph, op: StreamAdd, memories: bool = True) -> StageRTL:
    """The join of ``op``: ``A_MUL * a + B_MUL * b`` on the element fields, PE per beat."""
    a, b = (graph.tensors[t] for t in op.inputs[:2])
    beats = per_frame(a.shape) // op.pe
    parameters = {"SIMD": op.pe, "A_BITS": element_bits(a.dtype), "B_BITS": element_bits(b.dtype),
                  "A_SIGNED": int(a.dtype.kind == "INT"), "B_SIGNED": int(b.dtype.kind == "INT"),
                  "A_MUL": int(op.a_mul), "B_MUL": int(op.b_mul), "OUT_BITS": element_bits(op.out_dtype)}
    inputs = [StagePort(Port("a_axis"), Stream(op.pe, a.dtype), beats),
              StagePort(Port("b_axis"), Stream(op.pe, b.dtype), beats)]
    return StageRTL(op.name, instance_name(op.name), "stream_add", parameters, inputs[0].stream,
                    Stream(op.pe, op.out_dtype), beats, beats, beats, inputs=inputs)


SPEC = ModuleSpec(
    name="stream_add",
    kind="stage",
    rules=RULES,
    ir_ops=(StreamAdd,),
    build=build,
    foldings=lambda graph, op: [{"pe": pe} for pe in divisors(op.channels)],
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
    in_ports=lambda p: ["a_axis", "b_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("a_axis", "in", p["SIMD"] * p["A_BITS"], 1), ("b_axis", "in", p["SIMD"] * p["B_BITS"], 1),
                             ("m_axis", "out", p["SIMD"] * p["OUT_BITS"], 1)],
    pattern=lambda stage: Lockstep(2, 1, LATENCY, queue=2),
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
