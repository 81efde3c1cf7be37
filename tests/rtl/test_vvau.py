"""rtl_lib/vvau.v against the VVAU executor: windows back to back under random input gaps and
output back-pressure (odd channel counts, PE below and at the group count, grouped
convolutions (CG > 1), channel multipliers (MG > 1) and both, several kernel positions per
beat (SIMD = K and a proper divisor of K, with PE = G), binary, bipolar x integer and
multi-bit operands; sums alone or thresholded into bipolar, 2-bit and 4-bit codes), one beat
per cycle without stalls with the latency of the adder tree's stages, the exact number of
output beats, lint under -Wall, the elaboration checks against the rules, sliding_window
followed by vvau computing grouped convolutions frame after frame (the window's parallel mode
feeding several kernel positions per beat), and the estimate's
view of the memories (the weights' lane widths read from the weights and from the weight
words alike; narrow weights and constant thresholds priced lower)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.hw.modules.vvau import vvau_words
from bnncc.hw.rules import violations
from bnncc.hw.memory_words import threshold_words, write_mem
from bnncc.hw.stage_common import out_bias
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops.vvau import VVAU, vvau_dtype, vvau_range
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import pack_beats, unpack_beats
from bnncc.sim.verilator import SimulationError, verilator_command
from window_chain import window_chain

RTL = Path(__file__).resolve().parents[2] / "rtl_lib" / "vvau.v"
SOURCES = [RTL, RTL.with_name("mac_dot.v"), RTL.with_name("mvau.v")]  # mac_dot's popcount is in mvau.v


@dataclass(frozen=True)
class Case:
    name: str
    channels: int
    pe: int
    window: int
    x_dtype: DataType
    w_dtype: DataType
    thresholded: DataType | None = None  # the output type of fused thresholds, or None
    group_in: int = 1
    group_out: int = 1
    simd: int = 1

    @property
    def n_thresholds(self) -> int:
        t = self.thresholded
        return 0 if t is None else 1 if t == BIPOLAR else int(t.max) - int(t.min)

    @property
    def out_channels(self) -> int:
        return self.channels // self.group_in * self.group_out

    @property
    def in_elems(self) -> int:
        return self.simd * self.pe * self.group_in

    @property
    def lanes(self) -> int:
        return self.pe * self.group_out

    @property
    def latency(self) -> int:
        """vvau.v's LAT: 3 + DOT_STAGES (the operand register, the lanes' mac_dot pipeline, the
        sum, the output queue), + 1 when the weight ROM is deeper than 64 words (its banks are
        read into registers first), + 1 with more than one threshold (registered compare
        bits), as the registry's timing pattern says."""
        from bnncc.hw.modules.vvau import _geometry

        depth = (self.window // self.simd) * (self.channels // self.group_in // self.pe)
        latency = 3 + self.parameters()["DOT_STAGES"] + int(depth > 64) + int(self.n_thresholds > 1)
        assert _geometry(self.parameters())["latency"] == latency
        return latency

    def weights(self, rng) -> np.ndarray:
        return random_values(rng, self.w_dtype, (self.window, self.out_channels * self.group_in))

    def out_dtype(self) -> DataType:
        """The sums' type for the weights of largest magnitude (one width for every seed, so
        one Verilator build serves them all)."""
        w = self.w_dtype
        worst = np.full((self.window, self.out_channels * self.group_in),
                        -1 if w == BIPOLAR else int(w.min) if w.kind == "INT" else int(w.max))
        return vvau_dtype(TensorInfo((1, self.window * self.channels), self.x_dtype), worst, self.group_in,
                          self.group_out)

    @property
    def acc_bits(self) -> int:
        """The sums' width (one bit more with thresholds: they reach the largest sum + 1)."""
        return self.out_dtype().bits + (1 if self.thresholded is not None else 0)

    def op(self, acc_dtype: DataType) -> VVAU:
        return VVAU(name="dw", inputs=["x", "w"], outputs=["y"], channels=self.channels, kernel=self.window,
                    acc_dtype=acc_dtype, out_dtype=self.thresholded, pe=self.pe, simd=self.simd,
                    group_in=self.group_in, group_out=self.group_out)

    def parameters(self) -> dict:
        x, w, t = self.x_dtype, self.w_dtype, self.thresholded
        return {"CH": self.channels, "PE": self.pe, "WINDOW": self.window, "GROUP_IN": self.group_in,
                "GROUP_OUT": self.group_out, "SIMD": self.simd,
                "IN_BITS": x.bits, "IN_SIGNED": int(x.kind == "INT"), "IN_BIPOLAR": int(x == BIPOLAR),
                "W_BITS": w.bits, "W_SIGNED": int(w.kind == "INT"), "W_BIPOLAR": int(w == BIPOLAR),
                "ACC_BITS": self.acc_bits, "N_THRESHOLDS": self.n_thresholds,
                "OUT_BITS": self.acc_bits if t is None else t.bits, "OUT_BIAS": 0 if t is None else out_bias(t),
                "DOT_STAGES": self.dot_stages(),
                "WEIGHT_FILE": '"weights.mem"', "THRESHOLD_FILE": '"thresholds.mem"' if t is not None else '""'}

    def dot_stages(self) -> int:
        """The mac_dot pipeline the compiler chooses (at most 6 LUT levels)."""
        from bnncc.hw.modules.vvau import dot_stages

        x, w = self.x_dtype, self.w_dtype
        return dot_stages({"SIMD": self.simd, "GROUP_IN": self.group_in, "IN_BITS": x.bits,
                           "IN_SIGNED": int(x.kind == "INT"), "IN_BIPOLAR": int(x == BIPOLAR), "W_BITS": w.bits,
                           "W_SIGNED": int(w.kind == "INT"), "W_BIPOLAR": int(w == BIPOLAR)})


def random_values(rng, dtype: DataType, shape) -> np.ndarray:
    if dtype == BIPOLAR:
        return rng.choice(np.array([-1, 1]), size=shape)
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


CASES = [
    # 3x3 binary depthwise, 5 channels one per beat (5 accumulator words)
    Case("k9_bin_pe1", 5, 1, 9, BIPOLAR, BIPOLAR),
    # unsigned 4-bit activations x signed 4-bit weights, 6 channels 3 per beat
    Case("k9_u4xi4_pe3", 6, 3, 9, DataType.uint(4), DataType.int(4)),
    # bipolar activations x signed 3-bit weights, all 7 channels in one beat, 2x2 window
    Case("k4_bipxi3_pe7", 7, 7, 4, BIPOLAR, DataType.int(3)),
    # signed 2-bit activations x bipolar weights, 5x5 window, 2 lanes of 3 words
    Case("k25_i2xbip_pe2", 6, 2, 25, DataType.int(2), BIPOLAR),
    # a 1x1 window (per-channel scaling), signed 8-bit x unsigned 2-bit
    Case("k1_i8xu2_pe1", 3, 1, 1, DataType.int(8), DataType.uint(2)),
    # every beat completes a window (one position, all channels per beat): a sum each cycle
    Case("k1_i2xi2_pe4", 4, 4, 1, DataType.int(2), DataType.int(2)),
    # fused thresholds: binary depthwise to a bipolar output, 4-bit to 2-bit and 4-bit codes
    Case("k9_bin_pe1_to_bipolar", 5, 1, 9, BIPOLAR, BIPOLAR, BIPOLAR),
    Case("k9_u4xi4_pe3_to_uint2", 6, 3, 9, DataType.uint(4), DataType.int(4), DataType.uint(2)),
    Case("k4_i2xbip_pe2_to_int4", 6, 2, 4, DataType.int(2), BIPOLAR, DataType.int(4)),
    Case("k1_i2xi2_pe4_to_uint2", 4, 4, 1, DataType.int(2), DataType.int(2), DataType.uint(2)),
    # grouped binary, 2 groups of 4, both per beat, to a bipolar output (a tree of 4 products)
    Case("k9_g2_cg4_bin_pe2_to_bipolar", 8, 2, 9, BIPOLAR, BIPOLAR, BIPOLAR, group_in=4),
    # both: 2 groups of 2 inputs and 3 outputs, one group per beat, to 2-bit codes
    Case("k4_cg2_mg3_u2xi4_pe1_to_uint2", 4, 1, 4, DataType.uint(2), DataType.int(4), DataType.uint(2), 2, 3),
    # a 1x1 window of groups of 3 (every beat completes its window)
    Case("k1_g5_cg3_i8xu2_pe5", 15, 5, 1, DataType.int(8), DataType.uint(2), group_in=3),
    # the whole 3x3 window in one beat (a tree of 9 products, two register stages), to 4-bit codes
    Case("k9_simd9_i4xi4_pe4_to_int4", 4, 4, 9, DataType.int(4), DataType.int(4), DataType.int(4), simd=9),
    # three kernel positions per beat, binary, to a bipolar output
    Case("k9_simd3_bin_pe6_to_bipolar", 6, 6, 9, BIPOLAR, BIPOLAR, BIPOLAR, simd=3),
    # the depthwise layers of DS-CNN and MobileNet: one channel per beat, 4-bit codes; 72
    # weight words (a ROM of two banks read in two steps)
    Case("k9_u4xi4_pe1_c8_to_uint4", 8, 1, 9, DataType.uint(4), DataType.int(4), DataType.uint(4)),
]


def run(case: Case, tmp_path: Path, windows: int, seed: int, in_stall: int, out_stall: int, extreme: bool = False,
        extra_outputs: int = 0, max_idle: int = 100_000):
    """(expected (windows, M), simulation result, input beats, output type)."""
    rng = np.random.default_rng(seed)
    weights = case.weights(rng)
    x = random_values(rng, case.x_dtype, (windows, case.window * case.channels))
    if extreme and case.x_dtype != BIPOLAR:  # the ends of the input range reach the ends of the sums
        x[0] = int(case.x_dtype.min)
        x[1] = int(case.x_dtype.max)
    x_info = TensorInfo((1, case.window * case.channels), case.x_dtype)
    cg, mg = case.group_in, case.group_out
    op = case.op(vvau_dtype(x_info, weights, cg, mg))
    bits = case.w_dtype.bits
    words = vvau_words(weights, case.pe, bits, case.w_dtype == BIPOLAR, case.simd, cg, mg)
    write_mem(tmp_path / "weights.mem", words, case.simd * case.lanes * cg * bits)
    if case.thresholded is None:
        expected = op.execute(x, weights)[0]
    else:  # sorted thresholds over the reachable sums (and one past them)
        low, high = vvau_range(x_info, weights, cg, mg)
        thresholds = np.sort(rng.integers(low, high + 2, size=(case.out_channels, case.n_thresholds)), axis=1)
        expected = op.execute(x, weights, thresholds)[0]
        width = case.lanes * case.n_thresholds * case.acc_bits
        write_mem(tmp_path / "thresholds.mem", threshold_words(thresholds, case.lanes, case.acc_bits), width)
    beats_in = pack_beats(x.reshape(-1, case.in_elems), case.x_dtype)
    sim = StreamSimulator("vvau", SOURCES, case.parameters())
    result = sim.run(beats_in, expected.size // case.lanes + extra_outputs, seed=seed, in_stall=in_stall,
                     out_stall=out_stall, max_idle=max_idle, cwd=tmp_path)
    return expected, result, beats_in, case.thresholded or DataType.int(case.acc_bits)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("seed, in_stall, out_stall", [(1, 30, 30), (2, 0, 60), (3, 60, 10)])
def test_vvau_matches_the_executor_under_stalls(case, seed, in_stall, out_stall, tmp_path):
    windows = 6
    expected, result, beats_in, out_dtype = run(case, tmp_path, windows, seed, in_stall, out_stall, extreme=seed == 1)
    got = unpack_beats(result.outputs, case.lanes, out_dtype).reshape(windows, case.out_channels)
    np.testing.assert_array_equal(got, expected)
    assert len(result.input_cycles) == len(beats_in)


ONE_PER_CYCLE = CASES[:3] + CASES[5:6] + CASES[9:]


@pytest.mark.parametrize("case", ONE_PER_CYCLE, ids=[c.name for c in ONE_PER_CYCLE])
def test_vvau_one_beat_per_cycle_without_stalls(case, tmp_path):
    windows = 4
    expected, result, _, out_dtype = run(case, tmp_path, windows, 5, 0, 0)
    got = unpack_beats(result.outputs, case.lanes, out_dtype).reshape(windows, case.out_channels)
    np.testing.assert_array_equal(got, expected)
    assert np.all(np.diff(result.input_cycles) == 1)
    # each output beat leaves LAT cycles after the last-position beat that completes it
    cf = case.channels // case.group_in // case.pe
    groups = case.window // case.simd
    per_window = groups * cf
    completing = [result.input_cycles[w * per_window + (groups - 1) * cf + f] for w in range(windows) for f in range(cf)]
    assert result.output_cycles == [cycle + case.latency for cycle in completing]


def test_vvau_emits_exactly_ch_over_pe_beats_per_window(tmp_path):
    """Asking for one beat more than the windows give: the design never offers it."""
    with pytest.raises(SimulationError, match="no transfer for 200 cycles"):
        run(CASES[1], tmp_path, 3, 4, 20, 20, extra_outputs=1, max_idle=200)


@pytest.mark.parametrize("params", [
    {"CH": 5, "PE": 1, "WINDOW": 9, "IN_BITS": 1, "IN_SIGNED": 0, "IN_BIPOLAR": 1, "W_BITS": 1, "W_SIGNED": 0,
     "W_BIPOLAR": 1, "ACC_BITS": 5, "N_THRESHOLDS": 0, "OUT_BITS": 5},
    {"CH": 6, "PE": 3, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 0, "IN_BIPOLAR": 0, "W_BITS": 4, "W_SIGNED": 1,
     "W_BIPOLAR": 0, "ACC_BITS": 12, "N_THRESHOLDS": 15, "OUT_BITS": 4, "OUT_BIAS": -8},
    {"CH": 7, "PE": 7, "WINDOW": 4, "IN_BITS": 1, "IN_SIGNED": 0, "IN_BIPOLAR": 1, "W_BITS": 3, "W_SIGNED": 1,
     "W_BIPOLAR": 0, "ACC_BITS": 5, "N_THRESHOLDS": 1, "OUT_BITS": 1},
    {"CH": 6, "PE": 2, "WINDOW": 25, "IN_BITS": 2, "IN_SIGNED": 1, "IN_BIPOLAR": 0, "W_BITS": 1, "W_SIGNED": 0,
     "W_BIPOLAR": 1, "ACC_BITS": 3, "N_THRESHOLDS": 0, "OUT_BITS": 3},
    {"CH": 1, "PE": 1, "WINDOW": 1, "IN_BITS": 16, "IN_SIGNED": 1, "IN_BIPOLAR": 0, "W_BITS": 16, "W_SIGNED": 0,
     "W_BIPOLAR": 0, "ACC_BITS": 48, "N_THRESHOLDS": 0, "OUT_BITS": 48},
    {"CH": 15, "PE": 5, "WINDOW": 4, "GROUP_IN": 3, "GROUP_OUT": 1, "IN_BITS": 3, "IN_SIGNED": 0, "IN_BIPOLAR": 0,
     "W_BITS": 3, "W_SIGNED": 1, "W_BIPOLAR": 0, "ACC_BITS": 9, "N_THRESHOLDS": 3, "OUT_BITS": 2},
    {"CH": 4, "PE": 1, "WINDOW": 9, "GROUP_IN": 1, "GROUP_OUT": 3, "IN_BITS": 1, "IN_SIGNED": 0, "IN_BIPOLAR": 1,
     "W_BITS": 1, "W_SIGNED": 0, "W_BIPOLAR": 1, "ACC_BITS": 5, "N_THRESHOLDS": 1, "OUT_BITS": 1},
    {"CH": 6, "PE": 3, "WINDOW": 25, "GROUP_IN": 2, "GROUP_OUT": 2, "SIMD": 25, "IN_BITS": 8, "IN_SIGNED": 1,
     "IN_BIPOLAR": 0, "W_BITS": 8, "W_SIGNED": 1, "W_BIPOLAR": 0, "ACC_BITS": 22, "N_THRESHOLDS": 0, "OUT_BITS": 22},
    {"CH": 8, "PE": 8, "WINDOW": 9, "SIMD": 3, "IN_BITS": 4, "IN_SIGNED": 1, "IN_BIPOLAR": 0, "W_BITS": 4,
     "W_SIGNED": 1, "W_BIPOLAR": 0, "ACC_BITS": 4, "N_THRESHOLDS": 15, "OUT_BITS": 4},
], ids=["bin", "u4xi4_t15", "bipxi3_t1", "i2xbip_narrow", "16bit", "g5_cg3_t3", "bin_mg3_t1", "cg2_mg2_simd25",
        "simd3_t15_narrow_acc"])
def test_vvau_lints_clean(params):
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "vvau", *(f"-G{k}={v}" for k, v in params.items()),
         *map(str, SOURCES)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


@pytest.mark.parametrize("change, message", [
    ({"PE": 4}, "PE (4) must divide CH/GROUP_IN (6)"),
    ({"GROUP_IN": 4}, "GROUP_IN (4) must divide CH (6)"),
    ({"SIMD": 2, "PE": 6}, "SIMD (2) must divide WINDOW (9)"),
    ({"SIMD": 3}, "SIMD > 1 needs PE (3) = CH/GROUP_IN (6)"),
    ({"ACC_BITS": 1, "OUT_BITS": 1}, "ACC_BITS must be 2..48"),
    ({"OUT_BITS": 11}, "without thresholds OUT_BITS (11) must equal ACC_BITS (12)"),
    ({"N_THRESHOLDS": 3, "OUT_BITS": 33}, "OUT_BITS must be 1..32 with thresholds"),
    ({"IN_BIPOLAR": 1}, "a bipolar operand is 1 bit and not signed"),
])
def test_vvau_refuses_illegal_parameters_as_its_rules_predict(change, message):
    legal = {"CH": 6, "PE": 3, "WINDOW": 9, "GROUP_IN": 1, "GROUP_OUT": 1, "SIMD": 1, "IN_BITS": 4, "IN_SIGNED": 0,
             "IN_BIPOLAR": 0, "W_BITS": 4, "W_SIGNED": 1, "W_BIPOLAR": 0, "ACC_BITS": 12, "N_THRESHOLDS": 0, "OUT_BITS": 12, "OUT_BIAS": 0, "WEIGHT_FILE": "",
             "THRESHOLD_FILE": ""}
    assert violations("vvau", legal) == []
    parameters = {**legal, **change}
    assert [v.message for v in violations("vvau", parameters)] == [message]
    simulated = {k: v for k, v in parameters.items() if not k.endswith("_FILE")}  # no memories: the default ""
    with pytest.raises(SimulationError, match=re.escape(f"vvau: vvau: {message}")):
        StreamSimulator("vvau", SOURCES, simulated).run([0] * 18, 2)


# -- a grouped convolution: sliding_window followed by vvau --------------------------------
@pytest.mark.parametrize("dims, k, s, p, pe, simd, cg, mg, dtype", [
    ((6, 5, 5), 3, 1, 1, 5, 1, 1, 1, DataType.int(4)),   # depthwise 3x3 stride 1 with padding, all channels per beat
    ((5, 5, 6), 3, 1, 1, 3, 3, 2, 1, DataType.int(3)),   # 3 groups of 2, three kernel positions per beat
    ((5, 5, 3), 3, 2, 0, 3, 9, 1, 2, DataType.uint(3)),  # channel multiplier 2, stride 2, the whole window per beat
], ids=["dw_k3s1p1_int4_pe5", "g3_cg2_simd3", "mg2_simd9"])
def test_sliding_window_then_vvau_is_the_grouped_convolution(dims, k, s, p, pe, simd, cg, mg, dtype, tmp_path):
    """The two modules together compute VVAU(Im2Col(x)) frame after frame under stalls; with
    several kernel positions per beat the window runs in its parallel mode (whole pixels in)."""
    from bnncc.ir.ops import Im2Col

    h, w, c = dims
    rng = np.random.default_rng(6)
    m = c // cg * mg
    weights = rng.integers(-4, 4, size=(k * k, m * cg))
    out_dtype = vvau_dtype(TensorInfo((1, k * k * c), dtype), weights, cg, mg)
    words = vvau_words(weights, pe, 3, False, simd, cg, mg)
    write_mem(tmp_path / "weights.mem", words, simd * pe * mg * cg * 3)
    wrapper = tmp_path / "window_vvau.v"
    dots = {"CH": c, "PE": pe, "WINDOW": k * k, "GROUP_IN": cg, "GROUP_OUT": mg, "SIMD": simd, "IN_BITS": dtype.bits,
            "IN_SIGNED": int(dtype.kind == "INT"), "IN_BIPOLAR": 0, "W_BITS": 3, "W_SIGNED": 1, "W_BIPOLAR": 0,
            "ACC_BITS": out_dtype.bits, "N_THRESHOLDS": 0, "OUT_BITS": out_dtype.bits, "WEIGHT_FILE": '"weights.mem"'}
    window_simd = simd * pe * cg
    wrapper.write_text(window_chain("window_vvau", "vvau", dots, c=c, h=h, w=w, k=k, s=s, p=p, pe=window_simd,
                                    bits=dtype.bits, out_width=pe * mg * out_dtype.bits))
    frames = 3
    x = rng.integers(int(dtype.min), int(dtype.max) + 1, size=(frames, h, w, c))
    patches = Im2Col(name="im2col", kernel_shape=(k, k), strides=(s, s), pads=(p, p, p, p), pad_value=0).execute(x)[0]
    op = VVAU(name="dw", inputs=["x", "w"], outputs=["y"], channels=c, kernel=k * k, acc_dtype=out_dtype, pe=pe,
              simd=simd, group_in=cg, group_out=mg)
    expected = op.execute(patches, weights)[0]
    sources = [wrapper, RTL.with_name("sliding_window.v"), RTL.with_name("window_parallel.v"), *SOURCES]
    sim = StreamSimulator("window_vvau", sources, {})
    in_elems = c if window_simd > c else window_simd
    lanes = pe * mg
    result = sim.run(pack_beats(x.reshape(-1, in_elems), dtype), expected.size // lanes, seed=6, in_stall=30,
                     out_stall=40, cwd=tmp_path)
    got = unpack_beats(result.outputs, lanes, out_dtype).reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)


# -- the estimate's view of the weights and thresholds ------------------------------------
def _estimate_case(span: int, pe: int = 16, channels: int = 16) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(span)
    weights = rng.integers(-span, span + 1, size=(9, channels))
    weights[0, :] = span  # every lane reaches its span
    params = {"CH": channels, "PE": pe, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 1, "IN_BIPOLAR": 0, "W_BITS": 4,
              "W_SIGNED": 1, "W_BIPOLAR": 0, "ACC_BITS": 9, "N_THRESHOLDS": 15, "OUT_BITS": 4, "OUT_BIAS": -8}
    return params, weights


@pytest.mark.parametrize("span, bits", [(1, 2), (2, 3), (7, 4), (0, 1)])
def test_weight_lane_bits_from_the_weights_and_from_the_memory_words(span, bits):
    """lane_widths: the narrowest two's complement type of each lane's values, summed over the
    lanes; the registry's hints read the same from the weight words as the builder writes them."""
    from bnncc.hw.modules.vvau import WEIGHT_LANE_BITS, hints, lane_widths

    for pe in (16, 4):
        params, weights = _estimate_case(span, pe=pe)
        if span == 0:
            weights[:] = 0
        assert lane_widths(weights, pe) == [bits] * pe
        words = vvau_words(weights, pe, 4, False)
        assert hints({**params, "PE": pe}, {"WEIGHT_FILE": words})[WEIGHT_LANE_BITS] == pe * bits


def test_estimate_prices_narrow_weights_and_constant_thresholds_lower():
    """Ternary weights cost fewer LUTs than weights spanning 4 bits, and thresholds equal in
    every threshold word (the same in every channel) fewer than a threshold ROM of as many
    bits; with PE = CH the one threshold word is all constants."""
    from bnncc.estimate import estimate_link
    from bnncc.hw.memory_map import THRESHOLD_CONSTANT_BITS
    from bnncc.hw.modules.vvau import WEIGHT_LANE_BITS

    params, _ = _estimate_case(1)
    all_bits = params["PE"] * params["N_THRESHOLDS"] * params["ACC_BITS"]
    ternary = estimate_link("vvau", params, "xilinx", {WEIGHT_LANE_BITS: 32, THRESHOLD_CONSTANT_BITS: all_bits})
    full = estimate_link("vvau", params, "xilinx", {WEIGHT_LANE_BITS: 64, THRESHOLD_CONSTANT_BITS: all_bits})
    assert ternary.lut < full.lut
    folded = {**params, "CH": 64}  # four threshold words
    same = estimate_link("vvau", folded, "xilinx", {WEIGHT_LANE_BITS: 32, THRESHOLD_CONSTANT_BITS: all_bits})
    varying = estimate_link("vvau", folded, "xilinx", {WEIGHT_LANE_BITS: 32, THRESHOLD_CONSTANT_BITS: 0})
    assert same.lut < varying.lut
