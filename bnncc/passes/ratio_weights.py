"""Per-channel scales whose ratios are small rationals move through a layer into its
integer weights (a streamline move).

A scale that differs per input channel (or feature), ``v[c]``, does not factor out of a
product. But when every ratio ``v[c] / v[0]`` is a small rational, ``v = s * P`` with one
scale ``s`` and integers ``P[c]`` (``P = L * v / v[0]`` for ``L`` the least common multiple
of the ratios' denominators, ``s = v[0] / L``), and the integers go into the weights:

* ``(x * v) @ W = (x @ W') * s`` with ``W'[k, m] = P[k] W[k, m]``;
* ``conv(pad_p(x * v), W) = conv(pad_{p / v}(x), W') * s`` with
  ``W'[m, c, u, v] = P[c] W[m, c, u, v]`` (the padding value moves into each channel's
  integer domain, as for a scalar scale).

``W'`` is integer when ``W`` is. This is what a channel concatenation of branches quantized
with scales ``s`` and ``2 s`` (or ``3 s / 2``) leaves in front of the next convolution.
Ratios that are not such rationals (|P| at most
:data:`bnncc.passes.join_moves.MAX_MULTIPLIER`) leave the scale where it is; streamline
records why.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import is_integral
from bnncc.datatype import DataType
from bnncc.passes.join_moves import MAX_MULTIPLIER, RATIO_TOLERANCE
from bnncc.passes.patterns import compress, emit_affine, per_channel


def integer_ratios(vector: np.ndarray) -> tuple[float, np.ndarray] | None:
    """``(s, P)`` with ``vector == s * P`` (within float32 rounding), ``P`` integers of
    magnitude at most MAX_MULTIPLIER and ``s`` of ``vector[0]``'s sign; None if none."""
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    if vector.size == 0 or not np.all(np.isfinite(vector)) or np.any(vector == 0):
        return None
    ratios = [Fraction(float(r)).limit_denominator(MAX_MULTIPLIER) for r in vector / vector[0]]
    common = 1
    for ratio in ratios:
        common = common * ratio.denominator // math.gcd(common, ratio.denominator)
    multipliers = np.array([int(r * common) for r in ratios], dtype=np.int64)
    scale = float(vector[0]) / common
    if np.abs(multipliers).max() > MAX_MULTIPLIER or np.any(np.abs(multipliers * scale - vector) > RATIO_TOLERANCE * np.abs(vector)):
        return None
    return scale, multipliers


def past_layer(graph: Graph, op, source: str, value, reader, notes: list[str]) -> bool:
    """Move ``x * v`` (per input channel) past the Conv or MatMul ``reader`` into its
    weights (module docstring); True if it moved."""
    if not isinstance(op, ops.Mul) or compress(value).ndim == 0 or reader.inputs[0] != op.outputs[0]:
        return False
    if isinstance(reader, ops.Conv):
        if reader.group != 1 or len(reader.inputs) > 2:
            return False
        axis = 1
    elif isinstance(reader, ops.MatMul):
        axis = -1
    else:
        return False
    weight = graph.constant(reader.inputs[1])
    rank = len(graph.tensors[source].shape)
    vector = per_channel(value, rank, axis)
    if weight is None or vector is None or not is_integral(weight):
        return False
    split = integer_ratios(vector)
    if split is None:
        return False
    scale, multipliers = split
    channels = weight.shape[1] if isinstance(reader, ops.Conv) else weight.shape[0]
    multipliers = np.broadcast_to(multipliers, (channels,))
    if isinstance(reader, ops.Conv):
        scaled = weight.astype(np.int64) * multipliers.reshape(1, -1, 1, 1)
        pad = np.asarray(reader.pad_value, dtype=np.float64) / np.broadcast_to(vector, (channels,))
        pad = compress(pad)
        changes = {"pad_value": float(pad) if pad.ndim == 0 else pad.reshape(-1)}
    else:
        if weight.ndim != 2:
            return False
        scaled = weight.astype(np.int64) * multipliers.reshape(-1, 1)
        changes = {}
    dtype = DataType.for_range(int(scaled.min()), int(scaled.max())) if scaled.size else DataType.int(2)
    name = new_constant(graph, f"{reader.inputs[1]}_ratios", scaled, dtype)
    graph.remove_op(op.name)
    graph.remove_op(reader.name)
    middle = graph.fresh_name(f"{reader.name}_pre")
    add_inferred(graph, reader.clone(inputs=[source, name], outputs=[middle], **changes))
    emit_affine(graph, graph.fresh_name(f"{op.name}_moved"), middle, reader.outputs[0], ops.Mul, np.asarray(scale))
    notes.append(
        f"node '{op.name}': per-channel scale moved past '{reader.name}' ({reader.op_type}) as one scale; "
        f"integer ratios {sorted(set(int(m) for m in multipliers))} folded into its weights"
    )
    return True
