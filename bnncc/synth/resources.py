"""How a synthesized netlist's cells count towards the FPGA resources of
:class:`bnncc.hw.resources.Resources`: :func:`count_cells` turns the cell counts Yosys reports after ``synth_xilinx`` /
``synth_ecp5`` / ``synth_ice40`` into ``Resources``.
"""

from __future__ import annotations

from bnncc.hw.resources import Resources


# LUT sites taken by each LUT-as-memory primitive.
_XILINX_MEMORY_LUTS = {
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
    "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
_XILINX_LOGIC_LUTS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV"}
_XILINX_BRAM = {"RAMB18E1": 1, "RAMB36E1": 2, "RAMB18E2": 1, "RAMB36E2": 2}
_XILINX_DSP = {"DSP48E1", "DSP48E2"}

# ECP5: a TRELLIS_DPR16X4 (16x4 distributed RAM) takes the four LUT4s of two slices; a CCU2C
# carry cell holds two LUT4s.
_ECP5_LUTS = {"LUT4": 1, "CCU2C": 2}
_ECP5_MEMORY_LUTS = {"TRELLIS_DPR16X4": 4}
_ECP5_BRAM = {"DP16KD": 1, "PDPW16KD": 1}
_ECP5_DSP = {"MULT18X18D": 1, "ALU54B": 1}

_ICE40_LUTS = {"SB_LUT4": 1}
_ICE40_BRAM = {"SB_RAM40_4K": 1, "SB_RAM40_4KNR": 1, "SB_RAM40_4KNW": 1, "SB_RAM40_4KNRNW": 1}
_ICE40_DSP = {"SB_MAC16": 1}


def count_cells(cells: dict[str, int], family: str) -> Resources:
    """Resources of a netlist with ``cells`` (cell type -> count) mapped for ``family``
    ("xilinx", "ecp5" or "ice40")."""
    r = Resources()
    for cell, n in cells.items():
        if family == "xilinx":
            if cell in _XILINX_LOGIC_LUTS:
                r.lut += n
            elif cell in _XILINX_MEMORY_LUTS:
                r.lut += n * _XILINX_MEMORY_LUTS[cell]
                r.lutram += n * _XILINX_MEMORY_LUTS[cell]
            elif cell.startswith("FD"):
                r.ff += n
            elif cell in _XILINX_BRAM:
                r.bram += n * _XILINX_BRAM[cell]
            elif cell in _XILINX_DSP:
                r.dsp += n
        elif family == "ecp5":
            if cell in _ECP5_LUTS:
                r.lut += n * _ECP5_LUTS[cell]
            elif cell in _ECP5_MEMORY_LUTS:
                r.lut += n * _ECP5_MEMORY_LUTS[cell]
                r.lutram += n * _ECP5_MEMORY_LUTS[cell]
            elif cell == "TRELLIS_FF":
                r.ff += n
            elif cell in _ECP5_BRAM:
                r.bram += n
            elif cell in _ECP5_DSP:
                r.dsp += n
        elif family == "ice40":
            if cell in _ICE40_LUTS:
                r.lut += n
            elif cell.startswith("SB_DFF"):
                r.ff += n
            elif cell in _ICE40_BRAM:
                r.bram += n
            elif cell in _ICE40_DSP:
                r.dsp += n
        else:
            raise ValueError(f"unknown FPGA family {family!r}")
    return r
