"""rtl_lib/mac_dot.v against numpy: every operand class (unsigned, two's complement and
bipolar on either side, the XNOR-popcount), every form (product table, Booth recoding, bit
planes), odd sizes (N = 1, 3, 27, 64), operand widths 1..8, results narrower than the full
sum (the modulo), group sizes from one product to a whole popcount, 0..8 pipeline stages
(registers between the chains' segments with the later operands delayed, between the tree's
levels, and surplus ones at the output), pairs (PAIRED: mac_dot_pairs' sums and differences
in front; odd N, N = 1, signed and unsigned x, 1 to 8 bits, the negated form of many pairs;
rows of all +1 and all -1 weights in every run). All cases sit side by side in one Verilator build, behind a pipeline whose clock
enable follows random output back-pressure and whose input has random gaps (the pipeline
must hold); several seeds reuse the build. Also: lint under -Wall for a sweep of legal
parameter sets, and the elaboration checks against the registry's rules."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bnncc.sim import StreamSimulator
from bnncc.sim.verilator import verilator_command
from tests.rtl.dot_rules import assert_rules_match_verilog

RTL_LIB = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCES = [RTL_LIB / "mac_dot.v", RTL_LIB / "mvau.v"]     # mvau.v: mvau_popcount


@dataclass(frozen=True)
class Operand:
    bits: int
    signed: bool = False
    bipolar: bool = False

    def values(self, rng, shape) -> np.ndarray:
        if self.bipolar:
            return rng.choice([-1, 1], size=shape)
        low = -(1 << (self.bits - 1)) if self.signed else 0
        high = (1 << (self.bits - 1)) if self.signed else (1 << self.bits)
        return rng.integers(low, high, size=shape)

    def extreme(self, rng, shape) -> np.ndarray:
        """The smallest or the largest value, at random."""
        low = -1 if self.bipolar else -(1 << (self.bits - 1)) if self.signed else 0
        high = 1 if self.bipolar else (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1
        return np.where(rng.integers(0, 2, size=shape) == 1, high, low)

    def field(self, value: int) -> int:
        if self.bipolar:
            return 1 if value > 0 else 0
        return value & ((1 << self.bits) - 1)


def u(bits):
    return Operand(bits)


def i(bits):
    return Operand(bits, signed=True)


BIP = Operand(1, bipolar=True)


@dataclass(frozen=True)
class Case:
    n: int
    x: Operand
    w: Operand
    dw: int
    stages: int
    binary: bool = False
    chain: int = 0
    form: int = 0
    paired: bool = False

    @property
    def parameters(self) -> dict:
        return {"N": self.n, "INPUT_BITS": self.x.bits, "INPUT_SIGNED": int(self.x.signed),
                "INPUT_BIPOLAR": int(self.x.bipolar), "WEIGHT_BITS": self.w.bits,
                "WEIGHT_SIGNED": int(self.w.signed), "WEIGHT_BIPOLAR": int(self.w.bipolar),
                "BINARY": int(self.binary), "DW": self.dw, "STAGES": self.stages,
                "CHAIN": self.chain, "FORM": self.form, "PAIRED": int(self.paired)}

    @property
    def pairs_width(self) -> int:
        """Bits of mac_dot_pairs' output (PAIRED): N/2 sums and differences, the odd element."""
        ps = self.x.bits + (1 if self.x.signed else 2)
        return (self.n // 2) * 2 * ps + (self.n % 2) * self.x.bits

    @property
    def in_bits(self) -> int:
        return self.n * (self.x.bits + self.w.bits) + 1

    def expected(self, xs: np.ndarray, ws: np.ndarray, extra: np.ndarray) -> np.ndarray:
        """(sum x*w + extra) mod 2**DW per row (agreements + extra with BINARY)."""
        if self.binary:
            total = (xs == ws).sum(axis=1)
        else:
            total = (xs.astype(object) * ws.astype(object)).sum(axis=1)
        return np.array([(int(t) + int(e)) % (1 << self.dw) for t, e in zip(total, extra)], dtype=object)


CASES = [
    Case(27, i(4), i(4), 16, 2),                        # INT4 x INT4: Booth
    Case(64, i(2), i(2), 9, 1),                         # INT2 x INT2: product table
    Case(27, u(8), BIP, 14, 3),                         # INT8 (unsigned) x bipolar
    Case(3, BIP, i(3), 6, 0),                           # bipolar x INT3, combinational
    Case(64, BIP, BIP, 7, 2, binary=True, chain=16),    # XNOR-popcount, 4 groups
    Case(27, BIP, BIP, 5, 1, binary=True),              # one popcount with the extra inside, mod 32
    Case(3, BIP, BIP, 4, 1),                            # +-1 products
    Case(1, u(3), i(5), 8, 1, form=3),                  # bit planes, a single product
    Case(27, i(8), u(2), 10, 4, form=2),                # Booth of an unsigned operand, narrow result
    Case(3, i(1), i(1), 3, 1),                          # signed 1-bit operands
    Case(64, u(1), u(1), 5, 2),                         # AND products, narrow result
    Case(3, i(6), i(7), 12, 3, form=3),                 # signed bit planes (sign plane negated)
    Case(27, u(2), u(3), 10, 1, form=1),                # unsigned product table
    Case(64, i(8), i(8), 20, 8),                        # more stages than tree levels
    Case(27, u(5), i(4), 11, 2, form=2, chain=1),       # one product per chain
    Case(64, i(2), BIP, 4, 2, chain=5),                 # INT2 x bipolar, mod 16
    Case(16, u(4), u(4), 12, 3, form=2),                # unsigned Booth
    Case(3, u(7), i(1), 9, 0),                          # signed 1-bit weights {-1, 0}
    Case(27, i(3), u(3), 12, 5, chain=20),              # chains of 7 segments, 3 registers inside
    Case(27, i(8), BIP, 14, 3, paired=True),            # pairs: 13 pairs and the odd element
    Case(64, i(8), BIP, 15, 2, paired=True),            # pairs, negated form (32 products > DW), mod
    Case(1, i(8), BIP, 9, 1, paired=True),              # pairs of N = 1: the odd element alone
    Case(2, u(8), BIP, 11, 0, paired=True),             # one pair, unsigned, combinational
    Case(3, u(3), BIP, 6, 4, paired=True),              # odd, unsigned, surplus registers
    Case(27, i(2), BIP, 8, 5, chain=3, paired=True),    # pairs in chains of 3 with delayed operands
    Case(5, i(1), BIP, 4, 1, paired=True),              # 1-bit signed x {-1, 0}
]


def instance(case: Case, index: int, x: str, w: str, extra: str, dot: str) -> list[str]:
    """The lines of one mac_dot instance (with pairs: mac_dot_pairs in front) reading x, w,
    extra and driving dot (Verilog expressions)."""
    params = ", ".join(f".{k}({v})" for k, v in case.parameters.items())
    lines = []
    if case.paired:
        lines += [f"    wire [{case.pairs_width - 1}:0] xp{index};",
                  f"    mac_dot_pairs #(.N({case.n}), .INPUT_BITS({case.x.bits}), .INPUT_SIGNED({int(case.x.signed)}))"
                  f" p{index} (.x({x}), .xp(xp{index}));"]
        x = f"xp{index}"
    lines.append(f"    mac_dot #({params}) u{index} (.ap_clk(ap_clk), .ce(ce), .x({x}), .w({w}), .extra({extra}),"
                 f" .dot({dot}));")
    return lines


def wrapper(cases: list[Case]) -> str:
    """A streaming top: one input beat holds every case's operands and extra bit, one output
    beat every case's result. An input register, then the cases' mac_dot instances, then
    (SMAX - STAGES) registers per case so that all line up; a valid bit per stage and one
    clock enable for all of them (low while the output is stalled)."""
    smax = max(c.stages for c in cases)
    depth = smax + 1
    in_w = sum(c.in_bits for c in cases)
    out_w = sum(c.dw for c in cases)
    lines = [
        "module mac_dot_cases (input wire ap_clk, input wire ap_rst_n,",
        f"    input wire [{in_w - 1}:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,",
        f"    output wire [{out_w - 1}:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready);",
        f"    reg [{depth - 1}:0] v;",
        f"    wire ce = !v[{depth - 1}] || m_axis_tready;",
        "    assign s_axis_tready = ce;",
        f"    assign m_axis_tvalid = v[{depth - 1}];",
        f"    reg [{in_w - 1}:0] in_q;",
        "    always @(posedge ap_clk) if (ce) in_q <= s_axis_tdata;",
        "    always @(posedge ap_clk) begin",
        f"        if (!ap_rst_n) v <= {depth}'d0;",
        f"        else if (ce) v <= {{v[{depth - 2}:0], s_axis_tvalid}};" if depth > 1 else
        "        else if (ce) v <= s_axis_tvalid;",
        "    end",
    ]
    offset = out = 0
    for index, case in enumerate(cases):
        xw, ww = case.n * case.x.bits, case.n * case.w.bits
        lines.append(f"    wire [{case.dw - 1}:0] d{index};")
        lines += instance(case, index, f"in_q[{offset} +: {xw}]", f"in_q[{offset + xw} +: {ww}]",
                          f"in_q[{offset + xw + ww}]", f"d{index}")
        delay = smax - case.stages
        if delay == 0:
            lines.append(f"    assign m_axis_tdata[{out} +: {case.dw}] = d{index};")
        else:
            lines += [
                f"    reg [{case.dw - 1}:0] z{index} [0:{delay - 1}];",
                f"    integer k{index};",
                f"    always @(posedge ap_clk) if (ce) begin z{index}[0] <= d{index};",
                f"        for (k{index} = 1; k{index} < {delay}; k{index} = k{index} + 1) z{index}[k{index}] <= z{index}[k{index}-1];",
                "    end",
                f"    assign m_axis_tdata[{out} +: {case.dw}] = z{index}[{delay - 1}];",
            ]
        offset += case.in_bits
        out += case.dw
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _beats(cases: list[Case], count: int, seed: int):
    rng = np.random.default_rng(seed)
    data = []
    for case in cases:
        xs = case.x.values(rng, (count, case.n))
        ws = case.w.values(rng, (count, case.n))
        if seed % 2 == 0:      # extremes: operands at their minimum or maximum
            xs = np.where(rng.integers(0, 2, size=xs.shape) == 1, case.x.extreme(rng, xs.shape), xs)
            ws = np.where(rng.integers(0, 2, size=ws.shape) == 1, case.w.extreme(rng, ws.shape), ws)
        if case.w.bipolar:     # a row of all +1 weights and one of all -1
            ws[0, :], ws[1, :] = 1, -1
        extra = rng.integers(0, 2, size=count)
        data.append((xs, ws, extra))
    beats = []
    for row in range(count):
        word, offset = 0, 0
        for case, (xs, ws, extra) in zip(cases, data):
            for s in range(case.n):
                word |= case.x.field(int(xs[row, s])) << (offset + s * case.x.bits)
            offset += case.n * case.x.bits
            for s in range(case.n):
                word |= case.w.field(int(ws[row, s])) << (offset + s * case.w.bits)
            offset += case.n * case.w.bits
            word |= int(extra[row]) << offset
            offset += 1
        beats.append(word)
    expected = [case.expected(*d) for case, d in zip(cases, data)]
    return beats, expected


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    top = tmp_path_factory.mktemp("mac_dot") / "mac_dot_cases.v"
    top.write_text(wrapper(CASES))
    sim = StreamSimulator("mac_dot_cases", [top, *SOURCES])
    sim.build()
    return sim


@pytest.mark.parametrize("seed,in_stall,out_stall", [(1, 30, 40), (2, 50, 10), (3, 0, 0), (4, 10, 60)])
def test_every_case_matches_numpy_under_stalls(simulator, seed, in_stall, out_stall):
    count = 60
    beats, expected = _beats(CASES, count, seed)
    result = simulator.run(beats, count, seed=seed, in_stall=in_stall, out_stall=out_stall)
    assert len(result.outputs) == count
    out = 0
    for index, case in enumerate(CASES):
        got = [(beat >> out) & ((1 << case.dw) - 1) for beat in result.outputs]
        assert got == list(expected[index]), f"case {index} {case}"
        out += case.dw
    if in_stall == 0 and out_stall == 0:
        # one result per cycle, latency = input register + the deepest case's STAGES
        smax = max(c.stages for c in CASES)
        assert result.output_cycles[0] - result.input_cycles[0] == smax + 1
        assert result.output_cycles[-1] - result.output_cycles[0] == count - 1


def test_the_oracle_is_not_vacuous():
    """The expected values depend on every input: a flipped operand bit changes them."""
    case = CASES[0]
    rng = np.random.default_rng(0)
    xs, ws = case.x.values(rng, (4, case.n)), case.w.values(rng, (4, case.n))
    extra = np.zeros(4, dtype=int)
    base = case.expected(xs, ws, extra)
    xs2 = xs.copy()
    xs2[:, 3] = np.where(xs2[:, 3] == 0, 1, 0)
    assert list(case.expected(xs2, ws, extra)) != list(base)
    assert list(case.expected(xs, ws, extra + 1)) == [(b + 1) % (1 << case.dw) for b in base]


# -- lint -----------------------------------------------------------------------------------
CLASSES = [
    ("i4xi4", i(4), i(4), False), ("i2xi2", i(2), i(2), False), ("u8xbip", u(8), BIP, False),
    ("bipxi3", BIP, i(3), False), ("bin", BIP, BIP, True), ("bipxbip", BIP, BIP, False),
    ("u1xu1", u(1), u(1), False), ("i1xu6", i(1), u(6), False), ("u3xi5", u(3), i(5), False),
    ("i16xi16", i(16), i(16), False),
]
LINT = [(name, Case(n, x, w, dw, stages, binary=binary, form=form))
        for name, x, w, binary in CLASSES
        for n, dw, stages in [(1, 3, 0), (3, 8, 1), (7, 24, 3), (64, 40, 8)]
        if n < 64 or x.bits + w.bits <= 4
        for form in ([0] if x.bipolar or w.bipolar else [0, 2, 3])] + [
    (f"pairs_{'i' if x.signed else 'u'}{x.bits}", Case(n, x, BIP, dw, stages, chain=chain, paired=True))
    for x in (u(8), i(8), i(1), u(16))
    for n, dw, stages, chain in [(1, 3, 0, 0), (2, 9, 1, 0), (7, 24, 3, 0), (27, 14, 3, 0), (64, 40, 8, 2)]]


def test_lints_clean(tmp_path):
    """Every parameter set of LINT in one top whose ports feed and read each instance."""
    ports, body = ["input wire ap_clk", "input wire ce", "input wire extra"], []
    for index, (_, case) in enumerate(LINT):
        ports += [f"input wire [{case.n * case.x.bits - 1}:0] x{index}",
                  f"input wire [{case.n * case.w.bits - 1}:0] w{index}",
                  f"output wire [{case.dw - 1}:0] d{index}"]
        body += instance(case, index, f"x{index}", f"w{index}", "extra", f"d{index}")
    top = tmp_path / "lint_top.v"
    top.write_text("`timescale 1ns / 1ps\nmodule lint_top (\n    " + ",\n    ".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n")
    process = subprocess.run([verilator_command(), "--lint-only", "-Wall", "--top-module", "lint_top",
                              str(top), *map(str, SOURCES)], capture_output=True, text=True)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "%Warning" not in process.stderr
    assert len(LINT) >= 50


# -- elaboration checks against the registry's rules ---------------------------------------
BASE = Case(3, i(2), i(2), 8, 1).parameters
BOUNDARY = [
    {},
    {"STAGES": 8},
    {"STAGES": 9},
    {"DW": 64},
    {"FORM": 1, "INPUT_BITS": 3, "WEIGHT_BITS": 2},
    {"FORM": 1, "INPUT_BITS": 3, "WEIGHT_BITS": 3},
    {"FORM": 3},
    {"FORM": 4},
    {"BINARY": 1},
    {"BINARY": 1, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1, "WEIGHT_BITS": 1,
     "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1},
    {"INPUT_BIPOLAR": 1},
    {"WEIGHT_BITS": 16},
    {"WEIGHT_BITS": 17},
    {"CHAIN": 0},
    {"CHAIN": 5},
    {"PAIRED": 1},
    {"PAIRED": 1, "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1},
    {"PAIRED": 2, "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1},
    {"PAIRED": 1, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1, "WEIGHT_BITS": 1,
     "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1},
]


def test_python_rejects_exactly_what_verilator_rejects(tmp_path):
    assert_rules_match_verilog("mac_dot", BASE, BOUNDARY, SOURCES, tmp_path)
