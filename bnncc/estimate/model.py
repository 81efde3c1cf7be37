"""Estimate of one rtl_lib instance: the module's structural terms (:mod:`bnncc.estimate.modules`)
weighed by the family's fitted coefficients (:mod:`bnncc.estimate.coefficients`)::

    LUT = lutram + sum_t c_lut[t] * lut[t]      FF = sum_t c_ff[t] * ff[t]
    BRAM, DSP, LUTRAM: exact counts from the terms

iCE40 has no distributed RAM and 4 Kbit block RAMs; it takes the ECP5 coefficients (both are
LUT4 families) on terms built for ``ice40``.
"""

from __future__ import annotations

from bnncc.errors import BnnccError
from bnncc.estimate.coefficients import COEFFICIENTS
from bnncc.estimate.modules import TERMS
from bnncc.hw.resources import Resources


def estimate_link(module: str, parameters: dict, family: str, hints: dict | None = None) -> Resources:
    """Estimated resources of an instance of ``module`` with Verilog ``parameters`` on
    ``family``; ``hints`` adds what the parameters do not tell and synthesis sees in the
    memory contents (:data:`bnncc.estimate.memory.THRESHOLD_CONSTANT_BITS`)."""
    if module not in TERMS:
        raise BnnccError(f"no resource estimate for module {module!r}: expected one of {', '.join(TERMS)}")
    if family not in ("xilinx", "ecp5", "ice40"):
        raise BnnccError(f"no resource estimate for FPGA family {family!r}: expected xilinx, ecp5 or ice40")
    terms = TERMS[module]({**parameters, **hints} if hints else parameters, family)
    coefficients = COEFFICIENTS["xilinx" if family == "xilinx" else "ecp5"][module]
    lut = terms.lutram + sum(coefficients["lut"].get(name, 0.0) * value for name, value in terms.lut.items())
    ff = sum(coefficients["ff"].get(name, 0.0) * value for name, value in terms.ff.items())
    return Resources(lut=lut, ff=ff, bram=terms.bram, dsp=terms.dsp, lutram=terms.lutram)
