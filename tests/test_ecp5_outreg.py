"""bnncc/synth/ecp5_outreg.py: flip-flops that register an ECP5 block RAM's read data move
into the block's output register (REGMODE "OUTREG"), exactly.

* Hand-built netlists, simulated cycle by cycle before and after the rewrite (a model of the
  DP16KD read port with and without its output register, and of TRELLIS_FF): the outputs
  are equal on every cycle under random addresses and enables.
* Every condition of the rewrite is checked: a data bit read by anything else, another
  clock, a set/reset, a set initial value, mixed clock enables, an output enable or reset
  already in use, a 36-bit block whose write port is on another clock: the netlist is left
  unchanged. A 36-bit (pseudo dual port) block reads on port B with its data on both halves:
  both output registers are set, with port B's enable, and the simulation agrees.
* Yosys: rom_pipe with LATENCY 2 has its second register absorbed in every block (also when
  the memory is banked by block depth), LATENCY 1 none; sliding_window with READ_REG 1 has
  its line buffer's second read register absorbed, READ_REG 0 none.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from bnncc.hw.modules import rom_pipe
from bnncc.synth.ecp5_outreg import absorb_file, absorb_output_registers
from bnncc.synth.yowasp import deep_stack
from bnncc.tools import tool_command

ROOT = Path(__file__).resolve().parents[1]
CLK, CE, EN2, CLK2 = 2, 3, 8, 9
ADDR = [4, 5, 6, 7]
DO = [20, 21, 22, 23]
Q = [30, 31, 32, 33]
WORDS = [random.Random(11 + i).randrange(16) for i in range(16)]


def ff(di: int, q: int, ce: int | str = EN2, clk: int = CLK, **params) -> dict:
    parameters = {"CEMUX": "1 " if ce == "1" else "CE", "CLKMUX": "CLK", "GSR": "DISABLED", "LSRMUX": "LSR",
                  "REGSET": "RESET", "SRMODE": "LSR_OVER_CE", **params}
    connections = {"CLK": [clk], "DI": [di], "LSR": ["0"], "Q": [q]}
    if ce != "1":
        connections["CE"] = [ce]
    return {"type": "TRELLIS_FF", "parameters": parameters,
            "port_directions": {"CLK": "input", "DI": "input", "LSR": "input", "CE": "input", "Q": "output"},
            "connections": connections}


def ram(width: int = 4, **params) -> dict:
    connections = {"CLKA": [CLK], "CEA": [CE], "OCEA": ["1"], "RSTA": ["0"], "WEA": ["0"],
                   "CLKB": ["0"], "CEB": ["0"], "OCEB": ["1"], "RSTB": ["0"], "WEB": ["0"]}
    directions = {name: "input" for name in connections}
    for i in range(14):
        connections[f"ADA{i}"] = [ADDR[i - 2]] if 2 <= i < 6 else ["0"]
        directions[f"ADA{i}"] = "input"
    for i in range(18):
        connections[f"DOA{i}"] = [DO[i]] if i < 4 else [100 + i]
        connections[f"DOB{i}"] = [200 + i]
        directions[f"DOA{i}"] = directions[f"DOB{i}"] = "output"
    parameters = {"DATA_WIDTH_A": format(width, "032b"), "DATA_WIDTH_B": format(18, "032b"),
                  "REGMODE_A": "NOREG", "REGMODE_B": "NOREG", "CLKAMUX": "CLKA", "CLKBMUX": "CLKB", **params}
    return {"type": "DP16KD", "parameters": parameters, "port_directions": directions, "connections": connections}


def netlist(cells: dict) -> dict:
    ports = {"clk": {"direction": "input", "bits": [CLK]}, "ce": {"direction": "input", "bits": [CE]},
             "en2": {"direction": "input", "bits": [EN2]}, "clk2": {"direction": "input", "bits": [CLK2]},
             "addr": {"direction": "input", "bits": ADDR}, "q": {"direction": "output", "bits": Q}}
    return {"modules": {"m": {"ports": ports, "cells": cells}}}


def registered_rom(block: dict | None = None, **ff_params) -> dict:
    """A block (default: a true dual port one reading on port A) whose data bits 0..3 each
    drive one flip-flop."""
    cells = {"mem": block if block is not None else ram()}
    for i in range(4):
        cells[f"ff{i}"] = ff(DO[i], Q[i], **ff_params)
    return netlist(cells)


def wide_ram() -> dict:
    """A DP16KD in 36-bit (pseudo dual port) mode as Yosys maps a ROM: port A idle (clock 0,
    OCEA 0), port B reads at ADB5..8, data bits 0..1 on DOA0..1 and 2..3 on DOB0..1."""
    block = ram(36, DATA_WIDTH_B=format(36, "032b"))
    connections = block["connections"]
    connections.update({"CLKA": ["0"], "CEA": ["0"], "OCEA": ["0"], "CLKB": [CLK], "CEB": [CE]})
    for i in range(14):
        connections[f"ADA{i}"] = ["0"]
        connections[f"ADB{i}"] = [ADDR[i - 5]] if 5 <= i < 9 else ["0"]
        block["port_directions"][f"ADB{i}"] = "input"
    for i in range(18):
        connections[f"DOA{i}"] = [DO[i]] if i < 2 else [100 + i]
        connections[f"DOB{i}"] = [DO[i + 2]] if i < 2 else [200 + i]
    return block


def read_port(block: dict) -> tuple[str, list[str]]:
    """The side that reads (its clock enable, address and output enable) and the data pins
    of bits 0..3, for the true dual port (port A) and 36-bit models."""
    if block["parameters"]["DATA_WIDTH_A"] == format(36, "032b"):
        assert block["parameters"]["REGMODE_A"] == block["parameters"]["REGMODE_B"]
        return "B", ["DOA0", "DOA1", "DOB0", "DOB1"]
    return "A", [f"DOA{i}" for i in range(4)]


def simulate(design: dict, cycles: int = 400, seed: int = 5) -> list[tuple]:
    """Cycle simulation of a netlist of DP16KD read ports (4 data bits, address on 4 address
    pins, contents WORDS; see :func:`read_port`) and TRELLIS_FF: the output port q after every
    clock edge."""
    module = design["modules"]["m"]
    cells = module["cells"]
    state = {name: 0 for name, c in cells.items() if c["type"] == "TRELLIS_FF"}
    latch = {name: 0 for name, c in cells.items() if c["type"] == "DP16KD"}
    outreg = dict(latch)
    rng = random.Random(seed)
    trace = []

    def value(nets, bit):
        return int(bit) if isinstance(bit, str) else nets[bit]

    for _ in range(cycles):
        nets = {CLK: 0, CLK2: 0, CE: rng.random() < 0.7, EN2: rng.random() < 0.6}
        address = rng.randrange(16)
        for i, bit in enumerate(ADDR):
            nets[bit] = (address >> i) & 1
        for name, c in cells.items():
            if c["type"] == "DP16KD":
                side, pins = read_port(c)
                registered = c["parameters"][f"REGMODE_{side}"].strip() == "OUTREG"
                word = outreg[name] if registered else latch[name]
                for i in range(18):
                    for half in "AB":
                        nets[c["connections"][f"DO{half}{i}"][0]] = 0
                for i, pin in enumerate(pins):
                    nets[c["connections"][pin][0]] = (word >> i) & 1
        for name, c in cells.items():
            if c["type"] == "TRELLIS_FF":
                nets[c["connections"]["Q"][0]] = state[name]
        trace.append(tuple(nets.get(bit, 0) for bit in Q))
        # clock edge: every register samples the values before the edge
        new_state = dict(state)
        for name, c in cells.items():
            if c["type"] == "TRELLIS_FF":
                enabled = c["parameters"]["CEMUX"].strip() == "1" or value(nets, c["connections"]["CE"][0])
                if enabled:
                    new_state[name] = value(nets, c["connections"]["DI"][0])
            if c["type"] == "DP16KD":
                side, _ = read_port(c)
                first = 2 if side == "A" else 5
                if value(nets, c["connections"][f"OCE{side}"][0]):
                    outreg[name] = latch[name]
                if value(nets, c["connections"][f"CE{side}"][0]):
                    addr = sum(value(nets, c["connections"][f"AD{side}{first + i}"][0]) << i for i in range(4))
                    latch[name] = WORDS[addr]
        state = new_state
    return trace


@pytest.mark.parametrize("ce", [EN2, "1"])
def test_absorbed_netlist_equals_the_original_on_every_cycle(ce):
    design = registered_rom(ce=ce)
    before = simulate(design)
    after_design = copy.deepcopy(design)
    report = absorb_output_registers(after_design)
    cells = after_design["modules"]["m"]["cells"]
    assert report.ports == ["m:mem/A"] or report.ports == ["mem/A"]
    assert report.flip_flops == 4 and set(cells) == {"mem"}
    assert cells["mem"]["parameters"]["REGMODE_A"] == "OUTREG"
    assert cells["mem"]["connections"]["OCEA"] == (["1"] if ce == "1" else [EN2])
    assert [cells["mem"]["connections"][f"DOA{i}"] for i in range(4)] == [[q] for q in Q]
    assert simulate(after_design) == before
    assert len(set(before)) > 4  # the outputs do change


def test_simulation_tells_a_wrong_rewrite_apart():
    """The equivalence above can fail: the output register with the wrong enable differs."""
    design = registered_rom()
    wrong = copy.deepcopy(design)
    absorb_output_registers(wrong)
    wrong["modules"]["m"]["cells"]["mem"]["connections"]["OCEA"] = ["1"]
    assert simulate(wrong) != simulate(design)


def unchanged(design: dict) -> bool:
    original = copy.deepcopy(design)
    report = absorb_output_registers(design)
    return design == original and report.flip_flops == 0 and report.skipped


def test_data_bit_read_by_other_logic_is_left_alone():
    design = registered_rom()
    design["modules"]["m"]["cells"]["lut"] = {"type": "LUT4", "port_directions": {"A": "input", "Z": "output"},
                                               "connections": {"A": [DO[2]], "Z": [40]}, "parameters": {}}
    assert unchanged(design)


def test_data_bit_on_a_module_port_is_left_alone():
    design = registered_rom()
    design["modules"]["m"]["ports"]["raw"] = {"direction": "output", "bits": [DO[0]]}
    assert unchanged(design)


@pytest.mark.parametrize("params", [{"REGSET": "SET"}, {"CLKMUX": "INV"}, {"CEMUX": "INV"}])
def test_flip_flop_with_set_value_inverted_clock_or_enable_is_left_alone(params):
    assert unchanged(registered_rom(**params))


def test_flip_flop_with_a_reset_is_left_alone():
    design = registered_rom()
    design["modules"]["m"]["cells"]["ff1"]["connections"]["LSR"] = [CE]
    assert unchanged(design)


def test_flip_flop_on_another_clock_is_left_alone():
    design = registered_rom()
    design["modules"]["m"]["cells"]["ff3"] = ff(DO[3], Q[3], clk=CLK2)
    assert unchanged(design)


def test_flip_flops_with_different_enables_are_left_alone():
    design = registered_rom()
    design["modules"]["m"]["cells"]["ff0"] = ff(DO[0], Q[0], ce=CE)
    assert unchanged(design)


@pytest.mark.parametrize("port, net", [("OCEA", [CE]), ("RSTA", [CE])])
def test_output_enable_or_reset_in_use_is_left_alone(port, net):
    design = registered_rom()
    design["modules"]["m"]["cells"]["mem"]["connections"][port] = net
    assert unchanged(design)


def registered_wide_rom(**ff_params) -> dict:
    return registered_rom(wide_ram(), **ff_params)


@pytest.mark.parametrize("ce", [EN2, "1"])
def test_36_bit_mode_registers_both_halves_and_equals_the_original(ce):
    design = registered_wide_rom(ce=ce)
    before = simulate(design)
    after_design = copy.deepcopy(design)
    report = absorb_output_registers(after_design)
    cells = after_design["modules"]["m"]["cells"]
    assert report.ports == ["mem/B"] and report.flip_flops == 4 and set(cells) == {"mem"}
    block = cells["mem"]
    assert block["parameters"]["REGMODE_A"] == block["parameters"]["REGMODE_B"] == "OUTREG"
    enable = ["1"] if ce == "1" else [EN2]
    assert block["connections"]["OCEB"] == block["connections"]["OCEA"] == enable
    assert [block["connections"][pin] for pin in ("DOA0", "DOA1", "DOB0", "DOB1")] == [[q] for q in Q]
    assert simulate(after_design) == before
    assert len(set(before)) > 4


def test_36_bit_simulation_tells_a_wrong_enable_apart():
    design = registered_wide_rom()
    wrong = copy.deepcopy(design)
    absorb_output_registers(wrong)
    wrong["modules"]["m"]["cells"]["mem"]["connections"]["OCEB"] = ["1"]
    assert simulate(wrong) != simulate(design)


def test_36_bit_mode_with_the_write_port_on_another_clock_is_left_alone():
    design = registered_wide_rom()
    design["modules"]["m"]["cells"]["mem"]["connections"]["CLKA"] = [CLK2]
    assert unchanged(design)


@pytest.mark.parametrize("port, net", [("OCEB", [CE]), ("RSTB", [CE]), ("RSTA", [CE]), ("OCEA", [CE])])
def test_36_bit_output_enable_or_reset_in_use_is_left_alone(port, net):
    design = registered_wide_rom()
    design["modules"]["m"]["cells"]["mem"]["connections"][port] = net
    assert unchanged(design)


def test_36_bit_mode_with_one_half_read_by_logic_is_left_alone():
    design = registered_wide_rom()
    design["modules"]["m"]["cells"]["lut"] = {"type": "LUT4", "port_directions": {"A": "input", "Z": "output"},
                                               "connections": {"A": [DO[3]], "Z": [40]}, "parameters": {}}
    assert unchanged(design)


def test_global_set_reset_keeps_flip_flops_that_follow_it():
    design = registered_rom(GSR="ENABLED")
    design["modules"]["m"]["cells"]["gsr"] = {"type": "GSR", "connections": {"GSR": [CE]},
                                               "port_directions": {"GSR": "input"}, "parameters": {}}
    assert unchanged(design)


# -- Yosys on rom_pipe ---------------------------------------------------------------------
WRAPPER = """
module top(input clk, input en, input [15:0] addr, output reg [5:0] cnt);
  wire [{w}-1:0] d;
  rom_pipe #(.WIDTH({w}), .DEPTH({d}), .LATENCY({lat}), .INIT_FILE("init.hex"), .BANK_FILES({bf})) r(.ap_clk(clk), .rd_en(en),
      .out_en(en), .addr(addr[{aw}-1:0]), .data(d));
  integer i; reg [5:0] c;
  always @(*) begin c = 0; for (i = 0; i < {w}; i = i + 1) c = c + d[i]; end
  always @(posedge clk) cnt <= c;
endmodule
"""


def synthesize(tmp_path: Path, width: int, depth: int, latency: int, bank_files: int = 0) -> dict:
    rng = random.Random(depth)
    words = [rng.getrandbits(width) for _ in range(depth)]
    (tmp_path / "init.hex").write_text("".join(f"{word:x}\n" for word in words))
    rom = {**rom_pipe.DEFAULTS, "WIDTH": width, "DEPTH": depth, "LATENCY": latency, "BANK_FILES": bank_files}
    for suffix, chunk, _ in rom_pipe.array_files(rom, words):
        (tmp_path / f"init.hex{suffix}").write_text("".join(f"{word:x}\n" for word in chunk))
    aw = max(1, (depth - 1).bit_length())
    (tmp_path / "top.v").write_text(WRAPPER.format(w=width, d=depth, lat=latency, aw=aw, bf=bank_files))
    # the sources beside the script, as bnncc synth has them (the WebAssembly Yosys sees the
    # working directory, not every absolute path)
    shutil.copy(ROOT / "rtl_lib" / "rom_pipe.v", tmp_path / "rom_pipe.v")
    script = ("read_verilog -defer rom_pipe.v top.v; hierarchy -top top; "
              "synth_ecp5 -top top -json net.json")
    subprocess.run([*deep_stack(tool_command("yosys")), "-q", "-p", script], cwd=tmp_path, check=True,
                   capture_output=True)
    return json.loads((tmp_path / "net.json").read_text())


@pytest.mark.parametrize("width, depth, banks", [(18, 3000, 3), (9, 4000, 2)])
def test_yosys_rom_pipe_latency_2_registers_every_block(tmp_path, width, depth, banks):
    design = synthesize(tmp_path, width, depth, 2)
    blocks = [c for c in design["modules"]["top"]["cells"].values() if c["type"] == "DP16KD"]
    flip_flops = sum(c["type"] == "TRELLIS_FF" for c in design["modules"]["top"]["cells"].values())
    report = absorb_output_registers(design)
    assert len(blocks) == banks
    assert len(report.ports) == banks and not report.skipped
    assert report.flip_flops == banks * width
    cells = design["modules"]["top"]["cells"].values()
    assert sum(c["type"] == "TRELLIS_FF" for c in cells) == flip_flops - banks * width
    assert all(c["parameters"]["REGMODE_A"] == "OUTREG" for c in cells if c["type"] == "DP16KD")


def test_yosys_rom_pipe_pads_one_bank_to_its_block_depth(tmp_path):
    """7168 x 7 bits: declared 8192 deep, Yosys maps it as four 8192 x 2 blocks side by side
    with no word select behind them (unpadded it packs three 1024 x 18 blocks and a
    multiplexer), so every output bit's second register moves into its block."""
    design = synthesize(tmp_path, 7, 7168, 2)
    cells = design["modules"]["top"]["cells"].values()
    assert sum(c["type"] == "DP16KD" for c in cells) == 4
    report = absorb_output_registers(design)
    assert len(report.ports) == 4 and not report.skipped and report.flip_flops == 7


@pytest.mark.parametrize("width, depth, latency, blocks", [
    (28, 7168, 2, 14),     # one bank padded to 8192 words: 14 slices of 8192 x 2 (alone: 13 of 2048 x 9 and a select)
    (32, 16384, 2, 32),    # one bank as deep as its blocks: 32 slices of 16384 x 1
    (8, 40000, 4, 20),     # 5 banks of 8192 x 8 in 4 slices each, the bank multiplexer split (LATENCY 4)
    (8, 65536, 4, 32),     # 4 banks of 16384 x 8 in 8 slices each, a third register behind each bank (LATENCY 4)
    (8, 40000, 5, 20),     # 5 banks, a third register behind each, then the groups (LATENCY 5)
])
def test_yosys_maps_every_array_of_own_files_onto_one_block(tmp_path, width, depth, latency, blocks):
    """With BANK_FILES each bank's slices are arrays of their own: one block of the planned
    shape each, and every second register moves into its block."""
    design = synthesize(tmp_path, width, depth, latency, bank_files=1)
    cells = design["modules"]["top"]["cells"].values()
    assert sum(c["type"] == "DP16KD" for c in cells) == blocks
    assert blocks == len(rom_pipe.array_shapes({**rom_pipe.DEFAULTS, "WIDTH": width, "DEPTH": depth,
                                                "LATENCY": latency, "BANK_FILES": 1}))
    report = absorb_output_registers(design)
    assert len(report.ports) == blocks and not report.skipped
    assert report.flip_flops == width * rom_pipe.banks({**rom_pipe.DEFAULTS, "WIDTH": width, "DEPTH": depth,
                                                        "LATENCY": latency})


def test_yosys_rom_pipe_latency_1_has_nothing_to_absorb(tmp_path):
    design = synthesize(tmp_path, 18, 3000, 1)
    report = absorb_output_registers(design)
    assert report.flip_flops == 0 and report.skipped  # the blocks feed the bank multiplexer


def test_absorb_file_writes_the_rewritten_netlist(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(registered_rom()))
    report = absorb_file(source, tmp_path / "out.json")
    written = json.loads((tmp_path / "out.json").read_text())
    assert report.flip_flops == 4 and written["modules"]["m"]["cells"]["mem"]["parameters"]["REGMODE_A"] == "OUTREG"
    assert json.loads(source.read_text()) == registered_rom()


def test_synthesis_counts_drop_the_absorbed_flip_flops(tmp_path):
    """bnncc synth on ECP5: a module's TRELLIS_FF count loses what the step absorbed."""
    from bnncc.synth.yosys import read_synthesis

    stat = {"modules": {"\\top": {"num_cells_by_type": {"sub": 2, "TRELLIS_FF": 5}},
                        "\\sub": {"num_cells_by_type": {"TRELLIS_FF": 10, "DP16KD": 1, "LUT4": 7}}}}
    (tmp_path / "stat.json").write_text(json.dumps(stat))
    (tmp_path / "top.json").write_text(json.dumps({"modules": {"top": {"cells": {
        "a": {"type": "sub"}, "b": {"type": "sub"}}}}}))
    plain = read_synthesis(tmp_path, "top", "ecp5")
    absorbed = read_synthesis(tmp_path, "top", "ecp5", {"sub": 4})
    assert plain.total.ff == 25 and absorbed.total.ff == 17
    assert absorbed.instances["a"].ff == 6 and absorbed.total.bram == 2


# -- Yosys on sliding_window ---------------------------------------------------------------
def synthesize_module(tmp_path: Path, top: str, sources: tuple[str, ...], params: dict) -> dict:
    """An rtl_lib module with ``params`` through synth_ecp5 (sources copied beside the script)."""
    for name in sources:
        shutil.copy(ROOT / "rtl_lib" / name, tmp_path / name)
    chparam = " ".join(f"-set {key} {value}" for key, value in params.items())
    script = (f"read_verilog -defer {' '.join(sources)}; chparam {chparam} {top}; "
              f"hierarchy -top {top}; synth_ecp5 -top {top} -json net.json")
    subprocess.run([*deep_stack(tool_command("yosys")), "-q", "-p", script], cwd=tmp_path, check=True,
                   capture_output=True)
    return json.loads((tmp_path / "net.json").read_text())


def synthesize_window(tmp_path: Path, read_reg: int, simd: int, **params) -> dict:
    """sliding_window with a block RAM line buffer (3 rows of 32 pixels of 64 bipolar
    channels, SIMD per word, unless ``params`` say otherwise) through synth_ecp5."""
    return synthesize_module(tmp_path, "sliding_window", ("sliding_window.v", "window_parallel.v"),
                             {"IFM_CH": 64, "IFM_H": 32, "IFM_W": 32, "SIMD": simd, "READ_REG": read_reg, **params})


@pytest.mark.parametrize("simd", [4, 16])
def test_yosys_sliding_window_read_reg_uses_the_block_output_register(tmp_path, simd):
    """READ_REG = 1: the line buffer's second read register moves into its block RAM(s)
    (REGMODE_B "OUTREG"), every data bit; READ_REG = 0: the blocks feed logic directly."""
    design = synthesize_window(tmp_path, 1, simd)
    cells = design["modules"]["sliding_window"]["cells"].values()
    blocks = [c for c in cells if c["type"] == "DP16KD"]
    report = absorb_output_registers(design)
    assert blocks and not report.skipped
    assert len(report.ports) == len(blocks) and report.flip_flops == simd
    assert all(c["parameters"]["REGMODE_B"] == "OUTREG" for c in cells if c["type"] == "DP16KD")
    plain = absorb_output_registers(synthesize_window(tmp_path, 0, simd))
    assert plain.flip_flops == 0 and plain.skipped


def test_yosys_sliding_window_in_36_bit_mode_uses_the_block_output_register(tmp_path):
    """A line buffer of 19..36-bit words and at most 512 words is one block in 36-bit
    (pseudo dual port) mode: READ_REG's register, every one of the 32 data bits on both
    halves, moves into the block (REGMODE_A and REGMODE_B "OUTREG")."""
    design = synthesize_window(tmp_path, 1, 32)
    module = design["modules"]["sliding_window"]
    blocks = [c for c in module["cells"].values() if c["type"] == "DP16KD"]
    assert len(blocks) == 1 and blocks[0]["parameters"]["DATA_WIDTH_B"].endswith("100100")
    report = absorb_output_registers(design)
    assert report.flip_flops == 32 and not report.skipped
    assert blocks[0]["parameters"]["REGMODE_A"] == blocks[0]["parameters"]["REGMODE_B"] == "OUTREG"


@pytest.mark.parametrize("module", ["window_parallel", "upsample"])
def test_yosys_other_line_buffers_read_reg_use_the_block_output_register(tmp_path, module):
    """READ_REG = 1 on the parallel window (2 rows of 600 pixels of 4 2-bit channels: 16-bit
    words) and on upsample (rows of 512 beats of 16 bits): the second read register moves
    into the block RAM; READ_REG = 0: nothing to absorb."""
    def run(read_reg: int) -> tuple[dict, list]:
        if module == "window_parallel":
            design = synthesize_window(tmp_path, read_reg, 18, IFM_CH=2, IFM_H=8, IFM_W=600, ELEM_BITS=4)
        else:
            design = synthesize_module(tmp_path, "upsample", ("upsample.v",),
                                       {"CH": 16, "PE": 16, "W": 512, "BITS": 1, "READ_REG": read_reg})
        cells = [c for m in design["modules"].values() for c in m["cells"].values() if c["type"] == "DP16KD"]
        return design, cells

    design, blocks = run(1)
    report = absorb_output_registers(design)
    assert blocks and not report.skipped and len(report.ports) == len(blocks) and report.flip_flops == 16
    plain, blocks = run(0)
    assert blocks and absorb_output_registers(plain).flip_flops == 0
