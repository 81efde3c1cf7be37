"""bnncc estimate and the compile report: the JSON schema, totals, device utilization,
targets that do not fit, and the report picture."""

import json

import jsonschema
import onnx
import pytest
from click.testing import CliRunner

from bnncc.backends.report import report_schema
from bnncc.cli import main
from bnncc.targets import DEVICES, get_device
from tiny_models import tiny_cnn, tiny_mlp


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.fixture
def mlp(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=64, hidden=32, classes=10, bits=1), path)
    return path


@pytest.fixture
def cnn(tmp_path):
    path = tmp_path / "cnn.onnx"
    onnx.save(tiny_cnn(), path)
    return path


def test_devices_have_the_published_figures():
    z = get_device("XC7Z020")
    assert (z.lut, z.ff, z.bram, z.dsp) == (53_200, 106_400, 280, 220)
    assert {"xc7z020", "xczu3eg", "xczu7ev", "xcu250", "ecp5-25k", "ecp5-85k", "ice40-up5k"} <= set(DEVICES)


@pytest.mark.parametrize("device", ["xc7z020", "ecp5-85k"])
def test_estimate_json_follows_the_schema(mlp, device):
    result = run("estimate", mlp, "--fps", "200000", "--target", device, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    assert report["device"]["name"] == device
    assert report["bottleneck_cycles_per_frame"] <= report["target_cycles_per_frame"] == 500
    totals = report["totals"]["resources"]
    for key in ("lut", "ff", "bram", "dsp"):
        assert totals[key] == sum(stage["resources"][key] for stage in report["stages"])
        assert report["totals"]["utilization"][key] == round(totals[key] / report["device"][key], 4)
    assert totals["lut"] > 0 and report["totals"]["fits"]
    assert report["latency_cycles"] >= report["bottleneck_cycles_per_frame"] // 2


def test_estimate_table_and_compile_report_agree(tmp_path, cnn):
    table = run("estimate", cnn, "--fps", "100000")
    assert table.exit_code == 0, table.stderr
    assert "total" in table.stdout and "xc7z020" in table.stdout and "fits" in table.stdout
    built = run("compile", cnn, "--fps", "100000", "-o", tmp_path / "b")
    assert built.exit_code == 0, built.stderr
    estimate = json.loads(run("estimate", cnn, "--fps", "100000", "--json").stdout)
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report == estimate
    assert "| **total** |" in (tmp_path / "b" / "report.md").read_text()
    svg = (tmp_path / "b" / "report.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<rect") >= 3 * len(report["stages"]) and "target 1000" in svg


def test_report_files_are_written_without_a_target_and_are_deterministic(tmp_path, mlp):
    for name in ("a", "b"):
        assert run("compile", mlp, "-o", tmp_path / name).exit_code == 0
    for name in ("report.json", "report.md", "report.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["target_fps"] is None and report["device"]["name"] == "xc7z020"


def test_design_that_does_not_fit_is_refused_with_the_best_fitting_fps(tmp_path, mlp):
    """At one frame per 8 cycles the MLP needs more LUTs than an iCE40 UP5K has."""
    result = run("estimate", mlp, "--fps", "12500000", "--target", "ice40-up5k")
    assert result.exit_code == 1
    assert "does not fit ice40-up5k" in result.stderr and "best achievable on ice40-up5k is" in result.stderr
    best = float(result.stderr.split("best achievable on ice40-up5k is ")[1].split(" FPS")[0])
    relaxed = run("estimate", mlp, "--fps", "12500000", "--target", "ice40-up5k", "--best-effort", "--json")
    assert relaxed.exit_code == 0, relaxed.stderr
    report = json.loads(relaxed.stdout)
    assert report["fps"] == pytest.approx(best, rel=1e-3) and report["totals"]["fits"]
