// stream_fifo: AXI-Stream FIFO of DEPTH beats of WIDTH bits.
//
// Registered ready and valid (no combinational path from m_axis_tready to s_axis_tready;
// s_axis_tready is a register of its own, count != DEPTH, so that a producer's enables do
// not wait for the compare: on ECP5 at 125 MHz the compare, a width converter's output
// enable and its fan-out took 8.4 ns in CNV-padded);
// storage is a plain array so synthesis infers LUTRAM or BRAM. Up to DEPTH beats wait in
// the storage besides those in the read registers (one with READ_REG 0, two with READ_REG
// 1), so DEPTH is the most beats held when one is pushed. Only control registers are reset.
//
// READ_REG 0: the read loads the output register straight from the storage (the block
// RAM's own read register when the storage is one). A beat pushed in cycle c can leave in
// cycle c+2 (latency 2).
//
// READ_REG 1: the storage is block RAM (ram_style "block"), read in two stages: the block's
// read register q1, then the output register q2 (no reset, one enable, read by nothing but
// the output), which synthesis can put into the block's output register (ECP5 REGMODE
// "OUTREG" through bnncc's netlist step bnncc/synth/ecp5_outreg.py, for blocks narrower
// than 36 bits; Vivado's DOB_REG; Yosys keeps it in flip-flops on xc7), so that the data
// leaves the block from a register instead of the RAM's slow read latch. The two stages advance as one pipeline
// that fills its bubbles: q2 loads when it is empty or its beat is taken
// (out_en = !v2 || m_axis_tready), q1 (the read) when it is empty or q2 loads. So one beat
// leaves per cycle while the consumer takes them, m_axis_tready reaches only the read
// enables and the pointers (s_axis_tready stays a function of registers), and a beat
// pushed in cycle c can leave in cycle c+3 (latency 3).
`timescale 1ns / 1ps
`default_nettype none

module stream_fifo #(
    parameter integer WIDTH = 8,  // bits per beat
    parameter integer DEPTH = 2,  // beats of storage, >= 2
    parameter integer READ_REG = 0  // 1: read through two registers (latency 3), see above
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
    localparam integer AW = (DEPTH <= 2) ? 1 : $clog2(DEPTH);

    initial begin
        if (WIDTH < 1) begin $display("%m: stream_fifo: WIDTH must be >= 1"); $finish; end
        if (DEPTH < 2) begin $display("%m: stream_fifo: DEPTH must be >= 2"); $finish; end
        if (READ_REG < 0 || READ_REG > 1) begin $display("%m: stream_fifo: READ_REG must be 0 or 1"); $finish; end
    end

    reg [AW-1:0] rd_ptr, wr_ptr;
    reg [AW:0]   count;
    reg          room;   // count != DEPTH

    wire push = s_axis_tvalid && s_axis_tready;
    wire load;   // a beat leaves the storage (its read is enabled)

    assign s_axis_tready = room;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            rd_ptr <= {AW{1'b0}};
            wr_ptr <= {AW{1'b0}};
            count <= {(AW+1){1'b0}};
            room <= 1'b1;
        end else begin
            if (push) wr_ptr <= (wr_ptr == DEPTH[AW-1:0] - 1'b1) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (load) rd_ptr <= (rd_ptr == DEPTH[AW-1:0] - 1'b1) ? {AW{1'b0}} : rd_ptr + 1'b1;
            count <= count + {{AW{1'b0}}, push} - {{AW{1'b0}}, load};
            // count + 1 != DEPTH after a push alone; below DEPTH after a load alone
            if (push && !load) room <= count != DEPTH[AW:0] - 1'b1;
            else if (load && !push) room <= 1'b1;
        end
    end

    generate
        if (READ_REG == 0) begin : g_one
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [WIDTH-1:0] out_data;
            reg out_valid;
            assign load = (!out_valid || m_axis_tready) && count != 0;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;
            always @(posedge ap_clk) begin
                if (push) mem[wr_ptr] <= s_axis_tdata;
                if (load) out_data <= mem[rd_ptr];
            end
            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    out_valid <= 1'b0;
                end else begin
                    if (load) out_valid <= 1'b1;
                    else if (m_axis_tready) out_valid <= 1'b0;
                end
            end
        end else begin : g_two
            // q1: the storage's read register; q2: the output register (no reset, one
            // enable, nothing but the output reads it). v1, v2: whether they hold a beat.
            // The storage is block RAM; a read never meets a write of the same word (a word
            // is read only while count > 0 and written only while count < DEPTH, and the
            // pointers are equal only at 0 and DEPTH), so no read-during-write logic is needed.
            (* ram_style = "block", no_rw_check *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            reg [WIDTH-1:0] q1, q2;
            reg v1, v2;
            wire out_en = !v2 || m_axis_tready;   // q2 loads (from q1)
            wire rd_en = !v1 || out_en;           // q1 loads (from the storage)
            assign load = rd_en && count != 0;
            assign m_axis_tdata  = q2;
            assign m_axis_tvalid = v2;
            always @(posedge ap_clk) begin
                if (push) mem[wr_ptr] <= s_axis_tdata;
                if (rd_en) q1 <= mem[rd_ptr];
                if (out_en) q2 <= q1;
            end
            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    v1 <= 1'b0;
                    v2 <= 1'b0;
                end else begin
                    if (rd_en) v1 <= count != 0;
                    if (out_en) v2 <= v1;
                end
            end
        end
    endgenerate
endmodule

`default_nettype wire
