"""The Verilog backend: deterministic build directories, lint-clean RTL, and co-simulation
that matches the executor exactly under random stalls, at the analytical throughput."""

import json
import subprocess

import numpy as np
import onnx
import pytest

from bnncc.compile import compile_model
from bnncc.sim.verilator import verilator_command
from bnncc.verify.run import verify_model
from tiny_models import tiny_cnn, tiny_mlp


def lint(build_dir):
    files = (build_dir / "filelist.f").read_text().split()
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "bnncc_top", *files],
        cwd=build_dir, capture_output=True, text=True,
    )
    warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    assert process.returncode == 0 and not warnings, "\n".join(warnings)


@pytest.fixture
def mlp_path(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=16, hidden=12, classes=5, bits=2), path)
    return path


def test_build_is_deterministic_and_lints(tmp_path, mlp_path):
    first = compile_model(mlp_path, output=tmp_path / "a")
    compile_model(mlp_path, output=tmp_path / "b")
    for path in sorted((tmp_path / "a").rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes(), path
    lint(tmp_path / "a")
    design = json.loads((tmp_path / "a" / "design.json").read_text())
    assert [s["module"] for s in design["stages"]] == ["mvau", "mvau"]
    assert first.design.bottleneck_cycles == design["bottleneck_cycles"]
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["bottleneck_cycles_per_frame"] == design["bottleneck_cycles"]
    assert report["totals"]["macs_per_frame"] == {"w2a4": 16 * 12, "w3a2": 12 * 5}
    assert report["totals"]["weight_bits"] == 16 * 12 * 2 + 12 * 5 * 3
    assert report["totals"]["thresholds"] == 12 * 3
    assert "| MatMul_4 | mvau |" in (tmp_path / "a" / "report.md").read_text()


@pytest.mark.parametrize("folding", [{}, {"MatMul_4": {"PE": 4, "SIMD": 8}, "MatMul_8": {"PE": 5, "SIMD": 3}}], ids=["pe1", "folded"])
def test_mlp_cosimulation(tmp_path, mlp_path, folding):
    build = tmp_path / "build"
    result = compile_model(mlp_path, output=build, folding=folding)
    verify = verify_model(mlp_path, samples=30, seed=2, build_dir=build, stall=40)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == 30
    assert abs(verify.rtl.measured_ii_cycles - result.design.bottleneck_cycles) <= 0.02 * result.design.bottleneck_cycles


@pytest.mark.parametrize(
    "model,folding",
    [
        (lambda: tiny_cnn(), {}),
        (lambda: tiny_cnn(act_bits=1, weight_bits=1, conv2_pad=-1.0), {}),
    ],
    ids=["cnn-2b", "cnn-binary-pad"],
)
def test_cnn_cosimulation(tmp_path, model, folding):
    path = tmp_path / "cnn.onnx"
    onnx.save(model(), path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, folding=folding)
    lint(build)
    verify = verify_model(path, samples=12, seed=3, value_range=(0.0, 1.0), build_dir=build, stall=30)
    assert verify.ok, verify.table()
    assert abs(verify.rtl.measured_ii_cycles - result.design.bottleneck_cycles) <= 0.02 * result.design.bottleneck_cycles


def test_stale_build_is_refused(tmp_path, mlp_path):
    build = tmp_path / "build"
    compile_model(mlp_path, output=build)
    other = tmp_path / "other.onnx"
    onnx.save(tiny_mlp(seed=9, in_features=16, hidden=12, classes=5, bits=2), other)
    from bnncc.errors import UsageError

    with pytest.raises(UsageError, match="differs from what this model compiles to"):
        verify_model(other, samples=4, build_dir=build)
