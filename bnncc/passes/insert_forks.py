"""insert_forks: a stream read by several hardware stages goes through a ``StreamFork``.

An AXI stream has one reader: its ready is one signal. When a tensor that hardware stages
read (a stage's output, or the stream entering the hardware) is read by k > 1 input ports of
hardware stages (a residual block's skip and its first convolution, two branches of a
concat), a ``StreamFork`` with k outputs is put after it and each of those ports reads its
own output: ``y_i = x``. Readers on the host (a graph output, a host step) keep reading
the tensor itself. Each fork output is recorded as an alias of the tensor
(:func:`bnncc.passes.patterns.record_alias`), so verification compares it too.
"""

from __future__ import annotations

from bnncc.ir.graph import Graph
from bnncc.ir.ops.hw import HWOp, StreamFork
from bnncc.passes.base import Pass
from bnncc.passes.patterns import record_alias


def hardware_ports(graph: Graph) -> dict[str, list[tuple[str, int]]]:
    """For each non-constant tensor, the (stage, input index) ports of hardware stages
    reading it, in topological order."""
    ports: dict[str, list[tuple[str, int]]] = {}
    for op in graph.ops():
        if not isinstance(op, HWOp):
            continue
        for index, tensor in enumerate(op.inputs):
            if tensor and graph.constant(tensor) is None:
                ports.setdefault(tensor, []).append((op.name, index))
    return ports


class InsertForks(Pass):
    """See the module docstring."""

    name = "insert_forks"

    def apply(self, graph: Graph, notes: list[str]) -> None:
        for tensor, ports in hardware_ports(graph).items():
            if len(ports) < 2:
                continue
            info = graph.tensors[tensor]
            name = graph.fresh_name(f"{tensor}__fork")
            outputs = [graph.fresh_name(f"{tensor}__fork{k}") for k in range(len(ports))]
            fork = StreamFork(name=name, inputs=[tensor], outputs=outputs, channels=int(info.shape[-1]),
                              n_out=len(ports))
            for (shape, dtype), output in zip(fork.infer([info]), outputs):
                graph.set_tensor(output, shape, dtype, batched=info.batched)
                record_alias(graph, output, tensor, order=range(int(info.shape[-1])))
            graph.add_op(fork)
            for (stage, index), output in zip(ports, outputs):
                op = graph.op(stage)
                inputs = list(op.inputs)
                inputs[index] = output
                graph.replace_op(stage, op.clone(inputs=inputs))
            readers = ", ".join(f"'{stage}'" for stage, _ in ports)
            notes.append(f"node '{name}': StreamFork of '{tensor}' to {len(ports)} stages ({readers})")
