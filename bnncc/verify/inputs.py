"""Inputs for verification: random batches, or arrays from a user's .npy/.npz file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bnncc.datatype import BIPOLAR
from bnncc.errors import UsageError
from bnncc.ir.graph import Graph


def random_inputs(graph: Graph, samples: int, seed: int, low: float, high: float) -> dict[str, np.ndarray]:
    """Random batches for every graph input: uniform integers over an integer input's type,
    uniform reals in ``[low, high)`` otherwise (float32, as a user would feed them)."""
    if not low < high:
        raise UsageError(f"--range: LOW must be below HIGH, got {low:g} {high:g}")
    rng = np.random.default_rng(seed)
    inputs = {}
    for name in graph.inputs:
        info = graph.tensors[name]
        shape = (samples,) + tuple(info.shape[1:])
        if info.dtype == BIPOLAR:
            values = rng.choice([-1.0, 1.0], size=shape)
        elif info.dtype.is_integer:
            values = rng.integers(int(info.dtype.min), int(info.dtype.max), size=shape, endpoint=True)
        else:
            values = rng.uniform(low, high, size=shape)
        inputs[name] = values.astype(np.float32)
    return inputs


def load_inputs(path: Path, graph: Graph) -> dict[str, np.ndarray]:
    """Read ``--input``: a .npy for a single-input model or a .npz keyed by input name.

    Each array is batch-first and shaped like the model input apart from the batch size; a
    single sample may leave out the batch axis.
    """
    if not path.is_file():
        raise UsageError(f"--input {path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--input {path}: not a .npy or .npz file ({exc})") from None
    if isinstance(loaded, np.ndarray):
        if len(graph.inputs) != 1:
            raise UsageError(f"--input {path}: the model has inputs {graph.inputs}; give a .npz keyed by name")
        arrays = {graph.inputs[0]: loaded}
    else:
        arrays = {name: loaded[name] for name in loaded.files}
        missing = [name for name in graph.inputs if name not in arrays]
        if missing:
            raise UsageError(f"--input {path}: missing array(s) for input(s) {missing}")
    return {name: _batched(path, name, np.asarray(arrays[name]), graph) for name in graph.inputs}


def _batched(path: Path, name: str, array: np.ndarray, graph: Graph) -> np.ndarray:
    expected = tuple(graph.tensors[name].shape[1:])
    if tuple(array.shape) == expected:
        array = array[None]
    if array.ndim != len(expected) + 1 or tuple(array.shape[1:]) != expected or array.shape[0] == 0:
        shown = "(N, " + ", ".join(str(d) for d in expected) + ")"
        raise UsageError(f"--input {path}: array of shape {tuple(array.shape)} does not fit input '{name}' {shown}")
    if array.dtype.kind not in "biuf":
        raise UsageError(f"--input {path}: array for '{name}' has non-numeric type {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"--input {path}: array for '{name}' contains NaN or infinity")
    return array.astype(np.float32)
