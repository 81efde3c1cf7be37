"""The checks one random graph must pass, and the names of the ways it can fail.

1. ``passes``: onnxruntime on bnncc's rewrite of the model equals bnncc's executor after
   import and after every pass (:func:`bnncc.verify.verify_model` without a build directory);
   samples that differ only on a rounding tie are counted apart and do not fail.
2. ``rtl`` (optional): the model compiles (:func:`bnncc.compile.compile_model`), the generated
   Verilog lints clean under ``verilator --lint-only -Wall``, and Verilator under random stalls
   on both stream sides equals the executor on every sample.

A failure is summarised by a *category*: where it happened and the message with names and
numbers blanked out, so that one bug found by many graphs counts once.
"""

from __future__ import annotations

import re
import subprocess
import traceback
from dataclasses import dataclass
from pathlib import Path

import onnx

from bnncc.errors import BnnccError, UnsupportedModelError
from graphs.build import build_model
from graphs.spec import GraphSpec


@dataclass
class Outcome:
    """What happened to one graph. ``ok`` is False on any failure (a refusal included: the
    generator draws only features bnncc claims)."""

    ok: bool
    step: str = ""  # "build", "passes", "compile", "lint", "rtl"
    category: str = ""
    message: str = ""
    ties: int = 0
    rtl: bool = False

    def describe(self) -> str:
        return f"{self.step}: {self.message}" if not self.ok else "ok"


def categorize(step: str, error: BaseException | str) -> str:
    """``step: kind: message`` with quoted names and numbers blanked."""
    if isinstance(error, BaseException):
        if isinstance(error, UnsupportedModelError):
            kind = "refused"
        elif isinstance(error, BnnccError):
            kind = type(error).__name__
        else:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            kind = f"crash {type(error).__name__} at {Path(frame.filename).name}:{frame.name}"
        text = str(error)
    else:
        kind, text = "mismatch", error
    text = re.sub(r"'[^']*'", "'_'", text.splitlines()[0] if text else "")
    text = re.sub(r"\b\d+(\.\d+)?(e-?\d+)?\b", "#", text)
    return f"{step}: {kind}: {text[:160]}"


def lint_messages(build_dir: Path) -> list[str]:
    """Warnings and errors of ``verilator --lint-only -Wall`` on a build directory."""
    from bnncc.sim.verilator import verilator_command

    files = (build_dir / "filelist.f").read_text().split()
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "bnncc_top", *files],
        cwd=build_dir, capture_output=True, text=True,
    )
    lines = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    if process.returncode and not lines:
        lines = [f"verilator exited with {process.returncode}"]
    return lines


def _failure(step: str, error) -> Outcome:
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Outcome(False, step, categorize(step, error), message.splitlines()[0] if message else step)


def check_graph(spec: GraphSpec, workdir: Path, rtl: bool = False, samples: int = 16, stall: int = 30,
                lint: bool = True) -> Outcome:
    """Run the checks on ``spec`` in ``workdir`` (which it may fill with files)."""
    from bnncc.compile import Target, compile_model
    from bnncc.verify.run import verify_model

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "model.onnx"
    try:
        model = build_model(spec)
        onnx.checker.check_model(model)
        onnx.save(model, path)
    except Exception as error:  # a generator bug, not bnncc's
        return _failure("build", error)
    try:
        result = verify_model(path, samples=samples, seed=spec.seed)
    except Exception as error:
        return _failure("passes", error)
    ties = max((stage.ties for stage in result.stages), default=0)
    if not result.ok:
        bad = next(stage for stage in result.stages if not stage.ok)
        return Outcome(False, "passes", categorize("passes", f"stage {bad.stage}"),
                       f"stage '{bad.stage}': {bad.mismatches} mismatching sample(s); {bad.first_mismatch}", ties)
    if not rtl:
        return Outcome(True, ties=ties)
    build = workdir / "build"
    fps = (None, 2e6, 2e7)[spec.seed % 3]
    try:
        compile_model(path, output=build, target=Target(fps, best_effort=True) if fps else None)
    except Exception as error:
        return _failure("compile", error)
    if lint:
        warnings = lint_messages(build)
        if warnings:
            text = warnings[0]
            category = "lint: " + re.sub(r"\b\d+\b", "#", re.sub(r"^%\w+-(\w+):.*?:\d+:\d+:", r"\1:", text))[:160]
            return Outcome(False, "lint", category, "; ".join(warnings[:3]), ties, rtl=True)
    try:
        result = verify_model(path, samples=min(samples, 8), seed=spec.seed, build_dir=build, stall=stall)
    except Exception as error:
        outcome = _failure("rtl", error)
        outcome.rtl = True
        return outcome
    if not result.rtl.ok:
        return Outcome(False, "rtl", "rtl: mismatch", result.rtl.first_mismatch or "RTL differs", ties, rtl=True)
    return Outcome(True, ties=ties, rtl=True)
