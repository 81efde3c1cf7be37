"""The clock check of ``bnncc compile``: the modelled logic depth of every instance against
the requested clock on the target's family (bnncc/hw/timing.py)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from bnncc.compile import Target, compile_model
from bnncc.hw.timing import FAMILY_DELAYS, MODULE_LEVELS, instance_levels, mvau_levels
from bnncc.hw.stage_common import instance_name
from bnncc.targets import get_device
from tests.tiny_models import tiny_mlp

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def _compile(tmp_path, clock_mhz: float, device: str = "xc7z020") -> list[str]:
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=64, hidden=32, classes=10, bits=4), path)
    messages = []
    compile_model(path, output=tmp_path / f"build_{clock_mhz:g}", log=messages.append,
                  target=Target(fps=10_000, clock_mhz=clock_mhz, device=get_device(device)))
    return [m for m in messages if m.startswith("warning: --clock-mhz")]


def test_no_warning_at_the_default_clock(tmp_path):
    assert _compile(tmp_path, 100) == []


def test_a_clock_above_the_pipeline_depth_is_named_with_its_stage(tmp_path):
    warnings = _compile(tmp_path, 600)
    assert len(warnings) == 1
    assert "--clock-mhz 600 is above the about" in warnings[0] and "supports on xilinx" in warnings[0]
    assert "stage '" in warnings[0] and "LUT levels" in warnings[0]
    ecp5 = _compile(tmp_path, 300, "ecp5-85k")
    assert len(ecp5) == 1 and "supports on ecp5" in ecp5[0]


def test_family_delays_put_six_levels_near_200_mhz_on_xc7_and_five_near_125_on_ecp5():
    assert 190 <= FAMILY_DELAYS["xilinx"].fmax_mhz(6, 0) <= 210
    assert 115 <= FAMILY_DELAYS["ecp5"].fmax_mhz(5, 0) <= 135
    assert FAMILY_DELAYS["ice40"].fmax_mhz(5, 0) < FAMILY_DELAYS["ecp5"].fmax_mhz(5, 0)


def test_pipelined_dot_products_stay_within_six_levels():
    p = {"MW": 256, "MH": 64, "PE": 4, "SIMD": 64, "INPUT_BITS": 4, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0,
         "WEIGHT_BITS": 4, "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0}
    assert mvau_levels({**p, "MAC_STYLE": 1, "DOT_STAGES": 3})[0] <= 6
    assert mvau_levels({**p, "MAC_STYLE": 1, "DOT_STAGES": 1})[0] > 6      # one register: chains + tree
    assert mvau_levels({**p, "MAC_STYLE": 0})[0] > 6                       # the inline sum


@pytest.mark.parametrize("name", ["estimate_vs_synth_xc7z020_graphs.json", "estimate_vs_synth_xc7z020_depthwise.json"])
def test_the_module_table_covers_the_measured_stream_modules(name):
    """Every stage measured by bnncc synth in the stored designs whose depth is not modelled
    from its parameters (the MVAU's and the VVAU's are) has a table entry no shallower than
    two levels below its measured depth; the VVAU's modelled depth is within two levels of
    the measured one."""
    cases = json.loads((RESULTS / name).read_text())["cases"]
    measured = []
    for case in cases:
        links = {link["instance"]: link["parameters"] for link in case.get("links", [])}
        for stage in case.get("per_stage", []):
            if stage.get("logic_depth") and stage["module"] != "mvau":
                measured.append((stage["module"], stage["logic_depth"]["lut"],
                                 links.get(instance_name(stage["node"]), {})))
    assert measured
    for module, luts, parameters in measured:
        if module == "vvau":
            if parameters:
                assert abs(instance_levels(module, parameters)[0] - luts) <= 2, (module, luts)
            continue
        assert module in MODULE_LEVELS, module
        assert instance_levels(module, {})[0] >= luts - 2, (module, luts)
