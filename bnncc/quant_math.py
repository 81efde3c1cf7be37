"""The arithmetic of quantizers, shared by the executor, the reference rewrite and the tests.

All functions work in float64 on numpy arrays and return the *integer code* of the quantizer
(as an int64 array); de-quantizing is the separate affine map ``real = (code - zero_point) *
scale``. Every quantizer also has a ``*_boundary_distance`` function: how far (in code units)
its argument lies from the nearest decision boundary. A value that sits on a boundary is a
rounding tie, where two engines computing the same float expression in different precision
may legitimately disagree by one step.
"""

from __future__ import annotations

import numpy as np

#: Rounding modes of QONNX ``Quant``/``Trunc`` and Brevitas, with aliases.
#: Each maps a real array to integers; ``ROUND`` rounds half to even.
ROUNDING_MODES = {
    "ROUND": np.round,
    "HALF_EVEN": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),
    "DOWN": np.trunc,
    "ROUND_TO_ZERO": np.trunc,
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - 0.5),
}

#: Modes whose decisions change at half-integers (the others change at integers).
HALF_STEP_MODES = frozenset({"ROUND", "HALF_EVEN", "HALF_UP", "HALF_DOWN"})

#: Canonical names: aliases resolve to these.
CANONICAL_MODE = {"HALF_EVEN": "ROUND", "ROUND_TO_ZERO": "DOWN"}


def normalize_rounding_mode(mode: str) -> str:
    """Upper-case ``mode``, resolve aliases; raise ``ValueError`` for unknown modes."""
    name = mode.upper()
    if name not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode '{mode}' (supported: {', '.join(sorted(ROUNDING_MODES))})")
    return CANONICAL_MODE.get(name, name)


def apply_rounding(values: np.ndarray, mode: str) -> np.ndarray:
    """Round ``values`` to integers with QONNX rounding ``mode``."""
    return ROUNDING_MODES[normalize_rounding_mode(mode)](values)


def rounding_boundary_distance(values: np.ndarray, mode: str) -> np.ndarray:
    """Distance from each value to the nearest point where ``mode`` changes its result.

    For half-step modes the boundaries are k + 1/2; for CEIL, FLOOR, UP and DOWN they are the
    integers k.
    """
    values = np.asarray(values, dtype=np.float64)
    if normalize_rounding_mode(mode) in HALF_STEP_MODES:
        return np.abs(np.abs(values - np.floor(values)) - 0.5)
    return np.abs(values - np.round(values))


def int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """Integer range of a QONNX quantizer.

    signed: [-2**(b-1) + narrow, 2**(b-1) - 1]; unsigned: [0, 2**b - 1 - narrow].
    """
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def quant_code(x, scale, zero_point, low: int, high: int, mode: str) -> np.ndarray:
    """QONNX ``Quant``/``IntQuant`` code: ``round_mode(clip(x / scale + zero_point, low, high))``.

    Clipping to integer bounds before rounding equals clipping after it, for every mode.
    """
    value = np.asarray(x, dtype=np.float64) / scale + zero_point
    return apply_rounding(np.clip(value, low, high), mode).astype(np.int64)


def quant_boundary_distance(x, scale, zero_point, low: int, high: int, mode: str) -> np.ndarray:
    """Distance of ``x / scale + zero_point`` from the nearest rounding boundary inside the range."""
    value = np.asarray(x, dtype=np.float64) / scale + zero_point
    distance = rounding_boundary_distance(value, mode)
    # Beyond the clip bounds the decision is fixed, except right at the bound itself.
    clipped = (value < low) | (value > high)
    edge = np.minimum(np.abs(value - low), np.abs(value - high))
    return np.where(clipped, edge, distance)


def bipolar_code(x, scale, zero_point=0.0) -> np.ndarray:
    """QONNX ``BipolarQuant`` code: +1 where ``x / scale + zero_point >= 0`` (zero maps to +1),
    else -1. (``BipolarQuant`` itself has no zero point; a 1-bit signed ``Quant`` has one.)"""
    value = np.asarray(x, dtype=np.float64) / scale + zero_point
    return np.where(value >= 0, 1, -1).astype(np.int64)


def bipolar_boundary_distance(x, scale, zero_point=0.0) -> np.ndarray:
    """Distance of ``x / scale + zero_point`` from the sign boundary 0."""
    return np.abs(np.asarray(x, dtype=np.float64) / scale + zero_point)


def trunc_code(x, scale, zero_point, shift: float, low: int, high: int, mode: str) -> np.ndarray:
    """QONNX ``Trunc`` code: ``round_mode(clip(round(x / scale + zero_point) / shift, low, high))``.

    ``shift`` is the power of two 2**(in_bits - out_bits) (version 1) or
    2**round(log2(out_scale / scale)) (version 2). The inner half-even rounding only cleans
    float error of a value that is already an integer code.
    """
    value = np.round(np.asarray(x, dtype=np.float64) / scale + zero_point) / shift
    return apply_rounding(np.clip(value, low, high), mode).astype(np.int64)


def trunc_boundary_distance(x, scale, zero_point, shift: float, low: int, high: int, mode: str) -> np.ndarray:
    """Distance of the inner code's pre-rounding value from its half-integer boundary.

    The outer rounding acts on an exact dyadic value (integer / power of two), so only the
    inner ``round`` can be a float tie.
    """
    value = np.asarray(x, dtype=np.float64) / scale + zero_point
    return rounding_boundary_distance(value, "ROUND")


def multithreshold_count(x, thresholds, channel_axis: int) -> np.ndarray:
    """Number of thresholds each element reaches: ``sum_i [x >= thresholds[c, i]]``.

    ``thresholds`` has shape (C, T) (per channel) or (1, T) (shared); ``c`` is the element's
    index along ``channel_axis``.
    """
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, channel_axis, -1)[..., None]
    thresholds = np.asarray(thresholds, dtype=np.float64)
    count = np.count_nonzero(moved >= thresholds, axis=-1)
    return np.moveaxis(count, -1, channel_axis).astype(np.int64)


def multithreshold_boundary_distance(x, thresholds, channel_axis: int) -> np.ndarray:
    """Distance of each element from its channel's nearest threshold."""
    x = np.asarray(x, dtype=np.float64)
    moved = np.moveaxis(x, channel_axis, -1)[..., None]
    thresholds = np.asarray(thresholds, dtype=np.float64)
    distance = np.min(np.abs(moved - thresholds), axis=-1)
    return np.moveaxis(distance, -1, channel_axis)


def quantize_linear_code(x, scale, zero_point, low: int, high: int) -> np.ndarray:
    """ONNX ``QuantizeLinear`` (with saturation): ``clip(round_half_even(x / scale) + zp, low, high)``."""
    value = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(value, low, high).astype(np.int64)


def quantize_linear_boundary_distance(x, scale) -> np.ndarray:
    """Distance of ``x / scale`` from the nearest half-integer."""
    return rounding_boundary_distance(np.asarray(x, dtype=np.float64) / scale, "ROUND")
