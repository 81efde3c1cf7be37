"""The clock a design's pipeline supports, before synthesis: logic depth per instance and a
delay per logic level of each device family.

Every instance has a modelled logic depth between registers, ``(luts, carries)``: LUT levels
as Yosys maps the module for xc7 (6-input LUTs) and carry cells on the same path. The MVAU
computes it from its parameters (:func:`mvau_levels`: the mac_dot pipeline it chose, the
XNOR-popcount's counter levels, one level more for the input word's select); every other
module (the VVAU from its mac_dot pipeline, ``vvau_levels``) takes the deepest path
measured by ``bnncc synth`` at the parameters the examples use
(``benchmarks/results/module_fmax.json`` and the stages of
``benchmarks/results/estimate_vs_synth_*.json``), :data:`MODULE_LEVELS`.

A path of L LUT levels and C carry cells takes about ``base + L * lut + C * carry`` ns on a
family (:data:`FAMILY_DELAYS`, clock-to-out and setup in ``base``, a LUT with its routing per
level): xc7 -1 reaches about 200 MHz at 6 levels (the project's proxy for 200 MHz-class
timing), ECP5-85F about 125 MHz at 5 levels of the xc7 mapping (nextpnr on the stream modules
alone, ``benchmarks/module_fmax.py``), iCE40 a good deal less. The model is a warning, not a
timing report: ``bnncc synth`` measures the depth and the board flow's nextpnr the Fmax.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnncc.hw.modules import mac_dot


@dataclass(frozen=True)
class FamilyDelays:
    """ns of a register-to-register path: ``base`` + ``lut`` per LUT level + ``carry`` per
    carry cell; a path that starts at a block RAM read without its output register takes
    ``ram`` ns more (the RAM's clock-to-out beyond a flip-flop's). ``chain``: ns per level of
    a mac_dot carry-chain adder with its partial product (one 6-input LUT on xc7; on 4-input
    LUT parts two to four LUT4s)."""

    base: float
    lut: float
    carry: float
    ram: float
    chain: float

    def path_ns(self, luts: int, carries: int, from_ram: bool = False) -> float:
        return self.base + luts * self.lut + carries * self.carry + (self.ram if from_ram else 0.0)

    def fmax_mhz(self, luts: int, carries: int, from_ram: bool = False) -> float:
        return 1000.0 / self.path_ns(luts, carries, from_ram)


FAMILY_DELAYS = {
    # RAMB18 without DO_REG about 2.1 ns clock-to-out (a flip-flop 0.4)
    "xilinx": FamilyDelays(base=1.0, lut=0.65, carry=0.03, ram=1.7, chain=0.65),
    # DP16KD without OUTREG 5.61 ns (nextpnr's figure on the ULX3S builds)
    # chain: nextpnr on the ULX3S builds of TFC-w2a2 (2x2-bit tables, about 2 ns per level)
    # and the w4a4 MLP (4x4-bit Booth partial products, about 3.2 ns)
    "ecp5": FamilyDelays(base=1.7, lut=1.27, carry=0.1, ram=4.9, chain=2.6),
    "ice40": FamilyDelays(base=2.5, lut=1.9, carry=0.15, ram=2.0, chain=3.8),
}

#: LUT levels the builders keep between registers at most: the project's proxy for
#: 200 MHz-class timing on xc7 -1 parts; a faster clock or a slower family gets fewer.
MAX_LEVELS = 6
#: ... and at least (a register after every other LUT level costs more than it gains).
MIN_LEVELS = 2
#: carry cells on the MVAU's deepest paths (the accumulator's and the tree's carry chains).
PIPELINE_CARRIES = 8


@dataclass(frozen=True)
class PipelineBudget:
    """How deep the pipeline of a design for one clock on one family may be: ``levels`` LUT
    levels between registers (the xc7 mapping's count, :data:`MAX_LEVELS` at most),
    ``chain_levels`` of them in multi-bit dot products (mac_dot's carry-chain adders), and
    whether memory reads get a register of their own (``register_reads``)."""

    levels: int
    register_reads: bool
    chain_levels: int = MAX_LEVELS


def pipeline_budget(family: str, clock_mhz: float) -> PipelineBudget:
    """The budget for ``clock_mhz`` on ``family``: the most LUT levels, between
    :data:`MIN_LEVELS` and :data:`MAX_LEVELS`, whose modelled path
    ``base + L * lut + PIPELINE_CARRIES * carry`` fits the clock period; memory reads
    registered when a block RAM's clock-to-out in front of those levels would not fit; the
    most chain levels, 1 to ``levels``, whose ``base + L * chain + PIPELINE_CARRIES * carry``
    fits. An unknown family keeps the defaults (6 levels, no extra register)."""
    delays = FAMILY_DELAYS.get(family)
    if delays is None:
        return PipelineBudget(MAX_LEVELS, False)
    period = 1000.0 / clock_mhz
    levels = MIN_LEVELS
    while levels < MAX_LEVELS and delays.path_ns(levels + 1, PIPELINE_CARRIES) <= period:
        levels += 1
    chain = 1
    while chain < levels and delays.base + (chain + 1) * delays.chain + PIPELINE_CARRIES * delays.carry <= period:
        chain += 1
    return PipelineBudget(levels, delays.path_ns(levels, PIPELINE_CARRIES, from_ram=True) > period, chain)

#: Deepest path of each module (LUT levels, carry cells) by ``bnncc synth`` on xc7.
MODULE_LEVELS = {
    "label_select": (3, 0), "pool_sum": (4, 1), "skid_buffer": (1, 0), "sliding_window": (5, 1),
    "stream_add": (4, 3), "stream_concat": (5, 2), "stream_fifo": (3, 0), "stream_fork": (4, 0),
    "streaming_maxpool": (5, 2), "thresholding": (2, 1), "upsample": (5, 1),
    "width_converter": (2, 0), "window_parallel": (5, 1),
}
#: A module not in the table (an assumption, not a measurement).
DEFAULT_LEVELS = (6, 2)


def mvau_levels(p: dict) -> tuple[int, int]:
    """The MVAU's deepest path: its dot products (mac_dot's chains and tree, the popcount's
    counters, or the inline sum of SIMD products of MAC_STYLE 0), with the input select of
    NF > 1 and the weight banks' multiplexer in front (``mvau.operand_levels``); packed DSPs (MAC_STYLE 2) are registered
    around the DSPs, their group sums a few LUT levels; the accumulator and the threshold
    compares one carry chain each; the threshold search its stage (``mvau.search_levels``)."""
    from bnncc.hw.modules.mvau import search_levels
    luts, carries = _dot_levels(p)
    return max(luts, search_levels(p)), carries


def _dot_levels(p: dict) -> tuple[int, int]:
    """The MVAU's deepest path up to its accumulators (:func:`mvau_levels`)."""
    from bnncc.hw.modules.mvau import operand_levels
    style, stages = p.get("MAC_STYLE", 0), p.get("DOT_STAGES", 1)
    select = operand_levels({"WEIGHT_FILE": "", **p}, p.get("MEM_REG", 0))
    operands = {**p, "BINARY": 0} if not p.get("BINARY") else p
    if style == 2:
        return 4, 8
    if style == 1 or stages > 1 or p.get("BINARY"):
        mac_stages = stages - 1 + (0 if p.get("BORDER", 0) else 1)
        luts = mac_dot.logic_levels(operands, p["SIMD"], mac_stages, select, p.get("DOT_CHAIN", 0)) \
            + (1 if p.get("BORDER", 0) else 0)
        return max(luts, 4), 8
    return 6 + select + (p["SIMD"] - 1).bit_length(), 8


def instance_levels(module: str, parameters: dict) -> tuple[int, int]:
    """(LUT levels, carry cells) of the deepest path of one instance."""
    if module == "mvau":
        return mvau_levels(parameters)
    if module == "vvau":
        from bnncc.hw.modules.vvau import vvau_levels
        return vvau_levels(parameters)
    return MODULE_LEVELS.get(module, DEFAULT_LEVELS)


def clock_warnings(links, family: str, clock_mhz: float) -> list[str]:
    """One line per instance whose modelled depth supports less than ``clock_mhz`` on
    ``family`` (the slowest first); ``links`` are a design's instances (node, module,
    parameters)."""
    delays = FAMILY_DELAYS.get(family)
    if delays is None:
        return []
    slow = []
    for link in links:
        luts, carries = instance_levels(link.module, link.parameters)
        fmax = delays.fmax_mhz(luts, carries)
        if fmax < clock_mhz:
            slow.append((fmax, link.node or link.instance, link.module, luts, carries))
    return [f"--clock-mhz {clock_mhz:g} is above the about {fmax:.0f} MHz that stage '{node}' ({module}, "
            f"about {luts} LUT levels and {carries} carry cells between registers) supports on {family}; "
            "'bnncc synth' measures its logic depth" for fmax, node, module, luts, carries in sorted(slow)]
