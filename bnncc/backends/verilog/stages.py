"""What each hardware stage becomes in Verilog: an ``rtl_lib`` module, its parameters, its
memory files, its stream formats and its cycles per frame.

Every stream carries ``elems`` elements of ``bits`` bits per beat (element 0 in the least
significant bits, BIPOLAR as one bit: 1 means +1); ``dtype`` says how to read an element.
"""

from __future__ import annotations

import re

import numpy as np

from bnncc.backends.mvau_memory import threshold_words, weight_words
from bnncc.backends import threshold_memory
from bnncc.backends.verilog.module_rules import check_parameters
from bnncc.datatype import BIPOLAR, DataType
from bnncc.errors import UnsupportedModelError
from bnncc.estimate.memory import THRESHOLD_CONSTANT_BITS, constant_bits
from bnncc.hw.stage import Memory, StageRTL, Stream
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits, to_field


def instance_name(node: str) -> str:
    """A Verilog identifier derived from a node name."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", node).strip("_") or "stage"
    return ("s_" + name) if name[0].isdigit() else name


def signed_bits(low: int, high: int) -> int:
    """Bits of the narrowest two's complement type holding [low, high]."""
    return max((-low - 1).bit_length() if low < 0 else 0, high.bit_length()) + 1


def _per_frame(shape) -> int:
    return int(np.prod(shape[1:]))


def _thresholds(graph: Graph, op, channels: int) -> np.ndarray:
    value = graph.constant(op.inputs[-1]).astype(np.int64)
    return np.broadcast_to(value, (channels, value.shape[1])) if value.shape[0] == 1 else value


def _out_bias(dtype: DataType) -> int:
    return int(dtype.min) if dtype.kind == "INT" else 0


def mvau_stage(graph: Graph, op: hw.MVAU, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    weights = graph.constant(op.inputs[1])
    w_dtype = graph.tensors[op.inputs[1]].dtype
    low, high = hw.accumulator_range(x, weights, op.binary_xnor)
    name = instance_name(op.name)
    with_words = memories
    words = weight_words(weights, op.pe, op.simd, element_bits(w_dtype), w_dtype == BIPOLAR) if with_words else []
    memories = [Memory(f"{name}_weights.mem", words, op.pe * op.simd * element_bits(w_dtype))]
    n_thresholds = 0
    hints = {}
    # the narrowest two's complement accumulator: 1 bit when every accumulator is 0 (all-zero
    # weights); with thresholds also T in [low, high + 1], so at least 2 bits
    acc_bits = signed_bits(min(low, 0), high)
    out_dtype = op.out_dtype
    if op.has_thresholds:
        thresholds = np.clip(_thresholds(graph, op, op.mh), low, high + 1)
        n_thresholds = thresholds.shape[1]
        acc_bits = signed_bits(min(low, int(thresholds.min()), 0), max(high + 1, int(thresholds.max())))
        words = threshold_words(thresholds, op.pe, acc_bits)
        hints[THRESHOLD_CONSTANT_BITS] = constant_bits(words, op.pe * n_thresholds * acc_bits)
        memories.append(Memory(f"{name}_thresholds.mem", words if with_words else [], op.pe * n_thresholds * acc_bits))
    else:
        out_dtype = DataType.int(acc_bits)
    vectors = _per_frame(x.shape) // op.mw
    parameters = {
        "MW": op.mw, "MH": op.mh, "PE": op.pe, "SIMD": op.simd,
        "INPUT_BITS": element_bits(x.dtype), "INPUT_SIGNED": int(x.dtype.kind == "INT"), "INPUT_BIPOLAR": int(x.dtype == BIPOLAR),
        "WEIGHT_BITS": element_bits(w_dtype), "WEIGHT_SIGNED": int(w_dtype.kind == "INT"), "WEIGHT_BIPOLAR": int(w_dtype == BIPOLAR),
        "BINARY": int(op.binary_xnor), "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
        "OUT_BITS": element_bits(out_dtype) if n_thresholds else acc_bits, "OUT_BIAS": _out_bias(out_dtype) if n_thresholds else 0,
        "WEIGHT_FILE": memories[0].filename,
        "THRESHOLD_FILE": memories[1].filename if n_thresholds else "",
    }
    return StageRTL(
        node=op.name, instance=name, module="mvau", parameters=parameters,
        input=Stream(op.simd, x.dtype), output=Stream(op.pe, out_dtype),
        in_beats=vectors * op.mw // op.simd, out_beats=vectors * op.mh // op.pe,
        cycles=vectors * (op.mh // op.pe) * (op.mw // op.simd), memories=memories, input_unit=op.mw // op.simd,
        hints=hints,
    )


def thresholding_stage(graph: Graph, op: hw.Thresholding, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    thresholds = _thresholds(graph, op, op.channels)
    low, high = int(x.dtype.min), int(x.dtype.max)
    if x.dtype == BIPOLAR:
        # The stream holds bits b with x = 2b - 1: x >= T  <=>  b >= ceil((T + 1) / 2).
        thresholds = np.ceil((thresholds.astype(np.float64) + 1) / 2).astype(np.int64)
        low, high = 0, 1
    thresholds = np.clip(thresholds, low, high + 1)
    bits = signed_bits(min(low, 0), high + 1)
    name = instance_name(op.name)
    words = threshold_memory.threshold_words(thresholds, op.pe, bits)
    width = op.pe * thresholds.shape[1] * bits
    memory = Memory(f"{name}_thresholds.mem", words if memories else [], width)
    beats = _per_frame(x.shape) // op.pe
    parameters = {
        "CH": op.channels, "PE": op.pe, "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"),
        "N_THRESHOLDS": thresholds.shape[1], "THRESHOLD_BITS": bits, "OUT_BITS": element_bits(op.out_dtype),
        "OUT_BIAS": _out_bias(op.out_dtype), "THRESHOLD_FILE": memory.filename,
    }
    return StageRTL(op.name, name, "thresholding", parameters, Stream(op.pe, x.dtype), Stream(op.pe, op.out_dtype),
                    beats, beats, beats, [memory], hints={THRESHOLD_CONSTANT_BITS: constant_bits(words, width)})


def _geometry(op) -> dict:
    (kh, kw), (sh, sw), (top, left, bottom, right) = op.kernel_shape, op.strides, op.pads
    return {"K_H": kh, "K_W": kw, "STRIDE_H": sh, "STRIDE_W": sw, "PAD_T": top, "PAD_L": left, "PAD_B": bottom, "PAD_R": right}


def sliding_window_stage(graph: Graph, op: hw.SlidingWindow) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    pad = np.asarray(op.pad_value)
    if pad.size > 1 and not np.all(pad == pad.reshape(-1)[0]):
        raise UnsupportedModelError(f"node '{op.name}' (SlidingWindow): a padding value per channel is not supported in RTL yet")
    out_dtype = graph.tensors[op.outputs[0]].dtype
    pad_field = int(to_field(np.asarray(pad.reshape(-1)[0] if pad.size else 0), x.dtype))
    (h, w), (oh, ow) = op.ifm_dims, op.ofm_dims
    kh, kw = op.kernel_shape
    parameters = {"IFM_CH": op.ifm_channels, "IFM_H": h, "IFM_W": w, **_geometry(op), "DIL_H": op.dilations[0],
                  "DIL_W": op.dilations[1], "PAD_VALUE": pad_field, "SIMD": op.simd, "ELEM_BITS": element_bits(x.dtype)}
    in_beats = h * w * op.ifm_channels // op.simd
    out_beats = oh * ow * kh * kw * op.ifm_channels // op.simd
    return StageRTL(op.name, instance_name(op.name), "sliding_window", parameters, Stream(op.simd, x.dtype),
                    Stream(op.simd, out_dtype), in_beats, out_beats, max(in_beats, out_beats),
                    input_unit=w * op.ifm_channels // op.simd)


def maxpool_stage(graph: Graph, op: hw.StreamingMaxPool) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    if tuple(op.dilations) != (1, 1):
        raise UnsupportedModelError(f"node '{op.name}' (StreamingMaxPool): dilated pooling is not supported in RTL")
    (h, w), (oh, ow) = op.ifm_dims, op.ofm_dims
    parameters = {"CH": op.ifm_channels, "H": h, "W": w, **_geometry(op), "CEIL_MODE": int(op.ceil_mode), "PE": op.pe,
                  "ELEM_BITS": element_bits(x.dtype), "SIGNED": int(x.dtype.kind == "INT")}
    in_beats = h * w * op.ifm_channels // op.pe
    out_beats = oh * ow * op.ifm_channels // op.pe
    return StageRTL(op.name, instance_name(op.name), "streaming_maxpool", parameters, Stream(op.pe, x.dtype),
                    Stream(op.pe, x.dtype), in_beats, out_beats, in_beats, input_unit=w * op.ifm_channels // op.pe)


def label_select_stage(graph: Graph, op: hw.LabelSelect) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    if len(op.outputs) > 1 and op.outputs[1] and graph.consumers(op.outputs[1]) + [t for t in graph.outputs if t == op.outputs[1]]:
        raise UnsupportedModelError(f"node '{op.name}' (LabelSelect): only the indices of the top-k are produced in RTL")
    classes = x.shape[-1]
    index_dtype = graph.tensors[op.outputs[0]].dtype
    parameters = {"NUM_CLASSES": classes, "PE": op.pe, "IN_BITS": element_bits(x.dtype), "IN_SIGNED": int(x.dtype.kind == "INT"),
                  "K": op.k, "IDX_BITS": element_bits(index_dtype)}
    frames = _per_frame(x.shape) // classes
    in_beats = frames * classes // op.pe
    cycles = frames * max(classes // op.pe, op.k)
    return StageRTL(op.name, instance_name(op.name), "label_select", parameters, Stream(op.pe, x.dtype),
                    Stream(1, index_dtype), in_beats, frames * op.k, cycles)


#: Hardware op type -> its RTL description.
STAGE_BUILDERS = {
    hw.MVAU: mvau_stage,
    hw.Thresholding: thresholding_stage,
    hw.SlidingWindow: sliding_window_stage,
    hw.StreamingMaxPool: maxpool_stage,
    hw.LabelSelect: label_select_stage,
}


def describe_stage(graph: Graph, op, memories: bool = True) -> StageRTL | None:
    """The RTL of a hardware op; None for a StreamReshape (a wire). Without ``memories`` the
    memory words are left empty (enough for parameters, streams and cycles). Fails with a
    ``ModuleParameterError`` naming the node if the parameters break a check of the module's
    Verilog (:mod:`bnncc.backends.verilog.module_rules`)."""
    if isinstance(op, hw.StreamReshape):
        return None
    builder = STAGE_BUILDERS.get(type(op))
    if builder is None:
        raise UnsupportedModelError(f"node '{op.name}' ({op.op_type}): no RTL module for this stage")
    stage = builder(graph, op, memories) if builder in (mvau_stage, thresholding_stage) else builder(graph, op)
    check_parameters(stage.module, stage.parameters, op.name)
    return stage
