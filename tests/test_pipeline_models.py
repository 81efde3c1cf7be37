"""The whole pass pipeline on models with the features users bring: every stage verified
against onnxruntime, the final graph only hardware stages plus declared host steps, and
clear errors for what cannot become hardware."""

import json

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import helper

from bnncc.cli import main
from bnncc.frontend import import_model
from bnncc.ir.ops.hw import HWOp
from bnncc.passes.pipeline import run_pipeline
from bnncc.verify.run import verify_model
from tiny_models import tiny_cnn, tiny_mlp

VARIANTS = {
    "mlp-2b": lambda: tiny_mlp(bits=2),
    "mlp-4b-input8": lambda: tiny_mlp(bits=4),
    "cnn-3x3-pad-8b-input": lambda: tiny_cnn(),
    "cnn-1x3-stride2x1-4b-input": lambda: tiny_cnn(kernel=(1, 3), stride=(2, 1), in_bits=4),
    "cnn-2x3-stride2-4b-act": lambda: tiny_cnn(kernel=(2, 3), stride=(2, 2), act_bits=4, pads=(0, 1, 1, 0)),
    "cnn-binary": lambda: tiny_cnn(act_bits=1, weight_bits=1, pads=(0, 0, 0, 0)),
    "cnn-binary-pad-minus-one": lambda: tiny_cnn(act_bits=1, weight_bits=1, conv2_pad=-1.0),
    "cnn-binary-pad-plus-one": lambda: tiny_cnn(act_bits=1, weight_bits=1, conv2_pad=1.0),
    "cnn-2b-zero-pad": lambda: tiny_cnn(act_bits=2, conv2_pad="zero"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_stage_matches_onnxruntime(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save(VARIANTS[name](), path)
    result = verify_model(path, samples=200, seed=4, value_range=(0.0, 1.0))
    assert result.ok, result.table()
    assert [s.stage for s in result.stages][-2:] == ["host_partition", "folding"]
    for stage in result.stages:
        assert stage.exact + stage.ties == 200


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_final_graph_is_hardware_plus_host_steps(name):
    stages = run_pipeline(import_model(VARIANTS[name]()))
    graph = stages[-1].graph
    partition = graph.metadata["partition"]
    hardware = set(partition["hardware"])
    assert hardware and all(isinstance(graph.op(n), HWOp) for n in hardware)
    everything = hardware | set(partition["host_pre"]) | set(partition["host_post"])
    assert everything == {op.name for op in graph.ops()}
    assert "MVAU" in graph.op_count()


def residual_model():
    """Two quantized layers whose outputs are added: a residual connection."""
    model = tiny_mlp(hidden=16, in_features=16)
    nodes = list(model.graph.node)
    nodes.insert(7, helper.make_node("Add", ["a", "xq"], ["res"], name="residual_add"))
    nodes[-1] = helper.make_node("MatMul", ["res", "w2q"], ["y"], name="fc2")
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


def test_residual_add_becomes_a_hardware_join():
    graph = run_pipeline(import_model(residual_model()))[-1].graph
    kinds = {graph.op(name).op_type for name in graph.metadata["partition"]["hardware"]}
    assert {"StreamAdd", "StreamFork"} <= kinds


def test_bipolar_zero_padding_compiles_with_border_classes(tmp_path):
    """Zero padding of a bipolar input is exact in 1 bit: -1 streamed into the border, the
    border corrected in class thresholds (tests/test_binary_padding.py verifies it)."""
    path = tmp_path / "zero_pad.onnx"
    onnx.save(tiny_cnn(act_bits=1, weight_bits=1, conv2_pad="zero"), path)
    result = run_cli("compile", path, "-o", tmp_path / "build")
    assert result.exit_code == 0, result.stderr
    assert ".N_CLASSES(" in (tmp_path / "build" / "rtl" / "bnncc_top.v").read_text()


def test_depth_to_space_is_reported(tmp_path):
    model = tiny_cnn()
    position = [n.name for n in model.graph.node].index("conv1") + 1
    model.graph.node.insert(position, helper.make_node("DepthToSpace", ["c1"], ["d2s"], name="d2s", blocksize=2))
    path = tmp_path / "d2s.onnx"
    onnx.save(model, path)
    result = run_cli("compile", path, "-o", tmp_path / "build")
    assert result.exit_code == 1 and "node 'd2s'" in result.stderr and "DepthToSpace" in result.stderr


def test_compile_dump_ir_and_host_steps(tmp_path):
    path = tmp_path / "cnn.onnx"
    onnx.save(tiny_cnn(), path)
    first = run_cli("compile", path, "-o", tmp_path / "a", "--dump-ir", tmp_path / "a_ir", "--json")
    second = run_cli("compile", path, "-o", tmp_path / "b", "--dump-ir", tmp_path / "b_ir")
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    dumps = sorted(p.name for p in (tmp_path / "a_ir").iterdir())
    assert dumps[0] == "00_import.onnx" and dumps[-1].endswith("folding.onnx") and len(dumps) == 13
    for name in dumps + []:
        assert (tmp_path / "a_ir" / name).read_bytes() == (tmp_path / "b_ir" / name).read_bytes()
    host = json.loads((tmp_path / "a" / "host_steps.json").read_text())
    assert host == json.loads((tmp_path / "b" / "host_steps.json").read_text())
    assert host["host_pre"] and host["host_post"]
    summary = json.loads(first.stdout)
    assert summary["partition"]["hardware"]
