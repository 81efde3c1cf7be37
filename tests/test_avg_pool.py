"""Average pooling: AveragePool, GlobalAveragePool, ReduceMean over H and W and Brevitas'
TruncAvgPool (a pool, a Mul by k*k, then Trunc) between a quantizer and a quantizer +
MatMul, through import and every pass, exact against onnxruntime, and compiled to RTL that is
exact under random stalls at the analytic interval; the IR op against onnxruntime where the
divisor varies at the border; and the refusal of such pools by name."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.errors import UnsupportedModelError
from bnncc.frontend import import_model
from bnncc.ir.ops.pool import AveragePool, PoolSum
from bnncc.passes import refusals
from bnncc.passes.pipeline import run_pipeline
from bnncc.verify.run import verify_model
from helpers import QONNX, make_model, run_onnxruntime
from tiny_models import quant_node, quant_params

CHANNELS, SIZE, CLASSES = 5, 6, 7
IN_SCALE = 1 / 15  # unsigned 4-bit codes of inputs in [0, 1]


def pool_nodes(form: str, inits: dict) -> tuple[list, str, list[int]]:
    """Nodes from 'xq' (N, C, 6, 6) to the pooled tensor; its name and shape."""
    c, s = CHANNELS, SIZE
    if form == "avg_k2s2":
        return [helper.make_node("AveragePool", ["xq"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2])], "p", [c, 3, 3]
    if form in ("avg_k3s1_pad_cip", "avg_k3s1_pad_cip_zero_point"):
        node = helper.make_node("AveragePool", ["xq"], ["p"], name="pool", kernel_shape=[3, 3], strides=[1, 1],
                                pads=[1, 1, 1, 1], count_include_pad=1)
        return [node], "p", [c, s, s]
    if form == "global":
        return [helper.make_node("GlobalAveragePool", ["xq"], ["p"], name="pool")], "p", [c, 1, 1]
    if form == "reduce_mean_keepdims":
        return [helper.make_node("ReduceMean", ["xq"], ["p"], name="pool", axes=[2, 3], keepdims=1)], "p", [c, 1, 1]
    if form == "reduce_mean_flat":  # opset 18: axes as an input
        inits["axes"] = np.array([-1, 2], np.int64)
        return [helper.make_node("ReduceMean", ["xq", "axes"], ["p"], name="pool", keepdims=0)], "p", [c]
    if form.startswith("trunc_avg"):
        # Brevitas' TruncAvgPool2d: the sum (the average times k*k) of 4-bit codes (6 bits),
        # Trunc to 4 bits: shift 4 = out_scale / scale
        inits.update({"k2": np.float32(4.0), "t_s": np.float32(IN_SCALE), "t_z": np.float32(0.0),
                      "t_ib": np.float32(6.0), "t_os": np.float32(4 * IN_SCALE), "t_ob": np.float32(4.0)})
        mode = form.rsplit("_", 1)[1].upper()
        return [
            helper.make_node("AveragePool", ["xq"], ["avg"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Mul", ["avg", "k2"], ["sum"], name="unscale"),
            helper.make_node("Trunc", ["sum", "t_s", "t_z", "t_ib", "t_os", "t_ob"], ["p"], name="trunc", domain=QONNX,
                             rounding_mode=mode, signed=0),
        ], "p", [c, 3, 3]
    raise ValueError(form)


def pool_model(form: str, seed: int = 0) -> onnx.ModelProto:
    """x -> Quant(4b unsigned) -> pool -> [Quant(3b unsigned)] -> Flatten -> MatMul(Quant(w)) -> y.
    With ``_zero_point`` the input quantizer's zero point is 3: a real zero is the code 3,
    which is what the pool's zero padding becomes."""
    rng = np.random.default_rng(seed)
    bipolar = form.endswith("_bipolar")
    if bipolar:  # x - 1/2 -> BipolarQuant (scale 0.5): codes -1/+1
        inits = {"half": np.float32(0.5), "qin_s": np.float32(0.5)}
        nodes = [helper.make_node("Sub", ["x", "half"], ["xc"], name="center"),
                 helper.make_node("BipolarQuant", ["xc", "qin_s"], ["xq"], name="qin", domain=QONNX)]
        form = form.removesuffix("_bipolar")
    else:
        inits = quant_params("qin", IN_SCALE, 4, zero_point=3.0 if form.endswith("_zero_point") else 0.0)
        nodes = [quant_node("qin", "x", "xq", 4, signed=0)]
    pooled_nodes, pooled, shape = pool_nodes(form, inits)
    nodes += pooled_nodes
    if not form.startswith("trunc_avg"):
        inits.update(quant_params("qact", 0.091, 3))
        nodes.append(quant_node("qact", pooled, "a", 3, signed=int(bipolar)))
        pooled = "a"
    features = int(np.prod(shape))
    if len(shape) > 1:
        nodes.append(helper.make_node("Flatten", [pooled], ["f"], name="flatten"))
        pooled = "f"
    inits["w"] = rng.normal(size=(features, CLASSES)).astype(np.float32)
    inits.update(quant_params("qw", 0.5, 2))
    nodes += [quant_node("qw", "w", "wq", 2, narrow=1), helper.make_node("MatMul", [pooled, "wq"], ["y"], name="fc")]
    opset = 18 if form == "reduce_mean_flat" else 13
    return make_model(nodes, [("x", ["N", CHANNELS, SIZE, SIZE])], [("y", ["N", CLASSES])], inits, opset=opset)


FORMS = ["avg_k2s2", "avg_k3s1_pad_cip", "avg_k3s1_pad_cip_zero_point", "global", "reduce_mean_keepdims", "reduce_mean_flat",
         "trunc_avg_round", "trunc_avg_floor", "avg_k2s2_bipolar", "global_bipolar"]


@pytest.mark.parametrize("form", FORMS)
def test_every_stage_matches_onnxruntime(tmp_path, form):
    path = tmp_path / f"{form}.onnx"
    onnx.save(pool_model(form), path)
    samples = 150
    result = verify_model(path, samples=samples, seed=3, value_range=(0.0, 1.0))
    assert result.ok, result.table()
    assert [s.stage for s in result.stages][-1] == "folding"
    for stage in result.stages:
        assert stage.exact + stage.ties == samples, result.table()
        assert stage.exact >= samples - 3, result.table()


@pytest.mark.parametrize("form, window, windowed", [
    ("avg_k2s2", 4, True), ("avg_k3s1_pad_cip", 9, True), ("global", 36, False), ("reduce_mean_flat", 36, False),
    ("trunc_avg_floor", 4, True), ("global_bipolar", 36, False),
])
def test_pool_becomes_a_window_sum_stage_and_its_scale_goes_into_thresholds(form, window, windowed):
    graph = run_pipeline(import_model(pool_model(form)))[-1].graph
    stage = graph.op("pool")
    assert isinstance(stage, PoolSum) and (stage.channels, stage.window) == (CHANNELS, window)
    producer = graph.producer(stage.inputs[0])
    assert (producer is not None and producer.op_type == "SlidingWindow") == windowed
    reader = graph.consumers(stage.outputs[0])
    if form == "reduce_mean_flat":  # keepdims=0: (N, C, 1, 1) -> (N, C), the same stream
        assert [op.op_type for op in reader] == ["StreamReshape"]
        reader = graph.consumers(reader[0].outputs[0])
    assert [op.op_type for op in reader] == ["Thresholding"]  # the 1/(k*k) scale is in its thresholds
    hardware = set(graph.metadata["partition"]["hardware"])
    assert {"pool", reader[0].name, "fc"} <= hardware
    assert not any(op.op_type in ("Mul", "Add", "AveragePool", "Trunc") for op in graph.ops() if op.name in hardware)


def test_trunc_rounding_modes_give_different_thresholds():
    """ROUND and FLOOR of the same sum / 4 differ: the thresholds keep the rounding mode."""
    values = {}
    for mode in ("round", "floor"):
        graph = run_pipeline(import_model(pool_model(f"trunc_avg_{mode}")))[-1].graph
        [stage] = [op for op in graph.ops() if op.op_type == "Thresholding"]
        values[mode] = graph.constant(stage.inputs[1])
    # code L is reached at sum 4L (FLOOR), or (ROUND, half to even) at 4L - 2 for an even L
    # (L - 1/2 rounds up to it) and at 4L - 1 for an odd L (L - 1/2 rounds down to L - 1)
    np.testing.assert_array_equal(values["floor"][0], 4 * np.arange(1, 16))
    np.testing.assert_array_equal(values["round"][0], [4 * level - (2 if level % 2 == 0 else 1) for level in range(1, 16)])


@pytest.mark.parametrize("kernel, strides, pads, count_include_pad, ceil_mode, size", [
    ((2, 2), (2, 2), (0, 0, 0, 0), 0, 1, (5, 7)),
    ((2, 2), (2, 2), (0, 0, 0, 0), 1, 1, (5, 5)),
    ((3, 3), (2, 2), (1, 1, 1, 1), 1, 0, (5, 6)),
    ((3, 3), (2, 2), (1, 1, 1, 1), 0, 0, (5, 5)),
    ((3, 2), (2, 1), (1, 0, 1, 1), 1, 1, (4, 5)),
    ((3, 3), (2, 2), (1, 2, 0, 1), 0, 1, (6, 7)),
])
def test_average_pool_op_matches_onnxruntime(kernel, strides, pads, count_include_pad, ceil_mode, size):
    """The IR op on real inputs, border divisors and ceil mode included."""
    top, left, bottom, right = pads
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=list(kernel), strides=list(strides),
                            pads=[top, left, bottom, right], count_include_pad=count_include_pad, ceil_mode=ceil_mode)
    model = make_model([node], [("x", [2, 3, *size])], [("y", None)], opset=19, custom_domains=())
    x = np.random.default_rng(1).normal(size=(2, 3, *size)).astype(np.float32)
    expected = run_onnxruntime(model, {"x": x})["y"]
    op = AveragePool(name="pool", kernel_shape=kernel, strides=strides, pads=pads,
                     count_include_pad=bool(count_include_pad), ceil_mode=bool(ceil_mode))
    got = op.execute(x.astype(np.float64))[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_border_dependent_divisor_is_refused_naming_the_node():
    model = pool_model("avg_k3s1_pad_cip")
    for attribute in model.graph.node[1].attribute:
        if attribute.name == "count_include_pad":
            attribute.i = 0
    with pytest.raises(UnsupportedModelError, match=r"^node 'pool' \(AveragePool\): the divisor varies at the border "
                                                      r"\(9 elements inside, 4 at the edge: count_include_pad=0 with pads\)"):
        import_model(model)


def test_ceil_mode_window_past_the_image_is_refused_naming_the_node():
    node = helper.make_node("AveragePool", ["x"], ["y"], name="edge", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    model = make_model([node], [("x", [1, 2, 5, 5])], [("y", None)], custom_domains=())
    with pytest.raises(UnsupportedModelError, match=r"^node 'edge' \(AveragePool\): the divisor varies at the border "
                                                      r"\(4 elements inside, 1 at the edge: ceil_mode"):
        import_model(model)


def test_reduce_mean_over_channels_is_refused_naming_the_node():
    node = helper.make_node("ReduceMean", ["x"], ["y"], name="mean_c", axes=[1], keepdims=1)
    model = make_model([node], [("x", [1, 2, 5, 5])], [("y", None)], custom_domains=())
    with pytest.raises(UnsupportedModelError, match=r"^node 'mean_c' \(ReduceMean\): only the mean over the spatial axes"):
        import_model(model)


@pytest.mark.parametrize("form", ["avg_k3s1_pad_cip", "reduce_mean_flat"])
def test_ir_after_every_pass_is_valid_onnx(form):
    """``--dump-ir`` of a pooled model: the AveragePool keeps the standard domain with
    AveragePool's own attributes (no dilations before opset 19)."""
    from bnncc.ir.export import to_onnx

    for stage in run_pipeline(import_model(pool_model(form))):
        onnx.checker.check_model(to_onnx(stage.graph))


def test_zero_padding_of_codes_with_a_zero_point_pads_with_that_code():
    graph = run_pipeline(import_model(pool_model("avg_k3s1_pad_cip_zero_point")))[-1].graph
    window = graph.producer(graph.op("pool").inputs[0])
    assert window.op_type == "SlidingWindow" and window.pads == (1, 1, 1, 1) and window.pad_value == 3


def test_bipolar_codes_are_counted_as_bits_and_zero_padding_of_them_is_refused():
    graph = run_pipeline(import_model(pool_model("avg_k2s2_bipolar")))[-1].graph
    stage = graph.op("pool")
    assert stage.count_ones and graph.tensors[stage.outputs[0]].dtype.name == "UINT3"  # 0..4 ones
    # the padded pool stays an AveragePool (computed on the host here, before the first
    # hardware stage) with the reason recorded by name
    graph = run_pipeline(import_model(pool_model("avg_k3s1_pad_cip_bipolar")))[-1].graph
    assert graph.op("pool").op_type == "AveragePool" and "pool" in graph.metadata["partition"]["host_pre"]
    assert [r["message"] for r in refusals.reasons(graph) if r["node"] == "pool"] == [
        "node 'pool' (AveragePool): zero padding of a bipolar input cannot be represented in 1 bit "
        "(count_include_pad=1 with pads)"]


@pytest.mark.parametrize("form, fps", [
    ("avg_k3s1_pad_cip_zero_point", 200_000),  # sliding window (padding with the code 3) + PoolSum, PE = 5
    ("global_bipolar", None),                 # the pixel stream summed whole, bipolar codes counted as bits
    ("trunc_avg_round", None),                # 2x2 window sums, Trunc as thresholds
], ids=["k3s1_pad_zero_point", "global_bipolar", "trunc_round"])
def test_rtl_matches_under_stalls_at_the_analytic_interval(tmp_path, form, fps):
    from bnncc.compile import Target, compile_model

    path = tmp_path / f"{form}.onnx"
    onnx.save(pool_model(form), path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, target=Target(fps) if fps else None)
    stages = {stage.module: stage for stage in result.design.stages}
    assert "pool_sum" in stages
    if fps:  # 1620 cycles per frame at PE 1: the window and the sum fold together
        assert stages["pool_sum"].parameters["PE"] == stages["sliding_window"].parameters["SIMD"] == CHANNELS
    samples = 20
    verify = verify_model(path, samples=samples, seed=5, value_range=(0.0, 1.0), build_dir=build, stall=40)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == samples
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()
