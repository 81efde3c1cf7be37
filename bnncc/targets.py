"""FPGA devices bnncc can target, with the resources the vendors publish for them.

``bram`` is counted in the family's block RAM unit: RAMB18 (18 Kbit) for Xilinx, the
18 Kbit EBR (DP16KD) for Lattice ECP5, the 4 Kbit EBR (SB_RAM40_4K) for Lattice iCE40.
``lut`` counts 6-input LUTs on Xilinx and 4-input LUTs on Lattice parts.

Sources: Xilinx DS190 (Zynq-7000), DS891 (Zynq UltraScale+ MPSoC), DS962 (Alveo U250);
Lattice FPGA-DS-02012 (ECP5), FPGA-DS-02008 (iCE40 UltraPlus).
"""

from __future__ import annotations

from dataclasses import dataclass

from bnncc.errors import UsageError


@dataclass(frozen=True)
class Device:
    """One FPGA part: name, Yosys family, resources, and the unit its block RAM is counted in."""

    name: str
    part: str
    family: str  # "xilinx", "ecp5" or "ice40"
    lut: int
    ff: int
    bram: int
    dsp: int
    bram_unit: str
    description: str

    @property
    def capacity(self) -> dict[str, int]:
        return {"lut": self.lut, "ff": self.ff, "bram": self.bram, "dsp": self.dsp}


DEVICES = {
    d.name: d
    for d in [
        Device("xc7z020", "xc7z020clg400-1", "xilinx", 53_200, 106_400, 280, 220, "RAMB18",
               "Zynq-7020 (PYNQ-Z1, PYNQ-Z2)"),
        Device("xczu3eg", "xczu3eg-sbva484-1-e", "xilinx", 70_560, 141_120, 432, 360, "RAMB18",
               "Zynq UltraScale+ ZU3EG (Ultra96)"),
        Device("xczu7ev", "xczu7ev-ffvc1156-2-e", "xilinx", 230_400, 460_800, 624, 1_728, "RAMB18",
               "Zynq UltraScale+ ZU7EV (ZCU104)"),
        Device("xcu250", "xcu250-figd2104-2L-e", "xilinx", 1_728_000, 3_456_000, 5_376, 12_288, "RAMB18",
               "Alveo U250"),
        Device("ecp5-25k", "LFE5U-25F", "ecp5", 24_288, 24_288, 56, 28, "EBR18K", "Lattice ECP5 25K"),
        Device("ecp5-85k", "LFE5U-85F", "ecp5", 83_640, 83_640, 208, 156, "EBR18K", "Lattice ECP5 85K (ULX3S-85F)"),
        Device("ice40-up5k", "iCE40UP5K", "ice40", 5_280, 5_280, 30, 8, "EBR4K", "Lattice iCE40 UltraPlus 5K (iCEBreaker)"),
    ]
}

DEFAULT_DEVICE = "xc7z020"


def get_device(name: str, option: str = "--target") -> Device:
    """The device called ``name``; a usage error naming the known ones otherwise."""
    device = DEVICES.get(name.lower())
    if device is None:
        raise UsageError(f"{option} {name!r}: unknown device; expected one of {', '.join(DEVICES)}")
    return device
