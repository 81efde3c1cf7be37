"""Thresholds memory of ``rtl_lib/thresholding.v``: layout and ``$readmemh`` file.

The memory has ``C / pe`` words of ``pe * N * bits`` bits. Word ``f`` serves the beat that
carries channels ``f*pe .. f*pe + pe - 1`` and holds threshold ``t`` of channel
``c = f*pe + p`` at bits ``[(p*N + t)*bits, (p*N + t + 1)*bits)``, as a two's complement
``bits``-bit field::

    word[f] = sum_{p, t} (T[f*pe + p, t] mod 2**bits) << ((p*N + t) * bits)

The module compares each input element, sign- or zero-extended to ``bits`` bits, with
these fields as signed numbers, so ``bits`` must hold every threshold; with thresholds
clamped to ``[min(x), max(x) + 1]`` (same counts for every input), ``bits = IN_BITS + 1``
suffices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def threshold_words(thresholds: np.ndarray, pe: int, bits: int) -> list[int]:
    """Memory words (Python ints) of integer thresholds ``T`` of shape (C, N).

    Raises ``ValueError`` if ``pe`` does not divide C, a threshold is not an integer, or a
    threshold does not fit a signed ``bits``-bit field.
    """
    t = np.asarray(thresholds)
    if t.ndim != 2 or t.shape[1] < 1:
        raise ValueError(f"thresholds must have shape (C, N) with N >= 1, got {t.shape}")
    channels, steps = t.shape
    if pe < 1 or channels % pe:
        raise ValueError(f"PE={pe} does not divide {channels} channels")
    if bits < 1:
        raise ValueError(f"threshold fields need at least 1 bit, got {bits}")
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
            raise ValueError("thresholds must be integers")
        t = np.round(t)
    values = [[int(v) for v in row] for row in t.tolist()]
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    flat = [v for row in values for v in row]
    if min(flat) < low or max(flat) > high:
        raise ValueError(f"thresholds {min(flat)}..{max(flat)} do not fit {bits}-bit signed fields ({low}..{high})")
    mask = (1 << bits) - 1
    words = []
    for fold in range(channels // pe):
        word = 0
        for p in range(pe):
            for step, value in enumerate(values[fold * pe + p]):
                word |= (value & mask) << ((p * steps + step) * bits)
        words.append(word)
    return words


def write_mem(path: str | Path, words: list[int], width_bits: int) -> None:
    """Write ``words`` for ``$readmemh``: one word per line, word 0 first, in hex zero-padded
    to ``ceil(width_bits / 4)`` digits."""
    digits = max(1, -(-width_bits // 4))
    for index, word in enumerate(words):
        if word < 0 or word >> width_bits:
            raise ValueError(f"word {index} = {word:#x} does not fit {width_bits} bits")
    Path(path).write_text("".join(f"{word:0{digits}x}\n" for word in words))
