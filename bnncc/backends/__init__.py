"""Backends: from the hardware IR to Verilog, reports and co-simulation."""
