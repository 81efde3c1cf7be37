// vvau: the vector-vector unit of a grouped convolution, bnncc's VVAU op: each output
// channel's kernel against the window of its own group of input channels (depthwise:
// GROUP_IN = GROUP_OUT = 1; a channel multiplier k: GROUP_IN = 1, GROUP_OUT = k).
//
// Input: a stream of windows as sliding_window emits them, each WINDOW kernel positions of
// CH = G*GROUP_IN channels (G groups), channels fastest, element 0 in the least significant
// bits, IN_BITS bits per element, SIMD*PE*GROUP_IN elements per beat in stream order: with
// SIMD = 1 a beat holds channels f*PE*CG .. (f+1)*PE*CG - 1 of one position (CG = GROUP_IN,
// CF = G/PE beats per position); with SIMD > 1 (only with PE = G, CF = 1) it holds SIMD whole
// positions of all CH channels. Beat b = w*CF + f of a window (w < WG = WINDOW/SIMD), element
// (s*PE + p)*CG + j is x[k = w*SIMD + s][c = (f*PE + p)*CG + j]. Windows follow each other
// back to back. For every window, its M = G*GROUP_OUT dot products
//     s[m] = sum_{k < WINDOW} sum_{j < CG} x[k][g(m)*CG + j] * W[k][m*CG + j],  g(m) = m / MG
// (MG = GROUP_OUT) are formed as ACC_BITS-bit two's complement sums. Operand values:
// IN_BIPOLAR (W_BIPOLAR) elements are one bit, 1 = +1 and 0 = -1; otherwise two's complement
// if IN_SIGNED (W_SIGNED), else unsigned. Products are exact (a bipolar operand negates the
// other, two bipolar ones agree or not) and summed modulo 2**ACC_BITS, which is exact when
// ACC_BITS holds every sum (the compiler chooses it so). Output: CF beats of PE*MG elements
// of OUT_BITS bits per window, output channel m = (f*PE + p)*MG + i in element p*MG + i of
// beat f: without thresholds (N_THRESHOLDS = 0) the sums, else as the MVAU's and
// thresholding's,
//     y[m] = (#{t : s[m] >= T[m][t]} + OUT_BIAS) mod 2**OUT_BITS
// with thresholds compared as signed ACC_BITS-bit numbers (any threshold clamped to
// [min(s), max(s) + 1] counts the same).
//
// Weights: WEIGHT_FILE ($readmemh) holds WG*CF words of SIMD*PE*MG*CG*W_BITS bits, word
// w*CF + f holding W[k = w*SIMD + s][m*CG + j], m = (f*PE + p)*MG + i, in element
// ((s*PE + p)*MG + i)*CG + j (bipolar: the bit); depthwise with SIMD = 1: word k*CF + f,
// element p = W[k][f*PE + p]. The word of the beat on offer is read asynchronously at a
// registered address (a ROM of registers or distributed RAM). Thresholds: THRESHOLD_FILE
// holds CF words of PE*MG*N_THRESHOLDS*ACC_BITS bits, word f holding T[f*PE*MG + l][t] at
// bits [(l*N_THRESHOLDS + t)*ACC_BITS +: ACC_BITS].
//
// Structure: an accepted beat and its weight word (read asynchronously at a registered
// address) are registered; each output lane (PE*MG of them) forms the dot product of its
// N = SIMD*CG operand pairs in rtl_lib/mac_dot.v (no multiplier: partial products of at
// most 5 operand bits, each one LUT merged into a carry chain, chains of products meeting
// in an adder tree; a bipolar operand makes a conditional negation, two make an
// XNOR-popcount) with DOT_STAGES pipeline registers, the last on its output, so that the
// deepest register-to-register path stays a few LUT levels (the compiler chooses
// DOT_STAGES by mac_dot's logic levels); the lane sum is added to accumulator word f (CF
// words of PE*MG sums, a plain array with an asynchronous
// read: the word is read and written in the same stage, so a beat may follow its own
// word's previous beat directly), starting from zero at the first position group; at the
// last one the sums are registered instead, and the cycle after they are compared with
// their threshold word (with more than one threshold the compare bits are registered, RC =
// 1, a cycle more) and the compare bits summed by a balanced adder tree into the output
// queue (QD = LAT + 1 entries). The input is ready unless a last-position beat on offer
// would find no queue entry free of the queued sums and those in flight (a registered count
// of reserved entries: s_axis_tready depends on registers only, never combinationally on
// m_axis_tready), so no beat is lost under back-pressure. Throughput: one input beat per
// cycle when the output does not stall (WG*CF cycles per window); latency: an output beat is
// valid LAT = 3 + WSPLIT + DOT_STAGES + RC cycles after the last-position beat that completes it
// (WSPLIT = 1 when the weight ROM is deeper than 64 words: its 64-word banks are read into
// registers, the beat's bank selected the cycle after, the beat waiting beside it; the output is
// registered in the queue). Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module vvau #(
    parameter integer CH          = 4,   // input channels C = G*GROUP_IN
    parameter integer PE          = 1,   // groups per beat, divides G = CH/GROUP_IN
    parameter integer WINDOW      = 9,   // kernel positions per window (K_H*K_W), >= 1
    parameter integer GROUP_IN    = 1,   // input channels per group (CG), divides CH
    parameter integer GROUP_OUT   = 1,   // output channels per group (MG), >= 1
    parameter integer SIMD        = 1,   // kernel positions per beat, divides WINDOW; > 1 only with PE = G
    parameter integer IN_BITS     = 4,   // bits per input element, 1..16
    parameter integer IN_SIGNED   = 0,   // 1: two's complement input elements, 0: unsigned
    parameter integer IN_BIPOLAR  = 0,   // 1: 1-bit input elements, 1 = +1 and 0 = -1
    parameter integer W_BITS      = 4,   // bits per weight, 1..16
    parameter integer W_SIGNED    = 1,   // 1: two's complement weights, 0: unsigned
    parameter integer W_BIPOLAR   = 0,   // 1: 1-bit weights, 1 = +1 and 0 = -1
    parameter integer ACC_BITS    = 12,  // bits per (two's complement) sum, 2..48
    parameter integer N_THRESHOLDS = 0,  // thresholds per output channel (0: the output is the sum)
    parameter integer OUT_BITS    = 12,  // bits per output element: ACC_BITS without thresholds,
                                         // else 1..32 (the count plus OUT_BIAS)
    parameter integer OUT_BIAS    = 0,   // added to the count, modulo 2**OUT_BITS (may be negative)
    parameter integer DOT_STAGES  = 1,   // pipeline registers of the lanes' dot products (mac_dot STAGES), 1..8
    parameter         WEIGHT_FILE = "",  // $readmemh file of the WG*CF weight words
    parameter         THRESHOLD_FILE = ""  // $readmemh file of the CF threshold words
) (
    input  wire                                  ap_clk,
    input  wire                                  ap_rst_n,
    input  wire [SIMD*PE*GROUP_IN*IN_BITS-1:0]   s_axis_tdata,
    input  wire                                  s_axis_tvalid,
    output wire                                  s_axis_tready,
    output wire [PE*GROUP_OUT*OUT_BITS-1:0]      m_axis_tdata,
    output wire                                  m_axis_tvalid,
    input  wire                                  m_axis_tready
);
    // Legal stand-ins for the widths and counts (the datapath elaborates even for illegal
    // parameters, so that the checks below can report them).
    localparam integer IB = (IN_BITS >= 1 && IN_BITS <= 16) ? IN_BITS : 1;
    localparam integer WB = (W_BITS >= 1 && W_BITS <= 16) ? W_BITS : 1;
    localparam integer AB = (ACC_BITS >= 2 && ACC_BITS <= 48) ? ACC_BITS : 2;
    localparam integer NT = (N_THRESHOLDS >= 1) ? N_THRESHOLDS : 1;    // thresholds stored per channel
    localparam integer OB = (N_THRESHOLDS >= 1) ? ((OUT_BITS >= 1 && OUT_BITS <= 32) ? OUT_BITS : 1) : AB;
    localparam integer CG = (GROUP_IN >= 1) ? GROUP_IN : 1;
    localparam integer MG = (GROUP_OUT >= 1) ? GROUP_OUT : 1;
    localparam integer PL = (PE >= 1) ? PE : 1;
    localparam integer NG = (CH >= CG && CH % CG == 0) ? CH / CG : PL;  // groups (else a stand-in)
    localparam integer CF = (NG >= PL && NG % PL == 0) ? NG / PL : 1;  // beats per position group
    localparam integer WN = (WINDOW >= 1) ? WINDOW : 1;
    localparam integer SM = (SIMD >= 1 && WN % SIMD == 0) ? SIMD : 1;
    localparam integer WG = WN / SM;                          // position groups per window
    localparam integer LANES = PL * MG;                       // output elements per beat
    localparam integer NPROD = SM * CG;                       // products per lane and beat
    localparam integer TW = LANES * NT * AB;                  // threshold word bits
    localparam integer DEPTH = WG * CF;                       // weight words
    localparam integer FW = (CF <= 2) ? 1 : $clog2(CF);
    localparam integer WW = (WG <= 2) ? 1 : $clog2(WG);
    localparam integer AW = (DEPTH <= 2) ? 1 : $clog2(DEPTH);
    localparam integer I_F_LAST = CF - 1;
    localparam [FW-1:0] F_LAST = I_F_LAST[FW-1:0];
    localparam integer I_W_PRE = WG >= 2 ? WG - 2 : 0;
    localparam integer I_A_PRE = DEPTH >= 2 ? DEPTH - 2 : 0;
    localparam [WW-1:0] W_PRE = I_W_PRE[WW-1:0];   // the position group before the last
    localparam [AW-1:0] A_PRE = I_A_PRE[AW-1:0];
    // the dot products' pipeline registers, the latency and the output queue's depth
    localparam integer DS = (DOT_STAGES >= 1 && DOT_STAGES <= 8) ? DOT_STAGES : 1;
    // a weight ROM deeper than a LUT6 reads in two steps: every 64-word bank at the low
    // address bits into a register, then the bank of the beat (WSPLIT = 1: one cycle more)
    localparam integer WSPLIT = (DEPTH > 64) ? 1 : 0;
    localparam integer NBK = (DEPTH + 63) / 64;
    localparam integer WDEPTH = WSPLIT != 0 ? NBK * 64 : DEPTH;  // the ROM padded to whole banks
    // with more than one threshold the compare bits are registered before their count
    localparam integer RC = (N_THRESHOLDS > 1) ? 1 : 0;
    localparam integer LAT = 3 + WSPLIT + DS + RC;
    // mac_dot's operand flags: stand-ins that it accepts (the checks below report the rest)
    localparam integer XSG = (IN_SIGNED == 1) ? 1 : 0;
    localparam integer WSG = (W_SIGNED == 1) ? 1 : 0;
    localparam integer XBP = (IN_BIPOLAR == 1 && IB == 1 && XSG == 0) ? 1 : 0;
    localparam integer WBP = (W_BIPOLAR == 1 && WB == 1 && WSG == 0) ? 1 : 0;
    localparam integer QD = LAT + 1;
    localparam integer QPW = $clog2(QD);                      // queue pointer bits (QD >= 4)
    localparam integer QCW = $clog2(QD + 1);                  // queue count bits
    localparam integer I_QD = QD;
    localparam integer I_Q_LAST = QD - 1;
    localparam [QCW-1:0] Q_DEPTH = I_QD[QCW-1:0];
    localparam [QPW-1:0] Q_LAST = I_Q_LAST[QPW-1:0];
    // the threshold count's tree: NTP leaves, CW bits per node (the count and the output)
    localparam integer NTL = $clog2(NT);
    localparam integer NTP = 1 << NTL;
    localparam integer CW0 = $clog2(NT + 1) > OB ? $clog2(NT + 1) : OB;
    localparam integer CW = CW0 > 2 ? CW0 : 2;

    initial begin
        if (CH < 1 || GROUP_IN < 1 || CH % GROUP_IN != 0) begin
            $display("%m: vvau: GROUP_IN (%0d) must divide CH (%0d)", GROUP_IN, CH); $finish;
        end
        if (GROUP_OUT < 1) begin $display("%m: vvau: GROUP_OUT must be >= 1"); $finish; end
        if (PE < 1 || NG % PE != 0) begin
            $display("%m: vvau: PE (%0d) must divide CH/GROUP_IN (%0d)", PE, NG); $finish;
        end
        if (WINDOW < 1) begin $display("%m: vvau: WINDOW must be >= 1"); $finish; end
        if (SIMD < 1 || WINDOW % SIMD != 0) begin
            $display("%m: vvau: SIMD (%0d) must divide WINDOW (%0d)", SIMD, WINDOW); $finish;
        end
        if (SIMD > 1 && PE != NG) begin
            $display("%m: vvau: SIMD > 1 needs PE (%0d) = CH/GROUP_IN (%0d)", PE, NG); $finish;
        end
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
        if (DOT_STAGES < 1 || DOT_STAGES > 8) begin
            $display("%m: vvau: DOT_STAGES (%0d) must be 1..8", DOT_STAGES); $finish;
        end
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
    reg [LANES*NPROD*WB-1:0] wrom [0:WDEPTH-1];
    initial begin
        if (WEIGHT_FILE != "") $readmemh(WEIGHT_FILE, wrom);
    end
    // thresholds: word f holds T[f*PE*MG + l][t] at [(l*NT + t)*AB +: AB] (unused without)
    /* verilator lint_off UNUSEDSIGNAL */
    reg [TW-1:0] tmem [0:CF-1];
    /* verilator lint_on UNUSEDSIGNAL */
    initial begin
        if (N_THRESHOLDS > 0 && THRESHOLD_FILE != "") $readmemh(THRESHOLD_FILE, tmem);
    end

    // -- position in the window -----------------------------------------------------------
    // (the flags of the last group and word are registers, so that the input's ready, the
    // next weight address and the weight read behind it stay a few LUTs deep)
    reg [FW-1:0] f;        // beat of the position group (which accumulator word)
    reg [WW-1:0] w;        // position group in the window
    reg [AW-1:0] wa;       // weight word of the beat on offer: w*CF + f
    reg          w_last;   // w == WG - 1 (control, reset)
    reg          wa_last;  // wa == WG*CF - 1 (control, reset)
    wire f_last = f == F_LAST;
    wire w_first = w == {WW{1'b0}};
    wire [LANES*NPROD*WB-1:0] wword;   // the weight word of the beat (on offer, or one cycle later)

    // -- output queue: QD entries; reserved counts the queued sums and those in flight ------
    reg [LANES*OB-1:0] q [0:QD-1];
    reg [QPW-1:0]      q_wr, q_rd;
    reg [QCW-1:0]      q_cnt, reserved;
    reg                full;      // reserved == QD (control, reset)

    // -- product stage registers and the control of the tree stages behind them ----------
    // stage 0 is the operand register, stage DS mac_dot's output register
    reg [DS:0]              c_valid;  // a beat's operands or (partial) lane sums wait there (control, reset)
    reg [(DS+1)*FW-1:0]     c_f;      // its accumulator word
    reg [DS:0]              c_first;  // first position group: the sum starts at 0
    reg [DS:0]              c_last;   // last position group: the sum goes to the queue
    wire          a_valid = c_valid[DS];
    wire [FW-1:0] a_f = c_f[DS*FW +: FW];
    wire          a_first = c_first[DS];
    wire          a_last = c_last[DS];

    // -- output stage registers: a window's sums, thresholded on their way into the queue --
    reg              t_valid;  // sums wait in t_sum (control, reset)
    reg [LANES*AB-1:0] t_sum;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [FW-1:0]     t_f;      // their threshold word (unused without thresholds)
    /* verilator lint_on UNUSEDSIGNAL */

    // a last-position beat needs a queue entry free of the queued and the in-flight sums
    assign s_axis_tready = !w_last || !full;
    wire fire = s_axis_tvalid && s_axis_tready;
    reg  g_valid;  // registered compare bits wait (RC = 1; control, reset)
    wire push = RC != 0 ? g_valid : t_valid;
    wire pop  = m_axis_tvalid && m_axis_tready;

    assign m_axis_tvalid = q_cnt != {QCW{1'b0}};
    assign m_axis_tdata  = q[q_rd];

    // -- operands: the beat on offer and its weight word, registered ------------------------
    // (every cycle: c_valid[0] says whether they hold a beat; the dot products start from
    // registers, no weight read lies in front of mac_dot's partial products)
    reg [SIMD*PE*GROUP_IN*IN_BITS-1:0] x_r;
    // with WSPLIT, the accepted beat and its flags wait a cycle for the bank select
    /* verilator lint_off UNUSEDSIGNAL */
    reg [SIMD*PE*GROUP_IN*IN_BITS-1:0] x_d;
    reg [FW-1:0] p_f;
    reg          p_first, p_last;
    reg          p_valid;   // (control, reset)
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (WSPLIT != 0) begin : wbanks
            localparam integer BKW = (NBK <= 2) ? 1 : $clog2(NBK);
            reg [NBK*LANES*NPROD*WB-1:0] bank_r;  // word wa[5:0] of every bank
            reg [BKW-1:0] bank_sel;               // the bank of the beat
            genvar b;
            for (b = 0; b < NBK; b = b + 1) begin : bank
                wire [AW-1:0] addr = {b[AW-7:0], wa[5:0]};
                always @(posedge ap_clk) bank_r[b*LANES*NPROD*WB +: LANES*NPROD*WB] <= wrom[addr];
            end
            always @(posedge ap_clk) bank_sel <= wa[AW-1:6];
            assign wword = bank_r[bank_sel*LANES*NPROD*WB +: LANES*NPROD*WB];
        end else begin : wsingle
            assign wword = wrom[wa];
        end
    endgenerate
    reg [LANES*NPROD*WB-1:0] w_r;
    wire [LANES*NPROD*IB-1:0] x_lanes;   // lane l's NPROD inputs, leaf e at [(l*NPROD + e)*IB]
    wire [LANES*NPROD*WB-1:0] w_lanes;   // and their weights, at [(l*NPROD + e)*WB]

    // -- lane sums: one mac_dot per lane (LUT partial products, carry chains, an adder tree
    // with DOT_STAGES registers, the last on its output) ------------------------------------
    wire [LANES*AB-1:0] lane_sum;  // every lane's sum of its NPROD products (stage DOT_STAGES)

    genvar l, e, n;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lane
            for (e = 0; e < NPROD; e = e + 1) begin : term
                // leaf e = s*CG + j of lane l = p*MG + i: x[(s*PE + p)*CG + j] * W[(s*LANES + l)*CG + j]
                localparam integer XE = ((e / CG) * PL + l / MG) * CG + e % CG;
                localparam integer WE = ((e / CG) * LANES + l) * CG + e % CG;
                assign x_lanes[(l*NPROD + e)*IB +: IB] = x_r[XE*IN_BITS +: IB];
                assign w_lanes[(l*NPROD + e)*WB +: WB] = w_r[WE*WB +: WB];
            end
            mac_dot #(
                .N(NPROD), .INPUT_BITS(IB), .INPUT_SIGNED(XSG), .INPUT_BIPOLAR(XBP),
                .WEIGHT_BITS(WB), .WEIGHT_SIGNED(WSG), .WEIGHT_BIPOLAR(WBP),
                .BINARY(0), .DW(AB), .STAGES(DS), .CHAIN(0), .FORM(0)
            ) u_dot (
                .ap_clk(ap_clk), .ce(1'b1), .x(x_lanes[l*NPROD*IB +: NPROD*IB]),
                .w(w_lanes[l*NPROD*WB +: NPROD*WB]), .extra(1'b0), .dot(lane_sum[l*AB +: AB])
            );
        end
    endgenerate

    // -- accumulators and the lane sums ----------------------------------------------------
    reg  [LANES*AB-1:0] acc [0:CF-1];
    wire [LANES*AB-1:0] acc_rd = acc[a_f];
    wire [LANES*AB-1:0] sum;  // every lane: (0 at the first position group, else its sum so far) + lane sum

    generate
        for (l = 0; l < LANES; l = l + 1) begin : add
            wire [AB-1:0] base = a_first ? {AB{1'b0}} : acc_rd[l*AB +: AB];
            assign sum[l*AB +: AB] = base + lane_sum[l*AB +: AB];
        end
    endgenerate

    // -- thresholds: y = (#{t : sum >= T[m][t]} + OUT_BIAS) mod 2**OUT_BITS, or the sum ----
    wire [LANES*OB-1:0] result;
    generate
        if (N_THRESHOLDS == 0) begin : no_thresholds
            assign result = t_sum[LANES*OB-1:0];
        end else begin : compare
            wire [TW-1:0] tword = tmem[t_f];
            localparam [CW-1:0] BIAS = OUT_BIAS[CW-1:0];
            for (l = 0; l < LANES; l = l + 1) begin : lane_t
                // the compare bits summed by a balanced tree (heap: root 1, leaves NTP..)
                /* verilator lint_off UNUSEDSIGNAL */
                /* verilator lint_off UNDRIVEN */
                wire [2*NTP*CW-1:0] cn;
                wire [CW-1:0] total = cn[CW +: CW] + BIAS;
                /* verilator lint_on UNDRIVEN */
                /* verilator lint_on UNUSEDSIGNAL */
                for (e = 0; e < NTP; e = e + 1) begin : bit_t
                    if (e < NT) begin : cmp
                        wire ge = $signed(t_sum[l*AB +: AB]) >= $signed(tword[(l*NT + e)*AB +: AB]);
                        wire gu;  // the bit counted: registered (RC = 1) or not
                        if (RC != 0) begin : registered
                            reg ge_r;
                            always @(posedge ap_clk) ge_r <= ge;
                            assign gu = ge_r;
                        end else begin : direct
                            assign gu = ge;
                        end
                        assign cn[(NTP + e)*CW +: CW] = {{(CW - 1){1'b0}}, gu};
                    end else begin : pad
                        assign cn[(NTP + e)*CW +: CW] = {CW{1'b0}};
                    end
                end
                for (n = 1; n < NTP; n = n + 1) begin : node
                    assign cn[n*CW +: CW] = cn[2*n*CW +: CW] + cn[(2*n + 1)*CW +: CW];
                end
                assign result[l*OB +: OB] = total[OB-1:0];
            end
        end
    endgenerate

    // -- datapath (not reset) -------------------------------------------------------------
    integer i;
    always @(posedge ap_clk) begin
        x_d <= s_axis_tdata;  // every cycle: c_valid[0] (p_valid) says whether they hold a beat
        p_f <= f;
        p_first <= w_first;
        p_last <= w_last;  // (the flag of the beat on offer)
        x_r <= WSPLIT != 0 ? x_d : s_axis_tdata;
        w_r <= wword;
        c_f[FW-1:0] <= WSPLIT != 0 ? p_f : f;
        c_first[0] <= WSPLIT != 0 ? p_first : w_first;
        c_last[0] <= WSPLIT != 0 ? p_last : w_last;
        for (i = 1; i <= DS; i = i + 1) begin
            c_f[i*FW +: FW] <= c_f[(i-1)*FW +: FW];
            c_first[i] <= c_first[i-1];
            c_last[i] <= c_last[i-1];
        end
        if (a_valid && !a_last) acc[a_f] <= sum;
        if (a_valid && a_last) begin
            t_sum <= sum;
            t_f <= a_f;
        end
        if (push) q[q_wr] <= result;
    end

    // -- control --------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            f <= {FW{1'b0}};
            w <= {WW{1'b0}};
            wa <= {AW{1'b0}};
            c_valid <= {(DS+1){1'b0}};
            p_valid <= 1'b0;
            t_valid <= 1'b0;
            g_valid <= 1'b0;
            q_wr <= {QPW{1'b0}};
            q_rd <= {QPW{1'b0}};
            q_cnt <= {QCW{1'b0}};
            reserved <= {QCW{1'b0}};
            full <= 1'b0;
            w_last <= WG == 1;
            wa_last <= DEPTH == 1;
        end else begin
            p_valid <= fire;
            c_valid[0] <= WSPLIT != 0 ? p_valid : fire;
            for (i = 1; i <= DS; i = i + 1) c_valid[i] <= c_valid[i-1];
            t_valid <= a_valid && a_last;
            g_valid <= t_valid;
            if (fire) begin
                f <= f_last ? {FW{1'b0}} : f + 1'b1;
                if (f_last) begin
                    w <= w_last ? {WW{1'b0}} : w + 1'b1;
                    w_last <= WG == 1 || !w_last && w == W_PRE;
                end
                wa <= wa_last ? {AW{1'b0}} : wa + 1'b1;
                wa_last <= DEPTH == 1 || !wa_last && wa == A_PRE;
            end
            if (push) q_wr <= (q_wr == Q_LAST) ? {QPW{1'b0}} : q_wr + 1'b1;
            if (pop) q_rd <= (q_rd == Q_LAST) ? {QPW{1'b0}} : q_rd + 1'b1;
            // up/down counters as an increment or a decrement (not an add and a subtract)
            if (push && !pop) q_cnt <= q_cnt + 1'b1;
            if (!push && pop) q_cnt <= q_cnt - 1'b1;
            if (fire && w_last && !pop) begin
                reserved <= reserved + 1'b1;
                full <= reserved == Q_DEPTH - 1'b1;
            end
            if (!(fire && w_last) && pop) begin
                reserved <= reserved - 1'b1;
                full <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
