"""Residual adds, channel concatenations and forks through every pass: each stage equals
onnxruntime in the integer domain (what ``bnncc verify MODEL`` checks), the final graph
joins and forks streams in hardware stages, and what cannot be joined exactly is refused
naming the node."""

import numpy as np
import onnx
import pytest

from bnncc.datatype import BIPOLAR, DataType
from bnncc.errors import BnnccError, UnsupportedModelError
from bnncc.executor import execute
from bnncc.frontend import import_model
from bnncc.ir.graph import Graph, TensorInfo
from bnncc.ir.ops.hw import HWOp, StreamAdd, StreamConcat, StreamFork
from bnncc.passes.join_moves import common_grid
from bnncc.passes.pipeline import run_pipeline
from bnncc.passes.ratio_weights import integer_ratios
from bnncc.verify.run import verify_model
from helpers import assert_exact_in_rtl
from join_models import (
    bipolar_residual, concat_network, conv_shortcut_network, input_residual, residual_block, three_consumers,
    two_inputs,
)

SAMPLES = 64

MODELS = {
    "shared-scale": lambda: residual_block(),
    "power-of-two-ratio": lambda: residual_block(branch_scale=1.0),
    "rational-ratio-3/2": lambda: residual_block(branch_scale=0.75),
    "zero-point-offset": lambda: residual_block(zero_point=2.0, relu=False),
    "difference": lambda: residual_block(join="Sub", branch_scale=0.25),
    "zero-points-both-sides": lambda: residual_block(skip_zero_point=1.0, zero_point=2.0, branch_scale=0.75),
    "per-channel-scales": lambda: conv_shortcut_network(per_channel=True),
    "conv-and-identity-shortcuts": lambda: conv_shortcut_network(),
    "bipolar": lambda: bipolar_residual(),
    "bipolar-negative-batchnorm": lambda: bipolar_residual(negative=True),
    "concat": lambda: concat_network(),
    "concat-per-channel-scales": lambda: concat_network(scales=(0.5, 0.25), requantize=True),
    "concat-scales-into-weights": lambda: concat_network(scales=(0.5, 0.375)),
    "three-consumers": lambda: three_consumers(),
    "input-skip": lambda: input_residual(),
}

#: Hardware joins and forks each model must end with: {op type: count}.
EXPECTED = {
    "shared-scale": {"StreamAdd": 1, "StreamFork": 1},
    "power-of-two-ratio": {"StreamAdd": 1, "StreamFork": 1},
    "rational-ratio-3/2": {"StreamAdd": 1, "StreamFork": 1},
    "zero-point-offset": {"StreamAdd": 1, "StreamFork": 1},
    "difference": {"StreamAdd": 1, "StreamFork": 1},
    "zero-points-both-sides": {"StreamAdd": 1, "StreamFork": 1},
    "per-channel-scales": {"StreamAdd": 2, "StreamFork": 2},
    "conv-and-identity-shortcuts": {"StreamAdd": 2, "StreamFork": 2},
    "bipolar": {"StreamAdd": 1, "StreamFork": 1},
    "bipolar-negative-batchnorm": {"StreamAdd": 1, "StreamFork": 1},
    "concat": {"StreamConcat": 1, "StreamFork": 1},
    "concat-per-channel-scales": {"StreamConcat": 1, "StreamFork": 1},
    "concat-scales-into-weights": {"StreamConcat": 1, "StreamFork": 1},
    "three-consumers": {"StreamAdd": 2, "StreamFork": 1},
    "input-skip": {"StreamAdd": 1, "StreamFork": 1},
}


def final_graph(model) -> Graph:
    return run_pipeline(import_model(model))[-1].graph


def stages_of(graph: Graph, cls) -> list:
    return [op for op in graph.ops() if isinstance(op, cls)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_pass_matches_onnxruntime(tmp_path, name):
    path = tmp_path / "model.onnx"
    onnx.save(MODELS[name](), path)
    result = verify_model(path, samples=SAMPLES, seed=3, value_range=(-1.0, 1.0))
    assert result.ok, result.table()
    assert [stage.stage for stage in result.stages][-4:] == ["to_hw", "insert_forks", "host_partition", "folding"]
    for stage in result.stages:
        assert stage.exact + stage.ties == SAMPLES, result.table()
        assert stage.ties <= SAMPLES // 8 and stage.compared_tensors >= 4, result.table()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_joins_and_forks_are_hardware_stages(name):
    graph = final_graph(MODELS[name]())
    hardware = set(graph.metadata["partition"]["hardware"])
    counts = {kind: sum(1 for op in graph.ops() if op.op_type == kind) for kind in EXPECTED[name]}
    assert counts == EXPECTED[name]
    for op in graph.ops():
        if op.op_type in ("StreamAdd", "StreamConcat", "StreamFork"):
            assert op.name in hardware
    assert all(isinstance(graph.op(n), HWOp) for n in hardware)
    assert len(graph.metadata["partition"]["hw_inputs"]) == 1
    # every hardware stream is read by one port: forks feed the several readers
    ports = [t for op in graph.ops() if isinstance(op, HWOp) for t in op.inputs if t and graph.constant(t) is None]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("name", ["bipolar", "bipolar-negative-batchnorm", "rational-ratio-3/2", "concat"])
def test_joins_in_rtl(tmp_path, name):
    """Compiled and simulated under 30 % random stalls on both sides: the bipolar sum's bits
    and shifted thresholds, integer multipliers 3 and 2, a channel concat, and their forks are
    exact in Verilator at the analytic initiation interval."""
    assert_exact_in_rtl(MODELS[name](), tmp_path, samples=12, seed=5)


def _sums(name):
    graph = final_graph(MODELS[name]())
    return graph, stages_of(graph, StreamAdd)


def test_multipliers_bring_operands_to_one_grid():
    """a2 has the branch scale, a1 the skip scale: a2 * s2 + a1 * s1 = (p a2 + q a1) s1 / q."""
    assert [(s.a_mul, s.b_mul) for s in _sums("shared-scale")[1]] == [(1, 1)]
    assert [(s.a_mul, s.b_mul) for s in _sums("power-of-two-ratio")[1]] == [(2, 1)]
    assert [(s.a_mul, s.b_mul) for s in _sums("rational-ratio-3/2")[1]] == [(3, 2)]
    assert [(s.a_mul, s.b_mul) for s in _sums("difference")[1]] == [(1, -2)]  # 0.25 a2 - 0.5 a1
    assert [(s.a_mul, s.b_mul) for s in _sums("per-channel-scales")[1]] == [(1, 2), (1, 1)]  # s/2 a3 + s as
    graph, [add] = _sums("rational-ratio-3/2")
    assert add.a_dtype == DataType.uint(3) and add.out_dtype == DataType.int(7)  # 3 * 7 + 2 * 7 = 35


def test_bipolar_operands_travel_as_bits_and_thresholds_absorb_the_offset():
    graph, [add] = _sums("bipolar")
    assert add.a_dtype == BIPOLAR and add.b_dtype == BIPOLAR and (add.a_mul, add.b_mul) == (2, 2)
    x = np.array([[[[-1, 1, 1, -1]]]]), np.array([[[[-1, -1, 1, 1]]]])
    (fields,) = add.execute(*x)
    assert fields.tolist() == [[[[0, 2, 4, 2]]]]  # (a + 1) + (b + 1) = a + b + 2
    [reader] = graph.consumers(add.outputs[0])
    assert reader.op_type == "Thresholding"


def test_sum_codes_vary_on_random_inputs():
    """The joins see real data: the sums take several values on random inputs."""
    for name in ("rational-ratio-3/2", "bipolar", "concat"):
        graph = final_graph(MODELS[name]())
        joins = stages_of(graph, (StreamAdd, StreamConcat))
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (16,) + graph.tensors["x"].shape[1:]).astype(np.float32)
        values = execute(graph, {"x": x}, keep=[j.outputs[0] for j in joins])
        for join in joins:
            assert len(np.unique(values[join.outputs[0]])) > 2, (name, join.name)


def test_fork_feeds_three_readers():
    graph = final_graph(three_consumers())
    [fork] = stages_of(graph, StreamFork)
    assert fork.n_out == 3 and len(fork.outputs) == 3
    readers = {graph.consumers(t)[0].name for t in fork.outputs}
    assert readers == {"ba__im2col", "bb__im2col", "add_a"}


# -- refusals -------------------------------------------------------------------------------
def refusal(model) -> str:
    with pytest.raises(UnsupportedModelError) as info:
        run_pipeline(import_model(model))
    return str(info.value)


def test_irrational_scale_ratio_is_refused_naming_the_add():
    message = refusal(residual_block(branch_scale=0.5 * 2 ** 0.5))
    assert message.startswith("node 'residual_add' (Add):")
    assert "ratio 1.414" in message and "'a2'" in message and "'a1'" in message


def test_ratio_needing_large_multipliers_is_refused():
    message = refusal(residual_block(branch_scale=0.5 * 67 / 64))
    assert "node 'residual_add' (Add)" in message and "p/q" in message


def test_ratio_differing_per_channel_is_refused():
    model = residual_block()
    scale = next(i for i in model.graph.initializer if i.name == "act2_s")
    scale.CopyFrom(onnx.numpy_helper.from_array(np.array([0.5, 0.25, 0.5, 0.5], np.float32).reshape(1, 4, 1, 1), "act2_s"))
    message = refusal(model)
    assert "node 'residual_add' (Add)" in message and "differs along the tensor" in message


def test_map_decreasing_in_some_channels_after_a_join_is_refused():
    message = refusal(bipolar_residual(mixed_signs=True))
    assert message.startswith("node 'act3' (BipolarQuant):") and "node 'residual_add'" in message
    assert "decreases in 1 of 4 channels" in message and "every channel at once" in message and "increases in 3" in message


def test_map_decreasing_in_every_channel_negates_the_sum():
    graph, [add] = _sums("bipolar-negative-batchnorm")
    assert (add.a_mul, add.b_mul) == (-2, -2)


def test_irrational_per_channel_scales_of_a_concat_stop_before_a_convolution():
    message = refusal(concat_network(scales=(0.5, 0.5 * 2 ** 0.5)))
    assert message.startswith("node 'concat' (Concat): concatenates branches with different scales (0.5, 0.707107)")
    assert "'conv3' (Conv)" in message


def test_concat_of_different_element_types_is_refused():
    message = refusal(concat_network(right_bits=3))
    assert message.startswith("node 'concat' (Concat):") and "UINT2, UINT3" in message


def test_concat_scale_ratios_go_into_the_next_weights():
    """Branches at scales 0.5 and 0.375 = 0.125 * (4, 3): conv3's weights take 4 and 3 per channel."""
    graph = final_graph(concat_network(scales=(0.5, 0.375)))
    [conv3] = [op for op in graph.ops() if op.name == "conv3"]
    plain = final_graph(concat_network())
    [conv3_plain] = [op for op in plain.ops() if op.name == "conv3"]
    ratio = graph.constant(conv3.inputs[1]) / np.where(graph.constant(conv3_plain.inputs[1]) == 0, 1,
                                                         plain.constant(conv3_plain.inputs[1]))
    rows = np.unique(np.abs(ratio[np.abs(plain.constant(conv3_plain.inputs[1])) > 0]))
    assert set(rows.tolist()) <= {3.0, 4.0} and len(rows) == 2


def test_integer_ratios():
    scale, multipliers = integer_ratios(np.array([0.5, 0.375, -0.25]))
    assert scale == 0.125 and multipliers.tolist() == [4, 3, -2]
    assert integer_ratios(np.array([1.0, 2 ** 0.5])) is None and integer_ratios(np.array([1.0, 65.0])) is None
    assert integer_ratios(np.array([1.0, 0.0])) is None


def test_hardware_reading_two_host_streams_is_refused():
    message = refusal(two_inputs())
    assert message.startswith("the hardware reads 2 streams from the host") and "'inputs_add'" in message


def test_common_grid():
    assert common_grid(1.0) == (1, 1) and common_grid(0.25) == (1, 4) and common_grid(1.5) == (3, 2)
    assert common_grid(-2.0) == (-2, 1)
    assert common_grid(2 ** 0.5) is None and common_grid(0.0) is None and common_grid(float("inf")) is None
    assert common_grid(65.0) is None


# -- the hardware ops on their own ----------------------------------------------------------
def stream(shape, dtype):
    return TensorInfo(tuple(shape), dtype)


def test_stream_add_types_and_checks():
    add = StreamAdd(name="s", channels=4, a_dtype=DataType.int(3), b_dtype=BIPOLAR, out_dtype=DataType.int(5),
                    a_mul=-3, b_mul=2, pe=2)
    assert add.result_range() == (-9, 14)
    assert add.infer([stream((1, 2, 4), DataType.int(3)), stream((1, 2, 4), BIPOLAR)]) == [((1, 2, 4), DataType.int(5))]
    (y,) = add.execute(np.array([[-4, 3]]), np.array([[1, -1]]))
    assert y.tolist() == [[14, -9]]
    assert add.rtl_parameters() == {"SIMD": 2, "A_BITS": 3, "A_SIGNED": 1, "A_MUL": -3, "B_BITS": 1, "B_SIGNED": 0,
                                    "B_MUL": 2, "OUT_BITS": 5}
    with pytest.raises(BnnccError, match="narrowest INT"):
        add.clone(out_dtype=DataType.int(8)).infer([stream((1, 4), DataType.int(3)), stream((1, 4), BIPOLAR)])
    with pytest.raises(BnnccError, match="one shape"):
        add.infer([stream((1, 4), DataType.int(3)), stream((2, 4), BIPOLAR)])
    with pytest.raises(BnnccError, match="PE=3 does not divide 4"):
        add.clone(pe=3).infer([stream((1, 4), DataType.int(3)), stream((1, 4), BIPOLAR)])


def test_stream_concat_and_fork():
    cat = StreamConcat(name="c", channels=(2, 4), dtype=DataType.uint(2), pe=2)
    assert cat.infer([stream((1, 3, 2), DataType.uint(2)), stream((1, 3, 4), DataType.uint(2))]) == \
        [((1, 3, 6), DataType.uint(2))]
    with pytest.raises(BnnccError, match="every input of the stage is UINT2"):
        cat.infer([stream((1, 3, 2), DataType.uint(2)), stream((1, 3, 4), DataType.uint(3))])
    with pytest.raises(BnnccError, match="PE=4 does not divide 2"):
        cat.clone(pe=4).infer([stream((1, 3, 2), DataType.uint(2)), stream((1, 3, 4), DataType.uint(2))])
    assert cat.rtl_parameters(pixels=3) == {"N_IN": 2, "BITS": 2, "SIMD": 2, "PIXELS": 3, "CHANNELS": (4 << 16) + 2}
    (y,) = cat.execute(np.zeros((1, 3, 2), np.int64), np.ones((1, 3, 4), np.int64))
    assert y[0, 0].tolist() == [0, 0, 1, 1, 1, 1]
    fork = StreamFork(name="f", channels=4, n_out=3)
    assert len(fork.infer([stream((1, 4), DataType.int(4))])) == 3
    assert fork.clone(pe=2).rtl_parameters(bits=4) == {"WIDTH": 8, "N_OUT": 3}
    assert all(out is not None for out in fork.execute(np.arange(4).reshape(1, 4)))
    with pytest.raises(BnnccError, match="at least 2"):
        fork.clone(n_out=1).infer([stream((1, 4), DataType.int(4))])
