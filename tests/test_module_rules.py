"""The Python mirror of the rtl_lib modules' parameter checks
(the ``rules`` of every registry entry, bnncc/hw/modules/<name>.py) against the Verilog itself.

* Table: every ``$display`` of an elaboration check in every rtl_lib module has exactly one
  rule with the same message format and arguments, in the same order, and the mirrored
  parameter defaults are the Verilog's.
* Behaviour: one Verilator build elaborates every module at boundary parameter sets (just
  legal and just illegal); the checks each instance prints are exactly the violations Python
  predicts for it.
* Compile time: parameters that break a check are refused with the node, module and rule.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from bnncc.hw.registry import all_rules, all_specs
from bnncc.hw.rules import ModuleParameterError, check_parameters, violations
from bnncc.hw.stage import StageRTL, Stream
from bnncc.backends.verilog.design import link_stages
from bnncc.hw.graph import chain_graph
from bnncc.datatype import DataType
from bnncc.sim.verilator import SimulationError, StreamSimulator, build_verilated, check_messages, verilator_command

MODULES = all_rules()
RTL_LIB = Path(__file__).resolve().parents[1] / "rtl_lib"

HARNESS = Path(__file__).resolve().parent / "rtl" / "elaboration_harness.cpp"


# -- reading the Verilog ------------------------------------------------------------------
def _call_arguments(text: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of the call whose '(' is at ``start``."""
    depth, current, args, index, in_string = 0, "", [], start, False
    while True:
        char = text[index]
        if in_string:
            current += char
            in_string = char != '"'
        elif char == '"':
            current += char
            in_string = True
        elif char == "(":
            depth += 1
            if depth > 1:
                current += char
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(current.strip())
                return args
            current += char
        elif char == "," and depth == 1:
            args.append(current.strip())
            current = ""
        else:
            current += char
        index += 1


def verilog_modules() -> dict[str, dict]:
    """module name -> {"file", "checks": [(prefix, message, args)], "defaults": {...}}."""
    modules = {}
    for path in sorted(RTL_LIB.glob("*.v")):
        text = re.sub(r"//[^\n]*", "", path.read_text())
        for match in re.finditer(r"\bmodule\s+(\w+)(.*?)\bendmodule\b", text, re.S):
            name, body = match.group(1), match.group(2)
            checks = []
            for call in re.finditer(r"\$display\s*\(", body):
                args = _call_arguments(body, call.end() - 1)
                fmt = re.fullmatch(r'"%m: (\w+): (.*)"', args[0])
                assert fmt, f"{path.name}: check message {args[0]} does not start with '%m: <module>: '"
                checks.append((fmt.group(1), fmt.group(2), tuple(re.sub(r"\s+", " ", a) for a in args[1:])))
            defaults = {}
            for parameter in re.finditer(r"\bparameter\s+(?:integer\s+)?(\w+)\s*=\s*(\"[^\"]*\"|-?\d+)", body):
                value = parameter.group(2)
                defaults[parameter.group(1)] = value.strip('"') if value.startswith('"') else int(value)
            modules[name] = {"file": path.name, "checks": checks, "defaults": defaults}
    return modules


VERILOG = verilog_modules()


def test_every_verilog_check_has_exactly_one_python_mirror():
    checked = {name for name, module in VERILOG.items() if module["checks"]}
    assert checked == set(MODULES), "modules with checks in rtl_lib and with rules in the registry differ"
    for name, rules in MODULES.items():
        verilog = VERILOG[name]
        prefix = verilog["file"].removesuffix(".v")
        assert all(check[0] == prefix for check in verilog["checks"]), f"{name}: message prefix is not '{prefix}'"
        expected = [(message, args) for _, message, args in verilog["checks"]]
        mirrored = [(rule.message, rule.args) for rule in rules.rules]
        assert mirrored == expected, f"{name}: the Python rules differ from the Verilog checks"


def test_every_module_the_compiler_instantiates_has_rules():
    estimated = {entry.name for entry in all_specs() if entry.terms is not None}
    assert estimated and estimated <= set(MODULES)


def test_mirrored_defaults_are_the_verilog_defaults():
    for name, rules in MODULES.items():
        assert rules.defaults == VERILOG[name]["defaults"], name


def test_table_test_would_notice_a_missing_rule():
    """The comparison above is not vacuous: the Verilog holds the checks it is matched with."""
    assert ("ACC_BITS=%0d must be 1..31", ("ACC_BITS",)) in [(m, a) for _, m, a in VERILOG["mvau"]["checks"]]
    assert sum(len(module["checks"]) for module in VERILOG.values()) >= 50


# -- boundary parameter sets against Verilator ---------------------------------------------
MAC = {"INPUT_BITS": 2, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0, "WEIGHT_BITS": 2, "WEIGHT_SIGNED": 1,
       "WEIGHT_BIPOLAR": 0, "BINARY": 0}
SMALL_MVAU = {"MW": 4, "MH": 2, "PE": 1, "SIMD": 2}
SMALL_WINDOW = {"IFM_CH": 2, "IFM_H": 4, "IFM_W": 4, "K_H": 3, "K_W": 3}

BOUNDARY = [
    # mvau: binary accumulators must hold MW as signed; ACC_BITS 1..31; outputs; divisibility
    ("mvau", {**SMALL_MVAU, "ACC_BITS": 4, "N_THRESHOLDS": 1, "OUT_BITS": 1}),
    ("mvau", {**SMALL_MVAU, "ACC_BITS": 3, "N_THRESHOLDS": 1, "OUT_BITS": 1}),
    ("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 1, "N_THRESHOLDS": 0, "OUT_BITS": 1}),
    ("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 32, "N_THRESHOLDS": 0, "OUT_BITS": 32}),
    ("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 4, "N_THRESHOLDS": 0, "OUT_BITS": 3}),
    ("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 5, "N_THRESHOLDS": 3, "OUT_BITS": 30}),
    ("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 5, "N_THRESHOLDS": 3, "OUT_BITS": 31}),
    ("mvau", {**SMALL_MVAU, **MAC, "PE": 3, "MH": 4, "ACC_BITS": 5, "N_THRESHOLDS": 0, "OUT_BITS": 5}),
    ("mvau", {**SMALL_MVAU, **MAC, "INPUT_BITS": 1, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 1, "ACC_BITS": 5,
              "N_THRESHOLDS": 1, "OUT_BITS": 1}),
    ("mvau", {**SMALL_MVAU, "WEIGHT_BITS": 2, "WEIGHT_BIPOLAR": 0, "ACC_BITS": 5, "N_THRESHOLDS": 1, "OUT_BITS": 1}),
    # thresholding: stored thresholds need one bit more than the input
    ("thresholding", {"CH": 4, "PE": 2, "IN_BITS": 2, "THRESHOLD_BITS": 3, "N_THRESHOLDS": 3, "OUT_BITS": 2}),
    ("thresholding", {"CH": 4, "PE": 2, "IN_BITS": 2, "THRESHOLD_BITS": 2, "N_THRESHOLDS": 3, "OUT_BITS": 2}),
    ("thresholding", {"CH": 4, "PE": 3, "IN_BITS": 2, "THRESHOLD_BITS": 3, "N_THRESHOLDS": 1, "OUT_BITS": 33}),
    # sliding_window: the kernel must fit the padded image; the pad value must fit its bits
    ("sliding_window", {**SMALL_WINDOW, "K_H": 5, "PAD_T": 1}),
    ("sliding_window", {**SMALL_WINDOW, "K_H": 5}),
    ("sliding_window", {**SMALL_WINDOW, "PAD_VALUE": -1, "ELEM_BITS": 1}),
    ("sliding_window", {**SMALL_WINDOW, "PAD_VALUE": 2, "ELEM_BITS": 1}),
    # streaming_maxpool: padding below the window, no window entirely in the padding
    ("streaming_maxpool", {"CH": 2, "H": 4, "W": 4, "PAD_T": 1, "PAD_B": 1}),
    ("streaming_maxpool", {"CH": 2, "H": 4, "W": 4, "PAD_T": 2}),
    ("streaming_maxpool", {"CH": 2, "H": 4, "W": 4, "PAD_B": 2, "PAD_R": 2}),
    ("streaming_maxpool", {"CH": 2, "H": 4, "W": 4, "PE": 3, "CEIL_MODE": 2}),
    # label_select: the index width
    ("label_select", {"NUM_CLASSES": 10, "PE": 5, "IDX_BITS": 4, "K": 10}),
    ("label_select", {"NUM_CLASSES": 10, "PE": 5, "IDX_BITS": 3, "K": 11}),
    # pool_sum: the sum's width, PE divides CH
    ("pool_sum", {"CH": 2, "PE": 1, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 0, "OUT_BITS": 7}),
    ("pool_sum", {"CH": 2, "PE": 1, "WINDOW": 9, "IN_BITS": 4, "IN_SIGNED": 0, "OUT_BITS": 8}),
    ("pool_sum", {"CH": 5, "PE": 2}),
    # vvau: the sums' width, the output's with and without thresholds, PE divides CH, a
    # bipolar operand is one unsigned bit
    ("vvau", {"CH": 3, "PE": 3, "WINDOW": 9, "ACC_BITS": 2, "OUT_BITS": 2}),
    ("vvau", {"CH": 3, "PE": 3, "WINDOW": 9, "ACC_BITS": 1, "OUT_BITS": 1}),
    ("vvau", {"CH": 3, "PE": 3, "WINDOW": 9, "ACC_BITS": 5, "OUT_BITS": 4}),
    ("vvau", {"CH": 3, "PE": 3, "WINDOW": 9, "ACC_BITS": 5, "N_THRESHOLDS": 3, "OUT_BITS": 32}),
    ("vvau", {"CH": 3, "PE": 3, "WINDOW": 9, "ACC_BITS": 5, "N_THRESHOLDS": 3, "OUT_BITS": 33}),
    ("vvau", {"CH": 5, "PE": 2}),
    ("vvau", {"IN_BITS": 1, "IN_SIGNED": 1, "IN_BIPOLAR": 1}),
    # plumbing
    ("stream_fifo", {"WIDTH": 3, "DEPTH": 2}),
    ("stream_fifo", {"WIDTH": 3, "DEPTH": 1}),
    ("width_converter", {"IN_WIDTH": 8, "OUT_WIDTH": 4}),
    ("width_converter", {"IN_WIDTH": 8, "OUT_WIDTH": 3}),
    ("width_converter", {"IN_WIDTH": 3, "OUT_WIDTH": 8}),
    ("skid_buffer", {"WIDTH": 1}),
    ("uart_rx", {"CLKS_PER_BIT": 4}),
    ("uart_tx", {"CLKS_PER_BIT": 3}),
    ("uart_stream_shell", {"CLKS_PER_BIT": 3, "RX_FIFO_DEPTH": 1}),
    ("uart_stream_shell", {"CLKS_PER_BIT": 4, "RX_FIFO_DEPTH": 2}),
]


def _value(value) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def boundary_top() -> str:
    """A top without ports holding one instance per boundary set (and a stand-in for the
    generated core that uart_stream_shell wraps)."""
    lines = ["module rules_top;"]
    for index, (module, parameters) in enumerate(BOUNDARY):
        items = ", ".join(f".{name}({_value(value)})" for name, value in parameters.items())
        lines.append(f"    {module} #({items}) b{index} ();")
    lines.append("endmodule")
    lines.append("module bnncc_top (input wire ap_clk, input wire ap_rst_n, input wire [7:0] s_axis_tdata,")
    lines.append("    input wire s_axis_tvalid, output wire s_axis_tready, output wire [7:0] m_axis_tdata,")
    lines.append("    output wire m_axis_tvalid, input wire m_axis_tready);")
    lines.append("    assign s_axis_tready = 1'b1; assign m_axis_tdata = s_axis_tdata; assign m_axis_tvalid = s_axis_tvalid;")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def elaborated(tmp_path_factory):
    """Instance index -> set of (path below the instance, message) the Verilog printed."""
    top = tmp_path_factory.mktemp("rules") / "rules_top.v"
    top.write_text(boundary_top())
    # the modules' files and those of the submodules they always instantiate (vvau: mac_dot)
    from bnncc.backends.verilog.design import rtl_files

    files = {VERILOG[m]["file"] for m, _ in BOUNDARY}
    sources = [top] + sorted({RTL_LIB / f"{stem}.v" for stem in rtl_files({f[:-2] for f in files}, RTL_LIB)})
    executable = build_verilated("rules_top", sources, {}, HARNESS)
    process = subprocess.run([str(executable)], capture_output=True, text=True)
    printed: dict[int, set] = {index: set() for index in range(len(BOUNDARY))}
    for line in check_messages(process.stdout):
        match = re.fullmatch(r"rules_top\.b(\d+)((?:\.\w+)*): \w+: (.*)", line)
        assert match, f"unexpected simulator output: {line}"
        printed[int(match.group(1))].add((match.group(2).lstrip("."), match.group(3)))
    return printed, process.returncode


def test_python_rejects_exactly_what_verilator_rejects(elaborated):
    printed, returncode = elaborated
    predicted = {
        index: {(v.path, v.message) for v in violations(module, parameters)}
        for index, (module, parameters) in enumerate(BOUNDARY)
    }
    for index, (module, parameters) in enumerate(BOUNDARY):
        assert printed[index] == predicted[index], f"{module} {parameters}"
    legal = [index for index in predicted if not predicted[index]]
    # both sides of the boundaries are exercised
    assert 10 <= len(legal) <= len(BOUNDARY) - 15
    assert returncode == 4


# -- at compile time -----------------------------------------------------------------------
def test_check_names_node_module_and_rule():
    with pytest.raises(ModuleParameterError, match=r"node 'conv2': rtl_lib module streaming_maxpool "
                                                   r"\(submodule streaming_maxpool_1d 'pool_h'\) rejects its parameters: "
                                                   r"padding 2 before the rows must be smaller than the window \(2\)"):
        check_parameters("streaming_maxpool", {"CH": 2, "H": 4, "W": 4, "PAD_T": 2}, "conv2")
    with pytest.raises(ModuleParameterError, match=r"node 'fc': rtl_lib module mvau rejects its parameters: "
                                                   r"ACC_BITS=3 cannot hold popcounts up to MW=4 as signed"):
        check_parameters("mvau", {**SMALL_MVAU, "ACC_BITS": 3, "N_THRESHOLDS": 1, "OUT_BITS": 1}, "fc")
    check_parameters("mvau", {**SMALL_MVAU, **MAC, "ACC_BITS": 1, "N_THRESHOLDS": 0, "OUT_BITS": 1}, "fc")
    with pytest.raises(ModuleParameterError, match="^node 'fc': module mvau has no parameter ACC_WIDTH$"):
        check_parameters("mvau", {"ACC_WIDTH": 4}, "fc")


def test_linking_refuses_a_fifo_its_module_rejects():
    stage = StageRTL("dense_1", "dense_1", "label_select",
                     {"NUM_CLASSES": 4, "PE": 1, "IN_BITS": 3, "IN_SIGNED": 1, "K": 1, "IDX_BITS": 2},
                     Stream(1, DataType.int(3)), Stream(1, DataType.uint(2)), 4, 1, 4)
    linked = link_stages(chain_graph([stage]), {"dense_1_fifo": 2})
    assert [link.module for link in linked.instances.values()] == ["stream_fifo", "label_select", "stream_fifo"]
    with pytest.raises(ModuleParameterError, match=r"node 'dense_1': rtl_lib module stream_fifo \(instance "
                                                   r"'dense_1_fifo'\) rejects its parameters: DEPTH must be >= 2"):
        link_stages(chain_graph([stage]), {"dense_1_fifo": 1})


# -- a simulation stopped by a check ---------------------------------------------------------
WRAPPER = """module wrap (input wire ap_clk, input wire ap_rst_n, input wire [7:0] s_axis_tdata,
    input wire s_axis_tvalid, output wire s_axis_tready, output wire [7:0] m_axis_tdata,
    output wire m_axis_tvalid, input wire m_axis_tready);
    stream_fifo #(.WIDTH(8), .DEPTH(1)) fc1_fifo (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready));
endmodule
"""


def test_stopped_simulation_reports_the_checks_message_and_instance(tmp_path):
    wrapper = tmp_path / "wrap.v"
    wrapper.write_text(WRAPPER)
    simulator = StreamSimulator("wrap", [wrapper, RTL_LIB / "stream_fifo.v"])
    with pytest.raises(SimulationError, match=r"^simulation of 'wrap' stopped in an elaboration check: "
                                              r"wrap\.fc1_fifo: stream_fifo: DEPTH must be >= 2$"):
        simulator.run([1, 2], 2)
