// width_converter: AXI-Stream beat width conversion between IN_WIDTH and OUT_WIDTH bits,
// where the wider of the two is a whole multiple R of the narrower.
//
// * IN_WIDTH > OUT_WIDTH (split): each input beat becomes R output beats, least
//   significant OUT_WIDTH bits first: output beat j of input beat b is
//   b[j*OUT_WIDTH +: OUT_WIDTH].
// * IN_WIDTH < OUT_WIDTH (gather): R input beats become one output beat, the first input
//   beat in the least significant bits: output = {b[R-1], ..., b[1], b[0]}.
// * IN_WIDTH == OUT_WIDTH: wires straight through (no register, no latency).
//
// With elements packed element 0 in the least significant bits, splitting or gathering
// keeps the element order of the stream. The wide side moves one beat every R cycles and
// the narrow side one beat per cycle when neither side stalls. Split and gather register
// m_axis_tvalid/tdata and s_axis_tready (no combinational path from m_axis_tready to
// s_axis_tready); latency is one cycle. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module width_converter #(
    parameter integer IN_WIDTH  = 32,  // bits per input beat, >= 1
    parameter integer OUT_WIDTH = 8    // bits per output beat, >= 1; one width divides the other
) (
    input  wire                 ap_clk,
    input  wire                 ap_rst_n,
    input  wire [IN_WIDTH-1:0]  s_axis_tdata,
    input  wire                 s_axis_tvalid,
    output wire                 s_axis_tready,
    output wire [OUT_WIDTH-1:0] m_axis_tdata,
    output wire                 m_axis_tvalid,
    input  wire                 m_axis_tready
);
    // Ratio of the wide width to the narrow width, and the bits of a piece counter.
    localparam integer RATIO = (IN_WIDTH > OUT_WIDTH) ? IN_WIDTH / OUT_WIDTH : OUT_WIDTH / IN_WIDTH;
    localparam integer CW = (RATIO <= 1) ? 1 : $clog2(RATIO + 1);

    initial begin
        if (IN_WIDTH < 1 || OUT_WIDTH < 1) begin
            $display("%m: width_converter: IN_WIDTH and OUT_WIDTH must be >= 1"); $finish;
        end
        if ((IN_WIDTH > OUT_WIDTH && IN_WIDTH % OUT_WIDTH != 0) ||
            (OUT_WIDTH > IN_WIDTH && OUT_WIDTH % IN_WIDTH != 0)) begin
            $display("%m: width_converter: IN_WIDTH (%0d) and OUT_WIDTH (%0d): one must be a multiple of the other",
                     IN_WIDTH, OUT_WIDTH);
            $finish;
        end
    end

    generate
        if (IN_WIDTH == OUT_WIDTH) begin : g_pass
            assign m_axis_tdata  = s_axis_tdata;
            assign m_axis_tvalid = s_axis_tvalid;
            assign s_axis_tready = m_axis_tready;

            // The clock and reset are unused here.
            wire unused = &{1'b0, ap_clk, ap_rst_n};
        end else if (IN_WIDTH > OUT_WIDTH) begin : g_split
            // shift: the input beat being sent, shifted right one piece per output beat;
            // left: pieces still to send (0: empty). hold: the next input beat, taken while
            // shift is still busy so that s_axis_tready can be a register.
            reg [IN_WIDTH-1:0] shift;
            reg [CW-1:0]       left;
            reg [IN_WIDTH-1:0] hold;
            reg                hold_valid;

            wire out_fire = left != {CW{1'b0}} && m_axis_tready;
            wire in_fire  = s_axis_tvalid && !hold_valid;
            // shift takes a new beat when it is empty or sends its last piece now.
            wire reload   = left == {CW{1'b0}} || (left == {{(CW-1){1'b0}}, 1'b1} && m_axis_tready);

            assign s_axis_tready = !hold_valid;
            assign m_axis_tdata  = shift[OUT_WIDTH-1:0];
            assign m_axis_tvalid = left != {CW{1'b0}};

            always @(posedge ap_clk) begin
                if (reload) shift <= hold_valid ? hold : s_axis_tdata;
                else if (out_fire) shift <= shift >> OUT_WIDTH;
                if (in_fire && !reload) hold <= s_axis_tdata;
            end

            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    left <= {CW{1'b0}};
                    hold_valid <= 1'b0;
                end else begin
                    if (reload) begin
                        if (hold_valid || in_fire) left <= RATIO[CW-1:0];
                        else left <= {CW{1'b0}};
                        // hold drains into shift; a beat arriving now goes to shift directly
                        // when hold is empty, else (hold full means no input was accepted) stays.
                        if (hold_valid) hold_valid <= 1'b0;
                    end else begin
                        if (out_fire) left <= left - 1'b1;
                        if (in_fire) hold_valid <= 1'b1;
                    end
                end
            end
        end else begin : g_gather
            // gather: input beats shifted in from the top, so that after RATIO beats the
            // first sits in the least significant bits. count: beats gathered so far.
            // full: a complete word waits in gather because the output register was busy;
            // input stalls (registered s_axis_tready) until it moves out.
            reg [OUT_WIDTH-1:0] gather;
            reg [CW-1:0]        count;
            reg                 full;
            reg [OUT_WIDTH-1:0] out_data;
            reg                 out_valid;

            wire in_fire   = s_axis_tvalid && !full;
            wire out_free  = !out_valid || m_axis_tready;
            wire last      = count == RATIO[CW-1:0] - 1'b1;
            wire [OUT_WIDTH-1:0] shifted = {s_axis_tdata, gather[OUT_WIDTH-1:IN_WIDTH]};
            wire complete  = in_fire && last;           // the last beat of a word arrives
            wire direct    = complete && out_free;      // ... and goes straight to the output
            wire from_full = full && out_free;          // a waiting word moves to the output

            assign s_axis_tready = !full;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;

            always @(posedge ap_clk) begin
                if (in_fire) gather <= shifted;
                if (direct) out_data <= shifted;
                else if (from_full) out_data <= gather;
            end

            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    count <= {CW{1'b0}};
                    full <= 1'b0;
                    out_valid <= 1'b0;
                end else begin
                    if (in_fire) count <= last ? {CW{1'b0}} : count + 1'b1;
                    if (complete && !out_free) full <= 1'b1;
                    else if (from_full) full <= 1'b0;
                    if (direct || from_full) out_valid <= 1'b1;
                    else if (m_axis_tready) out_valid <= 1'b0;
                end
            end
        end
    endgenerate
endmodule

`default_nettype wire
