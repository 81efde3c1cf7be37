"""What every pass is: a function from a graph to a new graph, saying what it changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from bnncc.ir.graph import Graph


@dataclass
class PassResult:
    """The graph a pass produced, whether anything changed, and one note per rewrite
    (``"node 'x': BatchNorm folded into thresholds"``) for logs and tests."""

    graph: Graph
    changed: bool
    notes: list[str] = field(default_factory=list)


class Pass:
    """A graph transformation. :meth:`run` never modifies its argument."""

    #: Short name used in logs, ``--dump-ir`` file names and verification tables.
    name: ClassVar[str] = "pass"

    def run(self, graph: Graph) -> PassResult:
        work = graph.copy()
        notes: list[str] = []
        self.apply(work, notes)
        work.prune()
        return PassResult(work, bool(notes), notes)

    def apply(self, graph: Graph, notes: list[str]) -> None:
        """Rewrite ``graph`` in place, appending a note per rewrite."""
        raise NotImplementedError
