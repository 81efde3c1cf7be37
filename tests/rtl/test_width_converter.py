"""rtl_lib/width_converter.v against a numpy model: wide beats split into narrow pieces
least significant first, narrow beats gathered with the first in the least significant
bits, equal widths passed through; under random stalls on both sides and at full rate."""

from pathlib import Path

import numpy as np
import pytest

from bnncc.sim import StreamSimulator

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"

# (IN_WIDTH, OUT_WIDTH): split by 4 with ports wider than 64 bits, split by 2, gather by 3,
# gather 1-bit beats by 5, pass-through.
WIDTHS = [(96, 24), (10, 5), (8, 24), (1, 5), (13, 13)]


def simulator(in_width: int, out_width: int) -> StreamSimulator:
    return StreamSimulator("width_converter", [RTL / "width_converter.v"], {"IN_WIDTH": in_width, "OUT_WIDTH": out_width})


def random_beats(rng, count: int, width: int) -> list[int]:
    """``count`` uniform random ``width``-bit beats (Python ints, any width)."""
    chunks = rng.integers(0, 1 << 16, size=(count, (width + 15) // 16), dtype=np.int64)
    return [sum(int(c) << (16 * i) for i, c in enumerate(row)) & ((1 << width) - 1) for row in chunks]


def convert(beats: list[int], in_width: int, out_width: int) -> list[int]:
    """Reference: the bits of the stream, least significant first, cut into out_width beats."""
    bits = np.array([(beat >> i) & 1 for beat in beats for i in range(in_width)], dtype=np.int64)
    pieces = bits.reshape(-1, out_width)
    return [int(sum(int(b) << i for i, b in enumerate(row))) for row in pieces]


@pytest.mark.parametrize("in_width, out_width", WIDTHS)
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 50, 50), (2, 30, 50), (3, 50, 30)])
def test_width_converter_matches_reference_under_stalls(in_width, out_width, seed, in_stall, out_stall):
    rng = np.random.default_rng(seed)
    ratio = max(in_width, out_width) // min(in_width, out_width)
    count = 300 * (ratio if out_width > in_width else 1)
    beats = random_beats(rng, count, in_width)
    expected = convert(beats, in_width, out_width)
    result = simulator(in_width, out_width).run(beats, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert result.outputs == expected
    assert len(result.input_cycles) == len(beats)


@pytest.mark.parametrize("in_width, out_width", WIDTHS)
def test_width_converter_rate_without_stalls(in_width, out_width):
    """The narrow side moves one beat per cycle, the wide side one per ratio cycles."""
    rng = np.random.default_rng(11)
    ratio = max(in_width, out_width) // min(in_width, out_width)
    beats = random_beats(rng, 120 * (ratio if out_width > in_width else 1), in_width)
    expected = convert(beats, in_width, out_width)
    result = simulator(in_width, out_width).run(beats, len(expected), seed=11)
    assert result.outputs == expected
    in_step, out_step = (ratio, 1) if in_width > out_width else (1, ratio)
    assert np.all(np.diff(result.output_cycles) == out_step)
    # Splitting takes the second beat at once (into its holding register), then one beat
    # per ratio cycles.
    skip = 1 if in_width > out_width else 0
    assert np.all(np.diff(result.input_cycles)[skip:] == in_step)
    # Latency from the first input to the first output: the registered output (one cycle),
    # after gathering the ratio input beats (ratio - 1 more); none when passing through.
    latency = result.output_cycles[0] - result.input_cycles[0]
    assert latency == (0 if in_width == out_width else 1 if in_width > out_width else ratio)
