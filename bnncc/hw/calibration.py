"""What the calibration grids of the registry entries share (``calibration_grid`` of
:class:`bnncc.hw.registry.ModuleSpec`, run by ``benchmarks/calibrate_estimates.py``).

A grid point is a dict ``{"name": str, "parameters": {...}, "memories": {file: text}}``:
one instance synthesized on its own; ``memories`` maps the file names its parameters name to
the files' text (random contents, written as the Verilog backend writes them)."""

from __future__ import annotations

import zlib

import numpy as np

#: Seed of every random memory of the grids (with the point's name).
SEED = 20250321


def point(name: str, parameters: dict, memories: dict | None = None) -> dict:
    """A grid point named ``grid/<name>``."""
    return {"name": f"grid/{name}", "parameters": parameters, "memories": memories or {}}


def rng(name: str) -> np.random.Generator:
    """The random generator of the point ``name`` (same contents on every run)."""
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def values(bits: int, signed: bool, bipolar: bool) -> np.ndarray:
    """Every value of an element type."""
    if bipolar:
        return np.array([-1, 1])
    return np.arange(-(1 << (bits - 1)), 1 << (bits - 1)) if signed else np.arange(0, 1 << bits)


def mem_text(words: list[int], width: int) -> str:
    """``words`` as a ``$readmemh`` file."""
    digits = max(1, (width + 3) // 4)
    return "".join(f"{int(w):0{digits}x}\n" for w in words)
