"""Packing tensor elements into AXI-Stream beats and back.

A beat carries ``count`` elements of ``bits`` bits each, element 0 in the least significant
bits: ``beat = sum_i (e_i mod 2**bits) << (i * bits)``. Signed elements are stored in two's
complement; BIPOLAR elements are one bit, 1 for +1 and 0 for -1.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType


def element_bits(dtype: DataType) -> int:
    """Bits of one element of ``dtype`` on a stream."""
    return 1 if dtype == BIPOLAR else dtype.bits


def to_field(values: np.ndarray, dtype: DataType) -> np.ndarray:
    """Element values as unsigned bit fields of ``element_bits(dtype)`` bits."""
    values = np.asarray(values, dtype=np.int64)
    if dtype == BIPOLAR:
        return (values > 0).astype(np.int64)
    return values & ((1 << element_bits(dtype)) - 1)


def from_field(fields: np.ndarray, dtype: DataType) -> np.ndarray:
    """Inverse of :func:`to_field`."""
    fields = np.asarray(fields, dtype=np.int64)
    if dtype == BIPOLAR:
        return np.where(fields & 1, 1, -1).astype(np.int64)
    bits = element_bits(dtype)
    if dtype.kind == "INT":
        return np.where(fields >= 1 << (bits - 1), fields - (1 << bits), fields)
    return fields


def pack_beats(values: np.ndarray, dtype: DataType) -> list[int]:
    """Beats (Python ints) from ``values`` shaped (beats, elements per beat)."""
    fields = to_field(values, dtype)
    bits = element_bits(dtype)
    beats = []
    for row in fields.reshape(fields.shape[0], -1):
        word = 0
        for index, field in enumerate(row.tolist()):
            word |= int(field) << (index * bits)
        beats.append(word)
    return beats


def unpack_beats(beats: list[int], count: int, dtype: DataType) -> np.ndarray:
    """Elements (beats, count) from beats of ``count`` elements each."""
    bits = element_bits(dtype)
    mask = (1 << bits) - 1
    fields = np.array([[(beat >> (i * bits)) & mask for i in range(count)] for beat in beats], dtype=np.int64)
    return from_field(fields.reshape(len(beats), count), dtype)
