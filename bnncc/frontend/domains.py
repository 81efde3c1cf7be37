"""The ONNX operator domains bnncc reads, and how each is spelled by the exporters.

Brevitas, QONNX and FINN write the same quantization ops under several domain names; qonnx
writes NHWC variants of Conv/MaxPool/BatchNormalization under
:data:`CHANNELS_LAST_DOMAIN`. Exporters of 2020-2024 often left out the opset import of these
custom domains; the loader adds it (version 1) so that the file passes onnx's checker.
"""

from __future__ import annotations

#: Spellings of the standard ONNX domain.
STANDARD_DOMAINS = frozenset({"", "ai.onnx"})

#: Domains under which Brevitas, QONNX and FINN write the same quantizers.
QUANT_DOMAINS = frozenset({"qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general", "finn"})

#: qonnx's channels-last (NHWC) variants of Conv, MaxPool and BatchNormalization.
CHANNELS_LAST_DOMAIN = "qonnx.custom_op.channels_last"

#: Every non-standard domain bnncc knows.
CUSTOM_DOMAINS = QUANT_DOMAINS | {CHANNELS_LAST_DOMAIN}
