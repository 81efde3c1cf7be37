"""The onnxruntime reference: rung 1 of the verification ladder.

:func:`~bnncc.reference.rewrite.rewrite_custom_ops` turns QONNX/FINN quantization ops into
standard ONNX ops that reproduce them exactly and expose their integer codes;
:class:`~bnncc.reference.runner.ReferenceRunner` runs the result with onnxruntime.
"""

from bnncc.reference.rewrite import CUSTOM_DOMAINS, rewrite_custom_ops
from bnncc.reference.runner import ReferenceRunner

__all__ = ["CUSTOM_DOMAINS", "ReferenceRunner", "rewrite_custom_ops"]
