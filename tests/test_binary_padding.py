"""Exact zero padding of bipolar activations with a 1-bit datapath (issue 13, part 3).

CNV-like w1a1 convolutions with zero padding 1 (BipolarQuant activations and weights, a
per-channel BatchNorm-like affine step before each activation quantizer): exact against
onnxruntime after every pass (``bnncc.verify``), and compiled and co-simulated under 30 %
stalls exact at the analytic interval. The border correction is the MVAU's class
thresholds (:mod:`bnncc.passes.binary_padding`).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.compile import compile_model
from bnncc.errors import UnsupportedModelError
from bnncc.estimate.model import estimate_link
from bnncc.passes.binary_padding import border_classes, class_thresholds
from bnncc.ir import ops
from bnncc.verify.run import verify_model
from helpers import QONNX, assert_exact_in_rtl, make_model
from tiny_models import quant_node, quant_params


def padded_cnv(layers, size=(7, 7), in_channels=3, seed=0, thresholds=True, weight_bits=1):
    """x (1, C, H, W) -> BipolarQuant -> per layer (channels, stride): Conv 3x3 pad 1 with
    bipolar weights (``weight_bits`` > 1: signed integer weights of a QONNX Quant) -> Mul/Add
    (per channel) -> BipolarQuant. ``thresholds=False``: the last convolution's output is the
    model's output (no quantizer after it)."""
    rng = np.random.default_rng(seed)
    inits = {"one": np.array(1.0, np.float32)}
    nodes = [helper.make_node("BipolarQuant", ["x", "one"], ["a0"], name="quant_in", domain=QONNX)]
    c, (h, w) = in_channels, size
    for i, (m, stride) in enumerate(layers):
        inits[f"w{i}"] = rng.standard_normal((m, c, 3, 3)).astype(np.float32)
        inits[f"g{i}"] = (rng.uniform(0.5, 1.5, (1, m, 1, 1)) * rng.choice([-1, 1], (1, m, 1, 1))).astype(np.float32)
        inits[f"b{i}"] = rng.uniform(-4, 4, (1, m, 1, 1)).astype(np.float32) + 0.25
        if weight_bits == 1:
            nodes.append(helper.make_node("BipolarQuant", [f"w{i}", "one"], [f"w{i}q"], name=f"wq{i}", domain=QONNX))
        else:
            nodes.append(quant_node(f"wq{i}", f"w{i}", f"w{i}q", weight_bits))
            inits.update(quant_params(f"wq{i}", 0.5, weight_bits))
        nodes += [
            helper.make_node("Conv", [f"a{i}", f"w{i}q"], [f"c{i}"], name=f"conv{i}", kernel_shape=[3, 3],
                             pads=[1, 1, 1, 1], strides=[stride, stride]),
        ]
        h, w = (h - 1) // stride + 1, (w - 1) // stride + 1
        last = i == len(layers) - 1
        if last and not thresholds:
            out = f"c{i}"
        else:
            nodes += [helper.make_node("Mul", [f"c{i}", f"g{i}"], [f"s{i}"], name=f"scale{i}"),
                      helper.make_node("Add", [f"s{i}", f"b{i}"], [f"t{i}"], name=f"bias{i}"),
                      helper.make_node("BipolarQuant", [f"t{i}", "one"], [f"a{i + 1}"], name=f"act{i}", domain=QONNX)]
            out = f"a{i + 1}"
        c = m
    nodes[-1].output[0] = "y"
    return make_model(nodes, [("x", [1, in_channels, *size])], [("y", [1, c, h, w])], inits)


CASES = {
    "stride1_odd": dict(layers=[(4, 1), (5, 1)], size=(7, 7)),
    "stride2_odd": dict(layers=[(6, 2), (4, 1)], size=(9, 9), in_channels=2),
    "stride1_then_2": dict(layers=[(3, 1), (7, 2)], size=(5, 5), in_channels=4),
    # bipolar activations times 3-bit weights: multiply-accumulate MVAUs with class thresholds
    "w3a1_stride2": dict(layers=[(4, 2), (3, 1)], size=(6, 7), in_channels=2, weight_bits=3),
}


@pytest.mark.parametrize("name", CASES)
def test_exact_at_every_pass(name, tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(padded_cnv(**CASES[name]), path)
    result = verify_model(path, samples=20, seed=3)
    assert result.ok, result.table()


def test_classes_and_corrections():
    """Padding 1 on a 3x3 kernel, stride 1 over 5x5: 9 classes (interior is class 0, 9
    interior positions); each class's correction is the sum of the padded weights, and the
    class thresholds are exact for every popcount."""
    im2col = ops.Im2Col(name="i", inputs=["x"], outputs=["p"], kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=0)
    classes, masks = border_classes(im2col, (1, 5, 5, 2))
    assert len(masks) == 9 and not masks[0].any() and np.sum(classes == 0) == 9
    assert masks[classes[0]].sum() == 5 * 2     # corner: 5 of 9 kernel positions, 2 channels
    rng = np.random.default_rng(1)
    W = rng.choice([-1, 1], size=(18, 3))
    T = rng.integers(-10, 11, size=(3, 1)).astype(np.float64) + 0.5
    Tc = class_thresholds(T, W, masks)
    for c, mask in enumerate(masks):
        for _ in range(50):
            x = rng.choice([-1, 1], size=18)
            true = np.where(mask, 0, x) @ W
            p = np.sum(np.where(mask, -1, x)[:, None] == W, axis=0)
            np.testing.assert_array_equal(p >= Tc[c, :, 0], true >= T[:, 0])


def test_without_thresholds_refused_by_name(tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(padded_cnv([(4, 1), (3, 1)], size=(5, 5), thresholds=False), path)
    with pytest.raises(UnsupportedModelError, match=r"node 'conv1__im2col' \(Im2Col\): zero padding .* 'conv1' has none"):
        compile_model(path, output=tmp_path / "build")


@pytest.mark.parametrize("name", ["stride1_odd", "stride2_odd", "w3a1_stride2"])
def test_exact_in_rtl(name, tmp_path):
    assert_exact_in_rtl(padded_cnv(**CASES[name]), tmp_path, samples=20, stall=30)


def test_correction_cost():
    """The class memory and the deeper threshold memory cost some hundred LUTs of a CNV-sized
    MVAU; with N_CLASSES = 1 the estimate is the one without classes."""
    base = {"MW": 576, "MH": 64, "PE": 4, "SIMD": 32, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1,
            "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 1, "ACC_BITS": 11,
            "N_THRESHOLDS": 1, "OUT_BITS": 1, "OUT_BIAS": 0}
    plain = estimate_link("mvau", base, "xilinx")
    assert estimate_link("mvau", dict(base, N_CLASSES=1, N_VECTORS=900), "xilinx").lut == plain.lut
    padded = estimate_link("mvau", dict(base, N_CLASSES=9, N_VECTORS=30 * 30), "xilinx")
    # 9 classes of 16 words of 44 bits, a 900-vector class ROM: about 400 LUTs on xilinx
    # (Yosys measured 430 to 440 on two CNV-sized layers; bnncc/hw/modules/mvau.py)
    assert 250 < padded.lut - plain.lut < 600
