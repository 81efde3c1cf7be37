"""rtl_lib/mvau.v against bnncc's MVAU op (bnncc/ir/ops/hw.py) under Verilator.

Each parameter set is one Verilator build (cached across runs: the memory files are passed
as relative paths and read at simulation start from the test's working directory, which is
its tmp_path). Per set: random weights, thresholds and inputs; several vectors with random
input gaps and output back-pressure; and one run without stalls that checks the steady-state
throughput of (MH/PE)*(MW/SIMD) cycles per vector and the pipeline latency.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from bnncc.hw.memory_words import threshold_words, weight_words, write_mem
from bnncc.hw.modules.mvau import weight_bank_files
from bnncc.hw.stage import Memory as MemoryFile
from bnncc.hw.modules.threshold_search import latency as search_latency, mvau_stage_words, word_width
from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops.hw import MVAU, accumulator_range
from bnncc.sim.beats import element_bits, pack_beats, unpack_beats
from bnncc.sim.verilator import StreamSimulator, verilator_command

RTL = Path(__file__).resolve().parents[2] / "rtl_lib" / "mvau.v"
SOURCES = [RTL, RTL.with_name("mac_dot.v"), RTL.with_name("mac_dsp.v"), RTL.with_name("rom_pipe.v"),
           RTL.with_name("threshold_search.v")]
LATENCY = 4  # cycles from consuming a row group's last input beat to its output beat (+ pipeline)



@dataclass
class Case:
    """One MVAU configuration in bnncc types."""

    name: str
    mw: int
    mh: int
    pe: int
    simd: int
    in_dtype: DataType
    w_dtype: DataType
    out_dtype: DataType | None  # None: no thresholds, the accumulator is the output
    steps: int = 0              # thresholds per row
    xnor: bool | None = None    # XNOR-popcount; None: if both operands are bipolar
    vectors: int = 5
    stalls: list[tuple[int, int]] = field(default_factory=lambda: [(40, 40), (10, 80), (70, 20)])
    weights: str = "random"     # "zero": all zero; "single": one weight 1, the others 0
    classes: int = 1            # threshold classes (N_CLASSES); > 1: a random class per vector
    frame: int = 1              # vectors per frame (N_VECTORS), the class map's length
    class_cols: int = 0         # > 0: classes by row and column (CLASS_COLS), rows of this many vectors
    block: int = 0              # THRESHOLD_BLOCK: the threshold memory in block RAM (registered read)
    border: tuple = ()          # BORDER masking: (KH, KW, OH, OW), random padded kernel rows / columns
    mac_style: int = 0          # MAC_STYLE: 1 = mac_dot (LUTs and carry chains), 2 = mac_dsp (packed DSPs)
    dsp_family: int = 0         # DSP_FAMILY of mac_dsp: 0 DSP48E1, 1 DSP48E2, 2 ECP5
    mem_reg: int = 0            # MEM_REG: weight and input word registered once more
    dot_stages: int = 1         # DOT_STAGES: pipeline registers of the dot products
    register_compares: int = 0  # REGISTER_COMPARES: the threshold compares registered (steps > 1)
    dot_chain: int = 0          # DOT_CHAIN: products (bit pairs) per chain or popcount of mac_dot
    search: int = 0             # THRESHOLD_SEARCH: several thresholds by the pipelined binary search
    search_block: int = 0       # SEARCH_BLOCK_DEPTH: search stage memories this deep in block RAM
    search_split: int = 0       # SEARCH_SPLIT: the search's ROM reads and compares registered apart
    dot_pairs: int = 0          # DOT_PAIRS: pair sums of the input word shared by the PEs (bipolar weights)
    issue_flags: int = 0        # ISSUE_FLAGS: the issue conditions registered

    @property
    def out_bits(self) -> int:
        return element_bits(self.out_dtype) if self.out_dtype is not None else 0

    @property
    def latency(self) -> int:
        if self.search and self.steps > 1:
            rows = self.classes * (self.mh // self.pe)
            compares = search_latency(self.out_bits, self.block, self.search_split, rows, self.search_block)
        else:
            compares = self.register_compares if self.steps > 1 else 0
        return LATENCY + self.mem_reg + self.dot_stages - 1 + compares

    @property
    def binary(self) -> bool:
        if self.xnor is not None:
            return self.xnor
        return self.in_dtype == BIPOLAR and self.w_dtype == BIPOLAR


CASES = [
    # binary layer, XNOR-popcount with one threshold per row, bipolar output
    Case("binary_thr", mw=40, mh=24, pe=4, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR, steps=1),
    # binary, SIMD = MW (one beat per vector), odd MH, three thresholds, UINT2 output
    Case("binary_uint2", mw=16, mh=21, pe=3, simd=16, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=4),
    # 2-bit x 2-bit signed, INT2 output (3 thresholds, OUT_BIAS -2), PE = MH = 23 (odd)
    Case("int2_int2", mw=12, mh=23, pe=23, simd=6, in_dtype=DataType.int(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3),
    # CNV first layer style: 8-bit signed input times bipolar weights, bipolar out
    Case("int8_bipolar", mw=27, mh=16, pe=4, simd=9, in_dtype=DataType.int(8), w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1),
    # binary, PE = MH and SIMD = MW (one beat in, one beat out per vector), raw popcount out
    Case("binary_raw_full", mw=10, mh=5, pe=5, simd=10, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=None),
    # bipolar input times unsigned weights, five thresholds, INT3 output (OUT_BIAS -4)
    Case("bipolar_uint3", mw=24, mh=6, pe=2, simd=4, in_dtype=BIPOLAR, w_dtype=DataType.uint(3),
         out_dtype=DataType.int(3), steps=5, vectors=4),
    # bipolar x bipolar as multiply-accumulate (+-1 products, not XNOR-popcount), raw out
    Case("bipolar_mac_raw", mw=12, mh=4, pe=2, simd=4, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=None,
         xnor=False, vectors=4),
    # more than 64 row groups: threshold memories read through a register (block RAM style)
    Case("binary_nf65", mw=8, mh=65, pe=1, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR, steps=1,
         vectors=3),
    Case("uint2_int2_nf65", mw=6, mh=130, pe=2, simd=3, in_dtype=DataType.uint(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, vectors=3),
    # last layer: unsigned 4-bit input times signed 3-bit weights, raw accumulator out, PE = SIMD = 1
    Case("uint4_int3_raw", mw=10, mh=37, pe=1, simd=1, in_dtype=DataType.uint(4), w_dtype=DataType.int(3),
         out_dtype=None, vectors=3),
    # degenerate weights: all zero, so every accumulator is 0 (ACC_BITS 1, raw out), and one
    # non-zero weight under thresholds (a 2-bit accumulator, narrower than a product)
    Case("uint4_int3_zero_raw", mw=9, mh=6, pe=2, simd=3, in_dtype=DataType.uint(4), w_dtype=DataType.int(3),
         out_dtype=None, vectors=3, weights="zero"),
    Case("int2_int2_single_thr", mw=8, mh=6, pe=3, simd=4, in_dtype=DataType.int(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, vectors=4, weights="single"),
    # threshold classes (zero-padded bipolar convolutions): 5 classes over frames of 3
    # vectors, one threshold (folded into the accumulator) and three (compared after it)
    Case("binary_classes", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=8, classes=5, frame=3),
    Case("binary_classes_uint2", mw=9, mh=4, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=7, classes=3, frame=5),
    # more than 64 threshold words (NF * N_CLASSES): read through a register
    Case("binary_classes_sync", mw=8, mh=24, pe=1, simd=4, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=6, classes=3, frame=4),
    Case("binary_classes_sync_uint2", mw=6, mh=44, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=5, classes=4, frame=2),
    # classes by row and column (3 row classes x 3 column classes over 3 x 5 positions) and
    # the threshold memory in block RAM style (registered read even when small)
    Case("binary_rowcol_block", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=17, classes=9, frame=15, class_cols=5, block=1),
    Case("binary_rowcol_block_uint2", mw=9, mh=4, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=9, classes=6, frame=8, class_cols=4, block=1),
    Case("bipolar_int3_rowcol", mw=12, mh=6, pe=3, simd=4, in_dtype=BIPOLAR, w_dtype=DataType.int(3),
         out_dtype=BIPOLAR, steps=1, vectors=8, classes=4, frame=6, class_cols=3),
    # border masking: beats on padded kernel rows / columns add SIMD/2 agreements (0 to the
    # product) instead of their dot product; 3x3 over 3x4 positions, 1x3 (1-D) over 1x5
    Case("binary_border", mw=36, mh=8, pe=2, simd=4, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=14, border=(3, 3, 3, 4)),
    Case("binary_border_1d_uint2", mw=24, mh=6, pe=3, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=7, border=(1, 3, 1, 5)),
    Case("bipolar_int3_border", mw=18, mh=4, pe=2, simd=1, in_dtype=BIPOLAR, w_dtype=DataType.int(3),
         out_dtype=BIPOLAR, steps=1, vectors=6, border=(3, 3, 2, 2)),
    Case("binary_border_raw", mw=18, mh=4, pe=4, simd=2, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=None,
         vectors=5, border=(3, 3, 2, 2)),
    # mac_dot dot products (MAC_STYLE 1), pipelined (DOT_STAGES, MEM_REG): every operand class,
    # one beat per vector (SF = 1: the output FIFO grows with the pipeline), border masking
    Case("mac_int4_int4_t15", mw=40, mh=12, pe=3, simd=20, in_dtype=DataType.int(4), w_dtype=DataType.int(4),
         out_dtype=DataType.uint(4), steps=15, mac_style=1, register_compares=1),
    Case("mac_uint2_int2_pipe", mw=27, mh=8, pe=4, simd=27, in_dtype=DataType.uint(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, mac_style=1, mem_reg=1, dot_stages=3, register_compares=1),
    Case("mac_int8_bipolar_pipe", mw=27, mh=16, pe=4, simd=9, in_dtype=DataType.int(8), w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, mac_style=1, dot_stages=2),
    Case("mac_uint4_int3_raw", mw=10, mh=37, pe=1, simd=5, in_dtype=DataType.uint(4), w_dtype=DataType.int(3),
         out_dtype=None, vectors=3, mac_style=1, mem_reg=1),
    Case("binary_pipe", mw=64, mh=24, pe=4, simd=64, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR, steps=1,
         mem_reg=1, dot_stages=3),
    Case("binary_border_pipe_uint2", mw=24, mh=6, pe=3, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=7, border=(1, 3, 1, 5), dot_stages=2, mem_reg=1,
         register_compares=1),
    # mac_dsp: several narrow products per DSP multiplier, lanes sharing the input word
    Case("dsp_int4_int4_t15", mw=40, mh=12, pe=3, simd=20, in_dtype=DataType.int(4), w_dtype=DataType.int(4),
         out_dtype=DataType.uint(4), steps=15, mac_style=2, dot_stages=6, register_compares=1),
    Case("dsp_uint2_int2_ecp5", mw=27, mh=8, pe=4, simd=9, in_dtype=DataType.uint(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, mac_style=2, dsp_family=2, dot_stages=4, mem_reg=1),
    Case("dsp_int8_int3_raw_e2", mw=10, mh=5, pe=5, simd=5, in_dtype=DataType.int(8), w_dtype=DataType.int(3),
         out_dtype=None, vectors=4, mac_style=2, dsp_family=1, dot_stages=2),
    Case("mac_bipolar_int3_border_pipe", mw=18, mh=4, pe=2, simd=2, in_dtype=BIPOLAR, w_dtype=DataType.int(3),
         out_dtype=BIPOLAR, steps=1, vectors=6, border=(3, 3, 2, 2), mac_style=1, dot_stages=2),
    # pairs (DOT_PAIRS): odd SIMD in one beat, even SIMD over several beats and row groups
    # (the pair sums behind the buffer's select, without MEM_REG), SIMD = 1, border masking
    Case("mac_int8_bipolar_pairs", mw=27, mh=16, pe=4, simd=27, in_dtype=DataType.int(8), w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, mac_style=1, mem_reg=1, dot_stages=3, dot_pairs=1),
    # one chain of all 14 pair products in three segments (the builder's choice at PE 16)
    Case("mac_int8_bipolar_pairs_chain", mw=54, mh=8, pe=2, simd=27, in_dtype=DataType.int(8), w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, mac_style=1, mem_reg=1, dot_stages=4, dot_chain=14, dot_pairs=1,
         register_compares=1),
    # INT2 x INT2 in one chain of 16 products, three segments (the builder's choice at SIMD 16)
    Case("mac_int2_int2_chain", mw=32, mh=8, pe=4, simd=16, in_dtype=DataType.int(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, mac_style=1, dot_stages=4, dot_chain=16, search=1),
    Case("mac_uint4_bipolar_pairs_uint2", mw=24, mh=6, pe=3, simd=8, in_dtype=DataType.uint(4), w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, mac_style=1, dot_stages=2, register_compares=1, dot_pairs=1),
    Case("mac_int8_bipolar_pairs_raw", mw=5, mh=4, pe=2, simd=1, in_dtype=DataType.int(8), w_dtype=BIPOLAR,
         out_dtype=None, vectors=4, mac_style=1, mem_reg=1, dot_pairs=1),
    Case("mac_int2_bipolar_pairs_border", mw=18, mh=4, pe=2, simd=2, in_dtype=DataType.int(2), w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=6, border=(3, 3, 2, 2), mac_style=1, dot_stages=2, dot_pairs=1),
    # the pipelines of a shorter clock period: popcounts of DOT_CHAIN pairs meeting in a
    # registered tree (the last group short), and block RAM weights read through rom_pipe:
    # one bank padded to its block depth, and two banks from their own files
    Case("binary_chain_pipe", mw=96, mh=8, pe=2, simd=48, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, mem_reg=1, dot_stages=3, dot_chain=10),
    Case("binary_chain_uint2", mw=45, mh=6, pe=3, simd=15, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, dot_stages=2, dot_chain=4, register_compares=1),
    Case("mac_int2_rom_padded", mw=64, mh=40, pe=1, simd=4, in_dtype=DataType.int(2), w_dtype=DataType.int(2),
         out_dtype=DataType.int(2), steps=3, vectors=3, mac_style=1, mem_reg=1, dot_stages=2, register_compares=1),
    Case("binary_rom_banks", mw=180, mh=416, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=3, stalls=[(30, 30)], mem_reg=1),
    # registered reads (MEM_REG): threshold memories read a cycle earlier through two registers
    Case("binary_rowcol_block_early", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=17, classes=9, frame=15, class_cols=5, block=1, mem_reg=1),
    Case("binary_rowcol_block_uint2_early", mw=9, mh=4, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=9, classes=6, frame=8, class_cols=4, block=1, mem_reg=2,
         dot_stages=2, dot_chain=4),
    Case("mac_int3_rom_banks_select", mw=90, mh=240, pe=2, simd=9, in_dtype=DataType.uint(3), w_dtype=DataType.int(2),
         out_dtype=DataType.uint(2), steps=3, vectors=3, stalls=[(30, 30)], mac_style=1, mem_reg=2, dot_stages=2,
         register_compares=1),
    # MEM_REG 3: the weight memory's bank multiplexer split by groups of four banks (rom_pipe
    # LATENCY 4); 5 banks of 1024 x 18 blocks (2 groups), 6 banks of 1024 x 36 in two slices
    Case("binary_rom_banks_split_select", mw=450, mh=200, pe=2, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=2, stalls=[(30, 30)], mem_reg=3),
    Case("mac_int3_rom_banks_split_select", mw=180, mh=600, pe=2, simd=9, in_dtype=DataType.uint(3),
         w_dtype=DataType.int(2), out_dtype=DataType.uint(2), steps=3, vectors=2, stalls=[(30, 30)], mac_style=1,
         mem_reg=3, dot_stages=2, register_compares=1),
    # MEM_REG 3 with at most four banks (one group): a third register behind each bank, then
    # the multiplexer (2 banks of 1024 x 18); with one bank of many blocks, two in a row
    Case("binary_rom_two_banks_mem_reg3", mw=360, mh=100, pe=2, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=2, stalls=[(30, 30)], mem_reg=3),
    Case("binary_rom_banks_mem_reg4", mw=450, mh=200, pe=2, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=2, stalls=[(30, 30)], mem_reg=4),
    Case("binary_rom_one_bank_mem_reg3", mw=64, mh=32, pe=4, simd=16, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, vectors=3, stalls=[(30, 30)], mem_reg=3),
    # MEM_REG 2 with a vector buffer (NF > 1): the input select behind the buffer's second
    # register (mvau.v XSPLIT); binary with a deep buffer, multi-bit with border-free classes
    Case("binary_split_select", mw=320, mh=12, pe=3, simd=5, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=3, stalls=[(30, 30)], mem_reg=2),
    Case("mac_int4_split_select", mw=28, mh=10, pe=5, simd=7, in_dtype=DataType.int(4), w_dtype=DataType.int(3),
         out_dtype=DataType.uint(2), steps=3, vectors=4, stalls=[(40, 20)], mac_style=1, mem_reg=2, dot_stages=3),
    # the pipelined binary search over each row's thresholds (THRESHOLD_SEARCH): INT4 x INT4
    # with 15 thresholds (SF = 1 and SF = 2, odd PE), fewer thresholds than 2**OUT_BITS - 1
    # (padded), classes (per vector, and by row and column in block RAM), border masking
    Case("search_int4_int4_t15", mw=40, mh=12, pe=3, simd=20, in_dtype=DataType.int(4), w_dtype=DataType.int(4),
         out_dtype=DataType.uint(4), steps=15, mac_style=1, search=1),
    Case("search_int4_sf1_pipe", mw=16, mh=10, pe=5, simd=16, in_dtype=DataType.int(4), w_dtype=DataType.int(4),
         out_dtype=DataType.int(4), steps=15, mac_style=1, mem_reg=1, dot_stages=2, search=1, vectors=6,
         search_block=4),     # stages 1.. (2 rows: 4, 8, 16 words per lane) in block RAM, read ahead
    Case("search_uint2_int2_t2_of_3", mw=9, mh=7, pe=7, simd=3, in_dtype=DataType.uint(2), w_dtype=DataType.int(2),
         out_dtype=DataType.uint(2), steps=2, search=1),
    Case("search_binary_classes_int3", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.int(3), steps=7, vectors=8, classes=5, frame=3, search=1),
    Case("search_binary_rowcol_block", mw=9, mh=4, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=9, classes=6, frame=8, class_cols=4, block=1, search=1),
    Case("search_binary_border_uint3", mw=24, mh=6, pe=3, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(3), steps=6, vectors=7, border=(1, 3, 1, 5), search=1),
    # SEARCH_SPLIT (short clock periods): every search ROM read registered apart from its
    # compare, 2 cycles per LUT stage, 3 per block RAM stage
    Case("search_split_int4_sf1_block", mw=16, mh=10, pe=5, simd=16, in_dtype=DataType.int(4), w_dtype=DataType.int(4),
         out_dtype=DataType.int(4), steps=15, mac_style=1, mem_reg=1, dot_stages=2, search=1, vectors=6,
         search_block=4, search_split=1),   # SF = 1: results every cycle through an 11-cycle search
    Case("search_split_binary_classes_int3", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.int(3), steps=7, vectors=8, classes=5, frame=3, search=1, search_split=1),
    Case("search_split_binary_border_uint3", mw=24, mh=6, pe=3, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(3), steps=6, vectors=7, border=(1, 3, 1, 5), search=1, search_split=1),
    Case("search_split_rowcol_block", mw=9, mh=4, pe=4, simd=9, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=DataType.uint(2), steps=3, vectors=9, classes=6, frame=8, class_cols=4, block=1, search=1,
         search_split=1),
    # ISSUE_FLAGS (short clock periods): the issue conditions from registered flags, with one
    # beat per vector and one row group (SF = NF = 1), several of each, a one-entry credit
    # limit under heavy output back-pressure, classes, and MEM_REG 2 with the split select
    Case("issue_flags_binary_sf1_nf1", mw=10, mh=5, pe=5, simd=10, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=None, issue_flags=1),
    Case("issue_flags_binary_thr", mw=40, mh=24, pe=4, simd=8, in_dtype=BIPOLAR, w_dtype=BIPOLAR,
         out_dtype=BIPOLAR, steps=1, issue_flags=1, stalls=[(40, 40), (10, 90), (90, 10)]),
    Case("issue_flags_classes", mw=18, mh=8, pe=2, simd=6, in_dtype=BIPOLAR, w_dtype=BIPOLAR, out_dtype=BIPOLAR,
         steps=1, vectors=8, classes=5, frame=3, issue_flags=1),
    Case("issue_flags_int4_mem_reg2", mw=24, mh=12, pe=3, simd=4, in_dtype=DataType.int(4),
         w_dtype=DataType.int(4), out_dtype=DataType.int(4), steps=15, mac_style=1, mem_reg=2, dot_stages=3,
         search=1, issue_flags=1),
]


def random_values(rng: np.random.Generator, dtype: DataType, shape) -> np.ndarray:
    if dtype == BIPOLAR:
        return rng.choice(np.array([-1, 1]), size=shape)
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


def signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest two's complement type holding [low, high]."""
    bits = 1
    while low < -(1 << (bits - 1)) or high > (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def out_bias(dtype: DataType) -> int:
    """OUT_BIAS giving ``MultiThreshold.code_from_count``'s code modulo 2**OUT_BITS."""
    if dtype == BIPOLAR:
        return 0  # count 1 -> bit 1 (+1), count 0 -> bit 0 (-1)
    return int(dtype.min) if dtype.kind == "INT" else 0


class Setup:
    """Random weights and thresholds of a case, its memory files, op and simulator."""

    def __init__(self, case: Case, work: Path, seed: int):
        rng = np.random.default_rng(seed)
        self.case, self.rng = case, rng
        self.weights = random_values(rng, case.w_dtype, (case.mw, case.mh))
        if case.weights != "random":
            self.weights = np.zeros_like(self.weights)
        if case.weights == "single":
            self.weights[case.mw // 2, case.mh // 2] = 1
        x_info = TensorInfo((1, case.mw), case.in_dtype)
        low, high = accumulator_range(x_info, self.weights, case.binary)
        self.acc_dtype = DataType.for_range(low, high)
        # the search pads with the largest ACC_BITS-bit value: as the compiler, hold high + 1
        self.acc_bits = signed_bits(low, high + 1 if case.search else high)
        # thresholds: around the accumulator range, half of them on values that occur
        self.x = random_values(rng, case.in_dtype, (case.vectors, case.mw))
        self.thresholds = None
        if case.out_dtype is not None:
            acc = self.accumulators(self.x)
            top = (1 << (self.acc_bits - 1)) - 1
            spread = rng.integers(max(low - 2, -top - 1), min(high + 2, top) + 1, size=(case.mh, case.steps))
            hits = acc[rng.integers(0, case.vectors, size=(case.mh, case.steps)), np.arange(case.mh)[:, None]]
            hits = np.clip(hits + rng.integers(0, 2, size=hits.shape), -top - 1, top)
            pick = rng.random((case.mh, case.steps)) < 0.5
            self.thresholds = np.sort(np.where(pick, hits, spread), axis=1)
        self.class_map = ()
        self.class_words = []
        if case.classes > 1 and case.class_cols:
            # row part (a multiple of the column classes) + column part, every class used
            n_cols = case.class_cols
            col_classes = {9: 3, 6: 2, 4: 2}[case.classes]
            rows = case.frame // n_cols
            row_part = [(r % (case.classes // col_classes)) * col_classes for r in range(rows)]
            col_part = [j % col_classes for j in range(n_cols)]
            self.class_map = tuple(row_part[r] + col_part[j] for r in range(rows) for j in range(n_cols))
            self.class_words = row_part + col_part
        elif case.classes > 1:
            self.class_map = tuple(int(c) for c in rng.integers(0, case.classes, size=case.frame))
            self.class_map = (case.classes - 1,) + self.class_map[1:]   # every class index fits
            self.class_words = list(self.class_map)
        if case.classes > 1:
            shifts = rng.integers(-3, 4, size=(case.classes, case.mh, 1))
            top = (1 << (self.acc_bits - 1)) - 1
            self.thresholds = np.sort(np.clip(self.thresholds[None] + shifts, -top - 1, top), axis=2)
        self.op = MVAU(
            name="mvau", inputs=["x", "w"] + (["t"] if self.thresholds is not None else []), outputs=["y"],
            mw=case.mw, mh=case.mh, acc_dtype=self.acc_dtype,
            out_dtype=case.out_dtype if case.out_dtype is not None else self.acc_dtype,
            binary_xnor=case.binary, pe=case.pe, simd=case.simd, class_map=self.class_map,
        )
        w_bits = element_bits(case.w_dtype)
        words = weight_words(self.weights, case.pe, case.simd, w_bits, case.w_dtype == BIPOLAR)
        write_mem(work / "weights.mem", words, case.pe * case.simd * w_bits)
        if self.thresholds is not None:
            per_class = self.thresholds if self.class_map else self.thresholds[None]
            write_mem(work / "thresholds.mem", [w for T in per_class for w in threshold_words(T, case.pe, self.acc_bits)],
                      case.pe * case.steps * self.acc_bits)
            if case.search:
                # stage 0 in thresholds.mem, stage k in search<k>.mem
                stages = mvau_stage_words(per_class, case.pe, case.out_bits, self.acc_bits, case.block,
                                          case.search_block)
                rows = len(per_class) * (case.mh // case.pe)
                for k, words in enumerate(stages):
                    write_mem(work / ("thresholds.mem" if k == 0 else f"search{k}.mem"), words,
                              word_width(case.pe, self.acc_bits, rows, k, case.block, case.search_block))
        out_bits = element_bits(case.out_dtype) if case.out_dtype is not None else self.acc_bits
        parameters = {
            "MW": case.mw, "MH": case.mh, "PE": case.pe, "SIMD": case.simd,
            "INPUT_BITS": element_bits(case.in_dtype), "INPUT_SIGNED": int(case.in_dtype.kind == "INT"),
            "INPUT_BIPOLAR": int(case.in_dtype == BIPOLAR),
            "WEIGHT_BITS": w_bits, "WEIGHT_SIGNED": int(case.w_dtype.kind == "INT"),
            "WEIGHT_BIPOLAR": int(case.w_dtype == BIPOLAR), "BINARY": int(case.binary),
            "ACC_BITS": self.acc_bits, "N_THRESHOLDS": case.steps, "OUT_BITS": out_bits,
            "OUT_BIAS": out_bias(case.out_dtype) if case.out_dtype is not None else 0,
            # relative paths: $readmemh opens them in the simulation's working directory
            "WEIGHT_FILE": '"weights.mem"', "THRESHOLD_FILE": '"thresholds.mem"',
        }
        if self.class_map:
            write_mem(work / "classes.mem", self.class_words, max(1, (case.classes - 1).bit_length()))
            parameters.update({"N_CLASSES": case.classes, "N_VECTORS": case.frame, "CLASS_FILE": '"classes.mem"'})
            if case.class_cols:
                parameters["CLASS_COLS"] = case.class_cols
        if case.block:
            parameters["THRESHOLD_BLOCK"] = 1
        if case.border:
            kh, kw, oh, ow = case.border
            self.border_words = [int(v) for v in rng.integers(0, 1 << kh, size=oh)] + \
                                [int(v) for v in rng.integers(0, 1 << kw, size=ow)]
            write_mem(work / "classes.mem", self.border_words, max(kh, kw))
            parameters.update({"BORDER": 1, "BORDER_KH": kh, "BORDER_KW": kw, "BORDER_OH": oh, "BORDER_OW": ow,
                               "CLASS_FILE": '"classes.mem"'})
        parameters.update({"MAC_STYLE": case.mac_style, "MEM_REG": case.mem_reg, "DOT_STAGES": case.dot_stages,
                           "REGISTER_COMPARES": case.register_compares, "DSP_FAMILY": case.dsp_family,
                           "DOT_CHAIN": case.dot_chain, "DOT_PAIRS": case.dot_pairs,
                           "ISSUE_FLAGS": case.issue_flags})
        # a block RAM weight memory of several banks (MEM_REG): one file per bank
        weights_file = MemoryFile("weights.mem", words, case.pe * case.simd * w_bits)
        for bank in weight_bank_files(weights_file, {**parameters, "WEIGHT_FILE": "weights.mem"}):
            write_mem(work / bank.filename, bank.words, bank.width)
        if case.search:
            parameters["THRESHOLD_SEARCH"] = 1
            parameters["SEARCH_BLOCK_DEPTH"] = case.search_block
            parameters["SEARCH_SPLIT"] = case.search_split
            parameters.update({f"SEARCH{k}_FILE": f'"search{k}.mem"' for k in range(1, case.out_bits)})
        self.sim = StreamSimulator("mvau", SOURCES, parameters)
        # raw accumulators leave as ACC_BITS-bit two's complement
        self.out_stream_dtype = case.out_dtype if case.out_dtype is not None else DataType.int(self.acc_bits)

    def accumulators(self, x: np.ndarray) -> np.ndarray:
        c = self.case
        if c.binary:
            return (x[:, :, None] == self.weights[None]).sum(axis=1)
        return x @ self.weights

    def padded_terms(self, count: int) -> np.ndarray:
        """(count, MW) bool: the terms of each vector on a padded kernel row or column (BORDER)."""
        kh, kw, oh, ow = self.case.border
        rows, cols = self.border_words[:oh], self.border_words[oh:]
        position = np.arange(self.case.mw) // (self.case.mw // (kh * kw))
        out = np.zeros((count, self.case.mw), dtype=bool)
        for v in range(count):
            r, j = divmod(v % (oh * ow), ow)
            out[v] = ((rows[r] >> (position // kw)) & 1) | ((cols[j] >> (position % kw)) & 1)
        return out

    def expected(self, x: np.ndarray) -> np.ndarray:
        if self.case.border:
            # the accumulator of the valid terms (+ SIMD/2 agreements per padded beat)
            pad = self.padded_terms(len(x))
            if self.case.binary:
                acc = ((x[:, :, None] == self.weights[None]) & ~pad[:, :, None]).sum(axis=1) + pad.sum(axis=1)[:, None] // 2
            else:
                acc = np.where(pad, 0, x) @ self.weights
            if self.thresholds is None:
                return acc
            (y,) = self.op.threshold_op().execute(acc, self.thresholds)
            return y
        if self.class_map:
            # whole frames through the op; the classes restart with every frame
            frame = self.case.frame
            padded = np.concatenate([x, np.ones((-len(x) % frame, x.shape[1]), dtype=x.dtype)])
            (y,) = self.op.execute(padded.reshape(-1, frame, x.shape[1]), self.weights, self.thresholds)
            return y.reshape(-1, self.case.mh)[: len(x)]
        args = (x, self.weights) + ((self.thresholds,) if self.thresholds is not None else ())
        (y,) = self.op.execute(*args)
        return y

    def run(self, x: np.ndarray, seed: int, in_stall: int, out_stall: int):
        c = self.case
        beats = pack_beats(x.reshape(-1, c.simd), c.in_dtype)
        nf = c.mh // c.pe
        result = self.sim.run(beats, len(x) * nf, seed=seed, in_stall=in_stall, out_stall=out_stall)
        y = unpack_beats(result.outputs, c.pe, self.out_stream_dtype).reshape(len(x), c.mh)
        return y, result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mvau_matches_op(case: Case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    setup = Setup(case, tmp_path, seed=sum(map(ord, case.name)))
    # the Python op agrees with plain numpy on the accumulators
    if case.out_dtype is None and not case.border:
        np.testing.assert_array_equal(setup.expected(setup.x), setup.accumulators(setup.x))
    expected = setup.expected(setup.x)
    for index, (in_stall, out_stall) in enumerate(case.stalls):
        y, result = setup.run(setup.x, seed=index + 1, in_stall=in_stall, out_stall=out_stall)
        assert len(result.input_cycles) == case.vectors * case.mw // case.simd
        np.testing.assert_array_equal(y, expected, err_msg=f"{case.name}: stalls in {in_stall}% out {out_stall}%")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mvau_throughput_without_stalls(case: Case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    setup = Setup(case, tmp_path, seed=sum(map(ord, case.name)))
    vectors = 6
    x = random_values(setup.rng, case.in_dtype, (vectors, case.mw))
    y, result = setup.run(x, seed=7, in_stall=0, out_stall=0)
    np.testing.assert_array_equal(y, setup.expected(x))
    sf, nf = case.mw // case.simd, case.mh // case.pe
    out = result.output_cycles
    # one output beat every SF cycles, no bubbles, so (MH/PE)*(MW/SIMD) cycles per vector
    assert np.all(np.diff(out) == sf), f"output beat spacing {sorted(set(np.diff(out).tolist()))}, expected {sf}"
    assert (out[-1] - out[0] + sf) / vectors == nf * sf
    # the first row group's result LATENCY cycles after its last input beat
    assert out[0] - result.input_cycles[sf - 1] == case.latency
    # each vector's SF input beats are taken back to back, one vector every NF*SF cycles
    first_beats = np.array(result.input_cycles[::sf])
    assert np.all(np.diff(result.input_cycles).reshape(-1)[: sf - 1] == 1)
    assert np.all(np.diff(first_beats) == nf * sf)


# operand encodings (bits, signed, bipolar) and the narrowest accumulators the compiler
# chooses for degenerate weights (ACC_BITS 1: every accumulator 0; 2..3: narrower than a
# product, so the dot product keeps only its low bits)
OPERANDS = [(1, 0, 1), (1, 0, 0), (2, 1, 0), (3, 0, 0), (8, 1, 0)]
LINT_SETS = [
    {"MW": 12, "MH": 4, "PE": pe, "SIMD": simd, "INPUT_BITS": xb, "INPUT_SIGNED": xs, "INPUT_BIPOLAR": xbip,
     "WEIGHT_BITS": wb, "WEIGHT_SIGNED": ws, "WEIGHT_BIPOLAR": wbip, "BINARY": 0, "ACC_BITS": acc,
     "N_THRESHOLDS": nt, "OUT_BITS": acc if nt == 0 else 2}
    for index, ((xb, xs, xbip), (wb, ws, wbip)) in enumerate((x, w) for x in OPERANDS for w in OPERANDS)
    for acc, nt, (pe, simd) in [((1, 2, 3)[index % 3], 0, (1, 3)), (2 + index % 2, (1, 3)[index % 2], (2, 4))]
]
# the same through mac_dot, pipelined or not, issue flags or not (one set per operand pair)
LINT_SETS += [dict(parameters, MAC_STYLE=1, DOT_STAGES=1 + index % 3, MEM_REG=index % 2,
                   REGISTER_COMPARES=index % 2, ISSUE_FLAGS=(index // 2) % 2)
              for index, parameters in enumerate(LINT_SETS[::2])]


def lint_failures(parameter_sets: list[dict]) -> list[str]:
    """The parameter sets for which ``verilator --lint-only -Wall`` of mvau.v (with its
    submodules) fails or warns, each with its first two warnings."""
    failures = []
    for parameters in parameter_sets:
        command = [verilator_command(), "--lint-only", "-Wall", "--top-module", "mvau", *map(str, SOURCES)]
        command += [f"-G{name}={value}" for name, value in parameters.items()]
        process = subprocess.run(command, capture_output=True, text=True)
        warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
        if process.returncode or warnings:
            failures.append(f"{parameters}: {warnings[:2]}")
    return failures


def test_mvau_lints_clean_with_the_narrowest_accumulators():
    """-Wall is clean (no dead bits) for every operand encoding with 1- to 3-bit accumulators,
    with and without thresholds."""
    assert len(LINT_SETS) == 75
    failures = lint_failures(LINT_SETS)
    assert not failures, "\n".join(failures[:5])


CLASS_LINT_SETS = [
    {"MW": 12, "MH": mh, "PE": pe, "SIMD": 4, "N_CLASSES": nc, "N_VECTORS": nv, "N_THRESHOLDS": nt,
     "OUT_BITS": 2 if nt > 1 else 1}
    for mh, pe, nc, nv, nt in [(4, 4, 2, 3, 1), (64, 4, 5, 900, 3), (64, 1, 3, 1, 1), (64, 1, 2, 2, 3), (8, 2, 9, 49, 1)]
] + [
    {"MW": 12, "MH": mh, "PE": pe, "SIMD": 4, "N_CLASSES": 9, "N_VECTORS": nv, "CLASS_COLS": cols,
     "THRESHOLD_BLOCK": block, "N_THRESHOLDS": nt, "OUT_BITS": 2 if nt > 1 else 1}
    for mh, pe, nv, cols, block, nt in [(4, 4, 49, 7, 1, 1), (64, 4, 900, 30, 1, 3), (8, 2, 1, 1, 0, 1), (8, 8, 6, 6, 1, 3)]
] + [
    {"MW": 36, "MH": 8, "PE": pe, "SIMD": simd, "BORDER": 1, "BORDER_KH": kh, "BORDER_KW": 3, "BORDER_OH": oh,
     "BORDER_OW": 7, "N_THRESHOLDS": nt, "OUT_BITS": 2 if nt > 1 else 1 if nt else 8, "BINARY": binary,
     "WEIGHT_BITS": 1 if binary else 3, "WEIGHT_SIGNED": 0 if binary else 1, "WEIGHT_BIPOLAR": binary,
     "ACC_BITS": 8}
    for pe, simd, kh, oh, nt, binary in [(2, 4, 3, 5, 1, 1), (8, 12, 1, 1, 3, 1), (1, 1, 3, 1, 1, 0), (4, 4, 3, 2, 0, 0)]
]


def test_mvau_with_classes_lints_clean():
    """-Wall is clean with threshold classes: one or several row groups, one vector per frame
    or many, threshold memories read combinationally and through a register, classes by row
    and column, block RAM thresholds, and border masking (2-D and 1-D kernels, XNOR-popcount
    and multiply-accumulate, with and without thresholds)."""
    failures = lint_failures(CLASS_LINT_SETS)
    assert not failures, "\n".join(failures[:5])


def test_mvau_classes_need_thresholds():
    """The registry's rule refuses N_CLASSES > 1 without thresholds (the Verilog's own check is
    held against the rule by tests/test_module_rules.py)."""
    from bnncc.hw.modules.mvau import RULES
    from bnncc.hw.rules import violations

    parameters = dict(RULES.defaults, N_CLASSES=3, N_VECTORS=4, N_THRESHOLDS=0, OUT_BITS=8)
    assert [v.message for v in violations("mvau", parameters)] == ["N_CLASSES=3 needs thresholds (N_THRESHOLDS > 0)"]
    assert violations("mvau", dict(parameters, N_THRESHOLDS=1, OUT_BITS=1)) == []


SEARCH_LINT_SETS = [
    {"MW": 12, "MH": mh, "PE": pe, "SIMD": 4, "N_THRESHOLDS": nt, "OUT_BITS": ob, "THRESHOLD_SEARCH": 1,
     "ACC_BITS": 8, **extra}
    for mh, pe, nt, ob, extra in [
        (4, 4, 2, 2, {}), (64, 1, 15, 4, {}), (6, 3, 255, 8, {}),
        (64, 4, 3, 2, {"N_CLASSES": 5, "N_VECTORS": 900}),
        (8, 8, 7, 3, {"N_CLASSES": 9, "N_VECTORS": 6, "CLASS_COLS": 6, "THRESHOLD_BLOCK": 1}),
        (8, 2, 3, 2, {"MW": 36, "SIMD": 4, "BORDER": 1, "BORDER_KH": 3, "BORDER_KW": 3, "BORDER_OH": 5, "BORDER_OW": 7}),
        (12, 3, 15, 4, {"BINARY": 0, "INPUT_BIPOLAR": 0, "WEIGHT_BIPOLAR": 0, "INPUT_BITS": 4, "WEIGHT_BITS": 4,
                        "INPUT_SIGNED": 1, "WEIGHT_SIGNED": 1, "ACC_BITS": 10, "MAC_STYLE": 1, "DOT_STAGES": 2}),
        (64, 4, 15, 4, {"SEARCH_BLOCK_DEPTH": 32}), (64, 2, 5, 3, {"SEARCH_BLOCK_DEPTH": 256}),
        (64, 1, 15, 4, {"SEARCH_SPLIT": 1}), (6, 3, 255, 8, {"SEARCH_SPLIT": 1}),
        (64, 4, 15, 4, {"SEARCH_BLOCK_DEPTH": 32, "SEARCH_SPLIT": 1}),
        (8, 8, 7, 3, {"N_CLASSES": 9, "N_VECTORS": 6, "CLASS_COLS": 6, "THRESHOLD_BLOCK": 1, "SEARCH_SPLIT": 1})]
]


PAIRS_LINT_SETS = [
    {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "INPUT_BITS": xb, "INPUT_SIGNED": xs, "INPUT_BIPOLAR": 0,
     "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 0, "ACC_BITS": acc, "N_THRESHOLDS": nt,
     "OUT_BITS": acc if nt == 0 else 2 if nt > 1 else 1, "MAC_STYLE": 1, "DOT_PAIRS": 1, "MEM_REG": mem_reg,
     "DOT_STAGES": stages, "REGISTER_COMPARES": int(nt > 1), **extra}
    for mw, mh, pe, simd, xb, xs, acc, nt, mem_reg, stages, extra in [
        (27, 16, 16, 27, 8, 1, 14, 1, 1, 3, {}), (27, 16, 16, 9, 8, 1, 14, 1, 1, 1, {}),
        (24, 6, 3, 8, 4, 0, 9, 3, 0, 2, {}), (5, 4, 2, 1, 8, 1, 12, 0, 1, 1, {}),
        (12, 4, 2, 3, 1, 1, 3, 1, 2, 4, {}), (64, 8, 8, 64, 16, 0, 24, 0, 1, 5, {"DOT_CHAIN": 3}),
        (18, 4, 2, 2, 2, 1, 6, 1, 0, 2, {"BORDER": 1, "BORDER_KH": 3, "BORDER_KW": 3, "BORDER_OH": 2,
                                         "BORDER_OW": 2}),
        (27, 64, 16, 27, 8, 1, 14, 1, 1, 3, {"THRESHOLD_BLOCK": 1}),
        (27, 64, 16, 27, 8, 1, 14, 1, 1, 4, {"DOT_CHAIN": 14}), (54, 8, 2, 27, 8, 1, 15, 3, 2, 4, {"DOT_CHAIN": 14}),
        (27, 16, 4, 27, 8, 1, 14, 1, 1, 3, {"N_CLASSES": 9, "N_VECTORS": 49, "CLASS_COLS": 7}),
        (27, 16, 4, 9, 8, 0, 14, 3, 1, 2, {"N_CLASSES": 4, "N_VECTORS": 5})]
]


def test_mvau_with_a_split_bank_multiplexer_lints_clean():
    """-Wall is clean with MEM_REG 3 and 4 (rom_pipe LATENCY 4 and 5): XNOR-popcount and
    multiply-accumulate weight memories of 5 and 6 banks, one of 2 banks in a single group,
    and one bank of 32 words."""
    sets = [{"MW": 450, "MH": 200, "PE": 2, "SIMD": 9, "N_THRESHOLDS": 1, "OUT_BITS": 1, "MEM_REG": 3},
            {"MW": 180, "MH": 600, "PE": 2, "SIMD": 9, "INPUT_BITS": 3, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 0,
             "WEIGHT_BITS": 2, "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0, "ACC_BITS": 12,
             "N_THRESHOLDS": 3, "OUT_BITS": 2, "MAC_STYLE": 1, "MEM_REG": 3, "DOT_STAGES": 2},
            {"MW": 90, "MH": 240, "PE": 2, "SIMD": 9, "N_THRESHOLDS": 1, "OUT_BITS": 1, "MEM_REG": 3},
            {"MW": 450, "MH": 200, "PE": 2, "SIMD": 9, "N_THRESHOLDS": 1, "OUT_BITS": 1, "MEM_REG": 4},
            {"MW": 180, "MH": 600, "PE": 2, "SIMD": 9, "INPUT_BITS": 3, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 0,
             "WEIGHT_BITS": 2, "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0, "ACC_BITS": 12,
             "N_THRESHOLDS": 3, "OUT_BITS": 2, "MAC_STYLE": 1, "MEM_REG": 4, "DOT_STAGES": 2},
            {"MW": 64, "MH": 32, "PE": 4, "SIMD": 16, "N_THRESHOLDS": 1, "OUT_BITS": 1, "MEM_REG": 4}]
    failures = lint_failures(sets)
    assert not failures, "\n".join(failures[:5])


def test_mvau_with_pairs_lints_clean():
    """-Wall is clean with pairs (DOT_PAIRS): odd and even SIMD, SIMD = 1, 1- to 16-bit signed
    and unsigned inputs, MEM_REG 0 to 2, one long chain, thresholds, classes, border masking."""
    failures = lint_failures(PAIRS_LINT_SETS)
    assert not failures, "\n".join(failures[:5])


def test_mvau_with_threshold_search_lints_clean():
    """-Wall is clean with the threshold search: 1 to 8 count bits, padded rows, classes
    (per vector; by row and column in block RAM), border masking, mac_dot, SEARCH_SPLIT."""
    failures = lint_failures(SEARCH_LINT_SETS)
    assert not failures, "\n".join(failures[:5])
