"""The IR written back to ONNX: valid, complete, deterministic, never half-written."""

import onnx

from bnncc.frontend import import_model
from bnncc.ir.export import save_ir, to_onnx
from tiny_models import tiny_mlp


def test_export_is_valid_and_complete(tmp_path):
    graph = import_model(tiny_mlp())
    model = to_onnx(graph)
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == [op.op_type for op in graph.ops()]
    annotated = {a.tensor_name: a.quant_parameter_tensor_names[0].value for a in model.graph.quantization_annotation}
    assert annotated["xq__code"] == "INT4"
    assert annotated["a__code"] == "INT2"
    quant = next(n for n in model.graph.node if n.op_type == "Quant")
    assert quant.domain == "bnncc"
    assert {a.name for a in quant.attribute} >= {"scale", "zero_point", "dtype", "low", "high", "rounding_mode"}


def test_export_is_deterministic(tmp_path):
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    save_ir(import_model(tiny_mlp()), first)
    save_ir(import_model(tiny_mlp()), second)
    assert first.read_bytes() == second.read_bytes()
    assert not (tmp_path / "a.onnx.tmp").exists()
