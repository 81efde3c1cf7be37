"""The comparison itself: exact matches, rounding ties, real mismatches."""

import numpy as np
import onnx
from onnx import helper

from bnncc.frontend import import_model
from bnncc.ir.ops import Quant
from bnncc.reference.runner import ReferenceRunner
from bnncc.verify.compare import verify_stages
from bnncc.verify.run import verify_model
from helpers import QONNX, make_model
from tiny_models import tiny_mlp


def ten_percent_quant():
    """x -> Quant(scale 0.1): x / 0.1 is not exact in float, so values near k + 1/2 are ties
    that float32 (onnxruntime) and float64 (bnncc) may round differently."""
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND")
    relu = helper.make_node("Relu", ["q"], ["y"])
    inits = {"s": np.float32(0.1), "z": np.float32(0.0), "b": np.float32(8)}
    return make_model([node, relu], [("x", ["N", 64])], [("y", ["N", 64])], inits)


def test_ties_are_reported_apart():
    model = ten_percent_quant()
    graph = import_model(model)
    k = np.random.default_rng(0).integers(-100, 100, size=(50, 64))
    x = ((k + 0.5) * np.float32(0.1)).astype(np.float32)
    reference = ReferenceRunner(model)
    [report] = verify_stages([("import", graph)], {"x": x}, reference.run)
    assert report.mismatches == 0
    assert report.ties > 0
    assert report.exact + report.ties == 50


def test_real_mismatch_is_caught(monkeypatch):
    model = tiny_mlp()
    graph = import_model(model)
    original = Quant.execute

    def off_by_one(self, x):
        [code] = original(self, x)
        if self.name == "qact":
            code = code.copy()
            code[..., 3] = np.minimum(code[..., 3] + 1, self.high)
        return [code]

    monkeypatch.setattr(Quant, "execute", off_by_one)
    x = np.random.default_rng(1).uniform(-1, 1, (40, 16)).astype(np.float32)
    [report] = verify_stages([("import", graph)], {"x": x}, ReferenceRunner(model).run)
    assert report.mismatches > 0
    assert "qact" in report.first_mismatch


def test_verify_model_on_file(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(tiny_mlp(seed=3), path)
    result = verify_model(path, samples=64, seed=5)
    assert result.ok
    assert result.samples == 64
    assert result.stages[0].exact + result.stages[0].ties == 64
    assert "import" in result.table()
