"""Helpers the stage builders of the registry share (``bnncc/hw/modules/*``)."""

from __future__ import annotations

import re

import numpy as np

from bnncc.datatype import DataType
from bnncc.ir.graph import Graph


def instance_name(node: str) -> str:
    """A Verilog identifier derived from a node name."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", node).strip("_") or "stage"
    return ("s_" + name) if name[0].isdigit() else name


def signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest two's complement type holding [low, high]."""
    return max((-low - 1).bit_length() if low < 0 else 0, high.bit_length()) + 1


def per_frame(shape) -> int:
    """Elements of one frame of a tensor of ``shape`` (batch first)."""
    return int(np.prod(shape[1:]))


def channel_thresholds(graph: Graph, op, channels: int) -> np.ndarray:
    """The thresholds of ``op`` (its last input), one row per channel."""
    value = graph.constant(op.inputs[-1]).astype(np.int64)
    return np.broadcast_to(value, (channels, value.shape[1])) if value.shape[0] == 1 else value


def out_bias(dtype: DataType) -> int:
    """The value of a threshold count of 0 (the smallest of a signed output type)."""
    return int(dtype.min) if dtype.kind == "INT" else 0


def geometry(op) -> dict:
    """The window parameters of a window stage (kernel, strides, pads)."""
    (kh, kw), (sh, sw), (top, left, bottom, right) = op.kernel_shape, op.strides, op.pads
    return {"K_H": kh, "K_W": kw, "STRIDE_H": sh, "STRIDE_W": sw, "PAD_T": top, "PAD_L": left, "PAD_B": bottom, "PAD_R": right}


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` in increasing order."""
    return [d for d in range(1, n + 1) if n % d == 0]

