"""Write a compiled hardware graph as a Verilog build directory.

    BUILD/rtl/bnncc_top.v     generated top: FIFOs, width converters, stage instances
    BUILD/rtl/<module>.v      copies of the rtl_lib modules it instantiates
    BUILD/mem/*.mem           weights and thresholds ($readmemh, paths relative to BUILD)
    BUILD/filelist.f          the Verilog files in compile order
    BUILD/design.json         stages, streams and cycles, for verification and reports

Every file is a function of the graph alone (same graph, same bytes).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from bnncc.backends.verilog.stages import describe_stage
from bnncc.hw.stage import StageRTL, Stream
from bnncc.backends.verilog.top import TOP_MODULE, Link, chain, emit_top
from bnncc.errors import UnsupportedModelError
from bnncc.files import write_text
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw

MEM_DIR = "mem"


def rtl_lib_dir() -> Path:
    """The directory of the hand-written modules: ``bnncc/rtl_lib`` (in a checkout a link to
    the top-level ``rtl_lib/``, in an installed package a copy of it)."""
    return Path(__file__).resolve().parents[2] / "rtl_lib"


@dataclass
class Design:
    """A written design: its stages and chain, and the tensors its streams carry."""

    directory: Path | None
    stages: list[StageRTL]
    links: list[Link]
    input_tensor: str
    output_tensor: str

    @property
    def input(self) -> Stream:
        return self.links[0].input

    @property
    def output(self) -> Stream:
        return self.links[-1].output

    @property
    def bottleneck_cycles(self) -> int:
        """Cycles per frame of the slowest stage or width converter: the pipeline's
        initiation interval."""
        return max(link.cycles for link in self.links)

    def sources(self) -> list[Path]:
        return [self.directory / line for line in (self.directory / "filelist.f").read_text().split()]


def hardware_chain(graph: Graph) -> list:
    """The hardware ops in stream order; fails unless they form one chain."""
    partition = graph.metadata.get("partition")
    if partition is None:
        raise UnsupportedModelError("the graph has no host/hardware partition (run the full pipeline first)")
    names = set(partition["hardware"])
    ops = [op for op in graph.ops() if op.name in names]
    for previous, op in zip(ops, ops[1:]):
        if op.inputs[0] != previous.outputs[0]:
            raise UnsupportedModelError(
                f"node '{op.name}' ({op.op_type}): reads '{op.inputs[0]}', not the previous stage's output; "
                "the Verilog backend builds single-chain pipelines"
            )
    return ops


def describe_design(graph: Graph, fifo_depths: dict[str, int] | None = None, default_depth: int = 2) -> Design:
    """The stages and instance chain of ``graph`` (after the pass pipeline and folding),
    without writing anything (``directory`` is unset)."""
    ops = hardware_chain(graph)
    stages = [stage for stage in (describe_stage(graph, op) for op in ops) if stage is not None]
    if not stages:
        raise UnsupportedModelError("the hardware part has no stage with an RTL module")
    links = chain(stages, fifo_depths, default_depth)
    return Design(None, stages, links, ops[0].inputs[0], ops[-1].outputs[0])


def write_design(graph: Graph, directory: Path, fifo_depths: dict[str, int] | None = None, header: list[str] | None = None,
                 default_depth: int = 2) -> Design:
    """Write the build directory for ``graph`` (after the pass pipeline and folding)."""
    design = describe_design(graph, fifo_depths, default_depth)
    stages, links = design.stages, design.links
    directory = Path(directory)
    design.directory = directory
    (directory / "rtl").mkdir(parents=True, exist_ok=True)
    (directory / MEM_DIR).mkdir(parents=True, exist_ok=True)
    for stage in stages:
        for memory in stage.memories:
            digits = max(1, -(-memory.width // 4))
            write_text(directory / MEM_DIR / memory.filename, "".join(f"{word:0{digits}x}\n" for word in memory.words))
        for key in ("WEIGHT_FILE", "THRESHOLD_FILE"):
            if stage.parameters.get(key):
                stage.parameters[key] = f"{MEM_DIR}/{stage.parameters[key]}"
    modules = sorted({link.module for link in links})
    library = rtl_lib_dir()
    for module in modules:
        write_text(directory / "rtl" / f"{module}.v", (library / f"{module}.v").read_text())
    write_text(directory / "rtl" / f"{TOP_MODULE}.v", emit_top(links, header or _header(graph, stages)))
    write_text(directory / "filelist.f", "".join(f"rtl/{m}.v\n" for m in modules) + f"rtl/{TOP_MODULE}.v\n")
    write_text(directory / "design.json", json.dumps(_summary(design), indent=2) + "\n")
    return design


def _header(graph: Graph, stages: list[StageRTL]) -> list[str]:
    return [
        f"{TOP_MODULE}: streaming dataflow design of '{graph.name}', generated by bnncc.",
        f"{len(stages)} stages; bottleneck {max(s.cycles for s in stages)} cycles per frame.",
        "Ports: AXI-Stream in (s_axis_*) and out (m_axis_*), clock ap_clk, synchronous active-low reset ap_rst_n.",
    ]


def _summary(design: Design) -> dict:
    return {
        "top": TOP_MODULE,
        "input": {"tensor": design.input_tensor, "elems": design.input.elems, "dtype": design.input.dtype.name,
                  "width": design.input.width},
        "output": {"tensor": design.output_tensor, "elems": design.output.elems, "dtype": design.output.dtype.name,
                   "width": design.output.width},
        "bottleneck_cycles": design.bottleneck_cycles,
        "stages": [
            {"node": s.node, "instance": s.instance, "module": s.module, "parameters": s.parameters,
             "in_beats": s.in_beats, "out_beats": s.out_beats, "cycles": s.cycles,
             "input": {"elems": s.input.elems, "dtype": s.input.dtype.name},
             "output": {"elems": s.output.elems, "dtype": s.output.dtype.name}}
            for s in design.stages
        ],
        "links": [{"instance": l.instance, "module": l.module, "parameters": l.parameters, "hints": l.hints}
                  for l in design.links],
    }
