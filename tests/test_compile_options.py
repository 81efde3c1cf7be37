"""compile's throughput options: usage errors, unreachable targets, --best-effort, and
--folding files."""

import json

import onnx
import pytest
from click.testing import CliRunner

from bnncc.cli import main
from tiny_models import tiny_cnn, tiny_mlp


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=16, hidden=12, classes=5, bits=2), path)
    return path


@pytest.mark.parametrize("args,fragment", [
    (["--fps", "0"], "--fps 0"),
    (["--fps", "-5"], "--fps -5"),
    (["--fps", "1e12"], "more than one frame per clock cycle"),
    (["--fps", "100", "--clock-mhz", "0"], "--clock-mhz 0"),
    (["--fps", "100", "--clock-mhz", "-100"], "--clock-mhz -100"),
    (["--fps", "100", "--clock-mhz", "5000"], "--clock-mhz 5000"),
    (["--fps", "nan"], "--fps nan"),
    (["--fps", "inf"], "--fps inf"),
    (["--fps", "100", "--target", "xc9999"], "--target 'xc9999': unknown device; expected one of xc7z020"),
])
@pytest.mark.parametrize("command", ["compile", "estimate"])
def test_bad_throughput_options(tmp_path, model, args, fragment, command):
    result = run(command, model, *(["-o", tmp_path / "b"] if command == "compile" else []), *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr
    assert not (tmp_path / "b").exists()


def test_unreachable_target_and_best_effort(tmp_path):
    """A convolution needs at least one cycle per output pixel even fully parallel: 72 pixels
    cannot fit in the 10 cycles per frame of 10 million FPS at 100 MHz."""
    path = tmp_path / "cnn.onnx"
    onnx.save(tiny_cnn(), path)
    result = run("compile", path, "-o", tmp_path / "b", "--fps", "10000000")
    assert result.exit_code == 1 and "cannot reach" in result.stderr and "best achievable" in result.stderr
    result = run("compile", path, "-o", tmp_path / "b", "--fps", "10000000", "--best-effort", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["bottleneck_cycles"] > 10


def test_folding_file_round_trip(tmp_path, model):
    first = run("compile", model, "-o", tmp_path / "a", "--fps", "1000000")
    assert first.exit_code == 0, first.stderr
    folding = tmp_path / "a" / "folding.json"
    second = run("compile", model, "-o", tmp_path / "b", "--folding", folding)
    assert second.exit_code == 0, second.stderr
    assert (tmp_path / "a" / "rtl" / "bnncc_top.v").read_text() == (tmp_path / "b" / "rtl" / "bnncc_top.v").read_text()


@pytest.mark.parametrize("content,fragment", [
    ("not json", "not valid JSON"),
    ('{"nope": {"PE": 2}}', "'nope' is not a hardware stage"),
    ('{"MatMul_4": {"PE": 5}}', "does not divide"),
    ('{"MatMul_4": {"PE": 0}}', "not a positive integer"),
])
def test_bad_folding_files(tmp_path, model, content, fragment):
    path = tmp_path / "folding.json"
    path.write_text(content)
    result = run("compile", model, "-o", tmp_path / "b", "--folding", path)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_fps_and_folding_together_is_a_usage_error(tmp_path, model):
    path = tmp_path / "folding.json"
    path.write_text("{}")
    result = run("compile", model, "-o", tmp_path / "b", "--folding", path, "--fps", "1000")
    assert result.exit_code == 2
