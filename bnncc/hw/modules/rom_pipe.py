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

DEFAULTS = {"WIDTH": 8, "DEPTH": 64, "LATENCY": 1, "INIT_FILE": "", "BLOCK": 1, "BANK_DEPTH": 0}


def _bad_bank_depth(p) -> bool:
    depth = p["BANK_DEPTH"]
    return depth != 0 and (depth < 2 or depth & (depth - 1) != 0)


RULES = ModuleRules(
    "rom_pipe",
    defaults=DEFAULTS,
    rules=(
        Rule("WIDTH=%0d must be >= 1 and DEPTH=%0d >= 1", lambda p: p["WIDTH"] < 1 or p["DEPTH"] < 1,
             ("WIDTH", "DEPTH")),
        Rule("LATENCY=%0d must be 1 or 2", lambda p: p["LATENCY"] not in (1, 2), ("LATENCY",)),
        Rule("BANK_DEPTH=%0d must be 0 or a power of two >= 2", _bad_bank_depth, ("BANK_DEPTH",)),
    ),
)

SPEC = ModuleSpec(name="rom_pipe", kind="submodule", rules=RULES)
