// uart_stream_shell: runs the generated design bnncc_top on a board behind a UART (8N1).
//
//   uart_rx pin -> uart_rx -> byte FIFO -> bytes to beats -> bnncc_top
//                                                              |
//   uart_tx pin <- uart_tx <-------------- beats to bytes <----+
//
// Byte protocol (bnncc/boards/protocol.py is the full description): every input beat is
// IN_BYTES = ceil(IN_WIDTH / 8) bytes, least significant byte first, the bits above
// IN_WIDTH of the last byte ignored; every output beat is OUT_BYTES = ceil(OUT_WIDTH / 8)
// bytes in the same order, the bits above OUT_WIDTH zero. There are no headers: frames are
// delimited by byte counts alone.
//
// The core has back-pressure, the serial line has not: received bytes wait in a FIFO of
// RX_FIFO_DEPTH bytes, and a byte that arrives while it is full is lost. The host must
// therefore never have more than RX_FIFO_DEPTH bytes sent that the core has not taken; it
// is enough to have at most floor(RX_FIFO_DEPTH / input bytes per frame) frames in flight,
// counting a frame as in flight until its last output byte has arrived. On the output side
// nothing is lost: the core waits for the transmitter.
//
// Reset: the rst_n pin (active low, asynchronous; tie it high on boards without a button)
// passes a two-flop synchronizer; the shell and the core are reset for 16 cycles after
// configuration and after rst_n is released. A break on uart_rx (the line held low for at
// least ten bit times) resets the core, the FIFO and the byte packers without disturbing
// the UART itself: this is how the host resynchronizes to a frame boundary.
`timescale 1ns / 1ps
`default_nettype none

module uart_stream_shell #(
    parameter integer IN_WIDTH      = 8,     // bits of bnncc_top's s_axis_tdata, >= 1
    parameter integer OUT_WIDTH     = 8,     // bits of bnncc_top's m_axis_tdata, >= 1
    parameter integer CLKS_PER_BIT  = 868,   // clock cycles per UART bit (f_clk / baud), >= 4
    parameter integer RX_FIFO_DEPTH = 2048,  // bytes buffered between the receiver and the core, >= 2
    parameter integer RX_FIFO_READ_REG = 0   // the FIFO's READ_REG (1: block RAM read through two registers)
) (
    input  wire clk,
    input  wire rst_n,    // active-low reset (button), asynchronous to clk
    input  wire uart_rx,  // serial data from the host
    output wire uart_tx   // serial data to the host
);
    localparam integer IN_BYTES  = (IN_WIDTH + 7) / 8;
    localparam integer OUT_BYTES = (OUT_WIDTH + 7) / 8;
    localparam integer IN_CW  = $clog2(IN_BYTES + 1);   // bits of the input byte counter
    localparam integer OUT_CW = $clog2(OUT_BYTES + 1);  // bits of the output byte counter
    localparam integer RESET_BITS = 4;                  // reset lasts 2**RESET_BITS cycles

    initial begin
        if (IN_WIDTH < 1 || OUT_WIDTH < 1) begin
            $display("%m: uart_stream_shell: IN_WIDTH and OUT_WIDTH must be >= 1"); $finish;
        end
        if (RX_FIFO_DEPTH < 2) begin $display("%m: uart_stream_shell: RX_FIFO_DEPTH must be >= 2"); $finish; end
    end

    // ---- reset --------------------------------------------------------------------------
    reg [1:0]          pin_sync;   // synchronizer of the rst_n pin
    reg [RESET_BITS:0] uart_hold;  // cycles the UART has been out of pin reset, saturating
    reg [RESET_BITS:0] core_hold;  // cycles the core has been out of reset, saturating
    wire uart_rst_n = uart_hold[RESET_BITS];
    wire core_rst_n = core_hold[RESET_BITS];
    wire line_break;

    // Initial values (FPGA configuration) start everything in reset: the power-on reset.
    initial begin
        pin_sync = 2'b00;
        uart_hold = {(RESET_BITS + 1){1'b0}};
        core_hold = {(RESET_BITS + 1){1'b0}};
    end

    always @(posedge clk) begin
        pin_sync <= {pin_sync[0], rst_n};
        if (!pin_sync[1]) uart_hold <= {(RESET_BITS + 1){1'b0}};
        else if (!uart_rst_n) uart_hold <= uart_hold + 1'b1;
        if (!uart_rst_n || line_break) core_hold <= {(RESET_BITS + 1){1'b0}};
        else if (!core_rst_n) core_hold <= core_hold + 1'b1;
    end

    // ---- receive: bytes into the FIFO -------------------------------------------------
    wire [7:0] rx_byte;
    wire       rx_valid;
    wire [7:0] fifo_byte;
    wire       fifo_valid;
    wire       fifo_ready;

    uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) receiver (
        .ap_clk(clk), .ap_rst_n(uart_rst_n), .rxd(uart_rx),
        .m_axis_tdata(rx_byte), .m_axis_tvalid(rx_valid), .line_break(line_break)
    );

    /* verilator lint_off PINCONNECTEMPTY */
    stream_fifo #(.WIDTH(8), .DEPTH(RX_FIFO_DEPTH), .READ_REG(RX_FIFO_READ_REG)) rx_fifo (
        .ap_clk(clk), .ap_rst_n(core_rst_n),
        .s_axis_tdata(rx_byte), .s_axis_tvalid(rx_valid), .s_axis_tready(),
        .m_axis_tdata(fifo_byte), .m_axis_tvalid(fifo_valid), .m_axis_tready(fifo_ready)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // ---- bytes to input beats: the first byte of a beat ends in the lowest bits ---------
    reg [8*IN_BYTES-1:0] in_bytes;
    reg [IN_CW-1:0]      in_count;  // bytes gathered into in_bytes
    wire in_full = in_count == IN_BYTES[IN_CW-1:0];
    wire [IN_WIDTH-1:0] core_in_data = in_bytes[IN_WIDTH-1:0];
    wire core_in_ready;
    /* verilator lint_off UNUSEDSIGNAL */  // the byte shifted out at the bottom
    wire [8*IN_BYTES+7:0] in_shifted = {fifo_byte, in_bytes};
    /* verilator lint_on UNUSEDSIGNAL */

    assign fifo_ready = !in_full;

    always @(posedge clk) begin
        if (fifo_valid && !in_full) in_bytes <= in_shifted[8*IN_BYTES+7:8];
    end

    always @(posedge clk) begin
        if (!core_rst_n) in_count <= {IN_CW{1'b0}};
        else if (in_full && core_in_ready) in_count <= {IN_CW{1'b0}};
        else if (fifo_valid && !in_full) in_count <= in_count + 1'b1;
    end

    // ---- the design ------------------------------------------------------------------
    wire [OUT_WIDTH-1:0] core_out_data;
    wire core_out_valid;
    wire core_out_ready;

    bnncc_top core (
        .ap_clk(clk), .ap_rst_n(core_rst_n),
        .s_axis_tdata(core_in_data), .s_axis_tvalid(in_full), .s_axis_tready(core_in_ready),
        .m_axis_tdata(core_out_data), .m_axis_tvalid(core_out_valid), .m_axis_tready(core_out_ready)
    );

    // ---- output beats to bytes, least significant byte first -------------------------
    reg [8*OUT_BYTES-1:0] out_bytes;
    reg [OUT_CW-1:0]      out_count;  // bytes of out_bytes still to send
    wire tx_ready;
    wire out_empty = out_count == {OUT_CW{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */  // zero padding above OUT_WIDTH, the byte shifted out
    wire [8*OUT_BYTES+OUT_WIDTH-1:0] out_padded = {{(8*OUT_BYTES){1'b0}}, core_out_data};
    wire [8*OUT_BYTES+7:0] out_shifted = {8'd0, out_bytes};
    /* verilator lint_on UNUSEDSIGNAL */

    assign core_out_ready = out_empty;

    always @(posedge clk) begin
        if (core_out_valid && out_empty) out_bytes <= out_padded[8*OUT_BYTES-1:0];
        else if (!out_empty && tx_ready) out_bytes <= out_shifted[8*OUT_BYTES+7:8];
    end

    always @(posedge clk) begin
        if (!core_rst_n) out_count <= {OUT_CW{1'b0}};
        else if (core_out_valid && out_empty) out_count <= OUT_BYTES[OUT_CW-1:0];
        else if (!out_empty && tx_ready) out_count <= out_count - 1'b1;
    end

    uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) transmitter (
        .ap_clk(clk), .ap_rst_n(uart_rst_n),
        .s_axis_tdata(out_bytes[7:0]), .s_axis_tvalid(!out_empty), .s_axis_tready(tx_ready),
        .txd(uart_tx)
    );
endmodule

`default_nettype wire
