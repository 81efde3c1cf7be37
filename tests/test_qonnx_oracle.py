"""bnncc's QONNX reference (onnxruntime on bnncc's rewrite of the custom ops, bnncc/reference)
against an independent implementation: the ``qonnx`` package's executor
(``qonnx.core.onnx_exec.execute_onnx`` on a ``ModelWrapper``), on the model outputs and the
output of every activation quantizer.

* every QONNX example model and every model in ../shared/models small enough to run here;
* fuzzed graphs from tests/graphs (random bit widths, signedness, narrow range, rounding
  modes, per-channel weight scales, BatchNorm with negative and zero scales, ...);
* every rounding mode, signed / unsigned / narrow, on inputs placed exactly on k + 1/2 and on
  k with power-of-two scales, where float32 and float64 agree, so there is no tie to excuse
  and both implementations must give the same numbers bit for bit; BipolarQuant at exactly 0.
"""

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper

pytest.importorskip("qonnx")

from bnncc.frontend.load import load_model  # noqa: E402
from bnncc.reference.runner import ReferenceRunner  # noqa: E402
from graphs import RandomDraw, build_model, draw_spec  # noqa: E402
from graphs.qonnx_oracle import compare_with_qonnx, run_qonnx  # noqa: E402
from helpers import QONNX, make_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "models").glob("*.onnx"))
SHARED = ROOT.parent / "shared" / "models"
CUSTOM = ("Quant", "IntQuant", "BipolarQuant", "Trunc", "MultiThreshold")
MAX_INPUT_ELEMENTS = 100_000  # the channels-last segmentation models (512x512x3) are too slow here


def _is_qonnx(model: onnx.ModelProto) -> bool:
    return any(node.op_type in CUSTOM for node in model.graph.node)


def _random_input(model: onnx.ModelProto, samples: int, seed: int, pixels: bool):
    inits = {i.name for i in model.graph.initializer}
    [first] = [v for v in model.graph.input if v.name not in inits]
    shape = [d.dim_value or 1 for d in first.type.tensor_type.shape.dim][1:]
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, [samples] + shape).astype(np.float32)
    if pixels:  # FINN's TFC declares a UINT8 input of pixels 0..255
        x = np.round(x * 255).astype(np.float32)
    return first.name, x


def _oracle(model, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # qonnx warns about every node whose shape it re-infers
        return compare_with_qonnx(model, inputs)


@pytest.mark.parametrize("path", [p for p in EXAMPLES if _is_qonnx(load_model(p))], ids=lambda p: p.stem)
def test_examples_agree_with_qonnx(path):
    model = load_model(path)
    name, x = _random_input(model, 6, 0, pixels=False)
    report = _oracle(model, {name: x})
    assert report.tensors >= 1
    assert report.mismatches == 0, report.first_mismatch
    assert report.agree + report.ties == 6


def _shared_models():
    if not SHARED.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED} is not present"))]
    return sorted(SHARED.glob("*.onnx"))


@pytest.mark.parametrize("path", _shared_models(), ids=lambda p: p.stem if p else "absent")
def test_published_models_agree_with_qonnx(path):
    model = load_model(path)
    name, x = _random_input(model, 4, 1, pixels=path.stem.startswith("finn"))
    if x[0].size > MAX_INPUT_ELEMENTS:
        pytest.skip(f"{path.name}: input of {x[0].size} elements is too slow for qonnx's executor here")
    report = _oracle(model, {name: x})
    assert report.mismatches == 0, report.first_mismatch
    assert report.agree + report.ties == 4


@pytest.mark.parametrize("seed", range(40))
def test_fuzzed_graphs_agree_with_qonnx(seed):
    spec = draw_spec(RandomDraw(10_000 + seed))
    x = np.random.default_rng(seed).uniform(-1, 1, (8,) + spec.shape).astype(np.float32)
    report = _oracle(build_model(spec), {"x": x})
    assert report.mismatches == 0, f"{report.first_mismatch}\n{spec!r}"
    assert report.agree + report.ties == 8


MODES = ("ROUND", "HALF_EVEN", "HALF_UP", "HALF_DOWN", "FLOOR", "CEIL", "UP", "DOWN")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("signed,narrow,bits", [(1, 0, 4), (1, 1, 3), (0, 0, 2), (0, 1, 5), (1, 0, 8)])
def test_rounding_modes_bit_exact(mode, signed, narrow, bits):
    """Quant on every k/2 in and beyond the range (exact in float32 with scale 2^-3): no
    rounding tie can be blamed, the two implementations must agree everywhere."""
    scale = 0.125
    k = np.arange(-2 ** (bits + 1), 2 ** (bits + 1) + 1) / 2.0
    x = (k * scale).astype(np.float32).reshape(1, -1)
    node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX, signed=signed, narrow=narrow,
                            rounding_mode=mode)
    inits = {"s": np.float32(scale), "z": np.float32(0.0), "b": np.float32(bits)}
    model = make_model([node], [("x", [1, x.shape[1]])], [("y", [1, x.shape[1]])], inits)
    ours = ReferenceRunner(model).run({"x": x})["y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run_qonnx(model, {"x": x})["y"]
    np.testing.assert_array_equal(ours, theirs, err_msg=f"{mode} signed={signed} narrow={narrow} bits={bits}")


def test_bipolar_quant_of_zero_is_plus_scale():
    """QONNX BipolarQuant maps 0 (and -0) to +1, unlike ONNX Sign."""
    x = np.array([[-1.5, -0.0, 0.0, 1e-30, -1e-30, 2.0]], np.float32)
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain=QONNX)
    model = make_model([node], [("x", [1, 6])], [("y", [1, 6])], {"s": np.float32(0.5)})
    ours = ReferenceRunner(model).run({"x": x})["y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run_qonnx(model, {"x": x})["y"]
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, [[-0.5, 0.5, 0.5, 0.5, -0.5, 0.5]])
