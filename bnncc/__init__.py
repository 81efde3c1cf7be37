"""bnncc: a compiler from quantized ONNX networks to streaming FPGA dataflow designs."""

__version__ = "0.1.0"
