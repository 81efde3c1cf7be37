"""Small QONNX networks with joins, shaped like Brevitas exports: residual blocks (an
element-wise Add of two quantized activations), a channel Concat of two branches, a tensor
read by three layers. Every model is built with onnx.helper (IR version 10, opset 13)."""

from __future__ import annotations

import numpy as np
from onnx import helper

from helpers import QONNX, make_model
from tiny_models import bn_node, bn_params, quant_node, quant_params


class _Net:
    """A model under construction: nodes, initializers and a random generator."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: dict = {}

    def quant(self, name, x, out, bits, scale, signed=0, zero_point=0.0, narrow=0):
        self.inits.update(quant_params(name, scale, bits, zero_point))
        self.nodes.append(quant_node(name, x, out, bits, signed=signed, narrow=narrow))
        return out

    def bipolar(self, name, x, out, scale=1.0):
        self.inits[f"{name}_s"] = np.float32(scale)
        self.nodes.append(helper.make_node("BipolarQuant", [x, f"{name}_s"], [out], name=name, domain=QONNX))
        return out

    def conv(self, name, x, out, c_in, c_out, kernel=3, stride=1, pad=1, weight_bits=2):
        self.inits[name] = self.rng.normal(size=(c_out, c_in, kernel, kernel)).astype(np.float32)
        if weight_bits == 1:
            self.bipolar(f"q{name}", name, f"{name}q")
        else:
            self.quant(f"q{name}", name, f"{name}q", weight_bits, 0.5, signed=1, narrow=1)
        self.nodes.append(helper.make_node(
            "Conv", [x, f"{name}q"], [out], name=name, kernel_shape=[kernel, kernel], strides=[stride, stride],
            pads=[pad] * 4))
        return out

    def bn(self, name, x, out, channels, positive=False, negative=False):
        self.inits.update(bn_params(name, channels, self.rng, zero_scale=False))
        if positive or negative:
            self.inits[f"{name}_g"] = np.abs(self.inits[f"{name}_g"]) * (-1 if negative else 1)
        self.nodes.append(bn_node(name, x, out))
        return out

    def pad(self, name, x, out, value):
        self.inits[f"{name}_pads"] = np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)
        self.inits[f"{name}_value"] = np.float32(value)
        self.nodes.append(helper.make_node("Pad", [x, f"{name}_pads", f"{name}_value"], [out], name=name, mode="constant"))
        return out

    def node(self, op_type, inputs, out, name, **attrs):
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def head(self, x, features, classes=5, weight_bits=2):
        """Flatten -> MatMul(quantized weights) -> y."""
        self.node("Flatten", [x], "flat", "flatten")
        self.inits["fc"] = self.rng.normal(size=(features, classes)).astype(np.float32)
        if weight_bits == 1:
            self.bipolar("qfc", "fc", "fcq")
        else:
            self.quant("qfc", "fc", "fcq", weight_bits, 0.25, signed=1, narrow=1)
        return self.node("MatMul", ["flat", "fcq"], "y", "fc")

    def model(self, shape, classes=5):
        return make_model(self.nodes, [("x", ["N", *shape])], [("y", ["N", classes])], self.inits)


def _stem(net: _Net, channels: int, bits: int, scale: float, c_in: int = 2, zero_point: float = 0.0) -> str:
    """x -> Quant(4b input) -> conv 3x3 -> BN -> Quant(bits, scale): the block's input 'a1'."""
    net.quant("qin", "x", "xq", 4, 0.125, signed=1)
    net.conv("conv1", "xq", "c1", c_in, channels)
    net.bn("bn1", "c1", "b1", channels)
    return net.quant("act1", "b1", "a1", bits, scale, zero_point=zero_point)


def residual_block(seed=0, channels=4, size=6, bits=3, skip_scale=0.5, branch_scale=0.5, out_scale=0.5,
                   relu=True, zero_point=0.0, join="Add", skip_zero_point=0.0):
    """A residual block: ``a1`` (scale ``skip_scale``) feeds conv 3x3 -> BN -> Quant(scale
    ``branch_scale``) = ``a2``; ``a1 + a2`` -> [Relu] -> Quant(``out_scale``) -> FC. The
    scale ratio of the two add operands is ``branch_scale / skip_scale``; ``zero_point`` is
    that of the branch's quantizer (an offset on one operand), ``skip_zero_point`` that of
    ``a1``'s; ``join="Sub"`` computes
    ``a2 - a1`` instead."""
    net = _Net(seed)
    _stem(net, channels, bits, skip_scale, zero_point=skip_zero_point)
    net.conv("conv2", "a1", "c2", channels, channels)
    net.bn("bn2", "c2", "b2", channels)
    net.quant("act2", "b2", "a2", bits, branch_scale, zero_point=zero_point)
    net.node(join, ["a2", "a1"], "sum", "residual_add")
    summed = net.node("Relu", ["sum"], "sum_relu", "relu_add") if relu else "sum"
    net.quant("act3", summed, "a3", bits, out_scale)
    net.head("a3", channels * size * size)
    return net.model((2, size, size))


def conv_shortcut_network(seed=0, channels=(4, 6), size=6, bits=2, per_channel=False):
    """Two residual blocks: the first halves the resolution, its shortcut a 1x1 stride-2
    conv -> BN -> Quant; the second has an identity shortcut (MLPerf Tiny's ResNet-8 stack).
    ``per_channel``: the two quantizers feeding the first add (and only it) have one scale per
    channel, the branch's twice the shortcut's."""
    c0, c1 = channels
    net = _Net(seed)
    _stem(net, c0, bits, 0.5)
    # block 1: conv 3x3 stride 2 -> BN -> Quant -> conv 3x3 -> BN -> Quant; shortcut 1x1 stride 2
    net.conv("conv2", "a1", "c2", c0, c1, stride=2)
    net.bn("bn2", "c2", "b2", c1)
    net.quant("act2", "b2", "a2", bits, 0.5)
    net.conv("conv3", "a2", "c3", c1, c1)
    net.bn("bn3", "c3", "b3", c1)
    scales = np.linspace(0.25, 1.0, c1).reshape(1, c1, 1, 1) if per_channel else np.float32(0.5)
    net.quant("act3", "b3", "a3", bits, scales / 2)
    net.conv("shortcut", "a1", "cs", c0, c1, kernel=1, stride=2, pad=0)
    net.bn("bns", "cs", "bs", c1)
    net.quant("acts", "bs", "as", bits, scales)
    net.node("Add", ["a3", "as"], "sum1", "add1")
    net.node("Relu", ["sum1"], "r1", "relu1")
    net.quant("act4", "r1", "a4", bits, 0.5)
    # block 2: identity shortcut
    net.conv("conv5", "a4", "c5", c1, c1)
    net.bn("bn5", "c5", "b5", c1)
    net.quant("act5", "b5", "a5", bits, 0.5)
    net.node("Add", ["a4", "a5"], "sum2", "add2")
    net.node("Relu", ["sum2"], "r2", "relu2")
    net.quant("act6", "r2", "a6", bits, 0.5)
    half = (size + 1) // 2
    net.head("a6", c1 * half * half)
    return net.model((2, size, size))


def bipolar_residual(seed=0, channels=4, size=5, mixed_signs=False, negative=False):
    """w1a1 residual block: bipolar ``a1`` -> Pad(-1) -> conv 3x3 (bipolar weights) -> BN
    -> BipolarQuant = ``a2``; ``a1 + a2`` -> BN -> BipolarQuant -> FC (bipolar weights).
    The BatchNorm after the add has positive scales, negative ones with ``negative``, both
    with ``mixed_signs``."""
    net = _Net(seed)
    net.quant("qin", "x", "xq", 4, 0.125, signed=1)
    net.conv("conv1", "xq", "c1", 2, channels, weight_bits=1)
    net.bn("bn1", "c1", "b1", channels)
    net.bipolar("act1", "b1", "a1")
    net.pad("pad2", "a1", "a1p", -1.0)
    net.conv("conv2", "a1p", "c2", channels, channels, pad=0, weight_bits=1)
    net.bn("bn2", "c2", "b2", channels)
    net.bipolar("act2", "b2", "a2")
    net.node("Add", ["a1", "a2"], "sum", "residual_add")
    net.bn("bn3", "sum", "b3", channels, positive=not mixed_signs and not negative, negative=negative)
    net.bipolar("act3", "b3", "a3")
    net.head("a3", channels * size * size, weight_bits=1)
    return net.model((2, size, size))


def concat_network(seed=0, channels=(4, 3, 5), size=5, bits=2, scales=(0.5, 0.5), requantize=False, right_bits=None):
    """Two branches from ``a1`` (conv 1x1 and conv 3x3, each BN -> Quant) concatenated along
    channels, [Quant(scale 0.5) if ``requantize``,] then conv 3x3 -> BN -> Quant -> FC.
    ``scales``: the two branch quantizers'; ``right_bits``: the right branch's width (default
    ``bits``)."""
    c0, c1, c2 = channels
    net = _Net(seed)
    _stem(net, c0, bits, 0.5)
    net.conv("left", "a1", "cl", c0, c1, kernel=1, pad=0)
    net.bn("bnl", "cl", "bl", c1)
    net.quant("actl", "bl", "al", bits, scales[0])
    net.conv("right", "a1", "cr", c0, c2)
    net.bn("bnr", "cr", "br", c2)
    net.quant("actr", "br", "ar", right_bits or bits, scales[1])
    net.node("Concat", ["al", "ar"], "cat", "concat", axis=1)
    if requantize:
        net.quant("actc", "cat", "catq", bits + 1, 0.5)
    net.conv("conv3", "catq" if requantize else "cat", "c3", c1 + c2, 4)
    net.bn("bn3", "c3", "b3", 4)
    net.quant("act3", "b3", "a3", bits, 0.5)
    net.head("a3", 4 * size * size)
    return net.model((2, size, size))


def three_consumers(seed=0, channels=4, size=5, bits=2):
    """``a1`` read by three layers: conv A, conv B and the residual Add of both branches'
    sum: ``a1 + qa + qb`` (two Adds)."""
    net = _Net(seed)
    _stem(net, channels, bits, 0.5)
    for branch in ("ba", "bb"):
        net.conv(branch, "a1", f"c_{branch}", channels, channels)
        net.bn(f"bn_{branch}", f"c_{branch}", f"b_{branch}", channels)
        net.quant(f"act_{branch}", f"b_{branch}", f"q_{branch}", bits, 0.5)
    net.node("Add", ["q_ba", "a1"], "s1", "add_a")
    net.quant("acts1", "s1", "qs1", bits + 1, 0.5)
    net.node("Add", ["qs1", "q_bb"], "s2", "add_b")
    net.quant("acts2", "s2", "qs2", bits, 0.5)
    net.head("qs2", channels * size * size)
    return net.model((2, size, size))


def input_residual(seed=0, channels=2, size=5, bits=3):
    """The input quantizer's codes (computed on the host) skip a conv block:
    ``Quant(x) + Quant(BN(conv(Quant(x))))`` -> Quant -> FC."""
    net = _Net(seed)
    net.quant("qin", "x", "xq", 4, 0.125, signed=1)
    net.conv("conv1", "xq", "c1", channels, channels)
    net.bn("bn1", "c1", "b1", channels)
    net.quant("act1", "b1", "a1", bits, 0.25, signed=1)
    net.node("Add", ["xq", "a1"], "sum", "input_add")
    net.quant("act2", "sum", "a2", bits, 0.25, signed=1)
    net.head("a2", channels * size * size)
    return net.model((channels, size, size))


def two_inputs(seed=0, features=6, bits=3):
    """Two graph inputs, each quantized on the host, added, requantized -> FC: the hardware
    would read two streams."""
    net = _Net(seed)
    net.quant("qx", "x", "xq", bits, 0.25, signed=1)
    net.quant("qz", "z", "zq", bits, 0.25, signed=1)
    net.node("Add", ["xq", "zq"], "sum", "inputs_add")
    net.quant("acts", "sum", "s", bits, 0.5, signed=1)
    net.inits["fc"] = net.rng.normal(size=(features, 5)).astype(np.float32)
    net.quant("qfc", "fc", "fcq", 2, 0.25, signed=1, narrow=1)
    net.node("MatMul", ["s", "fcq"], "y", "fc")
    return make_model(net.nodes, [("x", ["N", features]), ("z", ["N", features])], [("y", ["N", 5])], net.inits)
