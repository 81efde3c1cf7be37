"""Absorbing BatchNorm, scales and activation quantizers into integer thresholds, and
binary products into XNOR-popcount."""

import numpy as np
import pytest

from bnncc.frontend import import_model
from bnncc.ir import ops
from bnncc.passes.absorb_thresholds import AbsorbThresholds
from bnncc.passes.streamline import Streamline
from bnncc.passes.tidy import Tidy
from bnncc.passes.xnor_popcount import XnorPopcount
from helpers import assert_equivalent
from tiny_models import tiny_cnn, tiny_mlp


def prepared(model):
    return Streamline().run(Tidy().run(import_model(model)).graph).graph


def codes(graph):
    return [op.outputs[0] for op in graph.ops() if isinstance(op, ops.MultiThreshold)]


@pytest.mark.parametrize(
    "model",
    [tiny_mlp(bits=2), tiny_mlp(bits=4), tiny_cnn(act_bits=2), tiny_cnn(act_bits=1, weight_bits=1), tiny_cnn(act_bits=4, in_bits=4)],
    ids=["mlp-2b", "mlp-4b", "cnn-2b", "cnn-bipolar", "cnn-4b"],
)
def test_thresholds_replace_float_chains(model):
    before = prepared(model)
    result = AbsorbThresholds().run(before)
    graph = result.graph
    thresholds = [op for op in graph.ops() if isinstance(op, ops.MultiThreshold)]
    assert thresholds and len(result.notes) == len(thresholds)
    for op in thresholds:
        assert graph.tensors[op.inputs[0]].dtype.is_integer
        assert graph.tensors[op.inputs[1]].value.dtype.kind == "i"
    # Only the host-side input quantizer stays a float quantizer.
    assert sum(isinstance(op, (ops.Quant, ops.BipolarQuant)) for op in graph.ops()) == 1
    assert_equivalent(before, graph, samples=200, low=0.0, high=1.0, tensors=codes(graph))


def test_negative_and_zero_batchnorm_scales():
    """tiny_cnn has negative BatchNorm scales and one zero scale per layer: the channels with
    negative scale get negated weights, the zero-scale channel a constant code."""
    before = prepared(tiny_cnn())
    result = AbsorbThresholds().run(before)
    assert any("negative scale negated" in note for note in result.notes)
    assert_equivalent(before, result.graph, samples=300, low=0.0, high=1.0, tensors=codes(result.graph))
    x = {"x": np.random.default_rng(3).uniform(0, 1, (300, 3, 9, 8)).astype(np.float32)}
    from bnncc.executor import Executor

    out = Executor(result.graph).run(x, keep=["a1__code"])["a1__code"]
    assert np.unique(out[:, 1]).size == 1  # zero BatchNorm scale: a constant channel


def test_xnor_popcount_on_binary_products():
    before = AbsorbThresholds().run(prepared(tiny_cnn(act_bits=1, weight_bits=1, pads=(0, 0, 0, 0)))).graph
    result = XnorPopcount().run(before)
    kinds = result.graph.op_count()
    assert kinds.get("XnorPopcountMatMul") == 2 and "MatMul" not in kinds
    assert_equivalent(before, result.graph, samples=200, low=0.0, high=1.0, tensors=codes(result.graph))


def test_xnor_leaves_multibit_products():
    before = AbsorbThresholds().run(prepared(tiny_mlp(bits=2))).graph
    result = XnorPopcount().run(before)
    assert not result.changed


def _bnn_restore_graph(scale):
    """x (BIPOLAR) @ W (BIPOLAR) -> + bias -> * scale -> MultiThreshold(BIPOLAR): what a
    FINN-ONNX binary layer with a bias looks like before the XNOR rewrite."""
    from bnncc.datatype import BIPOLAR, FLOAT32, DataType
    from bnncc.ir.build import add_inferred, new_constant
    from bnncc.ir.graph import Graph

    rng = np.random.default_rng(11)
    graph = Graph("bnn")
    graph.inputs.append("x")
    graph.set_tensor("x", (1, 9), BIPOLAR)
    w = new_constant(graph, "w", rng.choice([-1, 1], (9, 5)), BIPOLAR)
    add_inferred(graph, ops.MatMul(name="fc", inputs=["x", w], outputs=["acc"]))
    b = new_constant(graph, "b", rng.integers(-3, 4, (1, 5)), DataType.int(4))
    add_inferred(graph, ops.Add(name="bias", inputs=["acc", b], outputs=["biased"]))
    s = new_constant(graph, "s", np.asarray(scale, dtype=np.float64).reshape(1, 5), FLOAT32)
    add_inferred(graph, ops.Mul(name="scale", inputs=["biased", s], outputs=["scaled"]))
    t = new_constant(graph, "t", np.full((1, 1), 0.5), FLOAT32)
    add_inferred(graph, ops.MultiThreshold(name="act", inputs=["scaled", t], outputs=["y"], out_dtype=BIPOLAR, channel_axis=1))
    graph.outputs.append("y")
    return graph


@pytest.mark.parametrize("scale", [[1, 1, 1, 1, 1], [1.5, -1, 0.5, -2, 0]], ids=["positive", "mixed-signs-and-zero"])
def test_xnor_restore_steps_join_following_thresholds(scale):
    """The 2p - K the XNOR rewrite leaves, a bias and a scale of any sign between the
    product and thresholds become the thresholds (no Mul or Add left); channels whose map
    decreases get negated weights, which an XNOR-popcount turns into K - p."""
    from bnncc.executor import Executor

    before = _bnn_restore_graph(scale)
    result = XnorPopcount().run(before)
    kinds = result.graph.op_count()
    assert kinds == {"MultiThreshold": 1, "XnorPopcountMatMul": 1}, kinds
    x = np.array(np.meshgrid(*[[-1, 1]] * 9)).reshape(9, -1).T  # every input
    expected = Executor(before).run({"x": x})["y"]
    np.testing.assert_array_equal(Executor(result.graph).run({"x": x})["y"], expected)
    if scale[4] == 0:
        assert len(np.unique(expected[:, 4])) == 1  # zero scale: a constant channel
