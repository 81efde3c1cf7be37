"""``Resources``: what a design, a stage or one module instance takes of a device.

* ``lut``: look-up tables, as logic *and* as memory (``lutram`` is the part used as
  distributed RAM, ROM or shift registers);
* ``ff``: flip-flops;
* ``bram``: block RAMs counted in the device's own unit: RAMB18 for Xilinx (a RAMB36 is two),
  the 18 Kbit EBR for ECP5, the 4 Kbit EBR for iCE40;
* ``dsp``: DSP slices (DSP48E1/E2, MULT18X18D, SB_MAC16).

Estimates (:mod:`bnncc.estimate`) and synthesis read-back (:mod:`bnncc.synth`) both give it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class Resources:
    """Amounts of each resource (floats while estimating, integers from synthesis)."""

    lut: float = 0
    ff: float = 0
    bram: float = 0
    dsp: float = 0
    lutram: float = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def scaled(self, factor: float) -> "Resources":
        return Resources(**{f.name: getattr(self, f.name) * factor for f in fields(self)})

    def rounded(self) -> "Resources":
        """Whole numbers (LUTs and FFs rounded, block RAM and DSP rounded up)."""
        import math

        return Resources(lut=round(self.lut), ff=round(self.ff), bram=math.ceil(self.bram - 1e-9),
                         dsp=math.ceil(self.dsp - 1e-9), lutram=round(self.lutram))

    def to_dict(self) -> dict:
        return asdict(self)
