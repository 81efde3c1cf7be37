"""Train the BNN-PYNQ example networks on scikit-learn's digits and export them to ONNX.

The FINN / BNN-PYNQ topologies shipped with ``brevitas_examples`` (TFC, SFC and CNV at
several weight/activation bit widths) are trained for a few epochs on the 8x8 digits
that come with scikit-learn, upsampled to the input size each topology expects, and then
exported with Brevitas:

* ``tfc_w1a1``, ``tfc_w2a2``, ``sfc_w1a2``, ``cnv_w1a1``, ``cnv_w2a2``: QONNX
  (``BipolarQuant`` / ``Quant`` custom ops) through the TorchScript exporter;
* ``tfc_w2a2_qcdq``: standard ONNX QuantizeLinear / Clip / DequantizeLinear, which
  onnxruntime can run;
* ``tfc_w1a1_dynamo``: QONNX through the ``torch.export`` (dynamo) exporter, with the
  weights stored as ONNX external data in ``tfc_w1a1_dynamo.onnx.data``.  If that
  exporter is unavailable (it needs ``onnxscript``), ``tfc_w1a1_external`` is written
  instead: the TorchScript export re-saved with external data.

Three more networks, defined here (``GRAPH_NETWORKS``, which also holds ``unet_w2a2`` of
the list below), are graphs rather than chains
(a tensor feeds two branches that join again); they take the CNV inputs and are exported
through the same QONNX TorchScript path:

* ``resnet8_w4a4``: MLPerf Tiny's ResNet-8 (3x3 stem, three stacks of one residual
  block, the second and third entered with stride 2 and a 1x1 stride-2 shortcut
  convolution, global average pooling, fully connected classifier) with 8/16/32 channels,
  4-bit weights and 4-bit ReLU activations.  Both operands of each residual add pass
  through one shared quantizer (signed 5-bit on the ReLU's grid of scale 1/4), so the add
  is exact in integers, and the sum is quantized by a 4-bit QuantReLU; the average pool
  is Brevitas' ``TruncAvgPool2d`` (``AveragePool`` + ``Trunc``);
* ``resnet_w1a1``: a binary residual network whose skips add two bipolar activations
  (explicit ``Pad`` with -1 before every 3x3 convolution, max-pool, BatchNorm and
  ``BipolarQuant`` after each add);
* ``concat_w2a2``: a 1x1 and a 3x3 convolution branch, both outputs quantized by one
  shared 2-bit quantizer and concatenated along channels, then max-pool, conv and FC.

Five small networks with the layers of today's quantized CNNs, defined here too
(``CNN_NETWORKS``, and ``unet_w2a2`` among ``GRAPH_NETWORKS``), exported the same way:

* ``dscnn_w4a4``: MLPerf Tiny's DS-CNN (keyword spotting) with 32 channels: conv 10x4
  stride 2 on a (1, 32, 16) input (the digit bilinearly upsampled to 32 rows x 16 columns,
  standing in for 32 frames x 16 coefficients), four depthwise-separable blocks (depthwise
  3x3 + pointwise 1x1, each with BN and a 4-bit QuantReLU), global average pooling
  (``TruncAvgPool2d``) and a fully connected classifier;
* ``mobilenet_w4a4``: MobileNet-v1-style on the CNV inputs: conv 3x3 stride 2 stem, four
  depthwise-separable blocks (two of them with stride 2), 4-bit, global average pooling, FC;
* ``radioml_w4a4``: a 1-D VGG-style network after finn-examples' RadioML VGG10 on (2, 64)
  "I/Q" sequences: channel I is the 8x8 digit read row by row (64 pixels, row-major),
  channel Q the same digit read column by column; four Conv1d + BN + 4-bit QuantReLU +
  MaxPool1d stacks, ``Flatten`` and two FC layers;
* ``unet_w2a2``: U-Net-style, one level: conv (stride 2), max-pool, conv, nearest
  upsampling x2 (``nn.Upsample``, an ONNX ``Resize``) concatenated with the skip branch,
  both branches quantized by ONE 2-bit quantizer so the ``Concat`` joins one integer
  grid, conv, then global average pooling and FC so it trains on the digit labels;
* ``tinyyolo_w4a4``: Tincy-YOLO-style: conv 3x3 + BN + LeakyReLU(0.1) + signed 4-bit
  quantizer blocks with max-pools, a 1x1 conv block as the head; a detection head makes no
  sense on the digits, so global average pooling and FC classify them.

One more, ``cnv_pad_w1a1`` (``PaddedCNV``): BNN-PYNQ's CNV-w1a1 with zero padding 1 on every
3x3 convolution (the Conv's ``pads``, no explicit ``Pad``), a third max-pool and FC
1024 -> 512 -> 512 -> 10; its padding of the 1-bit activations is what the compiler corrects
exactly at the border. All other zero padding here is on multi-bit activations (zero is a
code of their quantizers).

And ``mlp_w4a4`` (``MLP``): a multi-layer perceptron with 4-bit weights and activations in
every layer on the digit upsampled to 16x16 (256 inputs): TFC's input quantizer at 4 bits
(signed narrow codes -7..7 of ``2 x - 1``), fully connected 256 -> 128 -> 128 -> 64, each
with BatchNorm and a 4-bit QuantReLU, then 64 -> 10 and TensorNorm (about 58,000 MACs per
frame: some 116 MACs per cycle at 200,000 frames per second and 100 MHz).

The manifest entries of every network defined here also give ``network`` (the defining
class), ``macs_per_frame`` (a depthwise convolution counts ``k * k`` per output) and
``requires``: the compiler features they need beyond a chain of BNN-PYNQ's stages
(``joins``, ``average_pool``, ``depthwise_conv``, ``conv1d``, ``maxpool1d``, ``upsample``,
``monotone_activation``, ``binary_zero_padding``).

Every file is re-saved with an IR version onnxruntime accepts (10), checked with the
ONNX checker, run on the test images (QONNX files through ``onnx.reference`` with small
implementations of the QONNX ops ``Quant``, ``BipolarQuant`` and ``Trunc``, the QCDQ file
through onnxruntime) and compared with PyTorch.  The held-out test images are written to
``examples/data/digits_test.npz`` (keys ``x28``: float32 (N, 1, 28, 28), ``x32``:
float32 (N, 3, 32, 32), ``x32x16``: float32 (N, 1, 32, 16), ``iq64``: float32 (N, 2, 64),
``x16``: float32 (N, 1, 16, 16), all in [0, 1] (see ``INPUT_KEYS``), and ``y``: int64
labels), and a description of every
file, with its test accuracy, to ``manifest.json`` next to the models.

Networks take float inputs in [0, 1] (their first operation is ``2 * x - 1``).

Requirements: the ``examples`` extra.  Install ``torch==2.13.0`` (CPU build) first, then
brevitas, onnx, onnxoptimizer, onnxruntime and scikit-learn, plus onnxscript for the
dynamo export.  Everything runs on the CPU with fixed seeds and one training thread, so
a re-run writes byte-identical files; the full run takes about ten minutes.

Usage::

    python examples/export_models.py                       # everything
    python examples/export_models.py --only tfc_w1a1       # one file (repeatable)
    python examples/export_models.py --epochs-scale 0.5    # shorter training
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

LOG = logging.getLogger("export_models")

EXAMPLES_DIR = Path(__file__).resolve().parent
DEFAULT_OUT_DIR = EXAMPLES_DIR / "models"
DEFAULT_DATA_DIR = EXAMPLES_DIR / "data"

SEED = 0
TEST_SIZE = 0.25
# Highest IR version onnxruntime 1.31 loads (onnx 1.23 writes 14 by default).
TARGET_IR_VERSION = 10
QONNX_DOMAINS = ("qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general", "finn")
# Quantization-related ops and the names of their inputs.
QUANT_INPUTS = {
    "Quant": ("x", "scale", "zeropt", "bitwidth"),
    "BipolarQuant": ("x", "scale"),
    "Trunc": ("x", "scale", "zeropt", "in_bitwidth", "out_scale", "out_bitwidth"),
    "QuantizeLinear": ("x", "y_scale", "y_zero_point"),
    "Clip": ("input", "min", "max"),
    "DequantizeLinear": ("x", "x_scale", "x_zero_point"),
}
MIN_CLASS_AGREEMENT = 0.98
# onnx.reference takes about 0.07 s per CNV image: check CNV on the first test images only.
REFERENCE_IMAGES = {
    "TFC": None,
    "SFC": None,
    "CNV": 150,
    "ResNet-8": None,
    "BinResNet": None,
    "ConcatNet": None,
    "DS-CNN": None,
    "MobileNet-v1": None,
    "RadioML-VGG": None,
    "U-Net": None,
    "Tincy-YOLO": None,
    "CNV-padded": 20,
    "MLP": None,
}


@dataclass(frozen=True)
class NetworkSpec:
    """A network (BNN-PYNQ's, or one of GRAPH_NETWORKS) and how to train it."""

    config: str  # brevitas_examples.bnn_pynq config name, or a key of GRAPH_NETWORKS
    topology: str  # TFC, SFC, CNV, ResNet-8, BinResNet, ConcatNet, ... or CNV-padded
    weight_bits: int
    act_bits: int
    input_key: str  # key of the preprocessed inputs in the data set (see INPUT_KEYS)
    epochs: int
    lr: float
    batch_size: int
    # Compiler features a file needs beyond a chain of stages ("joins": a residual add or
    # a channel concatenation; "average_pool"); in the manifest of the graph networks.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportSpec:
    """One exported ONNX file: which network, through which exporter."""

    name: str  # file stem in the output directory
    network: str  # key into NETWORKS
    path: str  # "qonnx", "qcdq" or "dynamo"


NETWORKS = {
    "tfc_w1a1": NetworkSpec("tfc_1w1a", "TFC", 1, 1, "x28", epochs=100, lr=0.02, batch_size=32),
    "tfc_w2a2": NetworkSpec("tfc_2w2a", "TFC", 2, 2, "x28", epochs=60, lr=0.02, batch_size=32),
    "sfc_w1a2": NetworkSpec("sfc_1w2a", "SFC", 1, 2, "x28", epochs=30, lr=0.02, batch_size=32),
    "cnv_w1a1": NetworkSpec("cnv_1w1a", "CNV", 1, 1, "x32", epochs=8, lr=0.02, batch_size=32),
    "cnv_w2a2": NetworkSpec("cnv_2w2a", "CNV", 2, 2, "x32", epochs=8, lr=0.02, batch_size=64),
    "resnet8_w4a4": NetworkSpec(
        "resnet8_4w4a", "ResNet-8", 4, 4, "x32", epochs=10, lr=0.01, batch_size=32,
        requires=("joins", "average_pool"),
    ),
    "resnet_w1a1": NetworkSpec(
        "binresnet_1w1a", "BinResNet", 1, 1, "x32", epochs=60, lr=0.02, batch_size=32,
        requires=("joins",),
    ),
    "concat_w2a2": NetworkSpec(
        "concat_2w2a", "ConcatNet", 2, 2, "x32", epochs=20, lr=0.02, batch_size=32,
        requires=("joins",),
    ),
    "dscnn_w4a4": NetworkSpec(
        "dscnn_4w4a", "DS-CNN", 4, 4, "x32x16", epochs=30, lr=0.01, batch_size=32,
        requires=("depthwise_conv", "average_pool"),
    ),
    "mobilenet_w4a4": NetworkSpec(
        "mobilenet_4w4a", "MobileNet-v1", 4, 4, "x32", epochs=30, lr=0.01, batch_size=32,
        requires=("depthwise_conv", "average_pool"),
    ),
    "radioml_w4a4": NetworkSpec(
        "radioml_4w4a", "RadioML-VGG", 4, 4, "iq64", epochs=40, lr=0.01, batch_size=32,
        requires=("conv1d", "maxpool1d"),
    ),
    "unet_w2a2": NetworkSpec(
        "unet_2w2a", "U-Net", 2, 2, "x32", epochs=30, lr=0.01, batch_size=32,
        requires=("joins", "upsample", "average_pool"),
    ),
    "tinyyolo_w4a4": NetworkSpec(
        "tinyyolo_4w4a", "Tincy-YOLO", 4, 4, "x32", epochs=30, lr=0.01, batch_size=32,
        requires=("monotone_activation", "average_pool"),
    ),
    "cnv_pad_w1a1": NetworkSpec(
        "cnv_pad_1w1a", "CNV-padded", 1, 1, "x32", epochs=10, lr=0.02, batch_size=32,
        requires=("binary_zero_padding",),
    ),
    "mlp_w4a4": NetworkSpec("mlp_4w4a", "MLP", 4, 4, "x16", epochs=60, lr=0.02, batch_size=32),
}

EXPORTS = {
    spec.name: spec
    for spec in (
        ExportSpec("tfc_w1a1", "tfc_w1a1", "qonnx"),
        ExportSpec("tfc_w2a2", "tfc_w2a2", "qonnx"),
        ExportSpec("sfc_w1a2", "sfc_w1a2", "qonnx"),
        ExportSpec("cnv_w1a1", "cnv_w1a1", "qonnx"),
        ExportSpec("cnv_w2a2", "cnv_w2a2", "qonnx"),
        ExportSpec("tfc_w2a2_qcdq", "tfc_w2a2", "qcdq"),
        ExportSpec("tfc_w1a1_dynamo", "tfc_w1a1", "dynamo"),
        ExportSpec("resnet8_w4a4", "resnet8_w4a4", "qonnx"),
        ExportSpec("resnet_w1a1", "resnet_w1a1", "qonnx"),
        ExportSpec("concat_w2a2", "concat_w2a2", "qonnx"),
        ExportSpec("dscnn_w4a4", "dscnn_w4a4", "qonnx"),
        ExportSpec("mobilenet_w4a4", "mobilenet_w4a4", "qonnx"),
        ExportSpec("radioml_w4a4", "radioml_w4a4", "qonnx"),
        ExportSpec("unet_w2a2", "unet_w2a2", "qonnx"),
        ExportSpec("tinyyolo_w4a4", "tinyyolo_w4a4", "qonnx"),
        ExportSpec("cnv_pad_w1a1", "cnv_pad_w1a1", "qonnx"),
        ExportSpec("mlp_w4a4", "mlp_w4a4", "qonnx"),
    )
}
# Written instead of tfc_w1a1_dynamo when the dynamo exporter is unavailable.
EXTERNAL_FALLBACK = ExportSpec("tfc_w1a1_external", "tfc_w1a1", "qonnx")

EXPORT_PATH_LABELS = {
    "qonnx": "qonnx torchscript",
    "qcdq": "qcdq torchscript",
    "dynamo": "qonnx dynamo",
}


# --------------------------------------------------------------------------- data


def load_digits_split() -> dict[str, np.ndarray]:
    """Load scikit-learn's 8x8 digits, scaled to [0, 1], with a fixed train/test split.

    Returns arrays ``x_train``/``x_test`` of shape (N, 1, 8, 8) float32 and
    ``y_train``/``y_test`` int64.
    """
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, random_state=SEED
    )
    return {"x_train": x_train, "x_test": x_test, "y_train": y_train, "y_test": y_test}


def upsample(images: np.ndarray, size, channels: int) -> np.ndarray:
    """Bilinearly resize (N, 1, 8, 8) images to (N, channels, H, W), values in [0, 1];
    ``size`` is H = W or (H, W)."""
    tensor = torch.from_numpy(images)
    size = (size, size) if isinstance(size, int) else tuple(size)
    resized = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    resized = resized.clamp(0.0, 1.0).repeat(1, channels, 1, 1)
    return resized.numpy().astype(np.float32)


def iq_sequence(images: np.ndarray) -> np.ndarray:
    """Turn (N, 1, 8, 8) images into (N, 2, 64) two-channel "I/Q" sequences: channel 0 (I)
    reads the pixels row by row (row-major raster), channel 1 (Q) column by column (the
    raster of the transposed image); values stay in [0, 1]."""
    rows = images[:, 0].reshape(len(images), 64)
    columns = images[:, 0].transpose(0, 2, 1).reshape(len(images), 64)
    return np.stack([rows, columns], axis=1).astype(np.float32)


# Keys of the preprocessed inputs, what they hold and which networks read them.
INPUT_KEYS = {
    "x28": "(N, 1, 28, 28) bilinear upsampling: TFC, SFC",
    "x32": "(N, 3, 32, 32) bilinear upsampling, one channel replicated to three: CNV, "
    "ResNet-8, BinResNet, ConcatNet, MobileNet-v1, U-Net, Tincy-YOLO",
    "x32x16": "(N, 1, 32, 16) bilinear upsampling to 32 rows x 16 columns: DS-CNN",
    "iq64": "(N, 2, 64) the 8x8 pixels read row by row (channel I) and column by column "
    "(channel Q): RadioML-VGG",
    "x16": "(N, 1, 16, 16) bilinear upsampling: MLP",
}


def preprocess(split: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Build the network inputs: ``{"train"|"test": {<INPUT_KEYS>, "y"}}``."""
    result = {}
    for part in ("train", "test"):
        images = split[f"x_{part}"]
        result[part] = {
            "x28": upsample(images, 28, 1),
            "x32": upsample(images, 32, 3),
            "x32x16": upsample(images, (32, 16), 1),
            "iq64": iq_sequence(images),
            "x16": upsample(images, 16, 1),
            "y": split[f"y_{part}"],
        }
    return result


def save_npz_deterministic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed ``.npz`` whose bytes depend only on ``arrays`` (no timestamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as stream:
                np.lib.format.write_array(stream, np.ascontiguousarray(array), allow_pickle=False)


# --------------------------------------------------------------------------- graph networks
#
# Networks whose dataflow forks and joins: a ResNet-8 and a binary residual network (an
# elementwise add of a skip and a long branch) and a network that concatenates two
# convolution branches along channels.  Brevitas is imported inside the builders, as
# everywhere in this script, so that ``--help`` works without it.


def input_quant() -> torch.nn.Module:
    """CNV's input quantizer: 8-bit signed, scale 2**-7, on ``2 x - 1`` in [-1, 1]."""
    from brevitas.core.restrict_val import RestrictValueType
    from brevitas.nn import QuantIdentity
    from brevitas_examples.bnn_pynq.models.common import CommonActQuant

    return QuantIdentity(
        act_quant=CommonActQuant,
        bit_width=8,
        min_val=-1.0,
        max_val=1.0 - 2.0**-7,
        narrow_range=False,
        restrict_scaling_type=RestrictValueType.POWER_OF_TWO,
    )


def quant_conv(
    in_ch: int,
    out_ch: int,
    kernel,
    bits: int,
    stride=1,
    padding=0,
    groups: int = 1,
) -> torch.nn.Module:
    """Bias-free convolution with BNN-PYNQ's weight quantizer: per-tensor scale 1, narrow
    range, so weights are ``k / (2**(bits-1) - 1)`` (``BipolarQuant`` at 1 bit).
    ``groups = in_ch`` makes it depthwise (one k x k kernel per channel)."""
    from brevitas.nn import QuantConv2d
    from brevitas_examples.bnn_pynq.models.common import CommonWeightQuant

    return QuantConv2d(
        in_ch,
        out_ch,
        kernel,
        stride=stride,
        padding=padding,
        groups=groups,
        bias=False,
        weight_quant=CommonWeightQuant,
        weight_bit_width=bits,
    )


def quant_conv1d(
    in_ch: int, out_ch: int, kernel: int, bits: int, padding: int = 0
) -> torch.nn.Module:
    """``quant_conv`` on (N, C, L) sequences: a bias-free ``QuantConv1d`` (ONNX ``Conv``
    with a (out, in, k) weight)."""
    from brevitas.nn import QuantConv1d
    from brevitas_examples.bnn_pynq.models.common import CommonWeightQuant

    return QuantConv1d(
        in_ch,
        out_ch,
        kernel,
        padding=padding,
        bias=False,
        weight_quant=CommonWeightQuant,
        weight_bit_width=bits,
    )


def quant_linear(in_features: int, out_features: int, bits: int) -> torch.nn.Module:
    """Bias-free fully connected layer with the weight quantizer of ``quant_conv``."""
    from brevitas.nn import QuantLinear
    from brevitas_examples.bnn_pynq.models.common import CommonWeightQuant

    return QuantLinear(
        in_features, out_features, bias=False, weight_quant=CommonWeightQuant,
        weight_bit_width=bits,
    )


def signed_act(bits: int) -> torch.nn.Module:
    """BNN-PYNQ's activation quantizer: signed, narrow, constant scale ``1 / (2**(bits-1) - 1)``
    on [-1, 1]; ``BipolarQuant`` (sign, scale 1) at 1 bit."""
    from brevitas.nn import QuantIdentity
    from brevitas_examples.bnn_pynq.models.common import CommonActQuant

    return QuantIdentity(act_quant=CommonActQuant, bit_width=bits)


def grid_act(bits: int, scale: float, signed: bool, return_quant_tensor: bool = False):
    """A quantizer onto the integer grid ``scale * k`` with a constant scale: unsigned
    (``QuantReLU``, ``k`` in [0, 2**bits - 1]) or signed (``QuantIdentity``, ``k`` in
    [-2**(bits-1), 2**(bits-1) - 1], not narrow)."""
    from brevitas.nn import QuantIdentity, QuantReLU
    from brevitas_examples.bnn_pynq.models.common import CommonActQuant

    if signed:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        layer = QuantIdentity
    else:
        low, high = 0, 2**bits - 1
        layer = QuantReLU
    return layer(
        act_quant=CommonActQuant,
        bit_width=bits,
        signed=signed,
        narrow_range=False,
        min_val=low * scale,
        max_val=high * scale,
        return_quant_tensor=return_quant_tensor,
    )


def tensor_norm() -> torch.nn.Module:
    """BNN-PYNQ's final scalar BatchNorm on the logits."""
    from brevitas_examples.bnn_pynq.models.tensor_norm import TensorNorm

    return TensorNorm()


class GraphNetwork(torch.nn.Module):
    """Shared parts of the graph networks: inputs in [0, 1] become ``2 x - 1`` and the
    latent weights are clipped like BNN-PYNQ's."""

    def clip_weights(self, min_val: float, max_val: float) -> None:
        """Clamp the float weights of every quantized convolution and linear layer."""
        from brevitas.nn import QuantConv1d, QuantConv2d, QuantLinear

        for module in self.modules():
            if isinstance(module, (QuantConv1d, QuantConv2d, QuantLinear)):
                module.weight.data.clamp_(min_val, max_val)

    def init_weights(self) -> None:
        """Uniform [-1, 1] initial weights, as BNN-PYNQ's networks start."""
        from brevitas.nn import QuantConv1d, QuantConv2d, QuantLinear

        for module in self.modules():
            if isinstance(module, (QuantConv1d, QuantConv2d, QuantLinear)):
                torch.nn.init.uniform_(module.weight.data, -1, 1)


# Grid of the ResNet-8 activations: ReLU outputs are 0.25 * k, k in [0, 2**act_bits - 1].
RESNET8_ACT_SCALE = 0.25
RESNET8_CHANNELS = (8, 16, 32)


class ResidualBlock(torch.nn.Module):
    """MLPerf Tiny's ResNet-8 block on an activation of scale ``s`` (uint ``b`` codes).

    Long branch: conv3x3 (stride) - BN - QuantReLU - conv3x3 - BN.  Shortcut: the block
    input, or conv1x1 (stride) - BN when the stride or the channel count changes.

    The add is exact in integers: both operands pass through ``add_quant``, ONE quantizer
    instance (signed ``b + 1`` bits, not narrow, constant scale ``s``: codes in
    [-2**b, 2**b - 1], which holds every uint ``b`` input unchanged), so the long branch is
    ``s * i``, the shortcut ``s * j`` and the sum ``s * (i + j)`` with ``i + j`` a
    ``b + 2``-bit integer.  The sum is quantized by a QuantReLU onto uint ``b`` codes of
    the same scale ``s``: ``clip(i + j, 0, 2**b - 1)``.
    """

    def __init__(self, in_ch, out_ch, stride, weight_bits, act_bits, return_quant_tensor=False):
        super().__init__()
        scale = RESNET8_ACT_SCALE
        self.conv1 = quant_conv(in_ch, out_ch, 3, weight_bits, stride=stride, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(out_ch, eps=1e-4)
        self.relu1 = grid_act(act_bits, scale, signed=False)
        self.conv2 = quant_conv(out_ch, out_ch, 3, weight_bits, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(out_ch, eps=1e-4)
        self.shortcut = torch.nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = torch.nn.Sequential(
                quant_conv(in_ch, out_ch, 1, weight_bits, stride=stride),
                torch.nn.BatchNorm2d(out_ch, eps=1e-4),
            )
        self.add_quant = grid_act(act_bits + 1, scale, signed=True)
        self.relu_out = grid_act(
            act_bits, scale, signed=False, return_quant_tensor=return_quant_tensor
        )

    def forward(self, x):
        long = self.add_quant(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))
        short = self.add_quant(self.shortcut(x))
        return self.relu_out(long + short)


class ResNet8(GraphNetwork):
    """MLPerf Tiny's ResNet-8 (image classification), channels reduced to 8/16/32.

    Stem conv3x3 (3 -> 8) - BN - QuantReLU on the CNV input quantizer; three stacks of one
    ``ResidualBlock`` each (8 channels at 32x32; 16 at 16x16 and 32 at 8x8, both entered
    with stride 2 and a conv1x1 stride-2 shortcut); global average pooling as Brevitas'
    ``TruncAvgPool2d`` over the 8x8 map (the sum of 64 uint ``b`` codes, ``b + 6`` bits,
    truncated to its 8 most significant bits with FLOOR rounding: ``floor(sum / 2**(b-2))``
    of scale ``s * 2**(b-2) / 64``); a fully connected classifier (32 -> 10) and BNN-PYNQ's
    TensorNorm.
    Zero padding is exact here: zero is a code of every quantizer.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        from brevitas.nn import TruncAvgPool2d
        from brevitas.quant import TruncTo8bit

        super().__init__()
        c1, c2, c3 = RESNET8_CHANNELS
        self.input_quant = input_quant()
        self.stem = torch.nn.Sequential(
            quant_conv(3, c1, 3, weight_bits, padding=1),
            torch.nn.BatchNorm2d(c1, eps=1e-4),
            grid_act(act_bits, RESNET8_ACT_SCALE, signed=False),
        )
        self.stacks = torch.nn.Sequential(
            ResidualBlock(c1, c1, 1, weight_bits, act_bits),
            ResidualBlock(c1, c2, 2, weight_bits, act_bits),
            ResidualBlock(c2, c3, 2, weight_bits, act_bits, return_quant_tensor=True),
        )
        self.pool = TruncAvgPool2d(kernel_size=8, trunc_quant=TruncTo8bit)
        self.fc = quant_linear(c3, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.stacks(self.stem(self.input_quant(x)))
        x = self.pool(x)
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# Channels of the binary residual network.
BINRESNET_CHANNELS = 8


class BinaryResidualBlock(torch.nn.Module):
    """Binary residual block: the skip adds two bipolar activations.

    Long branch: Pad(-1) - conv3x3 - BN - BipolarQuant - Pad(-1) - conv3x3 - BN -
    BipolarQuant.  The padding is explicit (``ConstantPad2d`` exports an ONNX ``Pad`` with
    constant value -1, a bipolar code), not the convolution's zero padding, which a
    bipolar tensor cannot represent.  The block input ``x`` (values +-1, the output of a
    ``BipolarQuant`` or of a max-pool of one) and the long branch (+-1, scale 1) are added
    exactly: ``x + y`` is in {-2, 0, 2}.  A BatchNorm and a ``BipolarQuant`` follow, i.e. a
    per-channel threshold on the integer sum.
    """

    def __init__(self, channels: int, weight_bits: int, act_bits: int):
        super().__init__()
        self.pad = torch.nn.ConstantPad2d(1, -1.0)
        self.conv1 = quant_conv(channels, channels, 3, weight_bits)
        self.bn1 = torch.nn.BatchNorm2d(channels, eps=1e-4)
        self.act1 = signed_act(act_bits)
        self.conv2 = quant_conv(channels, channels, 3, weight_bits)
        self.bn2 = torch.nn.BatchNorm2d(channels, eps=1e-4)
        self.act2 = signed_act(act_bits)
        self.bn_out = torch.nn.BatchNorm2d(channels, eps=1e-4)
        self.act_out = signed_act(act_bits)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv1(self.pad(x))))
        y = self.act2(self.bn2(self.conv2(self.pad(y))))
        return self.act_out(self.bn_out(x + y))


class BinResNet(GraphNetwork):
    """A binary (w1a1) residual network for 3x32x32 inputs.

    CNV's 8-bit input quantizer; stem conv4x4 stride 4 (3 -> 8, 32x32 -> 8x8) - BN -
    BipolarQuant; max-pool 2x2 (-> 4x4); two ``BinaryResidualBlock``s of 8 channels;
    a fully connected classifier (128 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        channels = BINRESNET_CHANNELS
        self.input_quant = input_quant()
        self.stem = torch.nn.Sequential(
            quant_conv(3, channels, 4, weight_bits, stride=4),
            torch.nn.BatchNorm2d(channels, eps=1e-4),
            signed_act(act_bits),
            torch.nn.MaxPool2d(2),
        )
        self.blocks = torch.nn.Sequential(
            BinaryResidualBlock(channels, weight_bits, act_bits),
            BinaryResidualBlock(channels, weight_bits, act_bits),
        )
        self.fc = quant_linear(channels * 4 * 4, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.blocks(self.stem(self.input_quant(x)))
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# Channels of the concatenating network: stem, each branch, and the conv after the join.
CONCAT_CHANNELS = (8, 8, 16)


class ConcatNet(GraphNetwork):
    """A network that concatenates two convolution branches along channels.

    CNV's 8-bit input quantizer; stem conv4x4 stride 4 (3 -> 8, 32x32 -> 8x8) - BN -
    quantizer; then two branches on the stem output, conv1x1 - BN and conv3x3 (zero
    padding 1) - BN, both quantized by ``cat_quant``, ONE quantizer instance (BNN-PYNQ's
    signed narrow ``b``-bit activation, constant scale ``1 / (2**(b-1) - 1)``), so the two
    halves of the concatenation (8 + 8 channels) are codes on one grid; max-pool 2x2
    (-> 4x4x16); conv3x3 without padding (16 -> 16, -> 2x2) - BN - quantizer; a fully
    connected classifier (64 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        stem_ch, branch_ch, out_ch = CONCAT_CHANNELS
        self.input_quant = input_quant()
        self.stem = torch.nn.Sequential(
            quant_conv(3, stem_ch, 4, weight_bits, stride=4),
            torch.nn.BatchNorm2d(stem_ch, eps=1e-4),
            signed_act(act_bits),
        )
        self.branch1 = torch.nn.Sequential(
            quant_conv(stem_ch, branch_ch, 1, weight_bits),
            torch.nn.BatchNorm2d(branch_ch, eps=1e-4),
        )
        self.branch3 = torch.nn.Sequential(
            quant_conv(stem_ch, branch_ch, 3, weight_bits, padding=1),
            torch.nn.BatchNorm2d(branch_ch, eps=1e-4),
        )
        self.cat_quant = signed_act(act_bits)
        self.head = torch.nn.Sequential(
            torch.nn.MaxPool2d(2),
            quant_conv(2 * branch_ch, out_ch, 3, weight_bits),
            torch.nn.BatchNorm2d(out_ch, eps=1e-4),
            signed_act(act_bits),
        )
        self.fc = quant_linear(out_ch * 2 * 2, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.stem(self.input_quant(x))
        x = torch.cat([self.cat_quant(self.branch1(x)), self.cat_quant(self.branch3(x))], dim=1)
        x = self.head(x)
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# --------------------------------------------------------------------------- CNN layers
#
# Networks built from the layers of today's quantized CNNs: depthwise-separable blocks
# (MLPerf Tiny's DS-CNN, MobileNet-v1), 1-D convolution and max-pool (RadioML's VGG10),
# nearest-neighbour upsampling joined to a skip branch (U-Net) and LeakyReLU before a
# quantizer (Tincy-YOLO), all small, 4-bit (U-Net 2-bit), trained on the digits.

# Grid of the 4-bit activations of these networks: codes k times 0.25.
CNN_ACT_SCALE = 0.25


def conv_bn_act(conv: torch.nn.Module, channels: int, act: torch.nn.Module, dims: int = 2):
    """``conv`` - BatchNorm - ``act`` (a quantizer, or an activation and a quantizer)."""
    norm = torch.nn.BatchNorm2d(channels, eps=1e-4) if dims == 2 else torch.nn.BatchNorm1d(
        channels, eps=1e-4
    )
    return torch.nn.Sequential(conv, norm, act)


def depthwise_separable(
    in_ch: int, out_ch: int, stride: int, weight_bits: int, act_bits: int,
    return_quant_tensor: bool = False,
) -> torch.nn.Module:
    """Depthwise 3x3 (``groups = in_ch``, zero padding 1, ``stride``) - BN - QuantReLU
    (``act_bits`` unsigned codes times ``CNN_ACT_SCALE``), then pointwise 1x1
    (``in_ch -> out_ch``) - BN - QuantReLU.  Zero padding is exact: zero is a code of the
    unsigned quantizer in front."""
    return torch.nn.Sequential(
        conv_bn_act(
            quant_conv(in_ch, in_ch, 3, weight_bits, stride=stride, padding=1, groups=in_ch),
            in_ch,
            grid_act(act_bits, CNN_ACT_SCALE, signed=False),
        ),
        conv_bn_act(
            quant_conv(in_ch, out_ch, 1, weight_bits),
            out_ch,
            grid_act(
                act_bits, CNN_ACT_SCALE, signed=False, return_quant_tensor=return_quant_tensor
            ),
        ),
    )


def global_trunc_avg_pool(size) -> torch.nn.Module:
    """Brevitas' ``TruncAvgPool2d`` over the whole ``size`` map (a power-of-two number of
    positions): the integer sum of the codes truncated to 8 bits (FLOOR), as in ResNet-8."""
    from brevitas.nn import TruncAvgPool2d
    from brevitas.quant import TruncTo8bit

    return TruncAvgPool2d(kernel_size=size, trunc_quant=TruncTo8bit)


# DS-CNN: input (1, 32, 16) (the digit as a 32-frame x 16-coefficient "spectrogram"),
# channels of every layer.
DSCNN_INPUT = (32, 16)
DSCNN_CHANNELS = 32
DSCNN_BLOCKS = 4


class DSCNN(GraphNetwork):
    """MLPerf Tiny's DS-CNN (keyword spotting), small: 32 channels instead of 64.

    CNV's 8-bit input quantizer on a (1, 32, 16) input; conv 10x4 stride 2 with zero
    padding (4, 1) (1 -> 32, 32x16 -> 16x8) - BN - 4-bit QuantReLU; four
    ``depthwise_separable`` blocks of 32 channels at stride 1; global average pooling over
    the 16x8 map (``TruncAvgPool2d``: the sum of 128 uint4 codes, 11 bits, floor-divided by
    8); a fully connected classifier (32 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        channels = DSCNN_CHANNELS
        self.input_quant = input_quant()
        self.stem = conv_bn_act(
            quant_conv(1, channels, (10, 4), weight_bits, stride=2, padding=(4, 1)),
            channels,
            grid_act(act_bits, CNN_ACT_SCALE, signed=False),
        )
        self.blocks = torch.nn.Sequential(
            *(
                depthwise_separable(
                    channels, channels, 1, weight_bits, act_bits,
                    return_quant_tensor=index == DSCNN_BLOCKS - 1,
                )
                for index in range(DSCNN_BLOCKS)
            )
        )
        self.pool = global_trunc_avg_pool((DSCNN_INPUT[0] // 2, DSCNN_INPUT[1] // 2))
        self.fc = quant_linear(channels, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.pool(self.blocks(self.stem(self.input_quant(x))))
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# MobileNet-v1: stem channels, then (out channels, stride) of each separable block.
MOBILENET_STEM = 8
MOBILENET_BLOCKS = ((16, 1), (32, 2), (32, 1), (64, 2))


class MobileNetV1(GraphNetwork):
    """A MobileNet-v1-style network (visual wake words), small.

    CNV's 8-bit input quantizer on 3x32x32; stem conv3x3 stride 2, zero padding 1
    (3 -> 8, -> 16x16) - BN - 4-bit QuantReLU; ``depthwise_separable`` blocks
    8 -> 16 (stride 1), 16 -> 32 (stride 2, -> 8x8), 32 -> 32, 32 -> 64 (stride 2, -> 4x4);
    global average pooling over 4x4 (``TruncAvgPool2d``, the sum of 16 uint4 codes);
    a fully connected classifier (64 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        self.input_quant = input_quant()
        self.stem = conv_bn_act(
            quant_conv(3, MOBILENET_STEM, 3, weight_bits, stride=2, padding=1),
            MOBILENET_STEM,
            grid_act(act_bits, CNN_ACT_SCALE, signed=False),
        )
        blocks, in_ch = [], MOBILENET_STEM
        for index, (out_ch, stride) in enumerate(MOBILENET_BLOCKS):
            last = index == len(MOBILENET_BLOCKS) - 1
            blocks.append(
                depthwise_separable(in_ch, out_ch, stride, weight_bits, act_bits, last)
            )
            in_ch = out_ch
        self.blocks = torch.nn.Sequential(*blocks)
        self.pool = global_trunc_avg_pool(4)
        self.fc = quant_linear(in_ch, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.pool(self.blocks(self.stem(self.input_quant(x))))
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# RadioML VGG: channels of the four conv stacks, width of the hidden FC layer.
RADIOML_CHANNELS = 16
RADIOML_STACKS = 4
RADIOML_HIDDEN = 32
RADIOML_LENGTH = 64


class RadioMLVGG(GraphNetwork):
    """A 1-D VGG-style network after finn-examples' RadioML VGG10, shortened to 64 samples.

    CNV's 8-bit input quantizer on a 2 x 64 "I/Q" sequence; four stacks of Conv1d k=3 with
    zero padding 1 (2 -> 16, then 16 -> 16) - BN - 4-bit QuantReLU - MaxPool1d(2)
    (64 -> 32 -> 16 -> 8 -> 4 samples); ``Flatten`` (64); fully connected 64 -> 32 - BN -
    QuantReLU; fully connected 32 -> 10 and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        channels = RADIOML_CHANNELS
        self.input_quant = input_quant()
        layers, in_ch = [], 2
        for _ in range(RADIOML_STACKS):
            layers += [
                quant_conv1d(in_ch, channels, 3, weight_bits, padding=1),
                torch.nn.BatchNorm1d(channels, eps=1e-4),
                grid_act(act_bits, CNN_ACT_SCALE, signed=False),
                torch.nn.MaxPool1d(2),
            ]
            in_ch = channels
        self.features = torch.nn.Sequential(*layers)
        flat = channels * (RADIOML_LENGTH >> RADIOML_STACKS)
        self.classifier = torch.nn.Sequential(
            quant_linear(flat, RADIOML_HIDDEN, weight_bits),
            torch.nn.BatchNorm1d(RADIOML_HIDDEN, eps=1e-4),
            grid_act(act_bits, CNN_ACT_SCALE, signed=False),
            quant_linear(RADIOML_HIDDEN, 10, weight_bits),
        )
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.features(self.input_quant(x))
        x = torch.flatten(x, 1)  # an ONNX Flatten, as VGG10's nn.Flatten exports
        return self.norm(self.classifier(x))


# U-Net: channels of the encoder conv, the bottom conv and the conv after the join;
# grid of the 2-bit activations (codes 0..3 times 0.5).
UNET_CHANNELS = (8, 16, 16)
UNET_ACT_SCALE = 0.5


class UNet(GraphNetwork):
    """A U-Net-style network (one level) with a classifier head.

    CNV's 8-bit input quantizer on 3x32x32; encoder conv3x3 stride 2, zero padding 1
    (3 -> 8, -> 16x16) - BN - ``cat_quant`` (the skip); max-pool 2x2 (-> 8x8); conv3x3
    padding 1 (8 -> 16) - BN - ``cat_quant``; nearest upsampling x2 (``nn.Upsample``, an
    ONNX ``Resize``, -> 16x16); concatenation with the skip along channels (8 + 16).
    ``cat_quant`` is ONE 2-bit QuantReLU instance (codes 0..3, constant scale 0.5) used by
    both branches, so the concatenation joins codes of one grid (upsampling repeats codes).
    Then conv3x3 padding 1 (24 -> 16) - BN - 2-bit QuantReLU; global average pooling over
    16x16 (``TruncAvgPool2d``); a fully connected classifier (16 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        enc_ch, bottom_ch, out_ch = UNET_CHANNELS
        self.input_quant = input_quant()
        self.cat_quant = grid_act(act_bits, UNET_ACT_SCALE, signed=False)
        self.encoder = torch.nn.Sequential(
            quant_conv(3, enc_ch, 3, weight_bits, stride=2, padding=1),
            torch.nn.BatchNorm2d(enc_ch, eps=1e-4),
        )
        self.bottom = torch.nn.Sequential(
            torch.nn.MaxPool2d(2),
            quant_conv(enc_ch, bottom_ch, 3, weight_bits, padding=1),
            torch.nn.BatchNorm2d(bottom_ch, eps=1e-4),
        )
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.decoder = conv_bn_act(
            quant_conv(enc_ch + bottom_ch, out_ch, 3, weight_bits, padding=1),
            out_ch,
            grid_act(act_bits, UNET_ACT_SCALE, signed=False, return_quant_tensor=True),
        )
        self.pool = global_trunc_avg_pool(16)
        self.fc = quant_linear(out_ch, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        skip = self.cat_quant(self.encoder(self.input_quant(x)))
        low = self.up(self.cat_quant(self.bottom(skip)))
        x = self.pool(self.decoder(torch.cat([skip, low], dim=1)))
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# Tincy-YOLO: channels of the three conv + max-pool blocks and of the 1x1 head.
TINYYOLO_CHANNELS = (8, 16, 32)
TINYYOLO_HEAD = 32
LEAKY_SLOPE = 0.1


def leaky_block(in_ch: int, out_ch: int, kernel: int, weight_bits: int, act_bits: int,
                return_quant_tensor: bool = False) -> torch.nn.Module:
    """Conv (zero padding ``kernel // 2``) - BN - LeakyReLU(0.1) - signed 4-bit quantizer
    (codes -8..7 times 0.25; an ONNX ``LeakyRelu`` before a ``Quant``)."""
    return conv_bn_act(
        quant_conv(in_ch, out_ch, kernel, weight_bits, padding=kernel // 2),
        out_ch,
        torch.nn.Sequential(
            torch.nn.LeakyReLU(LEAKY_SLOPE),
            grid_act(act_bits, CNN_ACT_SCALE, signed=True, return_quant_tensor=return_quant_tensor),
        ),
    )


class TincyYOLO(GraphNetwork):
    """A Tincy-YOLO-style network trained as a classifier.

    CNV's 8-bit input quantizer on 3x32x32; three ``leaky_block``s conv3x3 (3 -> 8, 8 -> 16,
    16 -> 32), each followed by max-pool 2x2 (32 -> 16 -> 8 -> 4); a 1x1 ``leaky_block``
    head (32 -> 32); in place of the detection head (no boxes in the digits), global
    average pooling over 4x4 (``TruncAvgPool2d`` of int4 codes), a fully connected
    classifier (32 -> 10) and TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        layers, in_ch = [], 3
        for out_ch in TINYYOLO_CHANNELS:
            layers += [leaky_block(in_ch, out_ch, 3, weight_bits, act_bits), torch.nn.MaxPool2d(2)]
            in_ch = out_ch
        self.input_quant = input_quant()
        self.features = torch.nn.Sequential(*layers)
        self.head = leaky_block(in_ch, TINYYOLO_HEAD, 1, weight_bits, act_bits, True)
        self.pool = global_trunc_avg_pool(4)
        self.fc = quant_linear(TINYYOLO_HEAD, 10, weight_bits)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.pool(self.head(self.features(self.input_quant(x))))
        x = x.view(x.shape[0], -1)
        return self.norm(self.fc(x))


# Padded CNV: (out channels, max-pool after) of each 3x3 convolution, then the FC widths.
CNV_PAD_CONVS = ((64, False), (64, True), (128, False), (128, True), (256, False), (256, True))
CNV_PAD_FC = (1024, 512, 512)


class PaddedCNV(GraphNetwork):
    """BNN-PYNQ's CNV-w1a1 with zero padding 1 on every 3x3 convolution (Fraser et al.,
    "Scaling Binarized Neural Networks on Reconfigurable Logic").

    CNV's 8-bit input quantizer on 3x32x32; six bias-free 3x3 convolutions with the Conv's
    own ``pads`` = 1 (no explicit ``Pad``): 3 -> 64, 64 -> 64, max-pool 2 (16x16),
    64 -> 128, 128 -> 128, max-pool 2 (8x8), 128 -> 256, 256 -> 256, max-pool 2 (4x4), each
    with BN and a bipolar quantizer; the first convolution pads the 8-bit input (zero is one
    of its codes), the other five zero-pad BIPOLAR activations, which the compiler corrects
    exactly at the border. A 2x2 max-pool more (2x2, 1024 features) keeps the classifier
    CNV-sized: FC 1024 -> 512 -> 512 (BN, bipolar) and 512 -> 10 with TensorNorm.
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        layers, in_ch = [input_quant()], 3
        for out_ch, pool in CNV_PAD_CONVS:
            layers.append(
                conv_bn_act(
                    quant_conv(in_ch, out_ch, 3, weight_bits, padding=1), out_ch,
                    signed_act(act_bits),
                )
            )
            if pool:
                layers.append(torch.nn.MaxPool2d(2))
            in_ch = out_ch
        layers.append(torch.nn.MaxPool2d(2))
        self.features = torch.nn.Sequential(*layers)
        fc = []
        for in_features, out_features in zip(CNV_PAD_FC, CNV_PAD_FC[1:]):
            fc += [
                quant_linear(in_features, out_features, weight_bits),
                torch.nn.BatchNorm1d(out_features, eps=1e-4),
                signed_act(act_bits),
            ]
        self.classifier = torch.nn.Sequential(*fc, quant_linear(CNV_PAD_FC[-1], 10, weight_bits))
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        x = self.features(x)
        x = x.view(x.shape[0], -1)
        return self.norm(self.classifier(x))


# --------------------------------------------------------------------------- MLP
#
# A multi-bit multi-layer perceptron: the w4a4 counterpart of BNN-PYNQ's TFC, large enough
# that 200,000 frames per second at 100 MHz need a hundred-odd 4-bit MACs per cycle.

# MLP: side of the (square, one-channel) input, widths of the hidden layers, TFC's dropout.
MLP_INPUT = 16
MLP_HIDDEN = (128, 128, 64)
MLP_DROPOUT = 0.2


class MLP(GraphNetwork):
    """A multi-layer perceptron with ``b``-bit weights and activations in every layer.

    TFC's input quantizer at ``b`` bits on ``2 x - 1`` (BNN-PYNQ's signed narrow activation
    quantizer, scale ``1 / (2**(b-1) - 1)``: codes -7..7 at 4 bits) of the 16x16 input
    flattened to 256 features; fully connected 256 -> 128 -> 128 -> 64, each bias-free with
    BNN-PYNQ's weight quantizer, BatchNorm and a ``b``-bit QuantReLU (codes 0..2**b - 1 times
    ``CNN_ACT_SCALE``); fully connected 64 -> 10 and TensorNorm.  Dropout 0.2 after the
    input and every hidden activation, as in TFC (identity in evaluation: not exported).
    """

    def __init__(self, weight_bits: int, act_bits: int):
        super().__init__()
        layers, in_features = [signed_act(act_bits), torch.nn.Dropout(MLP_DROPOUT)], MLP_INPUT**2
        for out_features in MLP_HIDDEN:
            layers += [
                quant_linear(in_features, out_features, weight_bits),
                torch.nn.BatchNorm1d(out_features, eps=1e-4),
                grid_act(act_bits, CNN_ACT_SCALE, signed=False),
                torch.nn.Dropout(MLP_DROPOUT),
            ]
            in_features = out_features
        layers.append(quant_linear(in_features, 10, weight_bits))
        self.features = torch.nn.Sequential(*layers)
        self.norm = tensor_norm()
        self.init_weights()

    def forward(self, x):
        x = x.view(x.shape[0], -1)
        x = 2.0 * x - torch.tensor([1.0], device=x.device)
        return self.norm(self.features(x))


# Builders of the graph networks by NetworkSpec.config: (weight bits, activation bits) -> model.
GRAPH_NETWORKS: dict[str, Callable[[int, int], torch.nn.Module]] = {
    "resnet8_4w4a": ResNet8,
    "binresnet_1w1a": BinResNet,
    "concat_2w2a": ConcatNet,
    "unet_2w2a": UNet,
}
# Builders of the chain-shaped networks of the CNN-layers section above.
CNN_NETWORKS: dict[str, Callable[[int, int], torch.nn.Module]] = {
    "dscnn_4w4a": DSCNN,
    "mobilenet_4w4a": MobileNetV1,
    "radioml_4w4a": RadioMLVGG,
    "tinyyolo_4w4a": TincyYOLO,
    "cnv_pad_1w1a": PaddedCNV,
}
# Builders of the multi-layer perceptrons of the MLP section above.
MLP_NETWORKS: dict[str, Callable[[int, int], torch.nn.Module]] = {"mlp_4w4a": MLP}
# Every network defined in this file.
DEFINED_NETWORKS = {**GRAPH_NETWORKS, **CNN_NETWORKS, **MLP_NETWORKS}


# --------------------------------------------------------------------------- training


def seed_everything(seed: int) -> None:
    """Make PyTorch and NumPy deterministic for this process.

    Training uses one CPU thread: results depend on the thread count, so it must be
    fixed, and one thread is barely slower here while it does not stall (by up to 50x
    per epoch) when other processes keep a core busy.
    """
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True)


def build_network(spec: NetworkSpec) -> torch.nn.Module:
    """Instantiate an untrained network: one of DEFINED_NETWORKS, else a BNN-PYNQ network
    from its brevitas_examples config."""
    if spec.config in DEFINED_NETWORKS:
        return DEFINED_NETWORKS[spec.config](spec.weight_bits, spec.act_bits)
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    model, _ = model_with_cfg(spec.config, pretrained=False)
    return model


def train(
    model: torch.nn.Module, x: np.ndarray, y: np.ndarray, spec: NetworkSpec, epochs: int
) -> None:
    """Train with Adam, cross-entropy and cosine learning-rate decay.

    As in BNN-PYNQ's trainer, the latent float weights are clipped to [-1, 1] after
    every step so the binary/ternary quantizers keep a useful gradient.
    """
    generator = torch.Generator().manual_seed(SEED)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    steps_per_epoch = -(-len(inputs) // spec.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, epochs * steps_per_epoch)
    )
    model.train()
    for epoch in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(inputs), generator=generator)
        total_loss = 0.0
        for start in range(0, len(inputs), spec.batch_size):
            batch = order[start : start + spec.batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
            scheduler.step()
            model.clip_weights(-1.0, 1.0)
            total_loss += loss.item() * len(batch)
        LOG.info(
            "  epoch %d/%d: loss %.4f (%.1f s)",
            epoch + 1,
            epochs,
            total_loss / len(inputs),
            time.perf_counter() - started,
        )
    model.eval()


@torch.no_grad()
def predict_torch(model: torch.nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Return the model's logits for ``x`` in evaluation mode."""
    model.eval()
    outputs = [model(torch.from_numpy(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return torch.cat(outputs).numpy()


def rounded(value: float | None) -> float | None:
    """``value`` rounded to four decimals, or None."""
    return None if value is None else round(value, 4)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return float((logits.argmax(axis=1) == labels).mean())


def check_batchnorm_trained(model: torch.nn.Module) -> None:
    """Fail if some BatchNorm still has its initial running statistics."""
    for name, module in model.named_modules():
        if not hasattr(module, "running_mean") or not hasattr(module, "running_var"):
            continue
        untouched_mean = torch.all(module.running_mean == 0)
        untouched_var = torch.all(module.running_var == 1)
        if untouched_mean or untouched_var:
            raise RuntimeError(f"module '{name}': running statistics were never updated")


def count_macs(model: torch.nn.Module, shape: tuple) -> int:
    """Multiply-accumulates of one frame of ``shape`` in the convolutions and linear layers:
    per layer, output elements times the weights of one output channel (``k * k`` for a
    depthwise convolution)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        total += (output.numel() // output.shape[0]) * module.weight[0].numel()

    kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)
    layers = [m for m in model.modules() if isinstance(m, kinds)]
    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            model.eval()
            model(torch.zeros(shape))
    finally:
        for handle in handles:
            handle.remove()
    return total


def describe_network(spec: NetworkSpec, model: torch.nn.Module, shape: tuple) -> dict:
    """Manifest fields naming the network's definition; a graph network (see
    DEFINED_NETWORKS) also gets its class, its MACs per frame and the compiler features it
    requires beyond a chain of BNN-PYNQ's stages."""
    if spec.config not in DEFINED_NETWORKS:
        return {"brevitas_config": spec.config}
    return {
        "brevitas_config": None,
        "network": f"examples/export_models.py:{type(model).__name__}",
        "macs_per_frame": count_macs(model, shape),
        "requires": list(spec.requires),
    }


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------- export


def dynamo_available() -> bool:
    """Whether Brevitas can use the torch.export (dynamo) ONNX exporter here."""
    from brevitas import export as brevitas_export

    try:
        import onnxscript  # noqa: F401  (torch.onnx's dynamo exporter needs it)
    except ImportError:
        return False
    return hasattr(brevitas_export, "QONNXDynamoManager")


def export_with_brevitas(model: torch.nn.Module, path: str, kind: str, shape: tuple) -> None:
    """Export ``model`` to ``path`` with the Brevitas exporter for ``kind``."""
    from brevitas.export import export_onnx_qcdq, export_qonnx

    example = torch.rand(shape, generator=torch.Generator().manual_seed(SEED))
    # The dynamo exporter and its optimizer print progress on stdout: keep it for results.
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        if kind == "qonnx":
            # Brevitas defaults to dynamo on torch >= 2.9: ask for TorchScript explicitly.
            export_qonnx(model, example, path, dynamo=False)
        elif kind == "qcdq":
            export_onnx_qcdq(model, example, path, dynamo=False)
        elif kind == "dynamo":
            export_qonnx(model, example, path, dynamo=True, optimize=True)
        else:
            raise ValueError(f"unknown export path '{kind}'")


def save_final(model: onnx.ModelProto, path: Path, external: bool) -> list[Path]:
    """Save ``model`` with an onnxruntime-compatible IR version; return the files written."""
    model.ir_version = TARGET_IR_VERSION
    data_path = path.with_name(path.name + ".data")
    for stale in (path, data_path):
        stale.unlink(missing_ok=True)
    if not external:
        onnx.save_model(model, path)
        return [path]
    onnx.save_model(
        model,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data_path.name,
        size_threshold=0,
    )
    data_path.chmod(path.stat().st_mode)  # onnx creates the data file private (0600)
    return [path, data_path]


def export_file(
    model: torch.nn.Module, spec: ExportSpec, shape: tuple, out_dir: Path, external: bool
) -> list[Path]:
    """Export one file into ``out_dir`` (through a scratch directory) and return its files."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = os.path.join(scratch, f"{spec.name}.onnx")
        export_with_brevitas(model, scratch_path, spec.path, shape)
        # Loads any external data the exporter wrote, so the scratch dir can go.
        exported = onnx.load(scratch_path)
    return save_final(exported, out_dir / f"{spec.name}.onnx", external)


# --------------------------------------------------------------------------- checks


def attributes(node: onnx.NodeProto) -> dict:
    """A node's attributes as plain Python values."""
    values = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        values[attr.name] = value.decode() if isinstance(value, bytes) else value
    return values


def constant_values(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Initializers and Constant-node outputs by tensor name."""
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and "value" in attributes(node):
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def describe_quantizers(model: onnx.ModelProto) -> list[dict]:
    """Distinct quantization-related nodes with their attributes, constants and count.

    ``role`` is ``weight`` when the quantized tensor is an initializer (or comes from
    one through other quantization nodes, as in QCDQ's Clip -> DequantizeLinear), else
    ``activation``; single-element constant inputs (scale, zero point, bit width, clip
    bounds) are given by value, larger ones by shape.
    """
    constants = constant_values(model)
    weights = set(constants)
    counts: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type not in QUANT_INPUTS:
            continue
        is_weight = node.input[0] in weights
        if is_weight:
            weights.update(node.output)
        record = {
            "op": node.op_type,
            "domain": node.domain or "ai.onnx",
            "role": "weight" if is_weight else "activation",
            **attributes(node),
        }
        for name, tensor in zip(QUANT_INPUTS[node.op_type][1:], node.input[1:]):
            if tensor in constants:
                value = constants[tensor]
                record[name] = value.item() if value.size == 1 else f"shape {list(value.shape)}"
        key = json.dumps(record, sort_keys=False)
        counts[key] = counts.get(key, 0) + 1
    return [{**json.loads(key), "count": count} for key, count in counts.items()]


def check_one_bit_quantizers(spec: NetworkSpec, quantizers: list[dict]) -> None:
    """Fail unless 1-bit tensors use BipolarQuant and no Quant node has bit width 1.

    Brevitas' integer quantizer at 1 bit silently produces NaN; the binary quantizer
    exports as ``BipolarQuant``.
    """
    for quantizer in quantizers:
        if quantizer["op"] == "Quant" and quantizer.get("bitwidth", 2) <= 1:
            raise RuntimeError(f"{spec.config}: Quant node with bit width <= 1: {quantizer}")
    for role, bits in (("weight", spec.weight_bits), ("activation", spec.act_bits)):
        bipolar = sum(
            q["count"] for q in quantizers if q["op"] == "BipolarQuant" and q["role"] == role
        )
        if (bits == 1) != (bipolar > 0):
            raise RuntimeError(
                f"{spec.config}: {role}s are {bits}-bit but {bipolar} BipolarQuant nodes "
                f"quantize {role}s"
            )


# Ops that pass quantized codes through unchanged in value set (a join operand may come
# from a quantizer through them).
CODE_PRESERVING_OPS = (
    "MaxPool", "Reshape", "Flatten", "Transpose", "Identity", "Resize", "Upsample"
)


def producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    """The node that writes each tensor."""
    return {out: node for node in model.graph.node for out in node.output}


def operand_quantizer(
    model: onnx.ModelProto, tensor: str, written_by: dict[str, onnx.NodeProto]
) -> onnx.NodeProto | None:
    """The activation quantizer whose codes ``tensor`` carries (through max-pool and shape
    ops), or None."""
    node = written_by.get(tensor)
    while node is not None and node.op_type in CODE_PRESERVING_OPS:
        node = written_by.get(node.input[0])
    if node is None or node.op_type not in ("Quant", "BipolarQuant"):
        return None
    return node


def static_tensors(model: onnx.ModelProto) -> set[str]:
    """Tensors that do not depend on activation values: constants, ``Shape`` outputs and
    what is computed from those alone (TorchScript's pad-size chains)."""
    static = set(constant_values(model))
    for node in model.graph.node:  # ONNX lists nodes in topological order
        if node.op_type == "Shape" or all(t in static for t in node.input if t):
            static.update(node.output)
    return static


def check_join_operands(name: str, model: onnx.ModelProto) -> int:
    """Fail unless every Add or Concat of two or more activations joins quantizer outputs
    of one scale and zero point, so that the join is exact on their integer codes (a sum
    ``s*i + s*j = s*(i + j)``, a concatenation of codes of one grid).  Returns the number
    of joins checked."""
    constants = constant_values(model)
    static = static_tensors(model)
    written_by = producers(model)
    joins = 0
    for node in model.graph.node:
        operands = [t for t in node.input if t and t not in static]
        if node.op_type not in ("Add", "Concat") or len(operands) < 2:
            continue
        grids = set()
        for tensor in operands:
            quant = operand_quantizer(model, tensor, written_by)
            if quant is None:
                raise RuntimeError(
                    f"{name}: {node.op_type} '{node.name}' input '{tensor}' does not come "
                    "from an activation quantizer"
                )
            scale = constants[quant.input[1]].item()
            zeropt = constants[quant.input[2]].item() if quant.op_type == "Quant" else 0.0
            grids.add((scale, zeropt))
        if len(grids) != 1:
            raise RuntimeError(
                f"{name}: {node.op_type} '{node.name}' joins operands on different grids "
                f"(scale, zero point) {sorted(grids)}"
            )
        joins += 1
    return joins


def check_pad_values(name: str, model: onnx.ModelProto, values: tuple[float, ...]) -> int:
    """Fail unless every ``Pad`` is a constant pad whose value is one of ``values`` (for a
    bipolar tensor -1 or +1: zero is no bipolar code).  Returns the number of pads."""
    constants = constant_values(model)
    pads = [node for node in model.graph.node if node.op_type == "Pad"]
    for node in pads:
        mode = attributes(node).get("mode", "constant")
        value = constants[node.input[2]].item() if len(node.input) > 2 and node.input[2] else 0.0
        if mode != "constant" or value not in values:
            raise RuntimeError(
                f"{name}: Pad '{node.name}' pads with {mode} {value}, expected a constant "
                f"in {list(values)}"
            )
    return len(pads)


def tensor_info(value: onnx.ValueInfoProto) -> dict:
    """Name, element type and shape of a graph input or output."""
    tensor_type = value.type.tensor_type
    shape = [
        dim.dim_value if dim.HasField("dim_value") else dim.dim_param
        for dim in tensor_type.shape.dim
    ]
    return {
        "name": value.name,
        "dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name,
        "shape": shape,
    }


def graph_interface(model: onnx.ModelProto) -> tuple[list[dict], list[dict]]:
    """The graph's real inputs (initializers excluded) and outputs."""
    initializers = {init.name for init in model.graph.initializer}
    inputs = [tensor_info(v) for v in model.graph.input if v.name not in initializers]
    outputs = [tensor_info(v) for v in model.graph.output]
    return inputs, outputs


def inspect_onnx(path: Path) -> onnx.ModelProto:
    """Load ``path``, run the ONNX checker and return the model (external data loaded)."""
    model = onnx.load(str(path))
    domains = {node.domain for node in model.graph.node}
    # The checker does not know the QONNX custom domains: skip the full (shape) check.
    full_check = not domains.intersection(QONNX_DOMAINS)
    onnx.checker.check_model(str(path) if full_check else model, full_check=full_check)
    return model


def op_types(model: onnx.ModelProto) -> dict[str, int]:
    """Count of nodes per ``domain:op_type`` (ai.onnx ops without prefix)."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        key = f"{node.domain}:{node.op_type}" if node.domain else node.op_type
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


# --------------------------------------------------------------------------- execution


def _qonnx_round(values: np.ndarray, mode: str) -> np.ndarray:
    """Apply a QONNX rounding mode, any case (ROUND is round-half-to-even)."""
    functions: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "ROUND": np.round,
        "ROUND_TO_ZERO": np.trunc,
        "CEIL": np.ceil,
        "FLOOR": np.floor,
    }
    if mode.upper() not in functions:
        raise ValueError(f"unsupported rounding_mode '{mode}'")
    return functions[mode.upper()](values)


class Quant(OpRun):
    """QONNX ``Quant``: uniform integer quantization followed by dequantization."""

    op_domain = "qonnx.custom_op.general"

    def _run(self, x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding_mode="ROUND"):
        bits = float(bitwidth)
        if signed:
            low, high = -(2.0 ** (bits - 1)) + narrow, 2.0 ** (bits - 1) - 1
        else:
            low, high = 0.0, 2.0**bits - 1 - narrow
        if isinstance(rounding_mode, bytes):
            rounding_mode = rounding_mode.decode()
        integer = _qonnx_round(x / scale + zeropt, rounding_mode)
        result = (np.clip(integer, low, high) - zeropt) * scale
        return (result.astype(x.dtype),)


class BipolarQuant(OpRun):
    """QONNX ``BipolarQuant``: ``+scale`` for ``x >= 0`` (zero included), else ``-scale``."""

    op_domain = "qonnx.custom_op.general"

    def _run(self, x, scale):
        return ((np.where(x >= 0, 1.0, -1.0) * scale).astype(x.dtype),)


class Trunc(OpRun):
    """QONNX ``Trunc`` as Brevitas 0.13 writes it (6 inputs: x, scale, zeropt, in_bitwidth,
    out_scale, out_bitwidth), after the qonnx package's ``trunc_v2``.

    With ``t = 2**round(log2(out_scale / scale))``: ``y = round_half_even(x / scale +
    zeropt) / t``, clipped to the ``out_bitwidth`` range, rounded by ``rounding_mode``, and
    ``(y - zeropt / t) * out_scale``.
    """

    op_domain = "qonnx.custom_op.general"

    def _run(
        self, x, scale, zeropt, in_bitwidth, out_scale, out_bitwidth, signed=1, narrow=0,
        rounding_mode="FLOOR",
    ):
        bits = float(out_bitwidth)
        if signed:
            low, high = -(2.0 ** (bits - 1)) + narrow, 2.0 ** (bits - 1) - 1
        else:
            low, high = 0.0, 2.0**bits - 1 - narrow
        if isinstance(rounding_mode, bytes):
            rounding_mode = rounding_mode.decode()
        step = 2.0 ** np.round(np.log2(out_scale / scale))
        integer = np.clip(np.round(x / scale + zeropt) / step, low, high)
        result = (_qonnx_round(integer, rounding_mode) - zeropt / step) * out_scale
        return (result.astype(x.dtype),)


def predict_onnx_reference(path: Path, x: np.ndarray) -> np.ndarray:
    """Run ``path`` image by image with ``onnx.reference`` plus the QONNX ops."""
    model = onnx.load(str(path))
    evaluator = ReferenceEvaluator(model, new_ops=[Quant, BipolarQuant, Trunc])
    (input_info,), _ = graph_interface(model)
    rows = [evaluator.run(None, {input_info["name"]: x[i : i + 1]})[0] for i in range(len(x))]
    return np.concatenate(rows)


def predict_onnxruntime(path: Path, x: np.ndarray) -> np.ndarray:
    """Run ``path`` image by image with onnxruntime on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3  # Brevitas keeps initializers as graph inputs: ORT warns
    session = onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    rows = [session.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))]
    return np.concatenate(rows)


def check_finite(name: str, logits: np.ndarray) -> None:
    """Fail if any output is NaN or infinite."""
    if not np.all(np.isfinite(logits)):
        raise RuntimeError(f"{name}: non-finite values in the outputs")


def compare_with_torch(name: str, logits: np.ndarray, expected: np.ndarray) -> dict:
    """Compare ONNX logits with PyTorch's; fail if the predicted classes disagree too often.

    Float rounding differences can flip a quantizer at a threshold, so single logits may
    differ by a quantization step; the predicted class must still agree almost always.
    """
    same_class = float((logits.argmax(axis=1) == expected.argmax(axis=1)).mean())
    max_diff = float(np.max(np.abs(logits - expected)))
    if same_class < MIN_CLASS_AGREEMENT:
        raise RuntimeError(
            f"{name}: ONNX and PyTorch predictions agree on only {same_class:.1%} of the images"
        )
    return {"max_abs_diff": max_diff, "same_class": same_class}


# --------------------------------------------------------------------------- driver


def train_network(key: str, data: dict, epochs_scale: float) -> tuple[torch.nn.Module, dict]:
    """Build, train and evaluate one network; return it with its PyTorch results."""
    spec = NETWORKS[key]
    epochs = max(1, round(spec.epochs * epochs_scale))
    LOG.info("training %s (%s, %d epochs)", key, spec.config, epochs)
    seed_everything(SEED)
    model = build_network(spec)
    started = time.perf_counter()
    train(model, data["train"][spec.input_key], data["train"]["y"], spec, epochs)
    check_batchnorm_trained(model)
    logits = predict_torch(model, data["test"][spec.input_key])
    check_finite(key, logits)
    result = {
        "epochs": epochs,
        "accuracy": accuracy(logits, data["test"]["y"]),
        "logits": logits,
    }
    LOG.info(
        "  %s: PyTorch test accuracy %.4f (%.0f s)",
        key,
        result["accuracy"],
        time.perf_counter() - started,
    )
    return model, result


def export_and_check(
    spec: ExportSpec, model: torch.nn.Module, trained: dict, data: dict, out_dir: Path
) -> dict:
    """Export one file, verify it, and return its manifest entry."""
    network = NETWORKS[spec.network]
    x_test, y_test = data["test"][network.input_key], data["test"]["y"]
    shape = (1, *x_test.shape[1:])
    external = spec.path == "dynamo" or spec.name.endswith("_external")
    LOG.info("exporting %s (%s)", spec.name, EXPORT_PATH_LABELS[spec.path])
    files = export_file(model, spec, shape, out_dir, external)
    onnx_model = inspect_onnx(files[0])
    quantizers = describe_quantizers(onnx_model)
    if spec.path != "qcdq":
        check_one_bit_quantizers(network, quantizers)
    if "joins" in network.requires:
        joins = check_join_operands(spec.name, onnx_model)
        if not joins:
            raise RuntimeError(f"{spec.name}: a graph network without an Add or Concat join")
    if network.config in DEFINED_NETWORKS and network.act_bits == 1:
        check_pad_values(spec.name, onnx_model, (-1.0, 1.0))
    inputs, outputs = graph_interface(onnx_model)

    # onnxruntime cannot run the QONNX custom ops; onnx.reference lacks DequantizeLinear-13.
    if spec.path == "qcdq":
        engine, run, count = "onnxruntime", predict_onnxruntime, len(x_test)
    else:
        count = REFERENCE_IMAGES[network.topology] or len(x_test)
        engine, run = "onnx.reference", predict_onnx_reference
    logits = run(files[0], x_test[:count])
    check_finite(spec.name, logits)
    agreement = compare_with_torch(spec.name, logits, trained["logits"][:count])
    # An accuracy is only reported when the whole test set ran.
    onnx_accuracy = accuracy(logits, y_test) if count == len(x_test) else None

    entry = {
        "file": files[0].name,
        "external_data": files[1].name if len(files) > 1 else None,
        "topology": network.topology,
        **describe_network(network, model, shape),
        "weight_bits": network.weight_bits,
        "activation_bits": network.act_bits,
        "input_shape": list(shape),
        "input_range": [0.0, 1.0],
        "inputs": inputs,
        "outputs": outputs,
        "export_path": EXPORT_PATH_LABELS[spec.path],
        "ir_version": onnx_model.ir_version,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in onnx_model.opset_import},
        "op_types": op_types(onnx_model),
        "quantizers": quantizers,
        "epochs": trained["epochs"],
        "test_images": int(len(x_test)),
        "accuracy_pytorch": round(trained["accuracy"], 4),
        "accuracy_onnxruntime": rounded(onnx_accuracy) if engine == "onnxruntime" else None,
        "accuracy_onnx_reference": rounded(onnx_accuracy) if engine == "onnx.reference" else None,
        "onnx_vs_pytorch": {"engine": engine, "images": count, **agreement},
        "parameters": count_parameters(model),
        "file_size_bytes": sum(f.stat().st_size for f in files),
    }
    LOG.info("  %s: %s", spec.name, ", ".join(f"{k}={v}" for k, v in entry["op_types"].items()))
    return entry


def select_exports(only: list[str] | None, use_dynamo: bool) -> list[ExportSpec]:
    """The exports to produce, in a fixed order, with the dynamo fallback applied."""
    selected = []
    for name in only or EXPORTS:
        spec = EXTERNAL_FALLBACK if name == EXTERNAL_FALLBACK.name else EXPORTS[name]
        if spec.path == "dynamo" and not use_dynamo:
            LOG.warning(
                "dynamo exporter unavailable (needs onnxscript): writing %s instead",
                EXTERNAL_FALLBACK.name,
            )
            spec = EXTERNAL_FALLBACK
        if spec not in selected:
            selected.append(spec)
    return selected


def tool_versions() -> dict[str, str]:
    """Versions of the packages that shape the exported files."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("torch", "brevitas", "onnx", "onnxoptimizer", "onnxscript"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def to_json(value: object) -> str:
    """Indented JSON with lists of numbers or strings kept on one line."""
    text = json.dumps(value, indent=2)
    return re.sub(
        r"\[\s*([^\[\]{}]*?)\s*\]",
        lambda match: "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]",
        text,
    )


def update_manifest(path: Path, data_file: Path, entries: dict[str, dict]) -> None:
    """Merge ``entries`` into the manifest at ``path`` (keyed by file name)."""
    manifest = json.loads(path.read_text()) if path.exists() else {}
    models = {**manifest.get("models", {}), **entries}
    manifest = {
        "generated_by": "examples/export_models.py",
        "versions": tool_versions(),
        "dataset": {
            "source": "sklearn.datasets.load_digits: 8x8 images, values 0..16 divided by 16",
            "split": f"sklearn train_test_split(test_size={TEST_SIZE}, random_state={SEED})",
            "preprocessing": "torch.nn.functional.interpolate(mode='bilinear', "
            "align_corners=False) to 28x28 (1 channel), to 32x32 replicated to 3 channels, "
            "to 32x16 or to 16x16 (1 channel); or the 8x8 pixels as a 2 x 64 sequence (rows, "
            "columns)",
            "test_file": os.path.relpath(data_file, path.parent),
            "test_keys": {**INPUT_KEYS, "y": "labels"},
        },
        "models": dict(sorted(models.items())),
    }
    path.write_text(to_json(manifest) + "\n")


def positive_float(text: str) -> float:
    """argparse type: a float greater than zero."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Results go to stdout, progress to stderr.",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="directory for the ONNX files and manifest.json (default: models/ next to "
        "this script)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="directory for digits_test.npz (default: data/ next to this script)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=[*EXPORTS, EXTERNAL_FALLBACK.name],
        help="export only this file, without .onnx; repeatable (default: all of "
        f"{', '.join(EXPORTS)})",
    )
    parser.add_argument(
        "--epochs-scale",
        type=positive_float,
        default=1.0,
        help="multiply every network's number of training epochs by this (default: 1.0)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Train, export and check the selected models; print a summary on stdout."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    started = time.perf_counter()
    exports = select_exports(args.only, dynamo_available())

    data = preprocess(load_digits_split())
    test = data["test"]
    data_file = args.data_dir / "digits_test.npz"
    save_npz_deterministic(data_file, {key: test[key] for key in (*INPUT_KEYS, "y")})
    args.out_dir.mkdir(parents=True, exist_ok=True)

    entries = {}
    for network_key in dict.fromkeys(spec.network for spec in exports):
        model, trained = train_network(network_key, data, args.epochs_scale)
        for spec in exports:
            if spec.network == network_key:
                entries[f"{spec.name}.onnx"] = export_and_check(
                    spec, model, trained, data, args.out_dir
                )
    update_manifest(args.out_dir / "manifest.json", data_file, entries)

    header = ("file", "export path", "torch", "onnx", "engine", "bytes")
    print("{:26s} {:18s} {:>6s} {:>6s}  {:14s} {:>9s}".format(*header))
    for name, entry in entries.items():
        check = entry["onnx_vs_pytorch"]
        onnx_acc = entry["accuracy_onnxruntime"] or entry["accuracy_onnx_reference"]
        onnx_text = "-" if onnx_acc is None else f"{onnx_acc:.4f}"
        print(
            f"{name:26s} {entry['export_path']:18s} {entry['accuracy_pytorch']:6.4f}"
            f" {onnx_text:>6s}  {check['engine']:14s} {entry['file_size_bytes']:9d}"
        )
    print(f"total time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
