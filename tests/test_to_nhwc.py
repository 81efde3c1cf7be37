"""ToNHWC: NHWC -> NCHW transposes sink through layout-free ops, cancel, and disappear into
the weights of the first fully connected layer; behaviour is unchanged on random inputs."""

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.passes.lower_conv import LowerConv
from bnncc.passes.to_nhwc import ToNHWC, nhwc_constant, nhwc_flatten_order
from test_lower_conv import add_conv, add_op, add_threshold, assert_same_behaviour, ir_graph, random_codes, types

INT4, INT8, UINT2 = DataType.int(4), DataType.int(8), DataType.uint(2)


def lowered(graph):
    """The graph after LowerConv, and the ToNHWC result on it."""
    before = LowerConv().run(graph).graph
    return before, ToNHWC().run(before)


def transposes(graph):
    return [op for op in graph.ops() if isinstance(op, ops.Transpose)]


def add_matmul(graph, name, x, outputs=5, dtype=BIPOLAR):
    features = graph.tensors[x].shape[1]
    weight = new_constant(graph, f"{name}_w", random_codes(dtype, (features, outputs)), dtype)
    return add_op(graph, ops.MatMul, name, [x, weight])


def cnv_graph(last_kernel=(2, 2)):
    """Host quantizer, conv3x3 -> MT -> conv3x3 -> MT -> maxpool 2x2 -> conv -> MT -> flatten
    -> matmul -> MT; 8x8 input, the last conv's output is 2x2 (or 1x1 with a 3x3 kernel)."""
    graph = ir_graph((1, 3, 8, 8), FLOAT32)
    code = add_op(graph, ops.Quant, "quant", ["x"], scale=np.array(1 / 64), dtype=INT8, low=-128, high=127)
    y = add_threshold(graph, "mt1", add_conv(graph, "conv1", code, 8))
    y = add_threshold(graph, "mt2", add_conv(graph, "conv2", y, 8, pads=(1, 1, 1, 1), pad_value=-1))
    y = add_op(graph, ops.MaxPool, "pool", [y])
    y = add_threshold(graph, "mt3", add_conv(graph, "conv3", y, 6, kernel=last_kernel))
    y = add_matmul(graph, "fc", add_op(graph, ops.Flatten, "flatten", [y]))
    graph.outputs.append(add_threshold(graph, "mt4", y, UINT2))
    return graph


def test_cnv_chain_has_no_transpose_between_integer_stages():
    graph = cnv_graph()
    before, result = lowered(graph)
    after = result.graph

    assert types(after) == [
        "Quant", "Transpose",
        "Im2Col", "MatMul", "MultiThreshold",
        "Im2Col", "MatMul", "MultiThreshold", "MaxPoolNHWC",
        "Im2Col", "MatMul", "MultiThreshold",
        "Flatten", "MatMul", "MultiThreshold",
    ]  # fmt: skip
    (transpose,) = transposes(after)
    assert transpose.inputs == ["quant_out"] and transpose.perm == (0, 2, 3, 1)
    assert [op.channel_axis for op in after.ops() if isinstance(op, ops.MultiThreshold)] == [3, 3, 3, 1]
    notes = "\n".join(result.notes)
    for expected in (
        "node 'conv2__to_nhwc': cancelled",
        "node 'conv3__to_nhwc': cancelled",
        "node 'pool': now on NHWC data (MaxPool -> MaxPoolNHWC)",
        "node 'mt3': now on NHWC data (channel_axis 1 -> 3)",
        "node 'flatten': flattens the NHWC tensor directly",
    ):
        assert expected in notes
    fc = next(op for op in after.ops() if op.name == "fc")
    np.testing.assert_array_equal(after.constant(fc.inputs[1]), graph.constant("fc_w")[nhwc_flatten_order(6, 2, 2)])
    shared = assert_same_behaviour(before, after)
    assert {"quant_out", "fc_out", "mt4_out"} <= shared
    assert_same_behaviour(graph, after)


def test_one_by_one_flatten_needs_no_permutation():
    graph = cnv_graph(last_kernel=(3, 3))
    before, result = lowered(graph)
    after = result.graph
    assert len(transposes(after)) == 1
    flatten = next(op for op in after.ops() if isinstance(op, ops.Flatten))
    fc = next(op for op in after.ops() if op.name == "fc")
    assert flatten.outputs == ["flatten_out"] and fc.inputs == ["flatten_out", "fc_w"]
    assert "1x1 spatial, no permutation" in result.notes[-1]
    assert "flatten_out" in assert_same_behaviour(before, after)


def test_flatten_order():
    order = nhwc_flatten_order(3, 2, 4)
    x = np.arange(24).reshape(1, 2, 4, 3)  # NHWC
    np.testing.assert_array_equal(x.transpose(0, 3, 1, 2).reshape(1, -1)[:, order], x.reshape(1, -1))


def test_per_channel_ops_before_reshape_and_per_feature_ops_after():
    graph = ir_graph((1, 2, 5, 5), INT4)
    y = add_conv(graph, "conv", "x", 3, w_dtype=INT4)  # 3x3 spatial
    scale = new_constant(graph, "scale", np.array([2, -1, 3]).reshape(1, 3, 1, 1), INT4)
    shift = new_constant(graph, "shift", np.array([1, 0, -4]).reshape(3, 1, 1), INT4)
    y = add_op(graph, ops.Mul, "scale", [y, scale])
    y = add_op(graph, ops.Sub, "shift", [shift, y])
    y = add_op(graph, ops.Relu, "relu", [y])
    y = add_threshold(graph, "mt", y, UINT2)
    y = add_op(graph, ops.Reshape, "reshape", [y], shape=(1, 27))
    two = new_constant(graph, "two", np.array(2), INT4)
    y = add_op(graph, ops.Mul, "double", [y, two])
    bias = new_constant(graph, "bias", random_codes(INT4, (1, 27)), INT4)
    y = add_op(graph, ops.Add, "bias", [y, bias])
    y = add_threshold(graph, "features", y, UINT2)  # 27 rows of thresholds
    graph.outputs.append(add_matmul(graph, "fc", y, dtype=INT4))

    before, result = lowered(graph)
    after = result.graph
    assert types(after) == [
        "Transpose", "Im2Col", "MatMul", "Mul", "Sub", "Relu", "MultiThreshold",
        "Reshape", "Mul", "Add", "MultiThreshold", "MatMul",
    ]  # fmt: skip
    assert transposes(after)[0].inputs == ["x"]
    by_name = {op.name: op for op in after.ops()}
    assert after.tensors[by_name["scale"].inputs[1]].shape == (1, 1, 1, 3)
    assert after.tensors[by_name["shift"].inputs[0]].shape == (1, 1, 1, 3)
    assert by_name["double"].inputs[1] == "two"
    order = nhwc_flatten_order(3, 3, 3)
    np.testing.assert_array_equal(after.constant(by_name["bias"].inputs[1]), graph.constant("bias")[:, order])
    np.testing.assert_array_equal(after.constant(by_name["features"].inputs[1]), graph.constant("features_t")[order])
    np.testing.assert_array_equal(after.constant(by_name["fc"].inputs[1]), graph.constant("fc_w")[order])
    shared = assert_same_behaviour(before, after)
    assert {"x", "fc_out"} <= shared and not {"mt_out", "reshape_out", "bias_out"} & shared


def test_last_layer_affine_keeps_transpose_at_output():
    graph = ir_graph((1, 3, 6, 6), BIPOLAR)
    y = add_conv(graph, "conv", "x", 4, pads=(1, 1, 1, 1), pad_value=-1)
    y = add_op(graph, ops.Mul, "mul", [y, new_constant(graph, "s", np.array([0.5, 1.5, -2.0, 1.0]).reshape(1, 4, 1, 1), FLOAT32)])
    y = add_op(graph, ops.Add, "add", [y, new_constant(graph, "b", np.array(0.25), FLOAT32)])
    graph.outputs.append(y)
    before, result = lowered(graph)
    after = result.graph
    assert types(after) == ["Transpose", "Im2Col", "MatMul", "Mul", "Add", "Transpose"]
    last = after.ops()[-1]
    assert last.perm == (0, 3, 1, 2) and last.outputs == ["add_out"]
    assert after.tensors[after.ops()[3].inputs[1]].shape == (1, 1, 1, 4)
    assert after.ops()[4].inputs[1] == "b"
    assert_same_behaviour(before, after)


def test_relu_identity_and_two_readers():
    graph = ir_graph((1, 2, 6, 6), INT4)
    y = add_conv(graph, "conv", "x", 3, w_dtype=INT4)
    left = add_threshold(graph, "left", add_op(graph, ops.Identity, "ident", [add_op(graph, ops.Relu, "relu", [y])]))
    right = add_threshold(graph, "right", y, UINT2)
    out = add_conv(graph, "conv2", left, 2, kernel=(1, 3))
    graph.outputs += [out, right]
    before, result = lowered(graph)
    after = result.graph
    nchw = [op for op in transposes(after) if op.perm == (0, 3, 1, 2)]
    assert sorted(t.outputs[0] for t in nchw) == ["conv2_out", "right_out"]
    assert "Identity" in types(after) and "Relu" in types(after)
    assert_same_behaviour(before, after)


def nhwc_input_graph():
    """NHWC input -> Transpose(0,3,1,2) -> MT -> Transpose(0,2,3,1) -> output."""
    graph = ir_graph((1, 4, 5, 3), INT4)
    y = add_op(graph, ops.Transpose, "to_nchw", ["x"], perm=(0, 3, 1, 2))
    y = add_threshold(graph, "mt", y, UINT2)
    graph.outputs.append(add_op(graph, ops.Transpose, "to_nhwc", [y], perm=(0, 2, 3, 1)))
    return graph


def test_cancelled_pair_at_graph_output_keeps_the_output_name():
    graph = nhwc_input_graph()
    result = ToNHWC().run(graph)
    assert types(result.graph) == ["MultiThreshold", "Identity"]
    assert result.graph.outputs == ["to_nhwc_out"]
    assert_same_behaviour(graph, result.graph)


def test_input_transpose_and_unmovable_flatten_stay():
    graph = ir_graph((1, 3, 5, 5), BIPOLAR)
    y = add_threshold(graph, "mt", add_conv(graph, "conv", "x", 4))
    flat = add_op(graph, ops.Flatten, "flatten", [y])
    graph.outputs += [flat, add_matmul(graph, "fc", flat)]  # flattened tensor read twice
    before, result = lowered(graph)
    after = result.graph
    assert result.notes == ["node 'mt': now on NHWC data (channel_axis 1 -> 3); transpose 'conv__to_nchw' moved below it as 'mt__to_nchw'"]
    assert [(t.perm, t.inputs) for t in transposes(after)] == [((0, 2, 3, 1), ["x"]), ((0, 3, 1, 2), ["mt_out__nhwc"])]
    assert_same_behaviour(before, after)
    assert not ToNHWC().run(after).changed


def test_flatten_without_matmul_stays():
    graph = ir_graph((1, 3, 5, 5), BIPOLAR)
    flat = add_op(graph, ops.Flatten, "flatten", [add_conv(graph, "conv", "x", 4)])
    runtime_weight = add_op(graph, ops.Transpose, "wt", [flat], perm=(0, 1))
    graph.outputs.append(add_op(graph, ops.Mul, "sq", [flat, runtime_weight]))
    before, result = lowered(graph)
    assert not result.changed
    assert_same_behaviour(before, result.graph)


def test_binary_of_two_activations():
    graph = ir_graph((1, 3, 5, 5), BIPOLAR)
    graph.inputs.append("z")
    graph.set_tensor("z", (1, 4, 3, 3), INT4)
    y = add_conv(graph, "conv", "x", 4)
    graph.outputs.append(add_op(graph, ops.Add, "twice", [y, y]))
    graph.outputs.append(add_op(graph, ops.Add, "other", [y, "z"]))
    before, result = lowered(graph)
    by_name = {op.name: op for op in result.graph.ops()}
    assert by_name["twice"].inputs == by_name["conv"].outputs * 2  # reads only the NHWC tensor: moves
    # another activation in NCHW: laid out NHWC (its own transpose) so that the join moves too
    assert by_name["other"].inputs == ["conv__nhwc_out", "z__nhwc"]
    assert by_name["other__z_to_nhwc"].inputs == ["z"] and tuple(by_name["other__z_to_nhwc"].perm) == (0, 2, 3, 1)
    assert_same_behaviour(before, result.graph)


@pytest.mark.parametrize(
    "shape,expected",
    [((), ()), ((1, 4, 1, 1), (1, 1, 1, 4)), ((4, 1, 1), (1, 1, 1, 4)), ((5,), (1, 1, 5, 1)), ((1, 1, 1, 1), (1, 1, 1, 1))],
)
def test_nhwc_constant_shapes(shape, expected):
    value = np.arange(int(np.prod(shape))).reshape(shape)
    relaid = nhwc_constant(value)
    assert relaid.shape == expected
    x = np.arange(2 * 3 * 5 * 4).reshape(2, 3, 5, 4)  # NHWC, so NCHW (2, 4, 3, 5)
    np.testing.assert_array_equal((x.transpose(0, 3, 1, 2) + value).transpose(0, 2, 3, 1), x + relaid)
