"""Boundary parameter sets of a dot-product submodule (mac_dot, mac_dsp) elaborated side by
side in one Verilator build: the messages its Verilog prints against the registry's rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from bnncc.hw.rules import violations
from bnncc.sim.verilator import build_verilated, check_messages

HARNESS = Path(__file__).resolve().parent / "elaboration_harness.cpp"


def assert_rules_match_verilog(module: str, base: dict, boundary: list[dict], sources: list[Path], tmp_path: Path) -> None:
    """Every boundary set (``base`` updated by it) prints exactly the messages its rules
    predict, some sets are legal and some are not, and the simulation ends with the checks'
    exit status."""
    lines = ["module rules_top;"]
    for index, change in enumerate(boundary):
        items = ", ".join(f".{k}({v})" for k, v in {**base, **change}.items())
        lines.append(f"    {module} #({items}) b{index} (.ap_clk(1'b0), .ce(1'b0), .x(), .w(), .extra(1'b0), .dot());")
    lines.append("endmodule")
    top = tmp_path / "rules_top.v"
    top.write_text("\n".join(lines) + "\n")
    executable = build_verilated("rules_top", [top, *sources], {}, HARNESS, tag=f"_{module}")
    process = subprocess.run([str(executable)], capture_output=True, text=True)
    printed: dict[int, set] = {index: set() for index in range(len(boundary))}
    for line in check_messages(process.stdout):
        match = re.fullmatch(rf"rules_top\.b(\d+): {module}: (.*)", line)
        assert match, f"unexpected simulator output: {line}"
        printed[int(match.group(1))].add(match.group(2))
    predicted = {index: {v.message for v in violations(module, {**base, **change})}
                 for index, change in enumerate(boundary)}
    assert printed == predicted
    legal = [index for index, found in predicted.items() if not found]
    assert 5 <= len(legal) <= len(boundary) - 5
    assert process.returncode == 4
