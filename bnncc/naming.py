"""Names that the importer and the onnxruntime reference must agree on.

A QONNX/FINN quantizer ``y = Quant(x)`` becomes two IR tensors: the integer code and the
de-quantized real ``y``. The reference rewrite exposes the same integer code from
onnxruntime under the same name, so the two engines can be compared in the integer domain.
"""

CODE_SUFFIX = "__code"


def code_tensor_name(output_name: str) -> str:
    """Name of the integer-code tensor of the quantizer whose (real) output is ``output_name``."""
    return output_name + CODE_SUFFIX
