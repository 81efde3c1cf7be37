"""Refusals: the error names the node where the cause is and says what it is, not the
consequence further down ("real values between hardware stages")."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.datatype import DataType, FLOAT32
from bnncc.errors import UnsupportedModelError
from bnncc.frontend import load_graph
from bnncc.ir import ops
from bnncc.passes import refusals
from bnncc.passes.pipeline import default_passes, run_pipeline
from helpers import make_model
from tiny_models import quant_node, quant_params
from test_to_hw import Builder


def _conv_chain(layers, channels=8, size=6, seed=0):
    """x -> Quant(4b) -> conv1 (3x3, 3 -> C) -> Quant -> one Conv per entry of ``layers``
    ((name, group, kernel, out channels)) each followed by a 2-bit Quant; last code is y."""
    rng = np.random.default_rng(seed)
    inits = {"w1": rng.normal(size=(channels, 3, 3, 3)).astype(np.float32)}
    inits.update(quant_params("qin", 0.25, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qa1", 0.5, 2))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        quant_node("qa1", "c1", "a1", 2),
    ]
    current, width = "a1", channels
    for index, (name, group, kernel, out) in enumerate(layers):
        w = f"w_{name}"
        inits[w] = rng.normal(size=(out, width // group, kernel, kernel)).astype(np.float32)
        inits.update(quant_params(f"qw_{name}", 0.5, 2))
        inits.update(quant_params(f"qa_{name}", 0.5, 2))
        pad = kernel // 2
        out_tensor = "y" if index == len(layers) - 1 else f"a_{name}"
        nodes += [
            quant_node(f"qw_{name}", w, f"{w}q", 2, narrow=1),
            helper.make_node("Conv", [current, f"{w}q"], [f"c_{name}"], name=name, kernel_shape=[kernel, kernel],
                             pads=[pad] * 4, group=group),
            quant_node(f"qa_{name}", f"c_{name}", out_tensor, 2),
        ]
        current, width = out_tensor, out
    return make_model(nodes, [("x", ["N", 3, size, size])], [("y", ["N", width, size, size])], inits)


def _error(model, tmp_path) -> str:
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    with pytest.raises(UnsupportedModelError) as caught:
        run_pipeline(load_graph(path))
    return str(caught.value)


@pytest.mark.parametrize("layers", [[("dw", 8, 3, 8), ("pw", 1, 1, 4)], [("grouped", 2, 3, 8), ("pw", 1, 1, 4)],
                                    [("dw", 8, 3, 16), ("pw", 1, 1, 4)], [("dw", 8, 3, 16)]],
                         ids=["depthwise", "group2", "multiplier_between_stages", "multiplier_last_layer"])
def test_depthwise_and_grouped_convolutions_are_no_longer_refused(layers, tmp_path):
    """Depthwise (with or without a channel multiplier) and 1 < group < C become hardware
    stages: no refusal."""
    path = tmp_path / "model.onnx"
    onnx.save(_conv_chain(layers), path)
    final = run_pipeline(load_graph(path))[-1].graph
    assert not [op for op in final.ops() if isinstance(op, ops.Conv)]
    assert not [r for r in refusals.reasons(final) if "group" in r["message"] or "depthwise" in r["message"]]
    assert any(type(op).__name__ in ("VVAU", "MVAU") and op.name == layers[0][0] for op in final.ops())


def test_depthwise_multiplier_compiles_on_the_command_line(tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(_conv_chain([("dw", 8, 3, 16), ("pw", 1, 1, 4)]), path)
    run = subprocess.run([sys.executable, "-m", "bnncc", "compile", str(path), "-o", str(tmp_path / "build")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "build" / "rtl").is_dir()


def test_per_feature_scale_before_a_layer(tmp_path):
    """A per-feature activation scale in front of a MatMul cannot become integer weights:
    the error says so at the scale."""
    rng = np.random.default_rng(1)
    inits = {"w1": rng.normal(size=(10, 12)).astype(np.float32), "w2": rng.normal(size=(12, 4)).astype(np.float32)}
    inits.update(quant_params("qin", 0.125, 4))
    inits.update(quant_params("qw1", 0.5, 2))
    inits.update(quant_params("qw2", 0.5, 2))
    inits.update(quant_params("qa1", rng.uniform(0.2, 1.0, 12), 2))
    inits.update(quant_params("qa2", 0.5, 2))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("MatMul", ["xq", "w1q"], ["h1"], name="fc1"),
        quant_node("qa1", "h1", "a1", 2),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("MatMul", ["a1", "w2q"], ["h2"], name="fc2"),
        quant_node("qa2", "h2", "y", 2),
    ]
    message = _error(make_model(nodes, [("x", ["N", 10])], [("y", ["N", 4])], inits), tmp_path)
    assert "(Mul): a scale that differs per input feature (12 values) cannot move past 'fc2' (MatMul)" in message, message
    assert "between hardware stages" not in message


def test_negative_scale_after_a_max_pool(tmp_path):
    """Conv -> Relu -> MaxPool -> Mul(negative) -> Quant: the max of codes would have to be
    a min; the error names the quantizer and the pool instead of the Relu left behind."""
    rng = np.random.default_rng(2)
    inits = {"w1": rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w2": rng.normal(size=(4, 4, 1, 1)).astype(np.float32),
             "neg": np.full((1, 4, 1, 1), -0.5, np.float32)}
    for name, bits in (("qin", 4), ("qw1", 2), ("qa1", 2), ("qw2", 2), ("qa2", 2)):
        inits.update(quant_params(name, 0.5, bits))
    nodes = [
        quant_node("qin", "x", "xq", 4),
        quant_node("qw1", "w1", "w1q", 2, narrow=1),
        helper.make_node("Conv", ["xq", "w1q"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Mul", ["p1", "neg"], ["n1"], name="negate"),
        quant_node("qa1", "n1", "a1", 2),
        quant_node("qw2", "w2", "w2q", 2, narrow=1),
        helper.make_node("Conv", ["a1", "w2q"], ["c2"], name="conv2", kernel_shape=[1, 1]),
        quant_node("qa2", "c2", "y", 2),
    ]
    model = make_model(nodes, [("x", ["N", 3, 6, 6])], [("y", ["N", 4, 3, 3])], inits)
    message = _error(model, tmp_path)
    assert message.startswith("node 'qa1' (Quant): the steps after max-pool 'pool1' decrease in 4 channel(s)"), message


def test_reasons_recorded_per_node_by_each_pass(tmp_path):
    """lower_conv records a convolution with unquantized weights by name, with the reason."""
    model = _conv_chain([("fw", 1, 3, 8), ("pw", 1, 1, 4)])
    quantizer = next(n for n in model.graph.node if n.name == "qw_fw")
    model.graph.node.remove(quantizer)
    next(n for n in model.graph.node if n.name == "fw").input[1] = "w_fw"
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    stages = run_pipeline(load_graph(path), default_passes()[:-1])
    entries = refusals.reasons(stages[-1].graph)
    assert [(e["node"], e["rule"]) for e in entries] == [("fw", "lower_conv")]
    assert entries[0]["message"] == "node 'fw' (Conv): its weights are real (FLOAT32), not quantized to integers"


def test_cause_after_a_stranded_step_is_reported(tmp_path):
    """A layout step stranded between stages because the convolution after it kept real
    weights: the error names that convolution, not the step."""
    model = _conv_chain([("fw", 1, 3, 8), ("pw", 1, 1, 4)])
    quantizer = next(n for n in model.graph.node if n.name == "qw_fw")
    model.graph.node.remove(quantizer)
    next(n for n in model.graph.node if n.name == "fw").input[1] = "w_fw"
    assert _error(model, tmp_path) == "node 'fw' (Conv): its weights are real (FLOAT32), not quantized to integers"


def test_recorded_cause_walks_up_to_hardware_stages():
    """The earliest reason of a node or its producers, stopping at hardware stages; a
    withdrawn reason is gone."""
    b = Builder()
    x = b.input("x", (1, 6), DataType.uint(2))
    first = b.op(ops.Relu, [x], name="first")
    second = b.op(ops.Mul, [first, b.const("half", 0.5, FLOAT32)], name="second")
    third = b.op(ops.Relu, [second], name="third")
    graph = b.output(third)
    assert refusals.recorded_cause(graph, graph.op("third")) is None
    refusals.record(graph, graph.op("second"), "later reason", "rule_b")
    refusals.record(graph, graph.op("first"), "early reason", "rule_a")
    refusals.record(graph, graph.op("first"), "early reason", "rule_a")  # kept once
    assert len(refusals.reasons(graph)) == 2
    assert refusals.recorded_cause(graph, graph.op("third")) == "node 'second' (Mul): later reason"
    assert refusals.recorded_cause(graph, graph.op("third"), stop=lambda op: op.name == "second") is None
    refusals.withdraw(graph, "second")
    assert refusals.recorded_cause(graph, graph.op("third")) == "node 'first' (Relu): early reason"
    copy = graph.copy()
    assert refusals.reasons(copy) == refusals.reasons(graph)
