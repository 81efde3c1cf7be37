"""Simulation of AXI-Stream RTL in Verilator, driven from Python."""

from bnncc.sim.beats import pack_beats, unpack_beats
from bnncc.sim.verilator import SimResult, StreamSimulator, verilator_command

__all__ = ["pack_beats", "unpack_beats", "SimResult", "StreamSimulator", "verilator_command"]
