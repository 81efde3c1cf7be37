"""The stream duplicator (``rtl_lib/stream_fork.v``): one input, N_OUT outputs each with its
own valid and ready (packed side by side on ``m_axis``: output k is lane k, logical port
``m_axis[k]``): its registry entry.

Implements the ``StreamFork`` op. Timing: every output beat one cycle after its input beat;
each output queues two beats, so a consumer that is late keeps up to two beats in the fork
before the input waits (:class:`~bnncc.hw.port_timing.Lockstep` with ``output_queue=2``). No
FIFO goes in front of a fork: its consumers have theirs. Its PE follows its producer's beat.

Resource terms: per output a two-entry queue (output and skid registers of WIDTH bits, a
multiplexer choosing the input or the skid entry per bit) and its valid flags; the
registered input ready. With two outputs synth_ecp5 spends about twice the LUTs per queue
bit that it spends with three or more (measured: 64 x 2 takes 274 LUT4s, 128 x 3 takes 404),
hence a term of its own for the queues of a two-way fork (``queue_two``).
"""

from __future__ import annotations

import math

from bnncc.hw import calibration
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule
from bnncc.hw.terms import Terms
from bnncc.hw.port_timing import Lockstep
from bnncc.hw.stage import Port, StagePort, StageRTL, Stream
from bnncc.hw.stage_common import divisors, instance_name, per_frame
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import StreamFork

#: Cycles from an input beat to its copies on the outputs.
LATENCY = 1

RULES = ModuleRules(
    "stream_fork",
    defaults={"WIDTH": 8, "N_OUT": 2},
    rules=(
        Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),
        Rule("N_OUT must be >= 2", lambda p: p["N_OUT"] < 2),
    ),
)


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a stream_fork instance (see the module docstring)."""
    width, outputs = p["WIDTH"], p["N_OUT"]
    return Terms(lut={"const": 1, "queue": outputs * width, "queue_two": outputs * width if outputs == 2 else 0,
                      "control": outputs},
                 ff={"control": 2 * outputs + 1, "data": 2 * outputs * width})


COEFFICIENTS = {
    # fitted against Yosys on the calibration grid below (calibrate_estimates.py --fit)
    "xilinx": {
        "lut": {"const": 7.124, "control": 2.024, "queue": 1.026, "queue_two": 0.042},
        "ff": {"control": 1, "data": 1},
    },
    "ecp5": {
        "lut": {"const": 2.261, "control": 7.813, "queue": 0.972, "queue_two": 1.032},
        "ff": {"control": 1, "data": 1},
    },
}


def calibration_grid(quick: bool) -> list[dict]:
    shapes = [(8, 2), (32, 3)] + ([] if quick else [(1, 2), (4, 4), (16, 2), (64, 2), (24, 5), (128, 3)])
    return [calibration.point(f"fork_{width}x{outputs}", {"WIDTH": width, "N_OUT": outputs}) for width, outputs in shapes]


def build(graph: Graph, op: StreamFork, memories: bool = True) -> StageRTL:
    """The fork of ``op``: WIDTH = PE elements of the stream, N_OUT = its outputs."""
    x = graph.tensors[op.inputs[0]]
    stream, beats = Stream(op.pe, x.dtype), per_frame(x.shape) // op.pe
    outputs = [StagePort(Port("m_axis", lane, op.n_out), stream, beats) for lane in range(op.n_out)]
    return StageRTL(op.name, instance_name(op.name), "stream_fork", {"WIDTH": stream.width, "N_OUT": op.n_out},
                    stream, stream, beats, beats, beats, outputs=outputs, fifo_in_front=False)


def couple(op: StreamFork, elems: int) -> dict:
    """The PE that passes a producer's beats of ``elems`` elements on without a converter."""
    return {"pe": math.gcd(elems, op.channels)}


SPEC = ModuleSpec(
    name="stream_fork",
    kind="stage",
    rules=RULES,
    ir_ops=(StreamFork,),
    build=build,
    foldings=lambda graph, op: [{"pe": pe} for pe in divisors(op.channels)],
    coupling="producer",
    couple=couple,
    beat_elems=lambda op: (op.pe, op.pe),
    macs=lambda stage: 0,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: [f"m_axis[{k}]" for k in range(p["N_OUT"])],
    verilog_ports=lambda p: [("s_axis", "in", p["WIDTH"], 1), ("m_axis", "out", p["N_OUT"] * p["WIDTH"], p["N_OUT"])],
    pattern=lambda stage: Lockstep(1, len(stage.outputs), LATENCY, output_queue=2),
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
