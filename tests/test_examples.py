"""The shipped example models: each verifies against onnxruntime with zero real mismatches,
and the executor reproduces the accuracy the export script measured."""

import json
from pathlib import Path

import numpy as np
import pytest

from bnncc.executor import Executor
from bnncc.frontend import load_graph
from bnncc.verify.run import verify_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODELS = sorted(p for p in (EXAMPLES / "models").glob("*.onnx"))
MANIFEST = EXAMPLES / "models" / "manifest.json"


def manifest_entries():
    if not MANIFEST.exists():
        return {}
    data = json.loads(MANIFEST.read_text())
    entries = data.get("models", data) if isinstance(data, dict) else data
    if isinstance(entries, dict):
        return entries
    return {entry["file"]: entry for entry in entries}


def test_examples_are_shipped():
    names = {p.stem for p in MODELS}
    assert {"tfc_w1a1", "tfc_w2a2", "sfc_w1a2", "cnv_w1a1", "cnv_w2a2"} <= names
    total = sum(p.stat().st_size for p in (EXAMPLES / "models").iterdir()) + sum(
        p.stat().st_size for p in (EXAMPLES / "data").iterdir()
    )
    assert total < 25 * 2**20


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_example_verifies(path):
    # the padded CNV (about 150 M MACs per frame, 2.6x CNV) on fewer inputs
    samples = 10 if path.stem == "cnv_pad_w1a1" else 50 if path.stem.startswith("cnv") else 200
    result = verify_model(path, samples=samples, seed=11, value_range=(0.0, 1.0))
    assert result.ok, result.table()
    stage = result.stages[0]
    assert stage.exact + stage.ties == samples
    assert stage.compared_tensors >= 3


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_example_accuracy_on_digits(path):
    entry = manifest_entries().get(path.name)
    if entry is None or entry.get("accuracy_pytorch") is None:
        pytest.fail(f"{path.name} has no accuracy in {MANIFEST}")
    data = np.load(EXAMPLES / "data" / "digits_test.npz")
    graph = load_graph(path)
    shape = tuple(graph.tensors[graph.inputs[0]].shape[1:])
    (x,) = [data[key] for key in data.files if key != "y" and data[key].shape[1:] == shape]
    logits = Executor(graph).run({graph.inputs[0]: x})[graph.outputs[0]]
    accuracy = float(np.mean(np.argmax(logits, axis=1) == data["y"]))
    assert abs(accuracy - entry["accuracy_pytorch"]) <= 0.01, (accuracy, entry)
