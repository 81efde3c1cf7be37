"""Registered line buffer reads follow the pipeline budget: ECP5 at 125 MHz (budget
``register_reads``) builds every sliding window (serial and parallel) and upsample with
READ_REG = 1 and records ``"REGISTER_READS": true`` in folding.json, xc7 at 100 MHz neither;
a folding file may set it either way; the ECP5 designs are exact in RTL under stalls, at the
analytic interval, with the report's first-frame latency near the co-simulated one."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from bnncc.compile import Target, compile_model
from bnncc.errors import UsageError
from bnncc.hw.timing import pipeline_budget
from bnncc.targets import get_device
from tests.tiny_models import tiny_cnn
from helpers import assert_build_exact_in_rtl


def _windows(result) -> list:
    return [link for link in result.design.links if link.module == "sliding_window"]


@pytest.fixture(scope="module")
def cnn(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cnn") / "cnn.onnx"
    model = tiny_cnn()
    model.ir_version = 10
    onnx.save(model, path)
    return path


def test_the_budgets_differ_in_register_reads():
    assert pipeline_budget("ecp5", 125).register_reads and not pipeline_budget("xilinx", 100).register_reads


def test_ecp5_at_125_mhz_registers_window_reads_and_is_exact(cnn, tmp_path):
    build = tmp_path / "ecp5"
    result = compile_model(cnn, output=build, target=Target(fps=20_000, clock_mhz=125, device=get_device("ecp5-85k")))
    windows = _windows(result)
    assert windows and all(link.parameters["READ_REG"] == 1 for link in windows)
    table = json.loads((build / "folding.json").read_text())
    assert all(table[link.node]["REGISTER_READS"] is True for link in windows)
    assert_build_exact_in_rtl(cnn, samples=4, seed=2, build_dir=build, stall=40)


def test_xc7_at_100_mhz_keeps_the_window_as_it_was(cnn, tmp_path):
    result = compile_model(cnn, output=tmp_path / "xc7", target=Target(fps=20_000))
    windows = _windows(result)
    assert windows and not any("READ_REG" in link.parameters for link in windows)
    table = json.loads((tmp_path / "xc7" / "folding.json").read_text())
    assert not any("REGISTER_READS" in table[link.node] for link in windows)


def test_a_folding_entry_sets_register_reads_either_way(cnn, tmp_path):
    ecp5 = Target(fps=20_000, clock_mhz=125, device=get_device("ecp5-85k"))
    first = compile_model(cnn, output=tmp_path / "a", target=ecp5)
    node = _windows(first)[0].node
    table = json.loads((tmp_path / "a" / "folding.json").read_text())
    # off for one window under the ECP5 budget
    table[node] = {**table[node], "REGISTER_READS": False}
    again = compile_model(cnn, output=tmp_path / "b", folding=table, target=ecp5)
    chosen = {link.node: link.parameters.get("READ_REG", 0) for link in _windows(again)}
    assert chosen[node] == 0 and all(value == 1 for name, value in chosen.items() if name != node)
    # on for one window without a budget
    plain = compile_model(cnn, output=tmp_path / "c", folding={node: {"REGISTER_READS": True}})
    assert {link.node: link.parameters.get("READ_REG", 0) for link in _windows(plain)}[node] == 1
    assert json.loads((tmp_path / "c" / "folding.json").read_text())[node]["REGISTER_READS"] is True


def test_register_reads_on_another_kind_of_stage_is_refused(cnn, tmp_path):
    first = compile_model(cnn, output=tmp_path / "a", target=Target(fps=20_000))
    other = next(link for link in first.design.links if link.module == "streaming_maxpool")
    with pytest.raises(UsageError, match=f"'{other.node}' REGISTER_READS applies to MVAU, SlidingWindow and Upsample stages only"):
        compile_model(cnn, output=tmp_path / "b", folding={other.node: {"REGISTER_READS": True}})


@pytest.mark.parametrize("name, fps", [("unet", 20_000), ("depthwise", 600_000)])
def test_ecp5_line_buffers_of_every_kind_are_exact_with_registered_reads(tmp_path, name, fps):
    """ECP5 at 125 MHz: a U-Net-like block (upsample, serial windows) and a depthwise
    separable network whose depthwise window is parallel (several kernel positions per beat)
    get READ_REG on every line buffer stage and stay exact under stalls, at the analytic
    interval, with the report's latency within 10 % of the co-simulated one."""
    from tests.test_depthwise import MODELS as DEPTHWISE, conv_model
    from tests.test_resize_upsample import unet_block

    model = unet_block() if name == "unet" else conv_model(DEPTHWISE["dw_separable"])
    model.ir_version = 10
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, target=Target(fps=fps, clock_mhz=125, device=get_device("ecp5-85k")))
    buffers = [link for link in result.design.links if link.module in ("sliding_window", "upsample")]
    assert buffers and all(link.parameters.get("READ_REG") == 1 for link in buffers)
    kinds = {link.module if link.module == "upsample" or link.parameters["SIMD"] <= link.parameters["IFM_CH"]
             else "parallel" for link in buffers}
    assert kinds >= ({"upsample", "sliding_window"} if name == "unet" else {"parallel"}), kinds
    assert_build_exact_in_rtl(path, samples=4, seed=3, value_range=(-2.0, 2.0), build_dir=build, stall=30)
