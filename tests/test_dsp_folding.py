"""DSP arithmetic of the MVAU: the folding table's "DSP" key, the optimizer moving stages to
packed DSP multipliers only when LUTs run out, and the result exact in RTL."""

from __future__ import annotations

import json
from dataclasses import replace

import onnx
import pytest

from bnncc.compile import compile_model
from bnncc.errors import UsageError
from bnncc.frontend import import_model
from bnncc.ir.ops import hw
from bnncc.passes.apply_folding import load_folding
from bnncc.passes.auto_fold import FoldingSpace, fits
from bnncc.passes.pipeline import run_pipeline
from bnncc.targets import get_device
from bnncc.verify.run import verify_model
from tests.tiny_models import tiny_mlp


def _hardware_graph(model: onnx.ModelProto):
    return run_pipeline(import_model(model))[-1].graph


def _mvaus(graph) -> list:
    return [op for op in graph.ops() if isinstance(op, hw.MVAU)]


def test_stages_move_to_dsps_only_when_the_luts_run_out():
    graph = _hardware_graph(tiny_mlp(in_features=64, hidden=48, classes=10, bits=4))
    device = get_device("xc7z020")
    space = FoldingSpace(graph, device)
    target = 4
    plain = space.fitting_plan(target)
    assert fits(plain.resources, device)
    assert not any("DSP" in entry for entry in plain.table.values())   # LUTs to spare: no DSP
    # a device with a tenth of the LUTs the plan needs and plenty of DSP48E1s
    small = replace(device, name="xc7small", lut=int(plain.resources.lut * 0.9), dsp=1000)
    tight = FoldingSpace(graph, small).fitting_plan(target)
    moved = [name for name, entry in tight.table.items() if entry.get("DSP") == "dsp48e1"]
    assert moved, tight.table
    assert tight.met and fits(tight.resources, small)
    assert tight.resources.dsp > 0 and tight.resources.lut < plain.resources.lut


def test_a_folding_table_puts_an_mvau_on_dsps_exactly_in_rtl(tmp_path):
    model = tiny_mlp(in_features=16, hidden=12, classes=5, bits=2)
    path = tmp_path / "mlp.onnx"
    onnx.save(model, path)
    names = [op.name for op in _mvaus(_hardware_graph(model))]
    folding = {names[0]: {"PE": 4, "SIMD": 8, "DSP": "dsp48e1"}, names[1]: {"PE": 5, "SIMD": 3, "DSP": "mult18x18d"}}
    build = tmp_path / "build"
    result = compile_model(path, output=build, folding=folding)
    stages = json.loads((build / "design.json").read_text())["stages"]
    assert [s["parameters"]["MAC_STYLE"] for s in stages if s["module"] == "mvau"] == [2, 2]
    assert json.loads((build / "folding.json").read_text())[names[0]]["DSP"] == "dsp48e1"
    verify = verify_model(path, samples=20, seed=3, build_dir=build, stall=35)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == 20
    assert abs(verify.rtl.measured_ii_cycles - result.design.bottleneck_cycles) <= 0.02 * result.design.bottleneck_cycles


def test_folding_files_check_the_dsp_key(tmp_path):
    path = tmp_path / "folding.json"
    path.write_text(json.dumps({"fc": {"PE": 2, "DSP": "dsp99"}}))
    with pytest.raises(UsageError, match="'fc' DSP='dsp99' is not one of"):
        load_folding(path)
    path.write_text(json.dumps({"fc": {"PE": 2, "DSP": "dsp48e2"}}))
    assert load_folding(path) == {"fc": {"PE": 2, "DSP": "dsp48e2"}}
