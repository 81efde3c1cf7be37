// stream_fork: AXI-Stream duplicator of WIDTH-bit beats, one input to N_OUT outputs.
//
// Every input beat is delivered exactly once to every output, in order. Each output has its
// own two-entry queue (an output register holding the beat on offer and a "skid" register
// behind it), so the outputs advance independently: an output that stalls does not keep the
// others from taking the beats already accepted. The input is accepted while every queue
// has room for one more beat whatever happens in the same cycle, i.e. while no skid entry is
// full; that decision is registered, so there is no combinational path from any
// m_axis_tready (or any other input) to s_axis_tready, nor from any input to m_axis_tvalid
// or m_axis_tdata. Full throughput: one beat per cycle when no output stalls; latency is
// one cycle. A stalled output holds up the input only once its two entries are full.
// Output k carries its beats in m_axis_tdata[k*WIDTH +: WIDTH] with valid and ready bit k.
// Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module stream_fork #(
    parameter integer WIDTH = 8,  // bits per beat, >= 1
    parameter integer N_OUT = 2   // number of output streams, >= 2
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [WIDTH-1:0]       s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [N_OUT*WIDTH-1:0] m_axis_tdata,
    output wire [N_OUT-1:0]       m_axis_tvalid,
    input  wire [N_OUT-1:0]       m_axis_tready
);
    initial begin
        if (WIDTH < 1) begin $display("%m: stream_fork: WIDTH must be >= 1"); $finish; end
        if (N_OUT < 2) begin $display("%m: stream_fork: N_OUT must be >= 2"); $finish; end
    end

    reg             in_ready;          // registered s_axis_tready
    reg [N_OUT-1:0] out_valid;         // output k has a beat on offer
    reg [N_OUT-1:0] skid_valid;        // output k has a second beat queued behind it
    wire [N_OUT-1:0] skid_valid_next;  // skid_valid after this cycle

    // An input beat is taken by all outputs at once. in_ready implies every skid entry is
    // empty, so each queue has room for it.
    wire push = s_axis_tvalid && in_ready;

    assign s_axis_tready = in_ready;
    assign m_axis_tvalid = out_valid;

    genvar k;
    generate
        for (k = 0; k < N_OUT; k = k + 1) begin : lane
            reg [WIDTH-1:0] out_data;   // beat on offer at output k
            reg [WIDTH-1:0] skid_data;  // beat queued behind it

            wire pop = out_valid[k] && m_axis_tready[k];
            // Which register takes which beat this cycle.
            wire in_to_out   = push && (!out_valid[k] || pop);  // straight to the output
            wire in_to_skid  = push && out_valid[k] && !pop;    // output busy: queue behind it
            wire skid_to_out = !push && pop;                    // queued beat (if any) moves up

            assign skid_valid_next[k] = in_to_skid || (skid_valid[k] && !pop);
            assign m_axis_tdata[k*WIDTH +: WIDTH] = out_data;

            always @(posedge ap_clk) begin
                if (in_to_out) out_data <= s_axis_tdata;
                else if (skid_to_out) out_data <= skid_data;
                if (in_to_skid) skid_data <= s_axis_tdata;
            end

            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    out_valid[k]  <= 1'b0;
                    skid_valid[k] <= 1'b0;
                end else begin
                    if (in_to_out) out_valid[k] <= 1'b1;
                    else if (skid_to_out) out_valid[k] <= skid_valid[k];
                    skid_valid[k] <= skid_valid_next[k];
                end
            end
        end
    endgenerate

    // Ready next cycle while every skid entry will be empty: each queue then holds at most
    // one beat and can take the next input whether or not its output drains.
    always @(posedge ap_clk) begin
        if (!ap_rst_n) in_ready <= 1'b0;
        else in_ready <= ~|skid_valid_next;
    end
endmodule

`default_nettype wire
