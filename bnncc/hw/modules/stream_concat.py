"""Channel concatenation of N_IN streams (``rtl_lib/stream_concat.v``; the output registered
in a ``skid_buffer``): its registry entry.

Inputs packed side by side on ``s_axis`` (input k is lane k, logical port ``s_axis[k]``),
``m_axis`` out. For every pixel it passes C_0/SIMD beats of input 0, then C_1/SIMD of input
1 ...; CHANNELS holds C_k in bits [16*k +: 16]. Implements the ``StreamConcat`` op. Timing:
the inputs' beats in that order, one per cycle, each leaving one cycle after it is taken
(:class:`~bnncc.hw.port_timing.Interleave`).

Resource terms: the N_IN:1 input multiplexer of SIMD*BITS bits (``select``: one input per
bit beyond the first), the one-hot input register and the beat counter, the output
skid_buffer (two registers and a multiplexer per bit).
"""

from __future__ import annotations

import math

from bnncc.hw import calibration
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below
from bnncc.hw.terms import Terms, counter_bits
from bnncc.hw.port_timing import Interleave
from bnncc.hw.stage import Port, StagePort, StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import StreamConcat
from bnncc.sim.beats import element_bits

#: Cycles from an input beat to its output beat.
LATENCY = 1

def _concat_channels(p: dict, k: int) -> int:
    """C_k of stream_concat: field k (bits [16*k +: 16]) of CHANNELS, 0 above its width."""
    return (p["CHANNELS"] >> (16 * k)) & 0xFFFF


def _concat_derived(p: dict) -> dict:
    """The first input whose channel count is illegal (-1 if none) and that count."""
    bad = [k for k in range(p["N_IN"]) if _concat_channels(p, k) < 1
           or (p["SIMD"] >= 1 and _concat_channels(p, k) % p["SIMD"] != 0)]
    return {"BAD_INPUT": bad[0] if bad else -1, "BAD_CHANNELS": _concat_channels(p, bad[0]) if bad else 0}


RULES = ModuleRules(
    "stream_concat",
    defaults={"N_IN": 2, "BITS": 8, "SIMD": 1, "PIXELS": 1, "CHANNELS": 262148},
    derived=_concat_derived,
    children=lambda p: [("out_buffer", "skid_buffer", {"WIDTH": p["SIMD"] * p["BITS"]})],
    rules=(
        Rule("N_IN must be 2..8", lambda p: p["N_IN"] < 2 or p["N_IN"] > 8),
        Rule("BITS and SIMD must be >= 1", lambda p: any_below(p, ("BITS", "SIMD"), 1)),
        Rule("PIXELS must be >= 1", lambda p: p["PIXELS"] < 1),
        Rule("input %0d has %0d channels, not a positive multiple of SIMD=%0d", lambda p: p["BAD_INPUT"] >= 0,
             ("BAD_INPUT", "BAD_CHANNELS", "SIMD")),
    ),
)


def channels(p: dict) -> list[int]:
    """C_k of every input."""
    return [_concat_channels(p, k) for k in range(p["N_IN"])]


def pack_channels(counts: list[int]) -> int:
    """The CHANNELS parameter of inputs with ``counts`` channels."""
    return sum(c << (16 * k) for k, c in enumerate(counts))


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a stream_concat instance (see the module docstring)."""
    width, n = p["SIMD"] * p["BITS"], p["N_IN"]
    count = counter_bits(max(c // p["SIMD"] for c in channels(p)))
    return Terms(lut={"const": 1, "select": width * (n - 1), "queue": width, "control": n + count},
                 ff={"control": n + count + 3, "data": 2 * width})


COEFFICIENTS = {
    # fitted against Yosys on the calibration grid below (calibrate_estimates.py --fit)
    "xilinx": {
        "lut": {"const": 18.337, "control": 0.316, "queue": 1.594, "select": 0.426},
        "ff": {"control": 2.118, "data": 1.128},
    },
    "ecp5": {
        "lut": {"const": 47.472, "control": 0, "queue": 2.162, "select": 0.95},
        "ff": {"control": 2.118, "data": 1.128},
    },
}


def calibration_grid(quick: bool) -> list[dict]:
    shapes = [(1, 8, [4, 4]), (4, 2, [16, 8, 8])] + ([] if quick else [
        (1, 1, [64, 64]), (8, 4, [32, 64]), (2, 8, [8, 8, 8, 8]), (16, 1, [64, 32]), (4, 4, [12, 4, 8, 16, 4]),
        (32, 2, [64, 64])])
    points = []
    for simd, bits, counts in shapes:
        params = {"N_IN": len(counts), "BITS": bits, "SIMD": simd, "PIXELS": 16, "CHANNELS": pack_channels(counts)}
        points.append(calibration.point(f"concat_s{simd}_b{bits}_c{'-'.join(map(str, counts))}", params))
    return points


def build(graph: Graph, op: StreamConcat, memories: bool = True) -> StageRTL:
    """The concat of ``op``: N_IN inputs of C_k channels each, PE (the RTL's SIMD) per beat."""
    shape = graph.tensors[op.inputs[0]].shape
    pixels = per_frame(shape) // shape[-1]
    parameters = {"N_IN": len(op.channels), "BITS": element_bits(op.dtype), "SIMD": op.pe, "PIXELS": pixels,
                  "CHANNELS": sum(int(c) << (16 * k) for k, c in enumerate(op.channels))}
    stream = Stream(op.pe, op.dtype)
    inputs = [StagePort(Port("s_axis", k, len(op.channels)), stream, pixels * int(c) // op.pe)
              for k, c in enumerate(op.channels)]
    beats = pixels * int(sum(op.channels)) // op.pe
    return StageRTL(op.name, instance_name(op.name), "stream_concat", parameters, stream, stream, inputs[0].beats,
                    beats, beats, inputs=inputs)


def pattern(stage: StageRTL) -> Interleave:
    pixels = stage.parameters["PIXELS"]
    return Interleave([port.beats // pixels for port in stage.inputs], pixels, LATENCY)


SPEC = ModuleSpec(
    name="stream_concat",
    kind="stage",
    rules=RULES,
    ir_ops=(StreamConcat,),
    build=build,
    foldings=lambda graph, op: [{"pe": pe} for pe in divisors(math.gcd(*(int(c) for c in op.channels)))],
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
    in_ports=lambda p: [f"s_axis[{k}]" for k in range(p["N_IN"])],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["N_IN"] * p["SIMD"] * p["BITS"], p["N_IN"]),
                             ("m_axis", "out", p["SIMD"] * p["BITS"], 1)],
    pattern=pattern,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
