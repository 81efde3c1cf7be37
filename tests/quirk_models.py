"""Small models that carry, one by one, the quirks of files real exporters wrote.

Each builder reproduces what one exporter does (see "What real exporters write" in the design
notes and ../shared/models): FINN's ``MultiThreshold`` without an opset import for its domain,
the QONNX zoo's IR 6 / opset 9 file with initializers listed as graph inputs, opset 9-12
spellings of standard ops, qonnx's channels-last ops, Brevitas 0.13's 6-input ``Trunc``,
TorchScript's ``ConstantOfShape`` chain computing ``Pad``'s pads. Every model sets its IR
version explicitly.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BREVITAS = "onnx.brevitas"
QONNX = "qonnx.custom_op.general"
FINN = "finn.custom_op.general"
CHANNELS_LAST = "qonnx.custom_op.channels_last"


def _model(nodes, inputs, outputs, inits, opset, ir_version, imports=(), inits_as_inputs=False, annotations=None):
    """A model with exactly the opset imports ``[("", opset)] + imports`` (custom domains used
    by nodes but left out of ``imports`` stay unimported, as some exporters wrote them)."""
    initializers = [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()]
    graph_inputs = [helper.make_tensor_value_info(n, e, s) for n, e, s in inputs]
    if inits_as_inputs:
        graph_inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in initializers]
    graph = helper.make_graph(
        nodes, "quirk", graph_inputs, [helper.make_tensor_value_info(n, e, s) for n, e, s in outputs], initializers
    )
    for tensor, dtype in (annotations or {}).items():
        annotation = onnx.TensorAnnotation(tensor_name=tensor)
        annotation.quant_parameter_tensor_names.add(key="finn_datatype", value=dtype)
        graph.quantization_annotation.append(annotation)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in imports])
    model.ir_version = ir_version
    return model


def _quant(name, x, out, bits, inits, scale, domain, signed=1, narrow=0, zero_point=0.0):
    inits[f"{name}_s"] = np.asarray(scale, np.float32)
    inits[f"{name}_z"] = np.float32(zero_point)
    inits[f"{name}_b"] = np.float32(bits)
    return helper.make_node("Quant", [x, f"{name}_s", f"{name}_z", f"{name}_b"], [out], name=name, domain=domain,
                            signed=signed, narrow=narrow, rounding_mode="ROUND")


def finn_tfc_like(seed=0, features=16, hidden=10, classes=4):
    """FINN-ONNX as FINN's build_dataflow example ships it: IR 7, opset 12, ``MultiThreshold``
    in ``finn.custom_op.general`` with no opset import for it, pixels 0-255 divided by 255 in
    the graph, bipolar weights annotated ``finn_datatype``, BatchNorm wrapped in
    Unsqueeze/Squeeze (attribute axes), a TopK label output of shape [1, 1]."""
    rng = np.random.default_rng(seed)
    inits = {
        "div255": np.float32(255.0),
        "flat": np.array([1, features], np.int64),
        "two": np.float32(2.0),
        "one": np.float32(1.0),
        "t0": np.zeros((1, 1), np.float32),
        "w1": rng.choice([-1.0, 1.0], (features, hidden)).astype(np.float32),
        "s1": np.float32(0.25),
        "g": rng.uniform(0.5, 2.0, hidden).astype(np.float32) * rng.choice([-1, 1], hidden).astype(np.float32),
        "beta": rng.normal(size=hidden).astype(np.float32),
        "mean": rng.normal(size=hidden).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, hidden).astype(np.float32),
        "t1": np.zeros((hidden, 1), np.float32),
        "w2": rng.choice([-1.0, 1.0], (hidden, classes)).astype(np.float32),
        "k": np.array([1], np.int64),
    }
    bipolar = dict(out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0)
    nodes = [
        helper.make_node("Div", ["x", "div255"], ["x01"], name="Div_0"),
        helper.make_node("Reshape", ["x01", "flat"], ["xf"], name="Reshape_0"),
        helper.make_node("Mul", ["xf", "two"], ["x2"], name="Mul_0"),
        helper.make_node("Sub", ["x2", "one"], ["xs"], name="Sub_0"),
        helper.make_node("MultiThreshold", ["xs", "t0"], ["a0"], name="MultiThreshold_0", domain=FINN, **bipolar),
        helper.make_node("MatMul", ["a0", "w1"], ["h"], name="MatMul_0"),
        helper.make_node("Mul", ["h", "s1"], ["hs"], name="Mul_1"),
        helper.make_node("Unsqueeze", ["hs"], ["hu"], name="Unsqueeze_0", axes=[2]),
        helper.make_node("BatchNormalization", ["hu", "g", "beta", "mean", "var"], ["hb"], name="BatchNormalization_0", epsilon=1e-5),
        helper.make_node("Squeeze", ["hb"], ["hq"], name="Squeeze_0", axes=[2]),
        helper.make_node("MultiThreshold", ["hq", "t1"], ["a1"], name="MultiThreshold_1", domain=FINN, **bipolar),
        helper.make_node("MatMul", ["a1", "w2"], ["logits"], name="MatMul_1"),
        helper.make_node("TopK", ["logits", "k"], ["top_value", "label"], name="TopK_0", axis=-1),
    ]
    return _model(
        nodes, [("x", TensorProto.FLOAT, [1, 1, 4, 4])], [("label", TensorProto.INT64, [1, 1])], inits,
        opset=12, ir_version=7, annotations={"w1": "BIPOLAR", "w2": "BIPOLAR"},
    )


def zoo_tfc_like(seed=0, features=16, hidden=12, classes=5):
    """QONNX as the model zoo's old Brevitas export wrote it: IR 6, opset 9, ``Quant`` in
    ``onnx.brevitas`` with no opset import, every initializer also listed as a graph input,
    a Shape -> Gather -> Unsqueeze -> Concat -> Reshape flatten, input in [0, 1]."""
    rng = np.random.default_rng(seed)
    inits = {
        "gather_index": np.array(0, np.int64),
        "minus_one": np.array([-1], np.int64),
        "w1": rng.normal(size=(hidden, features)).astype(np.float32),
        "g": rng.uniform(0.5, 2.0, hidden).astype(np.float32),
        "beta": rng.normal(size=hidden).astype(np.float32),
        "mean": rng.normal(size=hidden).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, hidden).astype(np.float32),
        "w2": rng.normal(size=(classes, hidden)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="Shape_0"),
        helper.make_node("Gather", ["shape", "gather_index"], ["batch"], name="Gather_0", axis=0),
        helper.make_node("Unsqueeze", ["batch"], ["batch1"], name="Unsqueeze_0", axes=[0]),
        helper.make_node("Concat", ["batch1", "minus_one"], ["flat_shape"], name="Concat_0", axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["xf"], name="Reshape_0"),
        _quant("Quant_0", "xf", "xq", 2, inits, 0.5, BREVITAS, signed=0),
        _quant("Quant_1", "w1", "w1q", 2, inits, 0.5, BREVITAS, narrow=1),
        helper.make_node("Transpose", ["w1q"], ["w1t"], name="Transpose_0", perm=[1, 0]),
        helper.make_node("MatMul", ["xq", "w1t"], ["h"], name="MatMul_0"),
        helper.make_node("BatchNormalization", ["h", "g", "beta", "mean", "var"], ["hb"], name="BatchNormalization_0"),
        _quant("Quant_2", "hb", "a", 2, inits, 0.5, BREVITAS),
        _quant("Quant_3", "w2", "w2q", 2, inits, 0.5, BREVITAS, narrow=1),
        helper.make_node("Transpose", ["w2q"], ["w2t"], name="Transpose_1", perm=[1, 0]),
        helper.make_node("MatMul", ["a", "w2t"], ["y"], name="MatMul_1"),
    ]
    return _model(
        nodes, [("x", TensorProto.FLOAT, [1, 1, 4, 4])], [("y", TensorProto.FLOAT, [1, classes])], inits,
        opset=9, ir_version=6, inits_as_inputs=True,
    )


def old_opset_cnn(opset=9, seed=0, ir_version=5, inits_as_inputs=False):
    """Standard ops in their opset 7-10 spellings: Pad (``pads``/``value`` attributes), Clip
    (``min``/``max`` attributes), Dropout (``ratio``), Squeeze/Unsqueeze (``axes``
    attributes), Gemm with C, TopK (``k`` attribute at opset 9, input from 10), Softmax on the
    last axis, BatchNormalization (``spatial=1`` before opset 9). Quant under ``onnx.brevitas``
    without an opset import."""
    if opset not in (7, 8, 9, 10):
        raise ValueError("old_opset_cnn spells opsets 7 to 10")
    rng = np.random.default_rng(seed)
    inits = {
        "bn_g": rng.uniform(0.5, 2.0, 4).astype(np.float32) * np.array([1, -1, 1, 1], np.float32),
        "bn_beta": rng.normal(size=4).astype(np.float32),
        "bn_mean": rng.normal(size=4).astype(np.float32),
        "bn_var": rng.uniform(0.5, 2.0, 4).astype(np.float32),
        "w1": rng.normal(size=(4, 2, 3, 3)).astype(np.float32),
        "wf": rng.normal(size=(3, 16)).astype(np.float32),
        "bf": rng.normal(size=3).astype(np.float32),
    }
    topk = (
        helper.make_node("TopK", ["logits"], ["top", "label"], name="TopK_0", axis=1, k=1)
        if opset < 10
        else helper.make_node("TopK", ["logits", "k"], ["top", "label"], name="TopK_0", axis=1)
    )
    if opset >= 10:
        inits["k"] = np.array([1], np.int64)
    nodes = [
        _quant("Quant_in", "x", "xq", 4, inits, 0.125, BREVITAS),
        helper.make_node("Pad", ["xq"], ["xp"], name="Pad_0", mode="constant", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.0),
        _quant("Quant_w1", "w1", "w1q", 2, inits, 0.5, BREVITAS, narrow=1),
        helper.make_node("Conv", ["xp", "w1q"], ["c"], name="Conv_0", kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c", "bn_g", "bn_beta", "bn_mean", "bn_var"], ["cb"], name="BatchNormalization_0",
                         **({"spatial": 1} if opset < 9 else {})),
        helper.make_node("Clip", ["cb"], ["cc"], name="Clip_0", min=-2.0, max=2.0),
        _quant("Quant_a1", "cc", "a1", 2, inits, 0.5, BREVITAS),
        helper.make_node("Dropout", ["a1"], ["d"], name="Dropout_0", ratio=0.5),
        helper.make_node("MaxPool", ["d"], ["p"], name="MaxPool_0", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="Flatten_0", axis=1),
        _quant("Quant_wf", "wf", "wfq", 2, inits, 0.5, BREVITAS, narrow=1),
        helper.make_node("Gemm", ["f", "wfq", "bf"], ["g"], name="Gemm_0", transB=1),
        helper.make_node("Unsqueeze", ["g"], ["gu"], name="Unsqueeze_0", axes=[2]),
        helper.make_node("Squeeze", ["gu"], ["logits"], name="Squeeze_0", axes=[2]),
        topk,
    ]
    return _model(
        nodes, [("x", TensorProto.FLOAT, [1, 2, 4, 4])], [("label", TensorProto.INT64, [1, 1])], inits,
        opset=opset, ir_version=ir_version, inits_as_inputs=inits_as_inputs,
    )


def gemm_without_c(seed=0):
    """Opset 11: Gemm with its optional C input left out."""
    rng = np.random.default_rng(seed)
    inits = {"w": rng.normal(size=(6, 8)).astype(np.float32)}
    nodes = [
        _quant("Quant_in", "x", "xq", 3, inits, 0.25, BREVITAS),
        _quant("Quant_w", "w", "wq", 2, inits, 0.5, BREVITAS, narrow=1),
        helper.make_node("Gemm", ["xq", "wq"], ["y"], name="Gemm_0", transB=1),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, ["N", 8])], [("y", TensorProto.FLOAT, ["N", 6])], inits,
                  opset=11, ir_version=6, imports=(BREVITAS,))


def channels_last_cnn(seed=0, size=6):
    """hls4ml's QKeras -> QONNX conversion: NHWC input, ``Conv``, ``BatchNormalization`` and
    ``MaxPool`` in ``qonnx.custom_op.channels_last`` (Conv weight stored as (O, kH, kW, I)),
    ``Quant`` in ``qonnx.custom_op.general`` while only ``onnx.brevitas`` is imported."""
    rng = np.random.default_rng(seed)
    inits = {
        "w1": rng.normal(size=(4, 3, 3, 2)).astype(np.float32),
        "b1": rng.normal(size=4).astype(np.float32),
        "g": rng.uniform(0.5, 2.0, 4).astype(np.float32) * np.array([1, -1, 1, -1], np.float32),
        "beta": rng.normal(size=4).astype(np.float32),
        "mean": rng.normal(size=4).astype(np.float32),
        "var": rng.uniform(0.5, 2.0, 4).astype(np.float32),
        "flat": np.array([1, -1], np.int64),
        "w2": rng.normal(size=(4 * (size // 2) ** 2, 3)).astype(np.float32),
    }
    nodes = [
        _quant("Quant_in", "x", "xq", 4, inits, 0.125, QONNX),
        _quant("Quant_w1", "w1", "w1q", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["xq", "w1q", "b1"], ["c"], name="Conv_0", domain=CHANNELS_LAST,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["cb"], name="BatchNormalization_0",
                         domain=CHANNELS_LAST, epsilon=1e-3),
        _quant("Quant_a1", "cb", "a1", 2, inits, 0.5, QONNX, signed=0),
        helper.make_node("MaxPool", ["a1"], ["p"], name="MaxPool_0", domain=CHANNELS_LAST,
                         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
        helper.make_node("Reshape", ["p", "flat"], ["f"], name="Reshape_0"),
        _quant("Quant_w2", "w2", "w2q", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("MatMul", ["f", "w2q"], ["y"], name="MatMul_0"),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, [1, size, size, 2])], [("y", TensorProto.FLOAT, [1, 3])], inits,
                  opset=13, ir_version=8, imports=(BREVITAS,))


def brevitas_trunc6(seed=0, in_bits=8, out_bits=4, zero_point=0.0):
    """Brevitas 0.13's ``Trunc`` with 6 inputs (x, scale, zeropt, in_bits, out_scale,
    out_bits), as ``TruncAvgPool2d`` exports it, between an 8-bit quantizer and a layer."""
    rng = np.random.default_rng(seed)
    scale = 0.0625
    inits = {
        "w": rng.normal(size=(8, 5)).astype(np.float32),
        "t_s": np.float32(scale), "t_z": np.float32(zero_point), "t_ib": np.float32(in_bits),
        "t_os": np.float32(scale * 2 ** (in_bits - out_bits)), "t_ob": np.float32(out_bits),
    }
    nodes = [
        _quant("Quant_in", "x", "xq", in_bits, inits, scale, QONNX),
        helper.make_node("Trunc", ["xq", "t_s", "t_z", "t_ib", "t_os", "t_ob"], ["xt"], name="Trunc_0", domain=QONNX,
                         rounding_mode="FLOOR", signed=1, narrow=0),
        _quant("Quant_w", "w", "wq", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("MatMul", ["xt", "wq"], ["y"], name="MatMul_0"),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, ["N", 8])], [("y", TensorProto.FLOAT, ["N", 5])], inits,
                  opset=13, ir_version=8, imports=(QONNX,))


def torchscript_constant_pad(seed=0, value=-1.0):
    """``nn.ConstantPad2d(1, value)`` as TorchScript's ONNX exporter writes it: Pad's pads
    computed by ConstantOfShape -> Concat -> Reshape -> Slice (step -1) -> Transpose ->
    Reshape -> Cast from the torch pad list, on a bipolar input, before a binary conv."""
    rng = np.random.default_rng(seed)
    inits = {"one": np.float32(1.0), "w": rng.normal(size=(3, 2, 3, 3)).astype(np.float32)}
    const = lambda name, value: helper.make_node("Constant", [], [name], name=f"{name}_const", value=numpy_helper.from_array(value))
    nodes = [
        helper.make_node("BipolarQuant", ["x", "one"], ["xb"], name="BipolarQuant_in", domain=QONNX),
        const("torch_pads", np.array([1, 1, 1, 1], np.int64)),
        const("zeros_shape", np.array([4], np.int64)),
        helper.make_node("ConstantOfShape", ["zeros_shape"], ["zeros"], name="ConstantOfShape_0",
                         value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Concat", ["torch_pads", "zeros"], ["all_pads"], name="Concat_0", axis=0),
        const("pairs", np.array([-1, 2], np.int64)),
        helper.make_node("Reshape", ["all_pads", "pairs"], ["pad_pairs"], name="Reshape_0"),
        const("starts", np.array([-1], np.int64)),
        const("ends", np.array([-9223372036854775807], np.int64)),
        const("axes", np.array([0], np.int64)),
        const("steps", np.array([-1], np.int64)),
        helper.make_node("Slice", ["pad_pairs", "starts", "ends", "axes", "steps"], ["reversed"], name="Slice_0"),
        helper.make_node("Transpose", ["reversed"], ["begin_end"], name="Transpose_0", perm=[1, 0]),
        const("flat", np.array([-1], np.int64)),
        helper.make_node("Reshape", ["begin_end", "flat"], ["pads_flat"], name="Reshape_1"),
        helper.make_node("Cast", ["pads_flat"], ["pads"], name="Cast_0", to=TensorProto.INT64),
        const("pad_value", np.array(value, np.float32)),
        helper.make_node("Pad", ["xb", "pads", "pad_value"], ["xp"], name="Pad_0", mode="constant"),
        helper.make_node("BipolarQuant", ["w", "one"], ["wb"], name="BipolarQuant_w", domain=QONNX),
        helper.make_node("Conv", ["xp", "wb"], ["y"], name="Conv_0", kernel_shape=[3, 3]),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, [1, 2, 5, 5])], [("y", TensorProto.FLOAT, [1, 3, 5, 5])], inits,
                  opset=13, ir_version=8, imports=(QONNX,))


def future_opset(opset=99):
    """A model that declares a default-domain opset newer than any onnx release knows."""
    model = gemm_without_c()
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", opset), helper.make_opsetid(BREVITAS, 1)])
    return model


def unknown_domain_unimported():
    """A node in a custom domain bnncc does not know, with no opset import for it."""
    model = gemm_without_c()
    model.graph.node[2].domain = "com.example.ops"
    return model


def channels_last_branched(seed=0, size=4, channels=2):
    """hls4ml's channels-last CNNs between their layers: a channels-last ``Conv`` with a bias,
    then on the NHWC tensor a ``Quant``, a standard-domain ``LeakyRelu`` and a second ``Quant``
    (three element-wise steps the importer leaves in NHWC); a channels-last depthwise ``Conv``
    with zero padding; a skip branch through a channels-last ``MaxPool`` and an NHWC nearest
    ``Resize``, joined by a ``Concat`` on the last (channel) axis; a final channels-last 1x1
    ``Conv`` with a bias writing an NHWC output."""
    rng = np.random.default_rng(seed)
    c = channels
    inits = {
        "w1": rng.normal(size=(2 * c, 1, 1, c)).astype(np.float32),
        "b1": rng.normal(size=2 * c).astype(np.float32),
        "wd": rng.normal(size=(2 * c, 3, 3, 1)).astype(np.float32),
        "w3": rng.normal(size=(3, 1, 1, 4 * c)).astype(np.float32),
        "b3": rng.normal(size=3).astype(np.float32),
        "roi": np.zeros(0, np.float32),
        "up": np.array([1, 2, 2, 1], np.float32),
    }
    leaky = 0.1015625
    nodes = [
        _quant("Quant_in", "x", "xq", 4, inits, 0.25, QONNX),
        _quant("Quant_w1", "w1", "w1q", 3, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["xq", "w1q", "b1"], ["c1"], name="Conv_1", domain=CHANNELS_LAST,
                         kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1),
        _quant("Quant_c1", "c1", "c1q", 4, inits, 0.5, QONNX),
        helper.make_node("LeakyRelu", ["c1q"], ["l1"], name="LeakyRelu_1", alpha=leaky),
        _quant("Quant_l1", "l1", "a1", 4, inits, 0.25, QONNX),
        _quant("Quant_wd", "wd", "wdq", 3, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["a1", "wdq"], ["d"], name="Conv_dw", domain=CHANNELS_LAST,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=2 * c),
        helper.make_node("LeakyRelu", ["d"], ["l2"], name="LeakyRelu_2", alpha=leaky),
        _quant("Quant_l2", "l2", "a2", 4, inits, 0.5, QONNX),
        helper.make_node("MaxPool", ["a1"], ["p"], name="MaxPool_0", domain=CHANNELS_LAST,
                         kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
        _quant("Quant_p", "p", "pq", 4, inits, 0.25, QONNX),
        helper.make_node("Resize", ["pq", "roi", "up"], ["u"], name="Resize_0", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        _quant("Quant_u", "u", "uq", 4, inits, 0.25, QONNX),
        helper.make_node("Concat", ["a2", "uq"], ["j"], name="Concat_0", axis=-1),
        _quant("Quant_j", "j", "jq", 4, inits, 0.5, QONNX),
        _quant("Quant_w3", "w3", "w3q", 3, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["jq", "w3q", "b3"], ["y"], name="Conv_3", domain=CHANNELS_LAST,
                         kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, [1, size, size, c])], [("y", TensorProto.FLOAT, [1, size, size, 3])],
                  inits, opset=17, ir_version=10, imports=(BREVITAS,))
