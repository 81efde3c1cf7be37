"""Set every hardware stage's folding (PE, SIMD) from a folding table.

The table maps node names to ``{"PE": p, "SIMD": s}`` (either key may be left out; 1 is
the default); an MVAU entry may add ``"DSP": kind`` (one of ``hw.DSP_KINDS``, or "" for LUT
arithmetic) to compute its products on DSP multipliers of that kind, ``"LEVELS": n`` (the LUT
levels its dot products may take between registers, ``MVAU.max_levels``), ``"TREE_LEVELS": n``
(the adder-tree levels among them, ``MVAU.max_tree_levels``) and
``"REGISTER_READS": true`` (its memory reads registered once more); a sliding window's or
an upsample's entry may add ``"REGISTER_READS"`` too (its line buffer read registered once
more). With a pipeline budget (:func:`bnncc.hw.timing.pipeline_budget`, from the clock and
the device family) every MVAU whose entry does not say takes the budget's levels and
register_reads, and every sliding window and upsample the budget's register_reads. A stage without an entry whose registry entry couples it to a neighbour takes
the folding its ``couple`` gives for that neighbour's beat (the neighbour found through the
IR graph's producer and consumers of tensors): a sliding window the largest SIMD that
divides both its channel count and its consumer's input beat, a max pool the largest PE that
divides its channels and its producer's output beat, so neighbouring stages need no width
converter.

FIFOs: the entry :data:`FIFO_ENTRY` (``{"REGISTER_READS": true, "FAMILY": family}``), or
without it a budget whose register_reads is set (with the device ``family`` the pass is
given), says that the design's FIFOs whose storage maps to block RAM on that family read it
through two registers (``stream_fifo`` READ_REG 1, chosen per FIFO by the backend once FIFO
sizing has given the depths); the pass records the family on the graph
(``graph.metadata[FIFO_READS]``), and :func:`folding_table` writes the entry back, so a build's
folding.json rebuilds the same FIFOs without the clock.
"""

from __future__ import annotations

import json
from pathlib import Path

from bnncc.errors import BnnccError, UsageError
from bnncc.hw.describe import neighbours
from bnncc.hw.registry import for_op
from bnncc.hw.timing import MAX_LEVELS, PipelineBudget
from bnncc.ir.build import reinfer
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.ir.ops.upsample import Upsample
from bnncc.passes.base import Pass

KEYS = ("PE", "SIMD", "DSP", "LEVELS", "TREE_LEVELS", "REGISTER_READS")
#: The folding table's entry for the design's FIFOs (not a node), and its keys.
FIFO_ENTRY = "stream_fifo"
FIFO_KEYS = ("REGISTER_READS", "FAMILY")
#: Graph metadata: the family on which block RAM FIFOs read through two registers (absent: none).
FIFO_READS = "fifo_register_reads"


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
        if node == FIFO_ENTRY:
            _check_fifo_entry(path, entry)
            continue
        if not isinstance(entry, dict) or set(entry) - set(KEYS):
            raise UsageError(f"--folding {path}: entry '{node}' must be an object with keys PE and/or SIMD "
                                  "(and DSP, LEVELS, TREE_LEVELS, REGISTER_READS)")
        for key, value in entry.items():
            if key == "DSP":
                if value not in ("", *hw.DSP_KINDS):
                    raise UsageError(f"--folding {path}: '{node}' DSP={value!r} is not one of "
                                     f"{', '.join(repr(k) for k in ('', *hw.DSP_KINDS))}")
                continue
            if key == "REGISTER_READS":
                if not isinstance(value, bool):
                    raise UsageError(f"--folding {path}: '{node}' REGISTER_READS={value!r} is not true or false")
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"--folding {path}: '{node}' {key}={value!r} is not a positive integer")
    return table


def _check_fifo_entry(path: Path, entry) -> None:
    from bnncc.hw.memory_map import LIBRARIES

    if not isinstance(entry, dict) or set(entry) - set(FIFO_KEYS) or not isinstance(entry.get("REGISTER_READS"), bool):
        raise UsageError(f"--folding {path}: entry '{FIFO_ENTRY}' must be an object with REGISTER_READS "
                         f"(true or false) and FAMILY, found {entry!r}")
    if entry["REGISTER_READS"] and entry.get("FAMILY") not in LIBRARIES:
        raise UsageError(f"--folding {path}: '{FIFO_ENTRY}' FAMILY={entry.get('FAMILY')!r} is not one of "
                         f"{', '.join(repr(f) for f in LIBRARIES)}")


def folding_table(graph: Graph) -> dict[str, dict[str, int]]:
    """The folding of every stage, in the form :func:`load_folding` reads (the MVAU's DSP,
    LEVELS and REGISTER_READS where they are not the defaults), and the FIFOs' entry when
    their reads are registered."""
    table = {op.name: {"PE": op.pe, "SIMD": op.simd, **_mvau_entry(op), **_window_entry(op)}
             for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)}
    family = graph.metadata.get(FIFO_READS)
    if family:
        table[FIFO_ENTRY] = {"REGISTER_READS": True, "FAMILY": family}
    return table


#: stages with a line buffer whose read may be registered once more (``register_reads``)
LINE_BUFFER_OPS = (hw.SlidingWindow, Upsample)


def _window_entry(op) -> dict:
    """A line buffer stage's REGISTER_READS when it is set (so that the entry reproduces it
    under any budget)."""
    return {"REGISTER_READS": True} if isinstance(op, LINE_BUFFER_OPS) and op.register_reads else {}


def _mvau_entry(op) -> dict:
    """An MVAU's DSP kind, and its pipeline (both keys, so that the entry reproduces it under
    any budget) unless it is the default one."""
    if not isinstance(op, hw.MVAU):
        return {}
    pipeline = {"LEVELS": op.max_levels or MAX_LEVELS, "REGISTER_READS": op.register_reads} \
        if op.max_levels or op.register_reads else {}
    tree = {"TREE_LEVELS": op.max_tree_levels} if op.max_tree_levels else {}
    return {**({"DSP": op.dsp} if op.dsp else {}), **pipeline, **tree}


#: table keys of MVAU-only choices, and the MVAU field each sets
MVAU_KEYS = {"DSP": "dsp", "LEVELS": "max_levels", "TREE_LEVELS": "max_tree_levels", "REGISTER_READS": "register_reads"}
#: of these, the keys a line buffer stage (LINE_BUFFER_OPS) takes as well
WINDOW_KEYS = ("REGISTER_READS",)


class ApplyFolding(Pass):
    """See the module docstring."""

    name = "folding"

    def __init__(self, table: dict[str, dict[str, int]] | None = None, source: str = "--folding",
                 budget: PipelineBudget | None = None, family: str | None = None):
        table = dict(table or {})
        self.fifos = table.pop(FIFO_ENTRY, None)
        self.table = table
        self.source = source
        self.budget = budget
        self.family = family

    def apply(self, graph: Graph, notes: list[str]) -> None:
        self._fifo_reads(graph, notes)
        stages = {op.name: op for op in graph.ops() if isinstance(op, hw.HWOp)}
        for node in self.table:
            if node not in stages:
                known = ", ".join(sorted(stages)) or "none"
                raise UsageError(f"{self.source}: '{node}' is not a hardware stage (stages: {known})")
        for name, entry in self.table.items():
            op = stages[name]
            extra = {}
            for key, field_name in MVAU_KEYS.items():
                if key in entry:
                    if not (isinstance(op, hw.MVAU) or (isinstance(op, LINE_BUFFER_OPS) and key in WINDOW_KEYS)):
                        allowed = "MVAU, SlidingWindow and Upsample stages" if key in WINDOW_KEYS else "MVAU stages"
                        raise UsageError(f"{self.source}: '{name}' {key} applies to {allowed} only, "
                                         f"not {type(op).__name__}")
                    extra[field_name] = entry[key]
            changed = op.clone(pe=entry.get("PE", op.pe), simd=entry.get("SIMD", op.simd), **extra)
            self._check(graph, changed)
            graph.replace_op(name, changed)
            notes.append(f"node '{name}': PE={changed.pe}, SIMD={changed.simd}"
                         + "".join(f", {key}={value}" for key, value in
                                   {**_mvau_entry(changed), **_window_entry(changed)}.items()))
        if self.budget is not None:
            self._pipeline(graph, notes)
        self._couple_windows(graph, notes)
        reinfer(graph)

    def _fifo_reads(self, graph: Graph, notes: list[str]) -> None:
        """The family whose block RAM FIFOs read through two registers: the table's entry,
        else the budget's register_reads on the pass's family, else none."""
        if self.fifos is not None:
            family = self.fifos.get("FAMILY") if self.fifos.get("REGISTER_READS") else None
        elif self.budget is not None and self.budget.register_reads and self.family:
            family = self.family
        else:
            family = None
        if family:
            graph.metadata[FIFO_READS] = family
            notes.append(f"FIFOs in block RAM on {family}: reads registered twice")
        else:
            graph.metadata.pop(FIFO_READS, None)

    def _pipeline(self, graph: Graph, notes: list[str]) -> None:
        """The budget's levels and register_reads on every MVAU whose entry does not set them
        (the defaults, 0 and False, where the budget is the default one), its chain levels as
        the tree levels of every XNOR-popcount MVAU (0 where they are its LUT levels), and its
        register_reads on every sliding window and upsample whose entry does not set it."""
        for op in [op for op in graph.ops() if isinstance(op, hw.MVAU)]:
            entry = self.table.get(op.name, {})
            # multi-bit dot products are carry-chain adders (chain_levels), popcounts LUT levels
            budget = self.budget.levels if op.binary_xnor else self.budget.chain_levels
            levels = 0 if budget == MAX_LEVELS else budget
            # a popcount's tree adders are carry chains as wide as its sums: chain levels
            tree = self.budget.chain_levels if op.binary_xnor and self.budget.chain_levels < self.budget.levels else 0
            changes = {}
            if "LEVELS" not in entry and op.max_levels != levels:
                changes["max_levels"] = levels
            if "TREE_LEVELS" not in entry and op.max_tree_levels != tree:
                changes["max_tree_levels"] = tree
            if "REGISTER_READS" not in entry and op.register_reads != self.budget.register_reads:
                changes["register_reads"] = self.budget.register_reads
            if changes:
                graph.replace_op(op.name, op.clone(**changes))
                notes.append(f"node '{op.name}': pipeline for {budget} LUT levels"
                             + (f", {tree} adder-tree levels" if tree else "")
                             + (", memory reads registered" if self.budget.register_reads else ""))
        for op in [op for op in graph.ops() if isinstance(op, LINE_BUFFER_OPS)]:
            if "REGISTER_READS" not in self.table.get(op.name, {}) and op.register_reads != self.budget.register_reads:
                graph.replace_op(op.name, op.clone(register_reads=self.budget.register_reads))
                notes.append(f"node '{op.name}': line buffer reads "
                             + ("registered" if self.budget.register_reads else "not registered"))

    def _check(self, graph: Graph, op) -> None:
        try:
            op.infer([graph.tensors[t] for t in op.inputs if t])
        except BnnccError as exc:
            raise UsageError(f"{self.source}: {exc}") from None

    def _couple_windows(self, graph: Graph, notes: list[str]) -> None:
        order = [op.name for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)]
        for name in order:
            op = graph.op(name)
            entry = for_op(op)
            if name in self.table or not entry.coupling:
                continue
            found = neighbours(graph, op, entry.coupling)
            if len(found) != 1:
                continue
            other = found[0]
            elems = for_op(other).beat_elems(other)[0 if entry.coupling == "consumer" else 1]
            changed = op.clone(**entry.couple(op, elems))
            if (changed.pe, changed.simd) != (op.pe, op.simd):
                graph.replace_op(name, changed)
                key, value = ("SIMD", changed.simd) if changed.simd != op.simd else ("PE", changed.pe)
                notes.append(f"node '{name}': {key}={value} to match '{other.name}'")
