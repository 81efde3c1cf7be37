"""``bnncc verify``: load a model, build its stages, run the reference, compare, report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bnncc.frontend.importer import import_model
from bnncc.frontend.load import load_model
from bnncc.ir.graph import Graph
from bnncc.ir.op import Quantizer
from bnncc.naming import CODE_SUFFIX
from bnncc.compile import FOLDING_FILE, build_stages
from bnncc import errors
from bnncc.passes.apply_folding import load_folding
from bnncc.reference.runner import ReferenceRunner
from bnncc.verify.compare import Comparison, StageReport, compare_stage
from bnncc.verify.inputs import load_inputs, random_inputs

COLUMNS = ("stage", "samples", "exact", "tie-only", "mismatch", "max |err|", "tensors")


@dataclass
class VerifyResult:
    """Per-stage agreement of one model with onnxruntime."""

    model: str
    samples: int
    stages: list[StageReport] = field(default_factory=list)
    rtl: object = None

    @property
    def ok(self) -> bool:
        return all(stage.ok for stage in self.stages) and (self.rtl is None or self.rtl.ok)

    def summary(self) -> str:
        mismatches = sum(stage.mismatches for stage in self.stages)
        ties = max((stage.ties for stage in self.stages), default=0)
        text = f"{self.model}: {self.samples} samples, {len(self.stages)} stage(s), {mismatches} mismatch(es)"
        if ties:
            text += f", up to {ties} tie-only sample(s) per stage"
        return text

    def table(self) -> str:
        rows = [COLUMNS] + [
            (
                stage.stage, str(stage.samples), str(stage.exact), str(stage.ties), str(stage.mismatches),
                f"{stage.max_abs_error:.3g}", str(stage.compared_tensors),
            )
            for stage in self.stages
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        if self.rtl is not None:
            r = self.rtl
            lines.append(f"{'rtl'.ljust(widths[0])}  " + "  ".join(
                str(v).rjust(w) for v, w in zip((r.samples, r.exact, 0, r.mismatches, "-", "-"), widths[1:])))
        for stage in self.stages:
            if stage.first_mismatch:
                lines.append(f"first mismatch in stage '{stage.stage}': {stage.first_mismatch}")
        if self.rtl is not None:
            r = self.rtl
            if r.first_mismatch:
                lines.append(f"first RTL mismatch: {r.first_mismatch}")
            lines.append(
                f"RTL ({r.in_stall_percent} % input gaps, {r.out_stall_percent} % output back-pressure): "
                f"initiation interval {r.measured_ii_cycles:g} cycles per frame measured, "
                f"{r.analytical_ii_cycles} analytical (slowest stage); first-frame latency {r.first_frame_latency_cycles} cycles"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "samples": self.samples,
            "ok": self.ok,
            "stages": [stage.to_dict() for stage in self.stages],
            "rtl": None if self.rtl is None else self.rtl.to_dict(),
        }


def reference_outputs(model, graphs) -> list[str]:
    """Extra tensors the reference must expose: quantizer outputs of any stage that are
    ordinary tensors of the ONNX model (QuantizeLinear, a narrowing Clip), as opposed to the
    code tensors the rewrite creates."""
    onnx_tensors = {name for node in model.graph.node for name in node.output}
    wanted = []
    for graph in graphs:
        for op in graph.ops():
            tensor = op.outputs[0]
            if isinstance(op, Quantizer) and tensor in onnx_tensors and not tensor.endswith(CODE_SUFFIX):
                if tensor not in wanted:
                    wanted.append(tensor)
    return wanted


def model_stages(graph: Graph, folding: dict | None = None, log=lambda message: None,
                 on_stage: Callable[[tuple[str, Graph]], None] = lambda stage: None) -> list[tuple[str, Graph]]:
    """The IR after import, after every pass of the pipeline and after folding; ``on_stage``
    sees each as soon as it exists."""
    return [(s.name, s.graph) for s in build_stages(graph, folding, str(FOLDING_FILE), log=log,
                                                     on_stage=lambda s: on_stage((s.name, s.graph)))]


#: Attribute under which :func:`verify_model` leaves what it verified on the exception that
#: stopped it.
PARTIAL_ATTRIBUTE = "bnncc_verify_result"


def partial_result(exc: BaseException) -> VerifyResult | None:
    """The stages verified before ``exc`` stopped :func:`verify_model`, if it did."""
    return getattr(exc, PARTIAL_ATTRIBUTE, None)


def _attach(exc: BaseException, result: VerifyResult) -> None:
    try:
        setattr(exc, PARTIAL_ATTRIBUTE, result)
    except AttributeError:  # an exception type that refuses new attributes
        pass


def verify_model(
    path: Path,
    samples: int = 100,
    input_file: Path | None = None,
    seed: int = 0,
    value_range: tuple[float, float] = (-1.0, 1.0),
    build_dir: Path | None = None,
    stall: int = 30,
    log: Callable[[str], None] = lambda message: None,
) -> VerifyResult:
    """Verify the model at ``path`` on ``samples`` random inputs (or those in ``input_file``);
    with ``build_dir``, also the RTL compiled there.

    When a pass, a comparison or the simulation fails, the stages that ran are still
    compared, and the exception carries that partial :class:`VerifyResult` (read it with
    :func:`partial_result`) so that the caller can show the evidence before the error."""
    with errors.stage("import"):
        model = load_model(path)
        graph = import_model(model, source=str(path))
    log(f"imported {path}: {sum(graph.op_count().values())} operations")
    with errors.stage("inputs"):
        if input_file is not None:
            inputs = load_inputs(input_file, graph)
        else:
            inputs = random_inputs(graph, samples, seed, *value_range)
    count = next(iter(inputs.values())).shape[0]
    result = VerifyResult(model=str(path), samples=int(count))
    try:
        folding = load_folding(build_dir / FOLDING_FILE) if build_dir is not None and (build_dir / FOLDING_FILE).exists() \
            else None
        stages: list[tuple[str, Graph]] = []
        failure = None
        try:
            model_stages(graph, folding, log=log, on_stage=stages.append)
        except Exception as exc:  # compare what ran, then raise it
            failure = exc
        try:
            with errors.stage("reference"):
                reference = ReferenceRunner(model, extra_outputs=reference_outputs(model, [g for _, g in stages]))
                comparison = Comparison(inputs, reference.run(inputs))
            for name, stage_graph in stages:
                with errors.stage(f"comparison after {name}"):
                    result.stages.append(compare_stage(name, stage_graph, comparison))
        except Exception:
            if failure is None:
                raise
        if failure is not None:
            raise failure
        if build_dir is not None:
            from bnncc.verify.rtl import load_design, verify_rtl

            with errors.stage("simulate"):
                design = load_design(stages[-1][1], build_dir)
                log(f"simulating {build_dir} in Verilator ({stall} % stalls on both sides)")
                result.rtl = verify_rtl(stages[-1][1], design, inputs, seed=seed + 1, in_stall=stall, out_stall=stall)
    except Exception as exc:
        _attach(exc, result)
        raise
    return result
