"""Monotone element-wise steps between a product and the next quantizer become integer
thresholds: Relu without BatchNorm (Brevitas QuantReLU after a layer without BN, QKeras
quantized_relu), biases, scales of any sign (zero included, per tensor or per channel),
BatchNorm before or after the Relu, the 2p - K of the XNOR rewrite (hls4ml's one-layer BNN),
Relu before MaxPool or Flatten, Relu on a quantized output.

Every model is checked against onnxruntime (graph optimizations disabled) after import and
after every pass down to the hardware stages and the folding (``verify_model``); the final
graph must hold one MVAU per layer and nothing real-valued between stages."""

import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.ir.ops.hw import HWOp
from bnncc.verify.run import model_stages, verify_model
from bnncc.frontend import load_graph
from helpers import QONNX, assert_exact_in_rtl, make_model
from tiny_models import quant_node, quant_params

def _steps(nodes, inits, source, steps, channels, rank, prefix):
    """Append the element-wise ``steps`` after tensor ``source``; return the last tensor."""
    rng = np.random.default_rng(zlib.crc32(f"{prefix}:{','.join(steps)}".encode()))
    shape = [channels] + [1] * (rank - 2)
    current = source
    for index, step in enumerate(steps):
        out = f"{prefix}_s{index}"
        name = f"{prefix}_{step}{index}"
        if step == "relu":
            nodes.append(helper.make_node("Relu", [current], [out], name=name))
        elif step in ("scale", "negscale", "zeroscale", "mixscale"):
            value = {
                "scale": rng.uniform(0.2, 0.8, shape),
                "negscale": -rng.uniform(0.2, 0.8, shape),
                "zeroscale": np.zeros(shape),
                "mixscale": rng.uniform(0.2, 0.8, shape) * np.resize([1.0, -1.0, 0.0], channels).reshape(shape),
            }[step]
            inits[f"{name}_c"] = value.astype(np.float32)
            nodes.append(helper.make_node("Mul", [current, f"{name}_c"], [out], name=name))
        elif step == "bias":
            inits[f"{name}_c"] = rng.normal(scale=2.0, size=shape).astype(np.float32)
            nodes.append(helper.make_node("Add", [current, f"{name}_c"], [out], name=name))
        elif step == "bn":
            gamma = rng.uniform(0.5, 2.0, channels) * np.resize([1.0, -1.0, 1.0, 0.0], channels)
            inits[f"{name}_g"] = gamma.astype(np.float32)
            inits[f"{name}_b"] = rng.normal(size=channels).astype(np.float32)
            inits[f"{name}_m"] = rng.normal(scale=2.0, size=channels).astype(np.float32)
            inits[f"{name}_v"] = rng.uniform(0.5, 4.0, channels).astype(np.float32)
            nodes.append(helper.make_node(
                "BatchNormalization", [current, f"{name}_g", f"{name}_b", f"{name}_m", f"{name}_v"], [out], name=name))
        elif step == "maxpool":
            nodes.append(helper.make_node("MaxPool", [current], [out], name=name, kernel_shape=[2, 2], strides=[2, 2]))
        else:
            raise ValueError(step)
        current = out
    return current


def fc_model(steps, bits=2, signed=1, hidden=12, classes=5, features=16, seed=0):
    """x -> Quant(4b) -> MatMul(Quant(w1)) -> steps -> Quant(bits) -> MatMul(Quant(w2)) -> y."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(features, hidden)).astype(np.float32),
             "w2": rng.normal(size=(hidden, classes)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qact", 0.5, bits))
    inits.update(quant_params("qw2", 0.25, 3))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
    ]
    last = _steps(nodes, inits, "h", steps, hidden, 2, "fc1")
    nodes += [
        quant_node("qact", last, "a", bits, signed=signed),
        quant_node("qw2", "w2", "w2q", 3),
        helper.make_node("MatMul", ["a", "w2q"], ["y"], name="fc2"),
    ]
    return make_model(nodes, [("x", ["N", features])], [("y", ["N", classes])], inits)


def conv_model(steps, bits=2, signed=0, channels=6, size=8, classes=7, seed=1):
    """x -> Quant(4b) -> Conv 3x3 (pad 1) -> steps -> Quant(bits) -> Conv 3x3 -> Relu ->
    Quant(bits) -> Flatten -> MatMul -> y."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(channels, 3, 3, 3)).astype(np.float32),
             "w2": rng.normal(size=(channels, channels, 3, 3)).astype(np.float32),
             "s2": np.float32(0.25)}
    pooled = size // 2 if "maxpool" in steps else size
    flat = channels * (pooled - 2) ** 2
    inits["w3"] = rng.normal(size=(flat, classes)).astype(np.float32)
    inits.update(quant_params("qin", 0.125, 4))
    for name in ("qw1", "qw2", "qw3"):
        inits.update(quant_params(name, 0.5, 2))
    inits.update(quant_params("qa1", 0.5, bits))
    inits.update(quant_params("qa2", 0.5, bits))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    last = _steps(nodes, inits, "c1", steps, channels, 4, "conv1")
    nodes += [
        quant_node("qa1", last, "a1", bits, signed=signed),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("Conv", ["a1", "w2q"], ["c2"], name="conv2", kernel_shape=[3, 3]),
        helper.make_node("Mul", ["c2", "s2"], ["c2s"], name="conv2_scale"),
        helper.make_node("Relu", ["c2s"], ["r2"], name="relu2"),
        quant_node("qa2", "r2", "a2", bits, signed=signed),
        helper.make_node("Flatten", ["a2"], ["f"], name="flatten"),
        quant_node("qw3", "w3", "w3q", 2, narrow=1),
        helper.make_node("MatMul", ["f", "w3q"], ["y"], name="fc"),
    ]
    return make_model(nodes, [("x", ["N", 3, size, size])], [("y", ["N", classes])], inits)


def bnn_model(layers=1, features=3, hidden=4, seed=2):
    """hls4ml's BNN layer as Brevitas exports it: BipolarQuant(x) -> Gemm(BipolarQuant(w),
    Quant(bias)) -> BipolarQuant, ``layers`` times; the bipolar code is the output."""
    rng = np.random.default_rng(seed)
    inits = {"one": np.array([1.0], np.float32), "zero": np.float32(0.0), "bias_bits": np.float32(4.0),
             "unit": np.float32(1.0)}
    nodes = [helper.make_node("BipolarQuant", ["x", "one"], ["a0"], name="in_quant", domain=QONNX)]
    width = features
    for layer in range(layers):
        inits[f"w{layer}"] = rng.choice([-1.0, 1.0], size=(hidden, width)).astype(np.float32)
        inits[f"b{layer}"] = rng.integers(-4, 5, size=hidden).astype(np.float32)
        nodes += [
            helper.make_node("BipolarQuant", [f"w{layer}", "one"], [f"w{layer}q"], name=f"wq{layer}", domain=QONNX),
            helper.make_node("Quant", [f"b{layer}", "unit", "zero", "bias_bits"], [f"b{layer}q"], name=f"bq{layer}",
                             domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND"),
            helper.make_node("Gemm", [f"a{layer}", f"w{layer}q", f"b{layer}q"], [f"g{layer}"], name=f"linear{layer}", transB=1),
            helper.make_node("BipolarQuant", [f"g{layer}", "one"], [f"a{layer + 1}"], name=f"out_quant{layer}", domain=QONNX),
        ]
        width = hidden
    nodes.append(helper.make_node("Identity", [f"a{layers}"], ["y"], name="out"))
    return make_model(nodes, [("x", ["N", features])], [("y", ["N", hidden])], inits, opset=17)


def check(model, tmp_path, value_range=(-1.0, 1.0), samples=200, build=None):
    """Exact at every pass against onnxruntime; one MVAU per layer and only hardware stages
    between the first and the last."""
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    result = verify_model(path, samples=samples, seed=3, value_range=value_range, build_dir=build)
    assert result.ok, result.table()
    assert all(stage.exact == samples for stage in result.stages), result.table()
    final = model_stages(load_graph(path))[-1][1]
    layers = sum(node.op_type in ("MatMul", "Conv", "Gemm") for node in model.graph.node)
    assert final.op_count().get("MVAU") == layers, final.op_count()
    partition = final.metadata["partition"]
    assert all(isinstance(final.op(name), HWOp) for name in partition["hardware"])
    return final, result


FC_CASES = {
    "relu": ["relu"],
    "scale-relu": ["scale", "relu"],
    "relu-scale": ["relu", "scale"],
    "bias-relu": ["bias", "relu"],
    "scale-bias-relu": ["scale", "bias", "relu"],
    "relu-bias": ["relu", "bias"],
    "relu-bn": ["relu", "bn"],
    "bn-relu": ["bn", "relu"],
    "relu-negscale": ["relu", "negscale"],
    "negscale-relu": ["negscale", "relu"],
    "relu-zeroscale": ["relu", "zeroscale"],
    "relu-mixscale": ["relu", "mixscale"],
    "mixscale-relu-bias": ["mixscale", "relu", "bias"],
    "relu-relu-scale": ["relu", "relu", "scale"],
}


@pytest.mark.parametrize("bits,signed", [(2, 0), (2, 1), (4, 0), (4, 1)], ids=["u2", "s2", "u4", "s4"])
@pytest.mark.parametrize("case", list(FC_CASES), ids=list(FC_CASES))
def test_fc_relu_before_quantizer(tmp_path, case, bits, signed):
    check(fc_model(FC_CASES[case], bits=bits, signed=signed), tmp_path)


CONV_CASES = {
    "relu": ["relu"],
    "scale-relu": ["scale", "relu"],
    "bias-relu": ["bias", "relu"],
    "relu-negscale": ["relu", "negscale"],
    "relu-maxpool": ["relu", "maxpool"],
    "scale-relu-maxpool": ["scale", "relu", "maxpool"],
    "bn-relu": ["bn", "relu"],
    "negscale-relu-maxpool": ["negscale", "relu", "maxpool"],
    "bn-relu-maxpool": ["bn", "relu", "maxpool"],
    "mixscale-maxpool": ["mixscale", "maxpool"],
    "bias-maxpool-relu": ["bias", "maxpool", "relu"],
}


@pytest.mark.parametrize("bits,signed", [(2, 0), (4, 1)], ids=["u2", "s4"])
@pytest.mark.parametrize("case", list(CONV_CASES), ids=list(CONV_CASES))
def test_conv_relu_before_quantizer(tmp_path, case, bits, signed):
    check(conv_model(CONV_CASES[case], bits=bits, signed=signed), tmp_path, samples=60)


def test_relu_before_flatten_before_quantizer(tmp_path):
    """Conv -> Relu -> Flatten -> Quant -> MatMul: the Relu sinks below the Flatten and joins
    the thresholds (before, it stayed between the MVAU and the Flatten)."""
    rng = np.random.default_rng(6)
    inits = {"w1": rng.normal(size=(4, 2, 3, 3)).astype(np.float32), "w2": rng.normal(size=(4 * 3 * 3, 5)).astype(np.float32),
             "s1": np.float32(0.5)}
    for name, bits in (("qin", 4), ("qw1", 2), ("qa1", 2), ("qw2", 2)):
        inits.update(quant_params(name, 0.5, bits))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c1"], name="conv1", kernel_shape=[3, 3]),
        helper.make_node("Mul", ["c1", "s1"], ["c1s"], name="scale1"),
        helper.make_node("Relu", ["c1s"], ["r1"], name="relu1"),
        helper.make_node("Flatten", ["r1"], ["f1"], name="flatten"),
        quant_node("qa1", "f1", "a1", 2, signed=0),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("MatMul", ["a1", "w2q"], ["y"], name="fc"),
    ]
    model = make_model(nodes, [("x", ["N", 2, 5, 5])], [("y", ["N", 5])], inits)
    final, _ = check(model, tmp_path)
    assert "Relu" not in final.op_count()


def test_thresholds_move_in_front_of_the_pool(tmp_path):
    """Relu -> MaxPool -> Quant: the pool takes the maximum of 2-bit codes written by the
    MVAU's own thresholds, not of accumulators (no separate Thresholding stage)."""
    final, _ = check(conv_model(["scale", "relu", "maxpool"]), tmp_path, samples=60)
    counts = final.op_count()
    assert "Thresholding" not in counts and counts.get("StreamingMaxPool") == 1, counts
    pool = next(op for op in final.ops() if op.op_type == "StreamingMaxPool")
    assert final.tensors[pool.inputs[0]].dtype.bits == 2


def test_no_relu_left_between_stages(tmp_path):
    """Before the change the Relu stayed between the MVAU and the thresholds: refused."""
    final, _ = check(fc_model(["relu"]), tmp_path)
    assert "Relu" not in final.op_count()
    assert final.op_count().get("MVAU") == 2 and "Thresholding" not in final.op_count()


@pytest.mark.parametrize("layers", [1, 2])
def test_hls4ml_bnn_structure(tmp_path, layers):
    """Bipolar input and weights, a quantized bias, bipolar output: XNOR-popcount MVAUs with
    the bias and the 2p - K in their thresholds (no Mul or Add left between stages)."""
    final, _ = check(bnn_model(layers=layers), tmp_path)
    counts = final.op_count()
    assert "Mul" not in counts and "Add" not in counts, counts
    assert all(final.op(n).binary_xnor for n in final.metadata["partition"]["hardware"] if final.op(n).op_type == "MVAU")


def test_relu_on_quantized_output(tmp_path):
    """``Quant(signed) -> Relu`` as the graph output, and between two layers: the Relu of
    the code joins the thresholds."""
    rng = np.random.default_rng(4)
    inits = {"w1": rng.normal(size=(10, 8)).astype(np.float32), "w2": rng.normal(size=(8, 6)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qw2", 0.5, 2))
    inits.update(quant_params("qa1", 0.5, 3))
    inits.update(quant_params("qa2", 0.25, 4))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("MatMul", ["xq", "w1q"], ["h1"], name="fc1"),
        quant_node("qa1", "h1", "a1", 3, signed=1),
        helper.make_node("Relu", ["a1"], ["r1"], name="relu1"),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("MatMul", ["r1", "w2q"], ["h2"], name="fc2"),
        quant_node("qa2", "h2", "a2", 4, signed=1),
        helper.make_node("Relu", ["a2"], ["y"], name="relu_out"),
    ]
    model = make_model(nodes, [("x", ["N", 10])], [("y", ["N", 6])], inits)
    final, _ = check(model, tmp_path)
    assert "Relu" not in final.op_count()


@pytest.mark.parametrize("case", ["conv-relu-maxpool", "bnn-2-layers"])
def test_relu_absorption_in_rtl(tmp_path, case):
    """Through the RTL under random stalls on both sides (conv: Relu -> MaxPool -> Quant and
    scale -> Relu -> Quant; BNN: bias and 2p - K in the XNOR MVAUs' thresholds)."""
    model = conv_model(["relu", "maxpool"], bits=2, size=6) if case.startswith("conv") else bnn_model(layers=2, features=7, hidden=6)
    assert_exact_in_rtl(model, tmp_path)


PUBLISHED = Path(__file__).resolve().parents[2] / "shared" / "models" / "hls4ml_bnn_fc_1layer.onnx"


@pytest.mark.skipif(not PUBLISHED.exists(), reason="../shared/models (published models) not present")
def test_published_hls4ml_bnn_exact_at_every_pass():
    result = verify_model(PUBLISHED, samples=100, seed=0)
    assert result.ok and all(stage.exact == 100 for stage in result.stages), result.table()
