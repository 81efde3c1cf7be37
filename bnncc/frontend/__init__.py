"""From an ONNX file to the IR: load, check, fold constants, infer shapes, map ops."""

from bnncc.frontend.importer import import_model, load_graph
from bnncc.frontend.load import load_model

__all__ = ["import_model", "load_graph", "load_model"]
