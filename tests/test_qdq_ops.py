"""ONNX QuantizeLinear / Clip / DequantizeLinear in the executor against onnxruntime, with
rounding ties and negative values."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from helpers import make_model, run_bnncc, run_onnxruntime

RNG = np.random.default_rng(7)

TYPES = {
    "int8": (TensorProto.INT8, np.int8, -128, 127),
    "uint8": (TensorProto.UINT8, np.uint8, 0, 255),
    "int4": (TensorProto.INT4, None, -8, 7),
    "uint4": (TensorProto.UINT4, None, 0, 15),
}


def tie_data(shape, scale, low, high):
    """Values on exact rounding ties (k + 1/2) * scale, and random ones, both signs."""
    k = RNG.integers(low - 3, high + 3, size=shape)
    ties = (k + 0.5) * scale
    noise = RNG.uniform(low - 3, high + 3, size=shape) * scale
    return np.where(RNG.random(shape) < 0.5, ties, noise).astype(np.float32)


def zero_point(elem, value):
    return helper.make_tensor("zp", elem, [], [value])


# ONNX Clip has no 4-bit types (Brevitas writes narrow QCDQ as int8 + Clip instead).
CASES = [(t, False) for t in sorted(TYPES)] + [("int8", True), ("uint8", True)]


@pytest.mark.parametrize("type_name,clip", CASES)
def test_quantize_clip_dequantize(type_name, clip):
    elem, _, low, high = TYPES[type_name]
    scale = np.float32(0.25)
    zp_value = 0 if low == 0 and type_name.endswith("4") else (3 if low == 0 else -1)
    nodes = [helper.make_node("QuantizeLinear", ["x", "scale", "zp"], ["q"])]
    last = "q"
    if clip:
        nodes.append(helper.make_node("Clip", ["q", "lo", "hi"], ["c"]))
        last = "c"
    nodes.append(helper.make_node("DequantizeLinear", [last, "scale", "zp"], ["y"]))
    model = make_model(nodes, [("x", ["N", 4, 6])], [("y", ["N", 4, 6])], {"scale": scale}, opset=21)
    model.graph.initializer.append(zero_point(elem, zp_value))
    if clip:
        model.graph.initializer.append(helper.make_tensor("lo", elem, [], [low + 1]))
        model.graph.initializer.append(helper.make_tensor("hi", elem, [], [high - 2]))
    x = tie_data((8, 4, 6), scale, low, high)
    expected = run_onnxruntime(model, {"x": x})["y"]
    actual, graph = run_bnncc(model, {"x": x}, require_quantization=True)
    np.testing.assert_array_equal(actual["y"], expected)


def per_channel_qdq_matmul(w_q: np.ndarray, w_scale: np.ndarray):
    """``y = dq(q(x)) @ dq(w_q)``: uint8 activations with scale 0.02 and zero point 128,
    int8 weights (6 x 3) with one scale per output column, as onnxruntime.quantization writes it."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=1),
        helper.make_node("MatMul", ["xd", "wd"], ["y"]),
    ]
    inits = {"xs": np.float32(0.02), "xz": np.uint8(128), "wq": w_q, "ws": w_scale, "wz": np.zeros(3, np.int8)}
    return make_model(nodes, [("x", ["N", 6])], [("y", ["N", 3])], inits, opset=13)


def test_per_channel_weights_and_activations():
    """A QDQ MatMul as onnxruntime.quantization writes it: per-tensor uint8 activations,
    per-channel int8 weights."""
    w = RNG.normal(size=(6, 3)).astype(np.float32)
    w_scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    w_q = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
    model = per_channel_qdq_matmul(w_q, w_scale)
    x = RNG.normal(size=(16, 6)).astype(np.float32)
    expected = run_onnxruntime(model, {"x": x})["y"]
    actual, graph = run_bnncc(model, {"x": x}, require_quantization=True)
    np.testing.assert_allclose(actual["y"], expected, rtol=1e-5, atol=1e-5)
    assert graph.tensors["wq"].dtype.name == "INT8"


def test_oracle_runs_without_graph_optimizations(monkeypatch):
    """onnxruntime's QDQ fusions (1.32) return wrong numbers for a per-channel int8 MatMul on
    some CPUs: the test oracle must run every node as written, and then equals numpy."""
    import onnxruntime as ort

    levels = []
    real_session = ort.InferenceSession

    def recording_session(model, sess_options=None, **kwargs):
        levels.append(None if sess_options is None else sess_options.graph_optimization_level)
        return real_session(model, sess_options=sess_options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording_session)
    w_q = RNG.integers(-127, 128, size=(6, 3)).astype(np.int8)
    w_scale = np.array([0.01, 0.02, 0.03], np.float32)
    model = per_channel_qdq_matmul(w_q, w_scale)
    x = RNG.normal(size=(16, 6)).astype(np.float32)
    y = run_onnxruntime(model, {"x": x})["y"]
    assert levels == [ort.GraphOptimizationLevel.ORT_DISABLE_ALL]
    codes = np.clip(np.round(x / np.float32(0.02)) + 128, 0, 255) - 128
    expected = (codes * np.float32(0.02)).astype(np.float32) @ (w_q * w_scale).astype(np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
