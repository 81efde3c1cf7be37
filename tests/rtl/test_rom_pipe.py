"""rtl_lib/rom_pipe.v: under random read patterns (random addresses, random read and
second-stage enables) the output is the word read LATENCY enabled stages ago, for one bank
and for a memory banked by block depth (the bank select pipelined with the data), from a
memory file and all-zero; the module lints clean under -Wall."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.modules import rom_pipe
from bnncc.sim.verilator import cache_root, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"
SOURCE = RTL / "rom_pipe.v"

# A testbench with its own model of the read pipeline: ref1 takes mem[addr] when rd_en,
# ref2 takes ref1, ref3 ref2, ref4 ref3 and ref5 ref4 when out_en; data must equal ref<LATENCY> from the
# cycle that model register holds a read word on.
BENCH = """
`timescale 1ns / 1ps
module bench;
    parameter integer WIDTH = 8, DEPTH = 64, LATENCY = 1, BLOCK = 1, BANK_DEPTH = 0, BANK_FILES = 0, EXPECT = 1;
    parameter integer CYCLES = 3000, SEED = 1;
    parameter INIT_FILE = "";
    localparam integer AW = $clog2(DEPTH) < 1 ? 1 : $clog2(DEPTH);
    reg clk = 0, rd_en = 0, out_en = 0;
    reg [AW-1:0] addr = 0;
    wire [WIDTH-1:0] data;
    rom_pipe #(.WIDTH(WIDTH), .DEPTH(DEPTH), .LATENCY(LATENCY), .INIT_FILE(INIT_FILE), .BLOCK(BLOCK),
               .BANK_DEPTH(BANK_DEPTH), .BANK_FILES(BANK_FILES)) dut (.ap_clk(clk), .rd_en(rd_en), .out_en(out_en), .addr(addr), .data(data));
    reg [WIDTH-1:0] ref_mem [0:DEPTH-1];
    reg [WIDTH-1:0] ref1, ref2, ref3, ref4, ref5;
    reg valid1 = 0, valid2 = 0, valid3 = 0, valid4 = 0, valid5 = 0;
    integer i, cycle, errors = 0, checked = 0, seed = SEED, r;
    initial begin
        if (INIT_FILE != "") $readmemh(INIT_FILE, ref_mem);
        else for (i = 0; i < DEPTH; i = i + 1) ref_mem[i] = 0;
        for (cycle = 0; cycle < CYCLES; cycle = cycle + 1) begin
            r = $random(seed);
            rd_en = r[0] | r[1];
            out_en = r[2] | r[3] | (cycle % 7 == 0);
            addr = $unsigned($random(seed)) % DEPTH;
            #1 clk = 1;
            if (out_en && valid4) begin ref5 = ref4; valid5 = 1; end
            if (out_en && valid3) begin ref4 = ref3; valid4 = 1; end
            if (out_en && valid2) begin ref3 = ref2; valid3 = 1; end
            if (out_en && valid1) begin ref2 = ref1; valid2 = 1; end
            if (rd_en) begin ref1 = ref_mem[addr]; valid1 = 1; end
            #1 clk = 0;
            if ((EXPECT == 1 && valid1) || (EXPECT == 2 && valid2) || (EXPECT == 3 && valid3)
                || (EXPECT == 4 && valid4) || (EXPECT == 5 && valid5)) begin
                checked = checked + 1;
                if (data !== (EXPECT == 1 ? ref1 : EXPECT == 2 ? ref2 : EXPECT == 3 ? ref3 : EXPECT == 4 ? ref4 : ref5)) errors = errors + 1;
            end
        end
        $display("RESULT checked=%0d errors=%0d", checked, errors);
        $finish;
    end
endmodule
"""


def run_bench(parameters: dict, words: list[int] | None, expect: int, seed: int = 1) -> tuple[int, int]:
    """Build (cached) and run the bench; return (cycles checked, mismatches)."""
    digits = max(1, (parameters["WIDTH"] + 3) // 4)
    text = "" if words is None else "".join(f"{w:0{digits}x}\n" for w in words)
    params = {**parameters, "EXPECT": expect, "SEED": seed}
    key = hashlib.sha256((SOURCE.read_text() + BENCH + repr(sorted(params.items())) + text).encode()).hexdigest()[:16]
    work = cache_root() / f"rom_pipe_{key}"
    work.mkdir(parents=True, exist_ok=True)
    init = ""
    if words is not None:
        (work / "init.hex").write_text(text)
        init = str(work / "init.hex")
        # each bank's slices in their own files (BANK_FILES), as the compiler writes them
        for suffix, chunk, width in rom_pipe.array_files({**rom_pipe.DEFAULTS, **parameters}, words):
            (work / f"init.hex{suffix}").write_text("".join(f"{w:0{(width + 3) // 4}x}\n" for w in chunk))
    binary = work / "Vbench"
    if not binary.exists():
        (work / "bench.v").write_text(BENCH)
        command = [verilator_command(), "--binary", "-Wno-fatal", "-Wno-lint", "--top-module", "bench",
                   "-Mdir", str(work), "-o", "Vbench", *[f"-G{k}={v}" for k, v in params.items()],
                   f'-GINIT_FILE="{init}"', str(SOURCE), str(work / "bench.v")]
        subprocess.run(command, check=True, capture_output=True, text=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    checked, errors = (int(part.split("=")[1]) for part in line.split()[1:])
    return checked, errors


CASES = [
    # WIDTH, DEPTH, LATENCY, BLOCK, BANK_DEPTH
    (18, 300, 1, 1, 0),
    (18, 300, 2, 1, 0),        # one bank (the memory fits a 1024 x 18 block)
    (13, 1000, 2, 1, 128),     # 8 banks (last one short), pipelined select
    (40, 5000, 2, 1, 0),       # auto bank depth: 2 banks of 2048 (+ a short third)
    (5, 70, 2, 0, 16),         # tool's choice of memory, 5 banks
    (9, 1, 2, 0, 0),           # a single word (an MVAU with one weight word)
    (7, 3000, 2, 1, 0),        # one bank padded to the block depth (4096 x 4 blocks)
    (13, 1000, 3, 1, 128),     # the bank multiplexer registered (LATENCY 3)
    (7, 40, 3, 1, 0),          # LATENCY 3 of a single bank
    (13, 1000, 4, 1, 128),     # the bank multiplexer split: 2 groups of 4 banks (LATENCY 4)
    (6, 1100, 4, 1, 64),       # 18 banks: 5 groups, the last of 2 banks
    (5, 300, 4, 1, 128),       # 3 banks in one group: a third register behind each bank
    (9, 4096, 4, 1, 1024),     # 4 banks, each behind its own third register
    (7, 40, 4, 1, 0),          # LATENCY 4 of a single bank
    (6, 1100, 5, 1, 64),       # 18 banks behind their own registers, then 5 groups (LATENCY 5)
    (5, 300, 5, 1, 128),       # 3 banks behind their own registers in one group: two registers after the multiplexer
    (7, 40, 5, 1, 0),          # LATENCY 5 of a single bank
]

# (WIDTH, DEPTH, BANK_DEPTH, LATENCY) of memories whose banks (and their slices) read their own
# files (BANK_FILES = 1): explicit bank depths (one slice), 1024 x 18 banks in 2 slices, 8192 x 2
# banks in 4 slices (the last of 1 bit), one bank padded to 8192 words in slices, one bank
# exactly as deep as its 4096 x 4 blocks in 5 slices
BANK_FILE_CASES = [(13, 1000, 128, 2), (36, 2080, 0, 2), (5, 300, 16, 3), (7, 20000, 0, 4), (7, 7168, 0, 2),
                   (40, 5000, 0, 3), (20, 4096, 0, 2), (9, 600, 64, 5)]


@pytest.mark.parametrize("width, depth, latency, block, bank_depth", CASES)
def test_rom_pipe_reads_match_the_model(width, depth, latency, block, bank_depth):
    rng = np.random.default_rng(width * depth)
    words = [int(w) for w in rng.integers(0, 1 << width, size=depth, dtype=np.uint64)]
    parameters = {"WIDTH": width, "DEPTH": depth, "LATENCY": latency, "BLOCK": block, "BANK_DEPTH": bank_depth}
    checked, errors = run_bench(parameters, words, latency, seed=3)
    assert checked > 2000 and errors == 0


@pytest.mark.parametrize("width, depth, bank_depth, latency", BANK_FILE_CASES)
def test_rom_pipe_banks_from_their_own_files(width, depth, bank_depth, latency):
    rng = np.random.default_rng(width + depth)
    words = [int(w) for w in rng.integers(0, 1 << width, size=depth, dtype=np.uint64)]
    parameters = {"WIDTH": width, "DEPTH": depth, "LATENCY": latency, "BLOCK": 1, "BANK_DEPTH": bank_depth,
                  "BANK_FILES": 1}
    rules = {**rom_pipe.DEFAULTS, **parameters}
    assert rom_pipe.banks(rules) >= 3 or len(rom_pipe.array_shapes(rules)) >= 3
    checked, errors = run_bench(parameters, words, latency, seed=5)
    assert checked > 2000 and errors == 0


def test_rom_pipe_without_file_reads_zero():
    checked, errors = run_bench({"WIDTH": 7, "DEPTH": 50, "LATENCY": 2, "BLOCK": 1, "BANK_DEPTH": 16},
                                None, 2)
    assert checked > 2000 and errors == 0


def test_bench_notices_a_wrong_latency():
    """The model check is not vacuous: a LATENCY 2 build checked as LATENCY 1 mismatches."""
    rng = np.random.default_rng(5)
    words = [int(w) for w in rng.integers(0, 1 << 13, size=1000, dtype=np.uint64)]
    _, errors = run_bench({"WIDTH": 13, "DEPTH": 1000, "LATENCY": 2, "BLOCK": 1, "BANK_DEPTH": 128},
                          words, 1, seed=3)
    assert errors > 100


@pytest.mark.parametrize("parameters", [
    {"WIDTH": 1, "DEPTH": 2, "LATENCY": 1},
    {"WIDTH": 3, "DEPTH": 1, "LATENCY": 2, "BLOCK": 0},
    {"WIDTH": 18, "DEPTH": 3000, "LATENCY": 2},
    {"WIDTH": 40, "DEPTH": 5000, "LATENCY": 2, "BLOCK": 0, "BANK_DEPTH": 512},
    {"WIDTH": 4, "DEPTH": 4096, "LATENCY": 2},
    {"WIDTH": 7, "DEPTH": 7168, "LATENCY": 2},
    {"WIDTH": 36, "DEPTH": 2080, "LATENCY": 2, "BANK_FILES": 1, "INIT_FILE": '"w.mem"'},
    {"WIDTH": 36, "DEPTH": 2080, "LATENCY": 3, "BANK_FILES": 1},
    {"WIDTH": 7, "DEPTH": 20000, "LATENCY": 4, "BANK_FILES": 1, "INIT_FILE": '"w.mem"'},
    {"WIDTH": 7, "DEPTH": 7168, "LATENCY": 2, "BANK_FILES": 1, "INIT_FILE": '"w.mem"'},
    {"WIDTH": 13, "DEPTH": 1000, "LATENCY": 4, "BANK_DEPTH": 128},
    {"WIDTH": 13, "DEPTH": 1000, "LATENCY": 4, "BANK_DEPTH": 512},
    {"WIDTH": 3, "DEPTH": 100, "LATENCY": 4, "BANK_DEPTH": 16},
    {"WIDTH": 3, "DEPTH": 100, "LATENCY": 5, "BANK_DEPTH": 16},
    {"WIDTH": 13, "DEPTH": 1000, "LATENCY": 5, "BANK_DEPTH": 512},
    {"WIDTH": 7, "DEPTH": 40, "LATENCY": 5},
    {"WIDTH": 7, "DEPTH": 20000, "LATENCY": 5, "BANK_FILES": 1, "INIT_FILE": '"w.mem"'},
    {"WIDTH": 5, "DEPTH": 1, "LATENCY": 3, "BLOCK": 0},
])
def test_rom_pipe_lints_clean(parameters):
    command = [verilator_command(), "--lint-only", "-Wall", "--top-module", "rom_pipe",
               *[f"-G{k}={v}" for k, v in parameters.items()], str(SOURCE)]
    process = subprocess.run(command, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
