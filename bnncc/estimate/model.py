"""Estimate of one rtl_lib instance: the module's structural terms weighed by the family's
fitted coefficients, both from the module's registry entry (``terms`` and
``coefficients`` of :class:`bnncc.hw.registry.ModuleSpec`)::

    LUT = lutram + sum_t c_lut[t] * lut[t]      FF = sum_t c_ff[t] * ff[t]
    BRAM, DSP, LUTRAM: exact counts from the terms

iCE40 has no distributed RAM and 4 Kbit block RAMs; it takes the ECP5 coefficients (both are
LUT4 families) on terms built for ``ice40``. A module without terms, and a term without a
coefficient, are errors.
"""

from __future__ import annotations

from bnncc.errors import BnnccError
from bnncc.hw.registry import UnknownModuleError, spec
from bnncc.hw.resources import Resources

FAMILIES = ("xilinx", "ecp5", "ice40")


class MissingCoefficientError(BnnccError):
    """A module's estimate gives a term its coefficient table does not weigh."""


def estimate_link(module: str, parameters: dict, family: str, hints: dict | None = None) -> Resources:
    """Estimated resources of an instance of ``module`` with Verilog ``parameters`` on
    ``family``; ``hints`` adds what the parameters do not tell and synthesis sees in the
    memory contents (:data:`bnncc.hw.memory_map.THRESHOLD_CONSTANT_BITS`)."""
    entry = spec(module)
    if entry.terms is None:
        raise UnknownModuleError(f"no resource estimate for module {module!r}: its registry entry has no terms")
    if family not in FAMILIES:
        raise BnnccError(f"no resource estimate for FPGA family {family!r}: expected xilinx, ecp5 or ice40")
    table = "xilinx" if family == "xilinx" else "ecp5"
    coefficients = entry.coefficients.get(table)
    if coefficients is None:
        raise MissingCoefficientError(f"module {module}: no {table} coefficients in bnncc/hw/modules/{module}.py")
    terms = entry.terms({**parameters, **hints} if hints else parameters, family)
    totals = {}
    for kind in ("lut", "ff"):
        weights = coefficients.get(kind, {})
        missing = sorted(set(getattr(terms, kind)) - set(weights))
        if missing:
            raise MissingCoefficientError(f"module {module}: {kind} term {', '.join(missing)} has no {table} coefficient "
                                          f"in bnncc/hw/modules/{module}.py: expected one for every term")
        totals[kind] = sum(weights[name] * value for name, value in getattr(terms, kind).items())
    return Resources(lut=terms.lutram + totals["lut"], ff=totals["ff"], bram=terms.bram, dsp=terms.dsp, lutram=terms.lutram)
