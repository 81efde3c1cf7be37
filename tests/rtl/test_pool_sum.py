"""rtl_lib/pool_sum.v against numpy sums: several windows back to back under random input
gaps and output back-pressure, the exact number of output beats, one beat per cycle without
stalls, lint under -Wall, and the elaboration check on OUT_BITS."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.datatype import DataType
from bnncc.hw.rules import violations
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import pack_beats, unpack_beats
from bnncc.sim.verilator import SimulationError, verilator_command
from window_chain import window_chain

RTL = Path(__file__).resolve().parents[2] / "rtl_lib" / "pool_sum.v"


@dataclass(frozen=True)
class Case:
    name: str
    channels: int
    pe: int
    window: int
    dtype: DataType

    @property
    def out_dtype(self) -> DataType:
        """The narrowest type of the sums (signed if the input is)."""
        if self.dtype.kind == "INT":
            bits = self.dtype.bits
            low, high = self.window * -(1 << (bits - 1)), self.window * ((1 << (bits - 1)) - 1)
            return DataType.int(max(DataType.for_range(low, high).bits, 1))
        return DataType.uint(max(int(self.window * int(self.dtype.max)).bit_length(), 1))

    def parameters(self) -> dict[str, int]:
        return {
            "CH": self.channels, "PE": self.pe, "WINDOW": self.window, "IN_BITS": self.dtype.bits,
            "IN_SIGNED": int(self.dtype.kind == "INT"), "OUT_BITS": self.out_dtype.bits,
        }


CASES = [
    # a window of one position: the sum is the input, 1-bit unsigned, one channel per beat
    Case("w1_uint1_pe1", 5, 1, 1, DataType.uint(1)),
    # a 3x3 pool after the sliding window, signed 4-bit, all five channels in one beat
    Case("w9_int4_pe5", 5, 5, 9, DataType.int(4)),
    # a global pool of a 7x7 image, unsigned 8-bit, one channel per beat (5 accumulator words)
    Case("w49_uint8_pe1", 5, 1, 49, DataType.uint(8)),
    # signed 1-bit elements (-1, 0) over 49 positions, all channels in one beat
    Case("w49_int1_pe5", 5, 5, 49, DataType.int(1)),
    # three accumulator words of two lanes, signed 2-bit, a 2x2 window
    Case("w4_int2_pe2", 6, 2, 4, DataType.int(2)),
]


def random_windows(rng, case: Case, windows: int) -> np.ndarray:
    """(windows, WINDOW, CH) random elements of the case's type."""
    return rng.integers(int(case.dtype.min), int(case.dtype.max) + 1, size=(windows, case.window, case.channels))


def run(case: Case, x: np.ndarray, seed: int, in_stall: int, out_stall: int, extra_outputs: int = 0, max_idle: int = 100_000):
    """Expected sums (windows, CH), the simulation result and the input beats."""
    expected = x.sum(axis=1)
    beats_in = pack_beats(x.reshape(-1, case.pe), case.dtype)
    out_beats = expected.size // case.pe
    sim = StreamSimulator("pool_sum", [RTL], case.parameters())
    result = sim.run(beats_in, out_beats + extra_outputs, seed=seed, in_stall=in_stall, out_stall=out_stall, max_idle=max_idle)
    return expected, result, beats_in


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 30, 30), (2, 0, 60), (3, 60, 10)])
def test_pool_sum_matches_numpy_under_stalls(case, seed, in_stall, out_stall):
    rng = np.random.default_rng(seed)
    windows = 7
    x = random_windows(rng, case, windows)
    if seed == 1:  # the extremes of the range reach the ends of the output type
        x[0] = int(case.dtype.min)
        x[1] = int(case.dtype.max)
    expected, result, beats_in = run(case, x, seed, in_stall, out_stall)
    got = unpack_beats(result.outputs, case.pe, case.out_dtype).reshape(windows, case.channels)
    np.testing.assert_array_equal(got, expected)
    # the last window's last beat completes it: every input beat was taken
    assert len(result.input_cycles) == len(beats_in)


@pytest.mark.parametrize("case", CASES[1:3], ids=[c.name for c in CASES[1:3]])
def test_pool_sum_emits_exactly_ch_over_pe_beats_per_window(case):
    """Asking for one beat more than the windows give: the design never offers it."""
    x = random_windows(np.random.default_rng(4), case, 3)
    with pytest.raises(SimulationError, match="no transfer for 200 cycles"):
        run(case, x, 4, 20, 20, extra_outputs=1, max_idle=200)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pool_sum_one_beat_per_cycle_without_stalls(case):
    windows = 5
    x = random_windows(np.random.default_rng(5), case, windows)
    expected, result, beats_in = run(case, x, 5, 0, 0)
    got = unpack_beats(result.outputs, case.pe, case.out_dtype).reshape(windows, case.channels)
    np.testing.assert_array_equal(got, expected)
    assert np.all(np.diff(result.input_cycles) == 1)
    # each sum beat leaves one cycle after the last-position beat that completes it
    cf = case.channels // case.pe
    per_window = case.window * cf
    completing = [result.input_cycles[w * per_window + (case.window - 1) * cf + f] for w in range(windows) for f in range(cf)]
    assert result.output_cycles == [cycle + 1 for cycle in completing]


@pytest.mark.parametrize("params", [
    {"CH": 5, "PE": 1, "WINDOW": 1, "IN_BITS": 1, "IN_SIGNED": 0, "OUT_BITS": 1},
    {"CH": 5, "PE": 5, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 1, "OUT_BITS": 8},
    {"CH": 64, "PE": 4, "WINDOW": 49, "IN_BITS": 8, "IN_SIGNED": 0, "OUT_BITS": 14},
    {"CH": 1, "PE": 1, "WINDOW": 3, "IN_BITS": 2, "IN_SIGNED": 1, "OUT_BITS": 4},
    {"CH": 6, "PE": 2, "WINDOW": 1024, "IN_BITS": 32, "IN_SIGNED": 1, "OUT_BITS": 42},
], ids=["w1", "w9_pe5", "w49_ch64", "ch1", "w1024_32bit"])
def test_pool_sum_lints_clean(params):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "pool_sum", *(f"-G{k}={v}" for k, v in params.items()),
         str(RTL)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


def test_pool_sum_refuses_an_out_bits_too_narrow_for_the_window_as_its_rules_predict():
    """9 unsigned 4-bit elements sum to at most 135, which 7 bits cannot hold (8 can)."""
    case = Case("narrow", 2, 1, 9, DataType.uint(4))
    parameters = {**case.parameters(), "OUT_BITS": 7}
    assert [v.message for v in violations("pool_sum", parameters)] == ["OUT_BITS=7 cannot hold the sums 0..135"]
    assert violations("pool_sum", case.parameters()) == []
    sim = StreamSimulator("pool_sum", [RTL], parameters)
    with pytest.raises(SimulationError, match=r"pool_sum: pool_sum: OUT_BITS=7 cannot hold the sums 0\.\.135"):
        sim.run(pack_beats(np.zeros((18, 1), dtype=np.int64), case.dtype), 2)


def test_pool_sum_refuses_a_signed_range_too_wide_as_its_rules_predict():
    """49 signed 8-bit elements sum to -6272..6223: 14 bits, not 13."""
    parameters = {"CH": 3, "PE": 3, "WINDOW": 49, "IN_BITS": 8, "IN_SIGNED": 1, "OUT_BITS": 13}
    message = "OUT_BITS=13 cannot hold the sums -6272..6223"
    assert [v.message for v in violations("pool_sum", parameters)] == [message]
    assert violations("pool_sum", {**parameters, "OUT_BITS": 14}) == []
    with pytest.raises(SimulationError, match=f"pool_sum: pool_sum: {message}$"):
        StreamSimulator("pool_sum", [RTL], parameters).run([0] * 49, 1)


# -- a KxK average pool: sliding_window followed by pool_sum -------------------------------
@pytest.mark.parametrize("dims, k, s, p, pe, dtype", [
    ((6, 6, 5), 3, 1, 1, 5, DataType.int(4)),    # 3x3 stride 1 with zero padding, all channels per beat
    ((7, 7, 5), 2, 2, 0, 1, DataType.uint(3)),   # 2x2 stride 2 on an odd image (last row and column unused)
], ids=["k3s1p1_int4_pe5", "k2s2_uint3_pe1"])
def test_sliding_window_then_pool_sum_is_the_window_sum_of_im2col(dims, k, s, p, pe, dtype, tmp_path):
    """The two modules together compute PoolSum(Im2Col(x)) frame after frame under stalls."""
    from bnncc.ir.ops import Im2Col
    from bnncc.ir.ops.pool import PoolSum

    h, w, c = dims
    case = Case("window", c, pe, k * k, dtype)
    wrapper = tmp_path / "window_pool_sum.v"
    sums = {"CH": c, "PE": pe, "WINDOW": k * k, "IN_BITS": dtype.bits, "IN_SIGNED": int(dtype.kind == "INT"),
            "OUT_BITS": case.out_dtype.bits}
    wrapper.write_text(window_chain("window_pool_sum", "pool_sum", sums, c=c, h=h, w=w, k=k, s=s, p=p, pe=pe,
                                    bits=dtype.bits, out_width=pe * case.out_dtype.bits))
    frames = 3
    x = np.random.default_rng(6).integers(int(dtype.min), int(dtype.max) + 1, size=(frames, h, w, c))
    patches = Im2Col(name="im2col", kernel_shape=(k, k), strides=(s, s), pads=(p, p, p, p), pad_value=0).execute(x)[0]
    expected = PoolSum(name="sum", channels=c, window=k * k, pe=pe).execute(patches)[0]
    sim = StreamSimulator("window_pool_sum", [wrapper, RTL.with_name("sliding_window.v"), RTL], {})
    result = sim.run(pack_beats(x.reshape(-1, pe), dtype), expected.size // pe, seed=6, in_stall=30, out_stall=40)
    got = unpack_beats(result.outputs, pe, case.out_dtype).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
