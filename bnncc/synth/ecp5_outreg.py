"""Move flip-flops that register an ECP5 block RAM's read data into the block's own output
register (``REGMODE_A/B = "OUTREG"``), on a Yosys JSON netlist after ``synth_ecp5``.

Yosys's ECP5 memory library maps every inferred memory to ``DP16KD`` with ``REGMODE
"NOREG"``: the read data leaves the block straight from its output latch (about 5.6 ns after
the clock), and a register the RTL puts behind the read becomes a fabric ``TRELLIS_FF``.
The EBR has a register of its own on each port's data output, clocked by that port's clock
(``CLKA`` / ``CLKB``), enabled by ``OCEA`` / ``OCEB`` and reset by ``RSTA`` / ``RSTB``; this
pass puts it to use.

The rewrite is exact. With ``REGMODE_X = "OUTREG"`` port X's output is
``DOX(t+1) = OCEX(t) ? latch(t) : DOX(t)``, powering up 0 — the behaviour of a flip-flop
with ``D = latch``, clock ``CLKX``, clock enable ``OCEX``, no set/reset and initial value 0.
So a read port is converted when all of this holds:

- its ``REGMODE`` is ``"NOREG"``, its ``RST`` is the constant 0 and its ``OCE`` the constant 1;
- every data bit of the port that has any sink has exactly one: the ``DI`` of a
  ``TRELLIS_FF`` (no other cell, no module port);
- each such flip-flop is clocked by the port's clock net with the same polarity, never sets
  or resets (``LSR`` constant 0 through ``LSRMUX "LSR"``), starts at 0 (``REGSET "RESET"``,
  no ``GSR`` cell in the module or ``GSR "DISABLED"``), and all of them have one clock enable
  (``CEMUX "1"``: always; ``CEMUX "CE"``: the same ``CE`` net), which becomes the ``OCE``.

In true dual port mode (widths up to 18) each of ports A and B is a read port with data bits
``DOX0..17``, clock ``CLKX``. In 36-bit (pseudo dual port) mode, which Yosys uses for words of
19 to 36 bits at most 512 deep, port A only writes and the one read port is port B with all
36 data bits ``{DOB0..17, DOA0..17}`` on ``CLKB`` (as nextpnr times it); its output register
is both halves' (``REGMODE_A`` and ``REGMODE_B`` set together, as Lattice's tools set them for
a registered ``PDPW16KD``), enabled by ``OCEB`` (``OCEA`` is given the same enable). Port A's
clock must then be the same net as ``CLKB`` or a constant (a ROM).

Each data bit then drives the flip-flop's ``Q`` net and the flip-flop is removed; bits
without sinks stay unconnected. Anything else is left as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

RAM = "DP16KD"
FF = "TRELLIS_FF"
GSR_CELLS = ("GSR", "SGSR")


@dataclass
class OutregReport:
    """What the pass did: ports converted (``cell/A``), flip-flops removed, and for every
    port with registered-looking reads that was left alone, why."""

    ports: list[str] = field(default_factory=list)
    flip_flops: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"EBR output registers: {len(self.ports)} block RAM port(s) set to OUTREG, "
                f"{self.flip_flops} flip-flop(s) absorbed")


def param(cell: dict, name: str, default: str = "") -> str:
    """A cell parameter as Yosys writes it (strings may carry a trailing blank that marks
    them as strings), stripped."""
    return str(cell.get("parameters", {}).get(name, default)).strip()


def width(cell: dict, name: str) -> int:
    """An integer parameter, written by Yosys as a binary string (or a decimal string)."""
    text = param(cell, name, "0")
    try:
        return int(text, 2) if set(text) <= {"0", "1"} and len(text) > 4 else int(text)
    except ValueError:
        return 0


def sinks_of(module: dict) -> dict:
    """Net bit -> list of ``(cell name, port)`` reading it; a module port that outputs the
    bit is listed as ``(None, port name)``."""
    sinks: dict = {}
    for name, cell in module.get("cells", {}).items():
        directions = cell.get("port_directions", {})
        for port, bits in cell.get("connections", {}).items():
            if directions.get(port, "input") == "output":
                continue
            for bit in bits:
                if isinstance(bit, int):
                    sinks.setdefault(bit, []).append((name, port))
    for port, info in module.get("ports", {}).items():
        if info.get("direction") != "input":
            for bit in info.get("bits", []):
                if isinstance(bit, int):
                    sinks.setdefault(bit, []).append((None, port))
    return sinks


def flip_flop_enable(ff: dict) -> tuple | None:
    """The clock enable of a ``TRELLIS_FF`` as ``("1",)`` (always) or ``("net", bit)``, or
    None when it cannot be an EBR output register (inverted enable, set/reset, set init)."""
    connections = ff.get("connections", {})
    if param(ff, "REGSET", "RESET") != "RESET":
        return None
    lsr = connections.get("LSR", ["0"])
    if param(ff, "LSRMUX", "LSR") != "LSR" or lsr not in (["0"], []):
        return None
    cemux = param(ff, "CEMUX", "1")
    if cemux == "1":
        return ("1",)
    if cemux == "CE":
        ce = connections.get("CE", ["1"])
        if ce == ["1"]:
            return ("1",)
        if len(ce) == 1 and isinstance(ce[0], int):
            return ("net", ce[0])
    return None


def data_pins(ram: dict, sides: str, sinks: dict) -> list[str]:
    """The data output pins of ``sides`` (``"A"``, ``"B"`` or ``"AB"``) that something reads."""
    connections = ram["connections"]
    return [f"DO{side}{index}" for side in sides for index in range(18)
            if isinstance((connections.get(f"DO{side}{index}") or ["0"])[0], int)
            and sinks.get(connections[f"DO{side}{index}"][0])]


def registers_behind(module: dict, pins: list[str], clock: list, inverted: bool, sinks: dict,
                     gsr: bool, ram: dict) -> tuple[dict, tuple | None, str]:
    """The flip-flop behind each of ``pins`` of ``ram`` and their one clock enable, or empty,
    None and the reason the pins cannot use the block's output register."""
    cells = module["cells"]
    registers: dict[str, str] = {}
    enables = set()
    for pin in pins:
        readers = sinks[ram["connections"][pin][0]]
        if len(readers) != 1 or readers[0][0] is None or readers[0][1] != "DI":
            return {}, None, f"{pin} read by something other than one flip-flop"
        ff_name = readers[0][0]
        ff = cells[ff_name]
        if ff.get("type") != FF:
            return {}, None, f"{pin} read by a {ff.get('type')}"
        if ff["connections"].get("CLK") != clock or (param(ff, "CLKMUX", "CLK") == "INV") != inverted:
            return {}, None, f"{pin}'s flip-flop on another clock"
        if gsr and param(ff, "GSR", "DISABLED") != "DISABLED":
            return {}, None, f"{pin}'s flip-flop under global set/reset"
        enable = flip_flop_enable(ff)
        if enable is None:
            return {}, None, f"{pin}'s flip-flop has a set/reset, set value or inverted enable"
        enables.add(enable)
        registers[pin] = ff_name
    if len(enables) != 1:
        return {}, None, "flip-flops with different clock enables"
    return registers, enables.pop(), ""


def read_clock(ram: dict, side: str) -> tuple[list, bool, str]:
    """Port ``side``'s clock net and whether it is inverted, or a reason it is not a net."""
    clock = ram["connections"].get(f"CLK{side}", ["0"])
    if len(clock) != 1 or not isinstance(clock[0], int):
        return [], False, f"CLK{side} not a net"
    return clock, param(ram, f"CLK{side}MUX", f"CLK{side}") == "INV", ""


def idle_output_controls(ram: dict, side: str, free_enables: tuple = (["1"],)) -> str:
    """Why port ``side``'s output register controls are not free (empty when they are): a
    register mode already set, a reset in use, or an output enable not in ``free_enables``."""
    connections = ram["connections"]
    if param(ram, f"REGMODE_{side}", "NOREG") != "NOREG":
        return "already registered"
    if connections.get(f"RST{side}", ["0"]) != ["0"] or connections.get(f"OCE{side}", ["1"]) not in free_enables:
        return f"RST{side} or OCE{side} in use"
    return ""


def move_registers(module: dict, ram: dict, registers: dict, enable: tuple, sides: str) -> list[str]:
    """Connect each pin to its flip-flop's output, set ``sides``' output registers with the
    enable; returns the flip-flops to remove."""
    cells = module["cells"]
    connections = ram["connections"]
    for pin, ff_name in registers.items():
        connections[pin] = list(cells[ff_name]["connections"]["Q"])
    for side in sides:
        connections[f"OCE{side}"] = ["1"] if enable == ("1",) else [enable[1]]
        ram.setdefault("parameters", {})[f"REGMODE_{side}"] = "OUTREG"
    return list(registers.values())


def convert_port(module: dict, name: str, side: str, sinks: dict, gsr: bool) -> tuple[list[str], str]:
    """Try to put port ``side`` (``"A"`` or ``"B"``) of a true dual port block ``name`` into
    OUTREG mode; return the flip-flops to remove, or an empty list and the reason it was left
    alone."""
    ram = module["cells"][name]
    pins = data_pins(ram, side, sinks)
    if not pins:
        return [], "no data output read"
    why = idle_output_controls(ram, side)
    clock, inverted, clock_why = read_clock(ram, side)
    if why or clock_why:
        return [], why or clock_why
    registers, enable, why = registers_behind(module, pins, clock, inverted, sinks, gsr, ram)
    if not registers:
        return [], why
    return move_registers(module, ram, registers, enable, side), ""


def convert_wide_read(module: dict, name: str, sinks: dict, gsr: bool) -> tuple[list[str], str]:
    """Try to put the read port of a 36-bit (pseudo dual port) block ``name`` — port B's
    clock, all 36 data bits — into OUTREG mode, both halves; as :func:`convert_port`."""
    ram = module["cells"][name]
    pins = data_pins(ram, "AB", sinks)
    if not pins:
        return [], "no data output read"
    # Yosys ties the write port's unused OCEA to 0; any constant is free
    why = idle_output_controls(ram, "B") or idle_output_controls(ram, "A", (["0"], ["1"]))
    if why:
        return [], why
    clock, inverted, why = read_clock(ram, "B")
    if why:
        return [], why
    write_clock = ram["connections"].get("CLKA", ["0"])
    if any(isinstance(bit, int) for bit in write_clock) and (
            write_clock != clock or (param(ram, "CLKAMUX", "CLKA") == "INV") != inverted):
        return [], "36-bit mode with the write port on another clock"
    registers, enable, why = registers_behind(module, pins, clock, inverted, sinks, gsr, ram)
    if not registers:
        return [], why
    return move_registers(module, ram, registers, enable, "AB"), ""


def absorb_module(module: dict, prefix: str, report: OutregReport, module_name: str = "") -> None:
    """Run the pass on one netlist module (named ``module_name``), recording into ``report``."""
    cells = module.get("cells", {})
    gsr = any(cell.get("type") in GSR_CELLS for cell in cells.values())
    sinks = sinks_of(module)
    for name in sorted(n for n, cell in cells.items() if cell.get("type") == RAM):
        ram = cells[name]
        wide = width(ram, "DATA_WIDTH_A") == 36 or width(ram, "DATA_WIDTH_B") == 36
        for side in ("B",) if wide else ("A", "B"):
            removed, why = (convert_wide_read(module, name, sinks, gsr) if wide
                            else convert_port(module, name, side, sinks, gsr))
            if removed:
                for ff_name in removed:
                    del cells[ff_name]
                report.ports.append(f"{prefix}{name}/{side}")
                report.flip_flops += len(removed)
                report.by_module[module_name] = report.by_module.get(module_name, 0) + len(removed)
            elif why != "no data output read":
                report.skipped[f"{prefix}{name}/{side}"] = why


def absorb_output_registers(netlist: dict) -> OutregReport:
    """Run the pass on every module of a Yosys JSON netlist (changed in place)."""
    report = OutregReport()
    for module_name, module in netlist.get("modules", {}).items():
        prefix = "" if len(netlist["modules"]) == 1 else f"{module_name}:"
        absorb_module(module, prefix, report, module_name)
    return report


def absorb_file(source: Path, target: Path | None = None) -> OutregReport:
    """Read a Yosys JSON netlist, run the pass and write it to ``target`` (default: in place)."""
    netlist = json.loads(Path(source).read_text())
    report = absorb_output_registers(netlist)
    Path(target or source).write_text(json.dumps(netlist))
    return report
