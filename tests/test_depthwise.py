"""Depthwise and grouped convolutions: QONNX models built with onnx.helper (Quant and
BipolarQuant ops), exact against onnxruntime after every pass (``bnncc verify``), and in RTL
under 30 % stalls at the analytic initiation interval.

A grouped convolution with small groups (depthwise, a channel multiplier, 1 < group < C with
at most 16 input x output channel pairs per group) becomes a sliding window and a VVAU; one
with larger groups the dense convolution with a block-diagonal weight (one MVAU)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.datatype import DataType
from bnncc.frontend import load_graph
from bnncc.ir.ops.vvau import VVAU
from bnncc.passes.pipeline import run_pipeline
from bnncc.verify.run import verify_model
from helpers import make_model
from tiny_models import act_node, quant_node, quant_params


def conv_model(layers, channels=6, size=7, in_bits=4, seed=0, first_act_bits=3):
    """x -> Quant(in_bits) -> conv1 (3x3, 3 -> C, pad 1) -> activation -> one Conv per entry
    of ``layers`` = (name, group, kernel, stride, pad, out channels, weight bits, activation
    bits) each followed by its activation quantizer (BipolarQuant for 1 bit, weights too)."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(channels, 3, 3, 3)).astype(np.float32)}
    inits.update(quant_params("qin", 0.25, in_bits))
    inits.update(quant_params("qw1", 0.5, 3))
    nodes = [
        quant_node("qin", "x", "xq", in_bits),
        quant_node("qw1", "w1", "w1q", 3, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        act_node("qa1", "c1", "a1", first_act_bits, inits, scale=1.0),
    ]
    current, width, side = "a1", channels, size
    for index, (name, group, kernel, stride, pad, out, w_bits, a_bits) in enumerate(layers):
        w = f"w_{name}"
        inits[w] = rng.normal(size=(out, width // group, kernel, kernel)).astype(np.float32)
        if w_bits == 1:
            inits[f"qw_{name}_s"] = np.float32(1.0)
            nodes.append(helper.make_node("BipolarQuant", [w, f"qw_{name}_s"], [f"{w}q"], name=f"qw_{name}",
                                          domain="qonnx.custom_op.general"))
        else:
            inits.update(quant_params(f"qw_{name}", 0.5, w_bits))
            nodes.append(quant_node(f"qw_{name}", w, f"{w}q", w_bits, narrow=1))
        out_tensor = "y" if index == len(layers) - 1 else f"a_{name}"
        nodes += [
            helper.make_node("Conv", [current, f"{w}q"], [f"c_{name}"], name=name, kernel_shape=[kernel, kernel],
                             strides=[stride, stride], pads=[pad] * 4, group=group),
            act_node(f"qa_{name}", f"c_{name}", out_tensor, a_bits, inits, scale=1.0),
        ]
        current, width, side = out_tensor, out, (side + 2 * pad - kernel) // stride + 1
    return make_model(nodes, [("x", ["N", 3, size, size])], [("y", ["N", width, side, side])], inits)


MODELS = {
    # 4-bit depthwise 3x3, stride 1, zero padding 1 (codes of an unsigned 3-bit input)
    "dw_k3s1": [("dw", 6, 3, 1, 1, 6, 4, 3)],
    # stride 2 on an odd image
    "dw_k3s2": [("dw", 6, 3, 2, 1, 6, 4, 3)],
    # a depthwise-separable block: depthwise 3x3 then pointwise 1x1
    "dw_separable": [("dw", 6, 3, 1, 1, 6, 3, 2), ("pw", 1, 1, 1, 0, 4, 3, 2)],
    # a grouped convolution, group 2 (3 in, 4 out channels per group: a VVAU), then pointwise
    "grouped_g2": [("grouped", 2, 3, 1, 1, 8, 3, 2), ("pw", 1, 1, 1, 0, 4, 3, 2)],
    # depthwise with channel multiplier 2 (1 in, 2 out channels per group: a VVAU)
    "dw_mult2": [("dw", 6, 3, 1, 1, 12, 3, 2)],
    # group 2 with 3 in and 6 out channels per group (18 pairs: a block-diagonal MVAU)
    "grouped_wide": [("grouped", 2, 3, 1, 1, 12, 3, 2)],
}


def _save(tmp_path, name, model) -> str:
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return path


def _binary_model():
    """Binary depthwise: bipolar activations and bipolar weights, no padding (zero padding
    of a bipolar input has no 1-bit code), then a bipolar activation."""
    return conv_model([("dw", 6, 3, 1, 0, 6, 1, 1)], first_act_bits=1)


@pytest.mark.parametrize("name", list(MODELS) + ["dw_binary"])
def test_exact_after_every_pass(tmp_path, name):
    model = _binary_model() if name == "dw_binary" else conv_model(MODELS[name])
    path = _save(tmp_path, name, model)
    result = verify_model(path, samples=24, seed=3, value_range=(-2.0, 2.0))
    assert result.ok, result.table()
    assert [s.stage for s in result.stages][-1] == "folding"
    final = run_pipeline(load_graph(path))[-1].graph
    types = {op.name: type(op).__name__ for op in final.ops()}
    if name == "grouped_wide":
        assert types["grouped"] == "MVAU"
    elif name == "grouped_g2":
        assert types["grouped"] == "VVAU" and final.op("grouped").has_thresholds
        assert (final.op("grouped").group_in, final.op("grouped").group_out) == (3, 4)
    else:  # the activation quantizer after it is fused: no Thresholding stage of its own
        assert types["dw"] == "VVAU" and final.op("dw").has_thresholds
        assert "Thresholding" not in types.values()


def test_depthwise_weights_and_accumulator(tmp_path):
    """The VVAU holds W3[u*KW + v, c] = W[c, 0, u, v] and the narrowest accumulator."""
    path = _save(tmp_path, "dw", conv_model(MODELS["dw_k3s2"]))
    graph = run_pipeline(load_graph(path))[-1].graph
    vvau = graph.op("dw")
    assert isinstance(vvau, VVAU) and (vvau.kernel, vvau.channels) == (9, 6)
    assert vvau.out_dtype == graph.tensors[vvau.outputs[0]].dtype == DataType.int(3)
    weights = graph.constant(vvau.inputs[1])
    assert weights.shape == (9, 6) and np.all(np.abs(weights) <= 7)
    x = graph.tensors[vvau.inputs[0]]
    assert x.shape[1:] == (4, 4, 54)  # 7x7 at stride 2 with padding 1: 4x4 windows of 9 x 6
    # signed 3-bit input codes -4..3: every channel's sum range, in the narrowest INT
    low = int(np.minimum(weights * -4, weights * 3).sum(axis=0).min())
    high = int(np.maximum(weights * -4, weights * 3).sum(axis=0).max())
    acc = vvau.acc_dtype
    assert acc.kind == "INT" and acc.min <= low and acc.max >= high
    narrower = DataType.int(acc.bits - 1)
    assert narrower.min > low or narrower.max < high


def test_wide_grouped_convolution_is_block_diagonal(tmp_path):
    """group 2 of 6 channels, 12 outputs (3 x 6 pairs per group): the MVAU's weight is zero
    outside each group."""
    path = _save(tmp_path, "g2", conv_model(MODELS["grouped_wide"]))
    graph = run_pipeline(load_graph(path))[-1].graph
    weights = graph.constant(graph.op("grouped").inputs[1]).reshape(9, 6, 12)  # (u*KW + v, c, m)
    assert np.all(weights[:, 3:, :6] == 0) and np.all(weights[:, :3, 6:] == 0)
    assert np.any(weights[:, :3, :6] != 0) and np.any(weights[:, 3:, 6:] != 0)


def test_grouped_vvau_weights(tmp_path):
    """group 2 of 6 channels, 8 outputs: the VVAU holds W3[u*KW + v, m*CG + j] = W[m, j, u, v]."""
    model = conv_model(MODELS["grouped_g2"])
    path = _save(tmp_path, "g2v", model)
    graph = run_pipeline(load_graph(path))[-1].graph
    vvau = graph.op("grouped")
    assert isinstance(vvau, VVAU) and (vvau.kernel, vvau.channels, vvau.group_in, vvau.group_out) == (9, 6, 3, 4)
    weights = graph.constant(vvau.inputs[1])
    assert weights.shape == (9, 8 * 3)
    assert graph.tensors[vvau.outputs[0]].shape[-1] == 8


@pytest.mark.parametrize("name, fps", [("dw_separable", 150_000), ("dw_binary", None), ("dw_separable", 600_000),
                                       ("grouped_g2", 100_000), ("dw_mult2", None)],
                         ids=["separable", "binary", "separable_kernel_simd", "grouped", "multiplier"])
def test_rtl_exact_under_stalls_at_the_analytic_interval(tmp_path, name, fps):
    from bnncc.compile import Target, compile_model

    model = _binary_model() if name == "dw_binary" else conv_model(MODELS[name])
    path = _save(tmp_path, name, model)
    build = tmp_path / "build"
    result = compile_model(path, output=build, target=Target(fps) if fps else None)
    stages = {stage.node: stage for stage in result.design.stages}
    node = "grouped" if name == "grouped_g2" else "dw"
    vvau, window = stages[node].parameters, stages[f"{node}__im2col"].parameters
    assert stages[node].module == "vvau" and vvau["N_THRESHOLDS"] > 0
    # the window's beat is the VVAU's (no width converter between them)
    assert vvau["SIMD"] * vvau["PE"] * vvau["GROUP_IN"] == window["SIMD"]
    if fps == 150_000:  # folded over channels
        assert vvau["PE"] > 1 and vvau["SIMD"] == 1
    if fps == 600_000:  # every channel in parallel, then several kernel positions per beat
        assert vvau["PE"] == 6 and vvau["SIMD"] > 1 and window["SIMD"] > window["IFM_CH"]
    samples = 20
    verify = verify_model(path, samples=samples, seed=5, value_range=(-2.0, 2.0), build_dir=build, stall=30)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == samples
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
    _assert_latency_estimate(build, verify)


def _assert_latency_estimate(build, verify):
    """The report's first-frame latency within 10 % of the co-simulated one (to the cycle on
    the examples; a few cycles short on designs this small, whose two-beat FIFOs block
    early beats that the model lets through)."""
    import json

    estimate = json.loads((build / "report.json").read_text())["latency_cycles"]
    measured = verify.rtl.first_frame_latency_cycles
    assert abs(estimate - measured) <= 0.10 * measured, (estimate, measured)


@pytest.mark.parametrize("channels, group, out, kernel, dtype, fields", [
    (5, 5, 5, (3, 3), "bipolar", {"strides": (1, 1)}),
    (4, 4, 4, (3, 2), "int3", {"strides": (2, 1), "pads": (1, 0, 1, 1), "dilations": (1, 2)}),
    (3, 3, 3, (1, 1), "uint2", {}),                       # 1x1 depthwise: a per-channel product, no Im2Col
    (6, 2, 4, (3, 3), "uint2", {"pads": (1, 1, 1, 1)}),   # group 2, 3 x 2 pairs per group: VVAU
    (6, 3, 6, (2, 2), "bipolar", {"strides": (2, 2)}),
    (3, 3, 6, (3, 1), "int3", {"pads": (1, 0, 1, 0)}),    # channel multiplier 2
    (8, 2, 10, (3, 3), "uint2", {"pads": (0, 1, 1, 0)}),  # 4 x 5 pairs per group: block-diagonal MatMul
], ids=["dw_bipolar", "dw_strided_dilated_padded", "dw_1x1", "group2", "group3_bipolar", "multiplier2", "group2_wide"])
def test_lower_conv_computes_the_grouped_convolution(channels, group, out, kernel, dtype, fields):
    """LowerConv on the IR: the Conv becomes Im2Col + VVAU (small groups) or + MatMul (wide
    groups), with the same outputs as the grouped Conv's own executor, bias included."""
    from bnncc.datatype import BIPOLAR, DataType
    from bnncc.ir import ops as ir_ops
    from bnncc.ir.build import add_inferred, new_constant
    from bnncc.passes.lower_conv import VVAU_GROUP_MACS, LowerConv
    from test_lower_conv import assert_same_behaviour, ir_graph, random_codes

    x_dtype = BIPOLAR if dtype == "bipolar" else DataType.int(3) if dtype == "int3" else DataType.uint(2)
    graph = ir_graph((1, channels, 7, 6), x_dtype)
    w_dtype = DataType.int(3)
    weight = new_constant(graph, "w", random_codes(w_dtype, (out, channels // group, *kernel)), w_dtype)
    bias = new_constant(graph, "b", random_codes(DataType.int(4), (out,)), DataType.int(4))
    add_inferred(graph, ir_ops.Conv(name="conv", inputs=["x", weight, bias], outputs=["y"], kernel_shape=kernel,
                                    group=group, **fields))
    graph.outputs.append("y")
    result = LowerConv().run(graph)
    assert result.changed
    kinds = {type(op).__name__ for op in result.graph.ops()}
    assert ("VVAU" in kinds) == ((channels // group) * (out // group) <= VVAU_GROUP_MACS) and "Conv" not in kinds
    assert ("Im2Col" in kinds) == (kernel != (1, 1))
    assert_same_behaviour(graph, result.graph)


def _quantized_bias_model(group: int):
    """x -> Quant -> Conv(3x3, pad 1, group) with a quantized bias (a Quant of a float
    constant, as the hls4ml exports write it) -> Quant."""
    rng = np.random.default_rng(4)
    channels = 4
    inits = {"w": rng.normal(size=(channels, channels // group, 3, 3)).astype(np.float32),
             "b": rng.normal(size=(channels,)).astype(np.float32)}
    for name, scale, bits in (("qin", 0.25, 4), ("qw", 0.5, 3), ("qb", 0.125, 6), ("qa", 0.5, 3)):
        inits.update(quant_params(name, scale, bits))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw", "w", "wq", 3, narrow=1),
        quant_node("qb", "b", "bq", 6),
        helper.make_node("Conv", ["xq", "wq", "bq"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         group=group),
        quant_node("qa", "c", "y", 3),
    ]
    return make_model(nodes, [("x", ["N", channels, 5, 5])], [("y", ["N", channels, 5, 5])], inits)


@pytest.mark.parametrize("group", [4, 1], ids=["depthwise", "dense"])
def test_quantized_bias_exact_after_every_pass(tmp_path, group):
    """A bias computed by a quantizer keeps its channel axis when the weight scale moves
    behind the product (before, its (C,) shape did not broadcast against NCHW)."""
    path = _save(tmp_path, f"bias_g{group}", _quantized_bias_model(group))
    result = verify_model(path, samples=24, seed=2, value_range=(-2.0, 2.0))
    assert result.ok, result.table()
    final = run_pipeline(load_graph(path))[-1].graph
    assert type(final.op("conv")).__name__ == ("VVAU" if group == 4 else "MVAU")


def _random_grouped_layer(seed: int):
    """A random grouped convolution on small groups: (layers, input channels) for conv_model."""
    rng = np.random.default_rng(seed)
    while True:
        groups, per_in, per_out = (int(v) for v in rng.integers(1, 5, 3))
        if groups > 1 and per_in * per_out <= 16:
            break
    kernel, stride, pad = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
    w_bits, a_bits = int(rng.choice([1, 2, 4])), int(rng.integers(2, 4))
    return [("g", groups, kernel, stride, pad, groups * per_out, w_bits, a_bits)], groups * per_in


@pytest.mark.parametrize("seed, fps", [(4, None), (7, 300_000), (28, 1_000_000), (31, None)])
def test_random_grouped_convolutions_in_rtl(tmp_path, seed, fps):
    """Random group counts, channels per group, kernels, strides, padding and widths: a VVAU,
    exact in RTL under 30 % stalls at the analytic interval (folded where ``fps`` asks)."""
    from bnncc.compile import Target, compile_model

    layers, channels = _random_grouped_layer(seed)
    path = _save(tmp_path, f"random_{seed}", conv_model(layers, channels=channels, size=6 + seed % 3, seed=seed))
    build = tmp_path / "build"
    result = compile_model(path, output=build, target=Target(fps) if fps else None)
    stages = {stage.node: stage for stage in result.design.stages}
    assert stages["g"].module == "vvau", layers
    verify = verify_model(path, samples=12, seed=seed, value_range=(-2.0, 2.0), build_dir=build, stall=30)
    assert verify.ok, verify.table()
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
    _assert_latency_estimate(build, verify)
