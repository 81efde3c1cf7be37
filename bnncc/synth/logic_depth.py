"""Logic depth between registers in a flattened Yosys netlist, per instance of the top.

A path starts at a register output (flip-flop, block RAM or registered DSP output, the stored
bits of a shift register or LUT RAM) or a top-level input, and ends at a register input or a
top-level output. Its depth counts the cells it passes through, by kind:

* ``lut``: LUTs (LUT1..LUT6, ECP5 LUT4, iCE40 SB_LUT4) and asynchronous LUT-RAM reads (a
  LUT RAM read is a LUT of the address);
* ``carry``: carry-chain cells (CARRY4/CARRY8, CCU2C, SB_CARRY), each cell counted once;
* ``mux``: wide-function multiplexers (MUXF7/8/9, PFUMX, L6MUX21);
* ``dsp``: an unregistered DSP block in the path.

The worst path ending in an instance is the one with the most LUTs (then carry cells, then
multiplexers). The depth of a path is the sum over its cells; every cell input reaches every
output of a combinational cell. Inverters (absorbed into LUTs by placement) and buffers cost
nothing. The netlist is the JSON of the top module after ``flatten`` (``keep_hierarchy``
unset), so cells are named ``<instance>.<...>`` or ``$flatten\\<instance>.<...>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Depth", "FLATTEN_COMMANDS", "logic_depths", "instance_of"]

KINDS = ("lut", "carry", "mux", "dsp")
_LUT = re.compile(r"^(LUT[1-6]|LUT4|SB_LUT4)$")
_CARRY = {"CARRY4", "CARRY8", "CCU2C", "SB_CARRY"}
_MUX = {"MUXF7", "MUXF8", "MUXF9", "PFUMX", "L6MUX21"}
_FREE = {"INV", "BUFG", "BUF", "IBUF", "OBUF", "VCC", "GND", "$scopeinfo"}
_FF = re.compile(r"^(FD[CPRS]E?(_1)?|LD[CP]E?|TRELLIS_FF|SB_DFF\w*|FD)$")
_BLOCK_RAM = {"RAMB18E1", "RAMB36E1", "RAMB18E2", "RAMB36E2", "DP16KD", "PDPW16KD", "SB_RAM40_4K", "SP16KD"}
_LUT_RAM = re.compile(r"^(RAM\d+X\d+[SD]|RAM\d+M\d*|TRELLIS_DPR16X4)$")
_SHIFT = {"SRL16E", "SRLC32E", "SRLC16E"}
_DSP = {"DSP48E1", "DSP48E2", "MULT18X18D", "ALU54B", "SB_MAC16"}
# the read address ports of LUT RAMs and shift registers: combinational to the data outputs
_READ_ADDRESS = re.compile(r"^(A\d*|ADDR[A-H]|DPRA\d*|RAD\d*|A_?\d*)$")


def FLATTEN_COMMANDS(work: str, top: str) -> list[str]:
    """Yosys commands (after synthesis) that write the flattened top module to
    ``work/flat.json`` and restore the hierarchical design."""
    return ["design -save mapped", "setattr -mod -unset keep_hierarchy", "flatten", f"select {top}",
            f"write_json -selected {work}/flat.json", "select -clear", "design -load mapped"]


@dataclass(frozen=True, order=True)
class Depth:
    """Cells on a path between registers, by kind (compared LUTs first)."""

    lut: int = 0
    carry: int = 0
    mux: int = 0
    dsp: int = 0

    def plus(self, kind: str | None) -> "Depth":
        if kind is None:
            return self
        values = {k: getattr(self, k) for k in KINDS}
        values[kind] += 1
        return Depth(**values)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in KINDS}

    def __str__(self) -> str:
        extra = "".join(f" +{getattr(self, k)} {k}" for k in KINDS[1:] if getattr(self, k))
        return f"{self.lut} LUT{extra}"


def instance_of(cell_name: str) -> str:
    """The top-level instance a flattened cell belongs to ('' for cells of the top itself)."""
    name = cell_name[len("$flatten\\"):] if cell_name.startswith("$flatten\\") else cell_name
    name = name.lstrip("\\")
    return name.split(".", 1)[0] if "." in name and not name.startswith("$") else ""


def _registered_dsp(cell: dict) -> bool:
    parameters = cell.get("parameters", {})
    for key in ("PREG", "MREG", "REG_OUTPUT"):
        if key in parameters and int(str(parameters[key]), 2 if set(str(parameters[key])) <= {"0", "1"} else 10) > 0:
            return True
    return False


def _arcs(cell: dict) -> tuple[str | None, list[str], list[str], list[str], list[str]]:
    """How a cell times: (kind counted on a path through it, combinational input ports,
    output ports they reach, input ports that end a path, output ports that start one)."""
    kind_of = cell["type"]
    directions = cell.get("port_directions", {})
    inputs = [p for p, d in directions.items() if d != "output"]
    outputs = [p for p, d in directions.items() if d != "input"]
    if _FF.match(kind_of) or kind_of in _BLOCK_RAM:
        return None, [], [], inputs, outputs
    if _LUT_RAM.match(kind_of) or kind_of in _SHIFT:
        address = [p for p in inputs if _READ_ADDRESS.match(p)]
        return "lut", address, outputs, [p for p in inputs if p not in address], outputs
    if kind_of in _DSP:
        if _registered_dsp(cell):
            return None, [], [], inputs, outputs
        return "dsp", inputs, outputs, [], []
    if kind_of in _FREE:
        return None, inputs, outputs, [], []
    if _LUT.match(kind_of):
        return "lut", inputs, outputs, [], []
    if kind_of in _CARRY:
        return "carry", inputs, outputs, [], []
    if kind_of in _MUX:
        return "mux", inputs, outputs, [], []
    return "lut", inputs, outputs, [], []      # an unknown cell: one level, to be safe


def _cell_label(name: str) -> str:
    """A flattened cell's name without Yosys's prefixes (for cells driving no named net)."""
    return name[len("$flatten\\"):] if name.startswith("$flatten\\") else name.lstrip("\\")


def _bits(connection: list) -> list[int]:
    return [b for b in connection if isinstance(b, int)]


def _net_names(module: dict) -> dict[int, str]:
    """A readable name per bit: the shortest user-visible net name, with the bit index."""
    names: dict[int, str] = {}
    for name, net in module.get("netnames", {}).items():
        if net.get("hide_name", 0):
            continue
        bits = net.get("bits", [])
        for index, bit in enumerate(bits):
            if isinstance(bit, int):
                label = f"{name}[{index}]" if len(bits) > 1 else name
                if bit not in names or len(label) < len(names[bit]):
                    names[bit] = label
    return names


def logic_depths(flat_json: Path, top: str, trace: dict | None = None) -> dict[str, tuple[Depth, str, str]]:
    """Per top-level instance ('' for the top's own cells and ports), the deepest path that
    ends in it: (depth, the net it starts from, the net it ends in)."""
    module = json.loads(Path(flat_json).read_text())["modules"][top]
    cells = module.get("cells", {})
    names = _net_names(module)
    arrival: dict[int, tuple[Depth, str]] = {}          # bit -> (depth, where the path started)
    ends: list[tuple[list[int], str, list[str]]] = []   # (bits, instance, end labels)
    pending: dict[str, int] = {}
    readers: dict[int, list[str]] = {}
    timing = {}
    for name, port in module.get("ports", {}).items():
        if port["direction"] != "output":
            for bit in _bits(port["bits"]):
                arrival[bit] = (Depth(), names.get(bit, name))
        if port["direction"] != "input":
            ends.append((_bits(port["bits"]), "", [names.get(b, name) for b in _bits(port["bits"])]))
    for name, cell in cells.items():
        kind, through, reach, stops, starts = _arcs(cell)
        connections = cell.get("connections", {})
        for port in starts:
            for bit in _bits(connections.get(port, [])):
                arrival.setdefault(bit, (Depth(), names.get(bit) or _cell_label(name)))
        output_bits = [b for p in starts for b in _bits(connections.get(p, []))]
        for port in stops:
            bits = _bits(connections.get(port, []))
            # a register input is named after the register's output bit of the same index
            labels = [names.get(output_bits[i]) if i < len(output_bits) and output_bits[i] in names
                      else names.get(b) or _cell_label(name) for i, b in enumerate(bits)]
            ends.append((bits, instance_of(name), labels))
        sources = sorted({b for p in through for b in _bits(connections.get(p, []))})
        targets = [b for p in reach for b in _bits(connections.get(p, []))]
        if not targets:
            continue
        timing[name] = (kind, sources, targets)
        pending[name] = len(sources)
        for bit in sources:
            readers.setdefault(bit, []).append(name)
    # bits driven by a combinational cell are not path starts even if another arc starts them
    driven = {bit for _, sources, targets in timing.values() for bit in targets}
    ready = [name for name, count in pending.items() if count == 0]
    settled = {bit for bit in arrival if bit not in driven}

    def release(bit: int) -> None:
        for reader in readers.get(bit, ()):
            pending[reader] -= 1
            if pending[reader] == 0:
                ready.append(reader)

    for bit in list(settled):
        release(bit)
    # bits read by cells but driven by nothing (constants, undriven nets) are settled at 0
    for bit in list(readers):
        if bit not in settled and bit not in driven:
            arrival[bit] = (Depth(), names.get(bit, "a constant"))
            settled.add(bit)
            release(bit)
    while ready:
        name = ready.pop()
        kind, sources, targets = timing[name]
        worst_bit = max(sources, default=None, key=lambda b: arrival[b][0])
        worst = arrival[worst_bit] if worst_bit is not None else (Depth(), "a constant")
        reached = (worst[0].plus(kind), worst[1])
        for bit in targets:
            if bit in settled:
                continue                    # a second driver of one net: the first one counts
            if bit not in arrival or arrival[bit][0] < reached[0]:
                arrival[bit] = reached
                if trace is not None:
                    trace[bit] = (name, worst_bit)
            settled.add(bit)
            release(bit)
    looped = [name for name, count in pending.items() if count > 0]
    if looped:
        raise ValueError(f"{flat_json}: combinational loop through {len(looped)} cells, e.g. {looped[0]}")
    worst_by_instance: dict[str, tuple[Depth, str, str]] = {}
    for bits, where, labels in ends:
        for bit, label in zip(bits, labels):
            if bit not in arrival:
                continue
            depth, start = arrival[bit]
            best = worst_by_instance.get(where)
            if best is None or best[0] < depth:
                worst_by_instance[where] = (depth, start, label)
                if trace is not None:
                    trace[("end", where)] = bit
    return worst_by_instance


def critical_path(flat_json: Path, top: str, instance: str) -> list[tuple[str, str]]:
    """The cells (type, name) of the deepest path ending in ``instance``, from its start."""
    trace: dict = {}
    logic_depths(flat_json, top, trace)
    cells = json.loads(Path(flat_json).read_text())["modules"][top].get("cells", {})
    path, bit = [], trace.get(("end", instance))
    while bit is not None and bit in trace:
        name, bit = trace[bit]
        path.append((cells[name]["type"], _cell_label(name)))
    return path[::-1]

