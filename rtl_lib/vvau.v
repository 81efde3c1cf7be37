// vvau: the vector-vector unit of a depthwise convolution, bnncc's VVAU op: each channel's
// window against its own kernel.
//
// Input: a stream of windows as sliding_window emits them, each WINDOW kernel positions of
// CH channels, channels fastest, PE channels per beat (CF = CH/PE beats per position,
// WINDOW*CF beats per window; channel c = f*PE + p in element p of beat f of a position),
// element 0 in the least significant bits, IN_BITS bits per element. Windows follow each
// other back to back. Output: for every window, its CH dot products
//     y[c] = sum_{k < WINDOW} x[k][c] * W[k][c]
// as CF beats of PE two's complement elements of OUT_BITS bits, in channel order. Operand
// values: IN_BIPOLAR (W_BIPOLAR) elements are one bit, 1 = +1 and 0 = -1; otherwise two's
// complement if IN_SIGNED (W_SIGNED), else unsigned. Products are formed exactly (a
// bipolar operand negates the other, two bipolar ones agree or not) and summed modulo
// 2**OUT_BITS, which is exact when OUT_BITS holds every sum (the compiler chooses it so).
//
// Weights: WEIGHT_FILE ($readmemh) holds WINDOW*CF words of PE*W_BITS bits, word k*CF + f
// holding W[k][f*PE + p] in element p (bipolar: the bit). The word of the beat on offer is
// read asynchronously at a registered address (a ROM of registers or distributed RAM).
//
// Structure: two stages. An accepted beat's PE products are registered (the multiplier, or
// negation, and the weight read end at a register); the next cycle they are added to
// accumulator word f (CF words of PE sums, a plain array with an asynchronous read: the word
// is read and written in the same stage, so a beat may follow its own word's previous beat
// directly), starting from zero at position 0; at the last position the sums go to a
// four-entry output queue instead. The input is ready unless a last-position beat on offer
// would find no queue entry free of the queued sums and the one in flight (s_axis_tready
// depends on registers only, never combinationally on m_axis_tready), so no beat is lost
// under back-pressure. Throughput: one input beat per cycle when the output does not stall
// (WINDOW*CF cycles per window); latency: an output beat is valid two cycles after the
// last-position beat that completes it (the output is registered in the queue). Only
// control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module vvau #(
    parameter integer CH          = 4,   // channels, a multiple of PE
    parameter integer PE          = 1,   // channels per beat, divides CH
    parameter integer WINDOW      = 9,   // kernel positions per window (K_H*K_W), >= 1
    parameter integer IN_BITS     = 4,   // bits per input element, 1..16
    parameter integer IN_SIGNED   = 0,   // 1: two's complement input elements, 0: unsigned
    parameter integer IN_BIPOLAR  = 0,   // 1: 1-bit input elements, 1 = +1 and 0 = -1
    parameter integer W_BITS      = 4,   // bits per weight, 1..16
    parameter integer W_SIGNED    = 1,   // 1: two's complement weights, 0: unsigned
    parameter integer W_BIPOLAR   = 0,   // 1: 1-bit weights, 1 = +1 and 0 = -1
    parameter integer OUT_BITS    = 12,  // bits per (two's complement) sum, 2..48
    parameter         WEIGHT_FILE = ""   // $readmemh file of the WINDOW*CF weight words
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
    localparam integer IB = (IN_BITS >= 1 && IN_BITS <= 16) ? IN_BITS : 1;
    localparam integer WB = (W_BITS >= 1 && W_BITS <= 16) ? W_BITS : 1;
    localparam integer OB = (OUT_BITS >= 2 && OUT_BITS <= 48) ? OUT_BITS : 2;
    localparam integer CF = (PE >= 1 && CH >= PE && CH % PE == 0) ? CH / PE : 1;  // beats per position
    localparam integer WN = (WINDOW >= 1) ? WINDOW : 1;
    localparam integer DEPTH = WN * CF;                      // weight words
    localparam integer FW = (CF <= 2) ? 1 : $clog2(CF);
    localparam integer WW = (WN <= 2) ? 1 : $clog2(WN);
    localparam integer AW = (DEPTH <= 2) ? 1 : $clog2(DEPTH);
    localparam integer I_F_LAST = CF - 1;
    localparam integer I_W_LAST = WN - 1;
    localparam integer I_A_LAST = DEPTH - 1;
    localparam [FW-1:0] F_LAST = I_F_LAST[FW-1:0];
    localparam [WW-1:0] W_LAST = I_W_LAST[WW-1:0];
    localparam [AW-1:0] A_LAST = I_A_LAST[AW-1:0];
    // operand widths as two's complement numbers, and of their product
    localparam integer XS = IN_BIPOLAR != 0 ? 2 : (IN_SIGNED != 0 ? (IB > 1 ? IB : 2) : IB + 1);
    localparam integer WS = W_BIPOLAR != 0 ? 2 : (W_SIGNED != 0 ? (WB > 1 ? WB : 2) : WB + 1);
    localparam integer PW = XS + WS;

    initial begin
        if (CH < 1 || PE < 1 || CH % PE != 0) begin
            $display("%m: vvau: PE (%0d) must divide CH (%0d)", PE, CH); $finish;
        end
        if (WINDOW < 1) begin $display("%m: vvau: WINDOW must be >= 1"); $finish; end
        if (IN_BITS < 1 || IN_BITS > 16 || W_BITS < 1 || W_BITS > 16) begin
            $display("%m: vvau: IN_BITS and W_BITS must be 1..16"); $finish;
        end
        if (IN_SIGNED != 0 && IN_SIGNED != 1 || W_SIGNED != 0 && W_SIGNED != 1
            || IN_BIPOLAR != 0 && IN_BIPOLAR != 1 || W_BIPOLAR != 0 && W_BIPOLAR != 1) begin
            $display("%m: vvau: IN_SIGNED, IN_BIPOLAR, W_SIGNED and W_BIPOLAR must be 0 or 1"); $finish;
        end
        if (IN_BIPOLAR != 0 && (IN_BITS != 1 || IN_SIGNED != 0) || W_BIPOLAR != 0 && (W_BITS != 1 || W_SIGNED != 0)) begin
            $display("%m: vvau: a bipolar operand is 1 bit and not signed"); $finish;
        end
        if (OUT_BITS < 2 || OUT_BITS > 48) begin $display("%m: vvau: OUT_BITS must be 2..48"); $finish; end
    end

    // -- weights --------------------------------------------------------------------------
    reg [PE*WB-1:0] wrom [0:DEPTH-1];
    initial begin
        if (WEIGHT_FILE != "") $readmemh(WEIGHT_FILE, wrom);
    end

    // -- position in the window -----------------------------------------------------------
    reg [FW-1:0] f;   // beat of the position (which accumulator word)
    reg [WW-1:0] w;   // position in the window
    reg [AW-1:0] wa;  // weight word of the beat on offer: w*CF + f
    wire f_last = f == F_LAST;
    wire w_first = w == {WW{1'b0}};
    wire w_last = w == W_LAST;
    wire [PE*WB-1:0] wword = wrom[wa];

    // -- output queue: four entries (three would do: the fourth lets a sum enter while the
    // queue holds three sums, one of them leaving; counted with the sum in flight) -----------
    reg [PE*OB-1:0] q [0:3];
    reg [1:0]       q_wr, q_rd;
    reg [2:0]       q_cnt;

    // -- product stage registers ----------------------------------------------------------
    reg              p_valid;  // a beat's products wait in p_prod (control, reset)
    reg [PE*OB-1:0]  p_prod;   // its PE products, extended to OB bits
    reg [FW-1:0]     p_f;      // its accumulator word
    reg              p_first;  // first kernel position: the sum starts at 0
    reg              p_last;   // last kernel position: the sum goes to the queue

    wire pending = p_valid && p_last;  // a sum that enters the queue next cycle
    // a last-position beat needs a queue entry free of the queue and of the pending sum
    assign s_axis_tready = !w_last || (q_cnt + {2'b00, pending}) < 3'd4;
    wire fire = s_axis_tvalid && s_axis_tready;
    wire push = pending;
    wire pop  = m_axis_tvalid && m_axis_tready;

    assign m_axis_tvalid = q_cnt != 3'd0;
    assign m_axis_tdata  = q[q_rd];

    // -- products of the beat on offer ------------------------------------------------------
    wire [PE*OB-1:0] prod_all;

    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : lane
            wire [IB-1:0] x  = s_axis_tdata[p*IN_BITS +: IB];
            wire [WB-1:0] wt = wword[p*WB +: WB];
            // the product as a PW-bit two's complement number
            // (unused: its top bits when OUT_BITS < PW, a bipolar operand's extension)
            /* verilator lint_off UNUSEDSIGNAL */
            wire signed [PW-1:0] prod;
            // each operand extended to PW bits (two's complement or zero extension)
            wire signed [PW-1:0] x_full = {{(PW - IB){IN_SIGNED != 0 && x[IB-1]}}, x};
            wire signed [PW-1:0] w_full = {{(PW - WB){W_SIGNED != 0 && wt[WB-1]}}, wt};
            /* verilator lint_on UNUSEDSIGNAL */
            if (IN_BIPOLAR != 0 && W_BIPOLAR != 0) begin : xnor_sign
                assign prod = (x[0] == wt[0]) ? 1 : -1;
            end else if (IN_BIPOLAR != 0) begin : negate_w
                assign prod = x[0] ? w_full : -w_full;
            end else if (W_BIPOLAR != 0) begin : negate_x
                assign prod = wt[0] ? x_full : -x_full;
            end else begin : multiply
                assign prod = x_full * w_full;
            end
            if (OB > PW) begin : wide  // the product sign-extended (or cut) to the sum's width
                assign prod_all[p*OB +: OB] = {{(OB - PW){prod[PW-1]}}, prod};
            end else begin : narrow
                assign prod_all[p*OB +: OB] = prod[OB-1:0];
            end
        end
    endgenerate

    // -- accumulators and the sum of the registered products --------------------------------
    reg  [PE*OB-1:0] acc [0:CF-1];
    wire [PE*OB-1:0] acc_rd = acc[p_f];
    wire [PE*OB-1:0] sum;  // every lane: (0 at the first position, else its sum so far) + x*w

    generate
        for (p = 0; p < PE; p = p + 1) begin : add
            wire [OB-1:0] base = p_first ? {OB{1'b0}} : acc_rd[p*OB +: OB];
            assign sum[p*OB +: OB] = base + p_prod[p*OB +: OB];
        end
    endgenerate

    // -- datapath (not reset) -------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (fire) begin
            p_prod <= prod_all;
            p_f <= f;
            p_first <= w_first;
            p_last <= w_last;
        end
        if (p_valid && !p_last) acc[p_f] <= sum;
        if (push) q[q_wr] <= sum;
    end

    // -- control --------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            f <= {FW{1'b0}};
            w <= {WW{1'b0}};
            wa <= {AW{1'b0}};
            p_valid <= 1'b0;
            q_wr <= 2'd0;
            q_rd <= 2'd0;
            q_cnt <= 3'd0;
        end else begin
            p_valid <= fire;
            if (fire) begin
                f <= f_last ? {FW{1'b0}} : f + 1'b1;
                if (f_last) w <= w_last ? {WW{1'b0}} : w + 1'b1;
                wa <= (wa == A_LAST) ? {AW{1'b0}} : wa + 1'b1;
            end
            if (push) q_wr <= q_wr + 2'd1;
            if (pop) q_rd <= q_rd + 2'd1;
            q_cnt <= q_cnt + {2'b00, push} - {2'b00, pop};
        end
    end
endmodule

`default_nettype wire
