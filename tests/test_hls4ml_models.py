"""hls4ml's channels-last CNNs: the element-wise steps between channels-last layers (quantizer,
activation, quantizer) and the Concat of two NHWC branches end up in NCHW, so every quantizer
becomes thresholds and the network compiles, exact at every pass and in RTL
(tests/quirk_models.py ``channels_last_branched``; the published models in ../shared/models are
checked at pass level where that directory exists)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import quirk_models as quirks
from helpers import assert_exact_in_rtl

from bnncc.frontend import import_model, load_model
from bnncc.ir import ops
from bnncc.ir.op import Quantizer
from bnncc.passes.absorb_thresholds import AbsorbThresholds
from bnncc.passes.lower_pool import LowerPool
from bnncc.passes.lower_upsample import MoveUpsampleScales
from bnncc.passes.pipeline import run_pipeline
from bnncc.passes.streamline import Streamline
from bnncc.passes.tidy import Tidy
from bnncc.verify.run import verify_model

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _save(tmp_path, model) -> Path:
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    return path


def _batched_transposes(graph) -> list[str]:
    return [op.name for op in graph.ops() if isinstance(op, ops.Transpose) and graph.tensors[op.inputs[0]].batched]


def test_steps_between_channels_last_layers_run_in_nchw(tmp_path):
    """After tidy only the transposes at the input and the output are left; every quantizer but
    the input's becomes a MultiThreshold on channel axis 1 (before the fix the quantizer after a
    biased channels-last Conv stayed a real-valued Quant behind a Transpose)."""
    path = _save(tmp_path, quirks.channels_last_branched())
    graph = import_model(load_model(path), source=str(path))
    stages = run_pipeline(graph, [Tidy(), Streamline(), LowerPool(), MoveUpsampleScales(), AbsorbThresholds()])
    tidy = stages[1].graph
    assert len(_batched_transposes(tidy)) == 2, _batched_transposes(tidy)
    [concat] = [op for op in tidy.ops() if isinstance(op, ops.Concat)]
    assert concat.axis == 1
    absorbed = stages[-1].graph
    left = [op.name for op in absorbed.ops() if isinstance(op, Quantizer) and not isinstance(op, ops.MultiThreshold)]
    assert left == ["Quant_in"], left
    assert all(op.channel_axis == 1 and absorbed.tensors[op.inputs[0]].shape[1] == absorbed.tensors[op.outputs[0]].shape[1]
               for op in absorbed.ops() if isinstance(op, ops.MultiThreshold))


@pytest.mark.parametrize("seed", [0, 1])
def test_channels_last_branched_exact_at_every_pass(tmp_path, seed):
    path = _save(tmp_path, quirks.channels_last_branched(seed=seed))
    result = verify_model(path, samples=24, seed=seed)
    assert result.ok, result.table()
    assert len(result.stages) > 10 and all(stage.mismatches == 0 for stage in result.stages)


def test_channels_last_branched_exact_in_rtl(tmp_path):
    assert_exact_in_rtl(quirks.channels_last_branched(), tmp_path, samples=20)


def _shared(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (published models live in ../shared/models beside the checkout)")
    return path


@pytest.mark.parametrize("name", ["hls4ml_separable_conv_ch_last.onnx", "hls4ml_branched_ch_last.onnx"])
def test_published_channels_last_models_exact_at_every_pass(name):
    """One sample through every pass (the inputs are 512 x 512 and 256 x 256 images; the RTL
    run is left to ``bnncc verify MODEL BUILD``)."""
    result = verify_model(_shared(name), samples=1, seed=0)
    assert result.ok, result.table()
    assert result.stages[-1].stage == "folding" and result.stages[-1].mismatches == 0


def test_off_channel_offset_stops_thresholds_with_a_reason(tmp_path):
    """An offset that varies along the rows (not per channel) cannot become per-channel
    thresholds: the quantizer stays, and the reason names the offset's constant."""
    from onnx import TensorProto, helper, numpy_helper

    from bnncc.passes import refusals

    rng = np.random.default_rng(0)
    inits = {
        "s": np.float32(0.5), "z": np.float32(0.0), "b": np.float32(4.0),
        "w": rng.integers(-2, 3, (3, 2, 1, 1)).astype(np.float32),
        "rows": rng.normal(size=(1, 1, 4, 1)).astype(np.float32),
    }
    quant = dict(domain="qonnx.custom_op.general", signed=1, narrow=0, rounding_mode="ROUND")
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], name="Quant_in", **quant),
        helper.make_node("Conv", ["xq", "w"], ["c"], name="Conv_0", kernel_shape=[1, 1]),
        helper.make_node("Add", ["c", "rows"], ["r"], name="Add_rows"),
        helper.make_node("Quant", ["r", "s", "z", "b"], ["y"], name="Quant_out", **quant),
    ]
    graph = helper.make_graph(nodes, "rows", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    path = _save(tmp_path, model)
    stages = run_pipeline(import_model(load_model(path), source=str(path)),
                          [Tidy(), Streamline(), LowerPool(), MoveUpsampleScales(), AbsorbThresholds()])
    absorbed = stages[-1].graph
    assert absorbed.has_op("Quant_out") and isinstance(absorbed.op("Quant_out"), ops.Quant)
    messages = [entry["message"] for entry in refusals.reasons(absorbed) if entry["node"] == "Quant_out"]
    assert any("'rows'" in message and "channel axis 1" in message for message in messages), messages
