"""The generated top module: the stages in a chain, a FIFO in front of every stage and at
the output, width converters where a producer's beat is not its consumer's."""

from __future__ import annotations

from dataclasses import dataclass, field

from bnncc.backends.emitter import Emitter
from bnncc.backends.verilog.fifo_sizing import derive_fifo_depths
from bnncc.backends.verilog.module_rules import check_parameters
from bnncc.hw.stage import StageRTL, Stream, converter_widths

TOP_MODULE = "bnncc_top"


@dataclass
class Link:
    """One instance in the chain: a stage, a FIFO or a width converter, with the cycles it
    needs per frame at full rate (a converter moves one beat per cycle on its narrow side)."""

    instance: str
    module: str
    parameters: dict
    input: Stream
    output: Stream
    cycles: int = 0
    #: What the resource estimate needs beyond the parameters (``StageRTL.hints``).
    hints: dict = field(default_factory=dict)


def chain(stages: list[StageRTL], fifo_depths: dict[str, int] | None = None, default_depth: int = 2) -> list[Link]:
    """The instances from the top's input to its output. The FIFO in front of a stage is
    ``fifo_depths[stage.instance]`` deep if given, else as derived by ``fifo_sizing`` (at
    least ``default_depth``); the output FIFO is ``fifo_depths["output"]`` or
    ``default_depth`` deep (the sink is always ready). The FIFOs' and converters' parameters
    are checked against their modules' rules; an error names the stage they feed."""
    fifo_depths = fifo_depths or {}
    derived = {} if all(stage.instance in fifo_depths for stage in stages) else derive_fifo_depths(stages, default_depth)
    links: list[Link] = []
    current = stages[0].input
    frame_elems = stages[0].in_beats * stages[0].input.elems
    for stage in stages:
        first_own = len(links)  # the converters and FIFO in front of this stage
        for index, elems in enumerate(converter_widths(current, stage.input)):
            target = Stream(elems, current.dtype)
            links.append(Link(f"{stage.instance}_convert{index}", "width_converter",
                              {"IN_WIDTH": current.width, "OUT_WIDTH": target.width}, current, target,
                              frame_elems // min(current.elems, target.elems)))
            current = target
        depth = fifo_depths[stage.instance] if stage.instance in fifo_depths else derived[stage.instance]
        links.append(Link(f"{stage.instance}_fifo", "stream_fifo", {"WIDTH": current.width, "DEPTH": depth}, current, current))
        for link in links[first_own:]:
            check_parameters(link.module, link.parameters, stage.node, link.instance)
        links.append(Link(stage.instance, stage.module, stage.parameters, stage.input, stage.output, stage.cycles,
                          stage.hints))
        current = stage.output
        frame_elems = stage.out_beats * stage.output.elems
    depth = fifo_depths.get("output", default_depth)
    links.append(Link("output_fifo", "stream_fifo", {"WIDTH": current.width, "DEPTH": depth}, current, current))
    check_parameters("stream_fifo", links[-1].parameters, stages[-1].node, "output_fifo")
    return links


def _value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    value = int(value)
    return str(value) if value >= 0 else f"-{-value}"


def emit_top(links: list[Link], header: list[str]) -> str:
    """Verilog text of the top module."""
    out = Emitter()
    out.lines([f"// {line}" if line else "//" for line in header])
    out.lines(["`timescale 1ns / 1ps", "`default_nettype none", ""])
    first, last = links[0].input, links[-1].output
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
    with out.indent():
        for index, link in enumerate(links[:-1]):
            out.line(f"// {link.instance} -> {links[index + 1].instance}: {link.output.elems} x {link.output.bits} bit")
            out.line(f"wire [{link.output.width - 1}:0] w{index}_tdata;")
            out.line(f"wire w{index}_tvalid, w{index}_tready;")
        out.line("")
        for index, link in enumerate(links):
            source = "s_axis" if index == 0 else f"w{index - 1}"
            sink = "m_axis" if index == len(links) - 1 else f"w{index}"
            _instance(out, link, source, sink)
    out.line("endmodule")
    out.line("")
    out.line("`default_nettype wire")
    return out.text()


def _instance(out: Emitter, link: Link, source: str, sink: str) -> None:
    out.line(f"{link.module} #(")
    with out.indent():
        items = list(link.parameters.items())
        for position, (name, value) in enumerate(items):
            out.line(f".{name}({_value(value)}){',' if position < len(items) - 1 else ''}")
    out.line(f") {link.instance} (")
    with out.indent():
        out.lines([
            ".ap_clk(ap_clk),",
            ".ap_rst_n(ap_rst_n),",
            f".s_axis_tdata({source}_tdata),",
            f".s_axis_tvalid({source}_tvalid),",
            f".s_axis_tready({source}_tready),",
            f".m_axis_tdata({sink}_tdata),",
            f".m_axis_tvalid({sink}_tvalid),",
            f".m_axis_tready({sink}_tready)",
        ])
    out.line(");")
    out.line("")
