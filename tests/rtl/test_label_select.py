"""rtl_lib/label_select.v against bnncc's LabelSelect op (ONNX TopK, largest first, ties to
the lower index) on random frames full of ties, under random stalls on both sides, plus
its rate without stalls: max(NUM_CLASSES / PE, K) cycles per frame."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.datatype import DataType
from bnncc.ir.ops.hw import LabelSelect
from bnncc.sim import StreamSimulator
from bnncc.sim.beats import element_bits, pack_beats

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"


@dataclass
class Case:
    classes: int
    pe: int
    dtype: DataType
    k: int


CASES = {
    "c10_pe1_int8_k1": Case(10, 1, DataType.int(8), 1),      # ArgMax, signed
    "c23_pe1_uint4_k3": Case(23, 1, DataType.uint(4), 3),    # odd class count, unsigned
    "c24_pe4_int3_k3": Case(24, 4, DataType.int(3), 3),      # PE > 1, narrow signed values
    "c6_pe3_uint1_k5": Case(6, 3, DataType.uint(1), 5),      # 1-bit values, K > beats per frame
}


def index_bits(classes: int) -> int:
    return max(1, (classes - 1).bit_length())


def simulator(case: Case) -> StreamSimulator:
    parameters = {
        "NUM_CLASSES": case.classes, "PE": case.pe, "IN_BITS": element_bits(case.dtype),
        "IN_SIGNED": int(case.dtype.kind == "INT"), "K": case.k, "IDX_BITS": index_bits(case.classes),
    }
    return StreamSimulator("label_select", [RTL / "label_select.v"], parameters)


def random_frames(rng, case: Case, frames: int) -> np.ndarray:
    """Frames with many ties: values from a few levels, plus frames all equal (at the
    minimum, the maximum, and zero) and the extremes of the type."""
    low, high = int(case.dtype.min), int(case.dtype.max)
    levels = np.unique(np.concatenate([[low, high], rng.integers(low, high + 1, size=3)]))
    x = rng.choice(levels, size=(frames, case.classes))
    x[0, :] = low
    x[1, :] = high
    x[2, :] = 0
    x[3] = rng.integers(low, high + 1, size=case.classes)  # full range
    return x


def prepare(case: Case, seed: int, frames: int):
    rng = np.random.default_rng(seed)
    x = random_frames(rng, case, frames)
    indices, _ = LabelSelect(name="ls", inputs=["x"], outputs=["i", "v"], k=case.k, pe=case.pe).execute(x)
    # Independent check of the reference: descending value, ties to the lower index.
    for row, top in zip(x, indices):
        order = sorted(range(case.classes), key=lambda c: (-row[c], c))[: case.k]
        assert list(top) == order
    beats_in = pack_beats(x.reshape(-1, case.pe), case.dtype)
    expected = [int(i) for i in indices.reshape(-1)]
    return beats_in, expected


@pytest.mark.parametrize("name", list(CASES))
def test_label_select_matches_op_under_stalls(name):
    case = CASES[name]
    for seed, in_stall, out_stall in [(1, 50, 50), (2, 30, 50), (3, 50, 30), (4, 20, 70)]:
        beats_in, expected = prepare(case, seed, frames=100)
        result = simulator(case).run(beats_in, len(expected), seed=seed, in_stall=in_stall, out_stall=out_stall)
        assert result.outputs == expected, f"seed {seed}"
        assert len(result.input_cycles) == len(beats_in)


@pytest.mark.parametrize("name", list(CASES))
def test_label_select_rate_without_stalls(name):
    case = CASES[name]
    frames = 30
    beats_in, expected = prepare(case, 5, frames=frames)
    result = simulator(case).run(beats_in, len(expected), seed=5)
    assert result.outputs == expected
    period = max(case.classes // case.pe, case.k)
    firsts = np.array(result.output_cycles[:: case.k])
    assert np.all(np.diff(firsts) == period)
    # Each frame's K indices leave on consecutive cycles.
    assert np.all(np.diff(np.array(result.output_cycles).reshape(frames, case.k), axis=1) == 1)
    # The first index leaves two cycles after the frame's last beat enters (the input
    # register, then the top-K registers), as the registry's timing pattern says.
    from bnncc.hw.modules.label_select import LabelSelect as Pattern
    assert firsts[0] == result.input_cycles[case.classes // case.pe - 1] + Pattern.LATENCY == \
        result.input_cycles[case.classes // case.pe - 1] + 2
