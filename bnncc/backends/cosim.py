"""Co-simulation: stream the executor's hardware inputs through the generated RTL in
Verilator and compare every output with the executor.

The stream into the design is the tensor at the first hardware stage (NHWC, batch first);
each frame is flattened in row-major order into beats. The initiation interval is the
median distance between the cycles at which consecutive frames' last output beats leave the
design, measured without stalls; the latency is the distance from a frame's first input beat
to its last output beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnncc.backends.verilog.design import Design
from bnncc.backends.verilog.top import TOP_MODULE
from bnncc.sim.beats import pack_beats, unpack_beats
from bnncc.sim.verilator import StreamSimulator


@dataclass
class RtlRun:
    """Outputs of the design for a batch of frames, and the transfer cycles."""

    outputs: np.ndarray
    frame_end_cycles: list[int]
    first_input_cycle: int

    @property
    def initiation_interval(self) -> float:
        ends = self.frame_end_cycles
        if len(ends) < 3:
            return float(ends[-1] - ends[0]) / max(1, len(ends) - 1) if len(ends) > 1 else float("nan")
        return float(np.median(np.diff(ends[1:])))

    @property
    def latency(self) -> int:
        return self.frame_end_cycles[0] - self.first_input_cycle


def simulator(design: Design) -> StreamSimulator:
    return StreamSimulator(TOP_MODULE, design.sources())


def run_design(design: Design, hw_input: np.ndarray, out_shape: tuple[int, ...], seed: int = 1,
               in_stall: int = 0, out_stall: int = 0) -> RtlRun:
    """Stream ``hw_input`` (frames first) through the design; ``out_shape`` is one frame's
    output shape."""
    frames = hw_input.shape[0]
    elements = hw_input.reshape(frames, -1)
    if elements.shape[1] % design.input.elems:
        raise ValueError("frame size is not a multiple of the input beat")
    beats = pack_beats(elements.reshape(-1, design.input.elems), design.input.dtype)
    per_frame_out = int(np.prod(out_shape)) // design.output.elems
    # A stage may legitimately go a whole frame's work without a transfer at the top ports;
    # only far longer silence is a deadlock.
    max_idle = 100_000 + 8 * design.bottleneck_cycles * 100 // max(1, 100 - max(in_stall, out_stall))
    result = simulator(design).run(
        beats, frames * per_frame_out, seed=seed, in_stall=in_stall, out_stall=out_stall, cwd=design.directory,
        max_idle=max_idle,
    )
    values = unpack_beats(result.outputs, design.output.elems, design.output.dtype)
    outputs = values.reshape((frames,) + tuple(out_shape))
    ends = [result.output_cycles[(f + 1) * per_frame_out - 1] for f in range(frames)]
    return RtlRun(outputs, ends, result.input_cycles[0] if result.input_cycles else 0)
