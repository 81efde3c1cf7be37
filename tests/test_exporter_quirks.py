"""Files as real exporters write them load, import and verify exactly (tests/quirk_models.py
builds one small model per quirk); the published models in ../shared/models are checked too
where that directory exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import quirk_models as quirks
from click.testing import CliRunner

from bnncc.backends.cosim import run_design
from bnncc.boards.host import host_program
from bnncc.cli import main
from bnncc.errors import ModelLoadError, UnsupportedModelError
from bnncc.frontend import import_model, load_model
from bnncc.ir import ops
from bnncc.naming import code_tensor_name
from bnncc.reference import ReferenceRunner
from bnncc.verify.compare import verify_stages
from bnncc.verify.inputs import random_inputs
from bnncc.passes.apply_folding import load_folding
from bnncc.verify.rtl import load_design
from bnncc.verify.run import model_stages, verify_model

SHARED_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"


def _save(tmp_path, model, name="quirk.onnx") -> Path:
    path = tmp_path / name
    onnx.save(model, path)
    return path


def _import_exact(path: Path, samples=24, value_range=(-1.0, 1.0)):
    """Load and import ``path``; the imported IR equals onnxruntime on the reference rewrite."""
    model = load_model(path)
    graph = import_model(model, source=str(path))
    inputs = random_inputs(graph, samples, 0, *value_range)
    [report] = verify_stages([("import", graph)], inputs, ReferenceRunner(model).run)
    assert report.mismatches == 0 and report.exact + report.ties == samples, report
    assert report.compared_tensors > 1
    return model, graph


def _pipeline_exact(path: Path, samples=24, value_range=(-1.0, 1.0)):
    result = verify_model(path, samples=samples, value_range=value_range)
    assert result.ok, result.table()
    assert len(result.stages) > 5
    return result


def _ort(model, feeds):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _rtl_outputs(path: Path, build: Path, inputs: dict, fps: float = 100000, stall: int = 30) -> dict:
    """Compile ``path`` into ``build`` and return the model outputs computed from the RTL's
    output stream under ``stall`` % stalls (host steps before and after the hardware run by
    the executor)."""
    result = CliRunner().invoke(main, ["compile", str(path), "--fps", str(fps), "-o", str(build)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    program = host_program(path, build)
    graph = model_stages(import_model(load_model(path)), load_folding(build / "folding.json"))[-1][1]
    design = load_design(graph, build)
    out_shape = tuple(graph.tensors[design.output_tensor].shape[1:])
    run = run_design(design, program.hardware_input(inputs), out_shape, seed=3, in_stall=stall, out_stall=stall)
    return program.finish(run.outputs, inputs)


# -- custom domains without opset import, FINN-ONNX ---------------------------------------------
def test_finn_multithreshold_without_opset_import(tmp_path):
    model = quirks.finn_tfc_like()
    assert "finn.custom_op.general" not in {o.domain for o in model.opset_import}
    with pytest.raises(onnx.checker.ValidationError):
        onnx.checker.check_model(model)
    path = _save(tmp_path, model)
    loaded, graph = _import_exact(path, value_range=(0.0, 255.0))
    assert sum(isinstance(op, ops.MultiThreshold) for op in graph.ops()) == 2
    assert graph.tensors["label"].shape == (1, 1)
    # the Unsqueeze -> BatchNormalization -> Squeeze wrapping is one BatchNormalization
    assert not any(isinstance(op, (ops.Unsqueeze, ops.Squeeze)) for op in graph.ops())
    _pipeline_exact(path, value_range=(0.0, 255.0))


def test_finn_like_model_in_rtl(tmp_path):
    """The FINN-ONNX quirk model compiles and its RTL gives the labels onnxruntime gives."""
    path = _save(tmp_path, quirks.finn_tfc_like())
    x = np.random.default_rng(7).integers(0, 256, (6, 1, 1, 4, 4)).astype(np.float32).reshape(6, 1, 4, 4)
    expected = ReferenceRunner(load_model(path)).run({"x": x})["label"]
    labels = _rtl_outputs(path, tmp_path / "build", {"x": x})["label"]
    np.testing.assert_array_equal(labels.reshape(-1), expected.reshape(-1))


def test_brevitas_domain_without_import_ir6_opset9_initializers_as_inputs(tmp_path):
    model = quirks.zoo_tfc_like()
    assert model.ir_version == 6 and len(model.graph.input) == 1 + len(model.graph.initializer)
    path = _save(tmp_path, model)
    graph = import_model(load_model(path), source=str(path))
    assert graph.inputs == ["x"]
    _pipeline_exact(path, value_range=(0.0, 1.0))


def test_unknown_domain_without_import_is_refused(tmp_path):
    path = _save(tmp_path, quirks.unknown_domain_unimported())
    with pytest.raises(ModelLoadError, match=r"node 'Gemm_0'.*domain 'com\.example\.ops'"):
        load_model(path)


def test_future_opset_is_refused(tmp_path):
    path = _save(tmp_path, quirks.future_opset(99))
    highest = onnx.defs.onnx_opset_version()
    with pytest.raises(ModelLoadError) as error:
        load_model(path)
    message = str(error.value)
    assert str(path) in message and "opset 99" in message and f"({highest})" in message
    assert len(message.splitlines()) == 1


# -- old opset spellings ------------------------------------------------------------------------
@pytest.mark.parametrize("opset", [7, 8, 9, 10])
def test_old_opset_spellings(tmp_path, opset):
    path = _save(tmp_path, quirks.old_opset_cnn(opset))
    graph = import_model(load_model(path), source=str(path))
    clip = next(op for op in graph.ops() if isinstance(op, ops.Clip))
    assert (clip.low, clip.high) == (-2.0, 2.0)
    pad = next(op for op in graph.ops() if isinstance(op, ops.Pad))
    assert pad.pads == (1, 1, 1, 1)
    topk = next(op for op in graph.ops() if isinstance(op, ops.TopK))
    assert topk.k == 1
    _pipeline_exact(path)


def test_ir3_model_lists_every_initializer_as_input(tmp_path):
    """IR 3 requires initializers to be graph inputs; they are constants, not model inputs."""
    model = quirks.old_opset_cnn(8, ir_version=3, inits_as_inputs=True)
    path = _save(tmp_path, model)
    assert import_model(load_model(path), source=str(path)).inputs == ["x"]
    assert ReferenceRunner(load_model(path)).input_names == ["x"]
    _pipeline_exact(path)


def test_per_element_batchnorm_of_opset_7_is_refused(tmp_path):
    model = quirks.old_opset_cnn(7)
    batchnorm = next(node for node in model.graph.node if node.op_type == "BatchNormalization")
    batchnorm.attribute[0].i = 0
    with pytest.raises(UnsupportedModelError, match=r"node 'BatchNormalization_0'.*spatial=0"):
        import_model(load_model(_save(tmp_path, model)))


def test_gemm_without_c(tmp_path):
    _pipeline_exact(_save(tmp_path, quirks.gemm_without_c()))


# -- channels-last ops --------------------------------------------------------------------------
def test_channels_last_ops_import_exactly(tmp_path):
    model = quirks.channels_last_cnn()
    path = _save(tmp_path, model)
    loaded, graph = _import_exact(path)
    conv = next(op for op in graph.ops() if isinstance(op, ops.Conv))
    assert conv.name == "Conv_0" and conv.pads == (1, 1, 1, 1)
    rewritten = ReferenceRunner(loaded).model
    assert not any(node.domain == "qonnx.custom_op.channels_last" for node in rewritten.graph.node)
    # between consecutive channels-last layers the IR stays NCHW: one Transpose into the first
    # layer, one out of the last
    transposes = [op for op in graph.ops() if isinstance(op, ops.Transpose) and graph.tensors[op.inputs[0]].batched]
    assert len(transposes) == 2, [op.name for op in transposes]
    result = _pipeline_exact(path)
    assert result.stages[0].compared_tensors == 3  # input and activation codes (NCHW copy compared as an alias), y


def test_channels_last_reference_matches_an_nchw_model(tmp_path):
    """Independent of the Transpose rewrite: the same network written in standard NCHW ops
    (input and Conv weight transposed in numpy) gives the same output."""
    model = quirks.channels_last_cnn()
    x = np.random.default_rng(3).uniform(-1, 1, (1, 6, 6, 2)).astype(np.float32)
    reference = ReferenceRunner(load_model(_save(tmp_path, model))).run({"x": x})["y"]

    nchw = onnx.ModelProto()
    nchw.CopyFrom(model)
    weights = {i.name: i for i in nchw.graph.initializer}
    w1 = onnx.numpy_helper.to_array(weights["w1"]).transpose(0, 3, 1, 2)
    weights["w1"].CopyFrom(onnx.numpy_helper.from_array(np.ascontiguousarray(w1), "w1"))
    w2 = onnx.numpy_helper.to_array(weights["w2"]).reshape(3, 3, 4, 3).transpose(2, 0, 1, 3).reshape(36, 3)
    weights["w2"].CopyFrom(onnx.numpy_helper.from_array(np.ascontiguousarray(w2), "w2"))
    for node in nchw.graph.node:
        if node.domain == "qonnx.custom_op.channels_last":
            node.domain = ""
    dims = nchw.graph.input[0].type.tensor_type.shape.dim
    for dim, size in zip(dims, (1, 2, 6, 6)):
        dim.dim_value = size
    rewritten = ReferenceRunner(nchw).model
    [expected] = _ort(onnx.ModelProto.FromString(rewritten.SerializeToString()), {"x": x.transpose(0, 3, 1, 2)})[:1]
    np.testing.assert_array_equal(reference, expected)


# -- Brevitas 0.13 Trunc ------------------------------------------------------------------------
@pytest.mark.parametrize("zero_point", [0.0, 32.0])
def test_brevitas_six_input_trunc(tmp_path, zero_point):
    path = _save(tmp_path, quirks.brevitas_trunc6(zero_point=zero_point))
    model = load_model(path)
    trunc = next(op for op in import_model(model).ops() if isinstance(op, ops.Trunc))
    assert trunc.shift == 16.0 and (trunc.low, trunc.high) == (-8, 7)
    x = np.random.default_rng(0).uniform(-1, 1, (64, 8)).astype(np.float32)
    outputs = ReferenceRunner(model, extra_outputs=["xt"]).run({"x": x})
    # qonnx's trunc with s = 1/16, out_scale = 1: v = round(xq / s + z); code = clip(floor(v / 16),
    # -8, 7); y = (code - z / 16) * out_scale, where xq is the 8-bit input quantizer's output
    xq = np.clip(np.round(x / np.float32(0.0625)), -128, 127) * np.float32(0.0625)
    code = np.clip(np.floor(np.round(xq / np.float32(0.0625) + zero_point) / 16), -8, 7)
    np.testing.assert_array_equal(outputs[code_tensor_name("xt")], code.astype(np.float32))
    np.testing.assert_allclose(outputs["xt"], (code - zero_point / 16) * 1.0, rtol=0, atol=1e-6)
    _pipeline_exact(path)


def test_six_input_trunc_agrees_with_qonnx():
    """qonnx's own executor (its Trunc version 2 takes these six inputs; it picks the version
    from the domain's opset import, bnncc from the number of inputs) computes the same."""
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = quirks.brevitas_trunc6(zero_point=32.0)
    for entry in model.opset_import:
        if entry.domain == quirks.QONNX:
            entry.version = 2
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 1
    x = np.random.default_rng(5).uniform(-1, 1, (1, 8)).astype(np.float32)
    ours = ReferenceRunner(model, extra_outputs=["xt"]).run({"x": x})
    theirs = execute_onnx(ModelWrapper(model).transform(InferShapes()), {"x": x}, return_full_exec_context=True)
    np.testing.assert_array_equal(ours["xt"], theirs["xt"])
    np.testing.assert_array_equal(ours["y"], theirs["y"])


# -- TorchScript's ConstantOfShape pads -----------------------------------------------------------
def test_constant_of_shape_pads_fold(tmp_path):
    path = _save(tmp_path, quirks.torchscript_constant_pad(value=-1.0))
    graph = import_model(load_model(path), source=str(path))
    pad = next(op for op in graph.ops() if isinstance(op, ops.Pad))
    assert pad.pads == (1, 1, 1, 1) and pad.value == -1.0
    assert not any(type(op).__name__ in ("Concat", "Slice", "Cast") for op in graph.ops())
    _pipeline_exact(path)


# -- published models (../shared/models) ----------------------------------------------------------
def _shared(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (published models live in ../shared/models beside the checkout)")
    return path


@pytest.mark.parametrize("name", ["finn_tfc_w1a1.onnx", "qonnx_zoo_tfc_2w2a.onnx", "hls4ml_bnn_fc_1layer.onnx"])
def test_published_models_import_exactly(name):
    path = _shared(name)
    value_range = (0.0, 255.0) if name.startswith("finn") else (0.0, 1.0) if "zoo" in name else (-1.0, 1.0)
    _import_exact(path, samples=20, value_range=value_range)


def test_finn_tfc_reference_labels():
    path = _shared("finn_tfc_w1a1.onnx")
    x = np.load(SHARED_MODELS / "finn_tfc_w1a1.input.npy").astype(np.float32)
    expected = np.load(SHARED_MODELS / "finn_tfc_w1a1.expected.npy")
    model = load_model(path)
    labels = ReferenceRunner(model).run({"global_in": x})["global_out"]
    np.testing.assert_array_equal(labels.ravel(), expected.ravel())


def test_finn_tfc_labels_from_rtl(tmp_path):
    """FINN's own TFC-w1a1 compiles; under 30 % stalls its RTL gives the labels 7, 2, 1, 0 on
    FINN's four MNIST digits (pixels 0-255)."""
    path = _shared("finn_tfc_w1a1.onnx")
    x = np.load(SHARED_MODELS / "finn_tfc_w1a1.input.npy").astype(np.float32)
    expected = np.load(SHARED_MODELS / "finn_tfc_w1a1.expected.npy")
    labels = _rtl_outputs(path, tmp_path / "build", {"global_in": x}, fps=10000)["global_out"]
    np.testing.assert_array_equal(labels.reshape(-1), expected.reshape(-1))
    result = verify_model(path, samples=20, value_range=(0.0, 255.0), build_dir=tmp_path / "build", stall=30)
    assert result.ok and result.rtl.samples == 20 and result.rtl.ok, result.table()


def test_channels_last_branched_model_imports():
    """hls4ml's channels-last branched CNN imports, its standard-domain Resize on an NHWC
    activation as a nearest-neighbour upsampling by 2 x 2."""
    path = _shared("hls4ml_branched_ch_last.onnx")
    graph = import_model(load_model(path), source=str(path))
    [resize] = [op for op in graph.ops() if op.op_type == "NearestUpsample"]
    assert tuple(resize.factors) == (2, 2) and graph.op_count().get("Concat") == 1


def test_channels_last_separable_model_imports():
    """hls4ml's channels-last depthwise-separable CNN imports, its LeakyRelu included."""
    path = _shared("hls4ml_separable_conv_ch_last.onnx")
    counts = import_model(load_model(path), source=str(path)).op_count()
    assert counts.get("LeakyRelu") == 1 and counts.get("Conv") == 4, counts
