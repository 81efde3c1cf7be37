"""rtl_lib/skid_buffer.v: beats pass unchanged and in order under random stalls on both
sides, and one beat per cycle flows when neither side stalls."""

from pathlib import Path

import numpy as np
import pytest

from bnncc.sim import StreamSimulator

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"


def simulator(width: int) -> StreamSimulator:
    return StreamSimulator("skid_buffer", [RTL / "skid_buffer.v"], {"WIDTH": width})


@pytest.mark.parametrize("width", [1, 37])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 50, 50), (2, 30, 60), (3, 60, 30), (4, 0, 50), (5, 50, 0)])
def test_skid_buffer_keeps_every_beat_under_stalls(width, seed, in_stall, out_stall):
    rng = np.random.default_rng(seed)
    beats = [int(v) for v in rng.integers(0, 1 << width, size=1000, dtype=np.uint64)]
    result = simulator(width).run(beats, len(beats), seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == beats
    assert len(result.input_cycles) == len(beats)


def test_skid_buffer_full_rate_without_stalls():
    rng = np.random.default_rng(7)
    beats = [int(v) for v in rng.integers(0, 1 << 37, size=1000, dtype=np.uint64)]
    result = simulator(37).run(beats, len(beats), seed=7)
    assert result.outputs == beats
    # One beat per cycle on both sides, one cycle of latency.
    assert np.all(np.diff(result.input_cycles) == 1)
    assert np.all(np.diff(result.output_cycles) == 1)
    assert result.output_cycles[0] == result.input_cycles[0] + 1
