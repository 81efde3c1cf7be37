"""Set every hardware stage's folding (PE, SIMD) from a folding table.

The table maps node names to ``{"PE": p, "SIMD": s}`` (either key may be left out; 1 is
the default). A sliding window without an entry takes the largest SIMD that divides both its
channel count and its consumer's SIMD, and a max pool without an entry the largest PE that
divides its channels and its producer's PE, so neighbouring stages need no width converter.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bnncc.errors import BnnccError, UsageError
from bnncc.ir.build import reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.passes.base import Pass

KEYS = ("PE", "SIMD")


def load_folding(path: Path) -> dict[str, dict[str, int]]:
    """Read a folding JSON file, checking its form (not yet the factors)."""
    try:
        table = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"--folding {path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--folding {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(table, dict):
        raise UsageError(f"--folding {path}: expected an object mapping node names to {{\"PE\": p, \"SIMD\": s}}")
    for node, entry in table.items():
        if not isinstance(entry, dict) or set(entry) - set(KEYS):
            raise UsageError(f"--folding {path}: entry '{node}' must be an object with keys PE and/or SIMD")
        for key, value in entry.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"--folding {path}: '{node}' {key}={value!r} is not a positive integer")
    return table


def folding_table(graph: Graph) -> dict[str, dict[str, int]]:
    """The folding of every stage, in the form :func:`load_folding` reads."""
    return {op.name: {"PE": op.pe, "SIMD": op.simd} for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)}


class ApplyFolding(Pass):
    """See the module docstring."""

    name = "folding"

    def __init__(self, table: dict[str, dict[str, int]] | None = None, source: str = "--folding"):
        self.table = table or {}
        self.source = source

    def apply(self, graph: Graph, notes: list[str]) -> None:
        stages = {op.name: op for op in graph.ops() if isinstance(op, hw.HWOp)}
        for node in self.table:
            if node not in stages:
                known = ", ".join(sorted(stages)) or "none"
                raise UsageError(f"{self.source}: '{node}' is not a hardware stage (stages: {known})")
        for name, entry in self.table.items():
            op = stages[name]
            changed = op.clone(pe=entry.get("PE", op.pe), simd=entry.get("SIMD", op.simd))
            self._check(graph, changed)
            graph.replace_op(name, changed)
            notes.append(f"node '{name}': PE={changed.pe}, SIMD={changed.simd}")
        self._couple_windows(graph, notes)
        reinfer(graph)

    def _check(self, graph: Graph, op) -> None:
        try:
            op.infer([graph.tensors[t] for t in op.inputs if t])
        except BnnccError as exc:
            raise UsageError(f"{self.source}: {exc}") from None

    def _couple_windows(self, graph: Graph, notes: list[str]) -> None:
        order = [op for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)]
        for index, op in enumerate(order):
            if op.name in self.table:
                continue
            if isinstance(op, hw.SlidingWindow) and index + 1 < len(order):
                simd = math.gcd(order[index + 1].simd, op.ifm_channels)
                if simd != op.simd:
                    graph.replace_op(op.name, op.clone(simd=simd))
                    notes.append(f"node '{op.name}': SIMD={simd} to match '{order[index + 1].name}'")
            if isinstance(op, hw.StreamingMaxPool) and index > 0:
                pe = math.gcd(_beat_elems(order[index - 1]), op.ifm_channels)
                if pe != op.pe:
                    graph.replace_op(op.name, op.clone(pe=pe))
                    notes.append(f"node '{op.name}': PE={pe} to match '{order[index - 1].name}'")


def _beat_elems(op) -> int:
    """Elements per output beat of a stage."""
    if isinstance(op, hw.SlidingWindow):
        return op.simd
    return op.pe
