"""rtl_lib/threshold_search.v: the pipelined binary search gives, for every lane, the number
of its row's thresholds <= the accumulator (numpy count, and the module's search model
bnncc.hw.modules.threshold_search.reference), for random sorted thresholds with duplicates,
thresholds at the extremes of the TW-bit range, fewer thresholds than 2**B - 1 (padded),
B = 1..5 stages, several lanes and rows, LUT and block RAM ROMs, with and without SPLIT
(every ROM read registered apart from its compare); inputs arrive in random
cycles and every result leaves exactly the module's latency later; the module lints clean
under -Wall."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.modules.threshold_search import latency, padded, reference, stage_words, word_width
from bnncc.sim.verilator import cache_root, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCE = RTL / "threshold_search.v"

# Drives the inputs of INPUTS (word i: {row, acc lanes}) in random cycles (in_valid with
# probability 1/2, row and acc random garbage while idle), and checks every output against
# EXPECTED in order and that it leaves exactly LATENCY cycles after its input.
BENCH = """
`timescale 1ns / 1ps
module bench;
    parameter integer PE = 1, STAGES = 4, TW = 8, ROWS = 1, BLOCK = 0, BLOCK_DEPTH = 0, SPLIT = 0, LATENCY = 4, COUNT = 10,
                      SEED = 1;
    // the files, read from the working directory (one build serves every data set)
    parameter INPUTS = "INPUTS", EXPECTED = "EXPECTED";
    parameter F0 = "F0", F1 = "F1", F2 = "F2", F3 = "F3", F4 = "F4", F5 = "F5", F6 = "F6", F7 = "F7";
    localparam integer RA_W = (ROWS > 1) ? $clog2(ROWS) : 1;
    reg clk = 0, rst_n = 0, in_valid = 0;
    reg [RA_W-1:0] in_row = 0;
    reg [PE*TW-1:0] in_acc = 0;
    wire out_valid;
    wire [PE*STAGES-1:0] out_count;
    threshold_search #(.PE(PE), .STAGES(STAGES), .TW(TW), .ROWS(ROWS), .BLOCK(BLOCK), .BLOCK_DEPTH(BLOCK_DEPTH), .SPLIT(SPLIT),
                       .FILE_0(F0), .FILE_1(F1), .FILE_2(F2), .FILE_3(F3), .FILE_4(F4), .FILE_5(F5),
                       .FILE_6(F6), .FILE_7(F7))
        dut (.ap_clk(clk), .ap_rst_n(rst_n), .in_valid(in_valid), .in_row(in_row), .in_acc(in_acc),
             .out_valid(out_valid), .out_count(out_count));
    reg [RA_W+PE*TW-1:0] inputs [0:COUNT-1];
    reg [PE*STAGES-1:0] expected [0:COUNT-1];
    reg [63:0] sent_at;          // bit i: an input was given i cycles ago
    integer cycle, sent = 0, got = 0, errors = 0, late = 0, seed = SEED, r;
    initial begin
        $readmemh(INPUTS, inputs);
        $readmemh(EXPECTED, expected);
        sent_at = 0;
        #1 clk = 1; #1 clk = 0; #1 clk = 1; #1 clk = 0;
        rst_n = 1;
        for (cycle = 0; cycle < 20 * COUNT + 100 && got < COUNT; cycle = cycle + 1) begin
            r = $random(seed);
            in_valid = sent < COUNT && r[0];
            if (in_valid) {in_row, in_acc} = inputs[sent];
            else begin in_row = $random(seed); in_acc = {PE{$random(seed)}}; end
            #1 clk = 1;
            sent_at = {sent_at[62:0], in_valid};
            if (in_valid) sent = sent + 1;
            #1 clk = 0;
            if (out_valid !== sent_at[LATENCY - 1]) late = late + 1;
            if (out_valid === 1'b1) begin
                if (out_count !== expected[got]) errors = errors + 1;
                got = got + 1;
            end
        end
        $display("RESULT sent=%0d got=%0d errors=%0d late=%0d", sent, got, errors, late);
        $finish;
    end
endmodule
"""


def _hex(words, width):
    digits = max(1, (width + 3) // 4)
    return "".join(f"{int(w):0{digits}x}\n" for w in words)


def run_search(T: np.ndarray, rows: np.ndarray, acc: np.ndarray, stages: int, tw: int, block: int = 0,
               seed: int = 1, block_depth: int = 0, split: int = 0) -> tuple[np.ndarray, str]:
    """Run the module on thresholds ``T`` (ROWS, PE, N) for inputs (rows[i], acc[i, :]);
    return the expected counts (numpy) and the bench's RESULT line."""
    n_rows, pe, _ = T.shape
    S = padded(T, stages, tw)
    expect = reference(acc, S[rows])
    # the count by definition: thresholds (unpadded) <= acc
    direct = (np.sort(T, axis=-1)[rows] <= acc[..., None]).sum(axis=-1)
    assert np.array_equal(expect, direct), "the search model differs from the count"
    ra_w = max(1, int(np.ceil(np.log2(n_rows))) if n_rows > 1 else 1)
    mask = (1 << tw) - 1
    inputs = [(int(r) << (pe * tw)) | sum((int(a) & mask) << (l * tw) for l, a in enumerate(lanes))
              for r, lanes in zip(rows, acc)]
    counts = [sum(int(c) << (l * stages) for l, c in enumerate(lanes)) for lanes in expect]
    files = {f"F{k}": _hex(words, word_width(pe, tw, n_rows, k, block, block_depth))
             for k, words in enumerate(stage_words(T, stages, tw, block, block_depth))}
    files["INPUTS"] = _hex(inputs, ra_w + pe * tw)
    files["EXPECTED"] = _hex(counts, pe * stages)
    params = {"PE": pe, "STAGES": stages, "TW": tw, "ROWS": n_rows, "BLOCK": block, "BLOCK_DEPTH": block_depth,
              "SPLIT": split, "LATENCY": latency(stages, block, split, n_rows, block_depth), "COUNT": len(rows),
              "SEED": seed}
    key = hashlib.sha256((SOURCE.read_text() + BENCH + repr(sorted(params.items()))).encode()).hexdigest()[:16]
    work = cache_root() / f"threshold_search_{key}"
    work.mkdir(parents=True, exist_ok=True)
    data = work / hashlib.sha256("".join(files.values()).encode()).hexdigest()[:12]
    data.mkdir(exist_ok=True)
    for name, text in files.items():
        (data / name).write_text(text)
    binary = work / "Vbench"
    if not binary.exists():
        (work / "bench.v").write_text(BENCH)
        command = [verilator_command(), "--binary", "-Wno-fatal", "-Wno-lint", "--top-module", "bench",
                   "-Mdir", str(work), "-o", "Vbench", *[f"-G{k}={v}" for k, v in params.items()],
                   str(SOURCE), str(work / "bench.v")]
        subprocess.run(command, check=True, capture_output=True)
    out = subprocess.run([str(binary)], cwd=data, check=True, capture_output=True, text=True).stdout
    return expect, out


def _random_case(rng, n_rows, pe, n, stages, tw, count):
    low, high = -(1 << (tw - 1)), (1 << (tw - 1)) - 1
    # accumulators up to high - 1 (the pad value high is above every accumulator)
    T = np.sort(rng.integers(low, high + 1, size=(n_rows, pe, n)), axis=-1)
    # duplicates and the extremes
    if n >= 3:
        T[0, 0, :2] = T[0, 0, 1]
        T[-1, -1, 0] = low
        T[-1, -1, -1] = high
    T = np.sort(T, axis=-1)
    rows = rng.integers(0, n_rows, size=count)
    acc = rng.integers(low, high, size=(count, pe))
    # accumulators equal to thresholds of their row, and the extreme values
    hit = rng.integers(0, n, size=(count, pe))
    take = rng.random((count, pe)) < 0.4
    chosen = np.take_along_axis(T[rows], hit[..., None], axis=-1)[..., 0]
    acc = np.where(take, np.minimum(chosen, high - 1), acc)
    acc[0, :] = low
    acc[1, :] = high - 1
    return T, rows, acc


CASES = [  # (rows, PE, thresholds, stages, TW, block, block depth, split)
    (1, 1, 1, 1, 4, 0, 0, 0),
    (1, 2, 5, 3, 6, 0, 2, 0),       # one row; padded; stages 1.. read ahead from block RAM
    (5, 1, 2, 2, 6, 0, 0, 0),
    (6, 4, 15, 4, 10, 0, 0, 0),     # INT4 activations
    (4, 3, 31, 5, 12, 0, 16, 0),    # PE not a power of two; stages 2.. in block RAM
    (12, 2, 13, 4, 9, 1, 0, 0),     # every ROM in block RAM, 2 cycles per stage
    # SPLIT: every ROM read registered apart from its compare (2 cycles per LUT stage, 3 per
    # block RAM stage)
    (1, 1, 1, 1, 4, 0, 0, 1),       # one stage, one row
    (7, 5, 15, 4, 10, 0, 0, 1),     # odd rows and lanes, LUT ROMs only
    (4, 3, 31, 5, 12, 0, 16, 1),    # stages 2.. in block RAM (3 cycles each), PE not a power of two
    (1, 2, 5, 3, 6, 0, 2, 1),       # one row, stages 1.. in block RAM
    (3, 2, 6, 3, 9, 1, 0, 1),       # every ROM in block RAM, 3 cycles per stage
]


@pytest.mark.parametrize("n_rows, pe, n, stages, tw, block, block_depth, split", CASES)
def test_search_matches_count(n_rows, pe, n, stages, tw, block, block_depth, split):
    rng = np.random.default_rng([n_rows, pe, n, stages, tw, block])
    T, rows, acc = _random_case(rng, n_rows, pe, n, stages, tw, count=300)
    expect, out = run_search(T, rows, acc, stages, tw, block, seed=n_rows + 7 * pe, block_depth=block_depth,
                             split=split)
    assert f"RESULT sent=300 got=300 errors=0 late=0" in out, out
    assert len(np.unique(expect)) > 1


def test_reference_is_the_count():
    """The search model equals the plain count on exhaustive small rows."""
    rng = np.random.default_rng(5)
    for stages in range(1, 6):
        n = (1 << stages) - 1
        for _ in range(20):
            T = np.sort(rng.integers(-20, 20, size=(1, 1, rng.integers(1, n + 1))), axis=-1)
            acc = np.arange(-22, 22)[:, None]
            S = padded(T, stages, 8)
            got = reference(acc, np.broadcast_to(S[0], (len(acc), 1, n)))
            assert np.array_equal(got[:, 0], (T[0, 0][None, :] <= acc).sum(axis=1))


def test_split_latency():
    """SPLIT: 2 cycles per LUT stage, 3 per block RAM stage; without it 1 (2 with BLOCK)."""
    assert latency(4, 0, 0, 7, 0) == 4 and latency(4, 1, 0, 7, 0) == 8
    assert latency(4, 0, 1, 7, 0) == 8
    assert latency(5, 0, 1, 4, 16) == 2 + 2 + 3 + 3 + 3      # stages 2.. (16, 32, 64 words) in block RAM
    assert latency(3, 1, 1, 3, 0) == 9


def test_too_many_thresholds_refused():
    with pytest.raises(ValueError, match="do not fit a 2-stage search"):
        stage_words(np.zeros((1, 1, 4), dtype=np.int64), 2, 8)


@pytest.mark.parametrize("pe, stages, rows, block, block_depth, split",
                         [(1, 1, 1, 0, 0, 0), (3, 4, 5, 0, 0, 0), (2, 8, 3, 0, 48, 0), (5, 3, 1, 0, 2, 0),
                          (2, 3, 6, 1, 0, 0), (1, 1, 1, 0, 0, 1), (3, 4, 5, 0, 0, 1), (2, 8, 3, 0, 48, 1),
                          (5, 3, 1, 0, 2, 1), (2, 3, 6, 1, 0, 1)])
def test_lint(pe, stages, rows, block, block_depth, split):
    command = [verilator_command(), "--lint-only", "-Wall", "--top-module", "threshold_search",
               f"-GPE={pe}", f"-GSTAGES={stages}", f"-GROWS={rows}", "-GTW=7", f"-GBLOCK={block}",
               f"-GBLOCK_DEPTH={block_depth}", f"-GSPLIT={split}", str(SOURCE)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
