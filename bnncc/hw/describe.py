"""The hardware IR of one stage through the registry (:func:`describe_stage`), and the
stages next to one in the IR graph (:func:`neighbours`)."""

from __future__ import annotations

from bnncc.hw.registry import for_op
from bnncc.hw.rules import check_parameters
from bnncc.hw.stage import StageRTL
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw


def describe_stage(graph: Graph, op, memories: bool = True) -> StageRTL | None:
    """The RTL of a hardware op (its registry entry's ``build``); None for a StreamReshape (a
    wire). Without ``memories`` the memory words are left empty (enough for parameters,
    streams and cycles). Fails with an ``UnknownModuleError`` naming the node for an op no
    module implements, and with a ``ModuleParameterError`` naming the node if the parameters
    break a check of the module's Verilog (:mod:`bnncc.hw.rules`)."""
    if isinstance(op, hw.StreamReshape):
        return None
    stage = for_op(op).build(graph, op, memories)
    check_parameters(stage.module, stage.parameters, op.name)
    return stage


def neighbours(graph: Graph, op, side: str) -> list:
    """The stages that consume ``op``'s outputs (``side="consumer"``) or produce its first
    input (``"producer"``), looking through StreamReshapes (wires)."""
    found, todo, seen = [], [op], set()
    while todo:
        current = todo.pop()
        if side == "consumer":
            nexts = [c for t in current.outputs if t for c in graph.consumers(t)]
        else:
            nexts = [p for p in [graph.producer(current.inputs[0])] if p is not None] if current.inputs else []
        for other in nexts:
            if other.name in seen:
                continue
            seen.add(other.name)
            if isinstance(other, hw.StreamReshape):
                todo.append(other)
            elif isinstance(other, hw.HWOp):
                found.append(other)
    return found
