"""Commands never end in a traceback: an unexpected exception is one line naming the stage
with exit code 3 (the traceback only with --debug or BNNCC_DEBUG=1), Ctrl-C is 130, bad
input keeps its one-line error; a failed compile or synthesis leaves no half-written
directory and an earlier one untouched; verify shows the stages that ran before a failure."""

import json
import os

import onnx
import pytest
from click.testing import CliRunner

from bnncc.backends import verilog as verilog_backend
from bnncc.cli import main
from bnncc.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, ToolError
from bnncc.passes.streamline import Streamline
from bnncc.passes.to_hw import ToHardware
from bnncc.sim.verilator import SimulationError
from tiny_models import tiny_mlp


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def error_lines(result) -> list[str]:
    """The lines of stderr that are not progress messages of the passes."""
    return [line for line in result.stderr.splitlines() if line.startswith(("error", "internal error", "interrupted"))]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_mlp(), path)
    return path


def broken(exception):
    def apply(self, graph, notes):
        raise exception
    return apply


def snapshot(directory):
    """Every file under ``directory`` with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# -- unexpected exceptions -----------------------------------------------------------------

def test_internal_error_is_one_line_with_stage_and_exit_3(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(Streamline, "apply", broken(RuntimeError("boom\nsecond line")))
    result = invoke("compile", tiny, "-o", tmp_path / "out")
    assert result.exit_code == EXIT_INTERNAL, result.stderr
    assert "Traceback" not in result.stderr + result.output
    assert error_lines(result) == ["internal error in streamline: RuntimeError: boom second line"]
    assert result.stderr.rstrip().splitlines()[-1] == error_lines(result)[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(tiny, tmp_path, monkeypatch, how):
    monkeypatch.setattr(Streamline, "apply", broken(RuntimeError("boom")))
    if how == "option":
        result = invoke("--debug", "compile", tiny, "-o", tmp_path / "out")
    else:
        result = invoke("compile", tiny, "-o", tmp_path / "out", env={"BNNCC_DEBUG": "1"})
    assert result.exit_code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise exception' in result.stderr  # the frame that raised
    assert result.stderr.rstrip().splitlines()[-1] == "internal error in streamline: RuntimeError: boom"


def test_debug_zero_is_off(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(Streamline, "apply", broken(RuntimeError("boom")))
    result = invoke("compile", tiny, "-o", tmp_path / "out", env={"BNNCC_DEBUG": "0"})
    assert result.exit_code == EXIT_INTERNAL and "Traceback" not in result.stderr


def test_internal_error_in_the_verilog_writer_names_it(tiny, tmp_path, monkeypatch):
    def write_design(graph, directory):
        raise ValueError("no such width")
    monkeypatch.setattr(verilog_backend, "write_design", write_design)
    result = invoke("compile", tiny, "-o", tmp_path / "out")
    assert result.exit_code == EXIT_INTERNAL
    assert error_lines(result) == ["internal error in verilog: ValueError: no such width"]


def test_internal_error_in_estimate(tiny, monkeypatch):
    monkeypatch.setattr(ToHardware, "apply", broken(KeyError("MH")))
    result = invoke("estimate", tiny)
    assert result.exit_code == EXIT_INTERNAL
    assert error_lines(result) == ["internal error in to_hw: KeyError: 'MH'"]


def test_keyboard_interrupt_exits_130_and_leaves_nothing(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(Streamline, "apply", broken(KeyboardInterrupt()))
    result = invoke("compile", tiny, "-o", tmp_path / "out")
    assert result.exit_code == EXIT_INTERRUPTED
    assert error_lines(result) == ["interrupted"] and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_input_keeps_its_one_line_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    result = invoke("compile", bad, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert len(error_lines(result)) == 1 and error_lines(result)[0].startswith("error: ")
    assert not (tmp_path / "out").exists()


def test_click_usage_errors_stay_exit_2(tiny):
    assert invoke("compile").exit_code == 2
    assert invoke("compile", tiny, "--fps", "fast").exit_code == 2
    assert invoke("--no-such-option").exit_code == 2


def test_operating_system_error_on_a_file_is_exit_1(tiny, tmp_path, monkeypatch):
    def write_design(graph, directory):
        raise PermissionError(13, "Permission denied", str(directory / "rtl"))
    monkeypatch.setattr(verilog_backend, "write_design", write_design)
    result = invoke("compile", tiny, "-o", tmp_path / "out")
    assert result.exit_code == 1, result.stderr
    [line] = error_lines(result)
    assert line.startswith("error: ") and "Permission denied" in line and "(in verilog)" in line


def test_exit_codes_are_documented():
    text = invoke("--help").output
    for code in ("0", "1", "2", "3", "130"):
        assert f"  {code} " in text, code
    assert "--debug" in text and "BNNCC_DEBUG" in text


# -- no half-written directories --------------------------------------------------------

def fail_after_writing(graph, directory):
    (directory / "rtl").mkdir()
    (directory / "rtl" / "half.v").write_text("module half(")
    raise RuntimeError("writer failed")


def test_failed_compile_leaves_no_output_directory(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(verilog_backend, "write_design", fail_after_writing)
    output = tmp_path / "builds" / "deep" / "out"
    result = invoke("compile", tiny, "-o", output)
    assert result.exit_code == EXIT_INTERNAL
    assert not output.exists()
    assert not (tmp_path / "builds").exists(), "directories created for -o are removed again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx"]


def test_failed_compile_leaves_an_earlier_build_untouched(tiny, tmp_path, monkeypatch):
    output = tmp_path / "out"
    assert invoke("compile", tiny, "-o", output).exit_code == 0
    before = snapshot(output)
    assert "design.json" in before and "report.json" in before
    monkeypatch.setattr(verilog_backend, "write_design", fail_after_writing)
    assert invoke("compile", tiny, "-o", output, "--fps", "1e6").exit_code == EXIT_INTERNAL
    assert snapshot(output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.onnx"]


def test_successful_compile_replaces_an_earlier_build(tiny, tmp_path):
    output = tmp_path / "out"
    assert invoke("compile", tiny, "-o", output).exit_code == 0
    (output / "stale.txt").write_text("from an earlier run")
    assert invoke("compile", tiny, "-o", output, "--fps", "1e6").exit_code == 0
    assert not (output / "stale.txt").exists() and (output / "design.json").is_file()
    assert json.loads((output / "report.json").read_text())["target_fps"] == 1e6
    mask = os.umask(0)
    os.umask(mask)
    assert output.stat().st_mode & 0o777 == 0o777 & ~mask  # not the 0o700 of a temporary directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "tiny.onnx"]


def test_compile_refuses_to_replace_a_directory_of_other_files(tiny, tmp_path):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    result = invoke("compile", tiny, "-o", output)
    assert result.exit_code == 2 and "holds other files" in result.stderr
    assert snapshot(output) == {"notes.txt": b"keep me"}


def test_failed_dump_ir_leaves_no_directory(tiny, tmp_path, monkeypatch):
    import bnncc.compile as compile_module

    calls = []

    def save_ir(graph, path):
        calls.append(path)
        if len(calls) == 3:
            raise RuntimeError("cannot export")
        path.write_bytes(b"onnx")
    monkeypatch.setattr(compile_module, "save_ir", save_ir)
    result = invoke("compile", tiny, "--dump-ir", tmp_path / "ir", "-o", tmp_path / "out")
    assert result.exit_code == EXIT_INTERNAL
    assert error_lines(result) == ["internal error in dump-ir: RuntimeError: cannot export"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx"]


def test_dump_ir_inside_the_build_directory_survives(tiny, tmp_path):
    output = tmp_path / "out"
    assert invoke("compile", tiny, "-o", output, "--dump-ir", output / "ir").exit_code == 0
    assert (output / "design.json").is_file()
    assert sorted(p.name for p in (output / "ir").iterdir())[0] == "00_import.onnx"


def test_failed_synthesis_leaves_the_earlier_results(tiny, tmp_path, monkeypatch):
    import bnncc.synth.report as report_module

    build = tmp_path / "out"
    assert invoke("compile", tiny, "-o", build).exit_code == 0
    earlier = build / "synth_xc7z020"
    earlier.mkdir()
    (earlier / "yosys.log").write_text("the earlier run")

    def synthesize(directory, sources, top, device, work="synth", extra=None):
        (directory / work / "stat.json").write_text("{")
        raise ToolError("yosys failed (exit 1)")
    monkeypatch.setattr(report_module, "synthesize", synthesize)
    result = invoke("synth", build)
    assert result.exit_code == 1 and error_lines(result) == ["error: yosys failed (exit 1)"]
    assert snapshot(earlier) == {"yosys.log": b"the earlier run"}
    assert not [p.name for p in build.iterdir() if p.name.startswith(".")]


# -- verify shows the evidence it has -----------------------------------------------------

def test_verify_prints_the_stages_that_ran_before_a_failing_pass(tiny, monkeypatch):
    monkeypatch.setattr(ToHardware, "apply", broken(RuntimeError("lost a tensor")))
    result = invoke("verify", tiny, "-n", "8")
    assert result.exit_code == EXIT_INTERNAL
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line and not line.startswith("STOPPED")]
    assert rows == ["import", "tidy", "streamline", "lower_pool", "upsample_scales", "absorb_thresholds", "lower_conv",
                    "to_nhwc", "xnor_popcount"]
    for line in result.stdout.splitlines()[2:-1]:
        assert line.split()[1:5] == ["8", "8", "0", "0"], line
    assert "STOPPED" in result.stdout.splitlines()[-1]
    assert error_lines(result) == ["internal error in to_hw: RuntimeError: lost a tensor"]


def test_verify_prints_every_stage_before_a_failing_simulation(tiny, tmp_path, monkeypatch):
    import bnncc.verify.rtl as rtl

    build = tmp_path / "out"
    assert invoke("compile", tiny, "-o", build).exit_code == 0

    def verify_rtl(*args, **kwargs):
        raise SimulationError("the design stopped itself during reset")
    monkeypatch.setattr(rtl, "verify_rtl", verify_rtl)
    result = invoke("verify", tiny, build, "-n", "4")
    assert result.exit_code == 1
    assert [line.split()[0] for line in result.stdout.splitlines()[2:-1]][-1] == "folding"
    assert error_lines(result) == ["error: the design stopped itself during reset"]

    result = invoke("verify", tiny, build, "-n", "4", "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["ok"] is False
    assert data["error"] == "the design stopped itself during reset"
    assert [s["stage"] for s in data["stages"]][-1] == "folding" and data["rtl"] is None


def test_verify_internal_error_in_a_comparison_keeps_the_earlier_rows(tiny, monkeypatch):
    import bnncc.verify.run as run

    original = run.compare_stage

    def compare_stage(name, graph, comparison):
        if name == "absorb_thresholds":
            raise ValueError("matmul: core dimension")
        return original(name, graph, comparison)
    monkeypatch.setattr(run, "compare_stage", compare_stage)
    result = invoke("verify", tiny, "-n", "4")
    assert result.exit_code == EXIT_INTERNAL
    assert [line.split()[0] for line in result.stdout.splitlines()[2:-1]] == ["import", "tidy", "streamline", "lower_pool",
                                                                                         "upsample_scales"]
    assert error_lines(result) == ["internal error in comparison after absorb_thresholds: ValueError: matmul: core dimension"]


def test_failed_tool_keeps_its_log_beside_the_directory(tiny, tmp_path):
    build = tmp_path / "out"
    assert invoke("compile", tiny, "-o", build).exit_code == 0
    fake = tmp_path / "yosys-that-fails"
    fake.write_text("#!/bin/sh\necho 'ERROR: no such cell'\nexit 1\n")
    fake.chmod(0o755)
    result = invoke("synth", build, env={"BNNCC_YOSYS": str(fake)})
    assert result.exit_code == 1 and "ERROR: no such cell" in result.stderr
    kept = build / "synth_xc7z020.yosys.out"
    assert f"see {kept}" in result.stderr and "ERROR: no such cell" in kept.read_text()
    assert not (build / "synth_xc7z020").exists()
    assert not [p.name for p in build.iterdir() if p.name.startswith(".")]


def test_compile_carries_over_only_what_the_caller_keeps(tiny, tmp_path):
    from bnncc.compile import compile_model

    build = tmp_path / "out"
    compile_model(tiny, output=build)
    (build / "synth_xc7z020").mkdir()
    (build / "synth_xc7z020" / "stat.json").write_text("{}")
    (build / "notes.txt").write_text("dropped")
    compile_model(tiny, output=build, keep=("synth_xc7z020", "absent.json"))
    assert (build / "synth_xc7z020" / "stat.json").read_text() == "{}"
    assert not (build / "notes.txt").exists() and not (build / "absent.json").exists()
