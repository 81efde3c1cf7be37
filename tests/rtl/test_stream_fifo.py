"""rtl_lib/stream_fifo.v, READ_REG 0 and 1: beats pass unchanged and in order under random
stalls on both sides; one beat per cycle flows when neither side stalls, each leaving
``latency`` (2 or 3) cycles after it entered; with the output never taken the FIFO holds
exactly DEPTH beats besides its read registers (DEPTH + 1 with READ_REG 0, DEPTH + 2 with
READ_REG 1), the capacity FIFO sizing counts on; Verilator lints it clean."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.modules.stream_fifo import latency
from bnncc.sim import StreamSimulator
from bnncc.sim.verilator import SimulationError, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"
#: Odd shapes: a width that fills no byte, depths that are no power of two.
SHAPES = [(13, 5), (7, 2), (9, 37)]


def simulator(width: int, depth: int, read_reg: int) -> StreamSimulator:
    return StreamSimulator("stream_fifo", [RTL / "stream_fifo.v"],
                           {"WIDTH": width, "DEPTH": depth, "READ_REG": read_reg})


def beats(width: int, count: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(v) for v in rng.integers(0, 1 << width, size=count, dtype=np.uint64)]


@pytest.mark.parametrize("read_reg", [0, 1])
@pytest.mark.parametrize("width, depth", SHAPES)
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 50, 50), (2, 20, 70), (3, 70, 20)])
def test_fifo_keeps_every_beat_in_order_under_stalls(width, depth, read_reg, seed, in_stall, out_stall):
    data = beats(width, 600, seed)
    result = simulator(width, depth, read_reg).run(data, len(data), seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == data
    assert len(result.input_cycles) == len(data)


@pytest.mark.parametrize("read_reg", [0, 1])
@pytest.mark.parametrize("width, depth", SHAPES)
def test_fifo_full_rate_and_latency_without_stalls(width, depth, read_reg):
    data = beats(width, 300, 9)
    result = simulator(width, depth, read_reg).run(data, len(data), seed=9)
    assert result.outputs == data
    assert np.all(np.diff(result.input_cycles) == 1)
    assert np.all(np.diff(result.output_cycles) == 1)
    assert result.output_cycles[0] - result.input_cycles[0] == latency({"READ_REG": read_reg}) == 2 + read_reg


@pytest.mark.parametrize("read_reg", [0, 1])
@pytest.mark.parametrize("width, depth", SHAPES)
def test_fifo_capacity_with_the_output_never_taken(tmp_path, width, depth, read_reg):
    """The output never ready: the FIFO takes DEPTH beats into its storage and one per read
    register, then no more (the harness stops after 50 idle cycles and leaves its log)."""
    data = beats(width, depth + 10, 4)
    with pytest.raises(SimulationError, match="no transfer"):
        simulator(width, depth, read_reg).run(data, 1, seed=4, out_stall=100, max_idle=50, work_dir=tmp_path)
    log = next(tmp_path.glob("run_*_4.out")).read_text().split("\n")
    taken = sum(line.startswith("I ") for line in log)
    assert taken == depth + 1 + read_reg


@pytest.mark.parametrize("read_reg", [0, 1])
@pytest.mark.parametrize("width, depth", SHAPES)
def test_fifo_lints_clean(width, depth, read_reg):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", f"-GWIDTH={width}", f"-GDEPTH={depth}", f"-GREAD_REG={read_reg}",
         str(RTL / "stream_fifo.v")], capture_output=True, text=True)
    warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    assert process.returncode == 0 and not warnings, "\n".join(warnings)
