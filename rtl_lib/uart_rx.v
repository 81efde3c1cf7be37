// uart_rx: UART receiver, 8 data bits, no parity, 1 stop bit (8N1), least significant bit
// first, at one bit per CLKS_PER_BIT clock cycles (CLKS_PER_BIT = f_clk / baud, rounded).
//
// The rxd pin passes a two-flop synchronizer. A falling edge on the idle (high) line starts a
// character; the start bit is checked half a bit later (a shorter low pulse is a glitch and
// is ignored), then each data bit and the stop bit are sampled one bit time apart, i.e. in
// the middle of each bit. A character whose stop bit reads high is offered on m_axis_tdata
// with m_axis_tvalid high for exactly one cycle; there is no ready: the consumer must take
// it in that cycle. A character whose stop bit reads low (framing error) is dropped, and the
// receiver waits for the line to return high before looking for the next start bit; if all
// its data bits were low as well (the line was held low for at least ten bit times, a
// "break"), line_break is high for one cycle. The sample point lies within half a bit of
// the bit's middle for any baud mismatch below about 5 % over a character. Only control
// registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module uart_rx #(
    parameter integer CLKS_PER_BIT = 868  // clock cycles per bit (100 MHz / 115200 baud), >= 4
) (
    input  wire       ap_clk,
    input  wire       ap_rst_n,
    input  wire       rxd,            // serial line, idle high (asynchronous to ap_clk)
    output wire [7:0] m_axis_tdata,   // received character, valid while m_axis_tvalid
    output reg        m_axis_tvalid,  // one-cycle pulse per well-formed character
    output reg        line_break      // one-cycle pulse when a break is detected
);
    // Receiver states.
    localparam [2:0] S_IDLE = 3'd0, S_START = 3'd1, S_DATA = 3'd2, S_STOP = 3'd3, S_WAIT_HIGH = 3'd4;
    // Bits of the bit-time counter.
    localparam integer CW = $clog2(CLKS_PER_BIT);
    localparam integer HALF = CLKS_PER_BIT / 2;
    localparam [CW-1:0] BIT_LAST  = CLKS_PER_BIT[CW-1:0] - 1'b1;  // counter value one bit time ahead
    localparam [CW-1:0] HALF_LAST = HALF[CW-1:0] - 1'b1;          // counter value half a bit ahead

    initial begin
        if (CLKS_PER_BIT < 4) begin $display("%m: uart_rx: CLKS_PER_BIT must be >= 4"); $finish; end
    end

    reg [1:0]    sync;    // two-flop synchronizer of rxd; sync[1] is the sampled line
    reg [2:0]    state;
    reg [CW-1:0] count;   // cycles left to the next sample point
    reg [2:0]    bit_index;
    reg [7:0]    shift;   // data bits, shifted in from the top (least significant bit first)

    wire line = sync[1];
    wire sample = count == {CW{1'b0}};

    assign m_axis_tdata = shift;

    always @(posedge ap_clk) begin
        if (state == S_DATA && sample) shift <= {line, shift[7:1]};
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sync <= 2'b11;
            state <= S_IDLE;
            count <= {CW{1'b0}};
            bit_index <= 3'd0;
            m_axis_tvalid <= 1'b0;
            line_break <= 1'b0;
        end else begin
            sync <= {sync[0], rxd};
            m_axis_tvalid <= 1'b0;
            line_break <= 1'b0;
            count <= sample ? BIT_LAST : count - 1'b1;
            case (state)
                S_IDLE: begin
                    if (!line) begin
                        state <= S_START;
                        count <= HALF_LAST;
                    end
                end
                S_START: begin
                    if (sample) begin
                        state <= line ? S_IDLE : S_DATA;
                        bit_index <= 3'd0;
                    end
                end
                S_DATA: begin
                    if (sample) begin
                        bit_index <= bit_index + 1'b1;
                        if (bit_index == 3'd7) state <= S_STOP;
                    end
                end
                S_STOP: begin
                    if (sample) begin
                        if (line) begin
                            m_axis_tvalid <= 1'b1;
                            state <= S_IDLE;
                        end else begin
                            line_break <= shift == 8'd0;
                            state <= S_WAIT_HIGH;
                        end
                    end
                end
                default: begin  // S_WAIT_HIGH
                    if (line) state <= S_IDLE;
                end
            endcase
        end
    end
endmodule

`default_nettype wire
