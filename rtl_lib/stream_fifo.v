// stream_fifo: AXI-Stream FIFO of DEPTH beats of WIDTH bits.
//
// Registered ready and valid (no combinational path from m_axis_tready to s_axis_tready);
// storage is a plain array so synthesis infers LUTRAM or BRAM. Up to DEPTH beats are held.
// Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module stream_fifo #(
    parameter integer WIDTH = 8,  // bits per beat
    parameter integer DEPTH = 2   // beats of storage, >= 2
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
    end

    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] rd_ptr, wr_ptr;
    reg [AW:0]   count;
    reg [WIDTH-1:0] out_data;
    reg out_valid;

    wire push = s_axis_tvalid && s_axis_tready;
    wire load = (!out_valid || m_axis_tready) && count != 0;

    assign s_axis_tready = count != DEPTH[AW:0];
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (push) mem[wr_ptr] <= s_axis_tdata;
        if (load) out_data <= mem[rd_ptr];
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            rd_ptr <= {AW{1'b0}};
            wr_ptr <= {AW{1'b0}};
            count <= {(AW+1){1'b0}};
            out_valid <= 1'b0;
        end else begin
            if (push) wr_ptr <= (wr_ptr == DEPTH[AW-1:0] - 1'b1) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (load) rd_ptr <= (rd_ptr == DEPTH[AW-1:0] - 1'b1) ? {AW{1'b0}} : rd_ptr + 1'b1;
            count <= count + {{AW{1'b0}}, push} - {{AW{1'b0}}, load};
            if (load) out_valid <= 1'b1;
            else if (m_axis_tready) out_valid <= 1'b0;
        end
    end
endmodule

`default_nettype wire
