"""Bad input through the command line: never a traceback, never an internal error, one line
``error: ...``, the documented exit code (1 bad model, 2 bad option) and no build directory
left behind. Cases the design accepts (a negative quantizer scale) must compile instead."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import quirk_models
from bnncc.cli import main
from helpers import QONNX, make_model
from tiny_models import float_mlp, tiny_cnn, tiny_mlp


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def check_refused(result, code: int, *fragments: str, out_dir: Path | None = None) -> str:
    """One ``error:`` line on stderr, exit ``code``, no traceback, no internal error, no
    ``out_dir``; returns the message."""
    stderr = result.stderr
    assert "Traceback" not in stderr + result.output, stderr
    assert "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith("error: "), stderr
    assert result.exit_code == code, (result.exit_code, stderr)
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    if out_dir is not None:
        assert not out_dir.exists(), f"{out_dir} was left behind"
        assert not [p for p in out_dir.parent.iterdir() if p.name.startswith(out_dir.name)], list(out_dir.parent.iterdir())
    return errors[0]


def refused_everywhere(tmp_path: Path, model_path: Path, *fragments: str, code: int = 1) -> None:
    """``compile MODEL -o DIR`` and ``verify MODEL`` both refuse ``model_path``."""
    out = tmp_path / "build"
    check_refused(run_cli("compile", model_path, "-o", out), code, *fragments, out_dir=out)
    check_refused(run_cli("verify", model_path, "-n", "4"), code, *fragments)


def save(tmp_path: Path, model: onnx.ModelProto, name: str = "bad.onnx", **kwargs) -> Path:
    path = tmp_path / name
    onnx.save(model, path, **kwargs)
    return path


def initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def set_initializer(model: onnx.ModelProto, name: str, value) -> onnx.ModelProto:
    tensor = initializer(model, name)
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(value, dtype=onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)), name))
    return model


def with_attribute(model: onnx.ModelProto, node_name: str, **attributes) -> onnx.ModelProto:
    node = next(n for n in model.graph.node if n.name == node_name)
    for key, value in attributes.items():
        kept = [a for a in node.attribute if a.name != key]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute(key, value)])
    return model


def with_input_shape(model: onnx.ModelProto, shape) -> onnx.ModelProto:
    dims = model.graph.input[0].type.tensor_type.shape
    del dims.dim[:]
    for size in shape:
        dims.dim.add(dim_value=size) if isinstance(size, int) else dims.dim.add(dim_param=size)
    return model


# -- files that are not models --------------------------------------------------------------------
def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    refused_everywhere(tmp_path, path, str(path))


def test_truncated_file(tmp_path):
    data = save(tmp_path, tiny_mlp(), "whole.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) * 2 // 3])
    refused_everywhere(tmp_path, path, str(path))


def test_garbage_bytes(tmp_path):
    path = tmp_path / "noise.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    refused_everywhere(tmp_path, path, str(path))


def test_text_file(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a model\n" * 20)
    refused_everywhere(tmp_path, path, str(path), "not an ONNX model")


def test_directory_as_model(tmp_path):
    """A directory for MODEL is a usage error (exit 2) on one line, before bnncc reads it."""
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    out = tmp_path / "build"
    check_refused(run_cli("compile", folder, "-o", out), 2, "is a directory", out_dir=out)
    result = run_cli("verify", folder)
    check_refused(result, 2, "is a directory")
    assert result.stderr.count("\n") == 1, result.stderr


def test_missing_file(tmp_path):
    refused_everywhere(tmp_path, tmp_path / "nope.onnx", "nope.onnx")


def test_model_without_nodes(tmp_path):
    graph = helper.make_graph([], "empty", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    refused_everywhere(tmp_path, save(tmp_path, model), "no graph nodes")


# -- external data ------------------------------------------------------------------------------
def _external(tmp_path: Path) -> tuple[Path, onnx.ModelProto]:
    path = save(tmp_path, tiny_mlp(), "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                location="ext.onnx.data", size_threshold=0)
    return path, onnx.load(str(path), load_external_data=False)


def _relocate(model: onnx.ModelProto, location: str) -> None:
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location


def test_missing_external_data(tmp_path):
    path, _ = _external(tmp_path)
    (tmp_path / "ext.onnx.data").unlink()
    refused_everywhere(tmp_path, path, "ext.onnx.data", "missing")


def test_truncated_external_data(tmp_path):
    path, _ = _external(tmp_path)
    data = tmp_path / "ext.onnx.data"
    data.write_bytes(data.read_bytes()[:40])
    refused_everywhere(tmp_path, path, str(path))


def test_external_data_absolute_path(tmp_path):
    path, model = _external(tmp_path)
    _relocate(model, str((tmp_path / "ext.onnx.data").resolve()))
    onnx.save(model, path)
    refused_everywhere(tmp_path, path, "absolute path")


def test_external_data_escaping_the_model_directory(tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    path, model = _external(tmp_path)
    _relocate(model, "../ext.onnx.data")
    moved = save(inner, model, "ext.onnx")
    refused_everywhere(tmp_path, moved, "../ext.onnx.data", "outside the model's directory")


# -- graph structure ----------------------------------------------------------------------------
def test_cycle(tmp_path):
    model = tiny_mlp()
    node = next(n for n in model.graph.node if n.op_type == "Mul")
    node.input[0] = "y"  # x2 = y * 2 and y depends on x2
    refused_everywhere(tmp_path, save(tmp_path, model))


def test_undefined_tensor(tmp_path):
    model = tiny_mlp()
    model.graph.node[-1].input[0] = "nowhere"
    refused_everywhere(tmp_path, save(tmp_path, model), "nowhere")


def test_duplicate_tensor_name(tmp_path):
    model = tiny_mlp()
    model.graph.node.append(helper.make_node("Relu", ["h"], ["a"], name="second_writer"))
    refused_everywhere(tmp_path, save(tmp_path, model), "'a'")


def test_output_not_produced(tmp_path):
    model = tiny_mlp()
    model.graph.output.append(helper.make_tensor_value_info("ghost", TensorProto.FLOAT, [1, 5]))
    refused_everywhere(tmp_path, save(tmp_path, model), "ghost")


def _two_inputs(join: str) -> onnx.ModelProto:
    model = tiny_mlp()
    model.graph.input.append(helper.make_tensor_value_info("x_extra", TensorProto.FLOAT, ["N", 16]))
    model.graph.node.insert(0, helper.make_node(join, ["x", "x_extra"], ["x_sum"], name="join"))
    model.graph.node[1].input[0] = "x_sum"
    return model


def test_two_graph_inputs_joined_on_the_host_compile(tmp_path):
    """Float work before the first quantizer runs on the host, two inputs included."""
    path = save(tmp_path, _two_inputs("Add"))
    out = tmp_path / "build"
    assert run_cli("compile", path, "-o", out).exit_code == 0
    result = run_cli("verify", path, "-n", "8")
    assert result.exit_code == 0 and "OK" in result.output, result.stderr


def test_two_graph_inputs_with_an_unsupported_join(tmp_path):
    out = tmp_path / "build"
    check_refused(run_cli("compile", save(tmp_path, _two_inputs("Max")), "-o", out), 1, "'join'", "Max", out_dir=out)


def test_string_input(tmp_path):
    model = tiny_mlp()
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.STRING
    refused_everywhere(tmp_path, save(tmp_path, model))


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0], ids=["nan", "inf", "zero"])
def test_bad_quantizer_scale(tmp_path, value):
    model = set_initializer(tiny_mlp(), "qact_s", value)
    refused_everywhere(tmp_path, save(tmp_path, model), "qact", "scale")


def test_negative_scale_compiles(tmp_path):
    model = set_initializer(tiny_mlp(), "qw1_s", -0.5)
    out = tmp_path / "build"
    result = run_cli("compile", save(tmp_path, model), "-o", out)
    assert result.exit_code == 0, result.stderr
    assert (out / "design.json").is_file()


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_non_finite_weights(tmp_path, value):
    model = tiny_mlp()
    weights = numpy_helper.to_array(initializer(model, "w1")).copy()
    weights[2, 3] = value
    refused_everywhere(tmp_path, save(tmp_path, set_initializer(model, "w1", weights)), "w1")


def test_nan_in_a_constant_node(tmp_path):
    model = tiny_mlp()
    model.graph.initializer.remove(initializer(model, "two"))
    model.graph.node.insert(0, helper.make_node("Constant", [], ["two"], name="const_two",
                                                value=numpy_helper.from_array(np.float32(np.nan))))
    refused_everywhere(tmp_path, save(tmp_path, model), "'two'", "NaN")


def test_negative_batchnorm_variance(tmp_path):
    model = set_initializer(tiny_mlp(), "var", -np.ones(12))
    refused_everywhere(tmp_path, save(tmp_path, model), "BatchNormalization", "var + epsilon")


def test_huge_weight_scale_compiles(tmp_path):
    """A weight scale of 3e38 makes de-quantized weights too wide for any integer type: they
    are real numbers then, and the model still compiles."""
    model = set_initializer(tiny_mlp(), "qw2_s", 3e38)
    out = tmp_path / "build"
    result = run_cli("compile", save(tmp_path, model), "-o", out)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("bits", [0.0, 64.0, 2.5, -3.0])
def test_bad_bit_width(tmp_path, bits):
    model = set_initializer(tiny_mlp(), "qact_b", bits)
    refused_everywhere(tmp_path, save(tmp_path, model), "qact", "bit width")


@pytest.mark.parametrize("bits", [24.0, 32.0])
def test_activation_too_wide_for_thresholds(tmp_path, bits):
    """A 24- or 32-bit activation quantizer would need 2**bits - 1 thresholds per channel: refused
    by name instead of exhausting memory."""
    model = set_initializer(tiny_mlp(), "qact_b", bits)
    refused_everywhere(tmp_path, save(tmp_path, model), "qact", "thresholds per channel")


def test_unknown_rounding_mode(tmp_path):
    model = with_attribute(tiny_mlp(), "qact", rounding_mode="STOCHASTIC")
    refused_everywhere(tmp_path, save(tmp_path, model), "qact", "STOCHASTIC")


def test_fractional_zero_point_is_exact(tmp_path):
    """QONNX allows any real zero point: code = round(x / s + 0.5), y = (code - 0.5) * s is
    compiled, and exact."""
    path = save(tmp_path, set_initializer(tiny_mlp(), "qact_z", 0.5))
    out = tmp_path / "build"
    assert run_cli("compile", path, "-o", out).exit_code == 0
    result = run_cli("verify", path, "-n", "20")
    assert result.exit_code == 0 and "OK" in result.output, result.stderr


def test_bad_signed_attribute(tmp_path):
    model = with_attribute(tiny_mlp(), "qact", signed=7)
    refused_everywhere(tmp_path, save(tmp_path, model), "qact", "signed")


# -- shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [[1, 10**12], [1, -3], [1, 0], [1, 16, "channels"]],
                         ids=["huge", "negative", "zero", "dynamic"])
def test_bad_input_dimensions(tmp_path, shape):
    model = with_input_shape(tiny_mlp(), shape)
    refused_everywhere(tmp_path, save(tmp_path, model), "'x'")


def test_input_without_shape(tmp_path):
    model = tiny_mlp()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    refused_everywhere(tmp_path, save(tmp_path, model), "shape")


def test_weight_shape_mismatch(tmp_path):
    model = tiny_mlp()
    set_initializer(model, "w2", np.ones((7, 5), np.float32))
    refused_everywhere(tmp_path, save(tmp_path, model))


@pytest.mark.parametrize("attributes, fragment", [
    ({"strides": [0, 1]}, "strides"),
    ({"dilations": [0, 1]}, "dilations"),
    ({"pads": [-1, 0, 0, 0]}, "negative pads"),
    ({"kernel_shape": [5, 5]}, "kernel_shape"),
], ids=["stride0", "dilation0", "negative-pads", "kernel-mismatch"])
def test_bad_conv_attributes(tmp_path, attributes, fragment):
    model = with_attribute(tiny_cnn(), "conv1", **attributes)
    refused_everywhere(tmp_path, save(tmp_path, model), "'conv1'", fragment)


def test_axis_out_of_range(tmp_path):
    model = with_attribute(quirk_models.zoo_tfc_like(), "Concat_0", axis=9)
    refused_everywhere(tmp_path, save(tmp_path, model), "'Concat_0'", "axis=9")


def test_gather_index_out_of_range(tmp_path):
    model = set_initializer(quirk_models.zoo_tfc_like(), "gather_index", 9)
    refused_everywhere(tmp_path, save(tmp_path, model), "'Gather_0'", "out of range")


def _qdq_mlp(axis: int) -> onnx.ModelProto:
    inits = {"s": np.full(8, 0.1, np.float32), "z": np.zeros(8, np.uint8),
             "w": np.random.default_rng(0).integers(-3, 3, (8, 4)).astype(np.int8), "ws": np.float32(0.5)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], name="ql", axis=axis),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"], name="dql", axis=axis),
             helper.make_node("DequantizeLinear", ["w", "ws"], ["wd"], name="dqw"),
             helper.make_node("MatMul", ["xd", "wd"], ["y"], name="mm")]
    return make_model(nodes, [("x", ["N", 8])], [("y", ["N", 4])], inits, custom_domains=())


def test_quantize_linear_axis_out_of_range(tmp_path):
    refused_everywhere(tmp_path, save(tmp_path, _qdq_mlp(axis=5)), "'ql'", "axis=5")


def test_reference_failing_inside_a_node_is_a_model_error():
    from bnncc.errors import UnsupportedModelError
    from bnncc.reference import ReferenceRunner

    runner = ReferenceRunner(_qdq_mlp(axis=5))
    with pytest.raises(UnsupportedModelError, match="onnxruntime cannot run the model"):
        runner.run({"x": np.zeros((2, 8), np.float32)})


def test_failing_reference_leaves_no_onnxruntime_log(tmp_path):
    """onnxruntime writes its own error log straight to the process's stderr (past Python's
    sys.stderr): the reference keeps it quiet, so the user sees only bnncc's one line."""
    import subprocess
    import sys

    path = save(tmp_path, _qdq_mlp(axis=5))
    script = ("import numpy as np, onnx\n"
              "from bnncc.reference import ReferenceRunner\n"
              f"runner = ReferenceRunner(onnx.load({str(path)!r}))\n"
              "try:\n    runner.run({'x': np.zeros((2, 8), np.float32)})\n"
              "except Exception as exc:\n    print(type(exc).__name__)\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "UnsupportedModelError", run.stdout + run.stderr
    assert "onnxruntime" not in run.stderr, run.stderr


# -- versions, domains, ops -----------------------------------------------------------------------
def test_future_opset(tmp_path):
    refused_everywhere(tmp_path, save(tmp_path, quirk_models.future_opset(99)), "opset 99",
                       f"({onnx.defs.onnx_opset_version()})")


def test_future_ir_version(tmp_path):
    model = tiny_mlp()
    model.ir_version = 99
    refused_everywhere(tmp_path, save(tmp_path, model), "IR version 99")


def test_unknown_custom_op(tmp_path):
    model = tiny_mlp()
    model.graph.node.append(helper.make_node("FloatQuant", ["y"], ["z"], name="fq", domain=QONNX))
    model.graph.output[0].name = "z"
    refused_everywhere(tmp_path, save(tmp_path, model), "'fq'", "FloatQuant")


def test_unknown_domain_with_import(tmp_path):
    model = tiny_mlp()
    model.graph.node[2].domain = "com.example"
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    refused_everywhere(tmp_path, save(tmp_path, model), "com.example")


def test_unknown_domain_without_import(tmp_path):
    refused_everywhere(tmp_path, save(tmp_path, quirk_models.unknown_domain_unimported()), "com.example.ops")


def test_unknown_multithreshold_dtype(tmp_path):
    model = quirk_models.finn_tfc_like()
    model = with_attribute(model, "MultiThreshold_1", out_dtype="INT99X")
    refused_everywhere(tmp_path, save(tmp_path, model), "MultiThreshold_1", "INT99X")


def test_float_only_model(tmp_path):
    refused_everywhere(tmp_path, save(tmp_path, float_mlp()), "no quantization")


def test_corrupt_initializer(tmp_path):
    model = tiny_mlp()
    tensor = initializer(model, "w1")
    tensor.raw_data = tensor.raw_data[:10]
    refused_everywhere(tmp_path, save(tmp_path, model), "w1")


# -- options --------------------------------------------------------------------------------------
@pytest.fixture
def tiny(tmp_path) -> Path:
    return save(tmp_path, tiny_mlp(), "tiny.onnx")


def test_input_file_missing(tmp_path, tiny):
    check_refused(run_cli("verify", tiny, "--input", tmp_path / "none.npy"), 2, "none.npy")


def test_input_file_corrupt(tmp_path, tiny):
    path = tmp_path / "corrupt.npy"
    path.write_bytes(b"\x93NUMPY garbage that is not an array")
    check_refused(run_cli("verify", tiny, "--input", path), 2, "corrupt.npy")


def test_input_file_wrong_shape(tmp_path, tiny):
    path = tmp_path / "shape.npy"
    np.save(path, np.zeros((3, 7), np.float32))
    check_refused(run_cli("verify", tiny, "--input", path), 2, "shape.npy", "(3, 7)")


def test_input_file_nan(tmp_path, tiny):
    path = tmp_path / "nan.npy"
    values = np.zeros((2, 16), np.float32)
    values[1, 3] = np.nan
    np.save(path, values)
    check_refused(run_cli("verify", tiny, "--input", path), 2, "NaN")


def test_input_file_wrong_npz_key(tmp_path, tiny):
    path = tmp_path / "keys.npz"
    np.savez(path, not_x=np.zeros((2, 16), np.float32))
    check_refused(run_cli("verify", tiny, "--input", path), 2, "'x'")


def test_input_file_strings(tmp_path, tiny):
    path = tmp_path / "strings.npy"
    np.save(path, np.array([["a"] * 16]))
    check_refused(run_cli("verify", tiny, "--input", path), 2, "strings.npy")


def test_bad_folding_file(tmp_path, tiny):
    folding = tmp_path / "folding.json"
    folding.write_text("{ not json")
    out = tmp_path / "build"
    check_refused(run_cli("compile", tiny, "--folding", folding, "-o", out), 2, "folding.json", out_dir=out)


def test_negative_fps(tmp_path, tiny):
    out = tmp_path / "build"
    check_refused(run_cli("compile", tiny, "--fps", "-5", "-o", out), 2, "--fps", out_dir=out)
