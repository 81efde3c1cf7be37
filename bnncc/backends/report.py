"""The compile report: per stage and in total, cycles per frame, frames per second at the
clock, and the work and parameters of the network (MACs per frame by operand widths,
weight bits, thresholds: each stage's registry entry's ``macs`` and ``work``), the estimated resources per stage and in total with the device's
utilization, and the first-frame latency. Written as ``report.json``, ``report.md`` and
``report.svg``.

Border correction (zero padding of bipolar inputs, :mod:`bnncc.passes.binary_padding`): a
stage whose MVAU keeps threshold classes or masks the border (parameters
:data:`CORRECTION_PARAMETERS`) reports ``border_correction``, its estimate minus the estimate
of the same instance without them (one set of thresholds, no class memory or counters), in
LUT, FF and BRAM; the totals sum them and give their share of the design. Reports of designs
without such stages are unchanged.
"""

from __future__ import annotations

from collections import Counter

from bnncc.backends.latency import first_frame_latency
from bnncc.backends.verilog.design import Design
from bnncc.estimate import estimate_link
from bnncc.hw.graph import End
from bnncc.hw.registry import spec
from bnncc.hw.resources import Resources
from bnncc.targets import DEFAULT_DEVICE, Device, get_device
from bnncc.text_table import format_table
from bnncc.ir.graph import Graph

SCHEMA_VERSION = "bnncc-report/1"


def report_schema() -> dict:
    """The JSON Schema of the report (``bnncc/schemas/report.schema.json``)."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[1] / "schemas" / "report.schema.json").read_text())


def group_by_node(values: list[tuple[str, Resources]]) -> dict[str, Resources]:
    """Sum per-instance ``values`` ((node, resources) pairs) per stage node: a stage's
    instance, the FIFOs and width converters in front of its inputs and the forks of its
    outputs (the instances serve that node); the output FIFO counts with the stage that writes
    the design's output."""
    per_stage: dict[str, Resources] = {}
    for node, value in values:
        per_stage[node] = per_stage.get(node, Resources()) + value
    return per_stage


def stage_resources(design: Design, family: str) -> dict[str, Resources]:
    """Estimated resources per stage (see :func:`group_by_node`)."""
    grouped = group_by_node([(link.node, estimate_link(link.module, link.parameters, family, link.hints))
                             for link in design.links])
    return {node: r.rounded() for node, r in grouped.items()}


#: The mvau parameters of the border correction (classes, class memory, border masking).
CORRECTION_PARAMETERS = ("N_CLASSES", "N_VECTORS", "CLASS_FILE", "CLASS_COLS", "THRESHOLD_BLOCK", "BORDER", "BORDER_KH",
                         "BORDER_KW", "BORDER_OH", "BORDER_OW")
CORRECTION_RESOURCES = ("lut", "ff", "bram")


def border_corrections(design: Design, family: str) -> dict[str, dict]:
    """Per stage node with a border correction: LUT, FF and BRAM of its MVAU's estimate
    minus the estimate of the same instance without the correction's parameters."""
    result = {}
    for link in design.links:
        p = link.parameters
        if link.module != "mvau" or not any(key in p for key in CORRECTION_PARAMETERS):
            continue
        plain = {key: value for key, value in p.items() if key not in CORRECTION_PARAMETERS}
        with_it = estimate_link(link.module, p, family, link.hints).rounded()
        without = estimate_link(link.module, plain, family, link.hints).rounded()
        result[link.node] = {name: getattr(with_it, name) - getattr(without, name) for name in CORRECTION_RESOURCES}
    return result


def stage_inputs(design: Design) -> dict[str, list[str]]:
    """For every stage instance, the nodes of the stages that feed its inputs in port order
    (through the FIFOs and width converters between them); ``"input"`` for the design's input."""
    graph = design.graph
    result = {}
    for stage in design.stages:
        producers = []
        for index in range(len(stage.inputs)):
            source = graph.wire_into(End(stage.instance, index)).source
            while source.instance is not None and graph.instances[source.instance].stage is None:
                source = graph.wire_into(End(source.instance, 0)).source
            producers.append("input" if source.instance is None else graph.instances[source.instance].node)
        result[stage.instance] = producers
    return result


def build_report(graph: Graph, design: Design, clock_mhz: float = 100.0, device: Device | None = None,
                 target_fps: float | None = None, model: str = "") -> dict:
    """The report of a compiled design (cycles and resources from the design, work from
    the graph); its form is :func:`report_schema`."""
    device = device or get_device(DEFAULT_DEVICE)
    ops = {op.name: op for op in graph.ops()}
    resources = stage_resources(design, device.family)
    macs: Counter = Counter()
    stages = []
    weight_bits = thresholds = 0
    total = Resources()
    inputs = stage_inputs(design)
    corrections = border_corrections(design, device.family)
    for stage in design.stages:
        op = ops[stage.node]
        row = {"node": stage.node, "module": stage.module, "inputs": inputs[stage.instance], "pe": op.pe, "simd": op.simd,
               "cycles_per_frame": stage.cycles, "in_beats": stage.in_beats, "out_beats": stage.out_beats,
               "resources": resources[stage.node].to_dict()}
        total = total + resources[stage.node]
        entry = spec(stage.module)
        if entry.work is not None:
            work = entry.work(stage)
            macs[work["mac_kind"]] += entry.macs(stage)
            weight_bits += work["weight_bits"]
            thresholds += work["thresholds"]
            row.update(work)
        if stage.node in corrections:
            row["border_correction"] = corrections[stage.node]
        stages.append(row)
    bottleneck = design.bottleneck_cycles
    latency = first_frame_latency(design.graph)
    utilization = {name: round(getattr(total, name) / limit, 4) for name, limit in device.capacity.items()}
    totals = {"resources": total.to_dict(), "utilization": utilization,
              "fits": all(value <= 1 for value in utilization.values()),
              "macs_per_frame": dict(sorted(macs.items())), "weight_bits": weight_bits, "thresholds": thresholds}
    if corrections:
        cost = {name: sum(c[name] for c in corrections.values()) for name in CORRECTION_RESOURCES}
        totals["border_correction"] = {
            "stages": len(corrections), "resources": cost,
            "share": {name: round(cost[name] / getattr(total, name), 4) if getattr(total, name) else 0.0
                      for name in CORRECTION_RESOURCES},
        }
    return {
        "schema": SCHEMA_VERSION,
        "model": model,
        "device": {"name": device.name, "part": device.part, "family": device.family, **device.capacity,
                   "bram_unit": device.bram_unit},
        "clock_mhz": clock_mhz,
        "target_fps": target_fps,
        "target_cycles_per_frame": int(clock_mhz * 1e6 // target_fps) if target_fps else None,
        "bottleneck_cycles_per_frame": bottleneck,
        "fps": clock_mhz * 1e6 / bottleneck,
        "latency_cycles": latency,
        "latency_us": latency / clock_mhz,
        "stages": stages,
        "totals": totals,
    }


def report_table(report: dict) -> str:
    """The per-stage table and totals as plain text (``bnncc estimate``)."""
    header = ["stage", "module", "PE", "SIMD", "cycles", "LUT", "FF", "BRAM", "DSP"]
    rows = [[r["node"], r["module"], r["pe"], r["simd"], r["cycles_per_frame"],
             *(r["resources"][k] for k in ("lut", "ff", "bram", "dsp"))] for r in report["stages"]]
    total = report["totals"]["resources"]
    rows.append(["total", "", "", "", report["bottleneck_cycles_per_frame"], *(total[k] for k in ("lut", "ff", "bram", "dsp"))])
    lines = [format_table(header, rows), "", summary_line(report), utilization_line(report)]
    if "border_correction" in report["totals"]:
        lines.append(correction_line(report))
    return "\n".join(lines) + "\n"


def correction_line(report: dict) -> str:
    """What the border correction of zero-padded bipolar convolutions costs (estimate)."""
    correction = report["totals"]["border_correction"]
    cost, share = correction["resources"], correction["share"]
    parts = ", ".join(f"{name.upper()} {cost[name]:+g} ({100 * share[name]:.1f} %)" for name in CORRECTION_RESOURCES)
    return (f"border correction of zero-padded bipolar inputs ({correction['stages']} stages): {parts} "
            "of the design")


def summary_line(report: dict) -> str:
    target = ""
    if report["target_fps"]:
        target = f" (target {report['target_fps']:g} FPS = {report['target_cycles_per_frame']} cycles)"
    return (f"{report['fps']:.1f} FPS at {report['clock_mhz']:g} MHz: bottleneck {report['bottleneck_cycles_per_frame']} "
            f"cycles per frame{target}; latency {report['latency_cycles']} cycles = {report['latency_us']:.1f} us")


def utilization_line(report: dict) -> str:
    device, use = report["device"], report["totals"]["utilization"]
    parts = ", ".join(f"{name.upper()} {100 * use[name]:.1f} %" for name in ("lut", "ff", "bram", "dsp"))
    verdict = "fits" if report["totals"]["fits"] else "DOES NOT FIT"
    return f"{device['name']} ({device['bram_unit']} for BRAM): {parts} - {verdict}"


def report_markdown(report: dict) -> str:
    """``report`` as a Markdown page."""
    lines = [
        "# bnncc compile report",
        "",
        summary_line(report) + ".",
        "",
        utilization_line(report) + ". Resources are estimates; `bnncc synth` measures them.",
        "",
        "![cycles and resources per stage](report.svg)",
        "",
        "| stage | module | PE | SIMD | cycles/frame | LUT | FF | BRAM | DSP | MACs/frame | weight bits | thresholds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["stages"]:
        r = row["resources"]
        lines.append(
            f"| {row['node']} | {row['module']} | {row['pe']} | {row['simd']} | {row['cycles_per_frame']} | "
            f"{r['lut']} | {r['ff']} | {r['bram']} | {r['dsp']} | "
            f"{row.get('macs_per_frame', '')} | {row.get('weight_bits', '')} | {row.get('thresholds', '')} |"
        )
    totals = report["totals"]
    t = totals["resources"]
    lines.append(f"| **total** | | | | {report['bottleneck_cycles_per_frame']} | {t['lut']} | {t['ff']} | {t['bram']} | {t['dsp']} | | | |")
    macs = ", ".join(f"{kind}: {count}" for kind, count in totals["macs_per_frame"].items())
    lines += ["", f"MACs per frame: {macs}. Weight bits: {totals['weight_bits']}. Thresholds: {totals['thresholds']}.", ""]
    if "border_correction" in totals:
        per_stage = ", ".join(f"{row['node']}: LUT {row['border_correction']['lut']:+g}, FF "
                              f"{row['border_correction']['ff']:+g}, BRAM {row['border_correction']['bram']:+g}"
                              for row in report["stages"] if "border_correction" in row)
        lines += [correction_line(report) + f" (per stage: {per_stage}).", ""]
    if "bitstream" in report:
        b = report["bitstream"]
        used = ", ".join(f"{cell} {use['used']}/{use['available']}" for cell, use in sorted(b["utilization"].items()))
        lines += [f"Bitstream for the {b['board']}: `{b['bitstream']}`; Fmax {b['fmax_mhz']:.1f} MHz against "
                  f"{b['clock_mhz']:g} MHz ({'met' if b['timing_met'] else 'MISSED'}); placed: {used}.", ""]
    return "\n".join(lines)
