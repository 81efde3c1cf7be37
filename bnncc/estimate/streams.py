"""Terms of the stream plumbing: ``stream_fifo`` and ``width_converter``.

stream_fifo (WIDTH x DEPTH, pointers of AW = counter_bits(DEPTH) bits): the storage is a
RAM written on one port and read through the output register on the other, mapped by
:func:`bnncc.estimate.memory.map_memory`. Registers: two pointers, a count of AW+1 bits, the
valid flag and the output word (inside the block RAM when the storage is one).

width_converter (IN_WIDTH, OUT_WIDTH, ratio R, counter CW = clog2(R+1) bits): a split
holds two input words (shift register and hold register), a gather two output words
(gather register and output register). A split's shift register costs one LUT per bit or
two, depending on how the reload and shift enables pack (two for CW = 3 or 4 in Yosys 0.70
xc7: measured, hence a term of its own).
"""

from __future__ import annotations

from bnncc.estimate.memory import Memory, memory_cost
from bnncc.estimate.terms import Terms, clog2, counter_bits


def stream_fifo(p: dict, family: str) -> Terms:
    width, depth = p["WIDTH"], p["DEPTH"]
    aw = counter_bits(depth)
    memory = memory_cost(Memory(width, depth, "ram"), family)
    register = 0 if memory["bram"] else width
    return Terms(
        lut={"const": 1, "pointer_bits": aw, "mux": memory["mux"], "decode": memory["decode"]},
        ff={"control": 3 * aw + 2, "data": register + memory["ff"]},
        bram=memory["bram"], lutram=memory["lutram"])


def width_converter(p: dict, family: str) -> Terms:
    a, b = p["IN_WIDTH"], p["OUT_WIDTH"]
    if a == b:
        return Terms()
    ratio = a // b if a > b else b // a
    cw = 1 if ratio <= 1 else clog2(ratio + 1)
    if a > b:
        return Terms(lut={"const": 1, "count_bits": cw, "split": a, "split_packed": a if cw in (3, 4) else 0},
                     ff={"control": cw + 1, "data": 2 * a})
    return Terms(lut={"const": 1, "count_bits": cw, "gather": b}, ff={"control": cw + 2, "data": 2 * b})
