"""The report picture (``report.svg``): one row per stage, the dataflow graph beside the stage
names (a dot per stage, a line from every producer to its consumer, a branch in a lane of
its own), and three bar panels: cycles per frame against the target (dashed line) and the
bottleneck, estimated LUTs, and block RAMs. Plain SVG written by hand, so the file is
byte-for-byte a function of the report."""

from __future__ import annotations

from xml.sax.saxutils import escape

ROW = 18
LABEL = 190
PANEL = 230
GAP = 30
TOP = 46
LANE = 12
COLOURS = {"cycles": "#4c72b0", "bottleneck": "#c44e52", "lut": "#55a868", "bram": "#8172b2"}


def _bar(x: float, y: float, width: float, colour: str, title: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0.5):.1f}" height="{ROW - 5}" fill="{colour}">'
            f"<title>{escape(title)}</title></rect>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'font-family="sans-serif">{escape(text)}</text>')


def lanes(stages: list[dict]) -> list[int]:
    """The lane (column) of every stage's dot: a stage continues the lane of its first input
    whose producer has not been continued yet; otherwise it takes the lowest lane that no
    stage with consumers still to come holds."""
    rows = {stage["node"]: row for row, stage in enumerate(stages)}
    waiting = {stage["node"]: 0 for stage in stages}
    for stage in stages:
        for producer in stage.get("inputs", []):
            if producer in waiting:
                waiting[producer] += 1
    lane_of, holder, continued = {}, {}, set()
    for stage in stages:
        producers = [p for p in stage.get("inputs", []) if p in rows]
        for producer in producers:
            waiting[producer] -= 1
        own = next((lane_of[p] for p in producers if p not in continued), None)
        for producer in producers:
            if lane_of.get(producer) == own:
                continued.add(producer)
        if own is None:
            busy = {lane for node, lane in holder.items() if waiting[node] > 0}
            own = next(lane for lane in range(len(stages) + 1) if lane not in busy)
        lane_of[stage["node"]] = own
        holder = {node: lane for node, lane in holder.items() if waiting[node] > 0 and lane != own}
        holder[stage["node"]] = own
    return [lane_of[stage["node"]] for stage in stages]


def _dataflow(stages: list[dict], x0: float) -> list[str]:
    """The dataflow graph: dots in their lanes, a line from each producer to each consumer."""
    lane = lanes(stages)
    rows = {stage["node"]: row for row, stage in enumerate(stages)}
    centre = [(x0 + LANE * lane[row] + LANE / 2, TOP + row * ROW + (ROW - 5) / 2) for row in range(len(stages))]
    out = []
    for row, stage in enumerate(stages):
        for producer in stage.get("inputs", []):
            if producer in rows:
                (x1, y1), (x2, y2) = centre[rows[producer]], centre[row]
                if x1 == x2 and row - rows[producer] > 1:  # a skip along a lane: bow out to the right
                    bow = x1 + LANE
                    out.append(f'<path d="M {x1:.1f} {y1:.1f} C {bow:.1f} {y1:.1f}, {bow:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}" '
                               'fill="none" stroke="#888"/>')
                else:
                    out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#888"/>')
    for row, stage in enumerate(stages):
        x, y = centre[row]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#333"><title>{escape(stage["node"])}</title></circle>')
    return out


def report_svg(report: dict) -> str:
    """SVG text of the picture of ``report`` (the dict of :func:`bnncc.backends.report.build_report`)."""
    stages = report["stages"]
    target = report.get("target_cycles_per_frame")
    bottleneck = report["bottleneck_cycles_per_frame"]
    height = TOP + ROW * len(stages) + 40
    graph_width = LANE * (max(lanes(stages), default=0) + 2) + GAP // 2
    left = LABEL + graph_width
    width = left + 3 * (PANEL + GAP)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           _text(8, 18, f"{report.get('model') or 'design'}: {report['fps']:.1f} FPS at {report['clock_mhz']:g} MHz "
                        f"on {report['device']['name']}", size=13, weight="bold")]
    panels = [
        ("cycles per frame", lambda r: r["cycles_per_frame"], max([bottleneck, target or 0]), "cycles"),
        ("LUT (estimate)", lambda r: r["resources"]["lut"], None, "lut"),
        (f"BRAM ({report['device']['bram_unit']})", lambda r: r["resources"]["bram"], None, "bram"),
    ]
    for index, (title, value, scale, colour) in enumerate(panels):
        x0 = left + index * (PANEL + GAP)
        top_value = max([scale or 0] + [value(r) for r in stages]) or 1
        out.append(_text(x0, TOP - 10, title, weight="bold"))
        for row, stage in enumerate(stages):
            y = TOP + row * ROW
            v = value(stage)
            fill = COLOURS["bottleneck"] if colour == "cycles" and v == bottleneck else COLOURS[colour]
            out.append(_bar(x0, y, PANEL * v / top_value, fill, f"{stage['node']}: {v}"))
            out.append(_text(x0 + PANEL * v / top_value + 3, y + ROW - 7, str(v), size=9))
        out.append(f'<line x1="{x0}" y1="{TOP - 3}" x2="{x0}" y2="{TOP + ROW * len(stages)}" stroke="#444"/>')
        if colour == "cycles" and target:
            x = x0 + PANEL * target / top_value
            out.append(f'<line x1="{x:.1f}" y1="{TOP - 3}" x2="{x:.1f}" y2="{TOP + ROW * len(stages)}" '
                       'stroke="#222" stroke-dasharray="4 3"/>')
            out.append(_text(x, TOP + ROW * len(stages) + 14, f"target {target}", anchor="middle", size=9))
    out.append(_text(LABEL, TOP - 10, "dataflow", weight="bold"))
    out += _dataflow(stages, LABEL)
    for row, stage in enumerate(stages):
        out.append(_text(LABEL - 6, TOP + row * ROW + ROW - 7, stage["node"], anchor="end", size=10))
    total = report["totals"]["resources"]
    out.append(_text(8, height - 10, f"total: {total['lut']} LUT, {total['ff']} FF, {total['bram']} BRAM, "
                                     f"{total['dsp']} DSP (estimates); red bar = bottleneck stage", size=10))
    out.append("</svg>")
    return "\n".join(out) + "\n"
