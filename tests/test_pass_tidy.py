"""Tidy: identities gone, Gemm lowered, integer weights kept with scales behind products."""

import numpy as np
from onnx import helper

from bnncc.frontend import import_model
from bnncc.passes.tidy import Tidy
from helpers import QONNX, assert_equivalent, make_model
from tiny_models import quant_node, quant_params, tiny_cnn, tiny_mlp


def per_channel_weight_model():
    """Gemm with transB, alpha, beta and a per-output-channel weight scale, plus an Identity."""
    rng = np.random.default_rng(0)
    inits = {"w": rng.normal(size=(7, 10)).astype(np.float32), "b": rng.normal(size=7).astype(np.float32)}
    inits.update(quant_params("qx", 0.25, 4))
    inits.update(quant_params("qw", (2.0 ** rng.integers(-3, 0, size=(7, 1))).astype(np.float32), 3))
    nodes = [
        quant_node("qx", "x", "xq", 4),
        helper.make_node("Identity", ["xq"], ["xi"], name="ident"),
        quant_node("qw", "w", "wq", 3, narrow=1),
        helper.make_node("Gemm", ["xi", "wq", "b"], ["y"], name="fc", transB=1, alpha=0.5, beta=2.0),
    ]
    return make_model(nodes, [("x", ["N", 10])], [("y", ["N", 7])], inits)


def test_gemm_identity_and_weight_scale():
    graph = import_model(per_channel_weight_model())
    result = Tidy().run(graph)
    counts = result.graph.op_count()
    assert "Gemm" not in counts and "Identity" not in counts and "Dequantize" in counts  # only the activation one
    matmul = next(op for op in result.graph.ops() if op.op_type == "MatMul")
    weight = result.graph.tensors[matmul.inputs[1]]
    assert weight.value is not None and weight.dtype.name == "INT3" and weight.shape == (10, 7)
    assert any("Gemm lowered" in note for note in result.notes)
    assert any("weight scale moved" in note for note in result.notes)
    assert_equivalent(graph, result.graph)


def test_conv_weights_stay_integer():
    graph = import_model(tiny_cnn())
    result = Tidy().run(graph)
    for op in result.graph.ops():
        if op.op_type in ("Conv", "MatMul"):
            assert result.graph.tensors[op.inputs[1]].dtype.is_integer, op.name
    assert_equivalent(graph, result.graph, low=0.0, high=1.0)


def test_nothing_to_do_is_unchanged():
    graph = import_model(tiny_mlp())
    once = Tidy().run(graph).graph
    again = Tidy().run(once)
    assert not again.changed
    assert again.graph.op_count() == once.op_count()
