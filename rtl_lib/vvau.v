// vvau: the vector-vector unit of a depthwise convolution, bnncc's VVAU op: each channel's
// window against its own kernel.
//
// Input: a stream of windows as sliding_window emits them, each WINDOW kernel positions of
// CH channels, channels fastest, PE channels per beat (CF = CH/PE beats per position,
// WINDOW*CF beats per window; channel c = f*PE + p in element p of beat f of a position),
// element 0 in the least significant bits, IN_BITS bits per element. Windows follow each
// other back to back. For every window, its CH dot products
//     s[c] = sum_{k < WINDOW} x[k][c] * W[k][c]
// are formed as ACC_BITS-bit two's complement sums. Operand values: IN_BIPOLAR (W_BIPOLAR)
// elements are one bit, 1 = +1 and 0 = -1; otherwise two's complement if IN_SIGNED
// (W_SIGNED), else unsigned. Products are exact (a bipolar operand negates the other, two
// bipolar ones agree or not) and summed modulo 2**ACC_BITS, which is exact when ACC_BITS
// holds every sum (the compiler chooses it so). Output: CF beats of PE elements of
// OUT_BITS bits per window, in channel order: without thresholds (N_THRESHOLDS = 0) the
// sums, else as the MVAU's and thresholding's,
//     y[c] = (#{t : s[c] >= T[c][t]} + OUT_BIAS) mod 2**OUT_BITS
// with thresholds compared as signed ACC_BITS-bit numbers (any threshold clamped to
// [min(s), max(s) + 1] counts the same).
//
// Weights: WEIGHT_FILE ($readmemh) holds WINDOW*CF words of PE*W_BITS bits, word k*CF + f
// holding W[k][f*PE + p] in element p (bipolar: the bit). The word of the beat on offer is
// read asynchronously at a registered address (a ROM of registers or distributed RAM).
// Thresholds: THRESHOLD_FILE holds CF words of PE*N_THRESHOLDS*ACC_BITS bits, word f holding
// T[f*PE + p][t] at bits [(p*N_THRESHOLDS + t)*ACC_BITS +: ACC_BITS].
//
// Structure: three stages. An accepted beat's PE products are registered (the weight read
// and the multiplier, or negation, end at a register); the next cycle they are added to
// accumulator word f (CF words of PE sums, a plain array with an asynchronous read: the word
// is read and written in the same stage, so a beat may follow its own word's previous beat
// directly), starting from zero at position 0; at the last position the sums are
// registered instead, and the cycle after they are compared with their threshold word and
// counted into a four-entry output queue. The input is ready unless a last-position beat on
// offer would find no queue entry free of the queued sums and the two that may be in flight
// (s_axis_tready depends on registers only, never combinationally on m_axis_tready), so no
// beat is lost under back-pressure. Throughput: one input beat per cycle when the output
// does not stall (WINDOW*CF cycles per window); latency: an output beat is valid three
// cycles after the last-position beat that completes it (the output is registered in the
// queue). Only control registers are reset.
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
    parameter integer ACC_BITS    = 12,  // bits per (two's complement) sum, 2..48
    parameter integer N_THRESHOLDS = 0,  // thresholds per channel (0: the output is the sum)
    parameter integer OUT_BITS    = 12,  // bits per output element: ACC_BITS without thresholds,
                                         // else 1..32 (the count plus OUT_BIAS)
    parameter integer OUT_BIAS    = 0,   // added to the count, modulo 2**OUT_BITS (may be negative)
    parameter         WEIGHT_FILE = "",  // $readmemh file of the WINDOW*CF weight words
    parameter         THRESHOLD_FILE = ""  // $readmemh file of the CF threshold words
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
    localparam integer AB = (ACC_BITS >= 2 && ACC_BITS <= 48) ? ACC_BITS : 2;
    localparam integer NT = (N_THRESHOLDS >= 1) ? N_THRESHOLDS : 1;    // thresholds stored per channel
    localparam integer OB = (N_THRESHOLDS >= 1) ? ((OUT_BITS >= 1 && OUT_BITS <= 32) ? OUT_BITS : 1) : AB;
    localparam integer TW = PE * NT * AB;                    // threshold word bits
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
        if (ACC_BITS < 2 || ACC_BITS > 48) begin $display("%m: vvau: ACC_BITS must be 2..48"); $finish; end
        if (N_THRESHOLDS < 0) begin $display("%m: vvau: N_THRESHOLDS must be >= 0"); $finish; end
        if (N_THRESHOLDS == 0 && OUT_BITS != ACC_BITS) begin
            $display("%m: vvau: without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)", OUT_BITS, ACC_BITS);
            $finish;
        end
        if (N_THRESHOLDS > 0 && (OUT_BITS < 1 || OUT_BITS > 32)) begin
            $display("%m: vvau: OUT_BITS must be 1..32 with thresholds"); $finish;
        end
    end

    // -- weights --------------------------------------------------------------------------
    reg [PE*WB-1:0] wrom [0:DEPTH-1];
    initial begin
        if (WEIGHT_FILE != "") $readmemh(WEIGHT_FILE, wrom);
    end
    // thresholds: word f holds T[f*PE + p][t] at [(p*NT + t)*AB +: AB] (unused without)
    /* verilator lint_off UNUSEDSIGNAL */
    reg [TW-1:0] tmem [0:CF-1];
    /* verilator lint_on UNUSEDSIGNAL */
    initial begin
        if (N_THRESHOLDS > 0 && THRESHOLD_FILE != "") $readmemh(THRESHOLD_FILE, tmem);
    end

    // -- position in the window -----------------------------------------------------------
    reg [FW-1:0] f;   // beat of the position (which accumulator word)
    reg [WW-1:0] w;   // position in the window
    reg [AW-1:0] wa;  // weight word of the beat on offer: w*CF + f
    wire f_last = f == F_LAST;
    wire w_first = w == {WW{1'b0}};
    wire w_last = w == W_LAST;
    wire [PE*WB-1:0] wword = wrom[wa];

    // -- output queue: four entries, counted with the sums in flight (with three, a sum could
    // not enter at full rate: the ready of a beat three cycles ahead reads the count) -------
    reg [PE*OB-1:0] q [0:3];
    reg [1:0]       q_wr, q_rd;
    reg [2:0]       q_cnt;

    // -- product stage registers ----------------------------------------------------------
    reg              p_valid;  // a beat's products wait in p_prod (control, reset)
    reg [PE*AB-1:0]  p_prod;   // its PE products, extended to AB bits
    reg [FW-1:0]     p_f;      // its accumulator word
    reg              p_first;  // first kernel position: the sum starts at 0
    reg              p_last;   // last kernel position: the sum goes to the queue

    // -- output stage registers: a window's sums, thresholded on their way into the queue --
    reg              t_valid;  // sums wait in t_sum (control, reset)
    reg [PE*AB-1:0]  t_sum;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [FW-1:0]     t_f;      // their threshold word (unused without thresholds)
    /* verilator lint_on UNUSEDSIGNAL */

    // sums in flight: the one the product stage completes and the one in the output stage
    wire [2:0] in_flight = {2'b00, p_valid && p_last} + {2'b00, t_valid};
    // a last-position beat needs a queue entry free of the queued and the in-flight sums
    assign s_axis_tready = !w_last || (q_cnt + in_flight) < 3'd4;
    wire fire = s_axis_tvalid && s_axis_tready;
    wire push = t_valid;
    wire pop  = m_axis_tvalid && m_axis_tready;

    assign m_axis_tvalid = q_cnt != 3'd0;
    assign m_axis_tdata  = q[q_rd];

    // -- products of the beat on offer ------------------------------------------------------
    wire [PE*AB-1:0] prod_all;

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
            if (AB > PW) begin : wide  // the product sign-extended (or cut) to the sum's width
                assign prod_all[p*AB +: AB] = {{(AB - PW){prod[PW-1]}}, prod};
            end else begin : narrow
                assign prod_all[p*AB +: AB] = prod[AB-1:0];
            end
        end
    endgenerate

    // -- accumulators and the sum of the registered products --------------------------------
    reg  [PE*AB-1:0] acc [0:CF-1];
    wire [PE*AB-1:0] acc_rd = acc[p_f];
    wire [PE*AB-1:0] sum;  // every lane: (0 at the first position, else its sum so far) + x*w

    generate
        for (p = 0; p < PE; p = p + 1) begin : add
            wire [AB-1:0] base = p_first ? {AB{1'b0}} : acc_rd[p*AB +: AB];
            assign sum[p*AB +: AB] = base + p_prod[p*AB +: AB];
        end
    endgenerate

    // -- thresholds: y = (#{t : sum >= T[c][t]} + OUT_BIAS) mod 2**OUT_BITS, or the sum ----
    wire [PE*OB-1:0] result;
    generate
        if (N_THRESHOLDS == 0) begin : no_thresholds
            assign result = t_sum[PE*OB-1:0];
        end else begin : compare
            wire [TW-1:0] tword = tmem[t_f];
            localparam [OB-1:0] BIAS = OUT_BIAS[OB-1:0];
            for (p = 0; p < PE; p = p + 1) begin : lane_t
                reg [OB-1:0] count;
                integer t;
                always @* begin
                    count = BIAS;
                    for (t = 0; t < NT; t = t + 1)
                        if ($signed(t_sum[p*AB +: AB]) >= $signed(tword[(p*NT + t)*AB +: AB])) count = count + 1'b1;
                end
                assign result[p*OB +: OB] = count;
            end
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
        if (p_valid && p_last) begin
            t_sum <= sum;
            t_f <= p_f;
        end
        if (push) q[q_wr] <= result;
    end

    // -- control --------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            f <= {FW{1'b0}};
            w <= {WW{1'b0}};
            wa <= {AW{1'b0}};
            p_valid <= 1'b0;
            t_valid <= 1'b0;
            q_wr <= 2'd0;
            q_rd <= 2'd0;
            q_cnt <= 3'd0;
        end else begin
            p_valid <= fire;
            t_valid <= p_valid && p_last;
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
