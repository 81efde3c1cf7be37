"""The pipeline follows the clock and the device family: the budget of LUT levels between
registers and registered memory reads (bnncc/hw/timing.py ``pipeline_budget``), how the
folding carries it to every MVAU (``LEVELS``, ``REGISTER_READS``), and the pipelines the
MVAU builder picks for it (binary popcounts split into registered groups, multi-bit
mac_dot chains), checked against the depth model and, for one design, in RTL."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from bnncc.compile import Target, compile_model
from bnncc.errors import UsageError
from bnncc.hw.modules import mac_dot, mvau, rom_pipe
from bnncc.hw.rules import violations
from bnncc.hw.timing import FAMILY_DELAYS, MAX_LEVELS, MIN_LEVELS, PIPELINE_CARRIES, mvau_levels, pipeline_budget
from bnncc.passes.apply_folding import load_folding
from bnncc.targets import get_device
from bnncc.verify.run import verify_model
from tests.tiny_models import tiny_mlp

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"


@pytest.mark.parametrize("family", ["xilinx", "ecp5", "ice40"])
def test_the_budget_fits_the_clock_and_shrinks_as_it_rises(family):
    delays = FAMILY_DELAYS[family]
    previous = MAX_LEVELS
    for clock in (10, 50, 100, 125, 150, 200, 250, 300, 400):
        budget = pipeline_budget(family, clock)
        assert MIN_LEVELS <= budget.levels <= previous
        if budget.levels > MIN_LEVELS:
            assert delays.path_ns(budget.levels, PIPELINE_CARRIES) <= 1000 / clock
        if budget.levels < MAX_LEVELS:
            assert delays.path_ns(budget.levels + 1, PIPELINE_CARRIES) > 1000 / clock
        assert budget.register_reads == (delays.path_ns(budget.levels, PIPELINE_CARRIES, from_ram=True) > 1000 / clock)
        assert 1 <= budget.chain_levels <= budget.levels
        if budget.chain_levels > 1:
            assert delays.base + budget.chain_levels * delays.chain + PIPELINE_CARRIES * delays.carry <= 1000 / clock
        previous = budget.levels


def test_default_clocks_keep_the_default_pipeline():
    assert pipeline_budget("xilinx", 100) == pipeline_budget("xilinx", 25)
    assert (pipeline_budget("xilinx", 100).levels, pipeline_budget("xilinx", 100).register_reads) == (6, False)
    ecp5 = pipeline_budget("ecp5", 125)
    assert ecp5.levels == 4 and ecp5.register_reads and ecp5.chain_levels == 2
    assert pipeline_budget("xilinx", 250).chain_levels == pipeline_budget("xilinx", 250).levels
    assert pipeline_budget("unknown", 500).levels == MAX_LEVELS


def _binary(simd: int, mh: int = 64, pe: int = 4, mw: int = 256) -> dict:
    return {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1,
            "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 1, "ACC_BITS": 10,
            "N_THRESHOLDS": 1, "OUT_BITS": 1}


@pytest.mark.parametrize("levels", [3, 4, 5, 6])
@pytest.mark.parametrize("border", [False, True])
def test_binary_pipelines_meet_every_budget(levels, border):
    for simd in (1, 2, 3, 7, 8, 15, 16, 31, 32, 48, 64, 100, 128, 256):
        for reads in (False, True):
            p = _binary(simd, mw=simd * 4)
            chosen = mvau.binary_pipeline(p, border, levels, reads)
            full = {**p, **chosen, "BORDER": int(border)}
            assert mvau_levels(full)[0] <= max(levels, 4), (simd, chosen)   # 4: the accumulator path
            assert chosen.get("MEM_REG", 0) >= 1 or not reads
            if "DOT_CHAIN" in chosen:
                assert 1 <= chosen["DOT_CHAIN"] < simd and chosen["DOT_STAGES"] >= 2
            # no RTL check of the MVAU or its mac_dot refuses the choice
            if not (border and simd % 2):   # border masking of binary MVAUs needs an even SIMD
                assert not violations("mvau", {**full, "ACC_BITS": (simd * 4).bit_length() + 1}), chosen


def test_a_wide_binary_popcount_is_split_only_when_the_budget_asks():
    p = _binary(64)
    assert mvau.binary_pipeline(p, levels=6) == {"MEM_REG": 1}          # select registered: 6 levels
    split = mvau.binary_pipeline(p, levels=4, register_reads=True)
    assert split["MEM_REG"] == 1 and split["DOT_STAGES"] >= 2 and 0 < split["DOT_CHAIN"] < 64


def test_a_popcount_tree_keeps_within_its_tree_levels():
    """CNV-padded's conv 8 (SIMD 96) on ECP5 at 125 MHz: popcounts of 18 pairs fit 4 LUT
    levels, and so did their tree's three adder levels in one stage, but those took 8.5 ns;
    with the budget's 2 tree levels (its chain levels) the tree takes a register more."""
    p = _binary(96, mw=96 * 16)
    budget = pipeline_budget("ecp5", 125)
    assert (budget.levels, budget.chain_levels) == (4, 2)
    free = mvau.binary_pipeline(p, False, budget.levels, True)
    bound = mvau.binary_pipeline(p, False, budget.levels, True, budget.chain_levels)

    def tree(chosen):
        return mac_dot.tree_levels({**p, **chosen}, 96, chosen["DOT_STAGES"], chosen["DOT_CHAIN"])
    assert tree(free) == 3 and tree(bound) <= 2
    assert bound["DOT_STAGES"] > free["DOT_STAGES"] and mvau_levels({**p, **bound})[0] <= budget.levels
    for simd in (8, 31, 64, 100, 128, 256):
        q = _binary(simd, mw=simd * 4)
        for cap in (1, 2, 3):
            chosen = {"DOT_STAGES": 1, **mvau.binary_pipeline(q, False, 4, True, cap)}
            assert mvau_levels({**q, **chosen})[0] <= 4
            assert mac_dot.tree_levels({**q, **chosen}, simd, chosen["DOT_STAGES"], chosen.get("DOT_CHAIN", 0)) <= cap


@pytest.mark.parametrize("levels", [3, 4, 5, 6])
def test_multi_bit_pipelines_meet_every_budget(levels):
    for xb, wb in ((2, 2), (4, 4), (3, 1)):
        for simd in (1, 5, 16, 27, 64):
            p = {**_binary(simd), "INPUT_BITS": xb, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0, "WEIGHT_BITS": wb,
                 "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0, "ACC_BITS": 16}
            chosen = mvau.mac_pipeline(p, False, levels, register_reads=levels < 6)
            assert mvau_levels({**p, **chosen})[0] <= max(levels, 4), (xb, wb, simd, chosen)
            assert chosen["MEM_REG"] >= 1 or levels == 6


def test_the_weight_banks_multiplexer_and_a_product_tables_first_level_count():
    """TFC-w2a2's first layer at 10,000 FPS (784 x 64, PE 1, SIMD 7, INT2 x INT2): Yosys
    measured 8 LUT levels with MEM_REG 0 (2 of the multiplexer behind the 7168-word weight
    memory's blocks, 2 of the first product and its adder, 4 chain adders); the model now
    sees it and registers the operands."""
    p = {**_binary(7, pe=1, mw=784), "INPUT_BITS": 2, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0, "WEIGHT_BITS": 2,
         "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0, "ACC_BITS": 11, "WEIGHT_FILE": "w.mem"}
    assert mvau.weight_bank_levels(p, 0) == 2 and mvau.operand_levels(p, 0) == 2
    assert mvau.weight_bank_levels(p, 1) == 0 == mvau.weight_bank_levels(p, 2)   # one padded rom_pipe bank
    assert mvau_levels({**p, "MAC_STYLE": 1, "MEM_REG": 0, "DOT_STAGES": 3})[0] == 8
    chosen = mvau.mac_pipeline(p, levels=6)
    assert chosen["MEM_REG"] >= 1 and mvau_levels({**p, **chosen})[0] <= 6


def test_a_popcount_group_counts_the_extra_bit():
    """CNV-w1a1's conv 4 at 10,000 FPS (576 x 64, PE 16, SIMD 192): Yosys measured 7 LUT
    levels from the input select through a group of 63 pairs plus the folded threshold's
    extra bit (a 64-bit count), which the model had at 6."""
    p = {**_binary(192, pe=16, mw=576), "ACC_BITS": 11}
    assert mvau_levels({**p, "MEM_REG": 0, "DOT_STAGES": 2, "DOT_CHAIN": 63})[0] == 7
    # re-synthesized with groups of 62 pairs: 7 again (62 pairs and the extra bit: 6 levels)
    assert mvau_levels({**p, "MEM_REG": 0, "DOT_STAGES": 2, "DOT_CHAIN": 62})[0] == 7
    chosen = mvau.binary_pipeline(p, levels=6)
    assert mvau_levels({**p, **chosen})[0] <= 6


#: LUT levels of mvau_popcount of N pairs with the extra bit, registered in and out, Yosys
#: synth_xilinx (benchmarks/mac_area.py's binary inline point at each N).
POPCOUNT_DEPTH = {8: 3, 16: 3, 19: 6, 24: 5, 25: 4, 31: 5, 32: 5, 40: 5, 41: 6, 47: 5, 48: 5, 56: 5, 58: 6, 62: 6,
                  63: 6, 64: 6, 76: 7, 80: 6, 96: 6, 127: 6, 128: 8, 129: 8}


def test_popcount_depth_follows_the_compressor_heap():
    assert {n: mac_dot.popcount_levels(n, 1) for n in POPCOUNT_DEPTH} == POPCOUNT_DEPTH


def test_a_weight_memory_of_several_rom_pipe_banks_gets_its_multiplexer_registered():
    p = {**_binary(1, pe=8, mw=4096), "WEIGHT_FILE": "w.mem"}     # 32768 words x 8 bits: 2 banks of 16384 x 1 blocks
    assert mvau.weight_bank_levels(p, 1) == 1 and mvau.weight_bank_levels(p, 2) == 0
    # the popcount of one pair and the extra bit: its XNOR, then the final adder (2 levels)
    assert mac_dot.popcount_levels(1, 1) == 2
    assert mvau.binary_pipeline(p, levels=3, register_reads=True) == {"MEM_REG": 1}   # 1 + 2 levels fit
    assert mvau.binary_pipeline(p, levels=2, register_reads=True) == {"MEM_REG": 2}   # the popcount's 2 only


def test_rom_pipe_registers_behind_the_banks_by_latency():
    """Words in registers behind the banks' second registers (the FF estimate's count):
    LATENCY 3 the word; 4 with at most four banks every bank's, then the word; 4 beyond four
    banks a word per group and the word; 5 every bank's, every group's and the word."""
    rom = {"WIDTH": 8, "DEPTH": 1100, "LATENCY": 3, "INIT_FILE": "", "BLOCK": 1, "BANK_DEPTH": 64, "BANK_FILES": 0}
    assert rom_pipe.banks(rom) == 18 and rom_pipe.groups(rom) == 5
    assert [rom_pipe.fabric_words({**rom, "LATENCY": k}) for k in (1, 2, 3, 4, 5)] == [0, 0, 1, 6, 18 + 5 + 1]
    three = {**rom, "DEPTH": 150}
    assert [rom_pipe.fabric_words({**three, "LATENCY": k}) for k in (3, 4, 5)] == [1, 3 + 1, 3 + 2]
    one = {**rom, "DEPTH": 40, "BANK_DEPTH": 0}
    assert [rom_pipe.fabric_words({**one, "LATENCY": k}) for k in (3, 4, 5)] == [1, 2, 3]


def test_rom_pipe_pads_only_memories_deeper_than_one_block_row():
    rom = {"WIDTH": 512, "DEPTH": 64, "LATENCY": 2, "INIT_FILE": "", "BLOCK": 1, "BANK_DEPTH": 0, "BANK_FILES": 1}
    assert rom_pipe.array_shapes(rom) == [(512, 64)]                 # 15 blocks of 512 x 36, not 29 of 1024 x 18
    # one bank padded to 8192 words, in slices of the 8192 x 2 configuration
    assert rom_pipe.array_shapes({**rom, "WIDTH": 7, "DEPTH": 7168}) == [(2, 8192)] * 3 + [(1, 8192)]
    assert rom_pipe.array_shapes({**rom, "WIDTH": 7, "DEPTH": 7168, "BANK_FILES": 0}) == [(7, 8192)]
    assert rom_pipe.array_shapes({**rom, "WIDTH": 7, "DEPTH": 7168, "LATENCY": 1}) == [(7, 7168)]
    # one bank exactly as deep as its blocks (16384 x 32: every configuration takes 32 blocks)
    assert rom_pipe.array_shapes({**rom, "WIDTH": 32, "DEPTH": 16384}) == [(1, 16384)] * 32
    banked = {**rom, "WIDTH": 64, "DEPTH": 5000}                    # 5 banks of 1024 x 18 blocks, 4 slices each
    assert rom_pipe.array_shapes(banked) == ([(18, 1024)] * 3 + [(10, 1024)]) * 5


def test_rom_pipe_files_hold_each_slice_of_each_bank():
    """Bank b's slice s holds bits [s*SLICE, (s+1)*SLICE) of the bank's words: the files put
    back together give the memory."""
    rom = {"WIDTH": 7, "DEPTH": 20000, "LATENCY": 2, "INIT_FILE": "", "BLOCK": 1, "BANK_DEPTH": 0, "BANK_FILES": 1}
    words = [(i * 2654435761) % 128 for i in range(20000)]
    files = rom_pipe.array_files(rom, words)
    assert rom_pipe.bank_depth(rom) == 4096 and rom_pipe.slice_width(rom) == 4     # 10 blocks of 4096 x 4
    assert [suffix for suffix, _, _ in files][:3] == [".bank000.slice000", ".bank000.slice001", ".bank001.slice000"]
    assert len(files) == 10
    rebuilt = [0] * 20000
    for suffix, chunk, width in files:
        bank, index = int(suffix[5:8]), int(suffix[-3:])
        assert all(0 <= word < 1 << width for word in chunk)
        for i, word in enumerate(chunk):
            rebuilt[bank * 4096 + i] |= word << (4 * index)
    assert rebuilt == words
    assert [width for _, _, width in files] == [width for width, _ in rom_pipe.array_shapes(rom)]


def _mlp(tmp_path) -> Path:
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=64, hidden=32, classes=10, bits=4), path)
    return path


def test_an_ecp5_build_records_its_pipeline_in_the_folding(tmp_path):
    path = _mlp(tmp_path)
    result = compile_model(path, output=tmp_path / "ecp5",
                           target=Target(fps=10_000, clock_mhz=125, device=get_device("ecp5-85k")))
    table = json.loads((tmp_path / "ecp5" / "folding.json").read_text())
    mvaus = [link for link in result.design.links if link.module == "mvau"]
    # multi-bit products: the budget's chain levels (2 on ECP5 at 125 MHz)
    assert mvaus and all(table[link.node]["LEVELS"] == 2 and table[link.node]["REGISTER_READS"] for link in mvaus)
    assert all(link.parameters["MEM_REG"] == (2 if link.parameters["MH"] // link.parameters["PE"] > 1 else 1)
               for link in mvaus)
    # the same model for xc7 at 100 MHz keeps the default pipeline and writes no such keys
    compile_model(path, output=tmp_path / "xc7", target=Target(fps=10_000))
    xc7 = json.loads((tmp_path / "xc7" / "folding.json").read_text())
    assert not any("LEVELS" in entry or "REGISTER_READS" in entry for entry in xc7.values())
    # a folding file's own LEVELS wins over the budget
    node = mvaus[0].node
    override = {**table, node: {**table[node], "LEVELS": 6, "REGISTER_READS": False}}
    again = compile_model(path, output=tmp_path / "override", folding=override,
                          target=Target(clock_mhz=125, device=get_device("ecp5-85k")))
    first = next(link for link in again.design.links if link.node == node and link.module == "mvau").parameters
    assert all(first[key] == value for key, value in mvau.mac_pipeline(first).items())
    written = json.loads((tmp_path / "override" / "folding.json").read_text())
    assert written[node]["LEVELS"] == 6 and written[node]["REGISTER_READS"] is False


def test_a_weight_memory_of_many_blocks_in_one_bank_gets_two_registers(tmp_path):
    """TFC-w1a1's first layer at PE 8, SIMD 49 on ECP5 at 125 MHz: 128 words of 392 bits,
    one bank of 22 blocks (more than SPREAD_BLOCKS) takes MEM_REG 3 (rom_pipe LATENCY 4, two
    registers in a row behind its blocks); the layers of one block keep MEM_REG 2; the
    XNOR-popcounts take the budget's chain levels as their tree levels."""
    first = "/features.2/MatMul"
    result = compile_model(MODELS / "tfc_w1a1.onnx", output=tmp_path / "b", folding={first: {"PE": 8, "SIMD": 49}},
                           target=Target(clock_mhz=125, device=get_device("ecp5-85k")))
    mvaus = {link.node: link.parameters for link in result.design.links if link.module == "mvau"}
    rom = mvau._rom_pipe_parameters(mvaus[first])
    assert rom_pipe.banks(rom) == 1 and rom_pipe.blocks(rom) == 22 > mvau.SPREAD_BLOCKS
    assert mvaus[first]["MEM_REG"] == 3 and rom_pipe.fabric_words({**rom, "LATENCY": 4}) == 2   # in a row
    assert all(p["MEM_REG"] == 2 for node, p in mvaus.items() if node != first)
    table = json.loads((tmp_path / "b" / "folding.json").read_text())
    assert all(table[node]["TREE_LEVELS"] == 2 for node in mvaus)


@pytest.mark.parametrize("entry, message", [
    ({"LEVELS": 0}, "LEVELS=0 is not a positive integer"),
    ({"LEVELS": True}, "LEVELS=True is not a positive integer"),
    ({"TREE_LEVELS": 0}, "TREE_LEVELS=0 is not a positive integer"),
    ({"REGISTER_READS": "yes"}, "REGISTER_READS='yes' is not true or false"),
])
def test_bad_pipeline_keys_are_refused_by_name(tmp_path, entry, message):
    path = tmp_path / "folding.json"
    path.write_text(json.dumps({"node": {"PE": 1, **entry}}))
    with pytest.raises(UsageError, match=message):
        load_folding(path)


def test_a_binary_network_pipelined_for_ecp5_is_exact_in_rtl(tmp_path):
    """TFC-w1a1 for 100,000 FPS at 125 MHz on ECP5: block RAM weights through rom_pipe,
    popcounts split into registered groups, the input select registered apart; Verilator with random stalls agrees with the
    executor and the initiation interval is the analytic one."""
    build = tmp_path / "build"
    result = compile_model(MODELS / "tfc_w1a1.onnx", output=build,
                           target=Target(fps=100_000, clock_mhz=125, device=get_device("ecp5-85k")))
    mvaus = [link.parameters for link in result.design.links if link.module == "mvau"]
    assert any(p.get("DOT_CHAIN", 0) for p in mvaus)
    # MEM_REG 2 (the input select behind the vector buffer's second register) where there is
    # a vector buffer (several row groups), MEM_REG 1 elsewhere
    assert all(p["MEM_REG"] == (2 if p["MH"] // p["PE"] > 1 else 1) for p in mvaus), mvaus
    assert all(mvau_levels(p)[0] <= 4 for p in mvaus)
    verified = verify_model(MODELS / "tfc_w1a1.onnx", samples=5, seed=4, build_dir=build, stall=30)
    assert verified.ok, verified.table()
    assert verified.rtl.exact == 5
    analytic = verified.rtl.analytical_ii_cycles
    assert abs(verified.rtl.measured_ii_cycles - analytic) <= 0.02 * analytic
