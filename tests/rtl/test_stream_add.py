"""rtl_lib/stream_add.v: every output beat is A_MUL*a + B_MUL*b of the next beat of each input,
element by element (no beat lost, repeated or reordered), under independent random gaps on each
input and random output back-pressure; one beat per cycle flows when nothing stalls; an input
whose partner never comes stops after filling its two-entry queue; the module lints clean
under -Wall; illegal parameters stop elaboration with the message module_rules.py predicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.rules import violations
from bnncc.sim.verilator import FINISHED, SimulationError, build_verilated, check_messages, verilator_command

RTL_LIB = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCES = [RTL_LIB / "stream_add.v", RTL_LIB / "skid_buffer.v"]
HARNESS = Path(__file__).resolve().with_name("stream_add_harness.cpp")


def shape(simd, a_bits, a_signed, a_mul, b_bits, b_signed, b_mul, out_bits) -> dict:
    return {"SIMD": simd, "A_BITS": a_bits, "A_SIGNED": a_signed, "A_MUL": a_mul, "B_BITS": b_bits,
            "B_SIGNED": b_signed, "B_MUL": b_mul, "OUT_BITS": out_bits}


def operand_range(bits: int, signed: int) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def tightest_out_bits(p: dict) -> int:
    """The fewest signed bits that hold every A_MUL*a + B_MUL*b, from the spec."""
    corners = [p["A_MUL"] * a + p["B_MUL"] * b for a in operand_range(p["A_BITS"], p["A_SIGNED"])
               for b in operand_range(p["B_BITS"], p["B_SIGNED"])]
    return next(n for n in range(1, 33) if -(1 << (n - 1)) <= min(corners) and max(corners) < (1 << (n - 1)))


# The default (two int8 streams into 9 bits); odd widths with a negative and a positive
# multiplier, unsigned a, OUT_BITS as tight as the range allows; a 13-bit residual plus an
# unsigned 3-bit stream scaled by 8, with 65-, 15- and 70-bit ports (wider than 64 bits).
SHAPES = [
    shape(1, 8, 1, 1, 8, 1, 1, 9),
    shape(3, 5, 0, -4, 7, 1, 3, 10),
    shape(5, 13, 1, 1, 3, 0, 8, 14),
]
IDS = ["int8+int8", "odd-widths-negative-mul", "wide-ports"]


def build(p: dict) -> Path:
    return build_verilated("stream_add", SOURCES, p, HARNESS)


def random_elements(rng, count: int, p: dict, side: str) -> np.ndarray:
    low, high = operand_range(p[f"{side}_BITS"], p[f"{side}_SIGNED"])
    return rng.integers(low, high + 1, size=(count, p["SIMD"]), dtype=np.int64)


def pack(elements: np.ndarray, bits: int) -> list[int]:
    """Beats with element i in bits [i*bits +: bits] (two's complement)."""
    mask = (1 << bits) - 1
    return [sum((int(e) & mask) << (i * bits) for i, e in enumerate(row)) for row in elements]


def expected_beats(a: np.ndarray, b: np.ndarray, p: dict) -> list[int]:
    total = p["A_MUL"] * a + p["B_MUL"] * b
    low, high = -(1 << (p["OUT_BITS"] - 1)), (1 << (p["OUT_BITS"] - 1)) - 1
    assert total.min() >= low and total.max() <= high
    return pack(total, p["OUT_BITS"])


def run(p: dict, a_beats: list[int], b_beats: list[int], seed: int, stalls: tuple[int, int, int], tmp_path: Path,
        max_idle: int = 10_000) -> tuple[subprocess.CompletedProcess, dict[str, list[int]], list[int]]:
    """The process, the cycles of every transfer per port ("A", "B", "O"), and the output beats."""
    executable = build(p)
    a_file, b_file, log = tmp_path / f"a_{seed}.hex", tmp_path / f"b_{seed}.hex", tmp_path / f"out_{seed}.log"
    a_file.write_text("".join(f"{beat:x}\n" for beat in a_beats))
    b_file.write_text("".join(f"{beat:x}\n" for beat in b_beats))
    process = subprocess.run(
        [str(executable), str(a_file), str(b_file), str(log), str(seed), *(str(s) for s in stalls),
         str(p["SIMD"] * p["OUT_BITS"]), str(max_idle)],
        capture_output=True, text=True,
    )
    if process.returncode == FINISHED:
        raise SimulationError("; ".join(check_messages(process.stdout)) or process.stderr.strip())
    cycles: dict[str, list[int]] = {"A": [], "B": [], "O": []}
    beats: list[int] = []
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        cycles[parts[0]].append(int(parts[1]))
        if parts[0] == "O":
            beats.append(int(parts[2], 16))
    return process, cycles, beats


def test_shapes_are_legal_and_tight():
    for p in SHAPES:
        assert violations("stream_add", p) == []
        assert p["OUT_BITS"] == tightest_out_bits(p)
        assert violations("stream_add", {**p, "OUT_BITS": p["OUT_BITS"] - 1}) != []


@pytest.mark.parametrize("p", SHAPES, ids=IDS)
@pytest.mark.parametrize("seed, stalls", [(1, (0, 60, 30)), (2, (60, 0, 50)), (3, (30, 45, 40))])
def test_sums_every_pair_once_in_order_under_independent_stalls(p, seed, stalls, tmp_path):
    rng = np.random.default_rng(seed)
    a, b = random_elements(rng, 300, p, "A"), random_elements(rng, 300, p, "B")
    process, cycles, beats = run(p, pack(a, p["A_BITS"]), pack(b, p["B_BITS"]), seed, stalls, tmp_path)
    assert process.returncode == 0, process.stderr
    assert len(cycles["A"]) == len(cycles["B"]) == 300
    assert beats == expected_beats(a, b, p)
    # The inputs really were taken independently: at some cycle one had run ahead of the other.
    assert cycles["A"] != cycles["B"]


@pytest.mark.parametrize("p", SHAPES, ids=IDS)
def test_extreme_operands(p, tmp_path):
    """Every combination of the operands' range ends, so the sums reach both ends of the result range."""
    ends = [operand_range(p[f"{side}_BITS"], p[f"{side}_SIGNED"]) for side in "AB"]
    pairs = [(x, y) for x in (*ends[0], 0) for y in (*ends[1], 0)] * 4
    rng = np.random.default_rng(5)
    a = np.array([[pairs[(k + i) % len(pairs)][0] for i in range(p["SIMD"])] for k in range(len(pairs))])
    b = np.array([[pairs[(k + i) % len(pairs)][1] for i in range(p["SIMD"])] for k in range(len(pairs))])
    order = rng.permutation(len(pairs))
    a, b = a[order], b[order]
    process, _, beats = run(p, pack(a, p["A_BITS"]), pack(b, p["B_BITS"]), 5, (20, 20, 40), tmp_path)
    assert process.returncode == 0, process.stderr
    assert beats == expected_beats(a, b, p)


@pytest.mark.parametrize("p", SHAPES, ids=IDS)
def test_full_rate_without_stalls(p, tmp_path):
    rng = np.random.default_rng(7)
    a, b = random_elements(rng, 200, p, "A"), random_elements(rng, 200, p, "B")
    process, cycles, beats = run(p, pack(a, p["A_BITS"]), pack(b, p["B_BITS"]), 7, (0, 0, 0), tmp_path)
    assert process.returncode == 0, process.stderr
    assert beats == expected_beats(a, b, p)
    assert np.all(np.diff(cycles["A"]) == 1) and cycles["A"] == cycles["B"]
    # one beat per cycle at the output, two cycles after both inputs were taken
    assert cycles["O"] == [cycle + 2 for cycle in cycles["A"]]


@pytest.mark.parametrize("p", SHAPES[:2], ids=IDS[:2])
def test_input_without_partner_stops_after_two_beats(p, tmp_path):
    """b never brings a beat: a fills its two-entry queue and is then held off, nothing comes out."""
    a = random_elements(np.random.default_rng(9), 10, p, "A")
    process, cycles, beats = run(p, pack(a, p["A_BITS"]), [], 9, (0, 0, 0), tmp_path)
    assert process.returncode == 0, process.stderr  # the harness expects no output and drains 32 cycles
    assert len(cycles["A"]) == 2 and cycles["B"] == [] and beats == []


LINT_SETS = SHAPES + [
    shape(4, 31, 1, 1, 31, 1, 1, 32),
    shape(2, 1, 0, 1, 1, 0, 1, 3),
    shape(1, 8, 1, 0, 3, 1, 1, 3),   # a multiplied by 0: its bits are wider than the result
    shape(2, 6, 1, -1, 6, 1, -2, 9),
]


@pytest.mark.parametrize("p", LINT_SETS)
def test_lints_clean(p):
    assert violations("stream_add", p) == []
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "stream_add",
         *(f"-G{name}={value}" for name, value in p.items()), *map(str, SOURCES)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0 and "%Warning" not in process.stderr and "%Error" not in process.stderr, process.stderr


def test_too_narrow_output_is_refused_as_module_rules_predicts(tmp_path):
    p = {**SHAPES[1], "OUT_BITS": 9}
    predicted = [v.message for v in violations("stream_add", p)]
    assert predicted == ["OUT_BITS=9 cannot hold the results -316..189"]
    with pytest.raises(SimulationError, match=r"^stream_add: stream_add: OUT_BITS=9 cannot hold the results -316\.\.189$"):
        run(p, [1, 2], [3, 4], 1, (0, 0, 0), tmp_path)


def test_illegal_widths_are_refused_as_module_rules_predicts(tmp_path):
    p = {**SHAPES[0], "B_BITS": 32, "OUT_BITS": 33}
    predicted = [v.message for v in violations("stream_add", p)]
    assert predicted == ["A_BITS and B_BITS must be 1..31", "OUT_BITS must be 1..32"]
    with pytest.raises(SimulationError, match=r"^stream_add: stream_add: A_BITS and B_BITS must be 1\.\.31; "
                                              r"stream_add: stream_add: OUT_BITS must be 1\.\.32$"):
        run(p, [1, 2], [3, 4], 1, (0, 0, 0), tmp_path)


@pytest.mark.parametrize("p", [
    # 31-bit operands with the most negative multipliers: the range needs 64-bit arithmetic
    shape(1, 31, 1, -2147483648, 31, 0, 2147483647, 32),
    shape(2, 4, 2, 1, 4, 1, 1, 6),
    shape(0, 4, 1, 1, 4, 1, 1, 6),
    # legal just at the top of the signed 32-bit result range: 2**31 - 1
    shape(1, 31, 0, 1, 1, 0, 0, 32),
])
def test_python_and_verilog_agree_on_boundary_parameters(p, tmp_path):
    predicted = [f"stream_add{'.' + v.path if v.path else ''}: {v.module}: {v.message}"
                 for v in violations("stream_add", p)]
    try:
        process, _, _ = run(p, [1, 2], [3, 4], 1, (0, 0, 0), tmp_path)
    except SimulationError as error:
        assert str(error).split("; ") == predicted
    else:
        assert predicted == [] and process.returncode == 0, process.stderr
