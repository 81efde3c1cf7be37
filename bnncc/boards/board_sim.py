"""Pin-level co-simulation of a whole board top (``BUILD/board/board_top.v``: PLL, UART shell
and core) in Verilator, with the vendor PLL primitive replaced by its model
(``pll_models.v``).

Verilator cannot make one clock from another of a different frequency, so the bench drives
the board's ``clk`` pin with a faster "tick" clock and the PLL model divides it
(:func:`tick_mhz`): the core clock then has exactly the frequency the real PLL makes from
the oscillator, and the bench drives and samples the UART pins in real time, one line bit
every ``f_tick / baud`` ticks (fractional in general). Everything inside the board top, the
dividers and the UART's ``CLKS_PER_BIT`` included, is what the bitstream is built from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bnncc.boards.protocol import BITS_PER_CHARACTER, DEFAULT_BAUD, shell_parameters
from bnncc.boards.uart_sim import PinSimulator
from bnncc.synth.boards import BOARD_TOP, Board
from bnncc.synth.pll import Ecp5Pll, Ice40Pll, NoPll, Pll

PLL_MODELS = Path(__file__).with_name("pll_models.v")
#: Core clock cycles the PLL models stay unlocked after configuration (their LOCK_CYCLES).
MODEL_LOCK_CYCLES = 8192


def tick_mhz(pll: Pll) -> float:
    """Frequency the bench runs the board's clock pin at for ``pll``'s model: the oscillator
    times ``2 * CLKFB_DIV`` (EHXPLLL) or ``2 * (DIVF + 1)`` (SB_PLL40); the oscillator
    itself without a PLL."""
    if isinstance(pll, Ecp5Pll):
        return pll.f_in * 2 * pll.clkfb_div
    if isinstance(pll, Ice40Pll):
        return pll.f_in * 2 * (pll.divf + 1)
    if isinstance(pll, NoPll):
        return pll.f_in
    raise TypeError(f"no simulation model for {pll!r}")


def ticks_per_core_cycle(pll: Pll) -> int:
    """Ticks of the bench's clock per core clock cycle: ``2 * CLKI_DIV`` (EHXPLLL),
    ``2 * (DIVR + 1) * 2**DIVQ`` (SB_PLL40), 1 without a PLL."""
    if isinstance(pll, Ecp5Pll):
        return 2 * pll.clki_div
    if isinstance(pll, Ice40Pll):
        return 2 * (pll.divr + 1) * 2 ** pll.divq
    return 1


@dataclass
class BoardSimulation:
    """A board top ready to simulate: the pin simulator, the PLL it was built with, the
    UART divider, and the time base (MHz of a bench cycle)."""

    simulator: PinSimulator
    pll: Pll
    clks_per_bit: int
    tick_mhz: float

    @property
    def ticks_per_core_cycle(self) -> int:
        return ticks_per_core_cycle(self.pll)

    @property
    def lock_cycles(self) -> int:
        """Bench cycles from the start until the shell is out of reset: the PLL model's lock,
        the shell's reset synchronizer and its 16 reset cycles, with a margin."""
        if isinstance(self.pll, NoPll):
            return 64
        return (MODEL_LOCK_CYCLES + 32) * self.ticks_per_core_cycle

    def max_idle(self, build: Path) -> int:
        """Bench cycles without an output byte after which a wait is a deadlock."""
        design = json.loads((Path(build) / "design.json").read_text())
        core = 8 * len(design["links"]) * design["bottleneck_cycles"] + 10_000
        return int(4 * BITS_PER_CHARACTER * self.simulator.bit_cycles + core * self.ticks_per_core_cycle)


def board_simulation(build: Path, board: Board, clock_mhz: float | None = None,
                     baud: int = DEFAULT_BAUD) -> BoardSimulation:
    """Write the board files for a core clock of ``clock_mhz`` (as a bitstream build does)
    and set up their simulation with the PLL model."""
    from bnncc.synth.bitstream import board_pll, write_board_files

    build = Path(build)
    pll = board_pll(build, board, clock_mhz)
    sources = [build / source for source in write_board_files(build, board, pll.f_out)] + [PLL_MODELS]
    clks_per_bit = shell_parameters(build, pll.f_out * 1e6, baud)["CLKS_PER_BIT"]
    tick = tick_mhz(pll)
    simulator = PinSimulator(BOARD_TOP, sources, {}, line_clks=tick * 1e6 / baud)
    return BoardSimulation(simulator, pll, clks_per_bit, tick)
