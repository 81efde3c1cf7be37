"""The form every module estimate takes: exact counts plus fitted terms.

A module's estimate is built from its parameters as

    LUT = lutram + sum_t c_lut[t] * lut[t]        FF = sum_t c_ff[t] * ff[t]
    BRAM, DSP, lutram: exact counts

where ``lut[t]`` and ``ff[t]`` are structural quantities (bits of a register, LUTs of a
counter tree, elements compared ...) and the coefficients ``c`` come from the calibration
against Yosys (each module's ``COEFFICIENTS`` in ``bnncc/hw/modules/<name>.py``, fitted by
``benchmarks/calibrate_estimates.py --fit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Terms:
    """Structural quantities of one module instance (see the module docstring)."""

    lut: dict = field(default_factory=dict)
    ff: dict = field(default_factory=dict)
    bram: float = 0.0
    dsp: float = 0.0
    lutram: float = 0.0


def clog2(value: int) -> int:
    """Verilog's $clog2: bits to count 0 .. value-1 (0 for value <= 1)."""
    return max(0, int(value) - 1).bit_length()


def counter_bits(count: int) -> int:
    """Width rtl_lib gives a counter of ``count`` values: (count <= 2) ? 1 : $clog2(count)."""
    return 1 if count <= 2 else clog2(count)
