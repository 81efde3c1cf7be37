"""The benchmark scripts import and answer --help (no synthesis or timing runs here)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["mvau_area", "mac_area"]


def load(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports_with_docstring_and_main(name):
    module = load(name)
    assert module.__doc__ and len(module.__doc__.split()) > 20
    assert callable(module.main)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help(name):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), "--help"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_mvau_area_options_and_grid():
    module = load("mvau_area")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    names = [config.name for config in module.GRID]
    assert len(names) == len(set(names))
    assert set(module.QUICK) <= set(names)
    # every binary configuration with PE*SIMD >= the bar's minimum is judged against the bar
    assert any(c.binary and c.macs >= module.BAR_MIN_MACS for c in module.GRID)
