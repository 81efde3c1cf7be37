"""Pin-level co-simulation of a build behind the UART shell: Verilator runs
``uart_stream_shell`` around the build's ``bnncc_top``, a harness (``uart_harness.cpp``)
drives the ``uart_rx`` pin bit by bit with the protocol's bytes and decodes ``uart_tx``
back into bytes, exactly as a host's UART would see them.

The simulated line runs at :data:`SIM_CLKS_PER_BIT` = 8 clock cycles per bit instead of a
real board's hundreds, so a byte takes 80 cycles; the shell's logic is the same for any
``CLKS_PER_BIT``. Builds are cached like :mod:`bnncc.sim.verilator` (keyed by sources,
parameters and harness; ``BNNCC_CACHE`` moves the cache; ``ccache`` is used when present).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnncc.backends.verilog.design import rtl_lib_dir
from bnncc.boards.protocol import BITS_PER_CHARACTER, LinkFormat, frames_in_flight, rx_fifo_depth
from bnncc.sim.verilator import SimulationError, build_key, build_verilated

HARNESS = Path(__file__).with_name("uart_harness.cpp")
SHELL = "uart_stream_shell"
#: Clock cycles per UART bit in simulation.
SIM_CLKS_PER_BIT = 8
#: Modules the shell adds to a build.
SHELL_MODULES = ("uart_rx", "uart_tx", "stream_fifo", SHELL)


@dataclass
class PinScript:
    """What the harness does on ``uart_rx``, in order (see ``uart_harness.cpp``)."""

    commands: list[str] = field(default_factory=list)

    def send(self, data: bytes, gaps: np.ndarray | None = None) -> None:
        """Send ``data``, idling ``gaps[i]`` cycles after byte ``i`` when given."""
        for index, byte in enumerate(data):
            self.commands.append(f"B {byte:02x}")
            if gaps is not None and gaps[index]:
                self.idle(int(gaps[index]))

    def send_bad_stop(self, byte: int) -> None:
        """Send ``byte`` with a low stop bit (a framing error the receiver must drop)."""
        self.commands.append(f"F {byte:02x}")

    def idle(self, cycles: int) -> None:
        self.commands.append(f"I {cycles}")

    def line_break(self, cycles: int) -> None:
        """Hold the line low for ``cycles`` cycles."""
        self.commands.append(f"L {cycles}")

    def wait_for(self, total_bytes: int) -> None:
        """Idle until ``total_bytes`` bytes have come back since the start."""
        self.commands.append(f"W {total_bytes}")

    def text(self) -> str:
        return "".join(command + "\n" for command in self.commands)


@dataclass
class PinRun:
    """Bytes decoded on ``uart_tx``, the cycle at which each one's stop bit was sampled and
    the cycle at which its start bit began."""

    data: bytes
    cycles: list[int]
    starts: list[int] = field(default_factory=list)


@dataclass
class PinSimulator:
    """A Verilog top with ports ``clk``, ``uart_rx``, ``uart_tx`` and, unless it is a board
    top, ``rst_n``. The top's ``CLKS_PER_BIT`` parameter is set to ``clks_per_bit`` and the
    line runs at that many cycles of ``clk`` per bit; with ``line_clks`` (a board top, whose
    divider is fixed inside), no parameter is set and the line runs at ``line_clks`` cycles
    of ``clk`` per bit, which may be fractional."""

    top: str
    sources: list[Path]
    parameters: dict[str, int] = field(default_factory=dict)
    clks_per_bit: int = SIM_CLKS_PER_BIT
    line_clks: float | None = None

    @property
    def bit_cycles(self) -> float:
        """Cycles of ``clk`` per line bit."""
        return self.clks_per_bit if self.line_clks is None else self.line_clks

    def key(self) -> str:
        return build_key(self.top, self.sources, self._parameters(), HARNESS)

    def _parameters(self) -> dict[str, int]:
        if self.line_clks is not None:
            return dict(self.parameters)
        return dict(self.parameters, CLKS_PER_BIT=self.clks_per_bit)

    def build(self) -> Path:
        """Compile (or reuse) the simulator; returns the executable."""
        return build_verilated(self.top, self.sources, self._parameters(), HARNESS, tag="_pins")

    def run(self, script: PinScript, max_idle: int = 200_000, cwd: Path | None = None) -> PinRun:
        """Play ``script``; ``cwd`` is where relative memory-file paths are resolved."""
        executable = self.build()
        stem = executable.parent / f"pins_{os.getpid()}"
        script_file, output_file = stem.with_suffix(".script"), stem.with_suffix(".out")
        script_file.write_text(script.text())
        try:
            process = subprocess.run(
                [str(executable), str(script_file), str(output_file), repr(float(self.bit_cycles)), str(max_idle)],
                capture_output=True, text=True, cwd=cwd,
            )
            if process.returncode != 0:
                raise SimulationError(f"pin-level simulation of '{self.top}' failed: {process.stderr.strip() or process.returncode}")
            lines = [line.split() for line in output_file.read_text().splitlines()]
        finally:
            script_file.unlink(missing_ok=True)
            output_file.unlink(missing_ok=True)
        return PinRun(bytes(int(line[0], 16) for line in lines), [int(line[1]) for line in lines],
                      [int(line[2]) for line in lines])


def shell_simulator(build_dir: Path, clks_per_bit: int = SIM_CLKS_PER_BIT, depth: int | None = None) -> PinSimulator:
    """The shell around the design in ``build_dir``, with a receive FIFO of ``depth`` bytes
    (default :func:`~bnncc.boards.protocol.rx_fifo_depth`)."""
    build_dir = Path(build_dir)
    link = LinkFormat.from_build(build_dir)
    sources = {Path(line).name: build_dir / line for line in (build_dir / "filelist.f").read_text().split()}
    for module in SHELL_MODULES:
        sources.setdefault(f"{module}.v", rtl_lib_dir() / f"{module}.v")
    parameters = {
        "IN_WIDTH": link.input.width,
        "OUT_WIDTH": link.output.width,
        "RX_FIFO_DEPTH": rx_fifo_depth(link) if depth is None else depth,
    }
    return PinSimulator(SHELL, list(sources.values()), parameters, clks_per_bit)


def frames_script(link: LinkFormat, frames: list[bytes], window: int, gaps: int = 0, seed: int = 1) -> PinScript:
    """Send ``frames`` keeping at most ``window`` of them in flight (the protocol's pacing),
    with up to ``gaps`` idle bit times after each byte at random, then wait for all output."""
    rng = np.random.default_rng(seed)
    out_bytes = link.output.bytes_per_frame
    script = PinScript()
    for index, data in enumerate(frames):
        if index >= window:
            script.wait_for((index - window + 1) * out_bytes)
        idle = rng.integers(0, gaps * SIM_CLKS_PER_BIT + 1, size=len(data)) if gaps else None
        script.send(data, idle)
    script.wait_for(len(frames) * out_bytes)
    return script


def run_shell(build_dir: Path, script: PinScript, expected: int, depth: int | None = None) -> bytes:
    """Play ``script`` on the shell around the design in ``build_dir`` and return the
    ``expected`` bytes it sends back; fails if it sends more or fewer."""
    simulator = shell_simulator(build_dir, depth=depth)
    # After the last expected byte, listen two more characters for bytes that should not come.
    script = PinScript(list(script.commands))
    script.idle(2 * BITS_PER_CHARACTER * simulator.clks_per_bit)
    run = simulator.run(script, max_idle=_max_idle(build_dir), cwd=build_dir)
    if len(run.data) != expected:
        raise SimulationError(f"the board sent {len(run.data)} bytes, the protocol expects {expected}")
    return run.data


def simulate_uart_bytes(build_dir: Path, data: bytes, gaps: int = 0, seed: int = 1, depth: int | None = None) -> bytes:
    """The bytes the board sends back for ``data`` (whole input frames), sent with the
    protocol's pacing for a receive FIFO of ``depth`` bytes and up to ``gaps`` idle bit
    times after each byte at random."""
    link = LinkFormat.from_build(build_dir)
    size = link.input.bytes_per_frame
    if len(data) % size:
        raise SimulationError(f"{len(data)} bytes are not whole frames of {size} bytes")
    frames = [data[i:i + size] for i in range(0, len(data), size)]
    window = frames_in_flight(link, depth)
    script = frames_script(link, frames, window, gaps, seed)
    return run_shell(build_dir, script, len(frames) * link.output.bytes_per_frame, depth)


def simulate_uart(build_dir: Path, hw_inputs: np.ndarray, out_shape: tuple[int, ...] | None = None,
                  gaps: int = 0, seed: int = 1) -> np.ndarray:
    """Outputs of the design in ``build_dir`` for ``hw_inputs`` (the hardware input tensor,
    frames first), sent through the UART shell at pin level with up to ``gaps`` idle bit
    times after each byte; shaped ``(frames,) + out_shape`` like
    :func:`bnncc.backends.cosim.run_design` (``(frames, elements)`` without ``out_shape``)."""
    link = LinkFormat.from_build(build_dir)
    frames = len(hw_inputs)
    returned = simulate_uart_bytes(build_dir, link.input.encode(hw_inputs), gaps, seed)
    outputs = link.output.decode(returned, frames)
    return outputs.reshape((frames,) + tuple(out_shape)) if out_shape is not None else outputs


def _max_idle(build_dir: Path) -> int:
    """Cycles without an output byte after which a wait is a deadlock: far more than a
    frame's latency through the pipeline."""
    design = json.loads((Path(build_dir) / "design.json").read_text())
    return 200_000 + 8 * len(design["links"]) * design["bottleneck_cycles"]
