"""The generated top module: every instance of a hardware graph (:mod:`bnncc.hw.graph`) with
its ports wired by name, one net bundle (tdata, tvalid, tready) per wire. A vector port that
bundles several streams (a fork's outputs, a concat's inputs) is connected to the
concatenation of its lanes' nets, lane 0 in the least significant bits."""

from __future__ import annotations

from bnncc.backends.emitter import Emitter
from bnncc.hw.graph import End, HwGraph, Instance

TOP_MODULE = "bnncc_top"


def _value(value) -> str:
    """A parameter value as Verilog: a string literal, a decimal integer, or a sized decimal
    literal for a non-negative value wider than 32-bit ``integer`` (a packed vector such as
    ``stream_concat``'s CHANNELS)."""
    if isinstance(value, str):
        return f'"{value}"'
    value = int(value)
    if value >= 1 << 31:
        return f"{value.bit_length()}'d{value}"
    return str(value) if value >= 0 else f"-{-value}"


def emit_top(graph: HwGraph, header: list[str]) -> str:
    """Verilog text of the top module of ``graph``."""
    out = Emitter()
    out.lines([f"// {line}" if line else "//" for line in header])
    out.lines(["`timescale 1ns / 1ps", "`default_nettype none", ""])
    first, last = graph.input, graph.output
    out.line(f"module {TOP_MODULE} (")
    with out.indent():
        out.lines([
            "input  wire ap_clk,",
            "input  wire ap_rst_n,",
            f"input  wire [{first.width - 1}:0] s_axis_tdata,",
            "input  wire s_axis_tvalid,",
            "output wire s_axis_tready,",
            f"output wire [{last.width - 1}:0] m_axis_tdata,",
            "output wire m_axis_tvalid,",
            "input  wire m_axis_tready",
        ])
    out.line(");")
    nets = {}
    internal = 0
    with out.indent():
        for wire in graph.wires:
            if wire.source.instance is None:
                net = "s_axis"
            elif wire.target.instance is None:
                net = "m_axis"
            else:
                net, internal = f"w{internal}", internal + 1
            nets[("out", wire.source)] = nets[("in", wire.target)] = net
            if net.startswith("w"):
                source, target = _end_text(graph, wire.source, "outputs"), _end_text(graph, wire.target, "inputs")
                out.line(f"// {source} -> {target}: {wire.stream.elems} x {wire.stream.bits} bit")
                out.line(f"wire [{wire.stream.width - 1}:0] {net}_tdata;")
                out.line(f"wire {net}_tvalid, {net}_tready;")
        out.line("")
        for instance in graph.instances.values():
            _instance(out, instance, nets)
    out.line("endmodule")
    out.line("")
    out.line("`default_nettype wire")
    return out.text()


def _end_text(graph: HwGraph, end: End, ports: str) -> str:
    """An instance, with its port index when it has several ports that way."""
    several = len(getattr(graph.instances[end.instance], ports)) > 1
    return f"{end.instance}[{end.index}]" if several else end.instance


def _connections(instance: Instance, nets: dict, inputs: bool) -> list[tuple[str, str, str, str]]:
    """(port prefix, tdata, tvalid, tready) expressions of every port of one direction, a
    vector port's lanes concatenated (lane 0 least significant)."""
    ports = instance.inputs if inputs else instance.outputs
    direction = "in" if inputs else "out"
    bundles: dict[str, list] = {}
    for index, port in enumerate(ports):
        bundles.setdefault(port.port.prefix, []).append((port.port.lane, nets[(direction, End(instance.name, index))]))
    result = []
    for prefix, lanes in bundles.items():
        names = [net for _, net in sorted(lanes, reverse=True)]
        if len(names) == 1:
            result.append((prefix, f"{names[0]}_tdata", f"{names[0]}_tvalid", f"{names[0]}_tready"))
        else:
            result.append((prefix, *("{" + ", ".join(f"{n}_{s}" for n in names) + "}" for s in ("tdata", "tvalid", "tready"))))
    return result


def _instance(out: Emitter, instance: Instance, nets: dict) -> None:
    out.line(f"{instance.module} #(")
    with out.indent():
        items = list(instance.parameters.items())
        for position, (name, value) in enumerate(items):
            out.line(f".{name}({_value(value)}){',' if position < len(items) - 1 else ''}")
    out.line(f") {instance.name} (")
    lines = [".ap_clk(ap_clk),", ".ap_rst_n(ap_rst_n),"]
    for prefix, data, valid, ready in _connections(instance, nets, True) + _connections(instance, nets, False):
        lines += [f".{prefix}_tdata({data}),", f".{prefix}_tvalid({valid}),", f".{prefix}_tready({ready}),"]
    lines[-1] = lines[-1].rstrip(",")
    with out.indent():
        out.lines(lines)
    out.line(");")
    out.line("")
