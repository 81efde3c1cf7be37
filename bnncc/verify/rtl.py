"""The last rung of the verification ladder: the generated RTL in Verilator against the
executor on the final graph, frame by frame, under random stalls on both stream sides."""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bnncc.backends.cosim import run_design
from bnncc.backends.verilog.design import Design, write_design
from bnncc.errors import UsageError
from bnncc.executor import Executor
from bnncc.ir.graph import Graph


@dataclass
class RtlReport:
    """Agreement of the RTL with the executor, and measured cycles."""

    samples: int
    exact: int
    mismatches: int
    in_stall_percent: int
    out_stall_percent: int
    measured_ii_cycles: float
    analytical_ii_cycles: int
    first_frame_latency_cycles: int
    first_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def to_dict(self) -> dict:
        return asdict(self)


def load_design(graph: Graph, build_dir: Path) -> Design:
    """The design in ``build_dir``, after checking that it is exactly what ``graph``
    compiles to (so the simulation tests this model, not a stale build)."""
    build_dir = Path(build_dir)
    if not (build_dir / "design.json").is_file():
        raise UsageError(f"{build_dir}: not a bnncc build directory (no design.json); run 'bnncc compile' first")
    with tempfile.TemporaryDirectory() as scratch:
        fresh = write_design(graph, Path(scratch))
        for path in sorted(Path(scratch).rglob("*")):
            if path.is_file():
                relative = path.relative_to(scratch)
                built = build_dir / relative
                if not built.is_file() or not filecmp.cmp(path, built, shallow=False):
                    raise UsageError(
                        f"{build_dir}: '{relative}' differs from what this model compiles to; "
                        "re-run 'bnncc compile' with the same model and options"
                    )
    fresh.directory = build_dir
    return fresh


def verify_rtl(graph: Graph, design: Design, inputs: dict[str, np.ndarray], seed: int = 1,
               in_stall: int = 30, out_stall: int = 30) -> RtlReport:
    """Run the design on the hardware inputs the executor computes from ``inputs``."""
    values = Executor(graph).run(inputs, keep=[design.input_tensor, design.output_tensor])
    hw_input, expected = values[design.input_tensor], values[design.output_tensor]
    out_shape = tuple(expected.shape[1:])
    stalled = run_design(design, hw_input, out_shape, seed=seed, in_stall=in_stall, out_stall=out_stall)
    timed = run_design(design, hw_input, out_shape, seed=seed)
    equal = np.all((stalled.outputs == expected).reshape(len(expected), -1), axis=1)
    report = RtlReport(
        samples=len(expected), exact=int(equal.sum()), mismatches=int((~equal).sum()),
        in_stall_percent=in_stall, out_stall_percent=out_stall,
        measured_ii_cycles=timed.initiation_interval, analytical_ii_cycles=design.bottleneck_cycles,
        first_frame_latency_cycles=timed.latency,
    )
    if report.mismatches:
        frame = int(np.argmin(equal))
        index = tuple(int(i) for i in np.argwhere(stalled.outputs[frame] != expected[frame])[0])
        report.first_mismatch = (
            f"frame {frame}: tensor '{design.output_tensor}' at {index}: RTL {stalled.outputs[frame][index]}, "
            f"executor {expected[frame][index]}"
        )
    return report
