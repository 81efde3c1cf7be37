"""The board PLLs: EHXPLLL (ECP5) and SB_PLL40 (iCE40) dividers within the parts' limits, the
closest frequency chosen and an unreachable one refused by name; --clock-mhz with --board;
and the whole board top (PLL model, UART shell in the core clock, core) at pin level in
real time, bytes exact and the baud rate at the pins right for the achieved clock."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from bnncc.boards.board_sim import board_simulation
from bnncc.boards.host import host_program
from bnncc.boards.protocol import DEFAULT_BAUD, MAX_BAUD_ERROR, LinkFormat, frames_in_flight
from bnncc.boards.uart_sim import PinScript, frames_script
from bnncc.cli import main
from bnncc.compile import compile_model
from bnncc.errors import UsageError
from bnncc.executor import Executor
from bnncc.frontend import load_graph
from bnncc.passes.apply_folding import load_folding
from bnncc.synth.boards import get_board
from bnncc.synth.pll import (
    TOLERANCE, Ecp5Pll, Ice40Pll, NoPll, ecp5_pll, ecp5_settings, ice40_pll, ice40_settings, pll_for,
)
from bnncc.verify.inputs import random_inputs
from bnncc.verify.run import model_stages
from tiny_models import tiny_mlp


# -- ECP5 EHXPLLL -------------------------------------------------------------------------
@pytest.mark.parametrize("wanted, dividers", [
    (50, (1, 2, 12)), (100, (1, 4, 6)), (125, (1, 5, 5)), (200, (1, 8, 3)), (65, (5, 13, 9)), (400, (1, 16, 1)),
])
def test_ecp5_dividers_of_round_frequencies(wanted, dividers):
    setting = ecp5_pll(25, wanted)
    assert (setting.clki_div, setting.clkfb_div, setting.clkop_div) == dividers
    assert setting.f_out == pytest.approx(wanted)
    assert setting.clkop_cphase == setting.clkop_div - 1
    assert setting.parameters()["FEEDBK_PATH"] == '"CLKOP"'


def test_ecp5_settings_stay_within_the_limits():
    settings = list(ecp5_settings(25))
    assert len(settings) > 500
    for s in settings:
        assert 1 <= s.clki_div <= 128 and 1 <= s.clkfb_div <= 128 and 1 <= s.clkop_div <= 128
        assert 3.125 <= s.f_pfd <= 400 and 400 <= s.f_vco <= 800 and 3.125 <= s.f_out <= 400


def ecp5_brute_force(f_in: float) -> np.ndarray:
    """Every output frequency of every (CLKI_DIV, CLKFB_DIV, CLKOP_DIV) in the limits."""
    i, fb, op = np.meshgrid(np.arange(1, 129), np.arange(1, 129), np.arange(1, 129), indexing="ij")
    pfd = f_in / i
    out = pfd * fb
    vco = out * op
    ok = (pfd >= 3.125) & (pfd <= 400) & (out >= 3.125) & (out <= 400) & (vco >= 400) & (vco <= 800)
    return np.unique(out[ok])


def test_ecp5_picks_the_closest_frequency_of_all_settings():
    reachable = ecp5_brute_force(25)
    for wanted in np.random.default_rng(3).uniform(3.2, 399, size=40):
        best = reachable[np.argmin(np.abs(reachable - wanted))]
        assert abs(ecp5_pll(25, wanted).f_out - wanted) == pytest.approx(abs(best - wanted), abs=1e-9)


# -- iCE40 SB_PLL40 -----------------------------------------------------------------------
@pytest.mark.parametrize("wanted, divr, divf, divq, achieved", [
    (50, 0, 66, 4, 50.25), (100, 0, 66, 3, 100.5), (33, 0, 87, 5, 33.0), (125, 0, 82, 3, 124.5),
])
def test_ice40_dividers_as_icepll_computes_them(wanted, divr, divf, divq, achieved):
    setting = ice40_pll(12, wanted)
    assert (setting.divr, setting.divf, setting.divq) == (divr, divf, divq)
    assert setting.f_out == pytest.approx(achieved)
    assert setting.filter_range == 1  # f_pfd = 12 MHz
    assert setting.primitive == "SB_PLL40_PAD"


def test_ice40_filter_range_follows_the_pfd():
    assert [Ice40Pll(0, 50, 3, f).filter_range for f in (12, 20, 30, 50, 80, 120)] == [1, 2, 3, 4, 5, 6]


def test_ice40_settings_stay_within_the_limits_and_the_closest_wins():
    settings = list(ice40_settings(12))
    for s in settings:
        assert 0 <= s.divr <= 15 and 0 <= s.divf <= 127 and 1 <= s.divq <= 6
        assert 10 <= s.f_pfd <= 133 and 533 <= s.f_vco <= 1066 and 16 <= s.f_out <= 275
    reachable = np.array(sorted({s.f_out for s in settings}))
    # Independently: 12 MHz * (DIVF + 1) / 2**DIVQ (DIVR = 0 is the only legal PFD from 12 MHz).
    brute = {12 * m / 2 ** q for m in range(1, 129) for q in range(1, 7) if 533 <= 12 * m <= 1066 and 16 <= 12 * m / 2 ** q <= 275}
    assert set(reachable.tolist()) == brute
    for wanted in np.random.default_rng(4).uniform(16, 275, size=40):
        assert abs(ice40_pll(12, wanted).f_out - wanted) == pytest.approx(np.min(np.abs(reachable - wanted)))


# -- tolerance and refusal ------------------------------------------------------------------
@pytest.mark.parametrize("family, f_in, wanted, nearest", [
    ("ecp5", 25, 450, "400"), ("ecp5", 25, 2, "3.125"), ("ice40", 12, 10, "16.125"), ("ice40", 12, 300, "270"),
    ("ice40", 12, 15.9, "16.125"),
])
def test_unreachable_frequency_is_refused_naming_the_nearest(family, f_in, wanted, nearest):
    with pytest.raises(UsageError, match=rf"^--clock-mhz {wanted:g}: the \w+ cannot make {wanted:g} MHz from the "
                                         rf"{f_in:g} MHz oscillator within 1%; the nearest it reaches is {nearest} MHz$"):
        pll_for(family, f_in, wanted)


def test_tolerance_is_relative_to_the_request():
    assert TOLERANCE == 0.01
    assert pll_for("ice40", 12, 16.0).f_out == 16.125     # 0.8 % off: taken
    assert pll_for("ecp5", 25, 3.1).f_out == 3.125        # 0.8 % off: taken
    with pytest.raises(UsageError, match="nearest it reaches is 3.125 MHz"):
        pll_for("ecp5", 25, 3.09)                         # 1.1 % off
    assert isinstance(pll_for("ecp5", 25, 25), NoPll) and isinstance(pll_for("ice40", 12, 12), NoPll)
    assert isinstance(pll_for("ecp5", 25, 25.1), Ecp5Pll)


# -- the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("pll_mlp") / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=16, hidden=12, classes=5, bits=2), path)
    return path


@pytest.mark.parametrize("board, wanted, message", [
    ("ulx3s", 450, "--clock-mhz 450: the EHXPLLL cannot make 450 MHz from the 25 MHz oscillator within 1%; "
                   "the nearest it reaches is 400 MHz"),
    ("icebreaker", 10, "--clock-mhz 10: the SB_PLL40_PAD cannot make 10 MHz from the 12 MHz oscillator within 1%; "
                       "the nearest it reaches is 16.125 MHz"),
])
def test_cli_refuses_an_unreachable_clock(tmp_path, mlp_path, board, wanted, message):
    result = CliRunner().invoke(main, ["compile", str(mlp_path), "--board", board, "--clock-mhz", str(wanted),
                                       "-o", str(tmp_path / "b")])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {message}", result.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("board, wanted, achieved", [("ulx3s", 50, 50.0), ("icebreaker", 50, 50.25), ("ulx3s", None, 25)])
def test_cli_reports_at_the_achieved_clock(tmp_path, mlp_path, board, wanted, achieved):
    args = ["compile", str(mlp_path), "--board", board, "--fps", "100000", "-o", str(tmp_path / "b")]
    result = CliRunner().invoke(main, args + (["--clock-mhz", str(wanted)] if wanted else []))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["clock_mhz"] == achieved
    assert report["fps"] == pytest.approx(achieved * 1e6 / report["bottleneck_cycles_per_frame"])


# -- the board top at pin level ------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_build(tmp_path_factory, mlp_path):
    build = tmp_path_factory.mktemp("pll_build") / "build"
    compile_model(mlp_path, output=build, folding={"MatMul_4": {"PE": 4, "SIMD": 8}, "MatMul_8": {"PE": 5, "SIMD": 3}})
    return mlp_path, build


def hardware_io(model: Path, build: Path, frames: int, seed: int):
    """The executor's hardware input and output for ``frames`` random frames."""
    program = host_program(model, build)
    graph = model_stages(load_graph(model), load_folding(build / "folding.json"))[-1][1]
    inputs = random_inputs(graph, frames, seed, 0.0, 1.0)
    values = Executor(graph).run(inputs, keep=[program.input_tensor, program.output_tensor])
    return values[program.input_tensor], values[program.output_tensor]


@pytest.mark.parametrize("board, wanted", [("ulx3s", 65), ("icebreaker", 33)])
def test_board_top_with_pll_model_at_pin_level(mlp_build, board, wanted):
    """The host side runs at 115200 baud in real time; the core clock comes from the PLL
    model at 65/25 (ECP5: CLKI_DIV 5, CLKFB_DIV 13) or 33/12 (iCE40: DIVF 87, DIVQ 5) of
    the oscillator. A byte sent before the PLL locks is ignored (LOCK holds the shell in
    reset); after it, bytes in and out are exact, and characters the board sends back to
    back are 10 bits of the UART divider computed from the achieved clock apart."""
    model, build = mlp_build
    link = LinkFormat.from_build(build)
    sim = board_simulation(build, get_board(board), wanted)
    assert sim.pll.f_out == pytest.approx(wanted)
    assert sim.clks_per_bit == round(wanted * 1e6 / DEFAULT_BAUD)
    hw_input, expected = hardware_io(model, build, 4, seed=wanted)
    data = link.input.encode(hw_input)
    size = link.input.bytes_per_frame
    # A byte sent before the PLL locks must not reach the core (it would shift every frame).
    script = PinScript()
    script.send(b"\xa5")
    assert 10 * sim.simulator.bit_cycles < sim.lock_cycles - 400 * sim.ticks_per_core_cycle
    script.idle(sim.lock_cycles)
    script.commands += frames_script(link, [data[i:i + size] for i in range(0, len(data), size)],
                                     frames_in_flight(link)).commands
    script.idle(30 * int(sim.simulator.bit_cycles))  # and listen for bytes that should not come
    run = sim.simulator.run(script, max_idle=sim.max_idle(build), cwd=build)
    assert len(run.data) == 4 * link.output.bytes_per_frame
    assert np.array_equal(link.output.decode(run.data, 4).reshape(expected.shape), expected)
    # Baud rate at the uart_tx pin: the start edges of back-to-back characters (the bytes of
    # one output beat) are one character time apart.
    ticks = 10 * sim.clks_per_bit * sim.ticks_per_core_cycle
    gaps = np.diff(run.starts)
    back_to_back = gaps[gaps < 1.5 * ticks]
    assert len(back_to_back) >= 4 and set(back_to_back.tolist()) == {ticks}
    baud = 10 * sim.tick_mhz * 1e6 / ticks
    assert baud == pytest.approx(wanted * 1e6 / sim.clks_per_bit)
    assert abs(baud - DEFAULT_BAUD) / DEFAULT_BAUD < MAX_BAUD_ERROR


def test_board_top_wiring(mlp_build):
    """The shell runs in the PLL's clock, its reset pin is the PLL's LOCK, and the dividers
    and the UART divider are those computed for the clock."""
    _, build = mlp_build
    sim = board_simulation(build, get_board("ulx3s"), 50)
    top = (build / "board" / "board_top.v").read_text()
    assert ".rst_n(locked)" in top and ".LOCK(locked)" in top and ".clk(core_clk)" in top
    assert "CLKI_DIV(1)" in top and "CLKFB_DIV(2)" in top and "CLKOP_DIV(12)" in top and f"CLKS_PER_BIT({sim.clks_per_bit})" in top
