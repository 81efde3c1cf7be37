"""Block RAM FIFOs read through two registers where the pipeline budget registers memory
reads (``stream_fifo`` READ_REG 1, latency 3): FIFO sizing reads each FIFO's latency from its
parameters; a design for ECP5 at 125 MHz gives READ_REG 1 to exactly its FIFOs whose storage
maps to block RAM, records the choice in folding.json, rebuilds it from there in ``bnncc
verify`` and is exact in Verilator at its interval; the same model for xc7 at 100 MHz keeps
READ_REG 0 everywhere and writes no such entry; the UART shell's receive FIFO follows the
same rule."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

from bnncc.backends.verilog.design import rtl_lib_dir
from bnncc.backends.verilog.fifo_sizing import MARGIN, derive_fifo_depths, fifo_depth
from bnncc.boards import uart_sim
from bnncc.boards.protocol import shell_parameters
from bnncc.compile import Target, compile_model
from bnncc.errors import UsageError
from bnncc.executor import Executor
from bnncc.estimate.model import estimate_link
from bnncc.hw.modules.stream_fifo import block_storage, latency, read_reg
from bnncc.passes.apply_folding import FIFO_ENTRY, folding_table, load_folding
from bnncc.sim.verilator import verilator_command
from bnncc.targets import DEFAULT_DEVICE, get_device
from bnncc.verify.inputs import random_inputs
from join_models import residual_block
from tiny_models import tiny_mlp
from helpers import assert_build_exact_in_rtl
from test_fifo_sizing import mvau, thresholding

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"


def test_latency_and_read_reg_follow_the_parameters_and_the_mapping():
    assert latency({"WIDTH": 8, "DEPTH": 4}) == 2 and latency({"WIDTH": 8, "DEPTH": 4, "READ_REG": 1}) == 3
    assert block_storage(48, 68, "ecp5") and not block_storage(48, 8, "ecp5")
    assert read_reg(48, 68, "ecp5") == 1 and read_reg(48, 8, "ecp5") == 0 and read_reg(48, 68, None) == 0


def test_sizing_counts_a_fifo_of_latency_three():
    """A full-rate stream keeps one beat more in a FIFO of latency 3 (each FIFO its own)."""
    stages = [thresholding("t", 16, 1, pixels=4), mvau("m", 16, 16, 4, 1, vectors=4)]
    assert derive_fifo_depths(stages) == {"t": 2, "m": 2}
    assert derive_fifo_depths(stages, latencies={"t": 3, "m": 3}) == {"t": 3, "m": 3}
    assert derive_fifo_depths(stages, latencies={"m": 3}) == {"t": 2, "m": 3}
    assert fifo_depth(3, 3) == 3 and fifo_depth(3) == 3 + MARGIN and fifo_depth(4, 3) == 4 + MARGIN


#: Yosys (synth_ecp5 and the netlist step, synth_xilinx -family xc7) on READ_REG 1 FIFOs:
#: (family, WIDTH, DEPTH) -> (LUT, FF, block RAM units).
#: (FF re-measured with the registered s_axis_tready: one more each.)
YOSYS_READ_REG = {("ecp5", 9, 1000): (80, 34, 1), ("ecp5", 16, 200): (76, 28, 1), ("ecp5", 48, 68): (69, 25, 2),
                  ("ecp5", 72, 512): (70, 31, 2), ("xilinx", 9, 1000): (54, 43, 1), ("xilinx", 32, 512): (34, 63, 1)}


@pytest.mark.parametrize("shape", sorted(YOSYS_READ_REG))
def test_read_reg_estimate_against_yosys(shape):
    """Flip-flops and block RAM exact (the output register inside an ECP5 block in either
    width mode, in flip-flops on xc7), LUTs within 15 % on ECP5 (its own fit)
    and 25 % on xc7 (the READ_REG 0 fit: 42 LUTs against 34 for 32 x 512)."""
    family, width, depth = shape
    lut, ff, bram = YOSYS_READ_REG[shape]
    mine = estimate_link("stream_fifo", {"WIDTH": width, "DEPTH": depth, "READ_REG": 1}, family)
    assert (mine.ff, mine.bram) == (ff, bram)
    assert abs(mine.lut - lut) <= (0.15 if family == "ecp5" else 0.25) * lut, (mine.lut, lut)


def _residual(tmp_path) -> Path:
    path = tmp_path / "residual.onnx"
    onnx.save(residual_block(channels=16, size=10), path)
    return path


def _fifos(design) -> dict[str, dict]:
    return {link.name: link.parameters for link in design.links if link.module == "stream_fifo"}


def test_ecp5_at_125_mhz_registers_its_block_ram_fifos_and_is_exact(tmp_path):
    path = _residual(tmp_path)
    build = tmp_path / "ecp5"
    result = compile_model(path, output=build, target=Target(200_000, 125, True, get_device("ecp5-85k")))
    fifos = _fifos(result.design)
    registered = {name for name, p in fifos.items() if p.get("READ_REG")}
    assert registered and registered == {name for name, p in fifos.items() if block_storage(p["WIDTH"], p["DEPTH"], "ecp5")}
    assert all(p["READ_REG"] == 1 for name, p in fifos.items() if name in registered)
    table = json.loads((build / "folding.json").read_text())
    assert table[FIFO_ENTRY] == {"REGISTER_READS": True, "FAMILY": "ecp5"}
    assert ".READ_REG(1)" in (build / "rtl" / "bnncc_top.v").read_text()
    # bnncc verify rebuilds the same design from folding.json (no clock) and runs it
    assert_build_exact_in_rtl(path, samples=4, seed=2, build_dir=build, stall=40)


def test_xc7_at_100_mhz_keeps_every_fifo_as_it_was(tmp_path):
    """The folding the ECP5 build chooses (PE and SIMD only), built for xc7 at 100 MHz."""
    path = _residual(tmp_path)
    ecp5 = compile_model(path, target=Target(200_000, 125, True, get_device("ecp5-85k")))
    folding = {node: {"PE": op["PE"], "SIMD": op["SIMD"]} for node, op in folding_table(ecp5.final).items()
               if node != FIFO_ENTRY}
    result = compile_model(path, output=tmp_path / "xc7", folding=folding,
                           target=Target(None, 100, True, get_device(DEFAULT_DEVICE)))
    fifos = _fifos(result.design)
    # a FIFO the ECP5 design registers (block RAM there) is no reason here
    assert any(block_storage(p["WIDTH"], p["DEPTH"], "ecp5") for p in fifos.values())
    assert not any("READ_REG" in p for p in fifos.values())
    assert FIFO_ENTRY not in json.loads((tmp_path / "xc7" / "folding.json").read_text())
    assert "READ_REG" not in (tmp_path / "xc7" / "rtl" / "bnncc_top.v").read_text()


def test_a_folding_entry_turns_it_off_and_bad_entries_are_refused(tmp_path):
    path = _residual(tmp_path)
    off = {FIFO_ENTRY: {"REGISTER_READS": False}}
    result = compile_model(path, output=tmp_path / "off", folding=off,
                           target=Target(None, 125, True, get_device("ecp5-85k")))
    assert not any(p.get("READ_REG") for p in _fifos(result.design).values())
    for entry, message in [({"REGISTER_READS": "yes"}, "REGISTER_READS"), ({"REGISTER_READS": True, "FAMILY": "x"}, "FAMILY='x'")]:
        file = tmp_path / "folding.json"
        file.write_text(json.dumps({FIFO_ENTRY: entry}))
        with pytest.raises(UsageError, match=message):
            load_folding(file)


def test_the_shell_receive_fifo_reads_through_two_registers_on_ecp5_at_125_mhz(tmp_path):
    build = tmp_path / "tfc"
    compile_model(MODELS / "tfc_w1a1.onnx", output=build, target=Target(None, 100, False, get_device(DEFAULT_DEVICE)))
    assert shell_parameters(build, 125e6, family="ecp5")["RX_FIFO_READ_REG"] == 1
    assert "RX_FIFO_READ_REG" not in shell_parameters(build, 25e6, family="ecp5")
    assert "RX_FIFO_READ_REG" not in shell_parameters(build, 100e6, family="xilinx")
    assert "RX_FIFO_READ_REG" not in shell_parameters(build, 125e6)


def test_the_shell_with_a_registered_receive_fifo_is_exact_at_pin_level(tmp_path, monkeypatch):
    """A small MLP behind the UART shell whose receive FIFO has READ_REG 1: the bytes the
    pins send back are the executor's, and the shell lints clean."""
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=16, hidden=12, classes=5, bits=2), path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, folding={"MatMul_4": {"PE": 4, "SIMD": 8}, "MatMul_8": {"PE": 5, "SIMD": 3}})
    original, built = uart_sim.shell_simulator, []

    def registered(*args, **kwargs):
        simulator = original(*args, **kwargs)
        simulator.parameters["RX_FIFO_READ_REG"] = 1
        built.append(simulator)
        return simulator

    monkeypatch.setattr(uart_sim, "shell_simulator", registered)
    graph, design = result.final, result.design
    inputs = random_inputs(graph, 6, 3, 0.0, 1.0)
    values = Executor(graph).run(inputs, keep=[design.input_tensor, design.output_tensor])
    expected = values[design.output_tensor]
    outputs = uart_sim.simulate_uart(build, values[design.input_tensor], expected.shape[1:], gaps=2, seed=3)
    assert np.array_equal(outputs, expected) and built
    files = (build / "filelist.f").read_text().split()
    files += [str(rtl_lib_dir() / f"{m}.v") for m in ("uart_rx", "uart_tx", "uart_stream_shell") if f"rtl/{m}.v" not in files]
    parameters = {**shell_parameters(build, 100e6), "RX_FIFO_READ_REG": 1}
    process = subprocess.run([verilator_command(), "--lint-only", "-Wall", "--top-module", "uart_stream_shell",
                              *[f"-G{k}={v}" for k, v in parameters.items()], *files],
                             cwd=build, capture_output=True, text=True)
    warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    assert process.returncode == 0 and not warnings, "\n".join(warnings)
