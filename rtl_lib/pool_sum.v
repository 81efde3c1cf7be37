// pool_sum: the integer sum of each window of a stream, bnncc's PoolSum op (the integer core
// of average pooling; the 1/WINDOW scale is applied by the thresholds that follow).
//
// Input: a stream of windows, each WINDOW positions of CH channels, channels fastest, PE
// channels per beat (CF = CH/PE beats per position, WINDOW*CF beats per window; channel
// c = f*PE + p in element p of beat f of a position), element 0 in the least significant
// bits, IN_BITS bits per element, two's complement if IN_SIGNED else unsigned. Windows follow
// each other back to back. Output: for every window, its CH sums
//     y[c] = sum_{w < WINDOW} x[w][c]
// as CF beats of PE elements of OUT_BITS bits (two's complement if IN_SIGNED, else
// unsigned), in channel order. OUT_BITS must hold WINDOW times the input range; elaboration
// checks it, and the sums are formed modulo 2**OUT_BITS, which is then exact.
//
// A global average pool is WINDOW = H*W fed by the pixel stream itself (its CF output beats
// follow the frame's last pixel); a KxK pool is sliding_window (which emits each output
// pixel's patch as K*K positions of CH channels, channels fastest) followed by pool_sum with
// WINDOW = K*K.
//
// Structure: CF accumulator words of PE sums (a plain array with an asynchronous read:
// registers or distributed RAM). An accepted beat of position w adds its elements to word f
// (to zero at w = 0); at the last position the sums go to a two-entry output queue instead
// of the accumulator. The input is ready unless the beat on offer would push into a full
// queue (s_axis_tready depends on registers only, never combinationally on
// m_axis_tready), so no beat is lost under back-pressure. Throughput: one input beat per
// cycle when the output does not stall (WINDOW*CF cycles per window); latency: an output
// beat is valid one cycle after the last-position beat that completes it. Only control
// registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module pool_sum #(
    parameter integer CH        = 4,  // channels, a multiple of PE
    parameter integer PE        = 1,  // channels per beat, divides CH
    parameter integer WINDOW    = 4,  // positions summed per window, >= 1
    parameter integer IN_BITS   = 4,  // bits per input element, 1..32
    parameter integer IN_SIGNED = 0,  // 1: two's complement elements (and sums), 0: unsigned
    parameter integer OUT_BITS  = 6   // bits per sum, 1..48, holds WINDOW times the input range
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [PE*IN_BITS-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);
    // Legal stand-ins for the widths and counts (the datapath elaborates even for illegal
    // parameters, so that the checks below can report them).
    localparam integer IB = (IN_BITS >= 1 && IN_BITS <= 32) ? IN_BITS : 1;
    localparam integer OB = (OUT_BITS >= 1 && OUT_BITS <= 48) ? OUT_BITS : 1;
    localparam integer CF = (PE >= 1 && CH >= PE && CH % PE == 0) ? CH / PE : 1;  // beats per position
    localparam integer WN = (WINDOW >= 1) ? WINDOW : 1;
    localparam integer FW = (CF <= 2) ? 1 : $clog2(CF);
    localparam integer WW = (WN <= 2) ? 1 : $clog2(WN);
    localparam integer I_F_LAST = CF - 1;
    localparam integer I_W_LAST = WN - 1;
    localparam [FW-1:0] F_LAST = I_F_LAST[FW-1:0];
    localparam [WW-1:0] W_LAST = I_W_LAST[WW-1:0];
    localparam LEGAL = CH >= 1 && PE >= 1 && CH % PE == 0 && WINDOW >= 1 && IN_BITS == IB
                       && OUT_BITS == OB && (IN_SIGNED == 0 || IN_SIGNED == 1);
    // Range of an input element, of a sum and of an output element, in 64 bits (exact:
    // WINDOW < 2**31 and |input| <= 2**32).
    localparam signed [63:0] ONE     = 64'sd1;
    localparam signed [63:0] WIN_64  = {32'd0, WN};
    localparam signed [63:0] IN_MIN  = IN_SIGNED != 0 ? -(ONE <<< (IB - 1)) : 64'sd0;
    localparam signed [63:0] IN_MAX  = IN_SIGNED != 0 ? (ONE <<< (IB - 1)) - ONE : (ONE <<< IB) - ONE;
    localparam signed [63:0] SUM_MIN = WIN_64 * IN_MIN;
    localparam signed [63:0] SUM_MAX = WIN_64 * IN_MAX;
    localparam signed [63:0] OUT_MIN = IN_SIGNED != 0 ? -(ONE <<< (OB - 1)) : 64'sd0;
    localparam signed [63:0] OUT_MAX = IN_SIGNED != 0 ? (ONE <<< (OB - 1)) - ONE : (ONE <<< OB) - ONE;

    initial begin
        if (CH < 1 || PE < 1 || CH % PE != 0) begin
            $display("%m: pool_sum: PE (%0d) must divide CH (%0d)", PE, CH); $finish;
        end
        if (WINDOW < 1) begin $display("%m: pool_sum: WINDOW must be >= 1"); $finish; end
        if (IN_BITS < 1 || IN_BITS > 32) begin $display("%m: pool_sum: IN_BITS must be 1..32"); $finish; end
        if (IN_SIGNED != 0 && IN_SIGNED != 1) begin $display("%m: pool_sum: IN_SIGNED must be 0 or 1"); $finish; end
        if (OUT_BITS < 1 || OUT_BITS > 48) begin $display("%m: pool_sum: OUT_BITS must be 1..48"); $finish; end
        if (LEGAL && (SUM_MIN < OUT_MIN || SUM_MAX > OUT_MAX)) begin
            $display("%m: pool_sum: OUT_BITS=%0d cannot hold the sums %0d..%0d", OUT_BITS, SUM_MIN, SUM_MAX);
            $finish;
        end
    end

    // -- position in the window ---------------------------------------------------------
    reg [FW-1:0] f;  // beat of the position (which accumulator word)
    reg [WW-1:0] w;  // position in the window
    wire f_last = f == F_LAST;
    wire w_first = w == {WW{1'b0}};
    wire w_last = w == W_LAST;

    // -- output queue: two entries ------------------------------------------------------
    reg [PE*OB-1:0] q [0:1];
    reg             q_wr, q_rd;
    reg [1:0]       q_cnt;

    assign s_axis_tready = !w_last || q_cnt != 2'd2;
    wire fire = s_axis_tvalid && s_axis_tready;
    wire push = fire && w_last;
    wire pop  = m_axis_tvalid && m_axis_tready;

    assign m_axis_tvalid = q_cnt != 2'd0;
    assign m_axis_tdata  = q[q_rd];

    // -- accumulators and the sum -------------------------------------------------------
    reg  [PE*OB-1:0] acc [0:CF-1];
    wire [PE*OB-1:0] acc_rd = acc[f];
    wire [PE*OB-1:0] sum;  // every lane: (0 at the first position, else its sum so far) + x

    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : lane
            wire [IB-1:0] x = s_axis_tdata[p*IN_BITS +: IB];
            wire [OB-1:0] x_ext;  // x sign- or zero-extended (or cut, for illegal widths)
            if (OB > IB) begin : wide
                assign x_ext = {{(OB - IB){IN_SIGNED != 0 && x[IB-1]}}, x};
            end else begin : narrow
                assign x_ext = x[OB-1:0];
            end
            wire [OB-1:0] base = w_first ? {OB{1'b0}} : acc_rd[p*OB +: OB];
            assign sum[p*OB +: OB] = base + x_ext;
        end
    endgenerate

    // -- datapath (not reset) -----------------------------------------------------------
    always @(posedge ap_clk) begin
        if (fire && !w_last) acc[f] <= sum;
        if (push) q[q_wr] <= sum;
    end

    // -- control ------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            f <= {FW{1'b0}};
            w <= {WW{1'b0}};
            q_wr <= 1'b0;
            q_rd <= 1'b0;
            q_cnt <= 2'd0;
        end else begin
            if (fire) begin
                f <= f_last ? {FW{1'b0}} : f + 1'b1;
                if (f_last) w <= w_last ? {WW{1'b0}} : w + 1'b1;
            end
            if (push) q_wr <= !q_wr;
            if (pop) q_rd <= !q_rd;
            q_cnt <= q_cnt + {1'b0, push} - {1'b0, pop};
        end
    end
endmodule

`default_nettype wire
