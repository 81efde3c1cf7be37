"""The Verilog backend: a build directory with a stitched AXI-Stream design."""

from bnncc.backends.verilog.design import Design, describe_design, write_design

__all__ = ["Design", "describe_design", "write_design"]
