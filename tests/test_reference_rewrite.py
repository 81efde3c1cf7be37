"""The onnxruntime reference reproduces QONNX/FINN quantizers exactly (bnncc.reference).

Each test builds a one-node model, runs it through :class:`ReferenceRunner` and compares the
real output ``y`` and the exposed integer code ``y__code`` with :mod:`bnncc.quant_math`.
Inputs lie on a quarter-step grid in code units with power-of-two scales, so every value is
exact in float32 and many are exact rounding ties (k + 1/2) or sit exactly on a bound.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnncc import quant_math
from bnncc.datatype import DataType
from bnncc.errors import UnsupportedModelError, UsageError
from bnncc.ir.ops.quant import MultiThreshold
from bnncc.naming import code_tensor_name
from bnncc.reference import CUSTOM_DOMAINS, ReferenceRunner, rewrite_custom_ops
from bnncc.reference.rewrite import ROUNDING_EMITTERS, count_code_affine

QONNX = "qonnx.custom_op.general"
DOMAINS = sorted(CUSTOM_DOMAINS)
ALL_MODES = sorted(quant_math.ROUNDING_MODES)  # aliases included
SHAPE = (3, 4, 6, 8)  # N, C, H, W
PER_CHANNEL_SCALE = np.array([0.5, 0.25, 1.0, 2.0], dtype=np.float32).reshape(1, 4, 1, 1)
PER_CHANNEL_ZERO = np.array([0.0, 1.0, -2.0, 3.0], dtype=np.float32).reshape(1, 4, 1, 1)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make_model(node, x_shape, constants, domain=QONNX, opset=13, batch="N", extra_inputs=()):
    """A one-node model with input ``x`` (batch dimension ``batch``) and output ``y``."""
    shape = [batch, *x_shape[1:]]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape), *extra_inputs]
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in constants.items()],
    )
    imports = [helper.make_opsetid("", opset), helper.make_opsetid(domain, 1)]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 10
    return model


def run(model, x, **runner_options):
    """Outputs ``y`` and ``y__code`` of ``model`` on ``x``."""
    runner = ReferenceRunner(model, **runner_options)
    out = runner.run({"x": x})
    assert runner.code_tensors == [code_tensor_name("y")]
    code = out[code_tensor_name("y")]
    assert code.dtype == np.float32
    return out["y"], code


def assert_exact(actual, expected):
    """Element-wise equality (after casting ``expected`` to ``actual``'s dtype)."""
    expected = np.asarray(expected).astype(actual.dtype)
    mismatches = np.flatnonzero(actual != expected)
    assert actual.shape == expected.shape
    assert mismatches.size == 0, (
        f"{mismatches.size} mismatches, first at {mismatches[:5]}: "
        f"{actual.flat[mismatches[:5]]} != {expected.flat[mismatches[:5]]}"
    )


def code_grid(rng, low, high, shape, step=0.25):
    """Random values on a ``step`` grid spanning [low - 3, high + 3] (code units), with
    every half-integer tie of the range and zero included where they fit."""
    grid = np.arange((low - 3) / step, (high + 3) / step + 1) * step
    ties = np.arange(low - 1, high + 2) + 0.5
    values = np.concatenate([ties, [0.0], rng.choice(grid, size=int(np.prod(shape)))])[: int(np.prod(shape))]
    return rng.permutation(values).reshape(shape)


def quant_input(rng, low, high, scale, zero):
    """``x`` such that ``x / scale + zero`` lies on the code grid (exact in float32)."""
    value = code_grid(rng, low, high, SHAPE)
    x = ((value - zero) * scale).astype(np.float32)
    assert np.array_equal(x.astype(np.float64) / scale + zero, value)
    x[0, :, 0, 0] = 0.0  # exact zeros of x as well
    return x


# ---------------------------------------------------------------------------------------------
# Quant / IntQuant
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("signed,narrow", [(1, 0), (1, 1), (0, 0), (0, 1)])
def test_quant_per_tensor(mode, bits, signed, narrow):
    """Per-tensor scale 0.25, zero point 1 (0 for bipolar)."""
    scale = np.float32(0.25)
    zero = np.float32(0.0 if bits == 1 and signed else 1.0)
    check_quant(mode, bits, signed, narrow, scale, zero, seed=bits * 10 + signed * 2 + narrow)


@pytest.mark.parametrize("mode", ["ROUND", "FLOOR", "HALF_UP", "HALF_DOWN", "UP", "DOWN", "CEIL"])
@pytest.mark.parametrize("bits,signed,narrow", [(1, 1, 0), (2, 1, 1), (4, 0, 0), (8, 1, 0)])
def test_quant_per_channel(mode, bits, signed, narrow):
    """Per-channel scales and zero points of shape (1, C, 1, 1)."""
    check_quant(mode, bits, signed, narrow, PER_CHANNEL_SCALE, PER_CHANNEL_ZERO, seed=bits)


def check_quant(mode, bits, signed, narrow, scale, zero, seed, op_type="Quant", domain=QONNX):
    rng = np.random.default_rng(seed)
    low, high = quant_math.int_range(bits, signed, narrow)
    x = quant_input(rng, low, high, np.float64(np.asarray(scale)), np.asarray(zero, np.float64))
    node = helper.make_node(op_type, ["x", "scale", "zero", "bits"], ["y"], name="quant_node", domain=domain,
                            signed=signed, narrow=narrow, rounding_mode=mode)
    model = make_model(node, SHAPE, {"scale": scale, "zero": zero, "bits": np.float32(bits)}, domain=domain)
    y, code = run(model, x)

    x64, scale64, zero64 = x.astype(np.float64), np.float64(np.asarray(scale)), np.asarray(zero, np.float64)
    if bits == 1 and signed:
        expected = quant_math.bipolar_code(x64, scale64, zero64)
    else:
        expected = quant_math.quant_code(x64, scale64, zero64, low, high, mode)
    assert_exact(code, expected)
    assert_exact(y, ((expected - zero64) * scale64).astype(np.float32))


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("op_type", ["Quant", "IntQuant"])
def test_quant_domains(domain, op_type):
    check_quant("ROUND", 4, 1, 0, np.float32(0.5), np.float32(0.0), seed=1, op_type=op_type, domain=domain)


def test_quant_default_attributes():
    """signed=1, narrow=0, rounding_mode=ROUND when absent."""
    rng = np.random.default_rng(3)
    x = quant_input(rng, -8, 7, 0.5, 0.0)
    node = helper.make_node("Quant", ["x", "scale", "zero", "bits"], ["y"], name="q", domain=QONNX)
    model = make_model(node, SHAPE, {"scale": np.float32(0.5), "zero": np.float32(0), "bits": np.float32(4)})
    _, code = run(model, x)
    assert_exact(code, quant_math.quant_code(x.astype(np.float64), 0.5, 0.0, -8, 7, "ROUND"))


def test_quant_parameters_from_constant_nodes():
    """Scale, zero point and bit width may come from Constant nodes (and get pruned with them)."""
    nodes = [
        helper.make_node("Constant", [], ["scale"], value=numpy_helper.from_array(np.float32(0.25))),
        helper.make_node("Constant", [], ["zero"], value_float=0.0),
        helper.make_node("Constant", [], ["bits"], value=numpy_helper.from_array(np.float32(3))),
        helper.make_node("Quant", ["x", "scale", "zero", "bits"], ["y"], name="q", domain=QONNX, rounding_mode="FLOOR"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)])
    model.ir_version = 10
    x = (np.arange(-24, 24, dtype=np.float32) / 8).reshape(6, 8)
    y, code = run(model, x)
    expected = quant_math.quant_code(x.astype(np.float64), 0.25, 0.0, -4, 3, "FLOOR")
    assert_exact(code, expected)
    assert_exact(y, expected * 0.25)
    rewritten, _ = rewrite_custom_ops(model)
    assert "bits" not in {o for n in rewritten.graph.node for o in n.output}


def test_non_constant_bit_width_is_rejected():
    node = helper.make_node("Quant", ["x", "scale", "zero", "bits"], ["y"], name="MyQuant_7", domain=QONNX)
    bits_input = helper.make_tensor_value_info("bits", TensorProto.FLOAT, [])
    model = make_model(node, SHAPE, {"scale": np.float32(1), "zero": np.float32(0)}, extra_inputs=[bits_input])
    with pytest.raises(UnsupportedModelError, match="MyQuant_7") as info:
        rewrite_custom_ops(model)
    assert "\n" not in str(info.value)


def test_unknown_rounding_mode_is_rejected():
    node = helper.make_node("Quant", ["x", "scale", "zero", "bits"], ["y"], name="odd", domain=QONNX,
                            rounding_mode="STOCHASTIC")
    model = make_model(node, SHAPE, {"scale": np.float32(1), "zero": np.float32(0), "bits": np.float32(4)})
    with pytest.raises(UnsupportedModelError, match="odd.*STOCHASTIC"):
        rewrite_custom_ops(model)


# ---------------------------------------------------------------------------------------------
# BipolarQuant
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("per_channel", [False, True])
def test_bipolar_quant(domain, per_channel):
    """Zero maps to +1; negative zero too (it is >= 0)."""
    rng = np.random.default_rng(5)
    scale = PER_CHANNEL_SCALE if per_channel else np.float32(0.5)
    x = (rng.integers(-8, 9, size=SHAPE) / 4).astype(np.float32)
    x[0, :, 0, :3] = [0.0, -0.0, 0.0]
    node = helper.make_node("BipolarQuant", ["x", "scale"], ["y"], name="bq", domain=domain)
    y, code = run(make_model(node, SHAPE, {"scale": scale}, domain=domain), x)
    expected = quant_math.bipolar_code(x.astype(np.float64), np.asarray(scale, np.float64))
    assert np.all(code[x == 0] == 1)
    assert_exact(code, expected)
    assert_exact(y, (expected * np.asarray(scale, np.float64)).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Trunc
# ---------------------------------------------------------------------------------------------
def trunc_input(rng, in_bits, signed, scale, zero):
    """Integer codes of ``in_bits`` plus quarter offsets (ties for the inner rounding)."""
    low, high = quant_math.int_range(in_bits, signed, False)
    inner = rng.integers(low, high + 1, size=SHAPE) + rng.choice([0.0, 0.0, 0.25, -0.25, 0.5], size=SHAPE)
    return ((inner - zero) * scale).astype(np.float32)


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "CEIL", "HALF_UP", "HALF_DOWN", "UP", "DOWN"])
@pytest.mark.parametrize("signed,zero", [(1, 0.0), (1, 2.0), (0, 3.0)])
def test_trunc_v1(mode, signed, zero):
    """8-bit codes truncated to 4 bits: shift 16, y = (code - zero) * scale."""
    rng = np.random.default_rng(7)
    scale, in_bits, out_bits = 0.125, 8, 4
    x = trunc_input(rng, in_bits, signed, scale, zero)
    node = helper.make_node("Trunc", ["x", "scale", "zero", "in_bits", "out_bits"], ["y"], name="trunc", domain=QONNX,
                            rounding_mode=mode, signed=signed)
    constants = {"scale": np.float32(scale), "zero": np.float32(zero), "in_bits": np.float32(in_bits),
                 "out_bits": np.float32(out_bits)}
    y, code = run(make_model(node, SHAPE, constants), x)
    low, high = quant_math.int_range(out_bits, signed, False)
    expected = quant_math.trunc_code(x.astype(np.float64), scale, zero, 16.0, low, high, mode)
    assert_exact(code, expected)
    assert_exact(y, ((expected - zero) * scale).astype(np.float32))


@pytest.mark.parametrize("mode", ["FLOOR", "ROUND", "HALF_UP", "DOWN"])
@pytest.mark.parametrize("zero,narrow", [(0.0, 0), (4.0, 1)])
def test_trunc_v2(mode, zero, narrow):
    """out_scale = 8 * scale: shift 8, y = (code - zero / 8) * out_scale; out_zeropt unused."""
    rng = np.random.default_rng(11)
    scale, out_scale, in_bits, out_bits = 0.25, 2.0, 8, 5
    x = trunc_input(rng, in_bits, 1, scale, zero)
    node = helper.make_node("Trunc", ["x", "scale", "zero", "in_bits", "out_scale", "out_zero", "out_bits"], ["y"],
                            name="trunc2", domain=QONNX, rounding_mode=mode, narrow=narrow)
    constants = {"scale": np.float32(scale), "zero": np.float32(zero), "in_bits": np.float32(in_bits),
                 "out_scale": np.float32(out_scale), "out_zero": np.float32(0), "out_bits": np.float32(out_bits)}
    y, code = run(make_model(node, SHAPE, constants), x)
    low, high = quant_math.int_range(out_bits, True, narrow)
    expected = quant_math.trunc_code(x.astype(np.float64), scale, zero, 8.0, low, high, mode)
    assert_exact(code, expected)
    assert_exact(y, ((expected - zero / 8.0) * out_scale).astype(np.float32))


@pytest.mark.parametrize("domain", DOMAINS)
def test_trunc_domains_default_floor(domain):
    rng = np.random.default_rng(13)
    x = trunc_input(rng, 6, 1, 1.0, 0.0)
    node = helper.make_node("Trunc", ["x", "scale", "zero", "in_bits", "out_bits"], ["y"], name="t", domain=domain)
    constants = {"scale": np.float32(1), "zero": np.float32(0), "in_bits": np.float32(6), "out_bits": np.float32(3)}
    _, code = run(make_model(node, SHAPE, constants, domain=domain), x)
    assert_exact(code, quant_math.trunc_code(x.astype(np.float64), 1.0, 0.0, 8.0, -4, 3, "FLOOR"))


# ---------------------------------------------------------------------------------------------
# MultiThreshold
# ---------------------------------------------------------------------------------------------
def thresholds_for(rng, rows, steps):
    """Sorted thresholds on a 1/4 grid, shape (rows, steps)."""
    return np.sort(rng.integers(-12, 13, size=(rows, steps)) / 4, axis=1).astype(np.float32)


MT_CASES = {
    # name: (x shape, data_layout, channel axis)
    "nchw4d": ((3, 4, 5, 6), "NCHW", 1),
    "nhwc4d": ((3, 5, 6, 4), "NHWC", 3),
    "nc2d": ((7, 4), "NCHW", 1),
    "nhwc2d": ((7, 4), "NHWC", 1),
    "nlc3d": ((3, 5, 4), "NCHW", 2),
}


@pytest.mark.parametrize("case", sorted(MT_CASES))
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("out_dtype,steps", [("BIPOLAR", 1), ("INT2", 3), ("UINT4", 15), ("INT4", 9)])
def test_multithreshold(case, shared, out_dtype, steps):
    shape, layout, axis = MT_CASES[case]
    rng = np.random.default_rng(steps + 17 * shared)
    thresholds = thresholds_for(rng, 1 if shared else shape[axis], steps)
    x = (rng.integers(-14, 15, size=shape) / 4).astype(np.float32)  # many x == threshold ties
    out_scale, out_bias = (2.0, -1.0) if out_dtype == "BIPOLAR" else (0.5, -1.5)
    node = helper.make_node("MultiThreshold", ["x", "thresholds"], ["y"], name="mt", domain="finn",
                            out_dtype=out_dtype, out_scale=out_scale, out_bias=out_bias, data_layout=layout)
    y, code = run(make_model(node, shape, {"thresholds": thresholds}, domain="finn"), x)

    count = quant_math.multithreshold_count(x, thresholds, axis)
    reference_op = MultiThreshold(name="mt", out_dtype=DataType.parse(out_dtype), channel_axis=axis)
    assert_exact(code, reference_op.code_from_count(count))
    assert_exact(y, (out_scale * count + out_bias).astype(np.float32))


@pytest.mark.parametrize("domain", DOMAINS)
def test_multithreshold_domains_defaults(domain):
    """Default out_scale 1, out_bias 0, layout NCHW."""
    rng = np.random.default_rng(19)
    thresholds = thresholds_for(rng, 4, 3)
    x = (rng.integers(-14, 15, size=SHAPE) / 4).astype(np.float32)
    node = helper.make_node("MultiThreshold", ["x", "thresholds"], ["y"], name="mt", domain=domain, out_dtype="UINT2")
    y, code = run(make_model(node, SHAPE, {"thresholds": thresholds}, domain=domain), x)
    count = quant_math.multithreshold_count(x, thresholds, 1)
    assert_exact(code, count)
    assert_exact(y, count)


def test_count_code_affine_matches_ir():
    for name in ["BIPOLAR", "BINARY", "INT2", "INT4", "INT8", "UINT1", "UINT4"]:
        dtype = DataType.parse(name)
        a, b = count_code_affine(dtype)
        count = np.arange(4)
        assert np.array_equal(a * count + b, MultiThreshold(name="m", out_dtype=dtype).code_from_count(count)), name


def test_multithreshold_bad_thresholds_rejected():
    node = helper.make_node("MultiThreshold", ["x", "thresholds"], ["y"], name="mt_bad", domain="finn", out_dtype="UINT2")
    model = make_model(node, SHAPE, {"thresholds": np.zeros((3, 3), np.float32)}, domain="finn")
    with pytest.raises(UnsupportedModelError, match="mt_bad.*3 rows for 4 channels"):
        rewrite_custom_ops(model)


# ---------------------------------------------------------------------------------------------
# model-level behaviour
# ---------------------------------------------------------------------------------------------
def test_rounding_emitters_cover_every_mode():
    canonical = {quant_math.normalize_rounding_mode(m) for m in quant_math.ROUNDING_MODES}
    assert set(ROUNDING_EMITTERS) == canonical


def two_node_model(batch, opset=13):
    """x -> Quant (4 bit) -> MatMul with a BipolarQuant'ed weight -> y."""
    weight = np.random.default_rng(23).normal(size=(8, 3)).astype(np.float32)
    weight[0, 0] = 0.0
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], name="in_quant", domain=QONNX),
        helper.make_node("BipolarQuant", ["w", "ws"], ["wq"], name="w_quant", domain="onnx.brevitas"),
        helper.make_node("MatMul", ["xq", "wq"], ["y"], name="mm"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3])],
        [numpy_helper.from_array(v, k) for k, v in {
            "s": np.float32(0.5), "z": np.float32(0), "b": np.float32(4), "w": weight, "ws": np.float32(1)}.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(QONNX, 1),
                                                    helper.make_opsetid("onnx.brevitas", 1)])
    model.ir_version = 10
    return model, weight


def test_batched_and_per_sample_runs_agree():
    x = (np.random.default_rng(29).integers(-20, 20, size=(5, 8)) / 4).astype(np.float32)
    symbolic = ReferenceRunner(two_node_model("N")[0]).run({"x": x})
    fixed = ReferenceRunner(two_node_model(1)[0]).run({"x": x})
    assert symbolic.keys() == fixed.keys() == {"y", "xq__code", "wq__code"}
    for name in symbolic:
        assert_exact(fixed[name], symbolic[name])
    _, weight = two_node_model(1)
    assert fixed["wq__code"].shape == weight.shape  # a weight code is not concatenated per sample
    assert_exact(fixed["wq__code"], quant_math.bipolar_code(weight, 1.0))
    xq = quant_math.quant_code(x, 0.5, 0.0, -8, 7, "ROUND") * 0.5
    assert np.allclose(fixed["y"], xq @ np.where(weight >= 0, 1.0, -1.0), atol=1e-5)


def test_rewrite_does_not_modify_input_and_prunes_imports():
    model, _ = two_node_model("N")
    model.ir_version = 12
    before = model.SerializeToString()
    rewritten, codes = rewrite_custom_ops(model)
    assert model.SerializeToString() == before
    assert codes == ["xq__code", "wq__code"]
    assert {n.domain for n in rewritten.graph.node} == {""}
    assert [o.domain for o in rewritten.opset_import] == [""]
    assert rewritten.ir_version == 10
    assert [o.name for o in rewritten.graph.output] == ["y", "xq__code", "wq__code"]
    onnx.checker.check_model(rewritten)
    again, _ = rewrite_custom_ops(model)
    assert again.SerializeToString() == rewritten.SerializeToString()  # deterministic


def test_unknown_custom_op_is_left_alone():
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], name="q", domain=QONNX),
        helper.make_node("Mystery", ["q"], ["y"], name="m", domain="my.domain"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(v), k) for k, v in {"s": 1, "z": 0, "b": 8}.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1),
                                                    helper.make_opsetid("my.domain", 1)])
    rewritten, codes = rewrite_custom_ops(model)
    assert codes == ["q__code"]
    assert rewritten.graph.node[-1] == nodes[1]
    assert {o.domain for o in rewritten.opset_import} == {"", "my.domain"}


def test_low_opset_model_is_converted():
    """An opset-11 model (Softmax changes meaning at 13) is converted before rewriting."""
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b"], ["q"], name="q", domain=QONNX),
        helper.make_node("Softmax", ["q"], ["y"], name="sm", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(v), k) for k, v in {"s": 0.5, "z": 0, "b": 4}.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11), helper.make_opsetid(QONNX, 1)])
    model.ir_version = 6
    x = (np.arange(-12, 12, dtype=np.float32) / 4).reshape(4, 2, 3)
    out = ReferenceRunner(model).run({"x": x})
    q = quant_math.quant_code(x, 0.5, 0.0, -8, 7, "ROUND") * 0.5
    flat = q.reshape(4, 6)  # opset-11 Softmax(axis=1) normalizes over the flattened trailing axes
    expected = (np.exp(flat) / np.exp(flat).sum(axis=1, keepdims=True)).reshape(4, 2, 3)
    assert np.allclose(out["y"], expected, rtol=1e-6)
    assert_exact(out["q__code"], quant_math.quant_code(x, 0.5, 0.0, -8, 7, "ROUND"))


def test_qdq_extra_outputs_are_int64():
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z8"], ["q8"], name="ql8"),
        helper.make_node("DequantizeLinear", ["q8", "s", "z8"], ["d8"], name="dq8"),
        helper.make_node("QuantizeLinear", ["d8", "s", "z4"], ["q4"], name="ql4"),
        helper.make_node("DequantizeLinear", ["q4", "s", "z4"], ["y"], name="dq4"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(0.5), "s"), helper.make_tensor("z8", TensorProto.INT8, [], [0]),
         helper.make_tensor("z4", TensorProto.INT4, [], [0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    runner = ReferenceRunner(model, extra_outputs=["q8", "q4"])
    x = np.array([[-100.0, -1.25, 0.25, 0.75, 3.0]], dtype=np.float32)
    out = runner.run({"x": x})
    assert runner.code_tensors == []
    assert out["q8"].dtype == out["q4"].dtype == np.int64
    assert_exact(out["q8"], quant_math.quantize_linear_code(x, 0.5, 0, -128, 127))
    assert_exact(out["q4"], quant_math.quantize_linear_code(x, 0.5, 0, -8, 7))
    with pytest.raises(UsageError, match="nonexistent"):
        ReferenceRunner(model, extra_outputs=["nonexistent"])


def test_inputs_are_cast_and_checked():
    model, _ = two_node_model("N")
    runner = ReferenceRunner(model, intra_op_threads=1)
    x64 = np.zeros((2, 8), dtype=np.float64)
    assert runner.run({"x": x64})["y"].shape == (2, 3)
    with pytest.raises(UsageError):
        runner.run({"z": x64})


@pytest.mark.parametrize("mode", ["HALF_UP", "HALF_DOWN", "UP", "DOWN"])
def test_wide_codes_round_exactly(mode):
    """24-bit codes near 2**23, where floor(|v| + 0.5) in float32 would round the sum itself."""
    x = np.array([[2.0**23 + 1, 2.0**23 + 3, -(2.0**23) + 1, 2.0**22 + 0.5, 2.0**24 - 1]], dtype=np.float32)
    node = helper.make_node("Quant", ["x", "scale", "zero", "bits"], ["y"], name="wide", domain=QONNX,
                            signed=0, rounding_mode=mode)
    model = make_model(node, x.shape, {"scale": np.float32(1), "zero": np.float32(0), "bits": np.float32(24)})
    _, code = run(model, x)
    assert_exact(code, quant_math.quant_code(x.astype(np.float64), 1.0, 0.0, 0, 2**24 - 1, mode))
