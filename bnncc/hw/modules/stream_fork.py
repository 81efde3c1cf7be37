"""The stream duplicator (``rtl_lib/stream_fork.v``): one input, N_OUT outputs each with its
own valid and ready (packed side by side on ``m_axis``: output k is lane k, logical port
``m_axis[k]``): its registry entry.

Timing: every output beat one cycle after its input beat (:class:`PassThrough`, the same for
every output).

Resource terms: per output a two-entry queue (output and skid registers of WIDTH bits, a
multiplexer choosing the input or the skid entry per bit) and its valid flags; the
registered input ready. With two outputs synth_ecp5 spends about twice the LUTs per queue
bit that it spends with three or more (measured: 64 x 2 takes 274 LUT4s, 128 x 3 takes 404),
hence a term of its own for the queues of a two-way fork (``queue_two``).
"""

from __future__ import annotations

from bnncc.hw import calibration
from bnncc.hw.patterns import PassThrough
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule
from bnncc.hw.terms import Terms

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


SPEC = ModuleSpec(
    name="stream_fork",
    kind="stream",
    rules=RULES,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: [f"m_axis[{k}]" for k in range(p["N_OUT"])],
    verilog_ports=lambda p: [("s_axis", "in", p["WIDTH"], 1), ("m_axis", "out", p["N_OUT"] * p["WIDTH"], p["N_OUT"])],
    pattern=lambda stage: PassThrough(stage.in_beats, LATENCY),
    head_tail=lambda stage: (1, 1),
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
