"""Reading Yosys's per-module cell counts back into per-instance resources: every submodule
instance counts with everything below it, whichever way Yosys spells the module's name."""

import json

from bnncc.synth.yosys import module_name, read_synthesis, synthesize
from bnncc.targets import get_device


def _write(work, stat_modules, top_cells):
    work.mkdir(parents=True, exist_ok=True)
    (work / "stat.json").write_text(json.dumps({"modules": stat_modules}))
    (work / "top.json").write_text(json.dumps({"modules": {"top": {"cells": top_cells}}}))


def test_module_names_match_across_stat_and_cell_types():
    assert module_name("\\leaf") == "leaf"
    assert module_name("leaf") == "leaf"
    assert module_name("$paramod$abc\\wrap") == "$paramod$abc\\wrap"


def test_plain_submodules_count_under_every_instance(tmp_path):
    # stat spells a plain module "\leaf", a cell instantiating it has type "leaf"
    stat = {
        "\\leaf": {"num_cells_by_type": {"LUT6": 2, "FDRE": 1}},
        "$paramod$1\\wrap": {"num_cells_by_type": {"leaf": 3, "LUT3": 5, "RAMB18E1": 1}},
        "\\top": {"num_cells_by_type": {"$paramod$1\\wrap": 2, "LUT2": 1}},
    }
    cells = {"u0": {"type": "$paramod$1\\wrap"}, "u1": {"type": "$paramod$1\\wrap"}, "g": {"type": "LUT2"}}
    _write(tmp_path, stat, cells)
    result = read_synthesis(tmp_path, "top", "xilinx")
    assert result.instances["u0"].lut == 3 * 2 + 5
    assert result.instances["u0"].ff == 3
    assert result.instances["u0"].bram == 1
    assert set(result.instances) == {"u0", "u1"}
    assert result.total.lut == 2 * (3 * 2 + 5) + 1
    assert result.total.ff == 6


def test_yosys_counts_kept_submodules(tmp_path):
    """A kept plain submodule inside a parameterised one: per instance and in total, the
    LUTs and FFs are those of every leaf instance (synth_xilinx keeps both levels)."""
    (tmp_path / "design.v").write_text("""\
(* keep_hierarchy *)
module leaf (input wire [5:0] a, output wire y);
    assign y = ^a;
endmodule
module wrap #(parameter integer N = 4) (input wire clk, input wire [6*N-1:0] a, output reg [N-1:0] q);
    wire [N-1:0] y;
    genvar i;
    generate for (i = 0; i < N; i = i + 1) begin : g
        leaf u (.a(a[6*i +: 6]), .y(y[i]));
    end endgenerate
    always @(posedge clk) q <= y;
endmodule
module top (input wire clk, input wire [47:0] a, output wire [7:0] q);
    wrap #(.N(4)) u0 (.clk(clk), .a(a[23:0]), .q(q[3:0]));
    wrap #(.N(4)) u1 (.clk(clk), .a(a[47:24]), .q(q[7:4]));
endmodule
""")
    result = synthesize(tmp_path, ["design.v"], "top", get_device("xc7z020"))
    assert result.instances["u0"].lut == 4  # one LUT6 per leaf
    assert result.instances["u0"].ff == 4
    assert result.total.lut == 8
    assert result.total.ff == 8
