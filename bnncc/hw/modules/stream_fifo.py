"""The AXI-Stream FIFO (``rtl_lib/stream_fifo.v``) the backend places in front of every
stage: its registry entry.

Timing: a beat leaves two cycles after it enters (written, then loaded into the output
register); FIFO sizing gives its depth.

Resource terms (WIDTH x DEPTH, pointers of AW = counter_bits(DEPTH) bits): the storage is a
RAM written on one port and read through the output register on the other, mapped by
:func:`bnncc.hw.memory_map.map_memory`. Registers: two pointers, a count of AW+1 bits, the
valid flag and the output word (inside the block RAM when the storage is one).
"""

from __future__ import annotations

from bnncc.hw import calibration
from bnncc.hw.memory_map import Memory, memory_cost
from bnncc.hw.patterns import PassThrough
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule
from bnncc.hw.terms import Terms, counter_bits

RULES = ModuleRules(
    "stream_fifo",
    defaults={"WIDTH": 8, "DEPTH": 2},
    rules=(
        Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),
        Rule("DEPTH must be >= 2", lambda p: p["DEPTH"] < 2),
    ),
)


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a stream_fifo instance (see the module docstring)."""
    width, depth = p["WIDTH"], p["DEPTH"]
    aw = counter_bits(depth)
    memory = memory_cost(Memory(width, depth, "ram"), family)
    register = 0 if memory["bram"] else width
    return Terms(
        lut={"const": 1, "pointer_bits": aw, "mux": memory["mux"], "decode": memory["decode"]},
        ff={"control": 3 * aw + 2, "data": register + memory["ff"]},
        bram=memory["bram"], lutram=memory["lutram"])


COEFFICIENTS = {
    "xilinx": {
        "lut": {"const": 6.402, "decode": 1.551, "mux": 1.037, "pointer_bits": 3.952},
        "ff": {"control": 1, "data": 1},
    },
    "ecp5": {
        "lut": {"const": 0.353, "decode": 0, "mux": 0.969, "pointer_bits": 10.915},
        "ff": {"control": 1.319, "data": 0.91},
    },
}


def calibration_grid(quick: bool) -> list[dict]:
    shapes = [(16, 100)] + ([] if quick else [
        (1, 2), (1, 64), (1, 4096), (2, 300), (3, 700), (5, 1500), (8, 8), (8, 100), (8, 512), (12, 90), (16, 2),
        (16, 250), (20, 64), (24, 40), (32, 16), (32, 200), (40, 128), (48, 600), (64, 8), (64, 96), (72, 512),
        (100, 30), (128, 6), (160, 66), (256, 12), (300, 3), (512, 32), (768, 2)])
    return [calibration.point(f"fifo_{width}x{depth}", {"WIDTH": width, "DEPTH": depth}) for width, depth in shapes]


SPEC = ModuleSpec(
    name="stream_fifo",
    kind="stream",
    rules=RULES,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["WIDTH"], 1), ("m_axis", "out", p["WIDTH"], 1)],
    pattern=lambda stage: PassThrough(stage.in_beats, 2),
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
