"""benchmarks/module_fmax.py: the script imports and answers --help, refuses an unknown
module by name, ranks parameter sets by their widest data path, and the parameter sets it
falls back on (modules no example instantiates) are legal for their modules; no synthesis
or place and route here."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from bnncc.hw.rules import violations

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "module_fmax.py"


def load():
    spec = importlib.util.spec_from_file_location("benchmark_module_fmax", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_help_and_docstring():
    module = load()
    assert module.__doc__ and "nextpnr" in module.__doc__ and callable(module.main)
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage:" in result.stdout


def test_unknown_module_is_a_usage_error():
    result = subprocess.run([sys.executable, str(SCRIPT), "--modules", "no_such_module"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "no_such_module" in result.stderr


@pytest.mark.parametrize("module", ["label_select", "skid_buffer", "uart_stream_shell"])
def test_fallback_parameters_are_legal(module):
    script = load()
    parameters = script.SHELL if module == "uart_stream_shell" else script.FALLBACK[module]
    assert violations(module, parameters) == []


def test_sets_rank_widest_first():
    script = load()
    narrow = {"WIDTH": 8, "DEPTH": 512}
    wide = {"WIDTH": 288, "DEPTH": 2}
    assert sorted([narrow, wide], key=script.size, reverse=True) == [wide, narrow]
    # same width: the deeper first
    assert script.size({"WIDTH": 8, "DEPTH": 64}) > script.size({"WIDTH": 8, "DEPTH": 2})
