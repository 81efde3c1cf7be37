"""The QONNX model of a :class:`graphs.spec.GraphSpec`, written the way Brevitas exports it.

Weights are float initializers followed by their ``Quant`` / ``BipolarQuant`` node (PyTorch
layout: ``(out, in)`` for FC, behind a ``Transpose``, or ``Gemm`` with ``transB=1``; ``(O, C,
kh, kw)`` for Conv); activations are quantized by ``Quant`` / ``BipolarQuant`` after an
optional BatchNorm and Relu.

Scales follow a rough estimate of each tensor's root-mean-square value so that codes use
their range instead of saturating or collapsing to zero:

    weight scale      s_w = max|w| / max_code          (per tensor or per output channel)
    pre-activation    rms(y) ~ sqrt(fan_in) * rms(x) * rms(w)
    activation scale  s_a = 2 rms(y) / 2^(bits - 1)    (signed; 2^bits unsigned)

BatchNorm gets negative scales and, from three channels on, one zero scale (channel 1).

A residual block's branch quantizer gets ``ratio[0] / ratio[1]`` times the scale of the
activation it adds to (:attr:`_Builder.act_scale`, the last activation quantizer's).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from graphs.spec import GraphSpec, Layer, QuantSpec
from helpers import QONNX, make_model

OPSET = 13


def _max_code(q: QuantSpec) -> int:
    if q.bipolar:
        return 1
    if q.signed:
        return max(1, 2 ** (q.bits - 1) - 1)
    return 2**q.bits - 1 - int(q.narrow)


class _Builder:
    def __init__(self, spec: GraphSpec):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0
        self.act_scale = np.float32(1.0)  # scale of the last activation quantizer

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, stem: str, value) -> str:
        name = self.name(stem)
        self.inits[name] = np.asarray(value, np.float32)
        return name

    def node(self, op: str, inputs: list[str], stem: str, domain: str = "", **attrs) -> str:
        out = self.name(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out + "_node", domain=domain, **attrs))
        return out

    def scale(self, q: QuantSpec, value: np.ndarray) -> np.ndarray:
        """Positive scales: powers of two when ``q.pow2``, else perturbed reals."""
        value = np.where(np.isfinite(value) & (value > 0), value, 1.0)
        if q.pow2:
            return np.exp2(np.round(np.log2(value)))
        return value * self.rng.uniform(0.7, 1.3, np.shape(value))

    def quant(self, x: str, q: QuantSpec, scale: np.ndarray, stem: str) -> str:
        """``BipolarQuant(x, scale)`` or ``Quant(x, scale, 0, bits)``."""
        s = self.const(f"{stem}_scale", scale.astype(np.float32))
        if q.bipolar:
            return self.node("BipolarQuant", [x, s], stem, domain=QONNX)
        z = self.const(f"{stem}_zeropt", 0.0)
        b = self.const(f"{stem}_bits", float(q.bits))
        return self.node(
            "Quant", [x, s, z, b], stem, domain=QONNX,
            signed=int(q.signed), narrow=int(q.narrow), rounding_mode=q.rounding,
        )

    def activation_scale(self, q: QuantSpec, rms: float, channels: int, image: bool) -> np.ndarray:
        if q.bipolar:
            return np.float32(1.0)
        span = 2.0 ** (q.bits - 1) if q.signed else 2.0**q.bits
        base = 2.0 * max(rms, 1e-3) / span
        if not q.per_channel:
            return self.scale(q, np.float64(base))
        per = self.scale(q, base * self.rng.uniform(0.5, 2.0, channels))
        return per.reshape((1, channels, 1, 1) if image else (1, channels))

    def weights(self, layer: Layer, shape: tuple[int, ...]) -> np.ndarray:
        rng, rows = self.rng, shape[0]
        w = rng.normal(size=shape)
        if layer.weights == "sparse":
            w = w * (rng.random(shape) < 0.2)
        elif layer.weights == "constant":
            w = np.full(shape, rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5))
        elif layer.weights == "zero":
            w = np.zeros(shape)
        elif layer.weights == "rows":
            flat = w.reshape(rows, -1)
            for r in range(rows):
                if r % 4 == 0:
                    flat[r] = 0.0
                elif r % 4 == 1:
                    flat[r] = rng.choice([-1.0, 1.0])
                elif r % 4 == 2:
                    keep = rng.integers(flat.shape[1])
                    value = flat[r, keep] or 1.0
                    flat[r] = 0.0
                    flat[r, keep] = value
            w = flat.reshape(shape)
        return w.astype(np.float32)

    def weight_quant(self, layer: Layer, w: np.ndarray) -> str:
        q = layer.weight
        rows = w.shape[0]
        code = _max_code(q)
        if q.bipolar:
            scale = self.scale(q, np.float64(1.0)) if not q.per_channel else self.scale(q, self.rng.uniform(0.2, 2.0, rows))
        else:
            peak = np.abs(w.reshape(rows, -1)).max(axis=1) / code
            scale = self.scale(q, np.float64(peak.max())) if not q.per_channel else self.scale(q, peak)
        if np.ndim(scale):
            scale = np.asarray(scale).reshape((rows,) + (1,) * (w.ndim - 1))
        name = self.const("w", w)
        return self.quant(name, q, np.asarray(scale), "wq")

    def batchnorm(self, x: str, channels: int, rms: float) -> str:
        rng = self.rng
        gamma = rng.uniform(0.5, 2.0, channels) * rng.choice([-1.0, 1.0], channels)
        if channels > 2:
            gamma[1] = 0.0
        params = [
            gamma,
            rng.normal(scale=0.5, size=channels),
            rng.normal(scale=0.5 * rms, size=channels),
            rng.uniform(0.5, 2.0, channels) * rms**2,
        ]
        names = [self.const(stem, p) for stem, p in zip(("bn_g", "bn_b", "bn_m", "bn_v"), params)]
        return self.node("BatchNormalization", [x] + names, "bn")

    def build(self) -> onnx.ModelProto:
        spec = self.spec
        image = len(spec.shape) == 3
        x = "x"
        rms = 0.58
        if spec.prescale:
            x = self.node("Mul", [x, self.const("two", 2.0)], "mul")
            x = self.node("Sub", [x, self.const("one", 1.0)], "sub")
            rms = 1.5
        channels = spec.shape[0]
        q = spec.input_quant
        self.act_scale = np.asarray(self.activation_scale(q, rms, channels, image), np.float32)
        x = self.quant(x, q, self.act_scale, "inq")
        rms = 1.0 if q.bipolar else rms
        shape = list(spec.shape)
        flat = not image
        for layer in spec.layers:
            if layer.kind == "pool":
                x = self.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
                shape = [shape[0], shape[1] // 2, shape[2] // 2]
                continue
            if layer.kind == "fc" and not flat:
                features = int(np.prod(shape))
                if spec.seed % 2:
                    x = self.node("Reshape", [x, self.name_const_int("shape", [-1, features])], "flat")
                else:
                    x = self.node("Flatten", [x], "flat", axis=1)
                shape, flat = [features], True
            x, shape, rms = self.product(layer, x, shape, rms)
        if spec.out_scale:
            x = self.node("Mul", [x, self.const("out_scale", 0.37)], "out")
        out_shape = ["N", *shape]
        model = make_model(self.nodes, [("x", ["N", *spec.shape])], [(x, out_shape)], self.inits, opset=OPSET)
        return model

    def name_const_int(self, stem: str, value) -> str:
        name = self.name(stem)
        self.inits[name] = np.asarray(value, np.int64)
        return name

    def product(self, layer: Layer, x: str, shape: list[int], rms: float):
        """Quantized weights, the product, bias, BatchNorm, Relu, activation quantizer."""
        if layer.kind == "residual":
            return self.residual(layer, x, shape, rms)
        if layer.kind == "conv":
            c, h, w = shape
            kh, kw = layer.kernel
            weights = self.weights(layer, (layer.out, c, kh, kw))
            fan_in = c * kh * kw
        else:
            weights = self.weights(layer, (layer.out, shape[0]))
            fan_in = shape[0]
        wq = self.weight_quant(layer, weights)
        w_rms = float(np.sqrt(np.mean(weights.astype(np.float64) ** 2))) if layer.weight.bits > 1 else 1.0
        rms = max(np.sqrt(fan_in) * rms * max(w_rms, 0.05), 1e-2)
        bias = self.const("bias", self.rng.normal(scale=0.5 * rms, size=layer.out)) if layer.bias else None
        if layer.kind == "conv":
            inputs = [x, wq] + ([bias] if bias else [])
            x = self.node(
                "Conv", inputs, "conv", kernel_shape=list(layer.kernel), strides=[layer.stride] * 2,
                pads=[layer.pad] * 4,
            )
            h = (h + 2 * layer.pad - kh) // layer.stride + 1
            w = (w + 2 * layer.pad - kw) // layer.stride + 1
            shape = [layer.out, h, w]
        elif layer.gemm:
            x = self.node("Gemm", [x, wq] + ([bias] if bias else []), "gemm", transB=1)
            shape = [layer.out]
        else:
            wt = self.node("Transpose", [wq], "wt", perm=[1, 0])
            x = self.node("MatMul", [x, wt], "matmul")
            if bias:
                x = self.node("Add", [x, bias], "add")
            shape = [layer.out]
        if layer.bn:
            x = self.batchnorm(x, layer.out, rms)
            rms = 1.2
        if layer.relu:
            x = self.node("Relu", [x], "relu")
        if layer.act is not None:
            q = layer.act
            scale = self.activation_scale(q, rms, layer.out, layer.kind == "conv")
            x = self.quant(x, q, scale, "aq")
            self.act_scale = np.asarray(scale, np.float32)
            rms = 1.0 if q.bipolar else rms
        return x, shape, rms

    def residual(self, layer: Layer, skip: str, shape: list[int], rms: float):
        """``skip + Quant(BN(conv(skip)))`` (branch scale ``ratio`` times the skip's), [Relu],
        quantizer of the sum."""
        skip_scale = self.act_scale
        branch = Layer("conv", out=layer.out, kernel=layer.kernel, pad=layer.pad, weight=layer.weight,
                       weights=layer.weights, bn=True)
        x, shape, _ = self.product(branch, skip, shape, rms)
        p, q = layer.ratio
        x = self.quant(x, layer.act, np.asarray(np.float64(skip_scale) * p / q, np.float32), "aq")
        x = self.node("Add", [x, skip], "residual")
        if layer.relu:
            x = self.node("Relu", [x], "relu")
        q = layer.sum_act
        scale = self.activation_scale(q, 2 * rms, layer.out, True)
        x = self.quant(x, q, scale, "aq")
        self.act_scale = np.asarray(scale, np.float32)
        return x, shape, 1.0 if q.bipolar else rms


def build_model(spec: GraphSpec) -> onnx.ModelProto:
    """The QONNX model (IR version 10, opset 13) of ``spec``."""
    return _Builder(spec).build()
