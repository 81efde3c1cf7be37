"""``bnncc compile``: import, run the pass pipeline, fold, write the design."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bnncc.files import replace_directory, write_text
from bnncc.frontend import load_graph
from bnncc.ir.export import save_ir
from bnncc.ir.graph import Graph
from bnncc.errors import BnnccError, UsageError, stage
from bnncc.passes.apply_folding import ApplyFolding, folding_table
from bnncc.hw.timing import clock_warnings, pipeline_budget
from bnncc.passes.auto_fold import FoldingSpace, fastest_fitting, fits
from bnncc.passes.pipeline import Stage, default_passes, run_pipeline
from bnncc.passes.host_steps import describe_host_steps
from bnncc.targets import DEFAULT_DEVICE, Device, get_device

FOLDING_FILE = "folding.json"


class CompileError(BnnccError):
    """The model cannot be compiled to what was asked (e.g. an unreachable throughput)."""


@dataclass
class CompileResult:
    """The stages a compile went through and the files it wrote."""

    model: str
    stages: list[Stage]
    files: list[str] = field(default_factory=list)
    design: object = None
    report: dict | None = None

    @property
    def final(self) -> Graph:
        return self.stages[-1].graph

    def to_dict(self) -> dict:
        result = {
            "model": self.model,
            "stages": [
                {"name": s.name, "rewrites": len(s.result.notes) if s.result else 0, "operations": s.graph.op_count()}
                for s in self.stages
            ],
            "partition": self.final.metadata.get("partition"),
            "folding": folding_table(self.final),
            "files": self.files,
        }
        if self.design is not None:
            result["bottleneck_cycles"] = self.design.bottleneck_cycles
        return result


@dataclass
class Target:
    """What to build for: a device, a clock, and optionally a throughput in frames per second."""

    fps: float | None = None
    clock_mhz: float = 100.0
    best_effort: bool = False
    device: Device = field(default_factory=lambda: get_device(DEFAULT_DEVICE))

    @property
    def cycles(self) -> int:
        """Cycles per frame the pipeline may take: clock / fps."""
        return int(self.clock_mhz * 1e6 // self.fps)

    def check(self) -> None:
        if not (self.clock_mhz > 0 and self.clock_mhz <= 2000):
            raise UsageError(f"--clock-mhz {self.clock_mhz:g}: expected a clock between 0 and 2000 MHz")
        if self.fps is None:
            return
        if not self.fps > 0:
            raise UsageError(f"--fps {self.fps:g}: expected a positive number of frames per second")
        if not self.fps < float("inf") or self.cycles < 1:
            raise UsageError(
                f"--fps {self.fps:g}: more than one frame per clock cycle at {self.clock_mhz:g} MHz is not possible"
            )


def _need_text(resources, device: Device) -> str:
    over = [(name, getattr(resources, name), limit) for name, limit in device.capacity.items()
            if getattr(resources, name) > limit]
    return ", ".join(f"{name.upper()} {need:.0f} of {limit}" for name, need, limit in over)


def design_resources(graph: Graph, table: dict, device: Device):
    """Estimated resources of the whole design (FIFOs and width converters included) of
    ``graph`` folded by ``table``."""
    from bnncc.backends.report import stage_resources
    from bnncc.backends.verilog import describe_design
    from bnncc.hw.resources import Resources

    folded = ApplyFolding(table, "automatic folding").run(graph).graph
    return sum(stage_resources(describe_design(folded), device.family).values(), Resources())


def choose_folding(graph: Graph, target: Target, log: Callable[[str], None]) -> dict:
    """The folding table for ``target``: the cheapest that meets its cycles per frame and
    fits its device; with ``best_effort`` the fastest fitting one when that is impossible."""
    device = target.device
    space = FoldingSpace(graph, device)

    def design_fits(plan) -> bool:
        return fits(design_resources(graph, plan.table, device), device)

    plan = space.fitting_plan(target.cycles)
    uniform = space.uniform(target.cycles)
    if uniform.met and design_resources(graph, uniform.table, device).lut < design_resources(graph, plan.table, device).lut \
            and design_fits(uniform):
        plan = uniform  # the per-stage choice missed FIFO and width-converter costs the whole design shows
    goal = f"{target.fps:g} FPS at {target.clock_mhz:g} MHz ({target.cycles} cycles per frame)"
    problem = None
    if not plan.met:
        slowest = max(plan.cycles, key=plan.cycles.get)
        problem = (f"cannot reach {goal}: stage '{slowest}' needs {plan.cycles[slowest]} cycles per frame "
                   "at full parallelism")
    elif not fits(plan.resources, device) or not design_fits(plan):
        problem = f"{goal} does not fit {device.name}: estimated {_need_text(design_resources(graph, plan.table, device), device)}"
    if problem is not None:
        best = fastest_fitting(space, design_fits)
        if best is None:
            problem += f"; not even the smallest folding fits {device.name}"
        else:
            problem += f"; best achievable on {device.name} is {target.clock_mhz * 1e6 / best.bottleneck:.1f} FPS"
        if not target.best_effort:
            raise CompileError(problem + " (use --best-effort to build it anyway)")
        log("warning: " + problem)
        plan = best or plan
    log(f"folding for {goal}: bottleneck {plan.bottleneck} cycles per frame "
        f"({target.clock_mhz * 1e6 / plan.bottleneck:.1f} FPS)")
    return plan.table


def build_stages(graph: Graph, folding: dict | None = None, source: str = "--folding",
                 log: Callable[[str], None] = lambda message: None, target: Target | None = None,
                 on_stage: Callable[[Stage], None] = lambda stage: None) -> list[Stage]:
    """The pass pipeline followed by folding: the ``folding`` table (node -> {"PE", "SIMD"})
    if given, else one chosen for ``target``'s FPS, else PE = SIMD = 1. ``on_stage`` sees
    every stage as soon as it exists, so a caller keeps the stages that ran when a later one
    fails."""
    stages = [Stage("import", graph)]
    on_stage(stages[0])
    for step in default_passes():
        with stage(step.name):
            stages.append(run_pipeline(stages[-1].graph, [step], log=log)[-1])
        on_stage(stages[-1])
    with stage("folding"):
        if folding is None and target is not None and target.fps is not None:
            folding, source = choose_folding(stages[-1].graph, target, log), "automatic folding"
        budget = pipeline_budget(target.device.family, target.clock_mhz) if target is not None else None
        family = target.device.family if target is not None else None
        result = ApplyFolding(folding or {}, source, budget, family).run(stages[-1].graph)
    stages.append(Stage("folding", result.graph, result))
    on_stage(stages[-1])
    return stages


def is_build_directory(path: Path) -> bool:
    """True when ``path`` holds a build that ``bnncc compile`` wrote (its design.json or
    report.json), so that a new compile may replace it."""
    return (Path(path) / "design.json").is_file() or (Path(path) / "report.json").is_file()


def is_ir_dump(path: Path) -> bool:
    """True when ``path`` holds only files ``--dump-ir`` writes (``NN_<stage>.onnx``)."""
    return all(entry.is_file() and re.fullmatch(r"\d\d_[\w.-]+\.onnx", entry.name) for entry in Path(path).iterdir())


def _inside(path: Path, directory: Path) -> Path | None:
    """``path`` relative to ``directory`` when it lies inside it, else None."""
    try:
        return Path(path).resolve().relative_to(Path(directory).resolve())
    except ValueError:
        return None


def _write_ir_dump(stages: list[Stage], directory: Path, final: Path) -> list[str]:
    files = []
    for index, step in enumerate(stages):
        name = f"{index:02d}_{step.name}.onnx"
        save_ir(step.graph, directory / name)
        files.append(str(final / name))
    return files


def _write_build(result: CompileResult, work: Path, final: Path, path: Path, target: Target | None,
                 log: Callable[[str], None] = lambda message: None) -> None:
    """Write the design, folding, host steps, final IR and report of ``result`` into
    ``work``; the file names recorded are those under ``final``."""
    from bnncc.backends.report import build_report, report_markdown
    from bnncc.backends.report_svg import report_svg
    from bnncc.backends.verilog import write_design

    with stage("verilog"):
        result.design = write_design(result.final, work)
    result.files.append(str(final / "rtl"))
    clock = target or Target()
    slow = clock_warnings(result.design.links, clock.device.family, clock.clock_mhz)
    if slow:
        more = f" (and {len(slow) - 1} more stage{'s' if len(slow) > 2 else ''})" if len(slow) > 1 else ""
        log("warning: " + slow[0] + more)
    with stage("write"):
        save_ir(result.final, work / "model_hw.onnx")
        write_text(work / FOLDING_FILE, json.dumps(folding_table(result.final), indent=2) + "\n")
        write_text(work / "host_steps.json", json.dumps(describe_host_steps(result.final), indent=2) + "\n")
    with stage("report"):
        target = target or Target()
        report = build_report(result.final, result.design, target.clock_mhz, target.device, target.fps, str(path))
        write_text(work / "report.json", json.dumps(report, indent=2) + "\n")
        write_text(work / "report.md", report_markdown(report))
        write_text(work / "report.svg", report_svg(report))
    result.report = report
    result.files += [str(final / name) for name in ("model_hw.onnx", FOLDING_FILE, "host_steps.json")]
    result.files += [str(final / name) for name in ("report.json", "report.md", "report.svg")]


def compile_model(
    path: Path,
    output: Path | None = None,
    dump_ir: Path | None = None,
    folding: dict | None = None,
    folding_source: str = "--folding",
    log: Callable[[str], None] = lambda message: None,
    target: Target | None = None,
    finish: Callable[[Path, CompileResult], None] | None = None,
    keep: tuple[str, ...] = (),
) -> CompileResult:
    """Compile the model at ``path``: write the Verilog design, the folding, the host steps
    and the final IR into ``output``, and one ONNX file per stage into ``dump_ir``.

    Each directory is written beside its final place and renamed into it only when it is
    complete: a compile that fails leaves neither a half-written ``output`` nor a changed
    earlier one (an existing ``output`` is replaced only when it is a build directory, an
    existing ``dump_ir`` only when it holds nothing but an earlier dump). ``finish(work,
    result)`` runs last, before ``output`` is renamed into place, to add files to the build
    (a bitstream, a Vivado script) within the same all-or-nothing write. ``keep`` names
    entries of an earlier ``output`` to copy into the new one (e.g. a synthesis directory a
    caller reuses when the design did not change); by default nothing is carried over."""
    with stage("import"):
        graph = load_graph(path)
    stages = build_stages(graph, folding, folding_source, log, target)
    result = CompileResult(model=str(path), stages=stages)
    dump_inside = _inside(dump_ir, output) if dump_ir is not None and output is not None else None
    if dump_ir is not None and dump_inside is None:
        with stage("dump-ir"), replace_directory(dump_ir, is_ir_dump, "--dump-ir directory") as work:
            result.files += _write_ir_dump(stages, work, dump_ir)
    if output is not None:
        with replace_directory(output, is_build_directory, "build directory") as work:
            if dump_inside is not None:
                (work / dump_inside).mkdir(parents=True, exist_ok=True)
                with stage("dump-ir"):
                    result.files += _write_ir_dump(stages, work / dump_inside, dump_ir)
            _write_build(result, work, output, path, target, log)
            if finish is not None:
                finish(work, result)
            for name in keep:
                earlier, fresh = output / name, work / name
                if fresh.exists() or not earlier.exists():
                    continue
                if earlier.is_dir():
                    shutil.copytree(earlier, fresh, symlinks=True)
                else:
                    shutil.copy2(earlier, fresh)
        if result.design is not None:
            result.design.directory = output  # renamed into place
    return result


def estimate_model(path: Path, folding: dict | None = None, folding_source: str = "--folding",
                   log: Callable[[str], None] = lambda message: None, target: Target | None = None) -> dict:
    """The report of compiling the model at ``path`` (same folding as ``compile_model``),
    without writing any file."""
    from bnncc.backends.report import build_report
    from bnncc.backends.verilog import describe_design

    target = target or Target()
    with stage("import"):
        graph = load_graph(path)
    stages = build_stages(graph, folding, folding_source, log, target)
    with stage("estimate"):
        design = describe_design(stages[-1].graph)
        return build_report(stages[-1].graph, design, target.clock_mhz, target.device, target.fps, str(path))


def shell_resources(family: str) -> dict[str, int]:
    """Estimated cost of the UART shell around the core (receiver, transmitter, beat
    assembly and a 2048-byte FIFO: one RAMB18 or EBR18K, four iCE40 4 Kbit blocks), from
    Yosys on xc7z020 and ECP5."""
    return {"lut": 160, "ff": 190, "bram": 4 if family == "ice40" else 1, "dsp": 0}


def build_board_bitstream(build: Path, board, report: dict, log: Callable[[str], None], seeds: int = 1) -> Path:
    """Check that the compiled design fits ``board`` (estimate plus the UART shell), then run
    the open flow to a bitstream (up to ``seeds`` placement seeds) and record its Fmax and
    utilization in the report."""
    from bnncc.backends.report import report_markdown
    from bnncc.synth.bitstream import build_bitstream

    device = board.device
    shell = shell_resources(device.family)
    need = {k: report["totals"]["resources"][k] + shell[k] for k in shell}
    over = [f"{k.upper()} {need[k]:.0f} needed, {device.capacity[k]} available" for k in need if need[k] > device.capacity[k]]
    if over:
        raise CompileError(f"the design does not fit the {board.name} ({device.name}): {'; '.join(over)} "
                           "(estimate including the UART shell); lower --fps or pick a larger board")
    result = build_bitstream(build, board, log, seeds=seeds)
    verdict = "met" if result.timing_met else "MISSED"
    log(f"{result.bitstream}: Fmax {result.fmax_mhz:.1f} MHz against {result.clock_mhz:g} MHz requested ({verdict})")
    report["bitstream"] = {"board": board.name, **result.to_dict()}
    report["bitstream"]["bitstream"] = str(result.bitstream.relative_to(build))
    write_text(build / "report.json", json.dumps(report, indent=2) + "\n")
    write_text(build / "report.md", report_markdown(report))
    return result.bitstream
