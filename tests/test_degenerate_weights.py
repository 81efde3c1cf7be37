"""Degenerate weights compile to legal hardware: all-zero, constant and single-non-zero
weight rows and matrices (2-bit and bipolar, FC and conv, odd sizes, 3x5 kernels with stride
2) give designs that pass every module's parameter checks, lint clean under
``verilator --lint-only -Wall``, and co-simulate exactly against the executor under random
stalls on both stream sides. Several degenerate layers share one design so that the
Verilator builds stay few."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.compile import compile_model
from bnncc.sim.verilator import verilator_command
from bnncc.verify.run import verify_model
from helpers import QONNX, make_model
from tiny_models import act_node, bn_node, bn_params, quant_node, quant_params



# -- weight patterns (float, before the quantizer) ------------------------------------------
def pattern(kind: str, shape, rng, out_axis: int) -> np.ndarray:
    """Weights of ``shape`` whose quantized values are degenerate along the output axis:

    * ``small``: |w| < 0.5 everywhere, so a scale-1 quantizer makes every weight 0
      (Brevitas' default weight scale with small initial weights);
    * ``rows``: output rows alternately all zero, constant +1, constant -1, random;
    * ``single``: one non-zero weight in the whole matrix;
    * ``const``: every weight +1.
    """
    if kind == "small":
        return rng.uniform(-0.3, 0.3, shape).astype(np.float32)
    if kind == "const":
        return np.ones(shape, np.float32)
    if kind == "random":
        return rng.normal(size=shape).astype(np.float32)
    if kind == "single":
        w = np.zeros(shape, np.float32)
        w[tuple(s // 2 for s in shape)] = -1.0
        return w
    w = rng.normal(size=shape).astype(np.float32)
    moved = np.moveaxis(w, out_axis, 0)
    for row in range(moved.shape[0]):
        if row % 4 < 3:
            moved[row] = (0.0, 1.0, -1.0)[row % 4]
    return np.moveaxis(moved, 0, out_axis).copy()


def bipolar_node(name, x, y, inits):
    inits[f"{name}_s"] = np.float32(1.0)
    return helper.make_node("BipolarQuant", [x, f"{name}_s"], [y], name=name, domain=QONNX)


def mlp(sizes, kinds, bits=2, seed=0):
    """Quant(bits) -> [MatMul(Quant(w, scale 1)) -> BN -> act(bits)]* -> MatMul -> y; layer
    ``i`` has weights ``pattern(kinds[i])``; ``bits == 1`` makes it bipolar throughout."""
    rng = np.random.default_rng(seed)
    inits = {}
    nodes = [act_node("qin", "x", "a0", bits, inits, scale=0.25)]
    for i, kind in enumerate(kinds):
        inits[f"w{i}"] = pattern(kind, (sizes[i], sizes[i + 1]), rng, out_axis=1)
        if bits == 1:
            nodes.append(bipolar_node(f"qw{i}", f"w{i}", f"w{i}q", inits))
        else:
            inits.update(quant_params(f"qw{i}", 1.0, bits))
            nodes.append(quant_node(f"qw{i}", f"w{i}", f"w{i}q", bits, narrow=1))
        out = f"h{i}" if i < len(kinds) - 1 else "y"
        nodes.append(helper.make_node("MatMul", [f"a{i}", f"w{i}q"], [out], name=f"fc{i}"))
        if i < len(kinds) - 1:
            inits.update(bn_params(f"bn{i}", sizes[i + 1], rng))
            nodes += [bn_node(f"bn{i}", f"h{i}", f"b{i}"), act_node(f"act{i}", f"b{i}", f"a{i + 1}", bits, inits)]
    return make_model(nodes, [("x", ["N", sizes[0]])], [("y", ["N", sizes[-1]])], inits)


def conv_net(kinds, bits=2, kernel=(3, 5), stride=(2, 2), channels=(3, 5), size=(9, 11), hidden=7, classes=3, seed=0):
    """Quant -> Conv(kernel, stride) -> BN -> act -> Flatten -> Gemm -> BN -> act -> MatMul,
    with weights ``pattern(kinds[i])`` (conv, FC, output layer); ``bits == 1``: bipolar."""
    rng = np.random.default_rng(seed)
    c0, c1 = channels
    inits = {}
    nodes = [act_node("qin", "x", "xq", bits, inits, scale=0.25)]
    oh = (size[0] - kernel[0]) // stride[0] + 1
    ow = (size[1] - kernel[1]) // stride[1] + 1
    shapes = [(c1, c0) + tuple(kernel), (hidden, c1 * oh * ow), (hidden, classes)]
    for (name, shape), kind, axis in zip(zip(("wc", "wf", "wo"), shapes), kinds, (0, 0, 1)):
        inits[name] = pattern(kind, shape, rng, out_axis=axis)
        if bits == 1:
            nodes.append(bipolar_node(f"q{name}", name, f"{name}q", inits))
        else:
            inits.update(quant_params(f"q{name}", 1.0, bits))
            nodes.append(quant_node(f"q{name}", name, f"{name}q", bits, narrow=1))
    inits.update(bn_params("bn1", c1, rng))
    inits.update(bn_params("bn2", hidden, rng))
    nodes += [
        helper.make_node("Conv", ["xq", "wcq"], ["c1"], name="conv", kernel_shape=list(kernel), strides=list(stride)),
        bn_node("bn1", "c1", "b1"), act_node("act1", "b1", "a1", bits, inits),
        helper.make_node("Flatten", ["a1"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wfq"], ["g"], name="fc", transB=1),
        bn_node("bn2", "g", "b2"), act_node("act2", "b2", "a2", bits, inits),
        helper.make_node("MatMul", ["a2", "woq"], ["y"], name="out"),
    ]
    return make_model(nodes, [("x", ["N", c0, *size])], [("y", ["N", classes])], inits)


# -- checks ---------------------------------------------------------------------------------
def lint(build: Path) -> None:
    files = (build / "filelist.f").read_text().split()
    process = subprocess.run([verilator_command(), "--lint-only", "-Wall", "--top-module", "bnncc_top", *files],
                             cwd=build, capture_output=True, text=True)
    warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    assert process.returncode == 0 and not warnings, "\n".join(warnings)


def mvau_parameters(build: Path) -> list[dict]:
    design = json.loads((build / "design.json").read_text())
    return [s["parameters"] for s in design["stages"] if s["module"] == "mvau"]


def compile_lint_verify(tmp_path: Path, model, samples: int = 8) -> list[dict]:
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    build = tmp_path / "build"
    compile_model(path, output=build)
    lint(build)
    verify = verify_model(path, samples=samples, seed=2, value_range=(-1.0, 1.0), build_dir=build, stall=30)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == samples and verify.rtl.mismatches == 0
    return mvau_parameters(build)


DESIGNS = {
    # the issue's case: Brevitas' default weight scale of 1 and small weights, all zero
    "mlp_2bit_all_zero_100_37_23_7": lambda: mlp((100, 37, 23, 7), ("small", "small", "small")),
    # zero / constant rows, a single non-zero weight, an all-zero output layer
    "mlp_2bit_rows_single_zero": lambda: mlp((13, 11, 9, 5), ("rows", "single", "small"), seed=1),
    # 3x5 kernels with stride 2: zero / constant output channels, one non-zero FC weight
    "conv_2bit_3x5_stride2": lambda: conv_net(("rows", "single", "const"), seed=2),
    # bipolar: constant weights everywhere (XNOR-popcount of constant rows)
    "conv_bipolar_const": lambda: conv_net(("const", "const", "rows"), bits=1, kernel=(3, 3), stride=(1, 2), seed=3),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_degenerate_design_lints_and_simulates_exactly(tmp_path, name):
    parameters = compile_lint_verify(tmp_path, DESIGNS[name]())
    assert parameters, "no MVAU in the design"
    if name.startswith("mlp_2bit_all_zero"):
        # every accumulator is 0: the narrowest accumulators the compiler can choose
        assert [p["ACC_BITS"] for p in parameters] == [2, 2, 1]
        assert parameters[-1]["N_THRESHOLDS"] == 0 and parameters[-1]["OUT_BITS"] == 1


def test_verify_classifies_mvau_ties(tmp_path):
    """Binary conv -> flatten -> FC whose BatchNorm zero crossings sit (in float32) on even
    accumulator values, so that onnxruntime and the executor decide differently there: the
    tie classifier then runs on MVAU outputs, with the weights and thresholds of the graph
    (it crashed when they were sliced per sample like streamed tensors), and every stage
    counts those samples as ties, not mismatches."""
    rng = np.random.default_rng(0)
    model = conv_net(("random", "random", "random"), bits=1, kernel=(3, 3), stride=(1, 1), channels=(2, 4),
                     size=(5, 5), hidden=6, seed=0)
    values = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    for prefix in ("bn1", "bn2"):
        channels = values[f"{prefix}_g"].shape
        g, m, v = rng.uniform(0.5, 2, channels), rng.normal(size=channels), rng.uniform(0.5, 2, channels)
        k = 2 * rng.integers(-2, 3, channels)
        tie = {"g": g, "m": m, "v": v, "b": -g * (k - m) / np.sqrt(v + 1e-5)}
        for init in model.graph.initializer:
            if init.name.startswith(prefix + "_"):
                array = tie[init.name[len(prefix) + 1:]].astype(np.float32)
                init.CopyFrom(onnx.numpy_helper.from_array(array, init.name))
    path = tmp_path / "ties.onnx"
    onnx.save(model, path)
    result = verify_model(path, samples=40, seed=0)
    stages = [report.stage for report in result.stages]
    assert stages[-1] == "folding" and "to_hw" in stages
    for report in result.stages:
        assert report.exact + report.ties == 40, (report.stage, report.first_mismatch)
    assert all(report.ties > 0 for report in result.stages), "no sample sits on a threshold"
