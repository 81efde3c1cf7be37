"""Element types of IR tensors.

A quantized real tensor is held as integers of one of these types, with its scale and offset
beside it until a pass absorbs them:

* ``BIPOLAR``: values -1 and +1 (one bit in hardware: bit 1 means +1, bit 0 means -1);
* ``BINARY``: values 0 and 1;
* ``INT(n)``: two's complement, -2**(n-1) .. 2**(n-1)-1;
* ``UINT(n)``: 0 .. 2**n-1;
* ``FLOAT32``: a real value (computed in float64 by the executor).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAX_INTEGER_BITS = 64


@dataclass(frozen=True)
class DataType:
    """One element type: ``kind`` is BIPOLAR, BINARY, INT, UINT or FLOAT32; ``bits`` its width."""

    kind: str
    bits: int

    # -- construction ---------------------------------------------------------------------
    @staticmethod
    def int(bits: int) -> "DataType":
        """Signed ``bits``-wide integer."""
        _check_bits(bits)
        return DataType("INT", bits)

    @staticmethod
    def uint(bits: int) -> "DataType":
        """Unsigned ``bits``-wide integer."""
        _check_bits(bits)
        return DataType("UINT", bits)

    @staticmethod
    def parse(text: str) -> "DataType":
        """Parse a FINN/QONNX datatype name such as ``INT4``, ``UINT8``, ``BIPOLAR``."""
        name = text.strip().upper()
        if name in _FIXED:
            return _FIXED[name]
        match = re.fullmatch(r"(U?INT)(\d+)", name)
        if match is None:
            raise ValueError(f"unknown datatype name '{text}'")
        bits = int(match.group(2))
        return DataType.uint(bits) if match.group(1) == "UINT" else DataType.int(bits)

    @staticmethod
    def for_range(low: int, high: int) -> "DataType":
        """The narrowest integer type holding every value in ``[low, high]``.

        Non-negative ranges get ``UINT(n)`` (``BINARY`` for {0, 1}); ranges reaching below
        zero get ``INT(n)`` with the smallest n such that -2**(n-1) <= low and high < 2**(n-1).
        """
        low, high = int(low), int(high)
        if low > high:
            raise ValueError(f"empty range [{low}, {high}]")
        if low >= 0:
            if high <= 1:
                return BINARY
            return DataType.uint(max(1, int(high).bit_length()))
        bits = max((-low - 1).bit_length(), high.bit_length()) + 1
        return DataType.int(bits)

    @staticmethod
    def range_fits(low: int, high: int) -> bool:
        """True if some integer type of at most ``MAX_INTEGER_BITS`` bits holds ``[low, high]``
        (:meth:`for_range` would succeed)."""
        low, high = int(low), int(high)
        if low > high:
            return False
        bits = high.bit_length() if low >= 0 else max((-low - 1).bit_length(), high.bit_length()) + 1
        return bits <= MAX_INTEGER_BITS

    # -- properties -----------------------------------------------------------------------
    @property
    def is_integer(self) -> bool:
        """True for every type but FLOAT32."""
        return self.kind != "FLOAT32"

    @property
    def signed(self) -> bool:
        """True if the type holds negative values."""
        return self.kind in ("INT", "BIPOLAR", "FLOAT32")

    @property
    def min(self) -> int | float:
        """Smallest value of the type."""
        if self.kind == "INT":
            return -(1 << (self.bits - 1))
        if self.kind == "BIPOLAR":
            return -1
        if self.kind == "FLOAT32":
            return float(np.finfo(np.float32).min)
        return 0

    @property
    def max(self) -> int | float:
        """Largest value of the type."""
        if self.kind == "INT":
            return (1 << (self.bits - 1)) - 1
        if self.kind == "UINT":
            return (1 << self.bits) - 1
        if self.kind == "FLOAT32":
            return float(np.finfo(np.float32).max)
        return 1

    @property
    def name(self) -> str:
        """FINN-style name: INT4, UINT8, BIPOLAR, BINARY, FLOAT32."""
        if self.kind in ("INT", "UINT"):
            return f"{self.kind}{self.bits}"
        return self.kind

    @property
    def numpy_dtype(self) -> np.dtype:
        """How the executor stores values of this type: int64 for integers, float64 otherwise."""
        return np.dtype(np.int64) if self.is_integer else np.dtype(np.float64)

    def allows(self, values: np.ndarray) -> bool:
        """True if every element of ``values`` is a value of this type."""
        values = np.asarray(values)
        if not self.is_integer:
            return True
        if values.size == 0:
            return True
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            return False
        if self.kind == "BIPOLAR":
            return bool(np.all(np.abs(values) == 1))
        return bool(values.min() >= self.min and values.max() <= self.max)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"DataType.{self.name}"


def _check_bits(bits: int) -> None:
    if not 1 <= bits <= MAX_INTEGER_BITS:
        raise ValueError(f"integer width {bits} outside 1..{MAX_INTEGER_BITS}")


BIPOLAR = DataType("BIPOLAR", 1)
BINARY = DataType("BINARY", 1)
FLOAT32 = DataType("FLOAT32", 32)
_FIXED = {"BIPOLAR": BIPOLAR, "BINARY": BINARY, "FLOAT32": FLOAT32, "FLOAT": FLOAT32}
