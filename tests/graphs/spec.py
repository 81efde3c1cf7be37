"""What one random graph is made of, and how to draw one.

A graph is ``input -> [2x - 1] -> input quantizer -> conv layers (each optionally followed by a
residual block and a 2x2 max-pool) -> flatten -> fully connected layers``. Every conv / FC layer is

    Quant(weights) -> Conv | MatMul | Gemm  [+ bias]  [-> BatchNorm]  [-> Relu]  [-> activation quantizer]

A residual block (``Layer("residual")``) reads the conv layer's quantized output ``a`` and adds
it to a branch ``Quant(BN(conv(a)))`` whose activation scale is ``ratio[0] / ratio[1]`` times
``a``'s, then ``[Relu ->] quantizer``: the Brevitas residual with shared, power-of-two and
rational scale ratios. Only the pass profile draws them (``Limits.residuals``).

Only the last FC layer may go without an activation quantizer (its output is the float
model output, optionally times a constant scale, as Brevitas writes a final ``Mul``).

The description holds only small integers, flags and names; every float array (weights,
scales, BatchNorm parameters, biases) is derived by :mod:`graphs.build` from ``seed``, so a
shrunk failure prints as a short literal that a regression test can paste.

Drawing goes through a tiny interface (``int``, ``choice``, ``flag``) with two implementations:
hypothesis (:func:`graph_specs`, failures shrink towards the first choice of every list and
the lowest integer, so lists are ordered simplest first) and a numpy generator
(:class:`RandomDraw`, for long runs that keep going after a failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Rounding modes of QONNX ``Quant`` that bnncc claims ("every rounding mode").
ROUNDING_MODES = ("ROUND", "FLOOR", "CEIL", "HALF_UP", "HALF_DOWN", "UP", "DOWN")

#: What a weight tensor looks like before its quantizer.
WEIGHT_KINDS = (
    "random",    # normal, codes spread over the whole range
    "sparse",    # 80 % exact zeros
    "constant",  # every weight the same code
    "zero",      # every weight zero (all-zero codes; +1 for bipolar)
    "rows",      # per output: an all-zero row, a constant row, a single non-zero weight, random
)


@dataclass(frozen=True)
class QuantSpec:
    """A quantizer. ``bits == 1`` is ``BipolarQuant``; otherwise ``Quant`` with ``signed``,
    ``narrow`` and ``rounding``. ``per_channel``: one scale per output channel (weights) or per
    channel (activations). ``pow2``: power-of-two scales (else arbitrary reals such as 0.37)."""

    bits: int
    signed: bool = True
    narrow: bool = False
    per_channel: bool = False
    pow2: bool = True
    rounding: str = "ROUND"

    @property
    def bipolar(self) -> bool:
        return self.bits == 1


@dataclass(frozen=True)
class Layer:
    """A conv, FC or max-pool layer. ``act is None`` only for the last FC layer."""

    kind: str  # "conv", "fc" or "pool"
    out: int = 0  # output channels / features
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    pad: int = 0
    weight: QuantSpec | None = None
    weights: str = "random"
    bias: bool = False
    bn: bool = False
    relu: bool = False
    act: QuantSpec | None = None
    gemm: bool = False  # FC as Gemm(transB=1, bias as C) instead of Transpose + MatMul [+ Add]
    ratio: tuple[int, int] = (1, 1)  # residual: branch scale / skip scale
    sum_act: QuantSpec | None = None  # residual: the quantizer after the add


@dataclass(frozen=True)
class GraphSpec:
    """One graph: input shape ``(C, H, W)`` or ``(F,)``, input quantizer, layers."""

    seed: int
    shape: tuple[int, ...]
    input_quant: QuantSpec
    layers: tuple[Layer, ...] = field(default_factory=tuple)
    prescale: bool = True  # the 2x - 1 Brevitas' BNN-PYNQ models start with
    out_scale: bool = False

    def size(self) -> int:
        """A rough size, to pick the smallest of several failures of one kind."""
        return int(np.prod(self.shape)) + sum(l.out * l.kernel[0] * l.kernel[1] + 10 for l in self.layers)


class RandomDraw:
    """The draw interface on a numpy generator."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def int(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    def flag(self, probability: float = 0.5) -> bool:
        return bool(self.rng.random() < probability)


class HypothesisDraw:
    """The draw interface on hypothesis' ``draw`` (shrinks to low integers, first options,
    False)."""

    def __init__(self, draw):
        self.draw = draw

    def int(self, low: int, high: int) -> int:
        from hypothesis import strategies as st

        return self.draw(st.integers(low, high))

    def choice(self, options):
        from hypothesis import strategies as st

        return self.draw(st.sampled_from(list(options)))

    def flag(self, probability: float = 0.5) -> bool:
        from hypothesis import strategies as st

        if probability >= 0.5:
            return self.draw(st.booleans())
        # rarer features: true for one value in round(1 / probability)
        return self.draw(st.integers(0, max(1, round(1 / probability) - 1))) == 1


@dataclass(frozen=True)
class Limits:
    """Size limits: the pass checks take anything small; RTL graphs are tinier so that each
    Verilator build and simulation stays fast."""

    width: int = 40  # FC features
    channels: int = 12  # conv channels
    image: int = 12
    convs: int = 3
    fcs: int = 3
    residuals: bool = False  # residual blocks after conv layers (not compiled to RTL yet)


#: Scale ratios (branch / skip) a residual block is drawn with.
RESIDUAL_RATIOS = ((1, 1), (2, 1), (1, 2), (3, 2))

PASS_LIMITS = Limits(residuals=True)
RTL_LIMITS = Limits(width=24, channels=6, image=8, convs=2, fcs=2)


def draw_quant(d, activation: bool, after_relu: bool = False, output: bool = False) -> QuantSpec:
    """Per-channel scales on weights (one per output channel) and on the model's output
    quantizer; an activation that feeds another layer has one scale (a per-channel scale
    there does not factor out of the next product, and bnncc does not claim it)."""
    bits = d.int(1, 8)
    if bits == 1:
        return QuantSpec(1, per_channel=(not activation) and d.flag(0.25), pow2=True)
    signed = not d.flag(0.7 if after_relu else (0.3 if activation else 0.15))
    return QuantSpec(
        bits=bits,
        signed=signed,
        narrow=d.flag(0.3),
        per_channel=(output or not activation) and d.flag(0.3),
        pow2=not d.flag(0.4),
        rounding=d.choice(ROUNDING_MODES) if activation and d.flag(0.25) else "ROUND",
    )


def draw_activation(d, last: bool):
    """BatchNorm / Relu / activation quantizer after a product."""
    bn = d.flag()
    relu = d.flag(0.3)
    act = None if last and not d.flag(0.25) else draw_quant(d, activation=True, after_relu=relu, output=last)
    return bn, relu, act


def draw_residual(d, conv: Layer, limits: Limits) -> Layer:
    """A residual block on the output of ``conv``: a 3x3 (1x1 on a bipolar input, which zero
    padding does not claim) conv branch with BatchNorm and an activation quantizer, the add,
    an optional Relu and the quantizer of the sum."""
    bipolar = conv.act.bipolar
    relu = d.flag(0.3)
    return Layer(
        "residual", out=conv.out, kernel=(1, 1) if bipolar else (3, 3), pad=0 if bipolar else 1,
        weight=draw_quant(d, activation=False), weights=d.choice(WEIGHT_KINDS), bn=True,
        act=draw_quant(d, activation=True), ratio=d.choice(RESIDUAL_RATIOS), relu=relu,
        sum_act=draw_quant(d, activation=True, after_relu=relu),
    )


def draw_spec(d, limits: Limits = PASS_LIMITS) -> GraphSpec:
    """A random graph description from the draw interface ``d``."""
    seed = d.int(0, 2**16)
    image = d.flag()
    if image:
        shape = (d.int(1, 3), d.int(1, limits.image), d.int(1, limits.image))
    else:
        shape = (d.int(1, limits.width),)
    input_quant = draw_quant(d, activation=True)
    layers = []
    bipolar_in = input_quant.bipolar
    if image:
        _, h, w = shape
        for _ in range(d.int(0, limits.convs)):
            kh, kw = d.choice(((1, 1), (3, 3), (2, 2), (1, 3), (3, 1), (1, 2), (2, 1), (1, 5), (5, 1)))
            pad = 0 if bipolar_in else d.choice((0, 1))  # zero padding of a bipolar input is not claimed
            if h + 2 * pad < kh or w + 2 * pad < kw:
                break
            stride = d.choice((1, 2))
            h, w = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
            bn, relu, act = draw_activation(d, last=False)
            layers.append(Layer(
                "conv", out=d.int(1, limits.channels), kernel=(kh, kw), stride=stride, pad=pad,
                weight=draw_quant(d, activation=False), weights=d.choice(WEIGHT_KINDS), bias=d.flag(0.3),
                bn=bn, relu=relu, act=act,
            ))
            bipolar_in = act.bipolar
            if limits.residuals and d.flag(0.2):
                layers.append(draw_residual(d, layers[-1], limits))
                bipolar_in = layers[-1].sum_act.bipolar
            if h >= 2 and w >= 2 and d.flag(0.3):
                layers.append(Layer("pool"))
                h, w = h // 2, w // 2
    fcs = d.int(1, limits.fcs)
    for index in range(fcs):
        last = index == fcs - 1
        bn, relu, act = draw_activation(d, last=last)
        layers.append(Layer(
            "fc", out=d.int(1, limits.width), weight=draw_quant(d, activation=False), weights=d.choice(WEIGHT_KINDS),
            bias=d.flag(0.3), bn=bn, relu=relu, act=act, gemm=d.flag(0.3),
        ))
    return GraphSpec(
        seed=seed, shape=shape, input_quant=input_quant, layers=tuple(layers),
        prescale=not d.flag(0.3), out_scale=layers[-1].act is None and d.flag(0.3),
    )


def graph_specs(limits: Limits = PASS_LIMITS):
    """Hypothesis strategy of :class:`GraphSpec`."""
    from hypothesis import strategies as st

    @st.composite
    def specs(draw):
        return draw_spec(HypothesisDraw(draw), limits)

    return specs()
