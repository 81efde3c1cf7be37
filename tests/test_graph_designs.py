"""Designs that are graphs, not chains: residual adds, channel concatenation and forks, from
the IR through the hardware graph to co-simulation. Each runs exactly at its analytic
initiation interval under 50 % random stalls on both stream sides; the FIFO on the skip branch
of a residual block holds what the long branch keeps in flight, and one beat less loses
throughput."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from bnncc.backends.cosim import run_design
from bnncc.backends.report_svg import lanes
from bnncc.backends.verilog.design import describe_design, write_design
from bnncc.backends.verilog.fifo_sizing import MARGIN
from bnncc.compile import Target, build_stages, compile_model
from bnncc.executor import Executor
from bnncc.frontend import import_model
from bnncc.targets import DEFAULT_DEVICE, get_device
from bnncc.verify.run import verify_model
from join_models import bipolar_residual, concat_network, conv_shortcut_network, residual_block, three_consumers

MODELS = {
    "residual": residual_block,
    "conv-shortcut": conv_shortcut_network,
    "bipolar-residual": bipolar_residual,
    "concat": concat_network,
    "three-consumers": three_consumers,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_design_is_exact_at_its_interval_under_stalls(tmp_path, name):
    path = tmp_path / "model.onnx"
    onnx.save(MODELS[name](), path)
    result = compile_model(path, output=tmp_path / "build", target=_fast(10_000_000))
    design = result.design
    assert not design.graph.is_chain()
    verify = verify_model(path, samples=12, seed=3, value_range=(-1.0, 1.0), build_dir=tmp_path / "build", stall=50)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == 12
    bottleneck = design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
    summary = json.loads((tmp_path / "build" / "design.json").read_text())
    joins = [s for s in summary["stages"] if s["module"] in ("stream_add", "stream_concat", "stream_fork")]
    assert joins
    report = json.loads((tmp_path / "build" / "report.json").read_text())
    assert any(len(stage["inputs"]) > 1 for stage in report["stages"])
    # the first-frame latency the report predicts, against the co-simulation without stalls
    measured = verify.rtl.first_frame_latency_cycles
    assert abs(report["latency_cycles"] - measured) <= 0.10 * measured, (report["latency_cycles"], measured)


def _fast(fps: int = 2_000_000) -> Target:
    return Target(fps, 100.0, True, get_device(DEFAULT_DEVICE))


#: The residual block folded for 2,000,000 FPS with one kernel position per window beat (the
#: serial sliding window, whose line buffers the skip branch waits for).
SERIAL_FOLDING = {"conv1__im2col": {"SIMD": 2}, "conv1": {"PE": 4, "SIMD": 18}, "conv2__im2col": {"SIMD": 4},
                  "conv2": {"PE": 4, "SIMD": 36}, "residual_add": {"PE": 4}, "act3": {"PE": 4},
                  "fc": {"PE": 1, "SIMD": 12}}


def _folded_residual():
    return build_stages(import_model(residual_block()), SERIAL_FOLDING, "--folding", lambda message: None)[-1].graph


def test_one_beat_less_on_the_skip_fifo_loses_throughput(tmp_path):
    """The skip branch of a residual block waits for the long branch (two convolutions with
    their line buffers): its FIFO holds what the schedule says (the derived depth less
    MARGIN) and the block runs at its interval; one beat less and it does not."""
    graph = _folded_residual()
    design = describe_design(graph)
    depths = {link.name: link.parameters["DEPTH"] for link in design.links if link.module == "stream_fifo"}
    skip = max((name for name in depths if name.startswith("residual_add")), key=depths.get)
    held = depths[skip] - MARGIN
    assert held > 4
    x = np.random.default_rng(2).uniform(-1, 1, (8,) + tuple(graph.tensors[graph.inputs[0]].shape[1:])).astype(np.float32)
    measured = {}
    for depth in (held, held - 1):
        built = write_design(graph, tmp_path / str(depth), fifo_depths={**depths, skip: depth})
        values = Executor(graph).run({graph.inputs[0]: x}, keep=[built.input_tensor, built.output_tensor])
        run = run_design(built, values[built.input_tensor], values[built.output_tensor].shape[1:])
        assert np.array_equal(run.outputs, values[built.output_tensor])
        measured[depth] = run.initiation_interval
    bottleneck = design.bottleneck_cycles
    assert measured[held] <= 1.02 * bottleneck
    assert measured[held - 1] > 1.02 * bottleneck


def test_dataflow_lanes_put_a_branch_beside_the_trunk():
    stages = [{"node": "a", "inputs": ["input"]}, {"node": "fork", "inputs": ["a"]},
              {"node": "long1", "inputs": ["fork"]}, {"node": "short", "inputs": ["fork"]},
              {"node": "long2", "inputs": ["long1"]}, {"node": "add", "inputs": ["long2", "short"]},
              {"node": "out", "inputs": ["add"]}]
    assert lanes(stages) == [0, 0, 0, 1, 0, 0, 0]
