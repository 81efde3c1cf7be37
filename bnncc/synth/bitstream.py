"""From a build directory to a bitstream through the open flow: Yosys (``synth_ecp5`` /
``synth_ice40``, flattened), nextpnr (``nextpnr-ecp5`` / ``nextpnr-ice40``) and the packer
(``ecppack`` / ``icepack``). Everything lands in ``BUILD/board/``: the board top and
constraints, the netlist, every tool's log, ``pnr_report.json`` and the bitstream. On ECP5,
Yosys's netlist (``netlist_yosys.json``) first goes through
:mod:`bnncc.synth.ecp5_outreg`, which moves flip-flops registering a block RAM's read data
into the block's output register; nextpnr places the result (``netlist.json``), and the
flip-flop count of the resources is that of the placed netlist.

The core clock is the one the build was compiled for (``report.json``'s ``clock_mhz``: the
frequency the board's PLL achieves, :mod:`bnncc.synth.pll`). nextpnr times every clock of
the design against its constraint (the oscillator's from the constraints file, and the
PLL's output derived from it; ``--freq`` for any other) and its report (``--report``) gives
the achieved maximum frequency of each; :class:`ClockTiming` holds one clock's pair. A
design that misses timing is still placed, routed and packed (``--timing-allow-fail``) so
that its logs and bitstream can be examined, but :attr:`BitstreamResult.timing_met` is
false, and ``bnncc compile`` says so and exits with code 1 (:class:`TimingError`).

Placement seeds: nextpnr's placement, and with it the Fmax, depends on its random seed (the
same DS-CNN netlist on the ECP5-85F: 110.8 MHz with the default seed, 127.3 MHz with seed
2). With ``seeds`` = N > 1 a design that misses timing is placed and routed again with seeds
2, 3, ... up to N, stopping at the first that meets every clock; the best attempt (highest
lowest Fmax) is kept as ``nextpnr.log``, ``pnr_report.json`` and the placed design, each
attempt's log as ``nextpnr.seedK.log``. Seeds after the first run several at once on a
machine with several cores, with the same outcome and files as one after another
(:mod:`bnncc.synth.placement_seeds`). :attr:`BitstreamResult.attempts` lists (seed, lowest
Fmax) of every attempt; seed 1 is nextpnr's default. ``bnncc compile --bitstream`` tries
:data:`DEFAULT_SEEDS` unless told otherwise: a design that meets timing at once costs one
placement, as before, and one that misses gets two more chances before the command fails.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bnncc.boards.protocol import shell_parameters
from bnncc.errors import BnnccError
from bnncc.files import write_text
from bnncc.synth.boards import BOARD_TOP, Board, board_top
from bnncc.synth.ecp5_outreg import absorb_file
from bnncc.synth.placement_seeds import Attempt, sweep
from bnncc.synth.pll import Pll
from bnncc.synth.yosys import run_tool
from bnncc.synth.yowasp import deep_stack
from bnncc.tools import tool_command
from bnncc.hw.resources import Resources
from bnncc.synth.resources import count_cells

BOARD_DIR = "board"
#: placement seeds ``compile --bitstream`` tries by default (at 125 MHz on the ECP5-85F five
#: of the 17 examples miss timing with the first and meet it with the second)
DEFAULT_SEEDS = 3
SHELL_MODULES = ["uart_rx.v", "uart_tx.v", "uart_stream_shell.v", "stream_fifo.v"]


class TimingError(BnnccError):
    """A bitstream was built but nextpnr says a clock misses its requested frequency."""


@dataclass(frozen=True)
class ClockTiming:
    """One clock net of the placed design: the Fmax nextpnr achieved and the frequency it
    was constrained to, MHz."""

    net: str
    fmax_mhz: float
    requested_mhz: float

    @property
    def met(self) -> bool:
        return self.fmax_mhz >= self.requested_mhz

    def line(self) -> str:
        return (f"clock {self.net}: Fmax {self.fmax_mhz:.2f} MHz against {self.requested_mhz:.6g} MHz requested "
                f"({'met' if self.met else 'NOT MET'})")

    def to_dict(self) -> dict:
        return {"net": self.net, "fmax_mhz": self.fmax_mhz, "requested_mhz": self.requested_mhz, "met": self.met}


def clock_timings(report: dict, default_mhz: float) -> list[ClockTiming]:
    """Every clock of nextpnr's ``--report`` JSON (``{"fmax": {net: {"achieved": f,
    "constraint": f}}}``), by the name of the design's net (without what nextpnr adds: the
    ``$glbnet$`` prefix of a net on a global buffer, a ``$TRELLIS_IO_IN`` suffix ...),
    sorted; ``default_mhz`` where a clock has no constraint recorded."""
    clocks = [ClockTiming(net.removeprefix("$glbnet$").split("$")[0] or net, round(float(entry["achieved"]), 2),
                          round(float(entry.get("constraint", default_mhz)), 4))
              for net, entry in report.get("fmax", {}).items()]
    return sorted(clocks, key=lambda clock: clock.net)


@dataclass
class BitstreamResult:
    """The bitstream, the resources placed, the PLL, and each clock's Fmax against the
    frequency requested; ``fmax_mhz`` is the lowest Fmax and ``clock_mhz`` the core clock."""

    bitstream: Path
    resources: Resources
    fmax_mhz: float
    clock_mhz: float
    utilization: dict
    seconds: dict
    clocks: list[ClockTiming] = field(default_factory=list)
    pll: str = ""
    oscillator_mhz: float = 0.0
    seed: int = 1
    attempts: list[tuple[int, float]] = field(default_factory=list)

    @property
    def timing_met(self) -> bool:
        if self.clocks:
            return all(clock.met for clock in self.clocks)
        return self.fmax_mhz >= self.clock_mhz

    def failure(self) -> str:
        """One line naming every clock that misses timing."""
        missed = [c for c in self.clocks if not c.met] or [ClockTiming("core", self.fmax_mhz, self.clock_mhz)]
        return "; ".join(f"{c.net} reaches {c.fmax_mhz:.2f} MHz, {c.requested_mhz:.6g} MHz requested" for c in missed)

    def to_dict(self) -> dict:
        return {"bitstream": str(self.bitstream), "resources": self.resources.to_dict(), "fmax_mhz": self.fmax_mhz,
                "clock_mhz": self.clock_mhz, "oscillator_mhz": self.oscillator_mhz, "pll": self.pll,
                "timing_met": self.timing_met, "clocks": [clock.to_dict() for clock in self.clocks],
                "utilization": self.utilization, "seconds": self.seconds, "seed": self.seed,
                "attempts": [{"seed": seed, "fmax_mhz": fmax} for seed, fmax in self.attempts]}


def seed_file(name: str, tag: str) -> str:
    """``name`` of one placement attempt: ``tag`` (``""`` for seed 1, ``".seedK"``) before
    the suffix, as in ``pnr_report.seed2.json``."""
    stem, suffix = name.rsplit(".", 1)
    return f"{stem}{tag}.{suffix}"


def build_clock_mhz(build: Path) -> float | None:
    """The core clock the build was compiled for (from its report.json), if recorded."""
    try:
        return float(json.loads((Path(build) / "report.json").read_text())["clock_mhz"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def write_board_files(build: Path, board: Board, clock_mhz: float | None = None) -> list[str]:
    """Write the board top (PLL for a core clock of ``clock_mhz``, default the build's
    clock, else the oscillator's), the constraints and the shell modules into
    ``BUILD/board`` and return every Verilog source (relative to ``build``) in compile
    order."""
    pll = board_pll(build, board, clock_mhz)
    from bnncc.backends.verilog.design import rtl_lib_dir

    directory = build / BOARD_DIR
    directory.mkdir(parents=True, exist_ok=True)
    sources = (build / "filelist.f").read_text().split()
    for module in SHELL_MODULES:
        if f"rtl/{module}" not in sources:
            write_text(directory / module, (rtl_lib_dir() / module).read_text())
            sources.insert(0, f"{BOARD_DIR}/{module}")
    shell = shell_parameters(build, pll.f_out * 1e6, family=board.device.family)
    write_text(directory / f"{BOARD_TOP}.v", board_top(board, shell, pll))
    write_text(directory / board.constraints_file, board.constraints)
    return sources + [f"{BOARD_DIR}/{BOARD_TOP}.v"]


def board_pll(build: Path, board: Board, clock_mhz: float | None = None) -> Pll:
    """The PLL setting for ``clock_mhz`` (default: the build's clock, else the oscillator's)."""
    wanted = clock_mhz if clock_mhz is not None else build_clock_mhz(build)
    return board.pll(wanted)


def build_bitstream(build: Path, board: Board, log: Callable[[str], None] = lambda message: None,
                    clock_mhz: float | None = None, seeds: int = 1) -> BitstreamResult:
    """Synthesize, place and route (up to ``seeds`` placement seeds, see the module
    docstring), and pack the design in ``build`` for ``board`` with a core clock of
    ``clock_mhz`` (default: the build's clock, else the oscillator's)."""
    build = Path(build)
    pll = board_pll(build, board, clock_mhz)
    log(f"core clock {pll.f_out:.6g} MHz: {pll.describe()}")
    sources = write_board_files(build, board, pll.f_out)
    family = board.device.family
    out = BOARD_DIR
    seconds = {}
    lock = threading.Lock()     # placements of several seeds may run at once

    def step(name: str, command: list[str], log_name: str, label: str = "") -> None:
        log(f"{name}{label}...")
        start = time.monotonic()
        run_tool(command, build, build / out / log_name, name)
        took = time.monotonic() - start
        with lock:
            seconds[name] = round(seconds.get(name, 0.0) + took, 1)   # summed over seeds
        log(f"{name}{label} done in {took:.0f} s (log: {build / out / log_name})")

    script = [
        "read_verilog -defer " + " ".join(sources),
        f"hierarchy -top {BOARD_TOP}",
        f"synth_{family} -top {BOARD_TOP} -json {out}/{'netlist_yosys' if family == 'ecp5' else 'netlist'}.json",
        f"tee -q -o {out}/stat.json stat -json",
    ]
    write_text(build / out / "synth.ys", "\n".join(script) + "\n")
    step("yosys", [*deep_stack(tool_command("yosys")), "-q", "-l", f"{out}/yosys.log", f"{out}/synth.ys"], "yosys.out")
    absorbed = 0
    if family == "ecp5":
        outreg = absorb_file(build / out / "netlist_yosys.json", build / out / "netlist.json")
        absorbed = outreg.flip_flops
        log(outreg.line())
    pnr = f"nextpnr-{family}"
    device = board.device
    placed = "placed.config" if family == "ecp5" else "placed.asc"

    def place(seed: int) -> Attempt:
        # seed 1: nextpnr's default (no --seed); each attempt its own files
        tag = "" if seed == 1 else f".seed{seed}"
        label = "" if seed == 1 else f" (seed {seed})"
        common = ["--json", f"{out}/netlist.json", "--freq", f"{pll.f_out:.6g}", "--report",
                  f"{out}/{seed_file('pnr_report.json', tag)}", "--timing-allow-fail", "-l",
                  f"{out}/{seed_file('nextpnr.log', tag)}", "-q", *([] if seed == 1 else ["--seed", str(seed)])]
        if family == "ecp5":
            size = device.name.split("-")[1]
            step(pnr, [*tool_command(pnr), f"--{size}", "--package", board.package,
                       "--lpf", f"{out}/{board.constraints_file}", "--textcfg", f"{out}/{seed_file(placed, tag)}",
                       *common], seed_file("nextpnr.out", tag), label)
        else:
            step(pnr, [*tool_command(pnr), "--up5k", "--package", board.package,
                       "--pcf", f"{out}/{board.constraints_file}", "--asc", f"{out}/{seed_file(placed, tag)}",
                       *common], seed_file("nextpnr.out", tag), label)
        report = json.loads((build / out / seed_file("pnr_report.json", tag)).read_text())
        clocks = clock_timings(report, pll.f_out)
        fmax = min((clock.fmax_mhz for clock in clocks), default=0.0)
        if seeds > 1:
            log(f"seed {seed}: Fmax {fmax:.2f} MHz")
        return Attempt(seed, fmax, bool(clocks) and all(clock.met for clock in clocks), (tag, report, clocks))

    best, kept, dropped = sweep(place, max(1, seeds))
    for attempt in dropped:
        # placed at the same time as a lower seed that met: removed, as if never run
        for name in ("pnr_report.json", placed, "nextpnr.log", "nextpnr.out"):
            (build / out / seed_file(name, attempt.data[0])).unlink(missing_ok=True)
    attempts = [(attempt.seed, round(attempt.fmax_mhz, 2)) for attempt in kept]
    seed, fmax, (tag, report, clocks) = best.seed, best.fmax_mhz, best.data
    if tag:
        # the best attempt under the names of a single one (the default seed's log kept apart)
        directory = build / out
        (directory / "nextpnr.seed1.log").write_bytes((directory / "nextpnr.log").read_bytes())
        for name in ("pnr_report.json", placed, "nextpnr.log"):
            (directory / name).write_bytes((directory / seed_file(name, tag)).read_bytes())
    if family == "ecp5":
        step("ecppack", [*tool_command("ecppack"), "--compress", f"{out}/{placed}",
                         f"{out}/{board.bitstream_file}"], "ecppack.log")
    else:
        step("icepack", [*tool_command("icepack"), f"{out}/{placed}", f"{out}/{board.bitstream_file}"],
             "icepack.log")
    for clock in clocks:
        log(clock.line())
    utilization = {cell: {"used": use["used"], "available": use["available"]}
                   for cell, use in report.get("utilization", {}).items() if use["used"]}
    stat = json.loads((build / out / "stat.json").read_text())
    top = next(name for name in stat["modules"] if name.lstrip("\\") == BOARD_TOP)
    resources = count_cells(stat["modules"][top]["num_cells_by_type"], family)
    resources.ff -= absorbed
    return BitstreamResult(build / out / board.bitstream_file, resources, round(fmax, 2), round(pll.f_out, 6),
                           utilization, seconds, clocks, pll.describe(), board.clock_mhz, seed, attempts)
