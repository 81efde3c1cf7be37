"""Exact zero padding of a bipolar convolution with a 1-bit stream.

A convolution of a BIPOLAR (-1/+1) input with zero padding sees 0 in the border, which one
bit cannot carry. The sliding window streams -1 there instead. For output position ``v`` and
output channel ``m`` of ``Im2Col(x) @ W`` (K = kernel positions x channels), every padded
term ``k`` then contributes ``-W[k, m]`` instead of 0, so

    y_true[v, m] = y_stream[v, m] + corr[v, m],   corr[v, m] = sum_{k padded at v} W[k, m].

With bipolar weights the MVAU is XNOR-popcount: it counts agreements ``p`` with
``y_stream = 2 p - K``, so a threshold ``T`` of the true product becomes, exactly for
integer ``p``,

    y_true >= T  <=>  p >= ceil((T + K - corr[v, m]) / 2)   (clipped to [0, K + 1]).

With multi-bit integer weights the MVAU multiplies and accumulates ``y_stream`` itself:
``y_true >= T  <=>  y_stream >= ceil(T - corr[v, m])`` (clipped to [low, high + 1] of the
accumulator's range).

Positions with the same set of padded terms share ``corr``: they form one class (at most
(2p+1)^2 for padding p on a square kernel; class 0 is the interior when there is one). The
MVAU op keeps one set of thresholds per class and the class of every vector of a frame.
Without thresholds after the product there is nowhere to put the correction in a 1-bit
stream, and the convolution is refused by name.

In hardware the classes are usually not needed (:func:`border_thresholds`): when the SIMD
elements of every beat lie in one kernel position, the MVAU knows from its row and column
counters which beats fall on padding and adds a constant instead of their dot product
(``SIMD/2`` agreements, i.e. 0 in ``x @ W``, for XNOR-popcount; 0 for a multiply-
accumulate), so its accumulator holds ``(y_true + K) / 2`` (resp. ``y_true``) and one set of
thresholds ``P`` serves every position. ``P`` follows from the class thresholds: class ``c``
with ``n_c`` padded terms, ``a_c[m]`` of them with weight -1, decides ``p_valid + a_c >=
T_c`` on the agreements ``p_valid`` in [0, K - n_c] of its valid terms, so ``P = T_c - a_c +
n_c / 2`` on the masked accumulator ``p_valid + n_c / 2`` (``T_c + corr_c`` on ``y_valid``
in the multiply-accumulate case), except where ``T_c`` was clipped and the decision is the
same for every reachable value; the classes agree (``T_c = ceil((T + K - n_c) / 2) + a_c``)
and ``P`` is taken from the intersection of the ranges each class allows.
"""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.ir import ops
from bnncc.ir.build import add_inferred, new_constant
from bnncc.ir.graph import Graph, TensorInfo
from bnncc.ir.ops.hw import accumulator_range, is_integral
from bnncc.passes.patterns import sole_consumer


def is_bipolar_zero_padding(graph: Graph, im2col: ops.Im2Col) -> bool:
    """True if ``im2col`` zero-pads a BIPOLAR stream."""
    x = graph.tensors[im2col.inputs[0]]
    return x.dtype == BIPOLAR and any(im2col.pads) and bool(np.all(np.asarray(im2col.pad_value) == 0))


def border_classes(im2col: ops.Im2Col, in_shape) -> tuple[np.ndarray, np.ndarray]:
    """(classes, masks): the class of every output position (row-major) and, per class, which
    of the K patch terms fall on padding (bool (N_CLASSES, K)); class 0 has the fewest."""
    (ones_patches,) = im2col.execute(np.ones((1,) + tuple(in_shape[1:]), dtype=np.int64))
    padded = ones_patches.reshape(-1, ones_patches.shape[-1]) == 0
    masks, classes = np.unique(padded, axis=0, return_inverse=True)
    return classes.reshape(-1), masks


def class_thresholds(T: np.ndarray, W: np.ndarray, masks: np.ndarray, binary: bool = True) -> np.ndarray:
    """Thresholds (N_CLASSES, MH, S) of the MVAU's accumulator on the -1-padded stream for the
    true-product thresholds ``T`` (MH or 1, S): popcount thresholds if ``binary``, else
    thresholds of the multiply-accumulate (module docstring)."""
    k, mh = W.shape
    corr = masks.astype(np.int64) @ W.astype(np.int64)                      # (N_CLASSES, MH)
    T = np.broadcast_to(np.asarray(T, dtype=np.float64), (mh, T.shape[1]))
    if binary:
        return np.clip(np.ceil((T[None] + k - corr[:, :, None]) / 2), 0, k + 1).astype(np.int64)
    low, high = accumulator_range(TensorInfo((1, k), BIPOLAR), W, False)
    return np.clip(np.ceil(T[None] - corr[:, :, None]), low, high + 1).astype(np.int64)


def border_thresholds(T: np.ndarray, W: np.ndarray, masks: np.ndarray, binary: bool) -> np.ndarray | None:
    """One set of thresholds (MH, S) on the border-masked accumulator equivalent to the class
    thresholds ``T`` (N_CLASSES, MH or 1, S) on the -1-padded one (module docstring), for
    padding ``masks`` (N_CLASSES, K) whose classes each pad an even number of terms if
    ``binary``; None if the classes do not agree (not expected)."""
    k, mh = W.shape
    W = W.astype(np.int64)
    T = np.broadcast_to(np.asarray(T, dtype=np.int64), (T.shape[0], mh, T.shape[2]))
    lower = np.full(T.shape[1:], np.iinfo(np.int64).min // 4)
    upper = np.full(T.shape[1:], np.iinfo(np.int64).max // 4)
    for c, mask in enumerate(masks.astype(bool)):
        n = int(mask.sum())
        if binary:
            # decision p_valid + a_c >= T_c on p_valid in [0, K - n]; masked value p_valid + n/2
            level = T[c] - (W[mask] == -1).sum(axis=0)[:, None]
            lo, hi, offset = np.zeros((mh, 1), dtype=np.int64), np.full((mh, 1), k - n), n // 2
        else:
            # decision y_valid - corr_c >= T_c on y_valid in [-sum |W|, sum |W|] over valid terms
            level = T[c] + W[mask].sum(axis=0)[:, None]
            hi = np.abs(W[~mask]).sum(axis=0)[:, None]
            lo, offset = -hi, 0
        exact = (level > lo) & (level <= hi)
        lower = np.maximum(lower, np.where(exact, level, np.where(level > hi, hi + 1, lower - offset)) + offset)
        upper = np.minimum(upper, np.where(exact, level, np.where(level <= lo, lo, upper - offset)) + offset)
    if np.any(lower > upper):
        return None
    low, high = (0, k) if binary else accumulator_range(TensorInfo((1, k), BIPOLAR), W, False)
    chosen = np.where(lower > np.iinfo(np.int64).min // 8, lower, upper)
    return np.clip(chosen, low, high + 1)


def rewrite_padded_bipolar(graph: Graph, im2col: ops.Im2Col, fusable_thresholds, notes: list[str]) -> str | None:
    """``Im2Col`` (zero padding, BIPOLAR) + ``MatMul`` (integer weights) + ``MultiThreshold``
    -> ``SlidingWindow`` (padding -1) + ``MVAU`` with class thresholds (XNOR-popcount for +-1
    weights). Returns None when rewritten, else why not."""
    x = graph.tensors[im2col.inputs[0]]
    product = sole_consumer(graph, im2col.outputs[0])
    if not isinstance(product, ops.MatMul) or product.inputs[0] != im2col.outputs[0]:
        return ("zero padding of a bipolar input is corrected in the thresholds of the product that reads the "
                "patches, but the patches are not read by one matrix product alone")
    W = graph.constant(product.inputs[1])
    w_dtype = graph.tensors[product.inputs[1]].dtype
    if W is None or W.ndim != 2 or not w_dtype.is_integer or not is_integral(W):
        return ("zero padding of a bipolar input is corrected in the thresholds of the product, "
                f"but the weights of '{product.name}' are not a constant integer matrix")
    binary = w_dtype == BIPOLAR
    mt = fusable_thresholds(graph, product)
    if mt is None:
        return (f"zero padding of a bipolar input is corrected in the thresholds after the convolution, but "
                f"'{product.name}' has none (it outputs its accumulator), so the border cannot be represented "
                "in 1 bit; pad with -1 or +1 (an explicit Pad) instead")
    classes, masks = border_classes(im2col, x.shape)
    T = class_thresholds(graph.constant(mt.inputs[1]), W, masks, binary)
    k, mh = W.shape
    low, high = accumulator_range(TensorInfo((1, k), BIPOLAR), W, binary)
    thresholds = new_constant(graph, f"{mt.name}_class_thresholds", T, DataType.for_range(low, high + 1))
    stream = graph.fresh_name(f"{im2col.outputs[0]}_minus_one_padded")
    shape = graph.tensors[im2col.outputs[0]].shape
    for old in (im2col, product, mt):
        graph.remove_op(old.name)
    window = ops.SlidingWindow(
        name=im2col.name, inputs=list(im2col.inputs), outputs=[stream],
        kernel_shape=tuple(im2col.kernel_shape), strides=tuple(im2col.strides), pads=tuple(im2col.pads),
        dilations=tuple(im2col.dilations), pad_value=-1.0, ifm_channels=int(x.shape[3]),
        ifm_dims=(int(x.shape[1]), int(x.shape[2])), ofm_dims=(int(shape[1]), int(shape[2])),
    )
    add_inferred(graph, window)
    mvau = ops.MVAU(
        name=product.name, inputs=[stream, product.inputs[1], thresholds], outputs=list(mt.outputs),
        mw=int(k), mh=int(mh), acc_dtype=DataType.for_range(low, high), out_dtype=mt.out_dtype, binary_xnor=binary,
        class_map=tuple(int(c) for c in classes),
    )
    add_inferred(graph, mvau)
    kind = "XNOR-popcount" if binary else "bipolar input"
    notes.append(
        f"node '{im2col.name}': Im2Col (zero padding of a bipolar input) -> SlidingWindow padding with -1; "
        f"node '{product.name}': MatMul + MultiThreshold '{mt.name}' -> MVAU ({kind}, "
        f"{len(masks)} threshold classes correcting the border)"
    )
    return None
