"""QONNX/FINN quantizers in the executor against onnxruntime (on the reference rewrite), on
data full of exact rounding ties and negative values, for every rounding mode."""

import numpy as np
import pytest
from onnx import helper

from bnncc.executor import Executor
from bnncc.frontend import import_model
from bnncc.naming import code_tensor_name
from bnncc.quant_math import ROUNDING_MODES
from bnncc.reference.runner import ReferenceRunner
from helpers import QONNX, make_model

RNG = np.random.default_rng(99)
DOMAINS = ["qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general", "finn"]


def tie_data(shape, scale, span):
    """Half the values on exact ties (k + 1/2) * scale, some exact integers and zeros, the rest
    random; both signs, and beyond the clip range."""
    k = RNG.integers(-span, span, size=shape)
    choice = RNG.random(shape)
    values = np.where(choice < 0.4, (k + 0.5) * scale, RNG.uniform(-span, span, size=shape) * scale)
    values = np.where((choice > 0.8) & (choice < 0.9), k * scale, values)
    values = np.where(choice >= 0.95, 0.0, values)
    return values.astype(np.float32)


def both_engines(model, x):
    graph = import_model(model, require_quantization=False)
    actual = Executor(graph).run({"x": x}, keep="all")
    expected = ReferenceRunner(model).run({"x": x})
    return actual, expected


def compare(model, x, output="y"):
    actual, expected = both_engines(model, x)
    code = code_tensor_name(output)
    np.testing.assert_array_equal(actual[code], expected[code])
    np.testing.assert_array_equal(actual[output].astype(np.float32), expected[output])


def one_node(node, inits, shape=(4, 6), domain=QONNX):
    return make_model([node], [("x", ["N", *shape])], [("y", ["N", *shape])], inits, custom_domains=(domain,))


@pytest.mark.parametrize("mode", sorted(ROUNDING_MODES))
@pytest.mark.parametrize("bits,signed,narrow", [(2, 1, 0), (2, 1, 1), (4, 0, 0), (4, 0, 1), (8, 1, 0), (1, 0, 0)])
def test_quant_every_rounding_mode(mode, bits, signed, narrow):
    scale = np.float32(0.25)
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, signed=signed, narrow=narrow, rounding_mode=mode)
    inits = {"s": scale, "z": np.float32(0.0), "b": np.float32(bits)}
    compare(one_node(node, inits), tie_data((50, 4, 6), scale, 2**bits + 2))


@pytest.mark.parametrize("mode", ["ROUND", "FLOOR", "HALF_UP"])
def test_quant_per_channel_scale_and_zero_point(mode):
    scale = (2.0 ** RNG.integers(-3, 1, size=(4, 1))).astype(np.float32)
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, signed=0, narrow=0, rounding_mode=mode)
    inits = {"s": scale, "z": np.float32(3.0), "b": np.float32(4)}
    compare(one_node(node, inits), tie_data((40, 4, 6), 0.125, 20))


def test_one_bit_signed_quant_is_bipolar():
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND")
    x = tie_data((30, 4, 6), 1.0, 3)
    compare(one_node(node, {"s": np.float32(1.0), "z": np.float32(0.0), "b": np.float32(1)}), x)


@pytest.mark.parametrize("domain", DOMAINS)
def test_bipolar_quant_every_domain(domain):
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain=domain)
    x = tie_data((30, 4, 6), 0.5, 4)
    x[0] = 0.0  # zero maps to +1
    compare(one_node(node, {"s": np.float32(0.5)}, domain=domain), x)


@pytest.mark.parametrize("domain", DOMAINS)
def test_quant_every_domain(domain):
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=domain, signed=1, narrow=1, rounding_mode="ROUND")
    compare(one_node(node, {"s": np.float32(0.5), "z": np.float32(0.0), "b": np.float32(3)}, domain=domain), tie_data((20, 4, 6), 0.5, 6))


def test_int_quant_name():
    node = helper.make_node("IntQuant", ["x", "s", "z", "b"], ["y"], domain=QONNX, signed=1, narrow=0, rounding_mode="FLOOR")
    compare(one_node(node, {"s": np.float32(0.25), "z": np.float32(0.0), "b": np.float32(4)}), tie_data((20, 4, 6), 0.25, 10))


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "CEIL", "DOWN"])
def test_trunc_version_1(mode):
    node = helper.make_node("Trunc", ["x", "s", "z", "ib", "ob"], ["y"], domain=QONNX, rounding_mode=mode)
    inits = {"s": np.float32(0.125), "z": np.float32(0.0), "ib": np.float32(8), "ob": np.float32(4)}
    x = (RNG.integers(-128, 128, size=(40, 4, 6)) * 0.125).astype(np.float32)
    compare(one_node(node, inits), x)


@pytest.mark.parametrize("mode,signed", [("FLOOR", 1), ("ROUND", 1), ("FLOOR", 0)])
def test_trunc_version_2(mode, signed):
    node = helper.make_node("Trunc", ["x", "s", "z", "ib", "os", "oz", "ob"], ["y"], domain=QONNX, rounding_mode=mode, signed=signed)
    inits = {
        "s": np.float32(0.125), "z": np.float32(0.0), "ib": np.float32(8),
        "os": np.float32(1.0), "oz": np.float32(0.0), "ob": np.float32(4),
    }
    low = -128 if signed else 0
    x = (RNG.integers(low, 128, size=(40, 4, 6)) * 0.125).astype(np.float32)
    compare(one_node(node, inits), x)


@pytest.mark.parametrize(
    "layout,shape,out_dtype,scale,bias,shared",
    [
        ("NCHW", (4, 3, 5), "UINT2", 1.0, 0.0, False),
        ("NCHW", (4, 3, 5), "INT2", 1.0, -2.0, True),
        ("NHWC", (3, 5, 4), "UINT2", 0.5, 0.25, False),
        ("NCHW", (4,), "BIPOLAR", 2.0, -1.0, False),
        ("NCHW", (5, 4), "UINT2", 1.0, 0.0, False),
    ],
)
def test_multithreshold(layout, shape, out_dtype, scale, bias, shared):
    channels = shape[-1] if layout == "NHWC" or len(shape) not in (1, 3) else shape[0]
    steps = 1 if out_dtype == "BIPOLAR" else 3
    rows = 1 if shared else channels
    thresholds = np.sort(RNG.integers(-6, 6, size=(rows, steps)), axis=1).astype(np.float32) * 0.5
    node = helper.make_node(
        "MultiThreshold", ["x", "t"], ["y"], domain="finn.custom_op.general",
        out_dtype=out_dtype, out_scale=scale, out_bias=bias, data_layout=layout,
    )
    model = make_model([node], [("x", ["N", *shape])], [("y", ["N", *shape])], {"t": thresholds}, custom_domains=("finn.custom_op.general",))
    x = (RNG.integers(-8, 8, size=(30, *shape)) * 0.5).astype(np.float32)  # many exactly on thresholds
    compare(model, x)
