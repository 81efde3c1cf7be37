"""Refusals: why a rewrite rule declined a node, recorded where the cause was known.

A rule either rewrites a node or gives a reason why it cannot. Passes record such reasons on
the graph (``graph.metadata["refusals"]``, a list in the order they were recorded, which
follows the pass order because every pass starts from a copy of its input's metadata). Each
entry says which node could not be rewritten (``node``), which rule declined (``rule``) and
the one-line message naming the node that causes it (``message``, e.g. ``node 'dw' (Conv):
grouped/depthwise convolution (group=8 of 8 channels) is not supported yet``), which may be
another node than the one declined (a scale that cannot move past a depthwise convolution is
stuck because of the convolution).

When a later pass finds a node it cannot map (``host_partition``: an operation between
hardware stages, a layer left on the host), :func:`recorded_cause` looks for the earliest
recorded reason of that node or of the operations feeding it up to the nearest hardware
stages, so the user reads the cause instead of its consequence ("real values between
hardware stages"). A rule that later succeeds on a node withdraws what was recorded for it
(:func:`withdraw`).
"""

from __future__ import annotations

from bnncc.ir.graph import Graph

KEY = "refusals"


def record(graph: Graph, op, reason: str, rule: str, cause=None) -> None:
    """Record that ``rule`` declined ``op`` because of ``reason``, a fact about ``cause``
    (default ``op``). The same message of the same rule for the same node is kept once."""
    cause = op if cause is None else cause
    message = f"node '{cause.name}' ({cause.op_type}): {reason}"
    entries = graph.metadata.setdefault(KEY, [])
    if any(e["node"] == op.name and e["rule"] == rule and e["message"] == message for e in entries):
        return
    entries.append({"node": op.name, "rule": rule, "message": message})


def withdraw(graph: Graph, name: str) -> None:
    """Forget the reasons recorded for node ``name`` (a later rule rewrote it after all)."""
    entries = graph.metadata.get(KEY)
    if entries:
        graph.metadata[KEY] = [e for e in entries if e["node"] != name]


def reasons(graph: Graph) -> list[dict]:
    """Every recorded refusal, earliest first."""
    return list(graph.metadata.get(KEY, []))


def recorded_cause(graph: Graph, op, stop=lambda other: False, downstream: bool = False) -> str | None:
    """The earliest recorded message for ``op`` or any operation feeding it, walking up from
    ``op`` through producers until ``stop(producer)`` holds (hardware stages); with
    ``downstream``, failing that, the earliest one for the operations ``op`` feeds, walking
    down through consumers until ``stop`` holds (an operation stranded between stages
    because a layer after it was not mapped). None if no reason was recorded there. Only
    reasons of nodes still in the graph count."""
    entries = graph.metadata.get(KEY)
    if not entries:
        return None
    regions = [_region(graph, op, stop, _producers)]
    if downstream:
        regions.append(_region(graph, op, stop, _consumers))
    for region in regions:
        for entry in entries:
            if entry["node"] in region and graph.has_op(entry["node"]):
                return entry["message"]
    return None


def _producers(graph: Graph, op) -> list:
    return [graph.producer(tensor) for tensor in op.inputs if tensor]


def _consumers(graph: Graph, op) -> list:
    return [reader for tensor in op.outputs for reader in graph.consumers(tensor)]


def _region(graph: Graph, op, stop, neighbours) -> set[str]:
    """``op`` and the operations reached from it through ``neighbours`` before ``stop``."""
    region = {op.name}
    frontier = [op]
    while frontier:
        for other in neighbours(graph, frontier.pop()):
            if other is None or other.name in region or stop(other):
                continue
            region.add(other.name)
            frontier.append(other)
    return region
