"""Memory words of the rtl_lib modules and their ``$readmemh`` files.

Memories of the matrix-vector-activation unit (``rtl_lib/mvau.v``):

The MVAU computes PE rows and SIMD columns of an MH x MW matrix per cycle, in NF = MH/PE row
groups of SF = MW/SIMD column groups. Its two memories are read one word per cycle, so their
words are laid out in that order:

* weights: NF*SF words of PE*SIMD*weight_bits bits, word ``nf*SF + sf``; the weight of input
  ``k = sf*SIMD + s`` and row ``m = nf*PE + p`` sits at bits
  ``[(p*SIMD + s)*weight_bits +: weight_bits]``, two's complement (or, bipolar, one bit:
  1 for +1, 0 for -1).
* thresholds: NF words of PE*N*acc_bits bits, word ``nf``; threshold ``t`` of row
  ``m = nf*PE + p`` sits at bits ``[(p*N + t)*acc_bits +: acc_bits]``, two's complement.

``W`` is stored as the ``MVAU`` op stores it, (MW, MH): column ``m`` is hardware row ``m``.
The files are read with ``$readmemh``: one hexadecimal word per line, word 0 first, each
zero-padded to the word width (:func:`write_mem`).

Thresholds memory of ``rtl_lib/thresholding.v`` (:func:`thresholding_words`):

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


def _integers(values, what: str) -> np.ndarray:
    """``values`` as int64, failing unless every element is a finite integer."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(f"{what} must be integers")
        array = np.round(array)
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{what} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64)


def _words(fields: np.ndarray, bits: int) -> list[int]:
    """Pack rows of unsigned ``bits``-bit fields into integers, field ``i`` of a row at bits
    ``[i*bits +: bits]``. ``fields`` has shape (words, fields per word)."""
    count, per_word = fields.shape
    if count == 0:
        return []
    shifts = np.arange(bits, dtype=np.int64)
    bit_array = ((fields[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(count, per_word * bits)
    packed = np.packbits(bit_array, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def weight_words(W, pe: int, simd: int, weight_bits: int, bipolar: bool = False) -> list[int]:
    """The MVAU weight memory of the (MW, MH) matrix ``W``: NF*SF words (module docstring).

    Bipolar weights must be -1/+1 and are stored as one bit (``weight_bits`` must be 1);
    other weights must fit ``weight_bits`` bits as signed or as unsigned numbers and are
    stored modulo ``2**weight_bits``.
    """
    W = _integers(W, "weights")
    if W.ndim != 2:
        raise ValueError(f"weights must have shape (MW, MH), got {W.shape}")
    mw, mh = W.shape
    if pe < 1 or simd < 1 or mh % pe or mw % simd:
        raise ValueError(f"PE={pe} must divide MH={mh} and SIMD={simd} must divide MW={mw}")
    if bipolar:
        if weight_bits != 1:
            raise ValueError(f"bipolar weights are 1 bit, got weight_bits={weight_bits}")
        if not np.all(np.abs(W) == 1):
            raise ValueError("bipolar weights must be -1 or +1")
        fields = (W > 0).astype(np.int64)
    else:
        if weight_bits < 1:
            raise ValueError(f"weight_bits must be >= 1, got {weight_bits}")
        low, high = -(1 << (weight_bits - 1)), (1 << weight_bits) - 1
        if W.size and (W.min() < low or W.max() > high):
            raise ValueError(f"weights {W.min()}..{W.max()} do not fit {weight_bits} bits")
        fields = W & ((1 << weight_bits) - 1)
    sf_count, nf_count = mw // simd, mh // pe
    # W[k = sf*SIMD + s, m = nf*PE + p] -> word nf*SF + sf, field p*SIMD + s
    fields = fields.reshape(sf_count, simd, nf_count, pe).transpose(2, 0, 3, 1)
    return _words(fields.reshape(nf_count * sf_count, pe * simd), weight_bits)


def threshold_words(T, pe: int, acc_bits: int, mh: int | None = None) -> list[int]:
    """The MVAU threshold memory of ``T`` (MH, N): NF words (module docstring).

    Thresholds must fit ``acc_bits``-bit two's complement. Thresholds shared by all rows,
    shape (1, N), need ``mh``.
    """
    T = _integers(T, "thresholds")
    if T.ndim != 2:
        raise ValueError(f"thresholds must have shape (MH, N), got {T.shape}")
    if mh is not None and T.shape[0] == 1:
        T = np.broadcast_to(T, (mh, T.shape[1]))
    rows, steps = T.shape
    if mh is not None and rows != mh:
        raise ValueError(f"thresholds have {rows} rows, expected MH={mh}")
    if pe < 1 or rows % pe:
        raise ValueError(f"PE={pe} does not divide MH={rows}")
    low, high = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    if T.size and (T.min() < low or T.max() > high):
        raise ValueError(f"thresholds {T.min()}..{T.max()} do not fit {acc_bits}-bit two's complement")
    fields = T & ((1 << acc_bits) - 1)
    # T[m = nf*PE + p, t] -> word nf, field p*N + t
    return _words(fields.reshape(rows // pe, pe * steps), acc_bits)


def write_mem(path, words, width_bits: int) -> Path:
    """Write ``words`` for ``$readmemh``: one word per line in hexadecimal, zero-padded to
    ``width_bits`` bits, word 0 first. Returns the path."""
    digits = max(1, (width_bits + 3) // 4)
    lines = []
    for index, word in enumerate(words):
        word = int(word)
        if word < 0 or word >> width_bits:
            raise ValueError(f"word {index} = {word:#x} does not fit {width_bits} bits")
        lines.append(f"{word:0{digits}x}\n")
    path = Path(path)
    path.write_text("".join(lines))
    return path




def thresholding_words(thresholds: np.ndarray, pe: int, bits: int) -> list[int]:
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
