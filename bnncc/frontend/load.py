"""Reading ONNX files with errors a user can act on."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from bnncc.errors import ModelLoadError
from bnncc.frontend.domains import CUSTOM_DOMAINS, STANDARD_DOMAINS


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Load ``path`` with its external data.

    Raises :class:`ModelLoadError` (one line, naming the file) for a missing file, a file that
    is not ONNX or is truncated, external data that is missing, too short or outside the
    model's directory, opsets newer than the installed onnx knows, and custom domains bnncc
    does not know that have no opset import. The opset imports of bnncc's own custom domains
    that an exporter left out are added (version 1) in memory.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, expected an ONNX file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, RuntimeWarning, ValueError, TypeError, UnicodeDecodeError, OSError) as exc:
        raise ModelLoadError(f"{path}: not an ONNX model or truncated ({_first_line(exc)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelLoadError(f"{path}: not an ONNX model (no graph nodes found)")
    _check_versions(model, path)
    _add_custom_opset_imports(model, path)
    _load_external_data(model, path)
    _check_initializer_sizes(model, path)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path}: invalid ONNX model ({_first_line(exc)})") from None
    return model


def _check_versions(model: onnx.ModelProto, path: Path) -> None:
    """Refuse IR versions and default-domain opsets newer than the installed onnx knows."""
    if model.ir_version > onnx.IR_VERSION:
        raise ModelLoadError(
            f"{path}: IR version {model.ir_version} is newer than the highest this onnx "
            f"{onnx.__version__} knows ({onnx.IR_VERSION})"
        )
    highest = onnx.defs.onnx_opset_version()
    for entry in model.opset_import:
        if entry.domain in STANDARD_DOMAINS and entry.version > highest:
            raise ModelLoadError(
                f"{path}: ONNX opset {entry.version} is newer than the highest this onnx "
                f"{onnx.__version__} knows ({highest})"
            )
        if entry.domain in STANDARD_DOMAINS and entry.version < 1:
            raise ModelLoadError(f"{path}: ONNX opset version {entry.version} is not valid (expected 1..{highest})")


def all_nodes(graph: onnx.GraphProto):
    """Every node of ``graph`` and of its control-flow subgraphs."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for subgraph in attribute.graphs:
                    yield from all_nodes(subgraph)


def _add_custom_opset_imports(model: onnx.ModelProto, path: Path) -> None:
    """Add version-1 imports for bnncc's custom domains that nodes use without an import;
    refuse any other domain used without one."""
    imported = {entry.domain for entry in model.opset_import}
    if not imported & STANDARD_DOMAINS:
        model.opset_import.append(onnx.helper.make_opsetid("", 13))
        imported.add("")
    local_functions = {(f.domain, f.name) for f in model.functions}
    for node in all_nodes(model.graph):
        domain = node.domain
        if domain in imported or (domain, node.op_type) in local_functions:
            continue
        if domain in CUSTOM_DOMAINS:
            model.opset_import.append(onnx.helper.make_opsetid(domain, 1))
            imported.add(domain)
            continue
        raise ModelLoadError(
            f"{path}: node '{node.name or (node.output[0] if node.output else node.op_type)}' "
            f"({node.op_type}) uses domain '{domain}', which the model does not import and bnncc "
            f"does not know (known custom domains: {', '.join(sorted(CUSTOM_DOMAINS))})"
        )


def _load_external_data(model: onnx.ModelProto, path: Path) -> None:
    base = path.parent
    resolved_base = base.resolve()
    for tensor in onnx.external_data_helper._get_all_tensors(model):
        if not onnx.external_data_helper.uses_external_data(tensor):
            continue
        info = onnx.external_data_helper.ExternalDataInfo(tensor)
        if not info.location:
            raise ModelLoadError(f"{path}: tensor '{tensor.name}' is stored as external data without a location")
        if os.path.isabs(info.location) or Path(info.location).drive:
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' names external data by the absolute path "
                f"'{info.location}'; expected a path relative to the model's directory"
            )
        location = base / info.location
        try:
            inside = location.resolve().is_relative_to(resolved_base)
        except (OSError, RuntimeError, ValueError):
            inside = False
        if not inside:
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' names external data '{info.location}', which lies "
                "outside the model's directory"
            )
        if not location.is_file():
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' is stored in external data file '{info.location}', "
                f"which is missing (expected at {location})"
            )
        try:
            onnx.external_data_helper.load_external_data_for_tensor(tensor, str(base))
        except (OSError, ValueError, TypeError, onnx.checker.ValidationError) as exc:
            raise ModelLoadError(f"{path}: cannot read external data for tensor '{tensor.name}': {_first_line(exc)}") from None
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT


def _check_initializer_sizes(model: onnx.ModelProto, path: Path) -> None:
    """A truncated file or external-data file shows up as tensors with fewer bytes than their
    shape needs."""
    for tensor in model.graph.initializer:
        try:
            onnx.numpy_helper.to_array(tensor)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelLoadError(
                f"{path}: tensor '{tensor.name}' is truncated or corrupt ({_first_line(exc)})"
            ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
