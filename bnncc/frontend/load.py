"""Reading ONNX files with errors a user can act on."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from bnncc.errors import ModelLoadError


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Load ``path`` with its external data.

    Raises :class:`ModelLoadError` (one line, naming the file) for a missing file, a file that
    is not ONNX or is truncated, and external data that is missing or too short.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, RuntimeWarning, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path}: not an ONNX model or truncated ({_first_line(exc)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelLoadError(f"{path}: not an ONNX model (no graph nodes found)")
    _load_external_data(model, path)
    _check_initializer_sizes(model, path)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelLoadError(f"{path}: invalid ONNX model ({_first_line(exc)})") from None
    return model


def _load_external_data(model: onnx.ModelProto, path: Path) -> None:
    base = path.parent
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if not onnx.external_data_helper.uses_external_data(tensor):
            continue
        info = onnx.external_data_helper.ExternalDataInfo(tensor)
        location = base / info.location
        if not location.is_file():
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' is stored in external data file '{info.location}', "
                f"which is missing (expected at {location})"
            )
        try:
            onnx.external_data_helper.load_external_data_for_tensor(tensor, str(base))
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{path}: cannot read external data for tensor '{tensor.name}': {_first_line(exc)}") from None
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def _check_initializer_sizes(model: onnx.ModelProto, path: Path) -> None:
    """A truncated file or external-data file shows up as tensors with fewer bytes than their
    shape needs."""
    for tensor in model.graph.initializer:
        try:
            onnx.numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as exc:
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' is truncated or corrupt ({_first_line(exc)})"
            ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
