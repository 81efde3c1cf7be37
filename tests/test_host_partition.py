"""host_partition: host steps before, one hardware pipeline, host steps after; clear errors
for anything between hardware stages that has no hardware form; host step descriptions."""

import json

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.errors import UnsupportedModelError
from bnncc.executor import Executor
from bnncc.ir.build import add_inferred
from bnncc.ir import ops
from bnncc.passes.host_partition import HostPartition, find_partition
from bnncc.passes.host_steps import describe_host_steps
from bnncc.passes.to_hw import ToHardware

from test_to_hw import RNG, Builder, assert_same_results, random_values


def compile_graph(graph):
    """to_hw then host_partition, checking the executor's results are unchanged."""
    hardware = ToHardware().run(graph).graph
    result = HostPartition().run(hardware)
    assert_same_results(graph, result.graph)
    return result


def partition_error(graph) -> str:
    hardware = ToHardware().run(graph).graph
    with pytest.raises(UnsupportedModelError) as error:
        HostPartition().run(hardware)
    message = str(error.value)
    assert "\n" not in message
    return message


# -- a TFC-like network ------------------------------------------------------------------------------
def tfc_like():
    """x (N, 1, 28, 28) float -> Reshape -> Mul 2 -> Add -1 -> BipolarQuant -> 3 x (XNOR MatMul
    + MultiThreshold) -> XNOR MatMul -> Mul 2, Add -64 (restore 2p - K) -> Mul scale, Add bias."""
    b = Builder("tfc")
    x = b.input("x", (1, 1, 28, 28), FLOAT32)
    flat = b.op(ops.Reshape, [x], name="reshape", shape=(1, 784))
    scaled = b.op(ops.Mul, [flat, b.const("two", 2.0, FLOAT32)], name="mul_in")
    centred = b.op(ops.Add, [scaled, b.const("minus_one", -1.0, FLOAT32)], name="add_in")
    h = b.op(ops.BipolarQuant, [centred], name="quant_in")
    k = 784
    for i, m in enumerate((64, 64, 64)):
        h = b.threshold(b.matmul(h, k, m, BIPOLAR, name=f"fc{i}", xnor=True), BIPOLAR, 0, k, name=f"act{i}")
        k = m
    p = b.matmul(h, 64, 10, BIPOLAR, name="fc3", xnor=True)
    doubled = b.op(ops.Mul, [p, b.const("fc3_two", 2, DataType.uint(2))], name="fc3_times_two")
    logits = b.op(ops.Add, [doubled, b.const("fc3_minus_k", -64, DataType.int(8))], name="fc3_minus_k")
    scale = b.op(ops.Mul, [logits, b.const("out_scale", RNG.uniform(0.1, 1, size=10), FLOAT32)], name="out_scale")
    y = b.op(ops.Add, [scale, b.const("out_bias", RNG.uniform(-1, 1, size=10), FLOAT32)], name="out_bias")
    return b.output(y)


def test_tfc_like_partition():
    result = compile_graph(tfc_like())
    partition = result.graph.metadata["partition"]
    assert partition == {
        "host_pre": ["reshape", "mul_in", "add_in", "quant_in"],
        "hardware": ["fc0", "fc1", "fc2", "fc3"],
        "host_post": ["fc3_times_two", "fc3_minus_k", "out_scale", "out_bias"],
        "hw_inputs": ["quant_in_out"],
        "hw_outputs": ["fc3_out"],
    }
    assert [result.graph.op(n).op_type for n in partition["hardware"]] == ["MVAU"] * 4
    assert result.notes == [
        "partition: 4 host step(s) before, 4 hardware stage(s) from 'fc0' to 'fc3', 4 host step(s) after"
    ]


def test_tfc_like_host_steps_description():
    graph = compile_graph(tfc_like()).graph
    steps = describe_host_steps(graph)
    json.dumps(steps, allow_nan=False)  # plain JSON
    assert steps["summary"]["pre"] == (
        "x -> Reshape(N, 784) -> Mul 2 -> Add -1 -> BipolarQuant(scale=1, zero_point=0) "
        "-> hardware: quant_in_out (BIPOLAR (N, 784), 1 bit/element)"
    )
    assert steps["summary"]["post"].startswith(
        "hardware: fc3_out (UINT7 (N, 10), 7 bit/element) -> Mul 2 -> Add -64 -> Mul array(10,) -> Add array(10,)"
    )
    assert [s["op"] for s in steps["host_pre"]] == ["Reshape", "Mul", "Add", "BipolarQuant"]
    mul = steps["host_pre"][1]
    assert mul["inputs"] == [
        {"name": "reshape_out", "shape": ["N", 784], "dtype": "FLOAT32"},
        {"name": "two", "shape": [], "dtype": "FLOAT32", "value": 2},
    ]
    assert steps["host_pre"][0]["fields"] == {"shape": [1, 784]}
    assert steps["to_hardware"] == [
        {"name": "quant_in_out", "shape": ["N", 784], "dtype": "BIPOLAR", "bits_per_element": 1, "encoding": "bit 1 = +1, bit 0 = -1"}
    ]
    assert steps["from_hardware"][0]["dtype"] == "UINT7"
    scale = steps["host_post"][2]["inputs"][1]
    assert scale["shape"] == [10] and len(scale["value"]) == 10  # small constants in full
    assert steps["graph_outputs"] == [{"name": "out_bias_out", "shape": ["N", 10], "dtype": "FLOAT32"}]


def test_large_constants_are_summarised():
    b = Builder()
    x = b.input("x", (1, 40), FLOAT32)
    offset = b.op(ops.Sub, [x, b.const("mean", np.arange(40.0), FLOAT32)], name="sub_mean")
    q = b.op(ops.Quant, [offset], name="quant", dtype=DataType.int(4), low=-8, high=7)
    y = b.threshold(b.matmul(q, 40, 5, DataType.int(2), name="fc"), DataType.uint(2), -20, 20, name="act")
    steps = describe_host_steps(compile_graph(b.output(y)).graph)
    mean = steps["host_pre"][0]["inputs"][1]["value"]
    assert mean["shape"] == [40] and mean["min"] == 0 and mean["max"] == 39 and len(mean["sha256"]) == 64
    assert steps["host_pre"][1]["fields"]["dtype"] == "INT4"
    assert steps["host_post"] == [] and steps["summary"]["post"].startswith("hardware: act_out (UINT2 (N, 5)")
    json.dumps(steps, allow_nan=False)


# -- a CNV-like network ------------------------------------------------------------------------------
def cnv_like(label_select: bool = False):
    """x (N, 8, 8, 3) float -> Quant INT8 -> conv 3x3 (INT8 x BIPOLAR weights) + thresholds ->
    conv 3x3 pad -1 XNOR + thresholds -> max pool 2x2 -> conv 3x3 XNOR + thresholds -> Reshape ->
    FC XNOR + thresholds -> FC XNOR -> Mul, Add float -> TopK (on floats, or on the integer
    popcounts when ``label_select``)."""
    b = Builder("cnv")
    x = b.input("x", (1, 8, 8, 3), FLOAT32)
    q = b.op(ops.Quant, [x], name="quant_in", scale=np.array(1 / 127), dtype=DataType.int(8), low=-127, high=127)
    p0 = b.op(ops.Im2Col, [q], name="conv0__im2col", kernel_shape=(3, 3))
    h = b.threshold(b.matmul(p0, 27, 16, BIPOLAR, name="conv0"), BIPOLAR, -500, 500, name="act0")
    p1 = b.op(ops.Im2Col, [h], name="conv1__im2col", kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=-1)
    h = b.threshold(b.matmul(p1, 144, 16, BIPOLAR, name="conv1", xnor=True), BIPOLAR, 0, 144, name="act1")
    h = b.op(ops.MaxPoolNHWC, [h], name="pool1", kernel_shape=(2, 2), strides=(2, 2))
    p2 = b.op(ops.Im2Col, [h], name="conv2__im2col", kernel_shape=(3, 3))
    h = b.threshold(b.matmul(p2, 144, 32, BIPOLAR, name="conv2", xnor=True), BIPOLAR, 0, 144, name="act2")
    flat = b.op(ops.Reshape, [h], name="flatten", shape=(1, 32))
    h = b.threshold(b.matmul(flat, 32, 16, BIPOLAR, name="fc0", xnor=True), BIPOLAR, 0, 32, name="act3")
    p = b.matmul(h, 16, 10, BIPOLAR, name="fc1", xnor=True)
    if label_select:
        values, indices = b.op(ops.TopK, [p], name="topk", outputs=2, k=3, axis=-1)
        return b.output(indices)
    logits = b.op(ops.Add, [b.op(ops.Mul, [p, b.const("s", 0.125, FLOAT32)], name="scale"), b.const("c", -1.0, FLOAT32)], name="bias")
    values, indices = b.op(ops.TopK, [logits], name="topk", outputs=2, k=3, axis=-1)
    return b.output(values, indices)


def test_cnv_like_partition():
    result = compile_graph(cnv_like())
    graph = result.graph
    partition = graph.metadata["partition"]
    assert partition["host_pre"] == ["quant_in"]
    assert [graph.op(n).op_type for n in partition["hardware"]] == [
        "SlidingWindow", "MVAU", "SlidingWindow", "MVAU", "StreamingMaxPool", "SlidingWindow", "MVAU",
        "StreamReshape", "MVAU", "MVAU",
    ]
    assert partition["hardware"][:2] == ["conv0__im2col", "conv0"]
    assert partition["host_post"] == ["scale", "bias", "topk"]
    assert partition["hw_inputs"] == ["quant_in_out"] and partition["hw_outputs"] == ["fc1_out"]
    first_mvau = graph.op("conv0")
    assert (first_mvau.binary_xnor, first_mvau.mw, first_mvau.mh) == (False, 27, 16)
    assert first_mvau.acc_dtype == DataType.for_range(*_column_range(graph.constant(first_mvau.inputs[1]), -127, 127))
    steps = describe_host_steps(graph)
    assert steps["summary"]["pre"].startswith("x -> Quant(scale=0.00787402, zero_point=0, dtype=INT8, low=-127, high=127")
    assert steps["host_post"][-1]["op"] == "TopK" and steps["host_post"][-1]["fields"]["k"] == 3
    json.dumps(steps, allow_nan=False)


def _column_range(weights, lo, hi):
    return (int(np.minimum(weights * lo, weights * hi).sum(axis=0).min()), int(np.maximum(weights * lo, weights * hi).sum(axis=0).max()))


def test_cnv_like_with_label_select_in_hardware():
    result = compile_graph(cnv_like(label_select=True))
    partition = result.graph.metadata["partition"]
    assert result.graph.op(partition["hardware"][-1]).op_type == "LabelSelect"
    assert partition["host_post"] == [] and partition["hw_outputs"] == ["topk_out1"]


def test_integer_network_input_thresholded_in_hardware():
    b = Builder()
    x = b.input("pixels", (1, 6, 6, 1), DataType.uint(8))
    h = b.threshold(x, BIPOLAR, 0, 255, name="quant_in", rows=1)
    p = b.op(ops.Im2Col, [h], name="conv0__im2col", kernel_shape=(3, 3))
    y = b.matmul(p, 9, 4, BIPOLAR, name="conv0", xnor=True)
    graph = compile_graph(b.output(y)).graph
    partition = graph.metadata["partition"]
    assert partition["host_pre"] == [] and partition["host_post"] == []
    assert partition["hardware"] == ["quant_in", "conv0__im2col", "conv0"]
    assert partition["hw_inputs"] == ["pixels"]
    steps = describe_host_steps(graph)
    assert steps["summary"]["pre"] == "pixels -> hardware: pixels (UINT8 (N, 6, 6, 1), 8 bit/element)"


# -- errors ------------------------------------------------------------------------------------------
def _two_layer(middle):
    """x UINT4 -> fc0 + act0 -> middle(b, h) -> fc1 + act1."""
    b = Builder()
    x = b.input("x", (1, 12), DataType.uint(4))
    h = b.threshold(b.matmul(x, 12, 8, DataType.int(2), name="fc0"), DataType.uint(2), -30, 30, name="act0")
    h = middle(b, h)
    k = b.graph.tensors[h].shape[-1]
    y = b.threshold(b.matmul(h, k, 4, DataType.int(2), name="fc1"), DataType.uint(2), -20, 20, name="act1")
    return b.output(y)


def test_residual_add_between_stages():
    """An Add of two integer streams between stages is a StreamAdd stage of the pipeline."""
    def residual(b, h):
        h2 = b.threshold(b.matmul(h, 8, 8, DataType.int(2), name="fc_mid"), DataType.uint(2), -10, 10, name="act_mid")
        return b.op(ops.Add, [h, h2], name="Add_7")

    graph = compile_graph(_two_layer(residual)).graph
    assert graph.op("Add_7").op_type == "StreamAdd" and "Add_7" in graph.metadata["partition"]["hardware"]


def test_residual_add_of_real_values_between_stages():
    def residual(b, h):
        h2 = b.op(ops.Mul, [h, b.const("half", 0.5, FLOAT32)], name="Mul_5")
        return b.op(ops.Add, [h, h2], name="Add_7")

    message = partition_error(_two_layer(residual))
    assert message.startswith("node 'Add_7' (Add): combines two activations") and "residual or skip connection" in message


def test_float_step_between_stages():
    def rescale(b, h):
        real = b.op(ops.Mul, [h, b.const("half", 0.5, FLOAT32)], name="Mul_3")
        return b.op(ops.Quant, [real], name="Quant_4", dtype=DataType.int(4), low=-8, high=7)

    message = partition_error(_two_layer(rescale))
    assert message.startswith("node 'Mul_3' (Mul): computes real (FLOAT32) values between hardware stages")


def test_float_layer_after_the_hardware():
    def rescale(b, h):
        return b.op(ops.Mul, [h, b.const("half", 0.5, FLOAT32)], name="Mul_3")

    message = partition_error(_two_layer(rescale))
    assert message == (
        "node 'fc1' (MatMul): layer left on the host after the hardware (its input is FLOAT32, made real by "
        "node 'Mul_3' (Mul)); every layer must become a hardware stage"
    )


def test_float_layer_before_the_hardware():
    b = Builder()
    x = b.input("x", (1, 6), FLOAT32)
    h = b.op(ops.Quant, [b.matmul(x, 6, 5, FLOAT32, name="fc_real")], name="q", dtype=DataType.int(4), low=-8, high=7)
    y = b.matmul(h, 5, 3, DataType.int(2), name="fc1")
    assert partition_error(b.output(y)) == (
        "node 'fc_real' (MatMul): layer left on the host before the hardware (its input is FLOAT32); "
        "every layer must become a hardware stage"
    )


def test_unknown_integer_op_between_stages():
    def clip(b, h):
        return b.op(ops.Clip, [h], name="Clip_2", low=0, high=2)

    assert partition_error(_two_layer(clip)) == "node 'Clip_2' (Clip): Clip between hardware stages has no hardware implementation"


def test_unlowered_conv_between_stages():
    """A Conv that reaches the partition (lower_conv did not run) is named with the reason."""
    b = Builder()
    x = b.input("x", (1, 4, 5, 5), DataType.uint(4))
    h = b.threshold(x, DataType.uint(2), 0, 15, name="quant_in", rows=1)
    w = b.const("w", random_values(DataType.int(2), (8, 1, 3, 3)), DataType.int(2))
    c = b.op(ops.Conv, [h, w], name="Conv_3", kernel_shape=(3, 3), group=4)
    y = b.threshold(c, DataType.uint(2), -10, 10, name="act", rows=1)
    message = partition_error(b.output(y))
    assert message == "node 'Conv_3' (Conv): convolution was not lowered to Im2Col + MatMul (lower_conv did not run)"


def test_bipolar_zero_padding_between_stages():
    b = Builder()
    x = b.input("x", (1, 6, 6, 2), DataType.uint(8))
    h = b.threshold(x, BIPOLAR, 0, 255, name="quant_in")
    p = b.op(ops.Im2Col, [h], name="Conv_3__im2col", kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=0)
    y = b.matmul(p, 18, 4, BIPOLAR, name="Conv_3")  # no thresholds: the border correction has no place
    message = partition_error(b.output(y))
    assert message == (
        "node 'Conv_3__im2col' (Im2Col): zero padding of a bipolar input is corrected in the thresholds after the "
        "convolution, but 'Conv_3' has none (it outputs its accumulator), so the border cannot be represented "
        "in 1 bit; pad with -1 or +1 (an explicit Pad) instead"
    )


def test_bipolar_zero_padding_in_a_sliding_window():
    b = Builder()
    x = b.input("x", (1, 5, 5, 2), BIPOLAR)
    swg = ops.SlidingWindow(
        name="swg", inputs=[x], outputs=["patches"], kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=0,
        ifm_channels=2, ifm_dims=(5, 5), ofm_dims=(5, 5),
    )
    add_inferred(b.graph, swg)
    graph = b.output("patches")
    with pytest.raises(UnsupportedModelError, match=r"^node 'swg' \(SlidingWindow\): zero padding of a bipolar input cannot be represented in 1 bit"):
        find_partition(graph)


def test_no_hardware_stage():
    b = Builder()
    x = b.input("x", (1, 6), FLOAT32)
    y = b.matmul(x, 6, 3, FLOAT32, name="MatMul_0")
    with pytest.raises(UnsupportedModelError, match=r"^no hardware stage in the graph: the first layer, node 'MatMul_0' \(MatMul\), reads a FLOAT32 tensor"):
        HostPartition().run(ToHardware().run(b.output(y)).graph)


def test_two_separate_pipelines():
    b = Builder()
    x = b.input("x", (1, 6), DataType.uint(2))
    y1 = b.matmul(x, 6, 3, DataType.int(2), name="left")
    y2 = b.matmul(x, 6, 3, DataType.int(2), name="right")
    message = partition_error(b.output(y1, y2))
    assert message == "the hardware stages form 2 separate pipelines (starting at 'left', 'right'); bnncc builds one pipeline"


def test_partition_leaves_graph_unchanged():
    graph = ToHardware().run(tfc_like()).graph
    result = HostPartition().run(graph)
    assert [op.name for op in result.graph.ops()] == [op.name for op in graph.ops()]
    assert "partition" not in graph.metadata  # run() works on a copy
    x = {"x": RNG.uniform(0, 1, size=(3, 1, 28, 28))}
    np.testing.assert_array_equal(Executor(graph).run(x)["out_bias_out"], Executor(result.graph).run(x)["out_bias_out"])
