"""to_hw: which patterns become hardware stages, what stays, and that the executor's
results are unchanged (every tensor present in both graphs, compared by name)."""

import numpy as np
import pytest

from bnncc.datatype import BINARY, BIPOLAR, FLOAT32, DataType
from bnncc.executor import Executor
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.passes.to_hw import ToHardware

RNG = np.random.default_rng(7)


class Builder:
    """Small IR graphs: one call per op, names derived from the op type."""

    def __init__(self, name: str = "test"):
        self.graph = Graph(name)

    def input(self, name: str, shape, dtype: DataType) -> str:
        self.graph.inputs.append(name)
        self.graph.set_tensor(name, shape, dtype)
        return name

    def const(self, base: str, value, dtype: DataType) -> str:
        return new_constant(self.graph, base, np.asarray(value), dtype)

    def op(self, cls, inputs, name: str | None = None, outputs: int = 1, **fields):
        """Add ``cls`` reading ``inputs``; returns its output name (or names)."""
        name = name or self.graph.fresh_name(cls.__name__)
        bases = [f"{name}_out"] if outputs == 1 else [f"{name}_out{i}" for i in range(outputs)]
        names = [self.graph.fresh_name(base) for base in bases]
        add_inferred(self.graph, cls(name=name, inputs=list(inputs), outputs=names, **fields))
        return names[0] if outputs == 1 else names

    def output(self, *names: str) -> Graph:
        self.graph.outputs.extend(names)
        return self.graph

    # -- common layers --------------------------------------------------------------------------
    def matmul(self, x: str, k: int, m: int, wtype: DataType, name: str | None = None, xnor: bool = False) -> str:
        w = self.const(f"{name or 'w'}_weight", random_values(wtype, (k, m)), wtype)
        return self.op(ops.XnorPopcountMatMul if xnor else ops.MatMul, [x, w], name=name)

    def threshold(self, x: str, out_dtype: DataType, low: int, high: int, name: str | None = None, rows: int | None = None,
                  axis: int = -1) -> str:
        channels = self.graph.tensors[x].shape[axis]
        steps = 1 if out_dtype == BIPOLAR else int(out_dtype.max) - int(out_dtype.min)
        t = np.sort(RNG.integers(low, high + 2, size=(rows or channels, steps)), axis=1)
        tname = self.const(f"{name or 'mt'}_thresholds", t, DataType.for_range(int(t.min()), int(t.max())))
        return self.op(ops.MultiThreshold, [x, tname], name=name, out_dtype=out_dtype, channel_axis=axis)


def random_values(dtype: DataType, shape) -> np.ndarray:
    if dtype == BIPOLAR:
        return RNG.choice(np.array([-1, 1]), size=shape)
    if not dtype.is_integer:
        return RNG.uniform(-2, 2, size=shape)
    return RNG.integers(int(dtype.min), int(dtype.max) + 1, size=shape)


def random_inputs(graph: Graph, batch: int = 6) -> dict:
    return {name: random_values(graph.tensors[name].dtype, (batch,) + graph.tensors[name].shape[1:]) for name in graph.inputs}


def assert_same_results(before: Graph, after: Graph, batches=(1, 6)) -> None:
    """Every graph output and every tensor both graphs compute agree exactly."""
    for batch in batches:
        inputs = random_inputs(before, batch)
        a = Executor(before).run(inputs, keep="all")
        b = Executor(after).run(inputs, keep="all")
        for name in before.outputs:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        common = [t for t in a if t in b and before.tensors.get(t) is not None and before.tensors[t].value is None]
        for name in common:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def run_to_hw(graph: Graph):
    result = ToHardware().run(graph)
    assert_same_results(graph, result.graph)
    return result


def op_types(graph: Graph) -> list[str]:
    return [op.op_type for op in graph.ops()]


# -- products --------------------------------------------------------------------------------------
def test_matmul_and_thresholds_fuse_into_mvau():
    b = Builder()
    x = b.input("x", (1, 37), DataType.uint(4))
    acc = b.matmul(x, 37, 23, DataType.int(3), name="fc0")
    y = b.threshold(acc, DataType.uint(2), -40, 40, name="act0")
    graph = b.output(y)
    result = run_to_hw(graph)
    (mvau,) = result.graph.ops()
    assert isinstance(mvau, ops.MVAU)
    assert mvau.name == "fc0" and mvau.outputs == [y] and mvau.inputs[0] == "x"
    assert (mvau.mw, mvau.mh, mvau.binary_xnor, mvau.out_dtype) == (37, 23, False, DataType.uint(2))
    weights = graph.constant(mvau.inputs[1])
    low = int(np.minimum(weights * 0, weights * 15).sum(axis=0).min())
    high = int(np.maximum(weights * 0, weights * 15).sum(axis=0).max())
    assert mvau.acc_dtype == DataType.for_range(low, high)
    assert result.graph.tensors[y].dtype == DataType.uint(2)
    assert result.notes == [
        f"node 'fc0': MatMul + MultiThreshold 'act0' -> MVAU (MW=37, MH=23, accumulator {mvau.acc_dtype}, output UINT2)"
    ]


def test_accumulator_widths_are_concrete():
    """UINT8 input, weights all +1 over 37 inputs: 0..9435 -> UINT14; a -1 column -> INT15;
    XNOR-popcount over 64 bits: 0..64 -> UINT7; 1-bit binary input with INT2 weights over 5:
    -10..5 -> INT5; INT4 input, weights (1, -1): -15..15 -> INT5."""
    b = Builder()
    x = b.input("x", (1, 37), DataType.uint(8))
    w_pos = b.const("w_pos", np.ones((37, 4)), DataType.int(2))
    w_neg = b.const("w_neg", np.concatenate([np.ones((37, 1)), -np.ones((37, 1))], axis=1), DataType.int(2))
    pos = b.op(ops.MatMul, [x, w_pos], name="pos")
    neg = b.op(ops.MatMul, [x, w_neg], name="neg")
    xb = b.input("xb", (1, 64), BIPOLAR)
    pop = b.matmul(xb, 64, 3, BIPOLAR, name="pop", xnor=True)
    xu1 = b.input("xu1", (1, 5), BINARY)
    w_b = b.const("w_b", np.array([[-2, 1]] * 5), DataType.int(2))
    small = b.op(ops.MatMul, [xu1, w_b], name="small")
    xi4 = b.input("xi4", (1, 2), DataType.int(4))
    mixed = b.op(ops.MatMul, [xi4, b.const("w_mixed", [[1], [-1]], DataType.int(2))], name="mixed")
    graph = b.output(pos, neg, pop, small, mixed)
    result = run_to_hw(graph)
    types = {op.name: op.acc_dtype for op in result.graph.ops()}
    assert types == {
        "pos": DataType.uint(14), "neg": DataType.int(15), "pop": DataType.uint(7),
        "small": DataType.int(5), "mixed": DataType.int(5),
    }
    for op in result.graph.ops():  # no thresholds: the output is the accumulator
        assert op.out_dtype == op.acc_dtype == result.graph.tensors[op.outputs[0]].dtype
    # per column x0 - x1 lies in -15..15; MatMul's own bound (2 terms of -8..8) needed INT6
    assert graph.tensors[mixed].dtype == DataType.int(6)


def test_product_read_twice_is_not_fused():
    b = Builder()
    x = b.input("x", (1, 8), DataType.int(4))
    acc = b.matmul(x, 8, 6, DataType.int(2), name="fc")
    y = b.threshold(acc, BIPOLAR, -20, 20, name="act")
    graph = b.output(y, acc)
    result = run_to_hw(graph)
    assert op_types(result.graph) == ["MVAU", "Thresholding"]
    mvau, thresholding = result.graph.ops()
    assert len(mvau.inputs) == 2 and mvau.outputs == [acc]
    assert thresholding.inputs[0] == acc and thresholding.outputs == [y] and thresholding.channels == 6


def test_xnor_popcount_chain_becomes_binary_mvaus():
    b = Builder()
    x = b.input("x", (1, 37), BIPOLAR)
    h = b.threshold(b.matmul(x, 37, 23, BIPOLAR, name="fc0", xnor=True), BIPOLAR, 0, 37, name="act0")
    y = b.matmul(h, 23, 10, BIPOLAR, name="fc1", xnor=True)
    graph = b.output(y)
    result = run_to_hw(graph)
    first, last = result.graph.ops()
    assert first.binary_xnor and last.binary_xnor
    assert (first.acc_dtype, first.out_dtype) == (DataType.uint(6), BIPOLAR)
    assert (last.acc_dtype, last.out_dtype) == (DataType.uint(5), DataType.uint(5))


def test_conv_like_product_on_nhwc_patches():
    b = Builder()
    x = b.input("x", (1, 6, 6, 3), DataType.uint(2))
    patches = b.op(ops.Im2Col, [x], name="conv0__im2col", kernel_shape=(3, 3), pads=(1, 1, 1, 1))
    acc = b.matmul(patches, 27, 5, DataType.int(2), name="conv0")
    y = b.threshold(acc, DataType.uint(2), -10, 10, name="act0")
    pooled = b.op(ops.MaxPoolNHWC, [y], name="pool0", kernel_shape=(2, 2), strides=(2, 2))
    graph = b.output(pooled)
    result = run_to_hw(graph)
    swg, mvau, pool = result.graph.ops()
    assert (swg.op_type, mvau.op_type, pool.op_type) == ("SlidingWindow", "MVAU", "StreamingMaxPool")
    assert (swg.ifm_channels, swg.ifm_dims, swg.ofm_dims, swg.pads, swg.kernel_shape) == (3, (6, 6), (6, 6), (1, 1, 1, 1), (3, 3))
    assert (pool.ifm_channels, pool.ifm_dims, pool.ofm_dims) == (5, (6, 6), (3, 3))
    assert result.graph.tensors[mvau.outputs[0]].shape == (1, 6, 6, 5)
    assert swg.outputs == [patches] and pool.outputs == [pooled]


# -- thresholds -------------------------------------------------------------------------------------
def test_input_quantizing_thresholds_become_thresholding():
    b = Builder()
    x = b.input("x", (1, 4, 4, 3), DataType.uint(8))
    y = b.threshold(x, DataType.uint(2), 0, 255, name="quant_in", rows=1)
    graph = b.output(y)
    result = run_to_hw(graph)
    (stage,) = result.graph.ops()
    assert isinstance(stage, ops.Thresholding) and stage.channels == 3 and stage.out_dtype == DataType.uint(2)
    assert stage.name == "quant_in" and stage.outputs == [y]


def test_fractional_and_infinite_thresholds_are_rounded_up_exactly():
    b = Builder()
    x = b.input("x", (1, 5), DataType.int(4))
    t = b.const("t", [[-np.inf, 0.5], [-3.5, 2.0], [1.25, 6.01], [-9.0, np.inf], [7.0, 7.5]], FLOAT32)
    y = b.op(ops.MultiThreshold, [x, t], name="mt", out_dtype=DataType.uint(2), channel_axis=-1)
    graph = b.output(y)
    result = ToHardware().run(graph)
    (stage,) = result.graph.ops()
    thresholds = result.graph.constant(stage.inputs[1])
    np.testing.assert_array_equal(thresholds, [[-8, 1], [-3, 2], [2, 7], [-8, 8], [7, 8]])
    assert result.graph.tensors[stage.inputs[1]].dtype == DataType.int(5)
    assert "node 'mt': thresholds rounded up to integers (exact for an integer input)" in result.notes
    every = np.arange(-8, 8).reshape(-1, 1).repeat(5, axis=1)  # every value of INT4, on every channel
    np.testing.assert_array_equal(Executor(graph).run({"x": every})[y], Executor(result.graph).run({"x": every})[y])


def test_integral_float_thresholds_get_an_integer_type():
    b = Builder()
    x = b.input("x", (1, 3), DataType.uint(4))
    t = b.const("t", [[1.0], [2.0], [15.0]], FLOAT32)
    y = b.op(ops.MultiThreshold, [x, t], name="mt", out_dtype=BIPOLAR, channel_axis=1)
    result = run_to_hw(b.output(y))
    (stage,) = result.graph.ops()
    assert result.graph.tensors[stage.inputs[1]].dtype == DataType.uint(4)


def test_thresholds_on_a_non_last_axis_stay():
    b = Builder()
    x = b.input("x", (1, 3, 4, 4), DataType.uint(4))
    y = b.threshold(x, BIPOLAR, 0, 15, name="mt", axis=1)
    result = ToHardware().run(b.output(y))
    assert op_types(result.graph) == ["MultiThreshold"] and not result.changed


# -- reshapes and classification ------------------------------------------------------------------
def test_reshape_between_stages_becomes_stream_reshape():
    b = Builder()
    x = b.input("x", (1, 4, 4, 2), DataType.uint(8))
    pre = b.op(ops.Reshape, [x], name="pre_reshape", shape=(1, 32))  # reads a graph input: stays on the host
    q = b.threshold(pre, BIPOLAR, 0, 255, name="quant")
    h = b.threshold(b.matmul(q, 32, 9, BIPOLAR, name="fc0"), BIPOLAR, -10, 10, name="act0")
    grid = b.op(ops.Reshape, [h], name="to_grid", shape=(1, 1, 1, 9))
    flat = b.op(ops.Flatten, [grid], name="flatten", axis=1)
    acc = b.matmul(flat, 9, 4, DataType.int(2), name="fc1")
    out = b.op(ops.Reshape, [acc], name="post_reshape", shape=(1, 2, 2))  # feeds only the host
    scale = b.const("scale", 0.5, FLOAT32)
    y = b.op(ops.Mul, [out, scale], name="dequant")
    graph = b.output(y)
    result = run_to_hw(graph)
    assert op_types(result.graph) == [
        "Reshape", "Thresholding", "MVAU", "StreamReshape", "StreamReshape", "MVAU", "Reshape", "Mul"
    ]
    reshapes = [op for op in result.graph.ops() if isinstance(op, ops.StreamReshape)]
    assert [(r.name, r.shape, r.outputs) for r in reshapes] == [
        ("to_grid", (1, 1, 1, 9), [grid]), ("flatten", (1, 9), [flat])
    ]


def _classifier(select):
    b = Builder()
    x = b.input("x", (1, 16), BIPOLAR)
    logits = b.matmul(x, 16, 10, BIPOLAR, name="fc_last", xnor=True)
    return b, logits, select(b, logits)


def test_topk_after_last_stage_becomes_label_select():
    b, logits, (values, indices) = _classifier(lambda b, t: b.op(ops.TopK, [t], name="top3", outputs=2, k=3, axis=-1))
    graph = b.output(indices)
    result = run_to_hw(graph)
    mvau, select = result.graph.ops()
    assert isinstance(select, ops.LabelSelect) and select.k == 3 and select.outputs == [indices]
    assert result.graph.tensors[indices].shape == (1, 3) and result.graph.tensors[indices].dtype == DataType.uint(4)
    assert values not in result.graph.tensors


def test_topk_values_kept_when_used():
    b, logits, (values, indices) = _classifier(lambda b, t: b.op(ops.TopK, [t], name="top2", outputs=2, k=2, axis=1))
    result = run_to_hw(b.output(values, indices))
    select = result.graph.ops()[-1]
    assert select.outputs == [indices, values]


@pytest.mark.parametrize("keepdims", [True, False])
def test_argmax_becomes_label_select(keepdims):
    b, logits, label = _classifier(lambda b, t: b.op(ops.ArgMax, [t], name="argmax", axis=-1, keepdims=keepdims))
    result = run_to_hw(b.output(label))
    select = result.graph.ops()[-1]
    assert (select.op_type, select.k, select.keepdims, select.outputs) == ("LabelSelect", 1, keepdims, [label])


@pytest.mark.parametrize("select", [
    lambda b, t: b.op(ops.TopK, [t], name="topk", outputs=2, k=2, axis=-1, largest=False),
    lambda b, t: b.op(ops.ArgMax, [t], name="argmax", axis=-1, select_last_index=True),
    lambda b, t: b.op(ops.TopK, [b.op(ops.Mul, [t, b.const("s", 0.25, FLOAT32)], name="scale")], name="topk", outputs=2, k=2),
])
def test_other_classifiers_stay_on_the_host(select):
    b, logits, out = _classifier(select)
    outs = out if isinstance(out, list) else [out]
    result = run_to_hw(b.output(*outs))
    assert [op.op_type for op in result.graph.ops() if isinstance(op, ops.HWOp)] == ["MVAU"]
    assert not any(isinstance(op, ops.LabelSelect) for op in result.graph.ops())


# -- what stays ------------------------------------------------------------------------------------
def test_float_and_unsuitable_products_stay():
    b = Builder()
    x = b.input("x", (1, 6), FLOAT32)
    real = b.matmul(x, 6, 4, FLOAT32, name="real")  # float input
    xi = b.input("xi", (1, 6), DataType.int(4))
    fractional = b.const("wf", RNG.uniform(-1, 1, size=(6, 4)), FLOAT32)
    frac = b.op(ops.MatMul, [xi, fractional], name="fractional")  # non-integer weights
    rows = b.input("xr", (1, 1, 6), DataType.int(4))
    other = b.input("xo", (1, 6, 4), DataType.int(4))
    dynamic = b.op(ops.MatMul, [rows, other], name="dynamic")  # weights computed at run time
    graph = b.output(real, frac, dynamic)
    result = ToHardware().run(graph)
    assert op_types(result.graph) == ["MatMul", "MatMul", "MatMul"] and not result.notes


def test_bipolar_zero_padding_is_left_for_the_partition_to_report():
    b = Builder()
    x = b.input("x", (1, 5, 5, 2), BIPOLAR)
    p = b.op(ops.Im2Col, [x], name="conv1__im2col", kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=0)
    q = b.op(ops.Im2Col, [x], name="conv2__im2col", kernel_shape=(3, 3), pads=(1, 1, 1, 1), pad_value=-1)
    result = run_to_hw(b.output(p, q))
    assert op_types(result.graph) == ["Im2Col", "SlidingWindow"]


def test_to_hw_is_idempotent_and_keeps_node_names():
    def build():
        b = Builder()
        x = b.input("x", (1, 12), DataType.uint(3))
        h = b.threshold(b.matmul(x, 12, 8, DataType.int(2), name="fc0"), BIPOLAR, -20, 20, name="a0")
        return b.output(b.matmul(h, 8, 3, DataType.int(2), name="fc1"))

    first = ToHardware().run(build())
    again = ToHardware().run(first.graph)
    assert not again.changed and again.notes == []
    assert [op.name for op in first.graph.ops()] == ["fc0", "fc1"]
