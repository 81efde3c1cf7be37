"""The shipped examples through the whole flow: compile at two foldings, co-simulate under
random stalls, compare with the executor (and so with onnxruntime), and check the measured
initiation interval against the analytical bottleneck."""

from pathlib import Path

import numpy as np
import pytest

from bnncc.backends.cosim import run_design
from bnncc.compile import Target, compile_model
from bnncc.executor import Executor
from bnncc.verify.run import verify_model

MODELS = Path(__file__).resolve().parent.parent / "examples" / "models"

CASES = [
    ("tfc_w1a1", None),
    ("tfc_w1a1", 100_000),
    ("tfc_w2a2", 20_000),
    ("sfc_w1a2", 5_000),
    ("sfc_w1a2", None),  # 200k cycles per vector: long silences at the ports are not deadlocks
    ("tfc_w2a2_qcdq", 50_000),
    ("cnv_w1a1", 10_000),
    ("mlp_w4a4", 200_000),  # every layer 4-bit x 4-bit
]


@pytest.mark.parametrize("name,fps", CASES, ids=[f"{n}-{f or 'pe1'}" for n, f in CASES])
def test_example_rtl_matches(tmp_path, name, fps):
    model = MODELS / f"{name}.onnx"
    build = tmp_path / "build"
    result = compile_model(model, output=build, target=Target(fps) if fps else None)
    samples = 6 if name.startswith("cnv") else 40
    verify = verify_model(model, samples=samples, seed=5, value_range=(0.0, 1.0), build_dir=build, stall=40)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == samples
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
    if fps:
        assert bottleneck <= Target(fps).cycles


def test_thousand_tfc_frames_under_heavy_stalls(tmp_path):
    """No deadlock and no lost, duplicated or reordered frame over 1000 frames with 50 %
    random stalls on input and output."""
    model = MODELS / "tfc_w1a1.onnx"
    result = compile_model(model, output=tmp_path / "build", target=Target(500_000))
    graph, design = result.final, result.design
    x = np.random.default_rng(0).uniform(0, 1, (1000, 1, 28, 28)).astype(np.float32)
    values = Executor(graph).run({graph.inputs[0]: x}, keep=[design.input_tensor, design.output_tensor])
    expected = values[design.output_tensor]
    run = run_design(design, values[design.input_tensor], expected.shape[1:], seed=7, in_stall=50, out_stall=50)
    assert np.array_equal(run.outputs, expected)
