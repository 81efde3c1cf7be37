// stream_add: AXI-Stream join that adds two streams element by element (the join of a
// residual block).
//
// Every output beat combines one beat of each input, taken in order: element i of the
// output (bits [i*OUT_BITS +: OUT_BITS], signed two's complement) is
//     m[i] = A_MUL * a[i] + B_MUL * b[i]
// where a[i] = a_axis_tdata[i*A_BITS +: A_BITS] and b[i] = b_axis_tdata[i*B_BITS +: B_BITS],
// each signed or unsigned as A_SIGNED / B_SIGNED say. The multipliers are integer constants
// (e.g. powers of two that bring both operands to one integer grid; they may be negative).
// OUT_BITS must hold every result the operand ranges allow; elaboration checks it. The sum
// is formed modulo 2**EXT_BITS, which is exact because the result fits OUT_BITS bits.
//
// Each input has its own two-entry queue (a skid_buffer: an entry on offer and one behind it)
// with a registered tready, so each input is accepted on its own AXI handshake, never
// waiting combinationally for the other input. The heads of the two queues are added
// together into the output register once both are valid and the output register is free.
// No combinational path runs from any input to any output. Full throughput: one beat per
// cycle when nothing stalls; latency is two cycles. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module stream_add #(
    parameter integer SIMD     = 1,  // elements per beat, >= 1
    parameter integer A_BITS   = 8,  // bits per element of stream a, 1..31
    parameter integer B_BITS   = 8,  // bits per element of stream b, 1..31
    parameter integer A_SIGNED = 1,  // 1: a's elements are two's complement, 0: unsigned
    parameter integer B_SIGNED = 1,  // 1: b's elements are two's complement, 0: unsigned
    parameter integer A_MUL    = 1,  // integer multiplier of a's elements (may be negative)
    parameter integer B_MUL    = 1,  // integer multiplier of b's elements (may be negative)
    parameter integer OUT_BITS = 9   // bits per output element (signed), 1..32, holds every sum
) (
    input  wire                     ap_clk,
    input  wire                     ap_rst_n,
    input  wire [SIMD*A_BITS-1:0]   a_axis_tdata,
    input  wire                     a_axis_tvalid,
    output wire                     a_axis_tready,
    input  wire [SIMD*B_BITS-1:0]   b_axis_tdata,
    input  wire                     b_axis_tvalid,
    output wire                     b_axis_tready,
    output wire [SIMD*OUT_BITS-1:0] m_axis_tdata,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);
    // Operand widths that are legal (the datapath below elaborates even for illegal
    // parameters, so that the checks can report them).
    localparam integer AB = (A_BITS >= 1 && A_BITS <= 31) ? A_BITS : 1;
    localparam integer BB = (B_BITS >= 1 && B_BITS <= 31) ? B_BITS : 1;
    localparam integer OB = (OUT_BITS >= 1 && OUT_BITS <= 32) ? OUT_BITS : 1;
    localparam LEGAL = SIMD >= 1 && A_BITS == AB && B_BITS == BB && OUT_BITS == OB
                       && (A_SIGNED == 0 || A_SIGNED == 1) && (B_SIGNED == 0 || B_SIGNED == 1);
    // Range of each operand, of each product and of the sum, in 64 bits (exact: every
    // product is below 2**62 in magnitude).
    localparam signed [63:0] ONE = 64'sd1;
    localparam signed [63:0] A_MIN = A_SIGNED != 0 ? -(ONE <<< (AB - 1)) : 64'sd0;
    localparam signed [63:0] A_MAX = A_SIGNED != 0 ? (ONE <<< (AB - 1)) - ONE : (ONE <<< AB) - ONE;
    localparam signed [63:0] B_MIN = B_SIGNED != 0 ? -(ONE <<< (BB - 1)) : 64'sd0;
    localparam signed [63:0] B_MAX = B_SIGNED != 0 ? (ONE <<< (BB - 1)) - ONE : (ONE <<< BB) - ONE;
    localparam signed [63:0] A_MUL_64 = {{32{A_MUL[31]}}, A_MUL};  // sign-extended
    localparam signed [63:0] B_MUL_64 = {{32{B_MUL[31]}}, B_MUL};
    localparam signed [63:0] A_LO = A_MUL_64 >= 0 ? A_MUL_64 * A_MIN : A_MUL_64 * A_MAX;
    localparam signed [63:0] A_HI = A_MUL_64 >= 0 ? A_MUL_64 * A_MAX : A_MUL_64 * A_MIN;
    localparam signed [63:0] B_LO = B_MUL_64 >= 0 ? B_MUL_64 * B_MIN : B_MUL_64 * B_MAX;
    localparam signed [63:0] B_HI = B_MUL_64 >= 0 ? B_MUL_64 * B_MAX : B_MUL_64 * B_MIN;
    localparam signed [63:0] SUM_MIN = A_LO + B_LO;  // smallest result
    localparam signed [63:0] SUM_MAX = A_HI + B_HI;  // largest result
    localparam signed [63:0] OUT_MIN = -(ONE <<< (OB - 1));
    localparam signed [63:0] OUT_MAX = (ONE <<< (OB - 1)) - ONE;
    // Width the elements are added in: wide enough for each operand and the result.
    localparam integer EXT_BITS = AB > BB ? (AB > OB ? AB : OB) : (BB > OB ? BB : OB);

    initial begin
        if (SIMD < 1) begin $display("%m: stream_add: SIMD must be >= 1"); $finish; end
        if (A_BITS < 1 || A_BITS > 31 || B_BITS < 1 || B_BITS > 31) begin
            $display("%m: stream_add: A_BITS and B_BITS must be 1..31"); $finish;
        end
        if ((A_SIGNED != 0 && A_SIGNED != 1) || (B_SIGNED != 0 && B_SIGNED != 1)) begin
            $display("%m: stream_add: A_SIGNED and B_SIGNED must be 0 or 1"); $finish;
        end
        if (OUT_BITS < 1 || OUT_BITS > 32) begin $display("%m: stream_add: OUT_BITS must be 1..32"); $finish; end
        if (LEGAL && (SUM_MIN < OUT_MIN || SUM_MAX > OUT_MAX)) begin
            $display("%m: stream_add: OUT_BITS=%0d cannot hold the results %0d..%0d", OUT_BITS, SUM_MIN, SUM_MAX);
            $finish;
        end
    end

    // -- one skid buffer per input: a two-entry queue with registered ready ---------------
    wire pop;  // both heads are added into the output register this cycle
    wire [SIMD*A_BITS-1:0] a_head_data;  // a's beat at the head of its queue
    wire [SIMD*B_BITS-1:0] b_head_data;
    wire a_head_valid;
    wire b_head_valid;

    skid_buffer #(.WIDTH(SIMD * A_BITS)) a_queue (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(a_axis_tdata), .s_axis_tvalid(a_axis_tvalid), .s_axis_tready(a_axis_tready),
        .m_axis_tdata(a_head_data), .m_axis_tvalid(a_head_valid), .m_axis_tready(pop)
    );
    skid_buffer #(.WIDTH(SIMD * B_BITS)) b_queue (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(b_axis_tdata), .s_axis_tvalid(b_axis_tvalid), .s_axis_tready(b_axis_tready),
        .m_axis_tdata(b_head_data), .m_axis_tvalid(b_head_valid), .m_axis_tready(pop)
    );

    // -- the sum, into the output register -------------------------------------------------
    reg                     out_valid;
    reg [SIMD*OUT_BITS-1:0] out_data;
    wire [SIMD*OUT_BITS-1:0] sum;  // every element's result, from the two heads

    assign pop = a_head_valid && b_head_valid && (!out_valid || m_axis_tready);
    assign m_axis_tvalid = out_valid;
    assign m_axis_tdata = out_data;

    localparam [EXT_BITS-1:0] A_MUL_EXT = A_MUL_64[EXT_BITS-1:0];  // multipliers modulo 2**EXT_BITS
    localparam [EXT_BITS-1:0] B_MUL_EXT = B_MUL_64[EXT_BITS-1:0];

    genvar i;
    generate
        for (i = 0; i < SIMD; i = i + 1) begin : element
            wire [AB-1:0] a_elem = a_head_data[i*A_BITS +: AB];
            wire [BB-1:0] b_elem = b_head_data[i*B_BITS +: BB];
            wire [EXT_BITS-1:0] a_ext;  // a[i] sign- or zero-extended
            wire [EXT_BITS-1:0] b_ext;
            if (EXT_BITS > AB) begin : a_wide
                assign a_ext = {{(EXT_BITS - AB){A_SIGNED != 0 && a_elem[AB-1]}}, a_elem};
            end else begin : a_full
                assign a_ext = a_elem;
            end
            if (EXT_BITS > BB) begin : b_wide
                assign b_ext = {{(EXT_BITS - BB){B_SIGNED != 0 && b_elem[BB-1]}}, b_elem};
            end else begin : b_full
                assign b_ext = b_elem;
            end
            // Above OUT_BITS only when an operand is wider than the result (its multiplier is 0).
            /* verilator lint_off UNUSEDSIGNAL */
            wire [EXT_BITS-1:0] total = a_ext * A_MUL_EXT + b_ext * B_MUL_EXT;
            /* verilator lint_on UNUSEDSIGNAL */
            assign sum[i*OUT_BITS +: OB] = total[OB-1:0];
        end
    endgenerate

    always @(posedge ap_clk) begin
        if (pop) out_data <= sum;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) out_valid <= 1'b0;
        else if (pop) out_valid <= 1'b1;
        else if (m_axis_tready) out_valid <= 1'b0;
    end
endmodule

`default_nettype wire
