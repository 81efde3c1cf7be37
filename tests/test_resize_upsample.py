"""Nearest-neighbour upsampling: ONNX Resize (mode nearest, integer scales, from ``scales`` or
``sizes``) and Upsample (opsets 7 and 9) between a quantizer and a convolution, through
import and every pass, exact against onnxruntime; the IR op against onnxruntime for every
coordinate transformation and nearest mode it accepts, and the others refused by name;
compiled to RTL that is exact under random stalls at the analytic interval; and a U-Net-like
block (conv, max-pool, conv, upsample, concat with the skip, conv) exact in RTL."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.errors import UnsupportedModelError
from bnncc.frontend import import_model
from bnncc.frontend.resize import NEAREST_MODES, TRANSFORMS
from bnncc.ir.ops.upsample import NearestUpsample, Upsample
from bnncc.passes.pipeline import run_pipeline
from bnncc.verify.run import verify_model
from helpers import make_model, run_onnxruntime
from join_models import _Net, _stem

SIZE = 4


def _upsample_nodes(net: _Net, form: str, x: str, out: str, shape) -> tuple[int, int]:
    """The upsampling node of ``form`` from ``x`` (N, C, H, W) = ``shape``; its factors."""
    n, c, h, w = shape
    if form == "resize_scales":      # opset 13, half_pixel + round_prefer_floor (the defaults)
        net.inits["up_scales"] = np.array([1, 1, 2, 2], np.float32)
        net.node("Resize", [x, "", "up_scales"], out, "up", mode="nearest")
        return 2, 2
    if form == "resize_sizes":       # sizes, asymmetric + floor, unequal factors
        net.inits["up_sizes"] = np.array([n, c, 2 * h, 3 * w], np.int64)
        net.node("Resize", [x, "", "", "up_sizes"], out, "up", mode="nearest", coordinate_transformation_mode="asymmetric",
                 nearest_mode="floor")
        return 2, 3
    if form == "resize_axes":        # opset 18: scales for the listed axes only
        net.inits["up_scales"] = np.array([3, 1], np.float32)
        net.node("Resize", [x, "", "up_scales"], out, "up", mode="nearest", axes=[2, 3], nearest_mode="round_prefer_ceil")
        return 3, 1
    if form == "upsample_opset9":    # scales as an input
        net.inits["up_scales"] = np.array([1, 1, 2, 2], np.float32)
        net.node("Upsample", [x, "up_scales"], out, "up", mode="nearest")
        return 2, 2
    if form == "upsample_opset7":    # scales as an attribute
        net.node("Upsample", [x], out, "up", mode="nearest", scales=[1.0, 1.0, 2.0, 3.0])
        return 2, 3
    raise ValueError(form)


OPSETS = {"resize_axes": 18, "upsample_opset9": 9, "upsample_opset7": 7}


def upsample_model(form: str, seed: int = 0, channels: int = 4, bits: int = 2, kernel: int = 3) -> onnx.ModelProto:
    """x -> Quant(4b) -> conv 3x3 -> BN -> Quant(bits) 'a1' -> upsample -> conv kernel x kernel
    -> BN -> Quant -> Flatten -> MatMul -> y."""
    net = _Net(seed)
    _stem(net, channels, bits, 0.5)
    fh, fw = _upsample_nodes(net, form, "a1", "up_out", (1, channels, SIZE, SIZE))
    net.conv("conv2", "up_out", "c2", channels, 3, kernel=kernel, pad=kernel // 2)
    net.bn("bn2", "c2", "b2", 3)
    net.quant("act2", "b2", "a2", bits, 0.5)
    net.head("a2", 3 * SIZE * fh * SIZE * fw)
    model = net.model((2, SIZE, SIZE))
    opset = OPSETS.get(form, 13)
    model.opset_import[0].version = opset
    return model


FORMS = ["resize_scales", "resize_sizes", "resize_axes", "upsample_opset9", "upsample_opset7"]


@pytest.mark.parametrize("form", FORMS)
def test_every_stage_matches_onnxruntime(tmp_path, form):
    path = tmp_path / f"{form}.onnx"
    onnx.save(upsample_model(form), path)
    samples = 60
    result = verify_model(path, samples=samples, seed=3)
    assert result.ok, result.table()
    assert [s.stage for s in result.stages][-1] == "folding"
    for stage in result.stages:
        assert stage.exact + stage.ties == samples, result.table()
        assert stage.exact >= samples - 3, result.table()


@pytest.mark.parametrize("form, factors", [("resize_scales", (2, 2)), ("resize_sizes", (2, 3)), ("upsample_opset7", (2, 3))])
def test_upsample_becomes_a_hardware_stage_on_integer_codes(form, factors):
    stages = run_pipeline(import_model(upsample_model(form)))
    assert isinstance(stages[0].graph.op("up"), NearestUpsample)
    graph = stages[-1].graph
    stage = graph.op("up")
    assert isinstance(stage, Upsample) and tuple(stage.factors) == factors
    assert (stage.channels, stage.H, stage.W) == (4, SIZE, SIZE)
    assert graph.tensors[stage.inputs[0]].dtype.is_integer
    assert graph.producer(stage.inputs[0]).op_type == "MVAU" and [op.op_type for op in graph.consumers(stage.outputs[0])] == [
        "SlidingWindow"]
    assert "up" in graph.metadata["partition"]["hardware"]


# -- the IR op against onnxruntime for every mode pair ---------------------------------------
def _resize_alone(transform: str, nearest: str, shape, factors, sizes: bool, opset: int = 19) -> onnx.ModelProto:
    n, c, h, w = shape
    inits = {}
    if sizes:
        inits["sizes"] = np.array([n, c, h * factors[0], w * factors[1]], np.int64)
        inputs = ["x", "", "", "sizes"]
    else:
        inits["scales"] = np.array([1, 1, *factors], np.float32)
        inputs = ["x", "", "scales"]
    node = helper.make_node("Resize", inputs, ["y"], name="up", mode="nearest", coordinate_transformation_mode=transform,
                            nearest_mode=nearest)
    return make_model([node], [("x", ["N", *shape[1:]])], [("y", None)], inits, opset=opset, custom_domains=())


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("nearest", NEAREST_MODES)
def test_nearest_modes_accepted_exactly_when_onnxruntime_repeats_pixels(transform, nearest):
    """For factors (2, 3) and (3, 1) on odd sizes: the op is imported exactly when
    onnxruntime's result is plain pixel repetition, and then equals it; else the refusal
    names both modes."""
    x = np.random.default_rng(0).normal(size=(1, 3, 5, 3)).astype(np.float32)
    for factors, sizes in (((2, 3), False), ((3, 1), True)):
        model = _resize_alone(transform, nearest, x.shape, factors, sizes)
        expected = run_onnxruntime(model, {"x": x})["y"]
        repeated = np.repeat(np.repeat(x, factors[0], axis=2), factors[1], axis=3)
        if np.array_equal(expected, repeated):
            graph = import_model(model, require_quantization=False)
            op = graph.op("up")
            assert isinstance(op, NearestUpsample) and tuple(op.factors) == factors
            np.testing.assert_array_equal(op.execute(x.astype(np.float64))[0], expected)
        else:
            with pytest.raises(UnsupportedModelError, match=rf"^node 'up' \(Resize\): coordinate_transformation_mode "
                                                             rf"'{transform}' with nearest_mode '{nearest}' does not repeat"):
                import_model(model, require_quantization=False)


def test_the_usual_modes_are_accepted():
    """The defaults (half_pixel, round_prefer_floor), asymmetric + floor and
    tf_half_pixel_for_nn + floor repeat pixels for every integer factor."""
    for transform, nearest in (("half_pixel", "round_prefer_floor"), ("asymmetric", "floor"),
                               ("tf_half_pixel_for_nn", "floor"), ("pytorch_half_pixel", "round_prefer_ceil")):
        model = _resize_alone(transform, nearest, (1, 2, 3, 4), (3, 2), False)
        assert isinstance(import_model(model, require_quantization=False).op("up"), NearestUpsample)


@pytest.mark.parametrize("change, message", [
    ({"mode": "linear"}, r"mode 'linear' is not supported \(only 'nearest' with integer scales\)"),
    ({"scales": [1, 1, 1.5, 2]}, r"scales \[1.0, 1.0, 1.5, 2.0\]: the H scale 1.5 is not a positive integer"),
    ({"scales": [1, 2, 2, 2]}, r"only H and W may be scaled \(N and C scales must be 1\)"),
    ({"scales": [1, 1, 0.5, 0.5]}, r"the H scale 0.5 is not a positive integer"),
    ({"coordinate_transformation_mode": "tf_crop_and_resize"},
     r"coordinate_transformation_mode 'tf_crop_and_resize' is not supported"),
    ({"coordinate_transformation_mode": "align_corners", "scales": [1, 1, 3, 3]},
     r"coordinate_transformation_mode 'align_corners' with nearest_mode 'round_prefer_floor' does not repeat pixels for "
     r"the H factor 3"),
])
def test_resizes_that_are_not_pixel_repetition_are_refused_by_name(change, message):
    attributes = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_floor"}
    scales = change.pop("scales", [1, 1, 2, 2])
    attributes.update(change)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", **attributes)
    model = make_model([node], [("x", [1, 2, 3, 3])], [("y", None)], {"scales": np.array(scales, np.float32)},
                       custom_domains=())
    with pytest.raises(UnsupportedModelError, match=rf"^node 'up' \(Resize\): (.*: )?{message}"):
        import_model(model, require_quantization=False)


def test_upsample_at_opset_10_is_refused_by_name():
    node = helper.make_node("Upsample", ["x", "scales"], ["y"], name="up", mode="nearest")
    model = make_model([node], [("x", [1, 2, 3, 3])], [("y", None)], {"scales": np.array([1, 1, 2, 2], np.float32)},
                       opset=10, custom_domains=())
    with pytest.raises(UnsupportedModelError, match=r"^node 'up' \(Upsample\): Upsample is supported at opsets 7-9"):
        import_model(model, require_quantization=False)


# -- RTL ---------------------------------------------------------------------------------------
def unet_block(seed: int = 0, channels: int = 4, bits: int = 2) -> onnx.ModelProto:
    """x -> Quant -> conv 3x3 -> BN -> Quant 'a1' (the skip) -> MaxPool 2x2 -> conv 3x3 -> BN
    -> Quant -> Resize x2 -> Concat(a1, up) -> conv 3x3 -> BN -> Quant -> Flatten -> MatMul."""
    net = _Net(seed)
    _stem(net, channels, bits, 0.5)
    net.node("MaxPool", ["a1"], "p1", "pool", kernel_shape=[2, 2], strides=[2, 2])
    net.conv("conv2", "p1", "c2", channels, 6)
    net.bn("bn2", "c2", "b2", 6)
    net.quant("act2", "b2", "a2", bits, 0.5)
    net.inits["up_scales"] = np.array([1, 1, 2, 2], np.float32)
    net.node("Resize", ["a2", "", "up_scales"], "u2", "up", mode="nearest")
    net.node("Concat", ["a1", "u2"], "cat", "concat", axis=1)
    net.conv("conv3", "cat", "c3", channels + 6, 3)
    net.bn("bn3", "c3", "b3", 3)
    net.quant("act3", "b3", "a3", bits, 0.5)
    net.head("a3", 3 * SIZE * SIZE)
    return net.model((2, SIZE, SIZE))


@pytest.mark.parametrize("name, fps", [("resize_sizes", 500_000), ("unet", None)])
def test_rtl_matches_under_stalls_at_the_analytic_interval(tmp_path, name, fps):
    """One network with a 2x3 upsampling before a 1x1 convolution folded for 500,000 frames
    per second (200 cycles: the upsampling's 384 output beats need PE 2 of its 4 channels),
    and the U-Net-like block at the default folding: exact in RTL under 30 % stalls, the
    measured interval within 2 % of the analytic bottleneck."""
    from bnncc.compile import Target, compile_model

    path = tmp_path / f"{name}.onnx"
    onnx.save(unet_block() if name == "unet" else upsample_model(name, kernel=1), path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, target=Target(fps) if fps else None)
    modules = [stage.module for stage in result.design.stages]
    assert "upsample" in modules and (name != "unet" or "stream_concat" in modules)
    if fps:
        [stage] = [s for s in result.design.stages if s.module == "upsample"]
        assert stage.parameters["PE"] in (2, 4) and stage.cycles <= 200
    samples = 20
    verify = verify_model(path, samples=samples, seed=5, build_dir=build, stall=30)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == samples
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()


@pytest.mark.parametrize("family", ["xilinx", "ecp5"])
def test_calibration_of_the_stage_is_the_current_model(family):
    """benchmarks/results/calibration_upsample_<family>.json: written by the current terms and
    coefficients, block RAM exact on every grid point, LUTs within 10 % on average."""
    import json
    from pathlib import Path

    from bnncc.estimate import estimate_link

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / f"calibration_upsample_{family}.json"
    points = [p for p in json.loads(path.read_text())["points"] if p["module"] == "upsample"]
    assert len(points) >= 10
    errors = []
    for point in points:
        mine = estimate_link("upsample", point["parameters"], family, point.get("hints"))
        assert mine.bram == point["yosys"]["bram"], point["name"]
        assert all(abs(v - point["estimate"][k]) < 1e-6 for k, v in mine.to_dict().items()), point["name"]
        errors.append(abs(mine.lut - point["yosys"]["lut"]) / point["yosys"]["lut"])
    assert np.mean(errors) < 0.10


def channels_last_resize(seed: int = 0, size: int = 4) -> onnx.ModelProto:
    """hls4ml's channels-last export (as ../shared/models/hls4ml_branched_ch_last.onnx): NHWC
    input, channels-last Conv and BatchNormalization, a standard-domain Resize with scales
    (1, 2, 2, 1) on the NHWC activation (asymmetric, floor), another channels-last Conv and
    MaxPool, then Reshape and MatMul."""
    from onnx import TensorProto

    from quirk_models import BREVITAS, CHANNELS_LAST, QONNX, _model, _quant

    rng = np.random.default_rng(seed)
    inits = {
        "w1": rng.normal(size=(4, 3, 3, 2)).astype(np.float32), "b1": rng.normal(size=4).astype(np.float32),
        "g": rng.uniform(0.5, 2.0, 4).astype(np.float32), "beta": rng.normal(size=4).astype(np.float32),
        "mean": rng.normal(size=4).astype(np.float32), "var": rng.uniform(0.5, 2.0, 4).astype(np.float32),
        "roi": np.zeros(0, np.float32), "scales": np.array([1, 2, 2, 1], np.float32),
        "w2": rng.normal(size=(3, 3, 3, 4)).astype(np.float32), "flat": np.array([1, -1], np.int64),
        "w3": rng.normal(size=(3 * size ** 2, 5)).astype(np.float32),
    }
    nodes = [
        _quant("Quant_in", "x", "xq", 4, inits, 0.125, QONNX),
        _quant("Quant_w1", "w1", "w1q", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["xq", "w1q", "b1"], ["c"], name="Conv_0", domain=CHANNELS_LAST,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["cb"], name="BatchNormalization_0",
                         domain=CHANNELS_LAST, epsilon=1e-3),
        _quant("Quant_a1", "cb", "a1", 3, inits, 0.5, QONNX, signed=0),
        helper.make_node("Resize", ["a1", "roi", "scales"], ["u"], name="Resize_0", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        _quant("Quant_w2", "w2", "w2q", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("Conv", ["u", "w2q"], ["c2"], name="Conv_1", domain=CHANNELS_LAST,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        _quant("Quant_a2", "c2", "a2", 2, inits, 0.5, QONNX, signed=0),
        helper.make_node("MaxPool", ["a2"], ["p"], name="MaxPool_0", domain=CHANNELS_LAST, kernel_shape=[2, 2], strides=[2, 2],
                         pads=[0, 0, 0, 0]),
        helper.make_node("Reshape", ["p", "flat"], ["f"], name="Reshape_0"),
        _quant("Quant_w3", "w3", "w3q", 2, inits, 0.5, QONNX, narrow=1),
        helper.make_node("MatMul", ["f", "w3q"], ["y"], name="MatMul_0"),
    ]
    return _model(nodes, [("x", TensorProto.FLOAT, [1, size, size, 2])], [("y", TensorProto.FLOAT, [1, 5])], inits,
                  opset=13, ir_version=8, imports=(BREVITAS,))


def test_resize_of_a_channels_last_network_is_exact_and_becomes_the_stage(tmp_path):
    """A standard Resize reading an NHWC activation scales axes 1 and 2: imported on the NCHW
    copy the channels-last import holds, exact at every pass, and the Upsample stage on the
    integer codes between the two convolutions."""
    path = tmp_path / "channels_last_resize.onnx"
    onnx.save(channels_last_resize(), path)
    samples = 40
    result = verify_model(path, samples=samples, seed=2)
    assert result.ok, result.table()
    for stage in result.stages:
        assert stage.exact + stage.ties == samples and stage.exact >= samples - 2, result.table()
    graph = run_pipeline(import_model(onnx.load(path)))[-1].graph
    stage = graph.op("Resize_0")
    assert isinstance(stage, Upsample) and tuple(stage.factors) == (2, 2) and (stage.H, stage.W, stage.channels) == (4, 4, 4)
    assert "Resize_0" in graph.metadata["partition"]["hardware"]
