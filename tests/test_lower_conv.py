"""LowerConv: Pad merging and Conv -> Transpose, Im2Col, MatMul, Transpose; the Im2Col and
MaxPoolNHWC ops against the NCHW Conv and MaxPool executors."""

import itertools

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, FLOAT32, DataType
from bnncc.errors import BnnccError
from bnncc.executor import Executor
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph, TensorInfo
from bnncc.passes.lower_conv import LowerConv, conv_weight_matrix

RNG = np.random.default_rng(2024)
INT4, UINT4, INT2, INT8 = DataType.int(4), DataType.uint(4), DataType.int(2), DataType.int(8)


# -- building small IR graphs (also used by test_to_nhwc.py) ---------------------------------
def random_codes(dtype: DataType, shape) -> np.ndarray:
    """Uniformly random values of ``dtype`` (reals in [-2, 2) for FLOAT32)."""
    if not dtype.is_integer:
        return RNG.uniform(-2.0, 2.0, size=shape)
    if dtype == BIPOLAR:
        return RNG.choice([-1, 1], size=shape).astype(np.int64)
    return RNG.integers(int(dtype.min), int(dtype.max) + 1, size=shape).astype(np.int64)


def ir_graph(shape, dtype: DataType, name: str = "x") -> Graph:
    """A graph whose only input ``name`` has ``shape`` (batch dimension 1) and ``dtype``."""
    graph = Graph()
    graph.inputs.append(name)
    graph.set_tensor(name, shape, dtype)
    return graph


def add_conv(graph: Graph, name: str, x: str, out_channels: int, kernel=(3, 3), w_dtype=BIPOLAR, **fields) -> str:
    """Conv ``name`` with a random integer weight; returns its output tensor."""
    channels = graph.tensors[x].shape[1] // fields.get("group", 1)
    weight = new_constant(graph, f"{name}_w", random_codes(w_dtype, (out_channels, channels, *kernel)), w_dtype)
    add_inferred(graph, ops.Conv(name=name, inputs=[x, weight], outputs=[f"{name}_out"], kernel_shape=kernel, **fields))
    return f"{name}_out"


def add_threshold(graph: Graph, name: str, x: str, out_dtype=BIPOLAR, per_channel=True, axis=1) -> str:
    """MultiThreshold ``name`` with random sorted integer thresholds; returns its output."""
    channels = graph.tensors[x].shape[axis] if per_channel else 1
    steps = 1 if out_dtype == BIPOLAR else int(out_dtype.max) - int(out_dtype.min)
    thresholds = np.sort(RNG.integers(-6, 7, size=(channels, steps)), axis=1)
    t = new_constant(graph, f"{name}_t", thresholds, INT8)
    add_inferred(graph, ops.MultiThreshold(name=name, inputs=[x, t], outputs=[f"{name}_out"], out_dtype=out_dtype, channel_axis=axis))
    return f"{name}_out"


def add_op(graph: Graph, op_class, name: str, inputs, **fields) -> str:
    """Any op with one output ``{name}_out``; returns that name."""
    add_inferred(graph, op_class(name=name, inputs=list(inputs), outputs=[f"{name}_out"], **fields))
    return f"{name}_out"


def assert_same_behaviour(before: Graph, after: Graph, batch: int = 3, trials: int = 2) -> set[str]:
    """Both graphs compute the same outputs and the same values for every activation tensor
    name they share, on random inputs; returns the shared names."""
    assert after.outputs == before.outputs
    shared = set()
    for _ in range(trials):
        inputs = {
            name: random_codes(before.tensors[name].dtype, (batch,) + before.tensors[name].shape[1:])
            for name in before.inputs
        }
        expected = Executor(before).run(inputs, keep="all")
        actual = Executor(after).run(inputs, keep="all")
        shared = {name for name in expected if name in actual and not before.tensors[name].is_constant}
        for name in set(before.outputs) | shared:
            np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
        for name in actual:
            info = after.tensors[name]
            assert actual[name].shape[1:] == tuple(info.shape[1:]), name
            if info.dtype.is_integer:
                assert info.dtype.allows(actual[name]), f"{name} holds values outside {info.dtype}"
    return shared


def types(graph: Graph) -> list[str]:
    return [op.op_type for op in graph.ops()]


# -- LowerConv --------------------------------------------------------------------------------
CASES = {
    "1x3 bipolar": dict(shape=(1, 3, 6, 7), dtype=BIPOLAR, kernel=(1, 3)),
    "3x2 stride 2x1, pad 0": dict(shape=(1, 4, 7, 6), dtype=BIPOLAR, kernel=(3, 2), strides=(2, 1), pads=(1, 0, 0, 1)),
    "3x3 stride 2, pad -1": dict(shape=(1, 3, 8, 8), dtype=BIPOLAR, kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), pad_value=-1),
    "3x3 per-channel pad, INT4": dict(
        shape=(1, 3, 5, 6), dtype=INT4, w_dtype=INT2, kernel=(3, 3), pads=(1, 2, 1, 0), pad_value=np.array([-3, 0, 5])
    ),
    "dilation 2, UINT4": dict(shape=(1, 2, 9, 9), dtype=UINT4, w_dtype=INT4, kernel=(3, 3), pads=(2, 2, 2, 2), dilations=(2, 2)),
    "5x3 dilation 1x2 stride 1x2": dict(
        shape=(1, 2, 8, 11), dtype=INT4, kernel=(5, 3), strides=(1, 2), pads=(0, 1, 2, 0), dilations=(1, 2)
    ),
    "1x1 stride 2": dict(shape=(1, 5, 6, 6), dtype=UINT4, w_dtype=INT4, kernel=(1, 1), strides=(2, 2)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_conv_lowered_to_im2col_matmul(case):
    case = dict(case)
    graph = ir_graph(case.pop("shape"), case.pop("dtype"))
    out = add_conv(graph, "conv", "x", 6, **case)
    graph.outputs.append(add_threshold(graph, "mt", out, DataType.uint(2)))

    result = LowerConv().run(graph)

    assert result.changed and len(result.notes) == 1 and result.notes[0].startswith("node 'conv': Conv lowered")
    assert types(result.graph) == ["Transpose", "Im2Col", "MatMul", "Transpose", "MultiThreshold"]
    first, im2col, matmul, last, _ = result.graph.ops()
    assert first.perm == (0, 2, 3, 1) and last.perm == (0, 3, 1, 2) and last.outputs == [out]
    assert matmul.name == "conv" and im2col.kernel_shape == case["kernel"]
    weight = graph.constant("conv_w")
    np.testing.assert_array_equal(result.graph.constant(matmul.inputs[1]), conv_weight_matrix(weight))
    assert result.graph.tensors[matmul.inputs[1]].dtype == graph.tensors["conv_w"].dtype
    assert {out, "mt_out", "x"} <= assert_same_behaviour(graph, result.graph)


def test_weight_matrix_layout():
    weight = RNG.integers(-8, 8, size=(4, 3, 2, 5))
    matrix = conv_weight_matrix(weight)
    assert matrix.shape == (2 * 5 * 3, 4)
    for m, c, u, v in itertools.product(range(4), range(3), range(2), range(5)):
        assert matrix[(u * 5 + v) * 3 + c, m] == weight[m, c, u, v]


def test_pointwise_conv_skips_im2col():
    graph = ir_graph((1, 6, 4, 5), INT4)
    graph.outputs.append(add_conv(graph, "pw", "x", 3, kernel=(1, 1), w_dtype=INT4))
    result = LowerConv().run(graph)
    assert types(result.graph) == ["Transpose", "MatMul", "Transpose"]
    assert "1x1 convolution as MatMul" in result.notes[0]
    assert_same_behaviour(graph, result.graph)


def test_bias_becomes_channels_last_add():
    graph = ir_graph((1, 2, 5, 5), INT4)
    weight = new_constant(graph, "w", random_codes(INT2, (3, 2, 3, 3)), INT2)
    bias = new_constant(graph, "b", np.array([5, -2, 0]), INT4)
    graph.outputs.append(add_op(graph, ops.Conv, "conv", ["x", weight, bias], kernel_shape=(3, 3), pads=(1, 1, 1, 1)))
    result = LowerConv().run(graph)
    assert types(result.graph) == ["Transpose", "Im2Col", "MatMul", "Add", "Transpose"]
    add = next(op for op in result.graph.ops() if isinstance(op, ops.Add))
    assert result.graph.tensors[add.inputs[1]].shape == (1, 1, 1, 3)
    assert_same_behaviour(graph, result.graph)


def test_real_and_runtime_weight_convs_left_alone():
    graph = ir_graph((1, 4, 6, 6), BIPOLAR)
    graph.set_tensor("f", (1, 4, 6, 6), FLOAT32)
    graph.inputs.append("f")
    real = add_op(graph, ops.Conv, "real", ["f", new_constant(graph, "rw", RNG.normal(size=(2, 4, 3, 3)), FLOAT32)], kernel_shape=(3, 3))
    runtime = add_op(graph, ops.Conv, "runtime", ["x", "x"], kernel_shape=(6, 6))
    graph.outputs += [real, runtime]
    result = LowerConv().run(graph)
    assert not result.changed and result.notes == []
    assert types(result.graph) == ["Conv", "Conv"]


def test_channel_multiplier_becomes_a_vvau():
    """Depthwise with two outputs per channel: a VVAU of one input and two output channels
    per group, same outputs as the Conv."""
    graph = ir_graph((1, 4, 6, 6), BIPOLAR)
    graph.outputs.append(add_conv(graph, "grouped", "x", 8, group=4))
    result = LowerConv().run(graph)
    vvau = result.graph.op("grouped")
    assert type(vvau).__name__ == "VVAU" and (vvau.channels, vvau.group_in, vvau.group_out) == (4, 1, 2)
    assert_same_behaviour(graph, result.graph)


def test_integer_input_with_real_weights_left_alone():
    graph = ir_graph((1, 2, 5, 5), INT4)
    w = new_constant(graph, "w", RNG.normal(size=(2, 2, 3, 3)), FLOAT32)
    graph.outputs.append(add_op(graph, ops.Conv, "conv", ["x", w], kernel_shape=(3, 3)))
    assert not LowerConv().run(graph).changed


# -- Pad merging ------------------------------------------------------------------------------
def pad_conv_graph(pad_value, conv_pads, conv_pad_value, in_dtype=BIPOLAR):
    graph = ir_graph((1, 3, 6, 6), in_dtype)
    padded = add_op(graph, ops.Pad, "pad", ["x"], pads=(1, 0, 2, 1), value=pad_value)
    out = add_conv(graph, "conv", padded, 4, pads=conv_pads, pad_value=conv_pad_value)
    graph.outputs.append(add_threshold(graph, "mt", out))
    return graph


@pytest.mark.parametrize(
    "pad_value,conv_pads,conv_pad_value,merged_pads,merged_value",
    [
        (-1.0, (0, 0, 0, 0), 0, (1, 0, 2, 1), -1),
        (1.0, (0, 0, 0, 0), -1, (1, 0, 2, 1), 1),
        (0.0, (0, 0, 0, 0), 0, (1, 0, 2, 1), 0),
        (-1.0, (1, 1, 1, 1), -1, (2, 1, 3, 2), -1),
    ],
)
def test_pad_merged_into_conv(pad_value, conv_pads, conv_pad_value, merged_pads, merged_value):
    graph = pad_conv_graph(pad_value, conv_pads, conv_pad_value)
    result = LowerConv().run(graph)
    assert result.notes[0].startswith("node 'conv': merged Pad 'pad'")
    assert types(result.graph) == ["Transpose", "Im2Col", "MatMul", "Transpose", "MultiThreshold"]
    im2col = result.graph.ops()[1]
    assert im2col.inputs == ["conv__nhwc"] and im2col.pads == merged_pads and im2col.pad_value == merged_value
    expected_type = BIPOLAR if merged_value in (-1, 1) else INT2
    assert result.graph.tensors[im2col.outputs[0]].dtype == expected_type
    assert_same_behaviour(graph, result.graph)


def test_pad_with_other_value_than_conv_padding_stays():
    graph = pad_conv_graph(1.0, (1, 1, 1, 1), -1)
    result = LowerConv().run(graph)
    assert not any("merged" in note for note in result.notes)
    assert types(result.graph) == ["Pad", "Transpose", "Im2Col", "MatMul", "Transpose", "MultiThreshold"]
    assert_same_behaviour(graph, result.graph)


def test_chain_of_pads_merged():
    graph = ir_graph((1, 2, 5, 5), UINT4)
    first = add_op(graph, ops.Pad, "pad1", ["x"], pads=(1, 1, 0, 0), value=3.0)
    second = add_op(graph, ops.Pad, "pad2", [first], pads=(0, 0, 1, 2), value=3.0)
    graph.outputs.append(add_conv(graph, "conv", second, 2, w_dtype=INT2))
    result = LowerConv().run(graph)
    assert [note[: len("node 'conv': merged Pad 'padN'")] for note in result.notes[:2]] == [
        "node 'conv': merged Pad 'pad2'",
        "node 'conv': merged Pad 'pad1'",
    ]
    assert result.notes[2].startswith("node 'conv': Conv lowered")
    im2col = next(op for op in result.graph.ops() if isinstance(op, ops.Im2Col))
    assert im2col.pads == (1, 1, 1, 2) and im2col.pad_value == 3
    assert "Pad" not in types(result.graph)
    assert_same_behaviour(graph, result.graph)


# -- the ops against their NCHW counterparts -------------------------------------------------
def im2col_as_conv(x, weight, **fields):
    """Conv computed as NHWC Im2Col @ W2, back in NCHW."""
    im2col = ops.Im2Col(name="i", kernel_shape=weight.shape[2:], **fields)
    (patches,) = im2col.execute(x.transpose(0, 2, 3, 1))
    return np.matmul(patches, conv_weight_matrix(weight)).transpose(0, 3, 1, 2)


SPREAD = list(
    itertools.product([(1, 1), (2, 2), (3, 1), (2, 3)], [(1, 1), (2, 1), (3, 2)], [(0, 0, 0, 0), (1, 0, 2, 1)], [(1, 1), (2, 1)])
)


@pytest.mark.parametrize("kernel,strides,pads,dilations", SPREAD)
def test_im2col_matches_conv(kernel, strides, pads, dilations):
    x = random_codes(INT4, (2, 3, 7, 8))
    weight = random_codes(INT4, (4, 3) + kernel)
    for pad_value in (0, -2, np.array([1, -1, 3])):
        fields = dict(strides=strides, pads=pads, dilations=dilations, pad_value=pad_value)
        (expected,) = ops.Conv(name="c", kernel_shape=kernel, **fields).execute(x, weight)
        np.testing.assert_array_equal(im2col_as_conv(x, weight, **fields), expected)


def test_im2col_element_order():
    x = random_codes(INT8, (2, 4, 5, 3))  # NHWC
    op = ops.Im2Col(name="i", kernel_shape=(2, 3), strides=(2, 1), pads=(1, 0, 0, 1), dilations=(1, 2), pad_value=-7)
    ((shape, _),) = op.infer([TensorInfo((1, 4, 5, 3), INT8)])
    (y,) = op.execute(x)
    assert y.shape == (2,) + shape[1:] == (2, 2, 2, 18)
    x_pad = np.pad(x, ((0, 0), (1, 0), (0, 1), (0, 0)), constant_values=-7)
    for n, i, j, u, v, c in itertools.product(range(2), range(2), range(2), range(2), range(3), range(3)):
        assert y[n, i, j, (u * 3 + v) * 3 + c] == x_pad[n, i * 2 + u, j + v * 2, c]


@pytest.mark.parametrize(
    "dtype,pads,pad_value,expected",
    [
        (BIPOLAR, (1, 1, 1, 1), -1, BIPOLAR),
        (BIPOLAR, (1, 1, 1, 1), 0, INT2),
        (BIPOLAR, (0, 0, 0, 0), 0, BIPOLAR),
        (UINT4, (0, 1, 0, 0), np.array([0, 15, 3]), UINT4),
        (UINT4, (0, 1, 0, 0), np.array([0, 16, -1]), DataType.int(6)),
        (INT4, (1, 0, 0, 0), 0.5, FLOAT32),
        (FLOAT32, (1, 0, 0, 0), 0, FLOAT32),
    ],
)
def test_im2col_type_rule(dtype, pads, pad_value, expected):
    op = ops.Im2Col(name="i", kernel_shape=(3, 3), pads=pads, pad_value=pad_value)
    ((shape, out_type),) = op.infer([TensorInfo((1, 5, 5, 3), dtype)])
    assert out_type == expected
    assert shape[3] == 27


@pytest.mark.parametrize(
    "fields,shape,message",
    [
        (dict(kernel_shape=(3, 3)), (1, 5, 5), "expected an NHWC tensor"),
        (dict(kernel_shape=(6, 1)), (1, 5, 5, 2), "does not fit"),
        (dict(kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=np.zeros(3)), (1, 5, 5, 2), "one value per channel"),
        (dict(kernel_shape=(3, 3), strides=(0, 1)), (1, 5, 5, 2), "strides must be"),
    ],
)
def test_im2col_errors_name_the_node(fields, shape, message):
    op = ops.Im2Col(name="win_4", **fields)
    with pytest.raises(BnnccError, match=f"node 'win_4' \\(Im2Col\\): .*{message}"):
        op.infer([TensorInfo(shape, INT4)])


POOLS = list(
    itertools.product([(2, 2), (3, 3), (3, 2)], [(2, 2), (1, 1), (2, 3)], [(0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 1, 0)], [False, True])
)


@pytest.mark.parametrize("kernel,strides,pads,ceil_mode", POOLS)
def test_maxpool_nhwc_matches_maxpool(kernel, strides, pads, ceil_mode):
    fields = dict(kernel_shape=kernel, strides=strides, pads=pads, ceil_mode=ceil_mode)
    nchw, nhwc = ops.MaxPool(name="p", **fields), ops.MaxPoolNHWC(name="q", **fields)
    ((expected_shape, _),) = nchw.infer([TensorInfo((1, 3, 7, 8), INT4)])
    ((shape, dtype),) = nhwc.infer([TensorInfo((1, 7, 8, 3), INT4)])
    assert shape == tuple(expected_shape[i] for i in (0, 2, 3, 1)) and dtype == INT4
    for x in (random_codes(INT4, (2, 3, 7, 8)), RNG.normal(size=(2, 3, 7, 8))):
        (expected,) = nchw.execute(x)
        (actual,) = nhwc.execute(np.ascontiguousarray(x.transpose(0, 2, 3, 1)))
        np.testing.assert_array_equal(actual, expected.transpose(0, 2, 3, 1))


def test_maxpool_nhwc_dilation_and_errors():
    fields = dict(kernel_shape=(2, 2), strides=(1, 1), dilations=(2, 2))
    x = random_codes(UINT4, (2, 2, 6, 5))
    (expected,) = ops.MaxPool(name="p", **fields).execute(x)
    (actual,) = ops.MaxPoolNHWC(name="q", **fields).execute(x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(actual, expected.transpose(0, 2, 3, 1))
    with pytest.raises(BnnccError, match="node 'q' \\(MaxPoolNHWC\\): expected an NHWC"):
        ops.MaxPoolNHWC(name="q").infer([TensorInfo((1, 4, 4), INT4)])
    with pytest.raises(BnnccError, match="node 'q' \\(MaxPoolNHWC\\): kernel"):
        ops.MaxPoolNHWC(name="q", kernel_shape=(5, 5)).infer([TensorInfo((1, 4, 4, 2), INT4)])


def test_declined_convs_and_pads_record_their_reason():
    """What lower_conv leaves alone is recorded per node (bnncc.passes.refusals), for the
    error host_partition reports."""
    from bnncc.passes import refusals

    graph = ir_graph((1, 4, 6, 6), BIPOLAR)
    graph.set_tensor("f", (1, 4, 6, 6), FLOAT32)
    graph.inputs.append("f")
    real = add_op(graph, ops.Conv, "real", ["f", new_constant(graph, "rw", RNG.normal(size=(2, 4, 3, 3)), FLOAT32)], kernel_shape=(3, 3))
    runtime = add_op(graph, ops.Conv, "runtime", ["x", "x"], kernel_shape=(6, 6))
    graph.outputs += [real, runtime]
    messages = {e["node"]: e["message"] for e in refusals.reasons(LowerConv().run(graph).graph)}
    assert messages["real"] == "node 'real' (Conv): its weights are real (FLOAT32), not quantized to integers"
    assert messages["runtime"].startswith("node 'runtime' (Conv): its weights are computed at run time")

    padded = pad_conv_graph(1.0, (1, 1, 1, 1), -1)
    [entry] = refusals.reasons(LowerConv().run(padded).graph)
    assert entry["message"] == (
        "node 'pad' (Pad): pads with 1 while convolution 'conv' pads with -1: two fill values cannot be one padding"
    )
