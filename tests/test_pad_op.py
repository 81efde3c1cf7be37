"""ONNX Pad (constant mode, spatial axes) against onnxruntime, and the IR Pad op's type rule."""

import numpy as np
import pytest
from onnx import helper

from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.errors import UnsupportedModelError
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops import Pad
from helpers import make_model, run_bnncc, run_onnxruntime

RNG = np.random.default_rng(77)
C, H, W = 3, 5, 4


def onnx_pads(top, left, bottom, right):
    """ONNX order for a rank-4 tensor: every axis' begin, then every axis' end."""
    return np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)


def check(model, pads, value):
    x = RNG.uniform(-2, 2, size=(3, C, H, W)).astype(np.float32)
    expected = run_onnxruntime(model, {"x": x})["y"]
    actual, graph = run_bnncc(model, {"x": x})
    np.testing.assert_array_equal(actual["y"], expected)
    (op,) = graph.ops()
    assert isinstance(op, Pad) and op.pads == pads and op.value == value
    return graph


def out_shape(pads):
    top, left, bottom, right = pads
    return ["N", C, H + top + bottom, W + left + right]


@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (0, 2, 1, 0), (2, 0, 0, 3)])
@pytest.mark.parametrize("value", [-1.0, 1.0, None])
def test_pad_inputs_opset13(pads, value):
    inputs, inits = ["x", "pads"], {"pads": onnx_pads(*pads)}
    if value is not None:
        inputs.append("v")
        inits["v"] = np.array(value, np.float32)
    node = helper.make_node("Pad", inputs, ["y"], mode="constant")
    model = make_model([node], [("x", ["N", C, H, W])], [("y", out_shape(pads))], inits, opset=13)
    check(model, pads, 0.0 if value is None else value)


def test_pad_axes_input_opset18():
    pads = (1, 0, 2, 1)
    inits = {"pads": np.array([1, 0, 2, 1], np.int64), "v": np.array(-1.0, np.float32), "axes": np.array([-2, 3], np.int64)}
    node = helper.make_node("Pad", ["x", "pads", "v", "axes"], ["y"])
    model = make_model([node], [("x", ["N", C, H, W])], [("y", out_shape(pads))], inits, opset=18)
    check(model, pads, -1.0)


@pytest.mark.parametrize("value", [-1.0, 1.0])
def test_pad_attributes_opset10(value):
    pads = (0, 1, 2, 1)
    node = helper.make_node("Pad", ["x"], ["y"], pads=list(onnx_pads(*pads)), value=value)
    model = make_model([node], [("x", ["N", C, H, W])], [("y", out_shape(pads))], opset=10)
    check(model, pads, value)


def test_pad_before_conv_imports():
    pads = (1, 1, 0, 1)
    w = RNG.uniform(-1, 1, size=(2, C, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Pad", ["x", "pads", "v"], ["p"]),
        helper.make_node("Conv", ["p", "w"], ["y"], kernel_shape=[3, 3]),
    ]
    inits = {"pads": onnx_pads(*pads), "v": np.array(1.0, np.float32), "w": w}
    model = make_model(nodes, [("x", ["N", C, H, W])], [("y", ["N", 2, H - 1, W - 1])], inits)
    x = RNG.uniform(-2, 2, size=(2, C, H, W)).astype(np.float32)
    actual, graph = run_bnncc(model, {"x": x})
    np.testing.assert_allclose(actual["y"], run_onnxruntime(model, {"x": x})["y"], rtol=1e-5, atol=1e-5)
    assert graph.op_count() == {"Conv": 1, "Pad": 1}


@pytest.mark.parametrize(
    "attrs,pads,message",
    [
        ({"mode": "reflect"}, onnx_pads(1, 1, 1, 1), "mode 'reflect'"),
        ({"mode": "edge"}, onnx_pads(1, 1, 1, 1), "mode 'edge'"),
        ({}, np.array([0, 1, 0, 0, 0, 1, 0, 0], np.int64), "only the spatial axes"),
        ({}, np.array([1, 0, 0, 0, 0, 0, 0, 0], np.int64), "only the spatial axes"),
        ({}, onnx_pads(-1, 0, 0, 0), "negative pads"),
        ({}, np.array([0, 0, 1, 1], np.int64), "expected 8 pads"),
    ],
)
def test_pad_rejections_name_the_node(attrs, pads, message):
    node = helper.make_node("Pad", ["x", "pads"], ["y"], name="pad_7", **attrs)
    model = make_model([node], [("x", ["N", C, H, W])], [("y", None)], {"pads": pads})
    with pytest.raises(UnsupportedModelError, match=f"node 'pad_7' \\(Pad\\): .*{message}") as info:
        run_bnncc(model, {"x": np.zeros((1, C, H, W), np.float32)})
    assert "\n" not in str(info.value)


def test_pad_rank3_rejected():
    node = helper.make_node("Pad", ["x", "pads"], ["y"], name="pad_3d")
    model = make_model([node], [("x", ["N", C, H])], [("y", None)], {"pads": np.array([0, 0, 1, 0, 0, 1], np.int64)})
    with pytest.raises(UnsupportedModelError, match="node 'pad_3d'.*rank-3"):
        run_bnncc(model, {"x": np.zeros((1, C, H), np.float32)})


@pytest.mark.parametrize(
    "dtype,value,pads,expected",
    [
        (BIPOLAR, -1.0, (1, 1, 1, 1), BIPOLAR),
        (BIPOLAR, 0.0, (1, 1, 1, 1), DataType.int(2)),
        (BIPOLAR, 0.0, (0, 0, 0, 0), BIPOLAR),
        (DataType.uint(4), -1.0, (0, 1, 0, 0), DataType.int(5)),
        (DataType.int(4), 7.0, (1, 0, 0, 0), DataType.int(4)),
        (DataType.int(4), 0.5, (1, 0, 0, 0), FLOAT32),
    ],
)
def test_pad_type_rule(dtype, value, pads, expected):
    op = Pad(name="p", inputs=["x"], outputs=["y"], pads=pads, value=value)
    ((shape, out_type),) = op.infer([TensorInfo((1, 2, 3, 3), dtype)])
    assert out_type == expected
    assert shape == (1, 2, 3 + pads[0] + pads[2], 3 + pads[1] + pads[3])
    values = [-1, 1] if dtype == BIPOLAR else np.arange(dtype.min, dtype.max + 1)
    x = RNG.choice(values, size=(4, 2, 3, 3)).astype(np.int64)
    (y,) = op.execute(x)
    assert out_type.allows(y) and y.shape == (4,) + shape[1:]
    expected = np.full(y.shape, value)
    expected[:, :, pads[0] : pads[0] + 3, pads[1] : pads[1] + 3] = x
    np.testing.assert_array_equal(y, expected)
