"""Yosys synth_ecp5 on rtl_lib/stream_fifo.v: with READ_REG 1 a block RAM FIFO's output
register becomes the EBR's own (REGMODE "OUTREG" on its read port through
bnncc/synth/ecp5_outreg.py, every data flip-flop absorbed); with READ_REG 0 the read data
leaves the block unregistered and nothing is absorbed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bnncc.synth.ecp5_outreg import absorb_output_registers
from bnncc.synth.yowasp import deep_stack
from bnncc.tools import tool_command

ROOT = Path(__file__).resolve().parents[1]

WRAPPER = """
module top(input clk, input rst_n, input [{w}-1:0] d, input dv, output dr, output [{w}-1:0] q, output qv, input qr);
  stream_fifo #(.WIDTH({w}), .DEPTH({d}), .READ_REG({r})) fifo(.ap_clk(clk), .ap_rst_n(rst_n),
      .s_axis_tdata(d), .s_axis_tvalid(dv), .s_axis_tready(dr), .m_axis_tdata(q), .m_axis_tvalid(qv), .m_axis_tready(qr));
endmodule
"""


def synthesize(tmp_path: Path, width: int, depth: int, read_reg: int) -> dict:
    (tmp_path / "top.v").write_text(WRAPPER.format(w=width, d=depth, r=read_reg))
    # beside the script: the WebAssembly Yosys sees the working directory, not every absolute path
    shutil.copy(ROOT / "rtl_lib" / "stream_fifo.v", tmp_path / "stream_fifo.v")
    script = "read_verilog -defer stream_fifo.v top.v; hierarchy -top top; synth_ecp5 -top top -json net.json"
    subprocess.run([*deep_stack(tool_command("yosys")), "-q", "-p", script], cwd=tmp_path, check=True,
                   capture_output=True)
    return json.loads((tmp_path / "net.json").read_text())


def cells(design: dict) -> list[dict]:
    return list(design["modules"]["top"]["cells"].values())


@pytest.mark.parametrize("width, depth", [(9, 1000), (8, 2048)])
def test_yosys_read_reg_1_puts_the_output_register_into_the_block(tmp_path, width, depth):
    design = synthesize(tmp_path, width, depth, 1)
    blocks = [c for c in cells(design) if c["type"] == "DP16KD"]
    flip_flops = sum(c["type"] == "TRELLIS_FF" for c in cells(design))
    report = absorb_output_registers(design)
    assert len(blocks) == 1
    assert len(report.ports) == 1 and not report.skipped
    assert report.flip_flops == width
    assert sum(c["type"] == "TRELLIS_FF" for c in cells(design)) == flip_flops - width
    port = report.ports[0][-1]
    assert all(c["parameters"][f"REGMODE_{port}"] == "OUTREG" for c in cells(design) if c["type"] == "DP16KD")


def test_yosys_read_reg_0_reads_the_block_unregistered(tmp_path):
    design = synthesize(tmp_path, 9, 1000, 0)
    assert sum(c["type"] == "DP16KD" for c in cells(design)) == 1
    report = absorb_output_registers(design)
    assert report.flip_flops == 0 and report.skipped
