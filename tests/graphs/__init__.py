"""Random small quantized ONNX graphs built only from features bnncc claims.

``spec``  the description of one graph (plain frozen dataclasses) and how to draw one, either
          from hypothesis (so failures shrink) or from a numpy generator (long runs);
``build`` the QONNX model of a description, written the way Brevitas exports it;
``check`` the checks one graph must pass: every pass exact against onnxruntime, the RTL exact
          in Verilator under random stalls, the generated Verilog lint clean.
"""

from graphs.build import build_model
from graphs.check import Outcome, check_graph
from graphs.spec import GraphSpec, Layer, QuantSpec, RandomDraw, draw_spec, graph_specs

__all__ = [
    "GraphSpec", "Layer", "QuantSpec", "RandomDraw", "draw_spec", "graph_specs", "build_model",
    "Outcome", "check_graph",
]
