"""The AXI-Stream FIFO (``rtl_lib/stream_fifo.v``) the backend places in front of every
stage: its registry entry.

Timing: a beat leaves :func:`latency` cycles after it enters: 2 with READ_REG 0 (written,
then loaded into the output register), 3 with READ_REG 1 (written, read into the block RAM's
read register, then into its output register); FIFO sizing gives its depth and reads the
latency from here. Capacity: DEPTH beats wait in the storage besides the one (READ_REG 0) or
two (READ_REG 1) in the read registers, so a FIFO takes a beat whenever it holds at most
DEPTH, which is what sizing counts.

READ_REG 1 is for storage in block RAM: :func:`block_storage` says whether a FIFO's
storage maps to block RAM on a family (the READ_REG 0 RTL: a RAM written on one port and
read through a register on the other, as :func:`bnncc.hw.memory_map.map_memory` maps it);
:func:`read_reg` is the choice the backend makes from it.

Resource terms (WIDTH x DEPTH, pointers of AW = counter_bits(DEPTH) bits): the storage as
mapped (READ_REG 1 asks for block RAM). Registers: two pointers, a count of AW+1 bits, the
valid flag and the output word (inside the block RAM when the storage is one); READ_REG 1
adds the second valid flag, its read register is the block's and its output register the
block's output register where :func:`absorbed` says so, else flip-flops (the skid of the
two-stage read costs that flag and a few LUTs of enables).
"""

from __future__ import annotations

from bnncc.hw import calibration
from bnncc.hw.memory_map import LIBRARIES, Memory, map_memory, memory_cost
from bnncc.hw.patterns import PassThrough
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule
from bnncc.hw.terms import Terms, counter_bits

RULES = ModuleRules(
    "stream_fifo",
    defaults={"WIDTH": 8, "DEPTH": 2, "READ_REG": 0},
    rules=(
        Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),
        Rule("DEPTH must be >= 2", lambda p: p["DEPTH"] < 2),
        Rule("READ_REG must be 0 or 1", lambda p: p["READ_REG"] not in (0, 1)),
    ),
)


def latency(p: dict) -> int:
    """Cycles from a push to the earliest pop of that beat: 2, or 3 with READ_REG 1."""
    return 3 if p.get("READ_REG", 0) else 2


def block_storage(width: int, depth: int, family: str) -> bool:
    """Whether the storage of a WIDTH x DEPTH FIFO (READ_REG 0) maps to block RAM on
    ``family``."""
    return family in LIBRARIES and map_memory(Memory(width, depth, "ram"), family).target == "block"


def read_reg(width: int, depth: int, family: str | None) -> int:
    """READ_REG of a WIDTH x DEPTH FIFO in a design whose memory reads are registered on
    ``family`` (None: they are not): 1 where its storage is block RAM there, else 0 (a LUT
    RAM read is fast)."""
    return int(family is not None and block_storage(width, depth, family))


def _storage(p: dict) -> Memory:
    return Memory(p["WIDTH"], p["DEPTH"], "ram", "block" if p.get("READ_REG", 0) else "auto")


def absorbed(p: dict, family: str) -> bool:
    """Whether a READ_REG 1 FIFO's output register goes into its block RAM: on ECP5 when the
    storage is block RAM cells of one address block, in either width mode
    (bnncc/synth/ecp5_outreg.py leaves registers behind a multiplexer of blocks alone); Yosys
    does not set xc7's DOB_REG (measured: the register stays in flip-flops)."""
    mapping = map_memory(_storage(p), family)
    return family == "ecp5" and mapping.cell in ("DP16KD", "PDPW16KD") and mapping.mult_a == 1


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of a stream_fifo instance (see the module docstring). READ_REG 1
    has terms of its own (``rr_*``): without the read-during-write logic Yosys puts around a
    READ_REG 0 block RAM (ECP5), its LUTs are their own fit, and its flip-flops are counted
    exactly (3 AW + 4 control bits, the output word unless the block absorbs it). READ_REG
    0's control term (3 AW + 2, the fit of the stored calibration) leaves out the ready
    register (``room``)."""
    width, depth = p["WIDTH"], p["DEPTH"]
    aw = counter_bits(depth)
    memory = memory_cost(_storage(p), family)
    if p.get("READ_REG", 0):
        register = 0 if absorbed(p, family) else width
        return Terms(
            lut={"rr_const": 1, "rr_pointer_bits": aw, "mux": memory["mux"], "decode": memory["decode"]},
            ff={"rr_control": 3 * aw + 4, "rr_data": register + memory["ff"]},
            bram=memory["bram"], lutram=memory["lutram"])
    register = 0 if memory["bram"] else width
    return Terms(
        lut={"const": 1, "pointer_bits": aw, "mux": memory["mux"], "decode": memory["decode"]},
        ff={"control": 3 * aw + 2, "data": register + memory["ff"]},
        bram=memory["bram"], lutram=memory["lutram"])


#: READ_REG 1 (``rr_*``), from Yosys on block RAM FIFOs of 2..72 bits x 64..2048 words: ECP5
#: 54..80 LUTs, about 44 + 3 AW; xc7 within 8 LUTs of READ_REG 0, so its READ_REG 0 fit;
#: flip-flops exact (coefficient 1).
COEFFICIENTS = {
    "xilinx": {
        "lut": {"const": 6.402, "decode": 1.551, "mux": 1.037, "pointer_bits": 3.952,
                "rr_const": 6.402, "rr_pointer_bits": 3.952},
        "ff": {"control": 1, "data": 1, "rr_control": 1, "rr_data": 1},
    },
    "ecp5": {
        "lut": {"const": 0.353, "decode": 0, "mux": 0.969, "pointer_bits": 10.915,
                "rr_const": 44.4, "rr_pointer_bits": 2.97},
        "ff": {"control": 1.319, "data": 0.91, "rr_control": 1, "rr_data": 1},
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
    pattern=lambda stage: PassThrough(stage.in_beats, latency(stage.parameters)),
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
)
