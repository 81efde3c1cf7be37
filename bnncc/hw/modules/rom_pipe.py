"""The pipelined ROM read (``rtl_lib/rom_pipe.v``), for modules that read a weight or
threshold memory: its registry entry (parameter rules only).

``rom_pipe`` returns ``mem[addr]`` ``LATENCY`` enabled stages after the read (1: the block
RAM's read register; 2: a second register right behind each block, which the ECP5 flow moves
into the block's output register, :mod:`bnncc.synth.ecp5_outreg`, with the memory banked by
block depth so that the bank multiplexer follows that register). The rules below mirror its
elaboration checks one for one.
"""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

DEFAULTS = {"WIDTH": 8, "DEPTH": 64, "LATENCY": 1, "INIT_FILE": "", "BLOCK": 1, "BANK_DEPTH": 0, "BANK_FILES": 0}

#: block RAM configurations, (depth, width): ECP5 DP16KD and Xilinx RAMB18 alike
BLOCK_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18))


#: rom_pipe.v pads a single bank only above this depth: up to it one row of 1024 x 18 or
#: 512 x 36 blocks holds the memory without a word select, and padding would add blocks.
PAD_MIN_DEPTH = 1024


def auto_bank_depth(width: int, depth: int) -> int:
    """rom_pipe.v auto_bank_depth: the depth of the block configuration that stores
    width x depth in the fewest blocks, ceil(width / w) * ceil(depth / d), the deepest on a
    tie."""
    best = None
    for d, w in BLOCK_SHAPES:
        blocks = -(-width // w) * -(-depth // d)
        if best is None or blocks < best[0]:
            best = (blocks, d)
    return best[1]


def bank_depth(p: dict) -> int:
    """rom_pipe.v BD: words per bank (the whole DEPTH when not banked)."""
    raw = p["BANK_DEPTH"] or auto_bank_depth(p["WIDTH"], p["DEPTH"])
    return raw if p["LATENCY"] >= 2 and raw < p["DEPTH"] else p["DEPTH"]


def banks(p: dict) -> int:
    """rom_pipe.v NB: banks."""
    return -(-p["DEPTH"] // bank_depth(p))


def array_depths(p: dict) -> list[int]:
    """Words of each memory array rom_pipe.v declares (MD): one per bank when the banks read
    their own files (BANK_FILES), one bank padded to its block depth (a block memory of
    LATENCY >= 2 of more than PAD_MIN_DEPTH words, shallower than that), else one array of
    DEPTH words."""
    raw = p["BANK_DEPTH"] or auto_bank_depth(p["WIDTH"], p["DEPTH"])
    if banks(p) > 1 and p["BANK_FILES"]:
        return [bank_depth(p)] * banks(p)
    if p["LATENCY"] >= 2 and p["BLOCK"] and banks(p) == 1 and raw > p["DEPTH"] > PAD_MIN_DEPTH:
        return [raw]
    return [p["DEPTH"]]


def bank_suffix(bank: int) -> str:
    """What bank ``bank``'s file name adds to INIT_FILE with BANK_FILES = 1."""
    return f".bank{bank:03d}"


def _bad_bank_depth(p) -> bool:
    depth = p["BANK_DEPTH"]
    return depth != 0 and (depth < 2 or depth & (depth - 1) != 0)


RULES = ModuleRules(
    "rom_pipe",
    defaults=DEFAULTS,
    rules=(
        Rule("WIDTH=%0d must be >= 1 and DEPTH=%0d >= 1", lambda p: p["WIDTH"] < 1 or p["DEPTH"] < 1,
             ("WIDTH", "DEPTH")),
        Rule("LATENCY=%0d must be 1, 2 or 3", lambda p: p["LATENCY"] not in (1, 2, 3), ("LATENCY",)),
        Rule("BANK_DEPTH=%0d must be 0 or a power of two >= 2", _bad_bank_depth, ("BANK_DEPTH",)),
        Rule("BANK_FILES=%0d must be 0 or 1, and at most 1000 banks",
             lambda p: p["BANK_FILES"] not in (0, 1) or (p["WIDTH"] >= 1 and p["DEPTH"] >= 1 and banks(p) > 1000),
             ("BANK_FILES",)),
    ),
)

SPEC = ModuleSpec(name="rom_pipe", kind="submodule", rules=RULES)
