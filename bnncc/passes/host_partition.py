"""host_partition: split the graph into host steps before, one hardware pipeline, and host
steps after.

With ``H`` the hardware stages (:class:`~bnncc.ir.ops.hw.HWOp`), ``D`` every node
downstream of some stage and ``A`` every node upstream of some stage:

* ``hardware`` = ``H``, which must form one connected DAG (joins and forks included) with
  one input stream;
* ``host_pre`` = nodes outside ``D`` (graph inputs to the first stages: normalisation, the
  first quantizer; also side computations that never touch hardware);
* ``host_post`` = nodes in ``D`` but not in ``A`` (a final scale, Softmax, TopK on reals);
* a node in both ``A`` and ``D`` that is not a stage sits *between* stages: it has no
  hardware implementation, so the model is rejected, naming the node and why. Nothing is
  silently computed on the host in the middle of the pipeline;
* likewise a layer (``MatMul``, ``XnorPopcountMatMul``, ``Gemm``, ``Conv``) left on the
  host before or after the hardware means a layer did not map: rejected, naming the node
  and the step where integer arithmetic stopped.

A rejection reports the cause, not its consequence: when an earlier pass recorded why it
declined this node or one of the operations feeding it (up to the nearest hardware stages),
the earliest such reason is the error (:func:`bnncc.passes.refusals.recorded_cause`), e.g.
``node 'dw' (Conv): depthwise convolution (group=8 of 8 channels) is not supported yet``
rather than "real values between hardware stages" at the scale the convolution blocked.

``hw_inputs`` are the streams stages read from the host (or graph inputs), ``hw_outputs``
the stage outputs the host (or the graph outputs) reads. The partition is recorded in
``graph.metadata["partition"]``; the graph itself is not changed.
:func:`bnncc.passes.host_steps.describe_host_steps` says what the host computes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import networkx as nx

from bnncc.errors import UnsupportedModelError
from bnncc.ir import ops
from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import HWOp
from bnncc.passes.base import Pass
from bnncc.passes import refusals
from bnncc.passes.lower_conv import group_reason, why_not_lowered
from bnncc.passes.to_hw import RESHAPES, padding_problem


#: Layers that must be hardware stages: left on the host, they mean a layer did not map.
LAYERS = (ops.MatMul, ops.XnorPopcountMatMul, ops.Gemm, ops.Conv)


@dataclass
class Partition:
    """Op names of each part (topological order) and the tensors crossing the boundary."""

    host_pre: list[str] = field(default_factory=list)
    hardware: list[str] = field(default_factory=list)
    host_post: list[str] = field(default_factory=list)
    hw_inputs: list[str] = field(default_factory=list)
    hw_outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class HostPartition(Pass):
    """See the module docstring."""

    name = "host_partition"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        partition = find_partition(graph)
        graph.metadata["partition"] = partition.to_dict()
        notes.append(
            f"partition: {len(partition.host_pre)} host step(s) before, {len(partition.hardware)} hardware "
            f"stage(s) from '{partition.hardware[0]}' to '{partition.hardware[-1]}', "
            f"{len(partition.host_post)} host step(s) after"
        )


def find_partition(graph: Graph) -> Partition:
    """The host/hardware split of ``graph`` (module docstring); raises
    :class:`UnsupportedModelError` naming the node when there is no valid one."""
    order = graph.ops()
    region = _quantized_region(graph)
    for op in order:
        _reject_if(op, _joins_activations(graph, op, region))
    stages = [op for op in order if isinstance(op, HWOp)]
    if not stages:
        raise UnsupportedModelError(_no_hardware_message(graph))
    for stage in stages:
        _reject_if(stage, stage_problem(graph, stage))
    downstream, upstream = _reach(graph.nx_graph, stages)
    stage_names = {stage.name for stage in stages}
    hosted = [op for op in order if op.name not in stage_names]
    for op in hosted:
        if op.name in downstream and op.name in upstream:
            _reject_with_cause(graph, op, between_stages_reason(graph, op))
    _check_connected(graph.nx_graph, stages)
    partition = Partition(hardware=[op.name for op in stages])
    _check_single_input(graph, stages, stage_names)
    for op in hosted:
        where = "after" if op.name in downstream else "before"
        if isinstance(op, LAYERS):
            _reject_with_cause(graph, op, host_layer_reason(graph, op, where))
        (partition.host_post if where == "after" else partition.host_pre).append(op.name)
    partition.hw_inputs, partition.hw_outputs = _boundary(graph, stages, stage_names)
    return partition


JOINING_OPS = (ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Concat)


def _joins_activations(graph: Graph, op, quantized_region: set[str]) -> str | None:
    """Why an element-wise op or Concat of two activations in the quantized part of the
    graph was left as it is (not a ``StreamAdd``/``StreamConcat`` stage), or None for
    anything else: the reason a pass recorded for it (an irrational scale ratio, say), else
    what a join needs. Such a join keeps the scales on both sides from reaching a quantizer,
    so it is reported where it is. (Joins on the float input side are host work.)"""
    if not isinstance(op, JOINING_OPS) or op.name not in quantized_region:
        return None
    batched = [t for t in op.inputs if t and graph.tensors[t].batched]
    if len(batched) < 2:
        return None
    cause = refusals.recorded_cause(graph, op, stop=lambda producer: isinstance(producer, HWOp))
    if cause is not None:
        raise UnsupportedModelError(cause)
    return (
        f"combines two activations ('{batched[0]}' and '{batched[1]}'), a residual or skip connection, that did not "
        "become a hardware join: only an Add of two quantized streams of one shape (StreamAdd) or a Concat along "
        "channels (StreamConcat) has a hardware stage"
    )


def _quantized_region(graph: Graph) -> set[str]:
    """Names of the operations that read an integer activation or lie downstream of one."""
    quantized = {t for t, info in graph.tensors.items() if info.dtype.is_integer and info.batched}
    readers = {op.name for op in graph.ops() if any(t in quantized for t in op.inputs)}
    region = set(readers)
    for name in readers:
        region |= nx.descendants(graph.nx_graph, name)
    return region


def _reject_if(op, problem: str | None) -> None:
    """Raise the one-line error ``node 'name' (Type): problem`` if there is a problem."""
    if problem:
        raise UnsupportedModelError(f"node '{op.name}' ({op.op_type}): {problem}")


def _reject_with_cause(graph: Graph, op, problem: str | None) -> None:
    """Reject ``op`` for ``problem``, reporting instead the earliest reason a pass recorded
    for it or the operations feeding it (up to hardware stages), or else for the operations
    it feeds (up to hardware stages), when there is one."""
    if not problem:
        return
    cause = refusals.recorded_cause(graph, op, stop=lambda other: isinstance(other, HWOp), downstream=True)
    if cause is not None:
        raise UnsupportedModelError(cause)
    _reject_if(op, problem)


def _reach(digraph: nx.DiGraph, stages) -> tuple[set, set]:
    """(nodes downstream of some stage, nodes upstream of some stage)."""
    downstream, upstream = set(), set()
    for stage in stages:
        downstream |= nx.descendants(digraph, stage.name)
        upstream |= nx.ancestors(digraph, stage.name)
    return downstream, upstream


def _boundary(graph: Graph, stages, stage_names) -> tuple[list[str], list[str]]:
    """Streams entering the hardware (not written by a stage, not constants) and leaving it
    (read by a host step or a graph output)."""
    producers = graph.producers()
    inputs, outputs = [], []
    for stage in stages:
        for tensor in stage.inputs:
            if tensor and graph.constant(tensor) is None and producers.get(tensor) not in stage_names and tensor not in inputs:
                inputs.append(tensor)
        for tensor in stage.outputs:
            readers = graph.consumers(tensor) if tensor else []
            leaves = tensor in graph.outputs or any(r.name not in stage_names for r in readers)
            if tensor and leaves and tensor not in outputs:
                outputs.append(tensor)
    return inputs, outputs


def _check_connected(digraph: nx.DiGraph, stages) -> None:
    """The stages must form one pipeline: one weakly connected part."""
    parts = list(nx.weakly_connected_components(digraph.subgraph(stage.name for stage in stages)))
    if len(parts) > 1:
        position = {stage.name: i for i, stage in enumerate(stages)}
        firsts = sorted((min(part, key=position.__getitem__) for part in parts), key=position.__getitem__)
        raise UnsupportedModelError(
            f"the hardware stages form {len(parts)} separate pipelines (starting at "
            f"{', '.join(repr(name) for name in firsts)}); bnncc builds one pipeline"
        )


def _check_single_input(graph: Graph, stages, stage_names) -> None:
    """The hardware reads one stream: several streams entering it (from the host or graph
    inputs) are refused, naming them."""
    inputs, _ = _boundary(graph, stages, stage_names)
    if len(inputs) > 1:
        readers = [next(s.name for s in stages if t in s.inputs) for t in inputs]
        listed = ", ".join(f"'{t}' (read by '{r}')" for t, r in zip(inputs, readers))
        raise UnsupportedModelError(
            f"the hardware reads {len(inputs)} streams from the host ({listed}); bnncc builds a pipeline with one "
            "input stream"
        )


def stage_problem(graph: Graph, stage: HWOp) -> str | None:
    """Why a hardware stage cannot be built, or None (padding a stream with a value its
    element type cannot hold, e.g. zero padding of a bipolar input)."""
    if isinstance(stage, ops.SlidingWindow):
        return padding_problem(graph.tensors[stage.inputs[0]].dtype, stage.pads, stage.pad_value)
    return None


def between_stages_reason(graph: Graph, op) -> str:
    """Why ``op``, found between hardware stages, has no hardware implementation."""
    ins = [graph.tensors[t] for t in op.inputs if t]
    streams = [info for info in ins if info.value is None]
    out = graph.tensors.get(op.outputs[0]) if op.outputs else None
    if isinstance(op, ops.Im2Col) and streams:
        problem = padding_problem(streams[0].dtype, op.pads, op.pad_value)
        if problem:
            return problem + _feeding(graph, op)
    if isinstance(op, ops.Conv):
        grouped = group_reason(graph, op)
        if grouped:
            return grouped
        return f"convolution was not lowered to Im2Col + MatMul ({why_not_lowered(graph, op) or 'lower_conv did not run'})"
    if len(streams) > 1:
        return (
            f"{op.op_type} joins {len(streams)} streams; only an Add of two integer streams of one shape "
            "(StreamAdd) or a Concat of integer streams along channels (StreamConcat) joins streams in hardware"
        )
    if any(not info.dtype.is_integer for info in streams) or (out is not None and not out.dtype.is_integer):
        return (
            f"computes real (FLOAT32) values between hardware stages; everything from the first to the "
            f"last hardware stage must be integer (were scales left unabsorbed?)"
        )
    if isinstance(op, (ops.MatMul, ops.XnorPopcountMatMul)):
        return "matrix product whose weights are not a 2-D integer constant has no hardware stage"
    if isinstance(op, ops.MultiThreshold):
        return "thresholds that are not constant, or not along the last (channel) axis, have no hardware stage"
    if isinstance(op, RESHAPES):
        return f"{op.op_type} on a stream that no hardware stage writes has no hardware stage"
    return f"{op.op_type} between hardware stages has no hardware implementation"


def host_layer_reason(graph: Graph, op, where: str) -> str:
    """Why a product or convolution found on the host (``where`` = "before"/"after" the
    hardware) did not become a hardware stage."""
    if isinstance(op, ops.Conv):
        why = why_not_lowered(graph, op) or "not lowered to Im2Col + MatMul"
    elif graph.constant(op.inputs[1]) is None:
        why = "its weights are computed at run time"
    else:
        x = graph.tensors[op.inputs[0]]
        why = f"its input is {x.dtype}" if not x.dtype.is_integer else "its weights are not integers"
        origin = _made_real_by(graph, op.inputs[0]) if not x.dtype.is_integer else None
        if origin is not None:
            why += f", made real by node '{origin.name}' ({origin.op_type})"
    return f"layer left on the host {where} the hardware ({why}); every layer must become a hardware stage"


def _made_real_by(graph: Graph, tensor: str):
    """The first real-valued (FLOAT32) step on the way to ``tensor`` whose own stream inputs
    are integers: where integer arithmetic stopped. None if the chain starts real."""
    producer = graph.producer(tensor)
    while producer is not None and not isinstance(producer, HWOp):
        streams = [t for t in producer.inputs if t and graph.constant(t) is None]
        real = [t for t in streams if not graph.tensors[t].dtype.is_integer]
        if not real:
            return producer if streams else None
        producer = graph.producer(real[0])
    return None


def _feeding(graph: Graph, op) -> str:
    """' (feeding 'X')' naming the product an Im2Col feeds, which carries the convolution's name."""
    readers = graph.consumers(op.outputs[0])
    names = [r.name for r in readers if isinstance(r, (ops.MatMul, ops.XnorPopcountMatMul, ops.MVAU))]
    return f" (patches of convolution '{names[0]}')" if names else ""


def _no_hardware_message(graph: Graph) -> str:
    """Say that nothing maps to hardware, pointing at the first layer that could have (with
    the reason a pass recorded for it, if any)."""
    for op in graph.ops():
        if isinstance(op, LAYERS):
            cause = refusals.recorded_cause(graph, op)
            if cause is not None:
                return f"no hardware stage in the graph: {cause}"
            x = graph.tensors[op.inputs[0]]
            why = f"reads a {x.dtype} tensor" if not x.dtype.is_integer else "has no integer constant weights"
            return (
                f"no hardware stage in the graph: the first layer, node '{op.name}' ({op.op_type}), {why}; "
                f"hardware stages need integer streams and integer constant weights and thresholds "
                f"(did streamline, absorb_thresholds and to_hw run?)"
            )
    return "no hardware stage in the graph: it has no matrix product, convolution or thresholding on integers"
