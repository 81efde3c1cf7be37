"""The hardware graph: module instances joined by AXI-Streams through named ports.

An :class:`Instance` is one rtl_lib module instance: a stage (the instance of a hardware IR
op), or a FIFO, width converter or stream fork that the backend places between stages. A
:class:`Wire` joins one output port of an instance to one input port of another; the graph's
own input and output (the top's ``s_axis`` and ``m_axis``) are the ends with ``instance``
``None``. Every instance input has exactly one wire into it, every output exactly one wire out
of it (a stream that feeds several consumers goes through a ``stream_fork``), and the
instances are kept in a topological order. Top emitter, FIFO sizing, latency, folding,
estimate, report and synthesis read-back all walk this one topology.

:func:`stage_graph` builds the graph of the stages of an IR graph; :func:`with_links` puts a
FIFO (and width converters where the beats differ) in front of every stage input and at the
output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bnncc.errors import UnsupportedModelError
from bnncc.hw.stage import Port, StagePort, StageRTL, Stream, converter_widths

#: The FIFO depth given to every FIFO before the depths are derived.
PLACEHOLDER_DEPTH = 2


@dataclass
class Instance:
    """One module instance: its ports with their streams, its cycles per frame at full rate
    (a converter moves one beat per cycle on its narrow side), the IR node it implements or
    serves (a FIFO or converter serves the stage it feeds), and the stage description for a
    stage."""

    name: str
    module: str
    parameters: dict
    inputs: list[StagePort]
    outputs: list[StagePort]
    node: str
    cycles: int = 0
    #: What the resource estimate needs beyond the parameters (``StageRTL.hints``).
    hints: dict = field(default_factory=dict)
    stage: StageRTL | None = None
    #: Whether the backend puts a FIFO in front of its inputs (not for a fork, which queues
    #: on each output and feeds FIFOs in front of its consumers).
    buffered: bool = True

    @property
    def instance(self) -> str:
        return self.name

    @property
    def input(self) -> Stream:
        return self.inputs[0].stream

    @property
    def output(self) -> Stream:
        return self.outputs[0].stream

    @property
    def in_beats(self) -> int:
        return self.inputs[0].beats

    @property
    def out_beats(self) -> int:
        return self.outputs[0].beats


@dataclass(frozen=True)
class End:
    """An end of a wire: port ``index`` (in IR order) of ``instance``; ``instance`` None is the
    top's own input (as a source) or output (as a target)."""

    instance: str | None
    index: int = 0


@dataclass
class Wire:
    """One stream from an output port to an input port."""

    source: End
    target: End
    stream: Stream


@dataclass
class HwGraph:
    """Instances (in topological order) and the wires between them; ``frame_beats`` gives the
    beats per frame of every wire by its source end."""

    instances: dict[str, Instance] = field(default_factory=dict)
    wires: list[Wire] = field(default_factory=list)
    input_tensor: str = ""
    output_tensor: str = ""
    input_beats: int = 0

    # -- topology ------------------------------------------------------------------------
    def wire_into(self, end: End) -> Wire:
        for wire in self.wires:
            if wire.target == end:
                return wire
        raise KeyError(end)

    def wire_from(self, end: End) -> Wire:
        for wire in self.wires:
            if wire.source == end:
                return wire
        raise KeyError(end)

    @property
    def input(self) -> Stream:
        return self.wire_from(End(None)).stream

    @property
    def output(self) -> Stream:
        return self.wire_into(End(None)).stream

    def beats(self, wire: Wire) -> int:
        """Beats per frame on ``wire``."""
        if wire.source.instance is None:
            return self.input_beats
        return self.instances[wire.source.instance].outputs[wire.source.index].beats

    @property
    def stages(self) -> list[StageRTL]:
        return [instance.stage for instance in self.instances.values() if instance.stage is not None]

    def is_chain(self) -> bool:
        """Whether every instance has one input and one output (no fork, no join)."""
        return all(len(i.inputs) == 1 and len(i.outputs) == 1 for i in self.instances.values())

    def successors(self, name: str) -> list[str]:
        return [w.target.instance for w in self.wires if w.source.instance == name and w.target.instance is not None]

    @property
    def bottleneck_cycles(self) -> int:
        """Cycles per frame of the slowest instance: the pipeline's initiation interval."""
        return max(instance.cycles for instance in self.instances.values())


def _instance_of(stage: StageRTL) -> Instance:
    return Instance(stage.instance, stage.module, stage.parameters, list(stage.inputs), list(stage.outputs), stage.node,
                    stage.cycles, stage.hints, stage, stage.fifo_in_front)


def stage_graph(stages: list[StageRTL], reads: dict[str, list[str]], writes: dict[str, list[str]],
                input_tensor: str, output_tensor: str) -> HwGraph:
    """The graph of ``stages`` (in topological order) joined through the tensors they read and
    write (``reads[instance]``, ``writes[instance]``: tensor names in port order). Each tensor
    feeds one stage input (or the design's output): a stream that several stages read goes
    through a fork stage (the IR's ``StreamFork``)."""
    graph = HwGraph(input_tensor=input_tensor, output_tensor=output_tensor, input_beats=stages[0].inputs[0].beats)
    readers: dict[str, list[End]] = {}
    for stage in stages:
        for index, tensor in enumerate(reads[stage.instance]):
            readers.setdefault(tensor, []).append(End(stage.instance, index))
    readers.setdefault(output_tensor, []).append(End(None))
    written = {input_tensor: End(None)}
    for stage in stages:
        for index, tensor in enumerate(writes[stage.instance]):
            written[tensor] = End(stage.instance, index)
    for tensor, targets in readers.items():
        if len(targets) > 1:
            raise UnsupportedModelError(f"tensor '{tensor}' feeds {len(targets)} hardware stages without a fork")
        if tensor not in written:
            reader = targets[0].instance or "the design's output"
            raise UnsupportedModelError(f"'{reader}' reads '{tensor}', which no hardware stage writes")
    streams = {End(None): stages[0].inputs[0].stream}
    for stage in stages:
        graph.instances[stage.instance] = _instance_of(stage)
        for index, port in enumerate(stage.outputs):
            streams[End(stage.instance, index)] = port.stream
    for tensor, targets in readers.items():
        source = written[tensor]
        graph.wires.append(Wire(source, targets[0], streams[source]))
    order = {name: position for position, name in enumerate(graph.instances)}
    graph.wires.sort(key=lambda w: (-1 if w.source.instance is None else order[w.source.instance], w.source.index))
    return graph


def with_links(stages: HwGraph, depths: dict[str, int] | None = None, default_depth: int = PLACEHOLDER_DEPTH,
               check=None, read_reg=None) -> HwGraph:
    """``stages`` with a FIFO in front of every stage input and at the output, and width
    converters between a producer and a FIFO where their beats differ. The FIFO in front of
    input ``k`` of stage ``s`` is named ``s_fifo`` (``s_fifo<k>`` for k > 0) and the output
    FIFO ``output_fifo``; its depth is ``depths[name]`` if given, else ``default_depth``; its
    READ_REG is ``read_reg(name, width, depth)`` if given (the parameter is left out where
    it is 0, the default). ``check(module, parameters, node, instance)`` checks each placed
    module's parameters."""
    depths = depths or {}
    graph = HwGraph(input_tensor=stages.input_tensor, output_tensor=stages.output_tensor,
                    input_beats=stages.input_beats)
    order = list(stages.instances.values())
    for instance in order:
        graph.instances[instance.name] = instance
    placed: dict[str, Instance] = {}
    for wire in stages.wires:
        target = wire.target
        served = stages.instances[target.instance] if target.instance is not None else None
        node = served.node if served is not None else _last_node(stages, wire)
        prefix = (target.instance if target.index == 0 else f"{target.instance}_in{target.index}") \
            if target.instance is not None else "output"
        current, source = wire.stream, wire.source
        frame_elems = stages.beats(wire) * current.elems
        wanted = served.inputs[target.index].stream if served is not None else current
        chain: list[Instance] = []
        for index, elems in enumerate(converter_widths(current, wanted)):
            converted = Stream(elems, current.dtype)
            chain.append(Instance(f"{prefix}_convert{index}", "width_converter",
                                  {"IN_WIDTH": current.width, "OUT_WIDTH": converted.width},
                                  [StagePort(Port("s_axis"), current, frame_elems // current.elems)],
                                  [StagePort(Port("m_axis"), converted, frame_elems // converted.elems)], node,
                                  frame_elems // min(current.elems, converted.elems)))
            current = converted
        if served is None or served.buffered:  # not into a fork: its consumers have the FIFOs
            name = f"{prefix}_fifo"
            beats = frame_elems // current.elems
            parameters = {"WIDTH": current.width, "DEPTH": depths.get(name, default_depth)}
            if read_reg is not None and read_reg(name, parameters["WIDTH"], parameters["DEPTH"]):
                parameters["READ_REG"] = 1
            chain.append(Instance(name, "stream_fifo", parameters,
                                  [StagePort(Port("s_axis"), current, beats)], [StagePort(Port("m_axis"), current, beats)],
                                  node))
        for link in chain:
            if check is not None:
                check(link.module, link.parameters, node, link.name)
            placed[link.name] = link
            graph.wires.append(Wire(source, End(link.name, 0), link.input))
            source = End(link.name, 0)
        graph.wires.append(Wire(source, target, current))
    # topological order: each placed link right before the instance it feeds
    ordered: dict[str, Instance] = {}
    feeding: dict[str | None, list[Instance]] = {}
    for link in placed.values():
        feeding.setdefault(_fed(graph, link.name), []).append(link)
    for instance in order:
        for link in feeding.get(instance.name, []):
            ordered[link.name] = link
        ordered[instance.name] = instance
    for link in feeding.get(None, []):
        ordered[link.name] = link
    graph.instances = ordered
    return graph


def _fed(graph: HwGraph, name: str) -> str | None:
    """The stage (or None: the top's output) that a placed FIFO or converter feeds."""
    end = End(name, 0)
    while True:
        target = graph.wire_from(end).target
        if target.instance is None or target.instance in graph.instances:
            return target.instance
        end = End(target.instance, 0)


def _last_node(stages: HwGraph, wire: Wire) -> str:
    source = wire.source.instance
    return stages.instances[source].node if source is not None else ""


def chain_graph(stages: list[StageRTL]) -> HwGraph:
    """The graph of single-stream ``stages`` joined one after the other."""
    names = [f"t{i}" for i in range(len(stages) + 1)]
    reads = {stage.instance: [names[i]] for i, stage in enumerate(stages)}
    writes = {stage.instance: [names[i + 1]] for i, stage in enumerate(stages)}
    return stage_graph(stages, reads, writes, names[0], names[-1])
