"""The pass pipeline: from the imported graph to hardware stages plus host steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bnncc.ir.graph import Graph
from bnncc.passes.absorb_thresholds import AbsorbThresholds
from bnncc.passes.base import Pass, PassResult
from bnncc.passes.host_partition import HostPartition
from bnncc.passes.insert_forks import InsertForks
from bnncc.passes.lower_conv import LowerConv
from bnncc.passes.lower_pool import LowerPool
from bnncc.passes.lower_upsample import MoveUpsampleScales
from bnncc.passes.streamline import Streamline
from bnncc.passes.tidy import Tidy
from bnncc.passes.to_hw import ToHardware
from bnncc.passes.to_nhwc import ToNHWC
from bnncc.passes.xnor_popcount import XnorPopcount


def default_passes() -> list[Pass]:
    """The passes ``bnncc compile`` runs, in order."""
    return [
        Tidy(), Streamline(), LowerPool(), MoveUpsampleScales(), AbsorbThresholds(), LowerConv(), ToNHWC(), XnorPopcount(),
        ToHardware(), InsertForks(), HostPartition(),
    ]


@dataclass
class Stage:
    """The graph after one pass (or after import)."""

    name: str
    graph: Graph
    result: PassResult | None = None


def run_pipeline(graph: Graph, passes: list[Pass] | None = None, log: Callable[[str], None] = lambda m: None) -> list[Stage]:
    """Run ``passes`` (default: :func:`default_passes`) from ``graph``; returns the import
    stage followed by one stage per pass."""
    stages = [Stage("import", graph)]
    for step in passes if passes is not None else default_passes():
        result = step.run(stages[-1].graph)
        log(f"{step.name}: {len(result.notes)} rewrite(s), {sum(result.graph.op_count().values())} operations")
        stages.append(Stage(step.name, result.graph, result))
    return stages
