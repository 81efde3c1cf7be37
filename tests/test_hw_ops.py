"""Hardware ops against the IR ops they replace (and against plain numpy), on random
integer inputs of several shapes and types, plus their shape/type rules and errors."""

import numpy as np
import pytest

from bnncc.datatype import BINARY, BIPOLAR, DataType
from bnncc.errors import BnnccError
from bnncc.ir.graph import TensorInfo
from bnncc.ir import ops
from bnncc.ir.ops.hw import accumulator_dtype, accumulator_range

RNG = np.random.default_rng(20240611)

IN_TYPES = [BIPOLAR, BINARY, DataType.uint(2), DataType.uint(4), DataType.uint(8), DataType.int(2), DataType.int(5), DataType.int(8)]
WEIGHT_TYPES = [BIPOLAR, DataType.int(2), DataType.int(4), DataType.uint(3)]


def random_values(dtype: DataType, shape) -> np.ndarray:
    """Uniform random values of ``dtype`` (int64)."""
    if dtype == BIPOLAR:
        return RNG.choice(np.array([-1, 1]), size=shape)
    return RNG.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


def stream(shape, dtype) -> TensorInfo:
    return TensorInfo(tuple(shape), dtype)


def constant(value, dtype) -> TensorInfo:
    value = np.asarray(value)
    return TensorInfo(value.shape, dtype, value.astype(np.int64) if dtype.is_integer else value, batched=False)


def random_thresholds(rows: int, steps: int, low: int, high: int) -> np.ndarray:
    """Sorted random integer thresholds per row in [low, high + 1]."""
    return np.sort(RNG.integers(low, high + 2, size=(rows, steps)), axis=1)


def numpy_thresholds(acc: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Independent reference: number of thresholds reached along the last axis."""
    return (acc[..., None] >= np.broadcast_to(thresholds, (acc.shape[-1], thresholds.shape[1]))).sum(axis=-1)


# -- MVAU ------------------------------------------------------------------------------------
@pytest.mark.parametrize("in_type", IN_TYPES)
@pytest.mark.parametrize("w_type", WEIGHT_TYPES)
@pytest.mark.parametrize("mw, mh, lead", [(37, 23, ()), (16, 8, (3, 2)), (5, 1, ()), (1, 7, (2,))])
def test_mvau_multiply_accumulate_matches_matmul(in_type, w_type, mw, mh, lead):
    weights = random_values(w_type, (mw, mh))
    x_info = stream((1, *lead, mw), in_type)
    acc_type = accumulator_dtype(x_info, weights, False)
    mvau = ops.MVAU(name="mvau", inputs=["x", "w"], outputs=["y"], mw=mw, mh=mh, acc_dtype=acc_type, out_dtype=acc_type)
    [(shape, dtype)] = mvau.infer([x_info, constant(weights, w_type)])
    assert shape == (1, *lead, mh) and dtype == acc_type
    for batch in (1, 7):
        x = random_values(in_type, (batch, *lead, mw))
        (y,) = mvau.execute(x, weights)
        (expected,) = ops.MatMul(name="m").execute(x, weights)
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(y, np.einsum("...k,km->...m", x, weights))
        assert y.dtype == np.int64 and acc_type.allows(y)


@pytest.mark.parametrize("out_type", [BIPOLAR, BINARY, DataType.uint(2), DataType.int(3), DataType.uint(4)])
@pytest.mark.parametrize("shared", [False, True])
def test_mvau_with_thresholds_matches_matmul_multithreshold(out_type, shared):
    mw, mh = 37, 23
    in_type = DataType.uint(3)
    weights = random_values(DataType.int(4), (mw, mh))
    x_info = stream((1, mw), in_type)
    low, high = accumulator_range(x_info, weights, False)
    steps = 1 if out_type == BIPOLAR else int(out_type.max) - int(out_type.min)
    thresholds = random_thresholds(1 if shared else mh, steps, low // 4, high // 4)
    acc_type = DataType.for_range(low, high)
    mvau = ops.MVAU(name="mvau", inputs=["x", "w", "t"], outputs=["y"], mw=mw, mh=mh, acc_dtype=acc_type, out_dtype=out_type)
    [(_, dtype)] = mvau.infer([x_info, constant(weights, DataType.int(4)), constant(thresholds, DataType.int(16))])
    assert dtype == out_type
    x = random_values(in_type, (9, mw))
    (y,) = mvau.execute(x, weights, thresholds)
    (acc,) = ops.MatMul(name="m").execute(x, weights)
    (expected,) = ops.MultiThreshold(name="t", out_dtype=out_type, channel_axis=-1).execute(acc, thresholds)
    np.testing.assert_array_equal(y, expected)
    count = numpy_thresholds(x @ weights, thresholds)
    np.testing.assert_array_equal(y, ops.MultiThreshold(name="t", out_dtype=out_type).code_from_count(count))
    assert out_type.allows(y)


@pytest.mark.parametrize("mw, mh, lead", [(37, 23, ()), (64, 10, ()), (9, 4, (2, 3)), (1, 1, ())])
def test_mvau_xnor_popcount(mw, mh, lead):
    weights = random_values(BIPOLAR, (mw, mh))
    x_info = stream((1, *lead, mw), BIPOLAR)
    assert accumulator_range(x_info, weights, True) == (0, mw)
    acc_type = accumulator_dtype(x_info, weights, True)
    assert acc_type == DataType.for_range(0, mw)
    thresholds = random_thresholds(mh, 1, 0, mw)
    mvau = ops.MVAU(
        name="mvau", inputs=["x", "w", "t"], outputs=["y"], mw=mw, mh=mh, acc_dtype=acc_type, out_dtype=BIPOLAR, binary_xnor=True
    )
    mvau.infer([x_info, constant(weights, BIPOLAR), constant(thresholds, DataType.uint(8))])
    x = random_values(BIPOLAR, (6, *lead, mw))
    popcount = (x[..., :, None] == weights).sum(axis=-2)
    (p,) = ops.MVAU(name="p", inputs=["x", "w"], outputs=["p"], mw=mw, mh=mh, acc_dtype=acc_type, out_dtype=acc_type,
                    binary_xnor=True).execute(x, weights)
    np.testing.assert_array_equal(p, popcount)
    np.testing.assert_array_equal(2 * p - mw, x @ weights)
    (y,) = mvau.execute(x, weights, thresholds)
    (expected,) = ops.MultiThreshold(name="t", out_dtype=BIPOLAR, channel_axis=-1).execute(
        ops.XnorPopcountMatMul(name="x").execute(x, weights)[0], thresholds
    )
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize(
    "in_type, weights, expected",
    [
        # column sums of max(w*lo, w*hi): 7 + 8 = 15, min: -8 - 7 = -15 -> INT5 (MatMul's bound would need INT6)
        (DataType.int(4), [[1], [-1]], DataType.int(5)),
        # 255 * 37 = 9435 -> UINT14
        (DataType.uint(8), np.ones((37, 23)), DataType.uint(14)),
        # one column of -1s: -255 * 37 = -9435 .. 255 * 37 from another column -> INT15
        (DataType.uint(8), np.concatenate([np.ones((37, 1)), -np.ones((37, 1))], axis=1), DataType.int(15)),
        # bipolar input, multiply-accumulate: -37 .. 37 -> INT7
        (BIPOLAR, np.ones((37, 3)), DataType.int(7)),
        # binary input, weights in 0..3 over 5 terms: 0 .. 15 -> UINT4
        (BINARY, np.full((5, 2), 3), DataType.uint(4)),
        # all-zero weights: always 0 -> BINARY
        (DataType.int(8), np.zeros((4, 4)), BINARY),
    ],
)
def test_accumulator_is_narrowest(in_type, weights, expected):
    weights = np.asarray(weights, dtype=np.int64)
    x_info = stream((1, weights.shape[0]), in_type)
    assert accumulator_dtype(x_info, weights, False) == expected
    # the bound is reached: x at the end of its range that maximises each term
    low, high = accumulator_range(x_info, weights, False)
    lo, hi = int(in_type.min), int(in_type.max)
    best = np.where(weights >= 0, hi, lo)
    worst = np.where(weights >= 0, lo, hi)
    assert high == max(int((best[:, m] * weights[:, m]).sum()) for m in range(weights.shape[1]))
    assert low == min(int((worst[:, m] * weights[:, m]).sum()) for m in range(weights.shape[1]))


def _mvau(**changes):
    fields = dict(name="MVAU_fc1", inputs=["x", "w"], outputs=["y"], mw=4, mh=3, acc_dtype=DataType.int(8), out_dtype=DataType.int(8))
    fields.update(changes)
    return ops.MVAU(**fields)


W43 = np.arange(12).reshape(4, 3) % 3 - 1


@pytest.mark.parametrize(
    "op, ins, message",
    [
        (_mvau(), [stream((1, 4), DataType.parse("FLOAT32")), constant(W43, DataType.int(2))], "input is FLOAT32"),
        (_mvau(), [stream((1, 4), DataType.int(4)), stream((4, 3), DataType.int(2))], "weights must be a constant"),
        (_mvau(), [stream((1, 4), DataType.int(4)), constant(W43.T, DataType.int(2))], "weights have shape (3, 4)"),
        (_mvau(), [stream((1, 5), DataType.int(4)), constant(W43, DataType.int(2))], "does not end in MW = 4"),
        (_mvau(), [stream((1, 4), DataType.int(4)), constant(W43 + 0.5, DataType.parse("FLOAT32"))], "must be integers"),
        (_mvau(acc_dtype=DataType.int(3), out_dtype=DataType.int(3)), [stream((1, 4), DataType.int(8)), constant(W43, DataType.int(2))],
         "acc_dtype INT3 cannot hold"),
        (_mvau(binary_xnor=True), [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2))], "XNOR-popcount needs BIPOLAR"),
        (_mvau(out_dtype=DataType.uint(2)), [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2))], "without thresholds"),
        (_mvau(inputs=["x", "w", "t"], out_dtype=BIPOLAR),
         [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2)), constant(np.zeros((2, 1)), DataType.int(2))],
         "thresholds must have shape (3 or 1, S)"),
        (_mvau(inputs=["x", "w", "t"], out_dtype=DataType.uint(1)),
         [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2)), constant(np.zeros((3, 2)), DataType.int(2))],
         "2 thresholds produce counts that do not fit"),
        (_mvau(pe=2), [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2))], "PE=2 does not divide 3"),
        (_mvau(simd=3), [stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2))], "SIMD=3 does not divide 4"),
    ],
)
def test_mvau_infer_errors_name_the_node(op, ins, message):
    with pytest.raises(BnnccError) as error:
        op.infer(ins)
    assert "node 'MVAU_fc1' (MVAU)" in str(error.value)
    assert message in str(error.value)


def test_mvau_folding_accepted():
    op = _mvau(pe=3, simd=2)
    op.infer([stream((1, 4), DataType.int(4)), constant(W43, DataType.int(2))])


# -- Thresholding ------------------------------------------------------------------------------
@pytest.mark.parametrize("in_type", [DataType.uint(8), DataType.int(4), BIPOLAR, DataType.uint(1)])
@pytest.mark.parametrize("out_type", [BIPOLAR, DataType.uint(2), DataType.int(3)])
@pytest.mark.parametrize("shape, shared", [((1, 23), False), ((1, 5, 3, 37), False), ((1, 4, 4, 7), True)])
def test_thresholding_matches_multithreshold(in_type, out_type, shape, shared):
    channels = shape[-1]
    steps = 1 if out_type == BIPOLAR else int(out_type.max) - int(out_type.min)
    thresholds = random_thresholds(1 if shared else channels, steps, int(in_type.min), int(in_type.max))
    op = ops.Thresholding(name="th", inputs=["x", "t"], outputs=["y"], channels=channels, out_dtype=out_type)
    [(out_shape, dtype)] = op.infer([stream(shape, in_type), constant(thresholds, DataType.int(10))])
    assert out_shape == shape and dtype == out_type
    x = random_values(in_type, (5,) + shape[1:])
    (y,) = op.execute(x, thresholds)
    (expected,) = ops.MultiThreshold(name="m", out_dtype=out_type, channel_axis=-1).execute(x, thresholds)
    np.testing.assert_array_equal(y, expected)
    count = numpy_thresholds(x, thresholds)
    np.testing.assert_array_equal(y, ops.MultiThreshold(name="m", out_dtype=out_type).code_from_count(count))


def test_thresholding_errors():
    op = ops.Thresholding(name="th0", inputs=["x", "t"], outputs=["y"], channels=4, out_dtype=BIPOLAR)
    with pytest.raises(BnnccError, match=r"node 'th0' \(Thresholding\): input \(1, 5\) does not end in 4 channels"):
        op.infer([stream((1, 5), DataType.uint(8)), constant(np.zeros((4, 1)), DataType.uint(8))])
    with pytest.raises(BnnccError, match="thresholds must be integers"):
        op.infer([stream((1, 4), DataType.uint(8)), constant(np.full((4, 1), 0.5), DataType.parse("FLOAT32"))])
    with pytest.raises(BnnccError, match="thresholds must be a constant"):
        op.infer([stream((1, 4), DataType.uint(8)), stream((4, 1), DataType.uint(8))])
    with pytest.raises(BnnccError, match="SIMD=2: this stage has no SIMD parallelism"):
        op.clone(simd=2).infer([stream((1, 4), DataType.uint(8)), constant(np.zeros((4, 1)), DataType.uint(8))])


# -- SlidingWindow, StreamingMaxPool ---------------------------------------------------------------
WINDOWS = [
    # (H, W, C), kernel, strides, pads, dilations
    ((8, 8, 3), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((7, 9, 5), (3, 2), (2, 1), (1, 0, 1, 1), (1, 1)),
    ((10, 6, 1), (3, 3), (1, 2), (2, 1, 0, 1), (2, 1)),
    ((5, 5, 37), (5, 5), (1, 1), (0, 0, 0, 0), (1, 1)),
]


@pytest.mark.parametrize("dims, kernel, strides, pads, dilations", WINDOWS)
@pytest.mark.parametrize("in_type, pad_value", [(DataType.uint(4), 0), (BIPOLAR, -1), (BIPOLAR, 1), (DataType.int(3), "per-channel")])
def test_sliding_window_matches_im2col(dims, kernel, strides, pads, dilations, in_type, pad_value):
    if pad_value == "per-channel":
        pad_value = random_values(in_type, (dims[2],))
    fields = dict(kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, pad_value=pad_value)
    reference = ops.Im2Col(name="i", inputs=["x"], outputs=["y"], **fields)
    info = stream((1, *dims), in_type)
    [(out_shape, out_type)] = reference.infer([info])
    op = ops.SlidingWindow(
        name="swg", inputs=["x"], outputs=["y"], ifm_channels=dims[2], ifm_dims=dims[:2], ofm_dims=out_shape[1:3], **fields
    )
    assert op.infer([info]) == [(out_shape, out_type)]
    x = random_values(in_type, (3, *dims))
    np.testing.assert_array_equal(op.execute(x)[0], reference.execute(x)[0])
    # independent check of one patch element: y[n, i, j, (u*KW + v)*C + c] = x_pad[n, i*sh + u*dh, j*sw + v*dw, c]
    value = np.broadcast_to(np.asarray(pad_value), (dims[2],))
    padded = np.empty((3, dims[0] + pads[0] + pads[2], dims[1] + pads[1] + pads[3], dims[2]), dtype=np.int64)
    padded[...] = value
    padded[:, pads[0] : pads[0] + dims[0], pads[1] : pads[1] + dims[1]] = x
    y = op.execute(x)[0]
    i, j, u, v, c = out_shape[1] - 1, out_shape[2] - 1, kernel[0] - 1, kernel[1] - 1, dims[2] - 1
    expected = padded[:, i * strides[0] + u * dilations[0], j * strides[1] + v * dilations[1], c]
    np.testing.assert_array_equal(y[:, i, j, (u * kernel[1] + v) * dims[2] + c], expected)


@pytest.mark.parametrize("dims, kernel, strides, pads, ceil_mode", [
    ((8, 8, 3), (2, 2), (2, 2), (0, 0, 0, 0), False),
    ((7, 9, 23), (3, 3), (2, 2), (1, 1, 1, 1), False),
    ((7, 7, 5), (2, 2), (2, 2), (0, 0, 0, 0), True),
])
@pytest.mark.parametrize("in_type", [BIPOLAR, DataType.uint(2), DataType.int(8)])
def test_streaming_maxpool_matches_maxpool_nhwc(dims, kernel, strides, pads, ceil_mode, in_type):
    fields = dict(kernel_shape=kernel, strides=strides, pads=pads, ceil_mode=ceil_mode)
    reference = ops.MaxPoolNHWC(name="p", inputs=["x"], outputs=["y"], **fields)
    info = stream((1, *dims), in_type)
    [(out_shape, out_type)] = reference.infer([info])
    op = ops.StreamingMaxPool(
        name="pool", inputs=["x"], outputs=["y"], ifm_channels=dims[2], ifm_dims=dims[:2], ofm_dims=out_shape[1:3], **fields
    )
    assert op.infer([info]) == [(out_shape, out_type)]
    x = random_values(in_type, (4, *dims))
    y = op.execute(x)[0]
    np.testing.assert_array_equal(y, reference.execute(x)[0])
    # the first window, without padding: max of x[:, 0:kh, 0:kw, :]
    if not any(pads):
        np.testing.assert_array_equal(y[:, 0, 0], x[:, : kernel[0], : kernel[1]].max(axis=(1, 2)))


def test_window_geometry_errors():
    op = ops.SlidingWindow(name="swg0", inputs=["x"], outputs=["y"], kernel_shape=(3, 3), ifm_channels=3, ifm_dims=(8, 8), ofm_dims=(6, 6))
    with pytest.raises(BnnccError, match=r"node 'swg0' \(SlidingWindow\): input \(1, 8, 8, 4\) is not \(N, 8, 8, 3\)"):
        op.infer([stream((1, 8, 8, 4), DataType.uint(2))])
    with pytest.raises(BnnccError, match=r"ofm_dims says \(5, 5\)"):
        op.clone(ofm_dims=(5, 5)).infer([stream((1, 8, 8, 3), DataType.uint(2))])
    with pytest.raises(BnnccError, match="FLOAT32; hardware stages take integer streams"):
        op.infer([stream((1, 8, 8, 3), DataType.parse("FLOAT32"))])
    with pytest.raises(BnnccError, match="PE=2: this stage has no PE parallelism"):
        op.clone(pe=2).infer([stream((1, 8, 8, 3), DataType.uint(2))])


# -- StreamReshape, LabelSelect --------------------------------------------------------------------
@pytest.mark.parametrize("shape, target", [((1, 1, 1, 37), (1, 37)), ((1, 3, 3, 5), (1, 45)), ((1, 23), (1, 1, 1, 23))])
def test_stream_reshape(shape, target):
    op = ops.StreamReshape(name="r", inputs=["x"], outputs=["y"], shape=target)
    assert op.infer([stream(shape, DataType.int(4))]) == [(target, DataType.int(4))]
    x = random_values(DataType.int(4), (6,) + shape[1:])
    y = op.execute(x)[0]
    np.testing.assert_array_equal(y, ops.Reshape(name="r", shape=target).execute(x)[0])
    np.testing.assert_array_equal(y.reshape(6, -1), x.reshape(6, -1))  # the stream order is unchanged
    with pytest.raises(BnnccError, match=r"node 'r' \(StreamReshape\)"):
        op.infer([stream(shape, DataType.parse("FLOAT32"))])


@pytest.mark.parametrize("channels, k", [(10, 1), (10, 3), (23, 5), (37, 37)])
@pytest.mark.parametrize("in_type", [DataType.uint(2), DataType.int(7), BIPOLAR])
def test_label_select_matches_topk_with_ties(channels, k, in_type):
    op = ops.LabelSelect(name="ls", inputs=["x"], outputs=["i", "v"], k=k)
    [(index_shape, index_type), (value_shape, value_type)] = op.infer([stream((1, channels), in_type)])
    assert index_shape == value_shape == (1, k)
    assert index_type == DataType.for_range(0, channels - 1) and value_type == in_type
    x = random_values(in_type, (50, channels))  # small ranges: many ties
    indices, values = op.execute(x)
    ref_values, ref_indices = ops.TopK(name="t", k=k, axis=-1).execute(x)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(values, ref_values)
    # independent: sort by (-value, index)
    for row in range(x.shape[0]):
        order = sorted(range(channels), key=lambda c: (-x[row, c], c))[:k]
        assert list(indices[row]) == order


def test_label_select_argmax_keepdims():
    x = random_values(DataType.uint(2), (20, 10))
    for keepdims in (True, False):
        op = ops.LabelSelect(name="ls", inputs=["x"], outputs=["i"], k=1, keepdims=keepdims)
        [(shape, _), _] = op.infer([stream((1, 10), DataType.uint(2))])
        assert shape == ((1, 1) if keepdims else (1,))
        (indices, _) = op.execute(x)
        np.testing.assert_array_equal(indices, ops.ArgMax(name="a", axis=-1, keepdims=keepdims).execute(x)[0])


def test_label_select_errors():
    with pytest.raises(BnnccError, match=r"node 'ls' \(LabelSelect\): k=11 outside 1..10"):
        ops.LabelSelect(name="ls", inputs=["x"], outputs=["i"], k=11).infer([stream((1, 10), DataType.uint(4))])
    with pytest.raises(BnnccError, match="keepdims=False drops the class axis, which needs k=1"):
        ops.LabelSelect(name="ls", inputs=["x"], outputs=["i"], k=2, keepdims=False).infer([stream((1, 10), DataType.uint(4))])
    with pytest.raises(BnnccError, match="PE=3 does not divide 10"):
        ops.LabelSelect(name="ls", inputs=["x"], outputs=["i"], pe=3).infer([stream((1, 10), DataType.uint(4))])


def test_hw_ops_are_hwops_with_docstrings():
    for cls in (ops.MVAU, ops.Thresholding, ops.SlidingWindow, ops.StreamingMaxPool, ops.StreamReshape, ops.LabelSelect):
        assert issubclass(cls, ops.HWOp)
        assert cls.__doc__ and len(cls.__doc__) > 80
