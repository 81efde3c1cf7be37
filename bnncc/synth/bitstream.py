"""From a build directory to a bitstream through the open flow: Yosys (``synth_ecp5`` /
``synth_ice40``, flattened), nextpnr (``nextpnr-ecp5`` / ``nextpnr-ice40``) and the packer
(``ecppack`` / ``icepack``). Everything lands in ``BUILD/board/``: the board top and
constraints, the netlist, every tool's log, ``pnr_report.json`` and the bitstream.

nextpnr's report gives the achieved maximum frequency of the clock (``fmax``) and the cells
placed; a design that misses the board's clock is still packed, and the report says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bnncc.boards.protocol import shell_parameters
from bnncc.files import write_text
from bnncc.synth.boards import BOARD_TOP, Board, board_top
from bnncc.synth.yosys import run_tool
from bnncc.synth.yowasp import deep_stack
from bnncc.tools import tool_command
from bnncc.hw.resources import Resources
from bnncc.synth.resources import count_cells

BOARD_DIR = "board"
SHELL_MODULES = ["uart_rx.v", "uart_tx.v", "uart_stream_shell.v", "stream_fifo.v"]


@dataclass
class BitstreamResult:
    """The bitstream, the resources placed, and the clock achieved against the one asked."""

    bitstream: Path
    resources: Resources
    fmax_mhz: float
    clock_mhz: float
    utilization: dict
    seconds: dict

    @property
    def timing_met(self) -> bool:
        return self.fmax_mhz >= self.clock_mhz

    def to_dict(self) -> dict:
        return {"bitstream": str(self.bitstream), "resources": self.resources.to_dict(), "fmax_mhz": self.fmax_mhz,
                "clock_mhz": self.clock_mhz, "timing_met": self.timing_met, "utilization": self.utilization,
                "seconds": self.seconds}


def write_board_files(build: Path, board: Board) -> list[str]:
    """Write the board top, the constraints and the shell modules into ``BUILD/board`` and
    return every Verilog source (relative to ``build``) in compile order."""
    from bnncc.backends.verilog.design import rtl_lib_dir

    directory = build / BOARD_DIR
    directory.mkdir(parents=True, exist_ok=True)
    sources = (build / "filelist.f").read_text().split()
    for module in SHELL_MODULES:
        if f"rtl/{module}" not in sources:
            write_text(directory / module, (rtl_lib_dir() / module).read_text())
            sources.insert(0, f"{BOARD_DIR}/{module}")
    shell = shell_parameters(build, board.clock_mhz * 1e6)
    write_text(directory / f"{BOARD_TOP}.v", board_top(board, shell))
    write_text(directory / board.constraints_file, board.constraints)
    return sources + [f"{BOARD_DIR}/{BOARD_TOP}.v"]


def build_bitstream(build: Path, board: Board, log: Callable[[str], None] = lambda message: None) -> BitstreamResult:
    """Synthesize, place and route, and pack the design in ``build`` for ``board``."""
    build = Path(build)
    sources = write_board_files(build, board)
    family = board.device.family
    out = BOARD_DIR
    seconds = {}

    def step(name: str, command: list[str], log_name: str) -> None:
        log(f"{name}...")
        start = time.monotonic()
        run_tool(command, build, build / out / log_name, name)
        seconds[name] = round(time.monotonic() - start, 1)
        log(f"{name} done in {seconds[name]:.0f} s (log: {build / out / log_name})")

    script = [
        "read_verilog -defer " + " ".join(sources),
        f"hierarchy -top {BOARD_TOP}",
        f"synth_{family} -top {BOARD_TOP} -json {out}/netlist.json",
        f"tee -q -o {out}/stat.json stat -json",
    ]
    write_text(build / out / "synth.ys", "\n".join(script) + "\n")
    step("yosys", [*deep_stack(tool_command("yosys")), "-q", "-l", f"{out}/yosys.log", f"{out}/synth.ys"], "yosys.out")
    pnr = f"nextpnr-{family}"
    common = ["--json", f"{out}/netlist.json", "--freq", f"{board.clock_mhz:g}", "--report", f"{out}/pnr_report.json",
              "--timing-allow-fail", "-l", f"{out}/nextpnr.log", "-q"]
    device = board.device
    if family == "ecp5":
        size = device.name.split("-")[1]
        step(pnr, [*tool_command(pnr), f"--{size}", "--package", board.package,
                   "--lpf", f"{out}/{board.constraints_file}", "--textcfg", f"{out}/placed.config", *common], "nextpnr.out")
        step("ecppack", [*tool_command("ecppack"), "--compress", f"{out}/placed.config",
                         f"{out}/{board.bitstream_file}"], "ecppack.log")
    else:
        step(pnr, [*tool_command(pnr), "--up5k", "--package", board.package,
                   "--pcf", f"{out}/{board.constraints_file}", "--asc", f"{out}/placed.asc", *common], "nextpnr.out")
        step("icepack", [*tool_command("icepack"), f"{out}/placed.asc", f"{out}/{board.bitstream_file}"],
             "icepack.log")
    report = json.loads((build / out / "pnr_report.json").read_text())
    fmax = min((clock["achieved"] for clock in report.get("fmax", {}).values()), default=0.0)
    utilization = {cell: {"used": use["used"], "available": use["available"]}
                   for cell, use in report.get("utilization", {}).items() if use["used"]}
    stat = json.loads((build / out / "stat.json").read_text())
    top = next(name for name in stat["modules"] if name.lstrip("\\") == BOARD_TOP)
    resources = count_cells(stat["modules"][top]["num_cells_by_type"], family)
    return BitstreamResult(build / out / board.bitstream_file, resources, round(fmax, 2), board.clock_mhz,
                           utilization, seconds)
