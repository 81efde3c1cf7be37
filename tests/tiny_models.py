"""Small quantized models built in code, shaped like Brevitas exports."""

from __future__ import annotations

import numpy as np
from onnx import helper

from helpers import QONNX, make_model


def quant_node(name, x, out, bits, signed=1, narrow=0, mode="ROUND", domain=QONNX):
    """A QONNX Quant node reading scale/zero-point/bit-width initializers named after it."""
    return helper.make_node(
        "Quant", [x, f"{name}_s", f"{name}_z", f"{name}_b"], [out], name=name, domain=domain,
        signed=signed, narrow=narrow, rounding_mode=mode,
    )


def quant_params(name, scale, bits, zero_point=0.0):
    return {
        f"{name}_s": np.asarray(scale, np.float32),
        f"{name}_z": np.asarray(zero_point, np.float32),
        f"{name}_b": np.asarray(bits, np.float32),
    }


def tiny_mlp(seed=0, in_features=16, hidden=12, classes=5, bits=2, domain=QONNX):
    """x -> 2x-1 -> Quant(4b) -> MatMul(Quant(w)) -> BatchNorm -> Quant(bits) -> MatMul -> y."""
    rng = np.random.default_rng(seed)
    inits = {
        "two": np.float32(2.0),
        "one": np.float32(1.0),
        "w1": rng.normal(size=(in_features, hidden)).astype(np.float32),
        "w2": rng.normal(size=(hidden, classes)).astype(np.float32),
        "g": rng.uniform(0.5, 2.0, hidden).astype(np.float32) * rng.choice([-1, 1], hidden).astype(np.float32),
        "beta": rng.normal(size=hidden).astype(np.float32),
        "mean": rng.normal(size=hidden).astype(np.float32),
        "var": rng.uniform(0.5, 4.0, hidden).astype(np.float32),
    }
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qact", 0.5, bits))
    inits.update(quant_params("qw2", 0.25, 3))
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["x2"]),
        helper.make_node("Sub", ["x2", "one"], ["xs"]),
        quant_node("qin", "xs", "xq", 4, domain=domain),
        quant_node("qw1", "w1", "w1q", 2, narrow=1, domain=domain),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"]),
        helper.make_node("BatchNormalization", ["h", "g", "beta", "mean", "var"], ["hb"]),
        quant_node("qact", "hb", "a", bits, domain=domain),
        quant_node("qw2", "w2", "w2q", 3, domain=domain),
        helper.make_node("MatMul", ["a", "w2q"], ["y"]),
    ]
    return make_model(nodes, [("x", ["N", in_features])], [("y", ["N", classes])], inits, custom_domains=(domain,))


def float_mlp(seed=0):
    """The same MLP without any quantizer."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    return make_model(nodes, [("x", ["N", 8])], [("y", ["N", 4])], {"w": rng.normal(size=(8, 4)).astype(np.float32)})


def bn_params(prefix, channels, rng, zero_scale=True):
    """BatchNorm parameters with negative scales (and one zero scale) mixed in."""
    gamma = rng.uniform(0.5, 2.0, channels) * rng.choice([-1.0, 1.0], channels)
    if zero_scale and channels > 2:
        gamma[1] = 0.0
    return {
        f"{prefix}_g": gamma.astype(np.float32),
        f"{prefix}_b": rng.normal(size=channels).astype(np.float32),
        f"{prefix}_m": rng.normal(scale=3.0, size=channels).astype(np.float32),
        f"{prefix}_v": rng.uniform(0.5, 4.0, channels).astype(np.float32),
    }


def bn_node(prefix, x, y):
    return helper.make_node("BatchNormalization", [x, f"{prefix}_g", f"{prefix}_b", f"{prefix}_m", f"{prefix}_v"], [y], name=prefix)


def act_node(name, x, y, bits, inits, scale=0.5, signed=1):
    """Bipolar (bits == 1) or n-bit activation quantizer."""
    if bits == 1:
        inits[f"{name}_s"] = np.float32(1.0)
        return helper.make_node("BipolarQuant", [x, f"{name}_s"], [y], name=name, domain=QONNX)
    inits.update(quant_params(name, scale, bits))
    return quant_node(name, x, y, bits, signed=signed)


def tiny_cnn(seed=0, in_bits=8, act_bits=2, weight_bits=2, kernel=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1),
             channels=(3, 8, 6), size=(9, 8), classes=23, pad_op=None, conv2_pad=None):
    """x -> normalise -> Quant(in_bits) -> [Pad] -> Conv -> BN -> act -> MaxPool -> Conv ->
    BN -> act -> Flatten -> Gemm -> BN -> act -> MatMul -> Mul -> y, with negative and zero
    BatchNorm scales. ``conv2_pad``: None (no padding), "zero" (the second Conv pads with
    zeros) or a value v (an explicit Pad with value v before the second Conv)."""
    rng = np.random.default_rng(seed)
    c0, c1, c2 = channels
    inits = {"half": np.float32(0.5), "two": np.float32(2.0)}
    inits.update(quant_params("qin", 2.0 ** -(in_bits - 1), in_bits))
    nodes = [
        helper.make_node("Sub", ["x", "half"], ["xc"], name="center"),
        helper.make_node("Mul", ["xc", "two"], ["xs"], name="stretch"),
        quant_node("qin", "xs", "xq", in_bits),
    ]
    conv_in = "xq"
    if pad_op is not None:
        inits["pads"] = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)
        inits["pad_value"] = np.float32(pad_op)
        nodes.append(helper.make_node("Pad", ["xq", "pads", "pad_value"], ["xp"], name="pad", mode="constant"))
        conv_in = "xp"
    weights = [("w1", (c1, c0) + tuple(kernel)), ("w2", (c2, c1, 2, 2))]
    for name, shape in weights:
        inits[name] = rng.normal(size=shape).astype(np.float32)
        inits.update(quant_params(f"q{name}", 0.5, weight_bits))
        nodes.append(quant_node(f"q{name}", name, f"{name}q", weight_bits, narrow=1))
    inits.update(bn_params("bn1", c1, rng))
    inits.update(bn_params("bn2", c2, rng))
    nodes += [
        helper.make_node("Conv", [conv_in, "w1q"], ["c1"], name="conv1", kernel_shape=list(kernel), strides=list(stride), pads=list(pads)),
        bn_node("bn1", "c1", "b1"),
        act_node("act1", "b1", "a1", act_bits, inits),
        helper.make_node("MaxPool", ["a1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    conv2_in, conv2_pads = "p1", [0, 0, 0, 0]
    if conv2_pad == "zero":
        conv2_pads = [1, 1, 1, 1]
    elif conv2_pad is not None:
        inits["pads2"] = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)
        inits["pad2_value"] = np.float32(conv2_pad)
        nodes.append(helper.make_node("Pad", ["p1", "pads2", "pad2_value"], ["p1p"], name="pad2", mode="constant"))
        conv2_in = "p1p"
    nodes += [
        helper.make_node("Conv", [conv2_in, "w2q"], ["c2"], name="conv2", kernel_shape=[2, 2], pads=conv2_pads),
        bn_node("bn2", "c2", "b2"),
        act_node("act2", "b2", "a2", act_bits, inits),
        helper.make_node("Flatten", ["a2"], ["f"], name="flatten"),
    ]
    h = (size[0] + pads[0] + pads[2] + (2 if pad_op is not None else 0) - kernel[0]) // stride[0] + 1
    w = (size[1] + pads[1] + pads[3] + (2 if pad_op is not None else 0) - kernel[1]) // stride[1] + 1
    grow = 0 if conv2_pad is None else 2
    flat = c2 * (h // 2 - 1 + grow) * (w // 2 - 1 + grow)
    hidden = 37
    inits["fc1"] = rng.normal(size=(hidden, flat)).astype(np.float32)
    inits["fc2"] = rng.normal(size=(hidden, classes)).astype(np.float32)
    inits["out_scale"] = np.float32(0.3)
    inits.update(quant_params("qfc1", 0.25, weight_bits))
    inits.update(quant_params("qfc2", 0.25, weight_bits))
    inits.update(bn_params("bn3", hidden, rng))
    nodes += [
        quant_node("qfc1", "fc1", "fc1q", weight_bits, narrow=1),
        helper.make_node("Gemm", ["f", "fc1q"], ["g1"], name="fc1", transB=1),
        bn_node("bn3", "g1", "b3"),
        act_node("act3", "b3", "a3", act_bits, inits),
        quant_node("qfc2", "fc2", "fc2q", weight_bits, narrow=1),
        helper.make_node("MatMul", ["a3", "fc2q"], ["logits"], name="fc2"),
        helper.make_node("Mul", ["logits", "out_scale"], ["y"], name="out_scale"),
    ]
    return make_model(nodes, [("x", ["N", c0, *size])], [("y", ["N", classes])], inits)
