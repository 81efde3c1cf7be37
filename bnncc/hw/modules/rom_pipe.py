"""The pipelined ROM read (``rtl_lib/rom_pipe.v``), for modules that read a weight or
threshold memory: its registry entry (parameter rules only).

``rom_pipe`` returns ``mem[addr]`` ``LATENCY`` enabled stages after the read (1: the block
RAM's read register; 2: a second register right behind each block, which the ECP5 flow moves
into the block's output register, :mod:`bnncc.synth.ecp5_outreg`, with the memory banked by
block depth so that the bank multiplexer follows that register; 3: the multiplexer
registered; 4: a register more, behind every group of GROUP banks or, with one group, behind
every bank; 5: both, behind every bank and every group). The rules below mirror its
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


#: banks per group of the split bank multiplexer (LATENCY 4): a 4:1 multiplexer is one
#: 6-input LUT (two 4-input LUTs and their PFUMX on ECP5)
GROUP = 4


def groups(p: dict) -> int:
    """rom_pipe.v NG: groups of the split bank multiplexer, ceil(banks / GROUP)."""
    return -(-banks(p) // GROUP)


def per_bank(p: dict) -> bool:
    """rom_pipe.v PER_BANK: a third register behind every bank (LATENCY 5, and LATENCY 4 of
    at most GROUP banks)."""
    return p["LATENCY"] == 5 or (p["LATENCY"] == 4 and groups(p) == 1)


def fabric_words(p: dict) -> int:
    """Words rom_pipe.v holds in registers behind the banks' second registers: every bank's
    with :func:`per_bank`, then with two registers more and several groups one per group and
    the word, else one per register (LATENCY - 2 in all when no register is per bank or per
    group)."""
    if p["LATENCY"] < 2:
        return 0
    after = p["LATENCY"] - 2 - int(per_bank(p))
    return (banks(p) if per_bank(p) else 0) + (groups(p) + 1 if after == 2 and groups(p) > 1 else after)


def _raw_bank_depth(p: dict) -> int:
    """rom_pipe.v BD_RAW."""
    return p["BANK_DEPTH"] or auto_bank_depth(p["WIDTH"], p["DEPTH"])


def _padded(p: dict) -> bool:
    """rom_pipe.v PAD: one bank of a block memory of LATENCY >= 2 and more than
    PAD_MIN_DEPTH words, declared as deep as its block depth (its own depth or more)."""
    return p["LATENCY"] >= 2 and bool(p["BLOCK"]) and banks(p) == 1 \
        and _raw_bank_depth(p) >= p["DEPTH"] > PAD_MIN_DEPTH


def _own_files(p: dict) -> bool:
    """rom_pipe.v OWN: the arrays read their own files (BANK_FILES, banked or padded)."""
    return bool(p["BANK_FILES"]) and (banks(p) > 1 or _padded(p))


def slice_width(p: dict) -> int:
    """rom_pipe.v SLICE: bits per array; with own files the width of the block configuration
    of the bank depth (when narrower than WIDTH), else WIDTH."""
    shape_width = dict(BLOCK_SHAPES).get(_raw_bank_depth(p), 0)
    return shape_width if _own_files(p) and 0 < shape_width < p["WIDTH"] else p["WIDTH"]


def array_shapes(p: dict) -> list[tuple[int, int]]:
    """(width, words) of each memory array rom_pipe.v declares: with own files one per bank
    and slice (:func:`slice_width` bits, the last slice narrower; the bank depth); one bank
    padded to its block depth; else one array of WIDTH x DEPTH."""
    width, slice_bits = p["WIDTH"], slice_width(p)
    depth = _raw_bank_depth(p) if _own_files(p) or _padded(p) else p["DEPTH"]
    slices = [min(slice_bits, width - low) for low in range(0, width, slice_bits)]
    return [(bits, depth) for _ in range(banks(p) if _own_files(p) else 1) for bits in slices]


def blocks(p: dict) -> int:
    """Block RAMs of the memory: each of :func:`array_shapes` in the configuration that
    needs the fewest, ceil(width / w) * ceil(words / d)."""
    return sum(min(-(-width // w) * -(-words // d) for d, w in BLOCK_SHAPES) for width, words in array_shapes(p))


def array_files(p: dict, words: list[int]) -> list[tuple[str, list[int], int]]:
    """The files rom_pipe.v reads with own files, as (suffix to INIT_FILE, words, width):
    bank b's slice s holds bits [s*SLICE, (s+1)*SLICE) of words [b*BD, (b+1)*BD), named
    ".bank" b (three digits), followed by ".slice" s (three digits) with more than one slice.
    Empty without own files (every array reads INIT_FILE)."""
    if not _own_files(p):
        return []
    width, slice_bits, depth = p["WIDTH"], slice_width(p), bank_depth(p)
    lows = range(0, width, slice_bits)
    files = []
    for bank in range(banks(p)):
        chunk = words[bank * depth:(bank + 1) * depth]
        for index, low in enumerate(lows):
            bits = min(slice_bits, width - low)
            suffix = f".bank{bank:03d}" + (f".slice{index:03d}" if len(lows) > 1 else "")
            files.append((suffix, [(word >> low) & ((1 << bits) - 1) for word in chunk], bits))
    return files


def _bad_bank_depth(p) -> bool:
    depth = p["BANK_DEPTH"]
    return depth != 0 and (depth < 2 or depth & (depth - 1) != 0)


RULES = ModuleRules(
    "rom_pipe",
    defaults=DEFAULTS,
    rules=(
        Rule("WIDTH=%0d must be >= 1 and DEPTH=%0d >= 1", lambda p: p["WIDTH"] < 1 or p["DEPTH"] < 1,
             ("WIDTH", "DEPTH")),
        Rule("LATENCY=%0d must be 1 to 5", lambda p: p["LATENCY"] not in (1, 2, 3, 4, 5), ("LATENCY",)),
        Rule("BANK_DEPTH=%0d must be 0 or a power of two >= 2", _bad_bank_depth, ("BANK_DEPTH",)),
        Rule("BANK_FILES=%0d must be 0 or 1, and at most 1000 banks",
             lambda p: p["BANK_FILES"] not in (0, 1) or (p["WIDTH"] >= 1 and p["DEPTH"] >= 1 and banks(p) > 1000),
             ("BANK_FILES",)),
    ),
)

SPEC = ModuleSpec(name="rom_pipe", kind="submodule", rules=RULES)
