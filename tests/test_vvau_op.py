"""The VVAU IR op of grouped convolutions (``bnncc/ir/ops/vvau.py``) and the parts of its
registry entry that do not need Verilog: Im2Col + VVAU against a grouped convolution written
out in loops (depthwise, grouped, channel multiplier, both; binary and multi-bit), the
accumulator range attained by the extreme inputs, the shape and folding checks (PE divides
the groups, SIMD divides the kernel, SIMD > 1 only with every group per beat), the weight
word layout and the foldings and coupling the registry offers."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.errors import BnnccError
from bnncc.ir.graph import TensorInfo
from bnncc.ir.ops import Im2Col
from bnncc.ir.ops.vvau import VVAU, vvau_dtype, vvau_range


def grouped_conv_nhwc(x: np.ndarray, weight: np.ndarray, groups: int, k: int, stride: int, pad: int) -> np.ndarray:
    """``y[n, i, j, m] = sum_{j', u, v} x_pad[n, i*s + u, j*s + v, g(m)*CG + j'] * weight[m, j', u, v]``,
    ``g(m) = m // MG``, in plain loops (x NHWC, weight (M, CG, k, k))."""
    n, h, w, c = x.shape
    m_out, cg = weight.shape[:2]
    mg = m_out // groups
    xp = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=np.int64)
    xp[:, pad:pad + h, pad:pad + w] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    y = np.zeros((n, oh, ow, m_out), dtype=np.int64)
    for b, i, j, m in itertools.product(range(n), range(oh), range(ow), range(m_out)):
        g = m // mg
        window = xp[b, i * stride:i * stride + k, j * stride:j * stride + k, g * cg:(g + 1) * cg]  # (k, k, CG)
        y[b, i, j, m] = int(np.sum(window * weight[m].transpose(1, 2, 0)))
    return y


def random_values(rng, dtype: DataType, shape) -> np.ndarray:
    if dtype == BIPOLAR:
        return rng.choice(np.array([-1, 1]), size=shape)
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


@pytest.mark.parametrize("groups, cg, mg, k, stride, pad, dtype", [
    (5, 1, 1, 3, 1, 1, DataType.int(3)),   # depthwise
    (2, 3, 1, 3, 2, 1, DataType.uint(2)),  # grouped, strided
    (3, 1, 2, 2, 1, 0, BIPOLAR),           # channel multiplier 2, binary
    (2, 2, 3, 3, 1, 0, DataType.int(4)),   # both
    (5, 3, 1, 1, 1, 0, DataType.int(2)),   # a 1x1 kernel of groups of 3
], ids=["depthwise", "grouped", "multiplier_bipolar", "both", "k1_cg3"])
def test_im2col_then_vvau_is_the_grouped_convolution(groups, cg, mg, k, stride, pad, dtype):
    rng = np.random.default_rng(groups * 100 + cg * 10 + mg)
    c, m = groups * cg, groups * mg
    x = random_values(rng, dtype, (2, 6, 5, c))
    weight = random_values(rng, DataType.int(3) if dtype != BIPOLAR else BIPOLAR, (m, cg, k, k))
    w3 = weight.reshape(m * cg, -1).T  # W3[u*KW + v, m*CG + j] = W[m, j, u, v]
    patches = Im2Col(name="im2col", kernel_shape=(k, k), strides=(stride, stride), pads=(pad,) * 4,
                     pad_value=0).execute(x)[0]
    info = TensorInfo((1, k * k * c), dtype)
    op = VVAU(name="v", inputs=["x", "w"], outputs=["y"], channels=c, kernel=k * k, group_in=cg, group_out=mg,
              acc_dtype=vvau_dtype(info, w3, cg, mg))
    got = op.execute(patches, w3)[0]
    np.testing.assert_array_equal(got, grouped_conv_nhwc(x, weight, groups, k, stride, pad))
    # the shape rule agrees: M output channels
    out = op.infer([TensorInfo((1, 4, 4, k * k * c), dtype), TensorInfo(w3.shape, DataType.int(3), value=w3)])
    assert out[0][0] == (1, 4, 4, m)


def test_range_is_attained_per_output_channel_over_its_group():
    """vvau_range: the extremes over every input of K*CG products, reached by some input
    (brute force over a uint2 input of 2 positions x 2 channels per group)."""
    k, groups, cg, mg = 2, 2, 2, 2
    w = np.array([[3, -2, 1, 1, -1, 0, 2, 2], [-3, 1, 0, 2, 1, 1, -2, 3]])  # (K, M*CG) with M = 4
    info = TensorInfo((1, k * groups * cg), DataType.uint(2))
    op = VVAU(name="v", inputs=["x", "w"], outputs=["y"], channels=groups * cg, kernel=k, group_in=cg, group_out=mg,
              acc_dtype=DataType.int(8))
    inputs = np.array(list(itertools.product(range(4), repeat=k * groups * cg)))
    sums = op.accumulate(inputs, w)
    assert vvau_range(info, w, cg, mg) == (int(sums.min()), int(sums.max()))
    # a depthwise reading of the same weights (CG = 1) has other extremes
    assert vvau_range(info, w) != vvau_range(info, w, cg, mg)


def _op(**fields) -> VVAU:
    base = {"channels": 6, "kernel": 9, "group_in": 2, "group_out": 1, "acc_dtype": DataType.int(6)}
    base.update(fields)
    return VVAU(name="v", inputs=["x", "w"], outputs=["y"], **base)


def _infos(op: VVAU):
    w = np.ones((op.kernel, op.out_channels * op.group_in), dtype=np.int64)
    return [TensorInfo((1, op.kernel * op.channels), DataType.uint(1)), TensorInfo(w.shape, DataType.int(2), value=w)]


@pytest.mark.parametrize("fields, message", [
    ({"pe": 2}, "PE=2 does not divide 3"),
    ({"pe": 3, "simd": 2}, "SIMD=2 does not divide 9"),
    ({"pe": 1, "simd": 3}, "SIMD=3 (kernel positions per beat) needs PE equal to the 3 groups, found PE=1"),
    ({"group_in": 4}, "group_in=4 does not divide the 6 channels"),
    ({"group_out": 0}, "group_out=0 must be a positive integer"),
])
def test_folding_and_group_checks_refuse_with_a_reason(fields, message):
    op = _op(**fields)
    infos = _infos(op) if op.group_in >= 1 and op.group_out >= 1 and 6 % op.group_in == 0 else \
        [TensorInfo((1, 54), DataType.uint(1)), TensorInfo((9, 6), DataType.int(2), value=np.ones((9, 6)))]
    with pytest.raises(BnnccError, match=re.escape(message)):
        op.infer(infos)


@pytest.mark.parametrize("fields", [{"pe": 3, "simd": 1}, {"pe": 1}, {"pe": 3, "simd": 3}, {"pe": 3, "simd": 9}])
def test_legal_foldings_infer(fields):
    op = _op(**fields)
    assert op.infer(_infos(op))[0][0] == (1, 3)


def test_weights_of_the_wrong_shape_are_refused():
    op = _op()
    infos = _infos(op)
    w = np.ones((9, 6), dtype=np.int64)  # (K, C) as for a depthwise op: M*CG = 3*2 = 6 happens to match
    assert op.infer([infos[0], TensorInfo(w.shape, DataType.int(2), value=w)])
    w = np.ones((9, 5), dtype=np.int64)
    with pytest.raises(BnnccError, match=r"expected \(K, M\*CG\) = \(9, 6\)"):
        op.infer([infos[0], TensorInfo(w.shape, DataType.int(2), value=w)])


# -- the registry entry's view of the op ---------------------------------------------------
def test_weight_words_hold_each_product_field_where_the_verilog_reads_it():
    """Word w*CF + f, field ((s*PE + p)*MG + i)*CG + j = W[w*SIMD + s, m*CG + j] with
    m = (f*PE + p)*MG + i (rtl_lib/vvau.v)."""
    from bnncc.hw.modules.vvau import vvau_fields, vvau_words

    k, groups, cg, mg = 4, 4, 2, 3
    weights = np.arange(k * groups * mg * cg).reshape(k, -1)  # distinct values: W[k, col] = k*24 + col
    for pe, simd in [(2, 1), (1, 1), (4, 2), (4, 4)]:
        cf = groups // pe
        fields = vvau_fields(weights, pe, simd, cg, mg)
        assert fields.shape == ((k // simd) * cf, simd * pe * mg * cg)
        for w, f, s, p, i, j in itertools.product(range(k // simd), range(cf), range(simd), range(pe), range(mg),
                                                  range(cg)):
            m = (f * pe + p) * mg + i
            assert fields[w * cf + f, ((s * pe + p) * mg + i) * cg + j] == weights[w * simd + s, m * cg + j]
        words = vvau_words(weights, pe, 7, False, simd, cg, mg)
        assert [(words[-1] >> (7 * e)) & 127 for e in range(fields.shape[1])] == list(fields[-1])


def test_foldings_and_coupling_follow_the_groups_and_kernel():
    from bnncc.hw.modules.vvau import couple, foldings

    op = _op()  # 3 groups of 2 channels, 9 positions
    assert foldings(None, op) == [{"pe": 1, "simd": 1}, {"pe": 3, "simd": 1}, {"pe": 3, "simd": 3},
                                  {"pe": 3, "simd": 9}]
    assert couple(op, 2) == {"pe": 1, "simd": 1}     # one group of 2 channels per beat
    assert couple(op, 6) == {"pe": 3, "simd": 1}     # every channel of a position
    assert couple(op, 18) == {"pe": 3, "simd": 3}    # three positions per beat
    assert couple(op, 54) == {"pe": 3, "simd": 9}    # the whole window
