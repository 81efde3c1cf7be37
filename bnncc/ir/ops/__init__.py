"""All IR operation types."""

from bnncc.ir.ops.classify import ArgMax, Softmax, TopK
from bnncc.ir.ops.elementwise import (
    Add,
    BatchNormalization,
    Cast,
    Clip,
    Div,
    Identity,
    Mul,
    Neg,
    Pow,
    Relu,
    Sign,
    Sub,
)
from bnncc.ir.ops.linear import Conv, Gemm, MatMul, XnorPopcountMatMul
from bnncc.ir.ops.pool import MaxPool
from bnncc.ir.ops.quant import BipolarQuant, Dequantize, MultiThreshold, Quant, QuantizeLinear, Trunc
from bnncc.ir.ops.shape import Concat, Flatten, Gather, Reshape, Shape, Slice, Squeeze, Transpose, Unsqueeze
from bnncc.ir.ops.window import Im2Col, MaxPoolNHWC, Pad
from bnncc.ir.ops.hw import HWOp, LabelSelect, MVAU, SlidingWindow, StreamingMaxPool, StreamReshape, Thresholding

__all__ = [
    "Add", "ArgMax", "BatchNormalization", "BipolarQuant", "Cast", "Clip", "Concat", "Conv",
    "Dequantize", "Div", "Flatten", "Gather", "Gemm", "Identity", "Im2Col", "MatMul", "MaxPool",
    "MaxPoolNHWC", "Mul", "MultiThreshold", "Neg", "Pad", "Pow", "Quant", "QuantizeLinear", "Relu",
    "Reshape", "Shape", "Sign", "Slice", "Softmax", "Squeeze", "Sub", "TopK", "Transpose", "Trunc",
    "Unsqueeze", "XnorPopcountMatMul",
    # hardware stages
    "HWOp", "LabelSelect", "MVAU", "SlidingWindow", "StreamingMaxPool", "StreamReshape", "Thresholding",
]
