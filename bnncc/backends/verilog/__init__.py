"""The Verilog backend: a build directory with a stitched AXI-Stream design."""

from bnncc.backends.verilog.design import Design, write_design

__all__ = ["Design", "write_design"]
