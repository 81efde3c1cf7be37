"""rtl_lib/thresholding.v against bnncc's Thresholding op (MultiThreshold along the channel
axis of an NHWC stream) on random data and sorted thresholds (equal ones, at and beyond the
input range), with and without the compare register, under random stalls on both sides,
plus its rate and latency without stalls; stages built by the registry entry's builder
(unsorted thresholds, signed, unsigned and bipolar inputs); and the thresholds memory
layout of bnncc/hw/memory_words.py."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

from bnncc.hw.memory_words import thresholding_words as threshold_words
from bnncc.hw.memory_words import write_mem
from bnncc.datatype import BINARY, BIPOLAR, FLOAT32, DataType
from bnncc.hw.modules import thresholding as registry_entry
from bnncc.ir.graph import Graph
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
    register: int = 0    # REGISTER_COMPARES
    duplicates: bool = False  # thresholds drawn from a few values: many equal ones


CASES = {
    # odd channel count, PE = 1, signed input, INT4 output (bias -8), 15 thresholds
    "c37_pe1_int4_to_int4": Case(37, 1, DataType.int(4), DataType.int(4), 15),
    # PE > 1 dividing an odd channel count, unsigned input, UINT2 output, wider fields
    "c21_pe3_uint3_to_uint2": Case(21, 3, DataType.uint(3), DataType.uint(2), 3, extra_bits=2),
    # one threshold to a BIPOLAR output, all channels in one beat
    "c8_pe8_int8_to_bipolar": Case(8, 8, DataType.int(8), BIPOLAR, 1),
    # 1-bit unsigned input, BINARY output
    "c6_pe2_uint1_to_binary": Case(6, 2, DataType.uint(1), BINARY, 1),
    # the thermometer count over 255 thresholds of an 8-bit input, INT8 output (bias -128)
    "c4_pe1_uint8_to_int8_t255": Case(4, 1, DataType.uint(8), DataType.int(8), 255),
    # registered compares: the cases above and many thresholds, equal ones among them
    "c37_pe1_int4_to_int4_reg": Case(37, 1, DataType.int(4), DataType.int(4), 15, register=1),
    "c8_pe2_uint8_to_uint8_t255_reg": Case(8, 2, DataType.uint(8), DataType.uint(8), 255, register=1),
    "c12_pe4_int6_to_uint6_t63_dup_reg": Case(12, 4, DataType.int(6), DataType.uint(6), 63, register=1,
                                              duplicates=True),
}


def out_bias(dtype: DataType) -> int:
    """The code of count 0, modulo 2**OUT_BITS: INT(n) codes are count + min."""
    return int(dtype.min) if dtype.kind == "INT" else 0


def random_values(rng, dtype: DataType, shape) -> np.ndarray:
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


def random_thresholds(rng, case: Case) -> np.ndarray:
    """Thresholds around and beyond the input range, sorted ascending per channel as the
    module requires. With the narrowest fields they are clamped to [min, max + 1] as the
    backend does, which keeps every count; with wider fields they also lie outside that
    range. With ``duplicates`` each channel's come from 6 values, so many are equal."""
    low, high = int(case.in_dtype.min), int(case.in_dtype.max)
    spread = 4 + 4 * case.extra_bits
    t = rng.integers(low - spread, high + 2 + spread, size=(case.channels, case.steps))
    if case.duplicates:
        pool = rng.integers(low - spread, high + 2 + spread, size=(case.channels, 6))
        t = np.take_along_axis(pool, rng.integers(0, 6, size=t.shape), axis=1)
    if case.extra_bits == 0:
        t = np.clip(t, low, high + 1)
    return np.sort(t, axis=1)


def threshold_bits(case: Case) -> int:
    """Signed fields holding [min, max + 1] (IN_BITS + 1 signed, IN_BITS + 2 unsigned),
    plus ``extra_bits``."""
    return element_bits(case.in_dtype) + 1 + int(case.in_dtype.kind != "INT") + case.extra_bits


def simulator(case: Case, mem_name: str) -> StreamSimulator:
    parameters = {
        "CH": case.channels, "PE": case.pe, "IN_BITS": element_bits(case.in_dtype),
        "IN_SIGNED": int(case.in_dtype.kind == "INT"), "N_THRESHOLDS": case.steps,
        "THRESHOLD_BITS": threshold_bits(case), "OUT_BITS": element_bits(case.out_dtype),
        "OUT_BIAS": out_bias(case.out_dtype), "REGISTER_COMPARES": case.register,
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


@pytest.mark.parametrize("name", ["c37_pe1_int4_to_int4", "c21_pe3_uint3_to_uint2", "c37_pe1_int4_to_int4_reg",
                                  "c8_pe2_uint8_to_uint8_t255_reg"])
def test_thresholding_one_beat_per_cycle_without_stalls(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    case = CASES[name]
    beats_in, expected, mem_name = prepare(case, name, 9, frames=2, pixels=(3, 3))
    result = simulator(case, mem_name).run(beats_in, len(expected), seed=9)
    assert result.outputs == expected
    assert np.all(np.diff(result.input_cycles) == 1)
    assert np.all(np.diff(result.output_cycles) == 1)
    latency = 2 + case.register
    assert result.output_cycles[0] - result.input_cycles[0] == latency
    assert registry_entry.latency({"REGISTER_COMPARES": case.register}) == latency


def test_thresholding_counts_a_thermometer_code():
    """Bit j of the count of a thermometer code with k ones is the XOR of its bits
    m * 2**j - 1 (the header's formula), for every k up to 255 thresholds."""
    n = 255
    for k in range(n + 1):
        c = np.arange(n) < k
        bits = [int(np.bitwise_xor.reduce(c[(1 << j) - 1::1 << j], initial=False)) for j in range(9)]
        assert sum(b << j for j, b in enumerate(bits)) == k


# -- stages from the builder -----------------------------------------------------------------
BUILT = {
    # (input type, output type, channels, PE, thresholds per channel, shared by every channel)
    "int5_to_uint4_t15": (DataType.int(5), DataType.uint(4), 12, 3, 15, False),
    "uint4_to_int2_t3": (DataType.uint(4), DataType.int(2), 8, 2, 3, False),
    "bipolar_to_bipolar": (BIPOLAR, BIPOLAR, 16, 4, 1, False),
    "int6_to_uint5_t31_shared": (DataType.int(6), DataType.uint(5), 10, 2, 31, True),
}


@pytest.mark.parametrize("name", list(BUILT))
def test_built_stage_matches_op_under_stalls(name, tmp_path, monkeypatch):
    """The builder sorts unsorted thresholds (some beyond the input range, some equal),
    clamps them (and maps them to the bits of a bipolar input) and chooses the compare
    register: on with more than one threshold, unless they are the same in every channel."""
    monkeypatch.chdir(tmp_path)
    in_dtype, out_dtype, channels, pe, steps, shared = BUILT[name]
    rng = np.random.default_rng(7)
    low, high = int(in_dtype.min), int(in_dtype.max)
    t = rng.integers(low - 3, high + 4, size=(1 if shared else channels, steps))
    t[:, -1] = t[:, 0]  # an equal pair in every channel
    graph = Graph()
    graph.set_tensor("x", (1, 2, 3, channels), in_dtype)
    graph.add_constant("t", t, FLOAT32)
    op = Thresholding(name="thr", inputs=["x", "t"], outputs=["y"], channels=channels, out_dtype=out_dtype, pe=pe)
    stage = registry_entry.build(graph, op)
    parameters = dict(stage.parameters)
    assert parameters["REGISTER_COMPARES"] == int(steps > 1 and not shared)
    (memory,) = stage.memories
    write_mem(memory.filename, memory.words, memory.width)
    parameters["THRESHOLD_FILE"] = f'"{memory.filename}"'
    x = rng.choice([-1, 1], size=(2, 2, 3, channels)) if in_dtype == BIPOLAR else random_values(rng, in_dtype, (2, 2, 3, channels))
    (y,) = op.execute(x, np.broadcast_to(t, (channels, steps)))
    beats_in = pack_beats(x.reshape(-1, pe), in_dtype)
    expected = pack_beats(y.reshape(-1, pe), out_dtype)
    result = StreamSimulator("thresholding", [RTL / "thresholding.v"], parameters).run(
        beats_in, len(expected), seed=3, in_stall=40, out_stall=40)
    assert result.outputs == expected


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


# -- in a design ---------------------------------------------------------------------------
def test_design_with_registered_compares_is_exact_at_its_interval(tmp_path):
    """A per-channel requantization after a convolution becomes a thresholding stage with
    registered compares; FIFO sizing and latency follow its pattern: the design is exact under
    50 % stalls and runs at its analytic initiation interval."""
    from join_models import conv_shortcut_network

    from bnncc.compile import Target, compile_model
    from bnncc.targets import DEFAULT_DEVICE, get_device
    from bnncc.verify.run import verify_model

    path = tmp_path / "model.onnx"
    onnx.save(conv_shortcut_network(per_channel=True), path)
    result = compile_model(path, output=tmp_path / "build", target=Target(10_000_000, 100.0, True, get_device(DEFAULT_DEVICE)))
    summary = json.loads((tmp_path / "build" / "design.json").read_text())
    registered = [link for link in summary["links"] if link["module"] == "thresholding" and link["parameters"]["REGISTER_COMPARES"]]
    assert registered, [link["parameters"] for link in summary["links"] if link["module"] == "thresholding"]
    verify = verify_model(path, samples=12, seed=3, value_range=(-1.0, 1.0), build_dir=tmp_path / "build", stall=50)
    assert verify.ok and verify.rtl.exact == 12, verify.table()
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
