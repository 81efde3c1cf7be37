"""Every standard ONNX op of the executor against onnxruntime on random data."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from helpers import make_model, run_bnncc, run_onnxruntime

RNG = np.random.default_rng(1234)


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape).astype(np.float32)


def check(nodes, in_shape, out_shape, initializers=None, x=None, opset=13, exact=False, outputs=None):
    """Run a one-input model in both engines and compare every output."""
    outputs = outputs or [("y", ["N", *out_shape])]
    model = make_model(nodes, [("x", ["N", *in_shape])], outputs, initializers, opset=opset)
    x = rand(5, *in_shape) if x is None else x
    expected = run_onnxruntime(model, {"x": x})
    actual, graph = run_bnncc(model, {"x": x})
    for name, value in expected.items():
        if exact or value.dtype.kind in "iu":
            np.testing.assert_array_equal(actual[name], value, err_msg=name)
        else:
            np.testing.assert_allclose(actual[name], value, rtol=1e-5, atol=1e-5, err_msg=name)
    return graph


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("const_shape", [(), (3, 1, 1), (1, 3, 1, 1), (4, 5)])
def test_binary_with_constant(op, const_shape):
    c = rand(*const_shape, low=0.5, high=2.0) if const_shape else np.float32(1.75)
    check([helper.make_node(op, ["x", "c"], ["y"])], (3, 4, 5), (3, 4, 5), {"c": np.asarray(c, np.float32)})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul"])
def test_binary_of_two_activations(op):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node(op, ["x", "r"], ["y"])]
    check(nodes, (6,), (6,))


def test_pow():
    check([helper.make_node("Pow", ["x", "e"], ["y"])], (7,), (7,), {"e": np.float32(2.0)}, x=rand(4, 7, low=0.1, high=3))


@pytest.mark.parametrize("op", ["Relu", "Neg", "Identity", "Sign"])
def test_unary(op):
    x = rand(6, 8)
    x[0, :3] = 0.0  # Sign(0) = 0
    check([helper.make_node(op, ["x"], ["y"])], (8,), (8,), x=x)


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, None), (None, 0.5)])
def test_clip(bounds):
    low, high = bounds
    inputs, inits = ["x"], {}
    for name, value in (("lo", low), ("hi", high)):
        if value is None:
            inputs.append("")
        else:
            inputs.append(name)
            inits[name] = np.float32(value)
    while inputs[-1] == "":
        inputs.pop()
    check([helper.make_node("Clip", inputs, ["y"])], (10,), (10,), inits)


def test_matmul():
    check([helper.make_node("MatMul", ["x", "w"], ["y"])], (12,), (5,), {"w": rand(12, 5)})


@pytest.mark.parametrize("trans_b,alpha,beta", [(0, 1.0, 1.0), (1, 1.0, 1.0), (1, 0.5, 2.0)])
def test_gemm(trans_b, alpha, beta):
    w = rand(5, 12) if trans_b else rand(12, 5)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=trans_b, alpha=alpha, beta=beta)
    check([node], (12,), (5,), {"w": w, "b": rand(5)})


@pytest.mark.parametrize(
    "kernel,stride,pads,group,dilation",
    [
        ((3, 3), (1, 1), (0, 0, 0, 0), 1, (1, 1)),
        ((3, 3), (1, 1), (1, 1, 1, 1), 1, (1, 1)),
        ((1, 3), (2, 1), (0, 1, 0, 1), 1, (1, 1)),
        ((2, 3), (2, 2), (1, 0, 0, 2), 1, (1, 1)),
        ((3, 3), (1, 1), (1, 1, 1, 1), 2, (1, 1)),
        ((3, 3), (1, 1), (2, 2, 2, 2), 1, (2, 2)),
    ],
)
def test_conv(kernel, stride, pads, group, dilation):
    c_in, c_out, h, w = 4, 6, 9, 7
    weight = rand(c_out, c_in // group, *kernel)
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], kernel_shape=kernel, strides=stride, pads=pads, group=group, dilations=dilation
    )
    oh = (h + pads[0] + pads[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (w + pads[1] + pads[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    check([node], (c_in, h, w), (c_out, oh, ow), {"w": weight, "b": rand(c_out)})


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_conv_auto_pad(auto_pad):
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=(3, 2), strides=(2, 2), auto_pad=auto_pad)
    out = (4, 4) if auto_pad != "VALID" else (3, 3)
    check([node], (2, 8, 7), (3, *out), {"w": rand(3, 2, 3, 2)})


def test_batchnorm():
    c = 5
    inits = {"g": rand(c), "b": rand(c), "m": rand(c), "v": rand(c, low=0.1, high=2)}
    node = helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-4)
    check([node], (c, 3, 3), (c, 3, 3), inits)
    check([node], (c,), (c,), inits)


@pytest.mark.parametrize(
    "kernel,stride,pads,ceil",
    [((2, 2), (2, 2), (0, 0, 0, 0), 0), ((3, 3), (2, 2), (1, 1, 1, 1), 0), ((3, 2), (2, 2), (0, 0, 0, 0), 1), ((2, 2), (1, 1), (0, 0, 0, 0), 0)],
)
def test_maxpool(kernel, stride, pads, ceil):
    h, w = 7, 8
    def size(n, k, s, p):
        span = n + p - k
        return (-(-span // s) if ceil else span // s) + 1
    oh, ow = size(h, kernel[0], stride[0], pads[0] + pads[2]), size(w, kernel[1], stride[1], pads[1] + pads[3])
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=kernel, strides=stride, pads=pads, ceil_mode=ceil)
    check([node], (3, h, w), (3, oh, ow), exact=True)


def test_reshape_flatten_transpose_squeeze_unsqueeze():
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Unsqueeze", ["t", "axes"], ["u"]),
        helper.make_node("Squeeze", ["u", "axes"], ["s"]),
        helper.make_node("Flatten", ["s"], ["y"], axis=1),
    ]
    inits = {"shape": np.array([0, 4, -1], np.int64), "axes": np.array([2], np.int64)}
    check(nodes, (2, 3, 4), (24,), inits, exact=True)


def test_shape_subgraph_folds_into_reshape():
    """Brevitas' x.view(x.shape[0], -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
    ]
    inits = {"zero": np.array(0, np.int64), "axes": np.array([0], np.int64), "minus_one": np.array([-1], np.int64)}
    graph = check(nodes, (3, 4, 4), (48,), inits, exact=True)
    assert graph.op_count() == {"Reshape": 1}


def test_concat_gather_slice():
    nodes = [
        helper.make_node("Concat", ["x", "c"], ["cat"], axis=1),
        helper.make_node("Gather", ["cat", "idx"], ["g"], axis=1),
        helper.make_node("Slice", ["g", "starts", "ends", "axes", "steps"], ["y"]),
    ]
    inits = {
        "c": rand(1, 2),
        "idx": np.array([4, 0, -1, 2], np.int64),
        "starts": np.array([0], np.int64),
        "ends": np.array([4], np.int64),
        "axes": np.array([1], np.int64),
        "steps": np.array([2], np.int64),
    }
    model_x = rand(1, 5)
    check(nodes, (5,), (2,), inits, x=model_x, exact=True)


def test_topk_argmax_softmax():
    x = rand(6, 10)
    x[0, 3] = x[0, 7]  # equal values: the lower index wins in both engines
    nodes = [
        helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=-1),
        helper.make_node("ArgMax", ["x"], ["arg"], axis=1, keepdims=0),
        helper.make_node("Softmax", ["x"], ["soft"], axis=-1),
    ]
    outputs = [
        ("values", ["N", 3]),
        helper.make_tensor_value_info("indices", TensorProto.INT64, ["N", 3]),
        helper.make_tensor_value_info("arg", TensorProto.INT64, ["N"]),
        ("soft", ["N", 10]),
    ]
    check(nodes, (10,), None, {"k": np.array([3], np.int64)}, x=x, outputs=outputs)


def test_dropout_is_identity():
    check([helper.make_node("Dropout", ["x"], ["y"])], (4,), (4,), exact=True)
