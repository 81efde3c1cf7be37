"""First-frame latency of a stitched design, from the beat timing of every instance.

The input is offered one beat per cycle from cycle 0 and the output is always ready. Every
instance (stage, FIFO, width converter, fork and join) pops and pushes as early as its
arrivals allow under its registry entry's beat pattern (:mod:`bnncc.hw.patterns`, the
same max-plus model FIFO sizing reads, :func:`bnncc.backends.verilog.graph_fifo_sizing.output_pushes`);
the latency is the cycle of the last output beat of frame 0. The FIFOs are taken deep
enough never to block the first frame: their depths are sized for the bottleneck period,
so the first frame, which runs ahead of the period only while the pipeline fills, meets
them.
"""

from __future__ import annotations

import numpy as np

from bnncc.backends.verilog.graph_fifo_sizing import output_pushes
from bnncc.hw.graph import HwGraph
from bnncc.hw.patterns import FRAMES


def first_frame_latency(graph: HwGraph) -> int:
    """Cycles from the first input beat to the last output beat of frame 0 of a hardware
    graph, the input at one beat per cycle (module docstring)."""
    beats = max(1, graph.input_beats)
    pushes = output_pushes(graph, np.arange(FRAMES * beats, dtype=np.int64))
    return int(pushes[len(pushes) // FRAMES - 1])
