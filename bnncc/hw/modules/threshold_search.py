"""The pipelined threshold search (``rtl_lib/threshold_search.v``): its stage memories, a
reference model and its latency.

For a row of sorted thresholds S[0] <= ... <= S[N-1], padded to N = 2**B - 1 with a value
above every accumulator value, the count #{t : acc >= S[t]} is found bit by bit, high bit
first: with the k high bits decided (prefix p), stage k compares acc with
S[(2p + 1) * 2**(B-1-k) - 1] and appends the result (count >= m iff acc >= S[m - 1]).

Stage k's memory in LUTs (stage 0 always) holds ROWS * 2**k words of PE*TW bits: word
``r * 2**k + p`` holds lane l's threshold S[l][r][(2p + 1) * 2**(B-1-k) - 1] at bits
``[l*TW +: TW]``. A stage k >= 1 in block RAM (the module's BLOCK, or ROWS * 2**k >=
BLOCK_DEPTH > 0) holds ROWS * 2**k * PL words of TW bits (PL = PE rounded up to a power of
two): word ``(r * 2**k + p) * PL + l`` holds the same threshold (zero for l >= PE), so that
each lane's ROM is the words with its lane number in the low address bits. Two's complement
throughout. SPLIT (short clock periods) reads every stage's memory at its own registered
address into a register (block RAM: and its output register) and registers the compare
behind it, 2 cycles per stage in LUTs, 3 in block RAM (:func:`latency`); the files are the
same.
The MVAU's rows are ``class * NF + nf`` and its lane l of row group nf is matrix row
``nf * PE + l`` (:func:`mvau_stage_words`).
"""

from __future__ import annotations

import numpy as np

from bnncc.hw.memory_words import _integers, _words
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

#: Count bits (search stages) the module supports (one memory file parameter per stage).
MAX_STAGES = 8


def pad_value(tw: int) -> int:
    """The padding threshold: the largest TW-bit two's complement value. The MVAU's
    accumulator width holds the largest accumulator value + 1, so no accumulator reaches it."""
    return (1 << (tw - 1)) - 1


def padded(T, stages: int, tw: int) -> np.ndarray:
    """``T`` (..., N) sorted along the last axis and padded to 2**stages - 1 thresholds with
    :func:`pad_value`."""
    T = np.sort(_integers(T, "thresholds"), axis=-1)
    n = (1 << stages) - 1
    if T.shape[-1] > n:
        raise ValueError(f"{T.shape[-1]} thresholds do not fit a {stages}-stage search (at most {n})")
    pad = np.full(T.shape[:-1] + (n - T.shape[-1],), pad_value(tw), dtype=np.int64)
    return np.concatenate([T, pad], axis=-1)


def in_block(rows: int, k: int, block: int = 0, block_depth: int = 0) -> bool:
    """Whether stage k's memory is block RAM (the module's BLOCK / BLOCK_DEPTH)."""
    return k > 0 and (bool(block) or 0 < block_depth <= rows << k)


def stage_words(T, stages: int, tw: int, block: int = 0, block_depth: int = 0) -> list[list[int]]:
    """The stage memories of ``T`` (ROWS, PE, N), N <= 2**stages - 1 (sorted and padded
    here), for the module's BLOCK and BLOCK_DEPTH (module docstring); :func:`word_width`
    gives their word widths."""
    S = padded(T, stages, tw)
    if S.ndim != 3:
        raise ValueError(f"thresholds must have shape (ROWS, PE, N), got {S.shape}")
    low, high = -(1 << (tw - 1)), (1 << (tw - 1)) - 1
    if S.size and (S.min() < low or S.max() > high):
        raise ValueError(f"thresholds {S.min()}..{S.max()} do not fit {tw}-bit two's complement")
    rows, pe, _ = S.shape
    lanes = lane_stride(pe)
    fields = S & ((1 << tw) - 1)
    out = []
    for k in range(stages):
        index = (2 * np.arange(1 << k) + 1) * (1 << (stages - 1 - k)) - 1        # per prefix
        picked = fields[:, :, index].transpose(0, 2, 1)                          # (ROWS, 2**k, PE)
        if not in_block(rows, k, block, block_depth):
            out.append(_words(picked.reshape(rows << k, pe), tw))                # word r*2**k + p, field l
        else:
            padded_lanes = np.zeros((rows, 1 << k, lanes), dtype=np.int64)
            padded_lanes[:, :, :pe] = picked
            out.append([int(v) for v in padded_lanes.reshape(-1)])               # word (r*2**k + p)*PL + l
    return out


def lane_stride(pe: int) -> int:
    """PL: PE rounded up to a power of two (the lane field of a stage k >= 1 address)."""
    return 1 << max(0, (pe - 1).bit_length())


def word_width(pe: int, tw: int, rows: int, k: int, block: int = 0, block_depth: int = 0) -> int:
    """Bits per word of stage k's memory file."""
    return tw if in_block(rows, k, block, block_depth) else pe * tw


def mvau_stage_words(thresholds, pe: int, stages: int, tw: int, block: int = 0,
                     block_depth: int = 0) -> list[list[int]]:
    """The stage memories of an MVAU's thresholds (N_CLASSES, MH, N): row ``c * NF + nf``,
    lane l = matrix row ``nf * PE + l`` (THRESHOLD_BLOCK, SEARCH_BLOCK_DEPTH)."""
    T = _integers(thresholds, "thresholds")
    classes, mh, n = T.shape
    return stage_words(T.reshape(classes * (mh // pe), pe, n), stages, tw, block, block_depth)


def reference(acc, S_rows) -> np.ndarray:
    """The module's count for accumulators ``acc`` (..., PE) against their rows' padded
    thresholds ``S_rows`` (..., PE, 2**B - 1), by the binary search the module performs."""
    acc = np.asarray(acc, dtype=np.int64)
    S_rows = np.asarray(S_rows, dtype=np.int64)
    stages = int(np.log2(S_rows.shape[-1] + 1))
    prefix = np.zeros(acc.shape, dtype=np.int64)
    for k in range(stages):
        index = (2 * prefix + 1) * (1 << (stages - 1 - k)) - 1
        threshold = np.take_along_axis(S_rows, index[..., None], axis=-1)[..., 0]
        prefix = 2 * prefix + (acc >= threshold)
    return prefix


def latency(stages: int, block: int = 0, split: int = 0, rows: int = 1, block_depth: int = 0) -> int:
    """Cycles from in_valid to out_valid: the sum over stages k of 1 + R_k, R_k the read
    registers ahead of the compare: 0 (LUT ROMs read combinationally, block RAM ROMs of
    BLOCK_DEPTH read ahead), 1 with BLOCK (every ROM block RAM), with SPLIT 1 for a LUT ROM
    and 2 for a block RAM ROM (its read register and its output register)."""
    if not split:
        return stages * (1 + (1 if block else 0))
    return sum(2 + (1 if block or in_block(rows, k, block, block_depth) else 0) for k in range(stages))


DEFAULTS = {"PE": 1, "STAGES": 4, "TW": 8, "ROWS": 1, "BLOCK": 0, "BLOCK_DEPTH": 0, "SPLIT": 0,
            **{f"FILE_{k}": "" for k in range(MAX_STAGES)}}

RULES = ModuleRules(
    "threshold_search",
    defaults=DEFAULTS,
    rules=(
        Rule("PE=%0d, ROWS=%0d must be >= 1, STAGES=%0d 1..8, TW=%0d 1..32, BLOCK=%0d 0 or 1, BLOCK_DEPTH=%0d >= 0, "
             "SPLIT=%0d 0 or 1",
             lambda p: p["PE"] < 1 or p["ROWS"] < 1 or not (1 <= p["STAGES"] <= 8) or not (1 <= p["TW"] <= 32)
             or p["BLOCK"] not in (0, 1) or p["BLOCK_DEPTH"] < 0 or p["SPLIT"] not in (0, 1),
             ("PE", "ROWS", "STAGES", "TW", "BLOCK", "BLOCK_DEPTH", "SPLIT")),
    ),
)

SPEC = ModuleSpec(name="threshold_search", kind="submodule", rules=RULES)
