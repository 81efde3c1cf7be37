"""rtl_lib/stream_concat.v: the output is the channel concatenation of the inputs (for every
pixel, C_0/SIMD beats of input 0, then C_1/SIMD beats of input 1, ...), computed here in numpy
from NHWC tensors, with no beat lost, repeated or reordered under independent random gaps on
every input and random output back-pressure; one beat per cycle flows when nothing stalls;
only the selected input is ever taken from; the module lints clean under -Wall; illegal
parameters stop elaboration with the message module_rules.py predicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.rules import violations
from bnncc.sim.verilator import FINISHED, SimulationError, build_verilated, check_messages, verilator_command

RTL_LIB = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCES = [RTL_LIB / "stream_concat.v", RTL_LIB / "skid_buffer.v"]
HARNESS = Path(__file__).resolve().with_name("stream_concat_harness.cpp")

# (BITS, SIMD, PIXELS, [C_0, C_1, ...]): 1-bit elements and odd channel counts; odd widths
# with a 65-bit beat (a 195-bit s_axis_tdata port); four inputs of 3-bit elements.
SHAPES = [(1, 1, 40, [3, 5]), (13, 5, 36, [10, 5, 15]), (3, 2, 25, [2, 8, 4, 6])]


def channels_value(channels: list[int]) -> int:
    """CHANNELS as an integer: C_k in bits [16*k +: 16]."""
    return sum(c << (16 * k) for k, c in enumerate(channels))


def parameters(bits: int, simd: int, pixels: int, channels: list[int]) -> dict:
    """Verilator parameters; CHANNELS as a sized vector of N_IN 16-bit fields."""
    n_in = len(channels)
    return {"N_IN": n_in, "BITS": bits, "SIMD": simd, "PIXELS": pixels,
            "CHANNELS": f"{16 * n_in}'h{channels_value(channels):0{4 * n_in}x}"}


def pack(elements: np.ndarray, bits: int, simd: int) -> list[int]:
    """Beats of SIMD elements each (element 0 in the least significant bits) from a flat
    NHWC element sequence."""
    groups = elements.reshape(-1, simd)
    return [sum(int(e) << (bits * i) for i, e in enumerate(group)) for group in groups]


def frames(rng, bits: int, simd: int, pixels: int, channels: list[int]):
    """Random NHWC inputs (PIXELS x C_k each) as beats per input, and the expected output
    beats: the inputs concatenated along channels, then packed."""
    tensors = [rng.integers(0, 1 << bits, size=(pixels, c), dtype=np.int64) for c in channels]
    expected = pack(np.concatenate(tensors, axis=1).reshape(-1), bits, simd)
    return [pack(t.reshape(-1), bits, simd) for t in tensors], expected


def run(shape, beats: list[list[int]], seed: int, in_stalls: list[int], out_stall: int, tmp_path: Path,
        max_idle: int = 10_000):
    """Cycles of the beats taken from every input, and [(cycle, beat)] taken from the output."""
    bits, simd, pixels, channels = shape
    executable = build_verilated("stream_concat", SOURCES, parameters(*shape), HARNESS)
    inputs, outputs = tmp_path / f"in_{seed}.txt", tmp_path / f"out_{seed}.log"
    inputs.write_text("".join(f"{k} {beat:x}\n" for k, stream in enumerate(beats) for beat in stream))
    process = subprocess.run(
        [str(executable), str(inputs), str(outputs), str(seed), str(bits * simd), str(len(channels)), str(max_idle),
         ",".join(str(s) for s in in_stalls), str(out_stall)],
        capture_output=True, text=True,
    )
    if process.returncode == FINISHED:
        raise SimulationError("; ".join(check_messages(process.stdout)) or process.stderr.strip())
    assert process.returncode == 0, process.stderr
    taken: dict[int, list[int]] = {k: [] for k in range(len(channels))}
    out: list[tuple[int, int]] = []
    for line in outputs.read_text().splitlines():
        parts = line.split()
        if parts[0] == "I":
            taken[int(parts[1])].append(int(parts[2]))
        else:
            out.append((int(parts[1]), int(parts[2], 16)))
    return taken, out


def input_order(channels: list[int], simd: int, pixels: int) -> list[int]:
    """The input each accepted beat must come from, in order."""
    return [k for _ in range(pixels) for k, c in enumerate(channels) for _ in range(c // simd)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_output_is_the_channel_concatenation_under_independent_stalls(shape, seed, tmp_path):
    bits, simd, pixels, channels = shape
    rng = np.random.default_rng(seed)
    beats, expected = frames(rng, bits, simd, pixels, channels)
    assert len(expected) >= 200
    in_stalls = [int(s) for s in rng.integers(0, 61, size=len(channels))]
    out_stall = int(rng.integers(30, 51))
    taken, out = run(shape, beats, seed, in_stalls, out_stall, tmp_path)
    assert [beat for _, beat in out] == expected, f"input stalls {in_stalls} %, output stall {out_stall} %"
    for k, stream in enumerate(beats):
        assert len(taken[k]) == len(stream)
    # Inputs were taken one at a time, in the concatenation's order.
    by_cycle = sorted((cycle, k) for k, cycles in taken.items() for cycle in cycles)
    assert len({cycle for cycle, _ in by_cycle}) == len(by_cycle)
    assert [k for _, k in by_cycle] == input_order(channels, simd, pixels)


@pytest.mark.parametrize("shape", SHAPES)
def test_full_rate_without_stalls(shape, tmp_path):
    bits, simd, pixels, channels = shape
    beats, expected = frames(np.random.default_rng(7), bits, simd, pixels, channels)
    taken, out = run(shape, beats, 7, [0], 0, tmp_path)
    assert [beat for _, beat in out] == expected
    in_cycles = sorted(cycle for cycles in taken.values() for cycle in cycles)
    out_cycles = [cycle for cycle, _ in out]
    # one beat per cycle on both sides, across input switches, one cycle after the input
    assert np.all(np.diff(in_cycles) == 1)
    assert out_cycles == [cycle + 1 for cycle in in_cycles]


@pytest.mark.parametrize("shape", [(1, 1, 1, [1, 1]), (13, 5, 1, [10, 5, 15]), (64, 1, 3, [1] * 8),
                                   (3, 4, 2, [4, 65532])])
def test_lints_clean(shape):
    generics = [f"-G{name}={value}" for name, value in parameters(*shape).items()]
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "stream_concat", *generics,
         *[str(s) for s in SOURCES]],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


def test_channels_not_a_multiple_of_simd_is_refused_as_module_rules_predicts(tmp_path):
    shape = (4, 2, 3, [4, 6, 3])
    bits, simd, pixels, channels = shape
    predicted = [v.message for v in violations("stream_concat", {"N_IN": 3, "BITS": bits, "SIMD": simd,
                                                                 "PIXELS": pixels,
                                                                 "CHANNELS": channels_value(channels)})]
    assert predicted == ["input 2 has 3 channels, not a positive multiple of SIMD=2"]
    with pytest.raises(SimulationError,
                       match=r"^stream_concat: stream_concat: input 2 has 3 channels, not a positive multiple of SIMD=2$"):
        run(shape, [[1, 2], [1, 2, 3], [1]], 1, [0], 0, tmp_path)


def test_rules_decode_every_field_and_the_default():
    assert violations("stream_concat", {}) == []
    assert [v.message for v in violations("stream_concat", {"N_IN": 3, "CHANNELS": channels_value([4, 4])})] == [
        "input 2 has 0 channels, not a positive multiple of SIMD=1"]
    assert [v.message for v in violations("stream_concat", {"N_IN": 9, "BITS": 0, "PIXELS": 0,
                                                            "CHANNELS": channels_value([1] * 9)})] == [
        "N_IN must be 2..8", "BITS and SIMD must be >= 1", "PIXELS must be >= 1", "WIDTH must be >= 1"]
