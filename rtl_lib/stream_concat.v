// stream_concat: AXI-Stream join, concatenation of N_IN NHWC streams along channels.
//
// Input k carries a frame of PIXELS pixels of C_k channels each (BITS-bit elements, SIMD
// elements per beat, element 0 in the least significant bits). The output carries PIXELS
// pixels of C_0 + C_1 + ... + C_{N_IN-1} channels: output pixel p, channel c is input k's
// pixel p, channel c - (C_0 + ... + C_{k-1}) for the k with C_0 + ... + C_{k-1} <= c <
// C_0 + ... + C_k. Every C_k is a multiple of SIMD, so no beat straddles two inputs: for every
// pixel the output takes C_0/SIMD beats from input 0, then C_1/SIMD beats from input 1, and so
// on, and starts over with input 0 for the next pixel. A one-hot register selects the input
// and a counter counts its beats; only the selected input is ready. The pattern repeats every
// pixel, so the logic does not count pixels (PIXELS gives the frame length to the checks and to
// the compiler). The output is registered by a skid_buffer: there is no combinational path
// from any input to any output. One beat per cycle while the selected input is valid and the
// output ready; latency is one cycle. Only control registers are reset.
//
// CHANNELS holds C_k in bits [16*k +: 16]. It has no declared range, so it takes the width of
// the value given (Verilog-2001, 12.2): pass a vector of N_IN 16-bit fields, e.g.
// .CHANNELS({16'd24, 16'd8}) for C_0 = 8, C_1 = 24. Fields above the value's width read as 0.
`timescale 1ns / 1ps
`default_nettype none

module stream_concat #(
    parameter integer N_IN = 2,    // number of input streams, 2..8
    parameter integer BITS = 8,    // bits per element, >= 1
    parameter integer SIMD = 1,    // elements per beat (every input and the output), >= 1
    parameter integer PIXELS = 1,  // pixels per frame, >= 1
    parameter CHANNELS = 262148    // field k (bits [16*k +: 16]) = C_k, channels of input k,
                                   // >= 1 and a multiple of SIMD; default {16'd4, 16'd4}
) (
    input  wire                        ap_clk,
    input  wire                        ap_rst_n,
    input  wire [N_IN*SIMD*BITS-1:0]   s_axis_tdata,
    input  wire [N_IN-1:0]             s_axis_tvalid,
    output wire [N_IN-1:0]             s_axis_tready,
    output wire [SIMD*BITS-1:0]        m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);
    localparam integer WIDTH = SIMD * BITS;  // bits per beat

    // C_k: field k of CHANNELS (0 above its width).
    function integer channels_of;
        input integer k;
        reg [15:0] field;
        begin
            // Keeps the low 16 bits of the shifted value, whatever the width CHANNELS was given.
            /* verilator lint_off WIDTHTRUNC */
            field = CHANNELS >> (16 * k);
            /* verilator lint_on WIDTHTRUNC */
            channels_of = {16'd0, field};
        end
    endfunction

    // The first input whose channel count is illegal (< 1 or not a multiple of SIMD), -1 if none.
    function integer first_bad_input;
        input integer unused;
        integer k;
        begin
            first_bad_input = -1 + 0 * unused;
            for (k = N_IN - 1; k >= 0; k = k - 1)
                if (channels_of(k) < 1 || (SIMD >= 1 && channels_of(k) % SIMD != 0)) first_bad_input = k;
        end
    endfunction

    localparam integer BAD_INPUT = first_bad_input(0);
    localparam integer BAD_CHANNELS = BAD_INPUT >= 0 ? channels_of(BAD_INPUT) : 0;

    initial begin
        if (N_IN < 2 || N_IN > 8) begin $display("%m: stream_concat: N_IN must be 2..8"); $finish; end
        if (BITS < 1 || SIMD < 1) begin $display("%m: stream_concat: BITS and SIMD must be >= 1"); $finish; end
        if (PIXELS < 1) begin $display("%m: stream_concat: PIXELS must be >= 1"); $finish; end
        if (BAD_INPUT >= 0) begin
            $display("%m: stream_concat: input %0d has %0d channels, not a positive multiple of SIMD=%0d",
                     BAD_INPUT, BAD_CHANNELS, SIMD);
            $finish;
        end
    end

    reg [N_IN-1:0] sel;   // one-hot: the input the output takes its beats from
    reg [15:0]     beat;  // beats taken from the selected input in this pixel

    reg [WIDTH-1:0] sel_data;   // data of the selected input
    reg [15:0]      sel_last;   // C_sel/SIMD - 1: its last beat in a pixel
    wire [N_IN*16-1:0] lasts;   // C_k/SIMD - 1 of every input k in bits [16*k +: 16]
    wire buffer_ready;          // the skid buffer's registered s_axis_tready

    genvar g;
    generate
        for (g = 0; g < N_IN; g = g + 1) begin : input_k
            localparam integer LAST = SIMD >= 1 ? channels_of(g) / SIMD - 1 : 0;
            assign lasts[16*g +: 16] = LAST[15:0];
        end
    endgenerate

    integer i;
    always @* begin
        sel_data = {WIDTH{1'b0}};
        sel_last = 16'd0;
        for (i = 0; i < N_IN; i = i + 1)
            if (sel[i]) begin
                sel_data = sel_data | s_axis_tdata[i*WIDTH +: WIDTH];
                sel_last = sel_last | lasts[16*i +: 16];
            end
    end

    wire sel_valid = |(s_axis_tvalid & sel);
    wire take = sel_valid && buffer_ready;
    assign s_axis_tready = {N_IN{buffer_ready}} & sel;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sel  <= {{(N_IN-1){1'b0}}, 1'b1};
            beat <= 16'd0;
        end else if (take) begin
            if (beat == sel_last) begin
                beat <= 16'd0;
                sel  <= (sel << 1) | (sel >> (N_IN - 1));  // next input, back to 0 after the last
            end else begin
                beat <= beat + 16'd1;
            end
        end
    end

    skid_buffer #(.WIDTH(WIDTH)) out_buffer (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(sel_data), .s_axis_tvalid(sel_valid), .s_axis_tready(buffer_ready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
    );
endmodule

`default_nettype wire
