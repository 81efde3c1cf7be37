// skid_buffer: AXI-Stream register slice of WIDTH bits (two entries).
//
// Registers the forward path (m_axis_tvalid, m_axis_tdata) and the backward path
// (s_axis_tready): there is no combinational path from any input to any output, so it
// cuts every timing path of a stream. Full throughput: one beat per cycle when neither
// side stalls. The output register holds the beat on offer; the second ("skid") register
// catches the one beat that arrives in the cycle after m_axis_tready falls, while the
// registered s_axis_tready still shows the old value. Beats pass unchanged and in order;
// latency is one cycle. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module skid_buffer #(
    parameter integer WIDTH = 8  // bits per beat, >= 1
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output wire [WIDTH-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready
);
    initial begin
        if (WIDTH < 1) begin $display("%m: skid_buffer: WIDTH must be >= 1"); $finish; end
    end

    reg [WIDTH-1:0] out_data;   // beat on offer at the output
    reg             out_valid;
    reg [WIDTH-1:0] skid_data;  // beat caught while the output was stalled
    reg             skid_valid;
    reg             in_ready;   // registered s_axis_tready

    // Ready next cycle unless both entries may be full: the output drains now, or the skid
    // entry is empty and at most one entry gets filled this cycle.
    wire in_ready_next = m_axis_tready || (!skid_valid && (!out_valid || !s_axis_tvalid));
    wire out_free = m_axis_tready || !out_valid;

    // Which register takes which beat this cycle.
    wire in_to_out   = in_ready && out_free;      // input straight to the output register
    wire in_to_skid  = in_ready && !out_free;     // output stalled: input to the skid entry
    wire skid_to_out = !in_ready && m_axis_tready; // skid entry drains into the output

    assign s_axis_tready = in_ready;
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (in_to_out) out_data <= s_axis_tdata;
        else if (skid_to_out) out_data <= skid_data;
        if (in_to_skid) skid_data <= s_axis_tdata;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            out_valid  <= 1'b0;
            skid_valid <= 1'b0;
            in_ready   <= 1'b0;
        end else begin
            in_ready <= in_ready_next;
            if (in_to_out) out_valid <= s_axis_tvalid;
            else if (skid_to_out) begin
                out_valid  <= skid_valid;
                skid_valid <= 1'b0;
            end
            if (in_to_skid) skid_valid <= s_axis_tvalid;
        end
    end
endmodule

`default_nettype wire
