"""Bad input: one-line message naming the file/node/option, exit code 1 (2 for usage), no
traceback."""

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import helper

from bnncc.cli import main
from helpers import make_model
from tiny_models import float_mlp, quant_params, tiny_mlp


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


def assert_error(result, code, *fragments):
    assert result.exit_code == code, result.output + result.stderr
    message = result.stderr.strip()
    assert message.startswith("error: ") or code == 2, message
    assert len(message.splitlines()) == 1 or code == 2, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_mlp(), path)
    return path


def test_not_onnx(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a model\n" * 20)
    assert_error(invoke("verify", path), 1, str(path), "not an ONNX model")


def test_truncated(tmp_path, tiny):
    data = tiny.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    assert_error(invoke("verify", path), 1, str(path))


def test_missing_file(tmp_path):
    assert_error(invoke("verify", tmp_path / "nope.onnx"), 1, "nope.onnx", "no such file")


def test_missing_external_data(tmp_path):
    model = tiny_mlp()
    path = tmp_path / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location="ext.onnx.data", size_threshold=0)
    (tmp_path / "ext.onnx.data").unlink()
    assert_error(invoke("verify", path), 1, str(path), "ext.onnx.data", "missing")


def test_external_data_loads(tmp_path):
    path = tmp_path / "ext.onnx"
    onnx.save(tiny_mlp(), path, save_as_external_data=True, all_tensors_to_one_file=True, location="ext.onnx.data", size_threshold=0)
    result = invoke("verify", path, "-n", "20")
    assert result.exit_code == 0, result.output + result.stderr


def test_unsupported_op(tmp_path):
    model = tiny_mlp()
    model.graph.node.append(helper.make_node("DepthToSpace", ["y"], ["z"], name="d2s", blocksize=2))
    path = tmp_path / "d2s.onnx"
    onnx.save(model, path)
    assert_error(invoke("verify", path), 1, "node 'd2s'", "'DepthToSpace'", "not supported", "supported:")


def test_unknown_custom_domain(tmp_path):
    model = tiny_mlp()
    model.graph.node[2].domain = "com.example"
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    assert_error(invoke("verify", path), 1, "node 'qin'", "'Quant'", "com.example")


def test_float_model(tmp_path):
    path = tmp_path / "float.onnx"
    onnx.save(float_mlp(), path)
    assert_error(invoke("verify", path), 1, str(path), "no quantization found")


def test_dynamic_dimension(tmp_path):
    model = tiny_mlp()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "features"
    path = tmp_path / "dyn.onnx"
    onnx.save(model, path)
    assert_error(invoke("verify", path), 1, "input 'x'", "dynamic dimension 'features'", "axis 1")


@pytest.mark.parametrize("bits", [0.0, 2.5, 40.0])
def test_unsupported_bit_width(tmp_path, bits):
    model = tiny_mlp()
    for tensor in model.graph.initializer:
        if tensor.name == "qact_b":
            tensor.CopyFrom(onnx.numpy_helper.from_array(np.float32(bits), "qact_b"))
    path = tmp_path / "bits.onnx"
    onnx.save(model, path)
    assert_error(invoke("verify", path), 1, "node 'qact'", "bit width")


def test_bad_input_shape(tmp_path, tiny):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((3, 7), np.float32))
    assert_error(invoke("verify", tiny, "--input", bad), 2, "--input", "(3, 7)", "(N, 16)")


def test_input_file_is_used(tmp_path, tiny):
    good = tmp_path / "good.npy"
    np.save(good, np.random.default_rng(0).uniform(-1, 1, (7, 16)).astype(np.float32))
    result = invoke("verify", tiny, "--input", good, "--json")
    assert result.exit_code == 0, result.stderr
    assert '"samples": 7' in result.output


@pytest.mark.parametrize("args", [["-n", "0"], ["--range", "1", "0"], ["--bogus"]])
def test_usage_errors(tiny, args):
    result = invoke("verify", tiny, *args)
    assert result.exit_code == 2, result.output + result.stderr


def test_invalid_onnx_graph(tmp_path):
    model = tiny_mlp()
    model.graph.node[4].input[1] = ""  # MatMul with a missing operand
    path = tmp_path / "broken.onnx"
    onnx.save(model, path)
    assert_error(invoke("verify", path), 1, str(path), "invalid ONNX model")
