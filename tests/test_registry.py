"""The registry of rtl_lib modules (bnncc/hw/registry.py, one entry per bnncc/hw/modules/*.py):
complete, consistent with the Verilog, and the only table the compiler reads.

* Every ``rtl_lib/*.v`` has exactly one entry and every entry a Verilog file.
* ``problems`` finds nothing in any entry, and does find a deliberately broken one (no
  pattern, a coefficient table missing a term, rules of another module, an unknown kind).
* Every parameter a builder (on compiled stages) or a calibration grid emits is declared by
  the module's Verilog.
* The estimate refuses an unknown module and a term without a coefficient.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from bnncc.compile import build_stages
from bnncc.errors import BnnccError
from bnncc.estimate import estimate_link
from bnncc.estimate.model import MissingCoefficientError
from bnncc.frontend import import_model
from bnncc.hw import registry
from bnncc.hw.describe import describe_stage
from bnncc.hw.registry import UnknownModuleError, all_specs, for_op, problems, spec, verilog_parameters
from bnncc.ir.ops import hw
from tiny_models import tiny_cnn, tiny_mlp

RTL_LIB = Path(__file__).resolve().parents[1] / "rtl_lib"


def test_every_verilog_file_has_exactly_one_entry_and_back():
    files = sorted(path.stem for path in RTL_LIB.glob("*.v"))
    names = [entry.name for entry in all_specs()]
    assert len(names) == len(set(names))
    assert sorted(names) == files


@pytest.mark.parametrize("name", [entry.name for entry in all_specs()])
def test_entry_has_no_problems(name):
    assert problems(spec(name)) == []


def test_problems_catch_a_stage_without_pattern():
    broken = replace(spec("mvau"), pattern=None)
    assert any("needs pattern" in line for line in problems(broken)), problems(broken)


def test_problems_catch_a_coefficient_table_missing_a_term():
    coefficients = copy.deepcopy(spec("mvau").coefficients)
    del coefficients["xilinx"]["lut"]["popcount"]
    found = problems(replace(spec("mvau"), coefficients=coefficients))
    assert any("without a xilinx coefficient: popcount" in line for line in found), found


def test_problems_catch_a_stream_missing_a_term_coefficient():
    coefficients = copy.deepcopy(spec("stream_fork").coefficients)
    del coefficients["ecp5"]["ff"]["data"]
    found = problems(replace(spec("stream_fork"), coefficients=coefficients))
    assert any("ff terms without a ecp5 coefficient: data" in line for line in found), found


def test_problems_catch_rules_of_another_module():
    found = problems(replace(spec("mvau"), rules=spec("thresholding").rules))
    assert any("rules are those of module thresholding" in line for line in found), found


def test_problems_catch_a_grid_parameter_the_verilog_lacks():
    grid = spec("stream_fork").calibration_grid

    def bad_grid(quick):
        return [{**item, "parameters": {**item["parameters"], "DEPTH": 4}} for item in grid(quick)]

    found = problems(replace(spec("stream_fork"), calibration_grid=bad_grid))
    assert any("sets DEPTH, not a parameter of its Verilog" in line for line in found), found


def test_problems_catch_an_entry_without_verilog_or_kind():
    assert any("no rtl_lib/no_such_module.v" in line for line in problems(replace(spec("skid_buffer"), name="no_such_module")))
    assert problems(replace(spec("skid_buffer"), kind="wire")) != []


def test_unknown_module_and_op_are_errors_that_name_them():
    with pytest.raises(UnknownModuleError, match="'no_such_module'.*expected one of .*mvau"):
        spec("no_such_module")
    op = hw.StreamReshape(name="reshape_7", inputs=["x"], outputs=["y"], shape=(1, 4))
    with pytest.raises(UnknownModuleError, match="node 'reshape_7' \\(StreamReshape\\)"):
        for_op(op)
    assert issubclass(UnknownModuleError, BnnccError)


@pytest.mark.parametrize("name", [entry.name for entry in all_specs() if entry.calibration_grid])
def test_calibration_grid_parameters_are_verilog_parameters(name):
    declared = verilog_parameters(name)[name]
    grid = spec(name).calibration_grid(False)
    assert grid, name
    for item in grid:
        assert set(item["parameters"]) <= declared, (item["name"], set(item["parameters"]) - declared)


@pytest.fixture(scope="module")
def compiled_stages():
    """Stages of two small networks as the builders make them."""
    stages = []
    for model in (tiny_cnn(), tiny_mlp()):
        graph = build_stages(import_model(model), None)[-1].graph
        stages += [s for s in (describe_stage(graph, op, memories=False) for op in graph.ops()
                               if isinstance(op, hw.HWOp)) if s is not None]
    return stages


def test_builder_parameters_are_verilog_parameters(compiled_stages):
    modules = {stage.module for stage in compiled_stages}
    assert {"mvau", "sliding_window", "streaming_maxpool"} <= modules
    for stage in compiled_stages:
        declared = verilog_parameters(stage.module)[stage.module]
        assert set(stage.parameters) <= declared, (stage.node, set(stage.parameters) - declared)
        assert set(stage.parameters) <= set(spec(stage.module).rules.defaults), stage.node


def test_estimate_of_unknown_module_is_an_error():
    with pytest.raises(UnknownModuleError, match="no_such_module"):
        estimate_link("no_such_module", {}, "xilinx")


def test_estimate_of_module_without_terms_is_an_error():
    with pytest.raises(UnknownModuleError, match="skid_buffer"):
        estimate_link("skid_buffer", {"WIDTH": 8}, "xilinx")


def test_estimate_of_term_without_coefficient_is_an_error(monkeypatch):
    entry = spec("stream_fifo")
    coefficients = copy.deepcopy(entry.coefficients)
    del coefficients["xilinx"]["lut"]["pointer_bits"]
    monkeypatch.setitem(registry._SPECS, "stream_fifo", replace(entry, coefficients=coefficients))
    with pytest.raises(MissingCoefficientError, match="stream_fifo: lut term pointer_bits has no xilinx coefficient"):
        estimate_link("stream_fifo", {"WIDTH": 8, "DEPTH": 16}, "xilinx")
    # the ecp5 table still has it
    assert estimate_link("stream_fifo", {"WIDTH": 8, "DEPTH": 16}, "ecp5").lut > 0


def test_every_term_has_an_explicit_coefficient():
    """The Xilinx mvau table weighs negate_carry explicitly (its fit predates the term)."""
    assert "negate_carry" in spec("mvau").coefficients["xilinx"]["lut"]
    params = {"MW": 8, "MH": 4, "PE": 2, "SIMD": 4, "INPUT_BITS": 4, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0,
              "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 0, "ACC_BITS": 8, "N_THRESHOLDS": 0,
              "OUT_BITS": 8, "OUT_BIAS": 0, "WEIGHT_FILE": "", "THRESHOLD_FILE": ""}
    assert "negate_carry" in spec("mvau").terms(params, "xilinx").lut
    assert estimate_link("mvau", params, "xilinx").lut > 0


def test_fork_and_join_entries_describe_their_verilog_ports():
    assert spec("stream_fork").out_ports({"WIDTH": 8, "N_OUT": 3}) == ["m_axis[0]", "m_axis[1]", "m_axis[2]"]
    assert spec("stream_add").in_ports({}) == ["a_axis", "b_axis"]
    assert spec("stream_concat").in_ports({"N_IN": 2}) == ["s_axis[0]", "s_axis[1]"]
    for name, params in [("stream_fork", {"WIDTH": 8, "N_OUT": 3}),
                         ("stream_add", {"SIMD": 2, "A_BITS": 4, "B_BITS": 4, "OUT_BITS": 5}),
                         ("stream_concat", {"N_IN": 2, "SIMD": 2, "BITS": 4})]:
        text = (RTL_LIB / f"{name}.v").read_text()
        for prefix, _, _, _ in spec(name).verilog_ports(params):
            assert f"{prefix}_tdata" in text and f"{prefix}_tready" in text, (name, prefix)


def _window_beside_a_branch():
    """x -> swg -> fc (MVAU) with a second branch x -> side (Thresholding) inserted between
    them: in the ops' order the window's neighbour is 'side', in the graph its consumer is
    'fc'."""
    from bnncc.datatype import DataType
    from bnncc.passes.to_hw import ToHardware
    from test_to_hw import Builder

    b = Builder()
    x = b.input("x", (1, 5, 5, 4), DataType.uint(2))
    patches = b.op(hw.SlidingWindow, [x], name="swg", kernel_shape=(3, 3), ifm_channels=4, ifm_dims=(5, 5),
                   ofm_dims=(3, 3))
    side = b.threshold(x, DataType.uint(1), 0, 3, name="side")
    acc = b.matmul(patches, 36, 6, DataType.int(2), name="fc")
    y = b.threshold(acc, DataType.uint(2), -40, 40, name="act")
    graph = ToHardware().run(b.output(y, side)).graph
    assert [op.name for op in graph.ops()] == ["swg", "side", "fc"]
    return graph


def test_apply_folding_couples_a_window_with_its_consumer_in_the_graph():
    from bnncc.passes.apply_folding import ApplyFolding

    result = ApplyFolding({"fc": {"PE": 2, "SIMD": 4}}).run(_window_beside_a_branch())
    folded = {op.name: (op.pe, op.simd) for op in result.graph.ops()}
    assert folded == {"swg": (1, 4), "side": (1, 1), "fc": (2, 4)}
    assert "node 'swg': SIMD=4 to match 'fc'" in result.notes


def test_auto_fold_chooses_a_window_with_its_consumer_in_the_graph():
    from bnncc.passes.auto_fold import FoldingSpace
    from bnncc.targets import get_device

    space = FoldingSpace(_window_beside_a_branch(), get_device("xc7z020"))
    assert [[op.name for op in group] for group in space.groups] == [["side"], ["swg", "fc"]]
    plan = space.plan(1)  # as fast as it goes: the window follows the MVAU's SIMD (36 = 9 positions of 4 channels)
    assert plan.table["swg"]["SIMD"] == plan.table["fc"]["SIMD"] == 36
