"""Element-wise activations that a quantizer may follow: LeakyRelu, PRelu, HardSigmoid,
Sigmoid, Tanh, Elu, Selu, Softplus (monotone for the parameters networks use), and Sin, Cos,
HardSwish (never monotone).

Executors compute as onnxruntime's CPU kernels do: the input is rounded to float32 and the
formula is evaluated in float32 in the kernel's form (``x >= 0 ? x : alpha x`` for LeakyRelu,
``x > 0 ? x + log(exp(-x) + 1) : log(exp(x) + 1)`` for Softplus, ...). Piecewise-linear
activations (LeakyRelu, PRelu, HardSigmoid) are then equal to onnxruntime's results bit for
bit; the transcendental ones (Sigmoid, Tanh, Elu, Selu, Softplus) use numpy's float32
``exp``/``log``/``tanh`` where onnxruntime uses its own vectorized approximations, so they may
differ in the last bit or two, which only matters for a value within that distance of a
quantizer boundary (verification counts such a sample as a tie, not as exact).

Each activation says whether it is monotone in every channel (:meth:`Activation.monotone`):
None when it is non-decreasing or non-increasing in each channel for its parameters, else
the reason it is not, which :mod:`bnncc.passes.absorb_thresholds` records naming the node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.datatype import FLOAT32
from bnncc.ir.op import Op, broadcast_shape, same_as_input

F32 = np.float32


def _f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(F32)


@dataclass(kw_only=True)
class Activation(Op):
    """``y = f(x)`` element-wise (float32 as onnxruntime computes it); extra inputs are
    constant parameters broadcast against ``x``."""

    onnx_domain = ""

    def infer(self, ins):
        if len(ins) > 1:
            return [(broadcast_shape(self, [info.shape for info in ins]), FLOAT32)]
        return same_as_input(ins, FLOAT32)

    def execute(self, x, *params):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            y = self.f32(_f32(x), *[_f32(p) for p in params])
        return [np.asarray(y, dtype=F32).astype(np.float64)]

    def f32(self, x: np.ndarray, *params: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def monotone(self, *params: np.ndarray) -> str | None:
        """None if monotone in every channel for these parameters, else why not."""
        return None


@dataclass(kw_only=True)
class LeakyRelu(Activation):
    """``y = x`` for ``x >= 0``, ``alpha x`` below: increasing for ``alpha >= 0``."""

    alpha: float = 0.01

    def f32(self, x):
        return np.where(x >= 0, x, F32(self.alpha) * x)

    def monotone(self):
        if self.alpha < 0:
            return f"alpha={self.alpha:g} < 0 makes it decrease below 0 and increase above: not monotone"
        return None


@dataclass(kw_only=True)
class PRelu(Activation):
    """``y = x`` for ``x > 0``, ``slope x`` below (slope a constant, per tensor or per
    channel): increasing where ``slope >= 0``."""

    def f32(self, x, slope):
        return np.where(x > 0, x, slope * x)

    def monotone(self, slope):
        negative = np.asarray(slope) < 0
        if np.any(negative):
            return (f"{int(np.count_nonzero(negative))} negative slope(s) (min {float(np.min(slope)):g}) make it "
                    "decrease below 0 and increase above: not monotone")
        return None


@dataclass(kw_only=True)
class HardSigmoid(Activation):
    """``y = max(0, min(1, alpha x + beta))``: increasing for ``alpha > 0``, decreasing for
    ``alpha < 0``."""

    alpha: float = 0.2
    beta: float = 0.5

    def f32(self, x):
        return np.maximum(F32(0), np.minimum(F32(1), F32(self.alpha) * x + F32(self.beta)))


@dataclass(kw_only=True)
class Sigmoid(Activation):
    """``y = 1 / (1 + exp(-x))``: increasing."""

    def f32(self, x):
        return F32(1) / (F32(1) + np.exp(-x))


@dataclass(kw_only=True)
class Tanh(Activation):
    """``y = tanh(x)``: increasing."""

    def f32(self, x):
        return np.tanh(x)


@dataclass(kw_only=True)
class Elu(Activation):
    """``y = x`` for ``x >= 0``, ``alpha (exp(x) - 1)`` below: increasing for ``alpha >= 0``."""

    alpha: float = 1.0

    def f32(self, x):
        return np.where(x >= 0, x, F32(self.alpha) * (np.exp(x) - F32(1)))

    def monotone(self):
        if self.alpha < 0:
            return f"alpha={self.alpha:g} < 0 makes it decrease below 0 and increase above: not monotone"
        return None


@dataclass(kw_only=True)
class Selu(Activation):
    """``y = gamma x`` for ``x > 0``, ``gamma (alpha exp(x) - alpha)`` below: monotone for
    ``alpha >= 0`` (increasing for ``gamma > 0``, decreasing for ``gamma < 0``)."""

    alpha: float = 1.67326319217681884765625
    gamma: float = 1.05070102214813232421875

    def f32(self, x):
        alpha, gamma = F32(self.alpha), F32(self.gamma)
        return np.where(x > 0, gamma * x, gamma * (alpha * np.exp(x) - alpha))

    def monotone(self):
        if self.alpha < 0 and self.gamma != 0:
            return f"alpha={self.alpha:g} < 0 makes it turn at 0: not monotone"
        return None


@dataclass(kw_only=True)
class Softplus(Activation):
    """``y = log(exp(x) + 1)``: increasing."""

    def f32(self, x):
        positive = x + np.log(np.exp(-x) + F32(1))
        return np.where(x > 0, positive, np.log(np.exp(x) + F32(1)))


@dataclass(kw_only=True)
class Sin(Activation):
    """``y = sin(x)``: not monotone."""

    def f32(self, x):
        return np.sin(x)

    def monotone(self):
        return "sin is periodic: not monotone"


@dataclass(kw_only=True)
class Cos(Activation):
    """``y = cos(x)``: not monotone."""

    def f32(self, x):
        return np.cos(x)

    def monotone(self):
        return "cos is periodic: not monotone"


@dataclass(kw_only=True)
class HardSwish(Activation):
    """``y = x max(0, min(1, x / 6 + 1 / 2))``: decreasing on [-3, -1.5], increasing above."""

    def f32(self, x):
        return x * np.maximum(F32(0), np.minimum(F32(1), F32(1 / 6) * x + F32(0.5)))

    def monotone(self):
        return "it decreases on [-3, -1.5] and increases above: not monotone"


#: Activations whose thresholds the absorption can search (when :meth:`Activation.monotone`
#: says so for their parameters).
MONOTONE_ACTIVATIONS = (LeakyRelu, PRelu, HardSigmoid, Sigmoid, Tanh, Elu, Selu, Softplus)
#: Activations that are never monotone, imported so that their refusal can say why.
NON_MONOTONE_ACTIVATIONS = (Sin, Cos, HardSwish)
