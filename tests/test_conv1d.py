"""1-D convolution and 1-D max-pooling on (N, C, L) tensors: imported as the 2-D operations
with H = 1 (kernel (1, K), pads (0, b, 0, e)) on the input seen as (N, C, 1, L), between an
Unsqueeze and a Squeeze that the passes fold. A RadioML-style network (2-channel I/Q input,
1-D convolutions and max-pools with stride, dilation and padding) is exact against
onnxruntime (graph optimizations disabled) at every pass, and in RTL under random stalls."""

import numpy as np
import onnx
import pytest
from onnx import helper

from bnncc.errors import BnnccError
from bnncc.frontend import load_graph
from bnncc.ir.ops.hw import HWOp
from bnncc.verify.run import model_stages, verify_model
from helpers import assert_exact_in_rtl, make_model
from tiny_models import quant_node, quant_params


def radioml_model(length=32, channels=(6, 6), kernel=3, pads=(1, 1), stride=1, dilation=1, pool=(2, 2),
                  pool_pads=(0, 0), bits=2, classes=5, seed=0, activation="Relu", batchnorm=False, bias=False,
                  auto_pad=None, channel_scales=False):
    """x (N, 2, L) -> Quant(4b) -> [Conv1d(K) -> scale -> activation -> Quant(bits) -> MaxPool1d] per layer
    -> Flatten -> MatMul -> y (a signed quantizer after an activation other than Relu). The first layer has the given pads/stride/dilation; the pool
    (kernel, stride) and its pads follow every layer."""
    rng = np.random.default_rng(seed)
    inits = quant_params("qin", 0.125, 4)
    nodes = [quant_node("qin", "x", "x0", 4)]
    width, current, size = 2, "x0", length
    for index, out_channels in enumerate(channels):
        first = index == 0
        p, s, d = (pads, stride, dilation) if first else ((1, 1), 1, 1)
        inits[f"w{index}"] = rng.normal(size=(out_channels, width, kernel)).astype(np.float32)
        inits[f"sc{index}"] = rng.uniform(0.3, 0.7, (out_channels, 1)).astype(np.float32)
        inits.update(quant_params(f"qw{index}", 0.5, 2))
        # per-channel scales in small integer ratios move into the next layer's weights
        act_scale = (0.25 * np.resize([1.0, 2.0, 3.0], out_channels)).reshape(1, -1, 1).astype(np.float32) if channel_scales else 0.5
        inits.update(quant_params(f"qa{index}", act_scale, bits))
        conv_inputs = [current, f"w{index}q"]
        if bias:
            inits[f"b{index}"] = rng.normal(size=out_channels).astype(np.float32)
            conv_inputs.append(f"b{index}")
        window = {"pads": list(p)} if not (first and auto_pad) else {"auto_pad": auto_pad}
        nodes += [
            quant_node(f"qw{index}", f"w{index}", f"w{index}q", 2, narrow=1),
            helper.make_node("Conv", conv_inputs, [f"c{index}"], name=f"conv{index}", kernel_shape=[kernel],
                             strides=[s], dilations=[d], **window),
        ]
        if batchnorm:
            inits[f"g{index}"] = rng.uniform(0.5, 2.0, out_channels).astype(np.float32) * np.resize([1, -1], out_channels).astype(np.float32)
            inits[f"be{index}"] = rng.normal(size=out_channels).astype(np.float32)
            inits[f"mu{index}"] = rng.normal(size=out_channels).astype(np.float32)
            inits[f"va{index}"] = rng.uniform(0.5, 2.0, out_channels).astype(np.float32)
            nodes.append(helper.make_node("BatchNormalization", [f"c{index}", f"g{index}", f"be{index}", f"mu{index}", f"va{index}"],
                                          [f"bn{index}"], name=f"bn{index}"))
            nodes.append(helper.make_node("Identity", [f"bn{index}"], [f"c{index}x"], name=f"id{index}"))
        else:
            nodes.append(helper.make_node("Identity", [f"c{index}"], [f"c{index}x"], name=f"id{index}"))
        nodes += [
            helper.make_node("Mul", [f"c{index}x", f"sc{index}"], [f"m{index}"], name=f"scale{index}"),
            helper.make_node(activation, [f"m{index}"], [f"r{index}"], name=f"act{index}",
                             **({"alpha": 0.125} if activation == "LeakyRelu" else {})),
            quant_node(f"qa{index}", f"r{index}", f"a{index}", bits, signed=int(activation != "Relu")),
            helper.make_node("MaxPool", [f"a{index}"], [f"p{index}"], name=f"pool{index}", kernel_shape=[pool[0]],
                             strides=[pool[1]], pads=list(pool_pads)),
        ]
        size = -(-size // s) if first and auto_pad else (size + p[0] + p[1] - d * (kernel - 1) - 1) // s + 1
        size = (size + pool_pads[0] + pool_pads[1] - pool[0]) // pool[1] + 1
        width, current = out_channels, f"p{index}"
    inits["wf"] = rng.normal(size=(width * size, classes)).astype(np.float32)
    inits.update(quant_params("qwf", 0.25, 3))
    nodes += [
        helper.make_node("Flatten", [current], ["f"], name="flatten"),
        quant_node("qwf", "wf", "wfq", 3),
        helper.make_node("MatMul", ["f", "wfq"], ["y"], name="fc"),
    ]
    return make_model(nodes, [("x", ["N", 2, length])], [("y", ["N", classes])], inits)


def check(model, tmp_path, samples=60, build=None, stall=0):
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    result = verify_model(path, samples=samples, seed=5, build_dir=build, stall=stall)
    assert result.ok, result.table()
    assert all(stage.exact == samples for stage in result.stages), result.table()
    final = model_stages(load_graph(path))[-1][1]
    counts = final.op_count()
    assert counts.get("MVAU") == sum(n.op_type in ("Conv", "MatMul") for n in model.graph.node), counts
    partition = final.metadata["partition"]
    assert all(isinstance(final.op(name), HWOp) for name in partition["hardware"]), counts
    assert not {"Squeeze", "Conv", "MaxPool"} & set(counts), counts
    return final, result


CASES = {
    "plain": {},
    "pad-2-0": {"pads": (2, 0)},
    "stride-2": {"stride": 2, "pads": (1, 0)},
    "dilation-2": {"dilation": 2, "pads": (2, 2)},
    "kernel-5": {"kernel": 5, "pads": (2, 2)},
    "pool-3-stride-2": {"pool": (3, 2)},
    "pool-padded": {"pool": (2, 2), "pool_pads": (1, 1), "length": 30},
    "4-bit": {"bits": 4},
    "bias-batchnorm": {"bias": True, "batchnorm": True},
    "same-upper-stride-2": {"auto_pad": "SAME_UPPER", "stride": 2, "kernel": 4},
    "same-lower-kernel-4": {"auto_pad": "SAME_LOWER", "kernel": 4},
    "per-channel-quantizer": {"channel_scales": True, "bits": 3},
    "leakyrelu-signed": {"bits": 4, "activation": "LeakyRelu"},
    "tanh-signed": {"bits": 3, "activation": "Tanh"},
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_conv1d_exact_at_every_pass(tmp_path, case):
    check(radioml_model(**CASES[case]), tmp_path)


def test_conv1d_weight_shape_recorded_as_2d():
    """The imported Conv holds a (M, C, 1, K) weight and a (1, K) kernel."""
    import tempfile, pathlib
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "m.onnx"
        onnx.save(radioml_model(pads=(2, 0), stride=2), path)
        graph = load_graph(path)
    conv = graph.op("conv0")
    assert conv.kernel_shape == (1, 3) and conv.pads == (0, 2, 0, 0) and conv.strides == (1, 2)
    assert graph.tensors[conv.inputs[1]].shape == (6, 2, 1, 3)
    assert graph.tensors[conv.outputs[0]].shape[2] == 1


def test_conv1d_bad_pads_named(tmp_path):
    model = radioml_model()
    conv = next(n for n in model.graph.node if n.name == "conv0")
    del conv.attribute[:]
    conv.attribute.extend([helper.make_attribute("kernel_shape", [3]), helper.make_attribute("pads", [1, 1, 1, 1])])
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    with pytest.raises(BnnccError, match="node 'conv0'.*2 pads for a 1-D window"):
        load_graph(path)


def test_conv1d_in_rtl(tmp_path):
    """A RadioML-style 1-D stack compiled and co-simulated under 30 % stalls on both sides:
    exact, at the analytic initiation interval (within 2 %)."""
    assert_exact_in_rtl(radioml_model(length=24, channels=(4, 4), pads=(1, 1), stride=1, dilation=2), tmp_path)
