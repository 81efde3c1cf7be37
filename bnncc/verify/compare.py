"""Compare onnxruntime on the original model with the executor on the IR, in the integer
domain.

The compared tensors are every quantizer output of the IR (integer codes, which the reference
exposes under the same names) and the graph outputs. A sample is

* *exact* when every compared integer tensor is equal and every real output agrees to
  float precision;
* *tie-only* when the differences are all explained by rounding ties: the first differing
  tensor differs by one step only where its decision variable sits on a boundary (within
  :data:`TIE_TOLERANCE` code units), and after adopting the reference's choice at those
  elements everything downstream agrees;
* a *mismatch* otherwise.

A tie is recognized where the real-valued decision variable is still there, in the IR as
imported. Later passes make the decision on an integer (``acc >= T`` with an integer
threshold ``T``), where a value that was exactly on the real boundary is a whole step from
``T``, not at distance 0. So the stages share what was certified: an element that an earlier
stage accepted as a tie, with the same code it has now, is a tie in every later stage
(:attr:`Comparison.ties`). A later stage that computes a different code there, or differs
anywhere else, still mismatches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from bnncc.executor import Executor
from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer
from bnncc.datatype import BIPOLAR

#: Largest distance (in code units of the decision variable) from a rounding or threshold
#: boundary at which two engines may legitimately decide differently.
TIE_TOLERANCE = 1e-3
#: Relative and absolute tolerance on real-valued outputs.
FLOAT_RTOL = 1e-4
FLOAT_ATOL = 1e-5


@dataclass
class StageReport:
    """Agreement of one stage (the IR after one pass) with the reference."""

    stage: str
    samples: int = 0
    exact: int = 0
    ties: int = 0
    mismatches: int = 0
    max_abs_error: float = 0.0
    compared_tensors: int = 0
    first_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Comparison:
    """Reference values of the compared tensors for a batch of inputs, and the ties certified
    so far: per tensor, the code bnncc computed at each element accepted as a tie (NaN
    elsewhere)."""

    inputs: dict[str, np.ndarray]
    reference: dict[str, np.ndarray]
    ties: dict[str, np.ndarray] = field(default_factory=dict)
    samples: int = field(init=False)

    def __post_init__(self):
        self.samples = int(next(iter(self.inputs.values())).shape[0])


def quantizer_outputs(graph: Graph) -> list[str]:
    """Integer tensors written by quantizers, in topological order."""
    return [op.outputs[0] for op in graph.ops() if isinstance(op, Quantizer)]


def compare_stage(stage: str, graph: Graph, comparison: Comparison) -> StageReport:
    """Run ``graph`` on the comparison's inputs and classify every sample."""
    checker = _StageChecker(graph, comparison)
    return checker.run(stage)


def _step(op, graph: Graph) -> int:
    """Largest code distance between the two decisions on either side of a boundary: 2 for
    a bipolar code (-1 / +1), 2 for rounding away from zero (``UP``: an exact 0 gives 0, a
    hair either side -1 or +1), else 1."""
    if graph.tensors[op.outputs[0]].dtype == BIPOLAR or getattr(op, "rounding_mode", None) == "UP":
        return 2
    return 1


def _alias_view(array: np.ndarray, entry: Mapping) -> np.ndarray:
    """``array`` as the alias ``entry`` rearranges it (a permutation, a gather of the last axis,
    or a reshape of the axes after the batch)."""
    if "shape" in entry:
        return array.reshape(array.shape[:1] + tuple(entry["shape"]))
    if "perm" in entry:
        return np.transpose(array, entry["perm"])
    return np.take(array, entry["order"], axis=-1)


def aliased_reference(graph: Graph, reference: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The reference extended by tensors that passes renamed and rearranged (recorded in
    ``graph.metadata["aliases"]``, e.g. NHWC versions of NCHW tensors)."""
    extended = dict(reference)
    for name, entry in graph.metadata.get("aliases", {}).items():
        original = extended.get(entry["tensor"])
        if original is None or name in extended:
            continue
        extended[name] = _alias_view(original, entry)
    return extended


def aliased_ties(graph: Graph, ties: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Certified ties under the tensor names of ``graph``: an alias holds the ties certified
    under its own name and those of the tensor it rearranges."""
    merged = dict(ties)
    for name, entry in graph.metadata.get("aliases", {}).items():
        original = ties.get(entry["tensor"])
        if original is None:
            continue
        view = _alias_view(original, entry)
        merged[name] = view if name not in merged else np.where(np.isnan(merged[name]), view, merged[name])
    return merged


class _StageChecker:
    def __init__(self, graph: Graph, comparison: Comparison):
        self.graph = graph
        self.shared = comparison
        self.comparison = Comparison(comparison.inputs, aliased_reference(graph, comparison.reference))
        self.known_ties = aliased_ties(graph, comparison.ties)
        self.executor = Executor(graph)
        reference = self.comparison.reference
        producers = {op.outputs[0]: op for op in graph.ops() if isinstance(op, Quantizer)}
        self.quantizers = {t: producers[t] for t in quantizer_outputs(graph) if t in reference}
        self.integer_outputs = [
            t for t in graph.outputs if graph.tensors[t].dtype.is_integer and t in reference and t not in self.quantizers
        ]
        self.float_outputs = [t for t in graph.outputs if not graph.tensors[t].dtype.is_integer and t in reference]
        # constants (weights, thresholds) are read from the graph, never sliced per sample
        self.keep = set(self.quantizers) | {
            t for op in self.quantizers.values() for t in op.inputs if t and graph.tensors[t].value is None
        }

    def run(self, stage: str) -> StageReport:
        report = StageReport(stage, samples=self.comparison.samples)
        report.compared_tensors = len(self.quantizers) + len(self.integer_outputs) + len(self.float_outputs)
        values = self.executor.run(self.comparison.inputs, keep=self.keep)
        for sample in range(self.comparison.samples):
            verdict, error, detail = self._classify(sample, values)
            report.max_abs_error = max(report.max_abs_error, error)
            if verdict == "exact":
                report.exact += 1
            elif verdict == "tie":
                report.ties += 1
            else:
                report.mismatches += 1
                if report.first_mismatch is None:
                    report.first_mismatch = f"sample {sample}: {detail}"
        return report

    def _classify(self, sample: int, values: Mapping[str, np.ndarray]):
        """Return (verdict, max abs float error, detail) for one sample."""
        reference = {name: array[sample : sample + 1] for name, array in self.comparison.reference.items()}
        current = {name: array[sample : sample + 1] for name, array in values.items()}
        overrides: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for _ in range(len(self.quantizers) + 1):
            differing = self._first_difference(current, reference)
            if differing is None:
                break
            tensor, mask = differing
            op = self.quantizers.get(tensor)
            if op is None:
                return "mismatch", self._float_error(current, reference), self._describe(tensor, mask, current, reference)
            if self._is_tie(op, mask, current, reference):
                self._certify(sample, tensor, mask, current[tensor])
            elif not self._is_known_tie(sample, tensor, mask, current[tensor]):
                return "mismatch", self._float_error(current, reference), self._describe(tensor, mask, current, reference)
            overrides[tensor] = (mask, reference[tensor].astype(np.int64))
            inputs = {name: array[sample : sample + 1] for name, array in self.comparison.inputs.items()}
            current = self.executor.run(inputs, keep=self.keep, overrides=overrides)
        error = self._float_error(current, reference)
        for tensor in self.float_outputs:
            if not np.allclose(current[tensor], reference[tensor], rtol=FLOAT_RTOL, atol=self._atol(reference[tensor])):
                mask = ~np.isclose(current[tensor], reference[tensor], rtol=FLOAT_RTOL, atol=self._atol(reference[tensor]))
                return "mismatch", error, self._describe(tensor, mask, current, reference)
        return ("tie" if overrides else "exact"), error, None

    def _first_difference(self, current, reference):
        for tensor in list(self.quantizers) + self.integer_outputs:
            mask = current[tensor] != reference[tensor]
            if np.any(mask):
                return tensor, mask
        return None

    def _is_tie(self, op, mask, current, reference) -> bool:
        args = [current[t] if t in current else self.graph.constant(t) for t in op.inputs if t]
        distance = op.boundary_distance(*args)
        tensor = op.outputs[0]
        step_ok = np.abs(current[tensor][mask].astype(np.int64) - reference[tensor][mask].astype(np.int64)) <= _step(op, self.graph)
        return bool(np.all(distance[mask] <= TIE_TOLERANCE) and np.all(step_ok))

    def _certify(self, sample: int, tensor: str, mask: np.ndarray, codes: np.ndarray) -> None:
        """Remember bnncc's code at the tie elements of ``sample`` for the later stages."""
        ties = self.shared.ties.get(tensor)
        if ties is None:
            ties = self.shared.ties[tensor] = np.full(self.comparison.reference[tensor].shape, np.nan)
        ties[sample][mask[0]] = codes[0][mask[0]]

    def _is_known_tie(self, sample: int, tensor: str, mask: np.ndarray, codes: np.ndarray) -> bool:
        """Every differing element was certified as a tie by an earlier stage, with this code."""
        known = self.known_ties.get(tensor)
        if known is None:
            return False
        return bool(np.all(known[sample][mask[0]] == codes[0][mask[0]]))

    @staticmethod
    def _atol(reference: np.ndarray) -> float:
        return FLOAT_ATOL * max(1.0, float(np.max(np.abs(reference), initial=0.0)))

    def _float_error(self, current, reference) -> float:
        errors = [float(np.max(np.abs(current[t] - reference[t]), initial=0.0)) for t in self.float_outputs]
        return max(errors, default=0.0)

    def _describe(self, tensor, mask, current, reference) -> str:
        index = tuple(int(i) for i in np.argwhere(mask)[0])
        count = int(np.count_nonzero(mask))
        producer = self.graph.producer(tensor)
        where = f" (node '{producer.name}')" if producer is not None else ""
        return (
            f"tensor '{tensor}'{where} differs at {count} element(s), first at {index[1:]}: "
            f"bnncc {current[tensor][index]}, onnxruntime {reference[tensor][index]}"
        )


def all_ok(reports: Sequence[StageReport]) -> bool:
    """True when no stage has a real mismatch."""
    return all(report.ok for report in reports)


def verify_stages(
    stages: Sequence[tuple[str, Graph]],
    inputs: dict[str, np.ndarray],
    reference: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
) -> list[StageReport]:
    """Compare every ``(name, graph)`` stage with ``reference(inputs)``."""
    comparison = Comparison(inputs, reference(inputs))
    return [compare_stage(name, graph, comparison) for name, graph in stages]
