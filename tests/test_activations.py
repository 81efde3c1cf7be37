"""Any monotone activation between a product and the next quantizer becomes integer
thresholds (found by binary search on the quantizer's decision boundaries, evaluating the
activation as onnxruntime does): LeakyRelu, PRelu with constant slopes (per tensor and per
channel), HardTanh and Relu6 (Clip), HardSigmoid (either sign of alpha), Sigmoid, Tanh, Elu,
Selu, Softplus, after a MatMul or a Conv, before signed and unsigned quantizers.

Every model is checked against onnxruntime (graph optimizations disabled) after import and
after every pass (``verify_model``); the final graph holds one MVAU per layer and only
hardware stages between them. A non-monotone activation is refused naming the node."""

import zlib

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.errors import BnnccError
from bnncc.frontend import load_graph
from bnncc.ir.ops.hw import HWOp
from bnncc.verify.run import model_stages, verify_model
from helpers import assert_exact_in_rtl, make_model
from tiny_models import quant_node, quant_params

#: activation -> (ONNX op type, attributes, quantizer scale) for the activation's range.
ACTIVATIONS = {
    "leakyrelu": ("LeakyRelu", {"alpha": 0.1}, 0.25),
    "leakyrelu-0": ("LeakyRelu", {"alpha": 0.0}, 0.25),
    "prelu": ("PRelu", {}, 0.25),
    "prelu-channel": ("PRelu", {}, 0.25),
    "hardtanh": ("Clip", {"min": -1.0, "max": 1.0}, 0.25),
    "relu6": ("Clip", {"min": 0.0, "max": 6.0}, 0.25),
    "hardsigmoid": ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}, 0.125),
    "hardsigmoid-negative": ("HardSigmoid", {"alpha": -0.3, "beta": 0.4}, 0.125),
    "sigmoid": ("Sigmoid", {}, 0.0625),
    "tanh": ("Tanh", {}, 0.125),
    "elu": ("Elu", {"alpha": 1.0}, 0.25),
    "selu": ("Selu", {}, 0.25),
    "softplus": ("Softplus", {}, 0.25),
}


def _activation(nodes, inits, source, case, channels, rank, name="act"):
    """Append ``scale -> bias -> activation`` after ``source``; return the output tensor."""
    rng = np.random.default_rng(zlib.crc32(f"{case}:{rank}".encode()))
    shape = [channels] + [1] * (rank - 2)
    op_type, attributes, _ = ACTIVATIONS[case]
    inits[f"{name}_scale"] = rng.uniform(0.1, 0.4, shape).astype(np.float32)
    inits[f"{name}_bias"] = rng.normal(scale=1.0, size=shape).astype(np.float32)
    nodes.append(helper.make_node("Mul", [source, f"{name}_scale"], [f"{name}_m"], name=f"{name}_mul"))
    nodes.append(helper.make_node("Add", [f"{name}_m", f"{name}_bias"], [f"{name}_a"], name=f"{name}_add"))
    inputs = [f"{name}_a"]
    if op_type == "PRelu":
        slope = rng.uniform(0.05, 0.5, shape if case == "prelu-channel" else [1]).astype(np.float32)
        inits[f"{name}_slope"] = slope
        inputs.append(f"{name}_slope")
    if op_type == "Clip":
        inits[f"{name}_lo"] = np.float32(attributes["min"])
        inits[f"{name}_hi"] = np.float32(attributes["max"])
        inputs += [f"{name}_lo", f"{name}_hi"]
        attributes = {}
    nodes.append(helper.make_node(op_type, inputs, [f"{name}_y"], name=name, **attributes))
    return f"{name}_y"


def fc_model(case, bits=4, signed=0, hidden=12, classes=5, features=16, seed=0):
    """x -> Quant(4b) -> MatMul(Quant(w1)) -> scale -> bias -> activation -> Quant(bits) ->
    MatMul(Quant(w2)) -> y."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(features, hidden)).astype(np.float32),
             "w2": rng.normal(size=(hidden, classes)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qact", ACTIVATIONS[case][2], bits))
    inits.update(quant_params("qw2", 0.25, 3))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
    ]
    last = _activation(nodes, inits, "h", case, hidden, 2)
    nodes += [
        quant_node("qact", last, "a", bits, signed=signed),
        quant_node("qw2", "w2", "w2q", 3),
        helper.make_node("MatMul", ["a", "w2q"], ["y"], name="fc2"),
    ]
    return make_model(nodes, [("x", ["N", features])], [("y", ["N", classes])], inits)


def conv_model(case, bits=4, signed=0, channels=5, size=6, classes=4, seed=1, pool=False):
    """x -> Quant(4b) -> Conv 3x3 (pad 1) -> scale -> bias -> activation [-> MaxPool 2x2] ->
    Quant(bits) -> Flatten -> MatMul -> y."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(channels, 2, 3, 3)).astype(np.float32),
             "w2": rng.normal(size=(channels * (size // (2 if pool else 1)) ** 2, classes)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qact", ACTIVATIONS[case][2], bits))
    inits.update(quant_params("qw2", 0.25, 2))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    last = _activation(nodes, inits, "c", case, channels, 4)
    if pool:
        nodes.append(helper.make_node("MaxPool", [last], ["pooled"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
        last = "pooled"
    nodes += [
        quant_node("qact", last, "a", bits, signed=signed),
        helper.make_node("Flatten", ["a"], ["f"], name="flatten"),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("MatMul", ["f", "w2q"], ["y"], name="fc"),
    ]
    return make_model(nodes, [("x", ["N", 2, size, size])], [("y", ["N", classes])], inits)


def check(model, tmp_path, samples=200):
    """Exact at every pass against onnxruntime; one MVAU per layer, only hardware stages
    between the first and the last, and no activation left."""
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    result = verify_model(path, samples=samples, seed=3, value_range=(-1.0, 1.0))
    assert result.ok, result.table()
    assert all(stage.exact == samples for stage in result.stages), result.table()
    final = model_stages(load_graph(path))[-1][1]
    counts = final.op_count()
    layers = sum(node.op_type in ("MatMul", "Conv") for node in model.graph.node)
    assert counts.get("MVAU") == layers, counts
    assert all(isinstance(final.op(name), HWOp) for name in final.metadata["partition"]["hardware"]), counts
    activation = next(n.op_type for n in model.graph.node if n.name == "act")
    assert activation not in counts, counts
    return final, result


@pytest.mark.parametrize("bits,signed", [(4, 0), (4, 1), (2, 1)], ids=["u4", "s4", "s2"])
@pytest.mark.parametrize("case", list(ACTIVATIONS), ids=list(ACTIVATIONS))
def test_fc_activation_before_quantizer(tmp_path, case, bits, signed):
    check(fc_model(case, bits=bits, signed=signed), tmp_path)


@pytest.mark.parametrize("case", list(ACTIVATIONS), ids=list(ACTIVATIONS))
def test_conv_activation_before_quantizer(tmp_path, case):
    check(conv_model(case, bits=4, signed=case in ("tanh", "hardtanh", "selu", "elu", "leakyrelu")), tmp_path, samples=60)


@pytest.mark.parametrize("case", ["sigmoid", "hardsigmoid-negative", "prelu-channel"])
def test_activation_then_max_pool(tmp_path, case):
    """activation -> MaxPool -> Quant: the pool moves behind the thresholds (it takes the
    maximum of the codes), also after a decreasing activation."""
    final, _ = check(conv_model(case, pool=True), tmp_path, samples=60)
    counts = final.op_count()
    assert counts.get("StreamingMaxPool") == 1 and "Thresholding" not in counts, counts


def test_decreasing_activation_negates_channels(tmp_path):
    """HardSigmoid with alpha < 0 decreases: the product's channels are negated and the
    thresholds are found on -t, as for a negative scale."""
    check(fc_model("hardsigmoid-negative"), tmp_path)
    from bnncc.passes.pipeline import run_pipeline

    stages = run_pipeline(load_graph(tmp_path / "model.onnx"))
    notes = next(stage.result.notes for stage in stages if stage.name == "absorb_thresholds")
    assert any("node 'qact'" in note and "12 channel(s) with negative scale negated" in note for note in notes), notes


NON_MONOTONE = {
    "leakyrelu-negative": ("LeakyRelu", {"alpha": -0.5}, None),
    "prelu-negative": ("PRelu", {}, np.array([0.2, -0.3, 0.1, 0.4], np.float32)),
    "elu-negative": ("Elu", {"alpha": -1.0}, None),
    "sin": ("Sin", {}, None),
    "hardswish": ("HardSwish", {}, None),
}


@pytest.mark.parametrize("case", list(NON_MONOTONE), ids=list(NON_MONOTONE))
def test_non_monotone_activation_refused_by_name(tmp_path, case):
    """A non-monotone activation before a quantizer cannot become thresholds: compile stops
    with the activation's name and why."""
    from bnncc.compile import compile_model

    op_type, attributes, slope = NON_MONOTONE[case]
    rng = np.random.default_rng(0)
    inits = {"w1": rng.normal(size=(6, 4)).astype(np.float32), "w2": rng.normal(size=(4, 3)).astype(np.float32)}
    for name, bits in (("qin", 4), ("qw1", 2), ("qact", 4), ("qw2", 2)):
        inits.update(quant_params(name, 0.25, bits))
    inputs = ["h"]
    if slope is not None:
        inits["slope"] = slope
        inputs.append("slope")
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
        helper.make_node(op_type, inputs, ["g"], name="odd_act", **attributes),
        quant_node("qact", "g", "a", 4),
        quant_node("qw2", "w2", "w2q", 2),
        helper.make_node("MatMul", ["a", "w2q"], ["y"], name="fc2"),
    ]
    path = tmp_path / "model.onnx"
    onnx.save(make_model(nodes, [("x", ["N", 6])], [("y", ["N", 3])], inits, opset=14), path)
    with pytest.raises(BnnccError, match=rf"node 'odd_act' \({op_type}\): .*not monotone"):
        compile_model(path, output=tmp_path / "build")


@pytest.mark.parametrize("case", ["sigmoid-fc", "prelu-channel-conv"])
def test_activation_in_rtl(tmp_path, case):
    """Compiled and co-simulated under 30 % random stalls on both sides: exact, at the
    analytic initiation interval (within 2 %)."""
    model = fc_model("sigmoid") if case == "sigmoid-fc" else conv_model("prelu-channel", size=5)
    assert_exact_in_rtl(model, tmp_path)


def test_thresholds_checked_on_every_integer_input():
    """The search's result is checked on every integer input of a small range: thresholds
    that miss one input (as a map that is not monotone in its last float32 bit would force)
    are reported."""
    from bnncc.datatype import DataType
    from bnncc.ir.ops.activation import Sigmoid
    from bnncc.passes.absorb_thresholds import _check_every_input

    sigmoid = Sigmoid(name="s")
    codes = lambda t: np.floor(sigmoid.execute(t * 0.25)[0] * 8).astype(np.int64)  # 3-bit code of sigmoid(t / 4)
    evaluate = lambda t: codes(t)
    thresholds = np.array([[int(np.argmax(codes(np.arange(-40, 41).reshape(-1, 1)) >= level)) - 40 for level in range(1, 8)]] * 2)
    ok = _check_every_input(evaluate, -40, 40, 2, thresholds, np.zeros(2, bool), 0, DataType.uint(3))
    assert ok is None
    thresholds[1, 3] += 1
    problem = _check_every_input(evaluate, -40, 40, 2, thresholds, np.zeros(2, bool), 0, DataType.uint(3))
    assert problem is not None and "channel 1" in problem


BETWEEN = {
    "hardtanh": ("Clip", {}, 0.25),
    "relu6": ("Clip", {}, 0.5),
    "sigmoid": ("Sigmoid", {}, 0.125),
    "leakyrelu": ("LeakyRelu", {"alpha": 0.2}, 0.25),
}


def between_model(case, signed):
    """x -> Quant(4b) -> MatMul -> Quant(5b) -> activation -> Quant(3b) -> MatMul -> y."""
    op_type, attributes, scale = BETWEEN[case]
    rng = np.random.default_rng(7)
    inits = {"w1": rng.normal(size=(10, 8)).astype(np.float32), "w2": rng.normal(size=(8, 4)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qmid", 0.125, 5))
    inits.update(quant_params("qact", scale, 3))
    inits.update(quant_params("qw2", 0.5, 2))
    inputs = ["m"]
    if op_type == "Clip":
        low, high = (-1.0, 1.0) if case == "hardtanh" else (0.0, 6.0)
        inits.update({"lo": np.float32(low), "hi": np.float32(high)})
        inputs += ["lo", "hi"]
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
        quant_node("qmid", "h", "m", 5),
        helper.make_node(op_type, inputs, ["g"], name="act", **attributes),
        quant_node("qact", "g", "a", 3, signed=signed),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("MatMul", ["a", "w2q"], ["y"], name="fc2"),
    ]
    return make_model(nodes, [("x", ["N", 10])], [("y", ["N", 4])], inits)


@pytest.mark.parametrize("signed", [0, 1], ids=["unsigned", "signed"])
@pytest.mark.parametrize("case", list(BETWEEN), ids=list(BETWEEN))
def test_activation_between_quantizers(tmp_path, case, signed):
    """Quant(5b) -> activation -> Quant(3b) (Brevitas' QuantHardTanh after a quantized
    layer output): the second quantizer reads the first one's integer code through the
    activation and becomes thresholds on that code (one Thresholding stage)."""
    final, _ = check(between_model(case, signed), tmp_path)
    assert final.op_count().get("Thresholding") == 1, final.op_count()
