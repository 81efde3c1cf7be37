"""Whole models in the formats users bring: FINN-ONNX with annotations, onnxruntime QDQ,
QONNX under every domain spelling; each imported and verified against onnxruntime."""

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.frontend import import_model
from bnncc.verify.run import verify_model
from helpers import make_model
from tiny_models import tiny_mlp

FINN = "finn.custom_op.general"
RNG = np.random.default_rng(5)


def annotate(model, tensor, datatype):
    annotation = onnx.TensorAnnotation(tensor_name=tensor)
    annotation.quant_parameter_tensor_names.append(onnx.StringStringEntryProto(key="finn_datatype", value=datatype))
    model.graph.quantization_annotation.append(annotation)


def finn_onnx_model():
    """A streamlined FINN-style network: UINT8 input, thresholds to bipolar, bipolar weights
    as annotated float initializers, thresholds to INT2, a final float scale."""
    w1 = RNG.choice([-1.0, 1.0], size=(16, 8)).astype(np.float32)
    w2 = RNG.choice([-1.0, 1.0], size=(8, 4)).astype(np.float32)
    t0 = np.full((1, 1), 127.5, np.float32)
    t1 = np.sort(RNG.integers(-8, 8, size=(8, 3)), axis=1).astype(np.float32)
    nodes = [
        helper.make_node("MultiThreshold", ["x", "t0"], ["a0"], domain=FINN, out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0),
        helper.make_node("MatMul", ["a0", "w1"], ["h1"]),
        helper.make_node("MultiThreshold", ["h1", "t1"], ["a1"], domain=FINN, out_dtype="INT2", out_bias=-2.0),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"]),
        helper.make_node("Mul", ["h2", "scale"], ["y"]),
    ]
    inits = {"w1": w1, "w2": w2, "t0": t0, "t1": t1, "scale": np.float32(0.37)}
    model = make_model(nodes, [("x", ["N", 16])], [("y", ["N", 4])], inits, custom_domains=(FINN,))
    annotate(model, "x", "UINT8")
    annotate(model, "w1", "BIPOLAR")
    annotate(model, "w2", "BIPOLAR")
    return model


def test_finn_onnx_annotations_and_thresholds(tmp_path):
    model = finn_onnx_model()
    graph = import_model(model)
    assert graph.tensors["x"].dtype.name == "UINT8"
    assert graph.tensors["w1"].dtype.name == "BIPOLAR"
    assert graph.tensors["a0__code"].dtype.name == "BIPOLAR"
    assert graph.tensors["a1__code"].dtype.name == "INT2"
    assert graph.tensors["h1"].dtype.is_integer  # bipolar x bipolar: exact integer accumulator
    path = tmp_path / "finn.onnx"
    onnx.save(model, path)
    result = verify_model(path, samples=200)
    assert result.ok and result.stages[0].exact == 200


def test_annotation_contradicted_by_values_is_rejected():
    model = finn_onnx_model()
    annotate(model, "t1", "BIPOLAR")
    with pytest.raises(Exception, match="'t1' is annotated BIPOLAR"):
        import_model(model)


def test_onnxruntime_quantization_qdq(tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], transB=1),
    ]
    inits = {
        "w": rng.normal(size=(4, 2, 3, 3)).astype(np.float32),
        "fc": rng.normal(size=(5, 16)).astype(np.float32),
        "fb": rng.normal(size=5).astype(np.float32),
    }
    float_model = make_model(nodes, [("x", ["N", 2, 4, 4])], [("y", ["N", 5])], inits, opset=13)
    float_path, qdq_path = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(float_model, float_path)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": rng.uniform(-1, 1, (1, 2, 4, 4)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(
        str(float_path), str(qdq_path), Reader(), quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
    )
    graph = import_model(onnx.load(qdq_path))
    assert graph.op_count().get("QuantizeLinear", 0) >= 2
    result = verify_model(qdq_path, samples=100)
    assert result.ok, result.table()


@pytest.mark.parametrize("domain", ["qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general", "finn"])
def test_qonnx_model_under_every_domain(tmp_path, domain):
    path = tmp_path / "m.onnx"
    onnx.save(tiny_mlp(seed=2, domain=domain), path)
    result = verify_model(path, samples=100)
    assert result.ok, result.table()
