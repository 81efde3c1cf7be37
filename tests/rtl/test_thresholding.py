"""rtl_lib/thresholding.v against bnncc's Thresholding op (MultiThreshold along the channel
axis of an NHWC stream) on random data and thresholds, under random stalls on both sides,
plus its rate without stalls; and the thresholds memory layout of
bnncc/hw/memory_words.py."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.memory_words import thresholding_words as threshold_words
from bnncc.hw.memory_words import write_mem
from bnncc.datatype import BINARY, BIPOLAR, DataType
from bnncc.ir.ops.hw import Thresholding
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import element_bits, pack_beats

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"


@dataclass
class Case:
    channels: int
    pe: int
    in_dtype: DataType
    out_dtype: DataType
    steps: int          # thresholds per channel
    extra_bits: int = 0  # wider threshold fields than needed, with unclamped thresholds


CASES = {
    # odd channel count, PE = 1, signed input, INT4 output (bias -8), 15 thresholds
    "c37_pe1_int4_to_int4": Case(37, 1, DataType.int(4), DataType.int(4), 15),
    # PE > 1 dividing an odd channel count, unsigned input, UINT2 output, wider fields
    "c21_pe3_uint3_to_uint2": Case(21, 3, DataType.uint(3), DataType.uint(2), 3, extra_bits=2),
    # one threshold to a BIPOLAR output, all channels in one beat
    "c8_pe8_int8_to_bipolar": Case(8, 8, DataType.int(8), BIPOLAR, 1),
    # 1-bit unsigned input, BINARY output
    "c6_pe2_uint1_to_binary": Case(6, 2, DataType.uint(1), BINARY, 1),
}


def out_bias(dtype: DataType) -> int:
    """The code of count 0, modulo 2**OUT_BITS: INT(n) codes are count + min."""
    return int(dtype.min) if dtype.kind == "INT" else 0


def random_values(rng, dtype: DataType, shape) -> np.ndarray:
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


def random_thresholds(rng, case: Case) -> np.ndarray:
    """Thresholds around and beyond the input range (unsorted: MultiThreshold counts every
    threshold reached). With the narrowest fields they are clamped to
    [min, max + 1] as the backend does, which keeps every count; with wider fields they
    also lie outside that range."""
    low, high = int(case.in_dtype.min), int(case.in_dtype.max)
    spread = 4 + 4 * case.extra_bits
    t = rng.integers(low - spread, high + 2 + spread, size=(case.channels, case.steps))
    if case.extra_bits == 0:
        t = np.clip(t, low, high + 1)
    return t


def threshold_bits(case: Case) -> int:
    """Signed fields holding [min, max + 1] (IN_BITS + 1 signed, IN_BITS + 2 unsigned),
    plus ``extra_bits``."""
    return element_bits(case.in_dtype) + 1 + int(case.in_dtype.kind != "INT") + case.extra_bits


def simulator(case: Case, mem_name: str) -> StreamSimulator:
    parameters = {
        "CH": case.channels, "PE": case.pe, "IN_BITS": element_bits(case.in_dtype),
        "IN_SIGNED": int(case.in_dtype.kind == "INT"), "N_THRESHOLDS": case.steps,
        "THRESHOLD_BITS": threshold_bits(case), "OUT_BITS": element_bits(case.out_dtype),
        "OUT_BIAS": out_bias(case.out_dtype),
        # A Verilog string: Verilator takes -GTHRESHOLD_FILE="name" (quotes included).
        # Relative, so that the cached build does not depend on pytest's tmp_path: the
        # simulation reads it from the current directory (the test's tmp_path).
        "THRESHOLD_FILE": f'"{mem_name}"',
    }
    return StreamSimulator("thresholding", [RTL / "thresholding.v"], parameters)


def prepare(case: Case, name: str, seed: int, frames: int, pixels: tuple[int, int]):
    """Input beats, expected output beats and the memory file for one run."""
    rng = np.random.default_rng(seed)
    x = random_values(rng, case.in_dtype, (frames, *pixels, case.channels))
    t = random_thresholds(rng, case)
    op = Thresholding(name="thr", inputs=["x", "t"], outputs=["y"], channels=case.channels, out_dtype=case.out_dtype, pe=case.pe)
    (y,) = op.execute(x, t)
    bits = threshold_bits(case)
    mem_name = f"{name}.mem"
    write_mem(mem_name, threshold_words(t, case.pe, bits), case.pe * case.steps * bits)
    beats_in = pack_beats(x.reshape(-1, case.pe), case.in_dtype)
    beats_out = pack_beats(y.reshape(-1, case.pe), case.out_dtype)
    return beats_in, beats_out, mem_name


@pytest.mark.parametrize("name", list(CASES))
def test_thresholding_matches_op_under_stalls(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = CASES[name]
    for seed, in_stall, out_stall in [(1, 50, 50), (2, 30, 50), (3, 50, 30)]:
        beats_in, expected, mem_name = prepare(case, name, seed, frames=3, pixels=(2, 3))
        result = simulator(case, mem_name).run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
        assert result.outputs == expected, f"seed {seed}"
        assert len(result.input_cycles) == len(beats_in)


@pytest.mark.parametrize("name", ["c37_pe1_int4_to_int4", "c21_pe3_uint3_to_uint2"])
def test_thresholding_one_beat_per_cycle_without_stalls(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = CASES[name]
    beats_in, expected, mem_name = prepare(case, name, 9, frames=2, pixels=(3, 3))
    result = simulator(case, mem_name).run(beats_in, len(expected), seed=9)
    assert result.outputs == expected
    assert np.all(np.diff(result.input_cycles) == 1)
    assert np.all(np.diff(result.output_cycles) == 1)
    assert result.output_cycles[0] - result.input_cycles[0] == 2  # latency


# -- memory layout ---------------------------------------------------------------------------
def test_threshold_words_layout():
    t = np.array([[-1, 2], [3, -4], [5, 6], [7, -8]])
    words = threshold_words(t, pe=2, bits=4)
    # word f holds T[f*2 + p][s] at bits [(p*2 + s)*4, +4), two's complement
    assert words == [0xC32F, 0x8765]
    assert threshold_words(t, pe=4, bits=4) == [0x8765_C32F]
    assert threshold_words(t.astype(np.float64), pe=1, bits=4) == [0x2F, 0xC3, 0x65, 0x87]


def test_threshold_words_rejects_bad_input():
    with pytest.raises(ValueError, match="does not divide"):
        threshold_words(np.zeros((5, 2)), pe=2, bits=4)
    with pytest.raises(ValueError, match="do not fit"):
        threshold_words(np.array([[8]]), pe=1, bits=4)
    with pytest.raises(ValueError, match="integers"):
        threshold_words(np.array([[0.5]]), pe=1, bits=4)


def test_write_mem_zero_padded_hex(tmp_path):
    path = tmp_path / "t.mem"
    write_mem(path, [0xC32F, 0x5, 0], 18)
    assert path.read_text() == "0c32f\n00005\n00000\n"
    with pytest.raises(ValueError, match="does not fit"):
        write_mem(path, [1 << 18], 18)
