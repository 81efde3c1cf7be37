// uart_tx: UART transmitter, 8 data bits, no parity, 1 stop bit (8N1), least significant
// bit first, at one bit per CLKS_PER_BIT clock cycles (CLKS_PER_BIT = f_clk / baud, rounded).
//
// Takes one character from the AXI-Stream input whenever it is idle and sends the frame
// start bit (low), data bits 0..7, stop bit (high), each held for CLKS_PER_BIT cycles:
// 10 * CLKS_PER_BIT cycles per character. s_axis_tready is high when idle and in the last
// cycle of a stop bit, so back-to-back characters leave no idle time between the stop bit
// of one and the start bit of the next. txd is driven from a register and is high (idle) out of
// reset. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module uart_tx #(
    parameter integer CLKS_PER_BIT = 868  // clock cycles per bit (100 MHz / 115200 baud), >= 4
) (
    input  wire       ap_clk,
    input  wire       ap_rst_n,
    input  wire [7:0] s_axis_tdata,
    input  wire       s_axis_tvalid,
    output wire       s_axis_tready,
    output wire       txd             // serial line, idle high
);
    // Bits of the bit-time counter.
    localparam integer CW = $clog2(CLKS_PER_BIT);
    localparam [CW-1:0] BIT_LAST = CLKS_PER_BIT[CW-1:0] - 1'b1;

    initial begin
        if (CLKS_PER_BIT < 4) begin $display("%m: uart_tx: CLKS_PER_BIT must be >= 4"); $finish; end
    end

    reg [9:0]    frame;      // bits still to send, the one on the line in frame[0]
    reg [3:0]    bits_left;  // bits of the current frame not yet finished, 0 when idle
    reg [CW-1:0] count;      // cycles left of the current bit

    wire idle = bits_left == 4'd0;
    wire stop_ends = bits_left == 4'd1 && count == {CW{1'b0}};
    wire start = (idle || stop_ends) && s_axis_tvalid;

    assign s_axis_tready = idle || stop_ends;
    assign txd = frame[0];

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            frame <= 10'h3ff;
            bits_left <= 4'd0;
            count <= {CW{1'b0}};
        end else if (start) begin
            frame <= {1'b1, s_axis_tdata, 1'b0};
            bits_left <= 4'd10;
            count <= BIT_LAST;
        end else if (!idle) begin
            if (count == {CW{1'b0}}) begin
                frame <= {1'b1, frame[9:1]};
                bits_left <= bits_left - 1'b1;
                count <= BIT_LAST;
            end else begin
                count <= count - 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
