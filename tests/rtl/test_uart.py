"""rtl_lib/uart_tx.v and uart_rx.v: characters sent by the transmitter come out of the
receiver unchanged, in order and at exactly one character per 10 bit times when sent back
to back; at pin level the receiver ignores glitches and drops characters with a low stop
bit."""

from pathlib import Path

import numpy as np
import pytest

from bnncc.boards.uart_sim import PinScript, PinSimulator
from bnncc.sim import StreamSimulator

RTL = Path(__file__).resolve().parents[2] / "rtl_lib"

# uart_tx -> line -> uart_rx -> FIFO, as an AXI-Stream module for bnncc.sim's harness.
LOOPBACK = """`default_nettype none
module uart_loopback #(parameter integer CLKS_PER_BIT = 8) (
    input wire ap_clk, input wire ap_rst_n,
    input wire [7:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [7:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready
);
    wire line, rx_valid, line_break;
    wire [7:0] rx_data;
    /* verilator lint_off PINCONNECTEMPTY */
    uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) tx (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .s_axis_tdata(s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready), .txd(line));
    uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) rx (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .rxd(line),
        .m_axis_tdata(rx_data), .m_axis_tvalid(rx_valid), .line_break(line_break));
    stream_fifo #(.WIDTH(8), .DEPTH(16)) fifo (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .s_axis_tdata(rx_data),
        .s_axis_tvalid(rx_valid), .s_axis_tready(), .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready));
endmodule
"""

# uart_rx -> FIFO -> uart_tx on pins, for the pin-level harness.
ECHO = """`default_nettype none
module uart_echo #(parameter integer CLKS_PER_BIT = 8) (
    input wire clk, input wire rst_n, input wire uart_rx, output wire uart_tx
);
    wire rx_valid, line_break, fifo_valid, fifo_ready;
    wire [7:0] rx_data, fifo_data;
    /* verilator lint_off PINCONNECTEMPTY */
    uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) rx (.ap_clk(clk), .ap_rst_n(rst_n), .rxd(uart_rx),
        .m_axis_tdata(rx_data), .m_axis_tvalid(rx_valid), .line_break(line_break));
    stream_fifo #(.WIDTH(8), .DEPTH(64)) fifo (.ap_clk(clk), .ap_rst_n(rst_n), .s_axis_tdata(rx_data),
        .s_axis_tvalid(rx_valid), .s_axis_tready(), .m_axis_tdata(fifo_data), .m_axis_tvalid(fifo_valid),
        .m_axis_tready(fifo_ready));
    uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) tx (.ap_clk(clk), .ap_rst_n(rst_n), .s_axis_tdata(fifo_data),
        .s_axis_tvalid(fifo_valid), .s_axis_tready(fifo_ready), .txd(uart_tx));
endmodule
"""


def wrapper(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.v"
    path.write_text(text)
    return path


def sources(tmp_path: Path, name: str, text: str) -> list[Path]:
    return [wrapper(tmp_path, name, text)] + [RTL / f"{m}.v" for m in ("uart_tx", "uart_rx", "stream_fifo")]


@pytest.mark.parametrize("clks_per_bit", [4, 7, 16])
@pytest.mark.parametrize("seed, in_stall", [(1, 0), (2, 60), (3, 97)])
def test_round_trip_with_idle_gaps(tmp_path, clks_per_bit, seed, in_stall):
    """Random bytes with random idle gaps between characters (none when in_stall is 0)."""
    rng = np.random.default_rng(seed)
    data = [int(b) for b in rng.integers(0, 256, size=200)]
    simulator = StreamSimulator("uart_loopback", sources(tmp_path, "uart_loopback", LOOPBACK), {"CLKS_PER_BIT": clks_per_bit})
    result = simulator.run(data, len(data), seed=seed, in_stall=in_stall, out_stall=20)
    assert result.outputs == data
    if in_stall == 0:
        # Back to back: the transmitter takes a character every 10 bit times exactly.
        assert set(np.diff(result.input_cycles).tolist()) == {10 * clks_per_bit}


@pytest.mark.parametrize("clks_per_bit", [8, 13])
def test_receiver_drops_bad_stop_bits_and_ignores_glitches(tmp_path, clks_per_bit):
    rng = np.random.default_rng(clks_per_bit)
    script, expected = PinScript(), bytearray()
    for index in range(120):
        byte = int(rng.integers(0, 256))
        kind = rng.integers(0, 6)
        if kind == 0:
            script.send_bad_stop(byte)  # framing error: dropped
        elif kind == 1:
            script.line_break(clks_per_bit // 2 - 1)  # a glitch shorter than half a bit
            script.idle(clks_per_bit)
        else:
            script.send(bytes([byte]))
            expected.append(byte)
        if rng.integers(0, 2):
            script.idle(int(rng.integers(1, 4 * clks_per_bit)))
    script.send_bad_stop(0)  # a break: dropped as well
    script.line_break(40 * clks_per_bit)
    script.idle(clks_per_bit)  # the line returns to idle for a bit time after a break
    script.send(b"\x5a")
    expected.append(0x5A)
    script.wait_for(len(expected))
    script.idle(30 * clks_per_bit)
    simulator = PinSimulator("uart_echo", sources(tmp_path, "uart_echo", ECHO), clks_per_bit=clks_per_bit)
    run = simulator.run(script)
    assert run.data == bytes(expected)
