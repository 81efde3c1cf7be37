"""Streamline: scales and offsets move past linear ops, pooling and reshapes to the next
quantizer, so every product sees integer inputs."""

import numpy as np
import pytest
from onnx import helper

from bnncc.frontend import import_model
from bnncc.ir import ops
from bnncc.passes.streamline import Streamline
from bnncc.passes.tidy import Tidy
from helpers import assert_equivalent, make_model
from tiny_models import quant_node, quant_params, tiny_cnn, tiny_mlp


def streamlined(model):
    tidy = Tidy().run(import_model(model)).graph
    return tidy, Streamline().run(tidy)


def products_read_integers(graph):
    for op in graph.ops():
        if isinstance(op, (ops.MatMul, ops.Conv)):
            assert graph.tensors[op.inputs[0]].dtype.is_integer, op.name
            assert graph.tensors[op.inputs[1]].dtype.is_integer, op.name


@pytest.mark.parametrize(
    "model",
    [tiny_mlp(), tiny_cnn(), tiny_cnn(kernel=(1, 3), stride=(2, 1), in_bits=4), tiny_cnn(act_bits=1, weight_bits=1)],
    ids=["mlp", "cnn", "cnn-1x3-s2-4bit", "cnn-binary"],
)
def test_products_see_integers(model):
    before, result = streamlined(model)
    products_read_integers(result.graph)
    assert not any(isinstance(op, (ops.BatchNormalization, ops.Sub, ops.Div, ops.Dequantize)) for op in result.graph.ops())
    assert_equivalent(before, result.graph, low=0.0, high=1.0)


def test_zero_padding_becomes_zero_code():
    """An asymmetric (zero point 3) 4-bit input with zero padding: the convolution on codes
    pads with the code of real zero."""
    rng = np.random.default_rng(1)
    inits = {"w": rng.normal(size=(4, 2, 3, 3)).astype(np.float32)}
    inits.update(quant_params("qx", 0.25, 4, zero_point=3.0))
    inits.update(quant_params("qw", 0.5, 3))
    nodes = [
        quant_node("qx", "x", "xq", 4, signed=0),
        quant_node("qw", "w", "wq", 3, narrow=1),
        helper.make_node("Conv", ["xq", "wq"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    before, result = streamlined(make_model(nodes, [("x", ["N", 2, 5, 5])], [("y", ["N", 4, 5, 5])], inits))
    conv = next(op for op in result.graph.ops() if isinstance(op, ops.Conv))
    assert conv.pad_value == 3.0
    assert result.graph.tensors[conv.inputs[0]].dtype.name == "UINT4"
    assert_equivalent(before, result.graph)


def test_affine_ops_merge_and_stop_at_quantizers():
    before, result = streamlined(tiny_mlp())
    graph = result.graph
    for op in graph.ops():
        if isinstance(op, ops.Add):
            assert not isinstance(graph.producer(op.inputs[0]), ops.Add)
        if isinstance(op, (ops.Mul, ops.Add)):
            reader = graph.consumers(op.outputs[0])
            assert all(not isinstance(r, (ops.MatMul, ops.Conv)) for r in reader), op.name


def test_scale_stays_before_maxpool_when_negative():
    """maxpool(-x) != -maxpool(x): a negative scale must not move past MaxPool."""
    inits = {"neg": np.float32(-0.5)}
    inits.update(quant_params("qx", 1.0, 4))
    inits.update(quant_params("qy", 1.0, 4))
    nodes = [
        quant_node("qx", "x", "xq", 4),
        helper.make_node("Mul", ["xq", "neg"], ["m"], name="neg_scale"),
        helper.make_node("MaxPool", ["m"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        quant_node("qy", "p", "y", 4),
    ]
    before, result = streamlined(make_model(nodes, [("x", ["N", 2, 4, 4])], [("y", ["N", 2, 2, 2])], inits))
    pool = next(op for op in result.graph.ops() if isinstance(op, ops.MaxPool))
    assert isinstance(result.graph.producer(pool.inputs[0]), ops.Mul)
    assert_equivalent(before, result.graph, low=-8, high=8)
