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
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from bnncc.hw.describe import describe_stage
from bnncc.backends.verilog.fifo_sizing import FIFO_MODULE, OUTPUT_FIFO
from bnncc.backends.verilog.graph_fifo_sizing import derive_depths
from bnncc.hw.rules import check_parameters
from bnncc.backends.verilog.top import TOP_MODULE, emit_top
from bnncc.hw.graph import HwGraph, Instance, stage_graph, with_links
from bnncc.hw.modules.stream_fifo import read_reg
from bnncc.passes.apply_folding import FIFO_READS
from bnncc.hw.registry import RTL_LIB
from bnncc.hw.stage import StageRTL, Stream
from bnncc.errors import UnsupportedModelError
from bnncc.files import write_text
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw

MEM_DIR = "mem"


def rtl_lib_dir() -> Path:
    """The directory of the hand-written modules (:data:`bnncc.hw.registry.RTL_LIB`)."""
    return RTL_LIB


@dataclass
class Design:
    """A written design: its hardware graph (stages, FIFOs, converters, forks and the wires
    between them) and the tensors its top's streams carry."""

    directory: Path | None
    graph: HwGraph

    @property
    def stages(self) -> list[StageRTL]:
        return self.graph.stages

    @property
    def links(self) -> list[Instance]:
        """Every instance, in topological order."""
        return list(self.graph.instances.values())

    @property
    def input_tensor(self) -> str:
        return self.graph.input_tensor

    @property
    def output_tensor(self) -> str:
        return self.graph.output_tensor

    @property
    def input(self) -> Stream:
        return self.graph.input

    @property
    def output(self) -> Stream:
        return self.graph.output

    @property
    def bottleneck_cycles(self) -> int:
        """Cycles per frame of the slowest instance: the pipeline's initiation interval."""
        return self.graph.bottleneck_cycles

    def sources(self) -> list[Path]:
        return [self.directory / line for line in (self.directory / "filelist.f").read_text().split()]


def rtl_files(modules: set[str], library: Path) -> list[str]:
    """``modules`` and every rtl_lib module they instantiate, directly or not, sorted: the
    Verilog files a build needs. A module instantiates another when its source names it
    followed by a parameter list or an instance name; a helper module defined in another
    module's file (mvau_popcount in mvau.v) brings that file."""
    names = {path.stem for path in library.glob("*.v")}
    home = {helper: path.stem for path in sorted(library.glob("*.v"))
            for helper in re.findall(r"^\s*module\s+(\w+)", path.read_text(), re.M)}
    needed, pending = set(), list(modules)
    while pending:
        module = pending.pop()
        if module in needed:
            continue
        needed.add(module)
        text = (library / f"{module}.v").read_text()
        used = re.findall(r"^\s*(\w+)\s*(?:#\s*\(|\w+\s*\()", text, re.M)
        pending += [m if m in names else home[m] for m in used if (m in names or m in home)
                    and (m if m in names else home[m]) != module]
    return sorted(needed)


def hardware_ops(graph: Graph) -> list:
    """The hardware ops of ``graph`` in topological order."""
    partition = graph.metadata.get("partition")
    if partition is None:
        raise UnsupportedModelError("the graph has no host/hardware partition (run the full pipeline first)")
    names = set(partition["hardware"])
    return [op for op in graph.ops() if op.name in names]


def _streams(graph: Graph, tensors) -> list[str]:
    return [t for t in tensors if t and graph.constant(t) is None]


def stage_graph_of(graph: Graph) -> HwGraph:
    """The stages of ``graph`` (after the pass pipeline and folding) and the streams between
    them, without FIFOs."""
    ops = hardware_ops(graph)
    alias: dict[str, str] = {}
    stages, reads, writes = [], {}, {}
    for op in ops:
        stage = describe_stage(graph, op)
        if stage is None:  # a wire (StreamReshape): its output is its input
            alias[op.outputs[0]] = alias.get(op.inputs[0], op.inputs[0])
            continue
        stages.append(stage)
        reads[stage.instance] = [alias.get(t, t) for t in _streams(graph, op.inputs)]
        writes[stage.instance] = [t for t in op.outputs if t][:len(stage.outputs)]
    if not stages:
        raise UnsupportedModelError("the hardware part has no stage with an RTL module")
    output = alias.get(ops[-1].outputs[0], ops[-1].outputs[0])
    return stage_graph(stages, reads, writes, ops[0].inputs[0], output)


def describe_design(graph: Graph, fifo_depths: dict[str, int] | None = None, default_depth: int = 2) -> Design:
    """The hardware graph of ``graph`` (after the pass pipeline and folding), without writing
    anything (``directory`` is unset). A FIFO is ``fifo_depths[name]`` deep if given (names as
    :func:`bnncc.hw.graph.with_links` gives them), else as derived by ``fifo_sizing`` (at least
    ``default_depth``); the output FIFO is ``default_depth`` deep unless given (the sink is
    always ready). FIFOs read block RAM through two registers on the family the folding pass
    recorded (``graph.metadata[FIFO_READS]``, see :func:`link_stages`)."""
    return Design(None, link_stages(stage_graph_of(graph), fifo_depths, default_depth, graph.metadata.get(FIFO_READS)))


def link_stages(stages: HwGraph, fifo_depths: dict[str, int] | None = None, default_depth: int = 2,
                register_reads: str | None = None) -> HwGraph:
    """``stages`` with their FIFOs and width converters (:func:`bnncc.hw.graph.with_links`),
    every FIFO ``fifo_depths[name]`` deep if given, else as derived (at least
    ``default_depth``; the output FIFO ``default_depth``). Every placed module's parameters
    are checked against its rules; an error names the stage it serves.

    With ``register_reads`` (a device family) a FIFO whose storage maps to block RAM there
    gets READ_REG 1 (:func:`bnncc.hw.modules.stream_fifo.read_reg`). Its latency (3 instead
    of 2) enters the sizing, which decides the depth that decides the mapping. So the depths
    are derived with READ_REG 0 everywhere first; the FIFOs whose storage is then block RAM
    (the candidates) are sized again as READ_REG 1 FIFOs (the others as READ_REG 0), and each
    candidate gets the READ_REG of its new depth. A candidate that ends with READ_REG 0 (its
    new depth maps to LUT RAM) passes beats on a cycle earlier than sized for: a FIFO of
    latency 2 meets every constraint of the schedule the sizing built with 3 and holds the
    same beats in it, so every depth still suffices. A FIFO that is no candidate keeps
    READ_REG 0 even where its new depth would map to block RAM."""
    given = dict(fifo_depths or {})
    placed = with_links(stages, given, default_depth)
    fifo_depths = _derived(placed, given, default_depth)
    decide = None
    if register_reads is not None:
        widths = {i.name: i.parameters["WIDTH"] for i in placed.instances.values() if i.module == FIFO_MODULE}
        candidates = {name for name, width in widths.items() if read_reg(width, fifo_depths[name], register_reads)}
        if candidates:
            placed = with_links(stages, given, default_depth, read_reg=lambda name, width, depth: name in candidates)
            fifo_depths = _derived(placed, given, default_depth)
            decide = lambda name, width, depth: name in candidates and read_reg(width, depth, register_reads)
    return with_links(stages, fifo_depths, default_depth, check_parameters, read_reg=decide)


def _derived(placed: HwGraph, given: dict[str, int], default_depth: int) -> dict[str, int]:
    """Every FIFO's depth of ``placed``: ``given`` where it says, else derived; the output
    FIFO ``default_depth`` unless given."""
    fifos = [i.name for i in placed.instances.values() if i.module == FIFO_MODULE and i.name != OUTPUT_FIFO]
    depths = dict(given)
    if not all(name in given for name in fifos):
        depths = {**derive_depths(placed, default_depth), **given}
    depths.setdefault(OUTPUT_FIFO, default_depth)
    return depths


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
        for key in [k for k in stage.parameters if k.endswith("_FILE")]:
            if stage.parameters.get(key):
                stage.parameters[key] = f"{MEM_DIR}/{stage.parameters[key]}"
    library = rtl_lib_dir()
    modules = rtl_files({link.module for link in links}, library)
    for module in modules:
        write_text(directory / "rtl" / f"{module}.v", (library / f"{module}.v").read_text())
    write_text(directory / "rtl" / f"{TOP_MODULE}.v", emit_top(design.graph, header or _header(graph, stages)))
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
        "links": [{"instance": l.instance, "module": l.module, "node": l.node, "parameters": l.parameters, "hints": l.hints}
                  for l in design.links],
        "wires": [{"from": _end(w.source), "to": _end(w.target), "elems": w.stream.elems, "dtype": w.stream.dtype.name}
                  for w in design.graph.wires],
    }


def _end(end) -> list:
    """A wire end in design.json: [instance, port index], or ["top", 0]."""
    return [end.instance if end.instance is not None else "top", end.index]
