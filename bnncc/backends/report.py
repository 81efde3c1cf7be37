"""The compile report: per stage and in total, cycles per frame, frames per second at the
clock, and the work and parameters of the network (MACs per frame by operand widths,
weight bits, thresholds). Written as ``report.json`` and ``report.md``."""

from __future__ import annotations

from collections import Counter

import numpy as np

from bnncc.backends.verilog.design import Design
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


def _macs(graph: Graph, op: hw.MVAU) -> tuple[str, int, int, int]:
    """(operand kind, MACs per frame, weight bits, thresholds) of an MVAU."""
    x = graph.tensors[op.inputs[0]]
    w = graph.tensors[op.inputs[1]]
    vectors = int(np.prod(x.shape[1:])) // op.mw
    kind = "xnor" if op.binary_xnor else f"w{element_bits(w.dtype)}a{element_bits(x.dtype)}"
    thresholds = int(np.prod(graph.tensors[op.inputs[2]].shape)) if op.has_thresholds else 0
    if op.has_thresholds and graph.tensors[op.inputs[2]].shape[0] == 1:
        thresholds *= op.mh
    return kind, vectors * op.mw * op.mh, op.mw * op.mh * element_bits(w.dtype), thresholds


def build_report(graph: Graph, design: Design, clock_mhz: float = 100.0) -> dict:
    """The report of a compiled design (cycles from the design, work from the graph)."""
    ops = {op.name: op for op in graph.ops()}
    macs: Counter = Counter()
    stages = []
    weight_bits = thresholds = 0
    for stage in design.stages:
        op = ops[stage.node]
        row = {"node": stage.node, "module": stage.module, "pe": op.pe, "simd": op.simd,
               "cycles_per_frame": stage.cycles, "in_beats": stage.in_beats, "out_beats": stage.out_beats}
        if isinstance(op, hw.MVAU):
            kind, count, bits, steps = _macs(graph, op)
            macs[kind] += count
            weight_bits += bits
            thresholds += steps
            row.update({"mw": op.mw, "mh": op.mh, "macs_per_frame": count, "mac_kind": kind,
                        "weight_bits": bits, "thresholds": steps})
        stages.append(row)
    bottleneck = design.bottleneck_cycles
    return {
        "clock_mhz": clock_mhz,
        "bottleneck_cycles_per_frame": bottleneck,
        "fps": clock_mhz * 1e6 / bottleneck,
        "stages": stages,
        "totals": {"macs_per_frame": dict(sorted(macs.items())), "weight_bits": weight_bits, "thresholds": thresholds},
    }


def report_markdown(report: dict) -> str:
    """``report`` as a Markdown page."""
    lines = [
        "# bnncc compile report",
        "",
        f"Bottleneck {report['bottleneck_cycles_per_frame']} cycles per frame: "
        f"{report['fps']:.1f} frames per second at {report['clock_mhz']:g} MHz.",
        "",
        "| stage | module | PE | SIMD | cycles/frame | MACs/frame | weight bits | thresholds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["stages"]:
        lines.append(
            f"| {row['node']} | {row['module']} | {row['pe']} | {row['simd']} | {row['cycles_per_frame']} | "
            f"{row.get('macs_per_frame', '')} | {row.get('weight_bits', '')} | {row.get('thresholds', '')} |"
        )
    totals = report["totals"]
    macs = ", ".join(f"{kind}: {count}" for kind, count in totals["macs_per_frame"].items())
    lines += ["", f"MACs per frame: {macs}. Weight bits: {totals['weight_bits']}. Thresholds: {totals['thresholds']}.", ""]
    return "\n".join(lines)
