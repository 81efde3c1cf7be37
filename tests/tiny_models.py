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
