// mac_dsp: the dot products of L lanes that share one input vector x, with the
// multiplications packed up to three per DSP multiplier (DSP48E1, DSP48E2, ECP5 MULT18X18D).
//
//   dot[l] = (sum_{s<N} x[s] * w[l][s] + extra) mod 2**DW               for l < L
//
// x[s] = x[s*INPUT_BITS +: INPUT_BITS], w[l][s] = w[(l*N + s)*WEIGHT_BITS +: WEIGHT_BITS]
// (the MVAU's weight word: lane l = PE row, s = SIMD element), dot[l] = dot[l*DW +: DW].
// Each side unsigned or two's complement (INPUT_SIGNED / WEIGHT_SIGNED). `extra` is the
// MVAU's one-bit addend (the + 1 of a folded threshold). Latency STAGES cycles; `ce` low
// holds every register.
//
// Packing. Lanes go P at a time (P = PACK, or the automatic choice below) to one multiplier
// per s: lanes l = m*P + j, j < PM (PM = P, the last group min(P, L - m*P): an odd L leaves a
// lane alone or in a smaller group). With XB = INPUT_BITS, WB = WEIGHT_BITS, the multiplier
// of group m computes x[s] * W[s], with x[s] as a signed number of XS bits (XS = XB signed,
// XB + 1 unsigned) and the packed weight a concatenation of bits (no adder in front):
//   W = sum_{j < PM-1} u_j * 2**(j*K) + w_top * 2**((PM-1)*K),
//   u_j = w[m*P+j][s] + 2**(WB-1) (signed weights: the sign bit inverted) or w (unsigned),
//   0 <= u_j <= UMAX = 2**WB - 1 < 2**K, w_top = w[m*P+PM-1][s] as a signed WS-bit number.
// W holds (PM-1)*K + WS bits, two's complement: the low part sum u_j 2**(jK) lies in
// [0, 2**((PM-1)K)), so W's bits are exactly the fields side by side. The products of GR
// consecutive s (a group g) are summed in packed form, starting from the constant
//   POFF = sum_{j < PM-1} OFF * 2**(j*K),  OFF = GR * (-XMIN) * UMAX >= 0,
// (XMIN, XMAX: the range of x): Yosys maps this chain of adds onto the DSP48 post-adders
// (each DSP adds its product to the previous one's P at its C port), no LUTs; on ECP5 it is
// a tree of LUT adders. Exactness: with F_j = sum_{s in g} x[s] * u_j[s],
//   S_g = POFF + sum_s x[s] W[s] = sum_{j<PM-1} (F_j + OFF) 2**(jK) + T 2**((PM-1)K),
//   T = sum_{s in g} x[s] * w_top[s].
// x * u lies in [XMIN * UMAX, XMAX * UMAX], so F_j + OFF lies in [0, GR * SPAN] with
// SPAN = (XMAX - XMIN) * UMAX; K is chosen with GR * SPAN <= 2**K - 1, so every F_j + OFF
// is a K-bit unsigned number and no field borrows from or carries into the next:
// bits [jK, jK+K) of S_g are F_j + OFF exactly, and the bits from (PM-1)K up are T (a signed
// number of at most XS + WS + clog2(GR) bits: |x * w| <= 2**(XS+WS-2)); S_g is computed
// modulo 2**SW, SW = (PM-1)K + TOPW, TOPW = min(DW, XS + WS + clog2(GR)), which keeps the
// low fields exact and T modulo 2**TOPW (sign-extended to DW when TOPW < DW).
// Per lane, over the NG = ceil(N / GR) groups:
//   top lane (j = PM-1):  dot = sum_g T_g + extra
//   low lane (j < PM-1):  dot = sum_g (F_j,g + OFF) + CORR + extra,
//   CORR = -NG * OFF - 2**(WB-1) * sum_{s<N} x[s]      (signed weights; unsigned: -NG * OFF)
// since sum_g F_j,g = sum_s x[s] (w[s] + 2**(WB-1)). The sum of x is one adder tree shared by
// all lanes; everything is modulo 2**DW.
// The choice of K and GR: the wide multiplier port takes W ((PM-1)K + WS <= PA bits, PA = 25
// on DSP48E1, 27 on DSP48E2, 18 on ECP5), the other port x (XS <= 17 < 18). So
// KMAX(P) = (PA - WS) / (P - 1), GMAX(P) = (2**KMAX - 1) / SPAN products per group; GR =
// GROUP, or min(N, GMAX(P)) (P = 1: N); K = max(WB, bits(GR * SPAN)). PACK = 0 takes the P
// in 1..3 with the fewest multipliers (ceil(L / P)) among those with GMAX(P) >= max(1, GROUP),
// the smallest such P on a tie. DSP48E1, INT4 x INT4: P = 2 (K up to 21, a group of up to
// 9,320 products), P = 3 (K = 10, 4 products per group); ECP5: INT4 P = 2 (K up to 14).
//
// Pipeline (STAGES = 0: combinational): STAGES >= 1 registers dot, >= 2 the packed group
// sums (the DSP's P register) with the correction, >= 3 the inputs (the DSP's A/B registers).
// DSP48 families: each further stage (up to GR - 1 of them) cuts every group's chain of
// post-adders into one more segment (SEGR registers, SEGR + 1 segments of CH = ceil(GR /
// (SEGR + 1)) products; a segment register is the P register of its last DSP); the
// operands of the products in segment k arrive k cycles late (delay registers, the last of
// them the DSP's B register), so every sum still covers one input vector; the correction
// and `extra` are delayed to match. ECP5: STAGES >= 4 registers the products
// (MULT18X18D's output register). Stages beyond these delay dot. (Yosys stops merging the
// chain into the DSP48 post-adders when the products are registered, so the Xilinx families
// take no M register.) Between two registers a segment is a chain of CH DSP48s joined
// through their C ports (Yosys does not pack them into the PCOUT -> PCIN cascade);
// `bnncc.synth.logic_depth` counts LUTs first and does not show that path. ECP5: the group
// sums are a balanced tree of carry-chain adders. The sum of x is a tree of clog2(N)
// adders in front of the input register (STAGES >= 3; else of the group-sum register, with
// the subtraction from the constant); the lane sums (clog2(NG) adders and one more) sit in
// front of the output register.
`timescale 1ns / 1ps
`default_nettype none

module mac_dsp #(
    parameter integer N = 16,               // operand pairs per lane, >= 1
    parameter integer L = 4,                // lanes (dot products sharing x), >= 1
    parameter integer INPUT_BITS = 4,       // bits per x element, 1..16
    parameter integer INPUT_SIGNED = 1,     // 1: x elements are two's complement
    parameter integer WEIGHT_BITS = 4,      // bits per w element, 1..16
    parameter integer WEIGHT_SIGNED = 1,    // 1: w elements are two's complement
    parameter integer DW = 16,              // result bits, 1..64 (two's complement, modulo)
    parameter integer STAGES = 2,           // latency in cycles, 0..8
    parameter integer FAMILY = 0,           // multiplier: 0 DSP48E1 25x18, 1 DSP48E2 27x18, 2 ECP5 MULT18X18D 18x18
    parameter integer PACK = 0,             // products per multiplier, 1..3; 0: automatic
    parameter integer GROUP = 0             // products summed in packed form; 0: automatic
) (
    /* verilator lint_off UNUSEDSIGNAL */         // STAGES = 0: no register
    input  wire                          ap_clk,
    input  wire                          ce,      // clock enable of every register
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [N*INPUT_BITS-1:0]       x,
    input  wire [L*N*WEIGHT_BITS-1:0]    w,
    input  wire                          extra,   // added at weight 1
    output wire [L*DW-1:0]               dot
);
    localparam integer XB = INPUT_BITS;
    localparam integer WB = WEIGHT_BITS;
    localparam integer XS = (INPUT_SIGNED != 0) ? XB : XB + 1;
    localparam integer WS = (WEIGHT_SIGNED != 0) ? WB : WB + 1;
    localparam integer PA = (FAMILY == 1) ? 27 : (FAMILY == 2) ? 18 : 25;
    localparam integer XMIN = (INPUT_SIGNED != 0) ? -(1 << (XB - 1)) : 0;
    localparam integer XMAX = (INPUT_SIGNED != 0) ? (1 << (XB - 1)) - 1 : (1 << XB) - 1;
    localparam integer UMAX = (1 << WB) - 1;
    localparam integer SPAN = (XB + WB <= 30) ? (XMAX - XMIN) * UMAX : 0;   // 0: too wide to pack

    function integer kmax(input integer p);          // field bits of P = p
        kmax = (p >= 2) ? (PA - WS) / (p - 1) : 0;
    endfunction
    function integer gmax(input integer p);          // products per group that K = kmax(p) holds
        begin
            if (p < 2) gmax = N;
            else if (SPAN < 1 || kmax(p) < WB) gmax = 0;
            else gmax = ((1 << kmax(p)) - 1) / SPAN;
        end
    endfunction
    function integer bits_for(input integer v);      // bits of an unsigned value v >= 0
        integer b;
        begin
            bits_for = 1;
            for (b = 1; b < 31; b = b + 1) if ((v >> b) != 0) bits_for = b + 1;
        end
    endfunction
    function integer auto_pack(input integer unused);
        integer p, need;
        begin
            auto_pack = 1;
            need = (GROUP > 1) ? GROUP : 1;
            for (p = 2; p <= 3; p = p + 1)
                if (p <= L && gmax(p) >= need && (L + p - 1) / p < (L + auto_pack - 1) / auto_pack)
                    auto_pack = p;
        end
    endfunction
    localparam integer KP = kmax(PACK);               // for the checks
    localparam integer GP = gmax(PACK);
    localparam integer OK = (N >= 1 && L >= 1 && XB >= 1 && XB <= 16 && WB >= 1 && WB <= 16
                             && DW >= 1 && DW <= 64 && STAGES >= 0 && STAGES <= 8 && FAMILY >= 0
                             && FAMILY <= 2 && PACK >= 0 && PACK <= 3 && GROUP >= 0
                             && !(PACK >= 2 && GP < 1) && !(PACK >= 2 && GROUP > GP)) ? 1 : 0;
    localparam integer P = (OK == 0) ? 1 : (PACK != 0) ? PACK : auto_pack(0);
    localparam integer GA = (OK == 0) ? 1 : (GROUP != 0) ? GROUP : (P >= 2) ? gmax(P) : N;
    localparam integer GR = (OK == 0) ? 1 : (GA < N) ? GA : N;         // products per group
    localparam integer NG = (N + GR - 1) / GR;                         // groups
    localparam integer K = (P >= 2 && bits_for(GR * SPAN) > WB) ? bits_for(GR * SPAN) : WB;
    localparam integer TOPW0 = XS + WS + $clog2(GR);
    localparam integer TOPW = (TOPW0 < DW) ? TOPW0 : DW;
    localparam integer M = (L + P - 1) / P;                            // multipliers per s
    localparam integer SWMAX = (P - 1) * K + TOPW;
    localparam integer OFF = GR * (-XMIN) * UMAX;                      // < 2**K
    localparam [63:0] NG64 = {32'd0, NG};
    localparam [63:0] OFF64 = {32'd0, OFF};
    localparam [63:0] C_LOW = 64'd0 - NG64 * OFF64;                    // -NG * OFF
    localparam integer CORR_X = (WEIGHT_SIGNED != 0 && P >= 2 && L >= 2 && DW >= WB) ? 1 : 0;
    localparam integer XSW0 = XS + $clog2(N);                            // the sum of x, exact
    localparam integer XSW = (CORR_X != 0) ? ((XSW0 < DW - WB + 1) ? XSW0 : DW - WB + 1) : 1;
    localparam integer R_OUT = (STAGES >= 1) ? 1 : 0;
    localparam integer R_P = (STAGES >= 2) ? 1 : 0;
    localparam integer R_IN = (STAGES >= 3) ? 1 : 0;
    localparam integer R_M = (STAGES >= 4 && FAMILY == 2) ? 1 : 0;
    // DSP48 chains: registers between segments of a group's chain (at most one per product)
    localparam integer SEGR0 = (STAGES >= 4 && FAMILY != 2) ? STAGES - 3 : 0;
    localparam integer SEGR = (SEGR0 < GR - 1) ? SEGR0 : GR - 1;
    localparam integer CH = (GR + SEGR) / (SEGR + 1);                 // products per segment
    localparam integer R_DLY = (STAGES > 1) ? STAGES - R_OUT - R_P - R_IN - R_M - SEGR : 0;

    function integer lanes_of(input integer m);      // PM of group m
        lanes_of = (L - m * P < P) ? L - m * P : P;
    endfunction
    function [SWMAX-1:0] poff(input integer pm);     // sum_{j < pm-1} OFF * 2**(jK)
        integer j;
        reg [SWMAX+63:0] t;
        begin
            t = {(SWMAX+64){1'b0}};
            for (j = 0; j < pm - 1; j = j + 1) t = t | ({{SWMAX{1'b0}}, OFF64} << (j * K));
            poff = t[SWMAX-1:0];
        end
    endfunction
    localparam [15:0] SB16 = 16'd1 << (WB - 1);                     // a weight's sign bit

    initial begin
        if (N < 1) begin $display("%m: mac_dsp: N=%0d must be >= 1", N); $finish; end
        if (L < 1) begin $display("%m: mac_dsp: L=%0d must be >= 1", L); $finish; end
        if (INPUT_BITS < 1 || INPUT_BITS > 16 || WEIGHT_BITS < 1 || WEIGHT_BITS > 16) begin
            $display("%m: mac_dsp: INPUT_BITS and WEIGHT_BITS must be 1..16"); $finish;
        end
        if (DW < 1 || DW > 64) begin $display("%m: mac_dsp: DW=%0d must be 1..64", DW); $finish; end
        if (STAGES < 0 || STAGES > 8) begin $display("%m: mac_dsp: STAGES=%0d must be 0..8", STAGES); $finish; end
        if (FAMILY < 0 || FAMILY > 2) begin $display("%m: mac_dsp: FAMILY=%0d must be 0..2", FAMILY); $finish; end
        if (PACK < 0 || PACK > 3) begin $display("%m: mac_dsp: PACK=%0d must be 0..3", PACK); $finish; end
        if (GROUP < 0) begin $display("%m: mac_dsp: GROUP=%0d must be >= 0", GROUP); $finish; end
        if (PACK >= 2 && PACK <= 3 && GP < 1) begin
            $display("%m: mac_dsp: PACK=%0d does not fit a %0d-bit multiplier port: a %0d-bit field cannot hold one product",
                     PACK, PA, KP);
            $finish;
        end
        if (PACK >= 2 && PACK <= 3 && GP >= 1 && GROUP > GP) begin
            $display("%m: mac_dsp: GROUP=%0d exceeds %0d, the products a %0d-bit field can sum", GROUP, GP, KP);
            $finish;
        end
    end

    genvar m, s, j, g, l, d;
    generate
        if (OK == 0) begin : g_bad      // the checks above stopped elaboration
            assign dot = 0;
        end else begin : g_ok
            // ---- input registers (STAGES >= 3) --------------------------------------------------
            wire [N*XB-1:0] xi;
            wire [L*N*WB-1:0] wi;
            wire ei;
            if (R_IN != 0) begin : g_rin
                reg [N*XB-1:0] xq;
                reg [L*N*WB-1:0] wq;
                reg eq;
                always @(posedge ap_clk) if (ce) begin
                    xq <= x;
                    wq <= w;
                    eq <= extra;
                end
                assign xi = xq;
                assign wi = wq;
                assign ei = eq;
            end else begin : g_nin
                assign xi = x;
                assign wi = w;
                assign ei = extra;
            end

            // ---- x[s] as XS-bit signed numbers (xr_v: ahead of the input register) --------------
            wire [N*XS-1:0] xs_v;
            /* verilator lint_off UNUSEDSIGNAL */     // STAGES < 3: the sum of x reads xs_v
            wire [N*XS-1:0] xr_v;
            /* verilator lint_on UNUSEDSIGNAL */
            for (s = 0; s < N; s = s + 1) begin : g_x
                if (INPUT_SIGNED != 0) begin : g_sx
                    assign xs_v[s*XS +: XS] = xi[s*XB +: XB];
                    assign xr_v[s*XS +: XS] = x[s*XB +: XB];
                end else begin : g_ux
                    assign xs_v[s*XS +: XS] = {1'b0, xi[s*XB +: XB]};
                    assign xr_v[s*XS +: XS] = {1'b0, x[s*XB +: XB]};
                end
            end

            // ---- packed products, their group sums and the fields ----------------------------------
            // fld[(l*NG + g)*FW +: FW]: field of lane l in group g (low lanes K bits, top lanes TOPW)
            localparam integer FW = (K > TOPW) ? K : TOPW;
            /* verilator lint_off UNUSEDSIGNAL */         // the padding above a narrower field
            wire [L*NG*FW-1:0] fld;
            /* verilator lint_on UNUSEDSIGNAL */
            for (m = 0; m < M; m = m + 1) begin : g_m
                localparam integer PM = lanes_of(m);
                localparam integer WPK = (PM - 1) * K + WS;
                localparam integer SW = (PM - 1) * K + TOPW;
                localparam integer PF = (XS + WPK > SW) ? XS + WPK : SW;       // the full product
                localparam [SWMAX-1:0] POFF = poff(PM);
                wire [N*SW-1:0] pr;          // products modulo 2**SW
                for (s = 0; s < N; s = s + 1) begin : g_s
                    wire [WPK-1:0] wv;
                    for (j = 0; j < PM - 1; j = j + 1) begin : g_low
                        if (WEIGHT_SIGNED != 0) begin : g_off
                            assign wv[j*K +: WB] = wi[((m*P + j)*N + s)*WB +: WB] ^ SB16[WB-1:0];
                        end else begin : g_raw
                            assign wv[j*K +: WB] = wi[((m*P + j)*N + s)*WB +: WB];
                        end
                        if (K > WB) begin : g_pad
                            assign wv[j*K + WB +: K - WB] = {(K - WB){1'b0}};
                        end
                    end
                    if (WEIGHT_SIGNED != 0) begin : g_stop
                        assign wv[(PM-1)*K +: WS] = wi[((m*P + PM - 1)*N + s)*WB +: WB];
                    end else begin : g_utop
                        assign wv[(PM-1)*K +: WS] = {1'b0, wi[((m*P + PM - 1)*N + s)*WB +: WB]};
                    end
                    // a product of segment k of its group's chain: operands k cycles late
                    localparam integer KD = ((s % GR) / CH < SEGR) ? (s % GR) / CH : SEGR;
                    wire [XS-1:0] xd;
                    wire [WPK-1:0] wd;
                    if (KD > 0) begin : g_od
                        reg [XS-1:0] xq [0:KD-1];
                        reg [WPK-1:0] wq [0:KD-1];
                        always @(posedge ap_clk) if (ce) begin
                            xq[0] <= xs_v[s*XS +: XS];
                            wq[0] <= wv;
                        end
                        for (d = 1; d < KD; d = d + 1) begin : g_d
                            always @(posedge ap_clk) if (ce) begin
                                xq[d] <= xq[d-1];
                                wq[d] <= wq[d-1];
                            end
                        end
                        assign xd = xq[KD-1];
                        assign wd = wq[KD-1];
                    end else begin : g_on
                        assign xd = xs_v[s*XS +: XS];
                        assign wd = wv;
                    end
                    /* verilator lint_off UNUSEDSIGNAL */  // bits above SW: beyond the modulus
                    wire [PF-1:0] pf = $signed(xd) * $signed(wd);
                    /* verilator lint_on UNUSEDSIGNAL */
                    wire [SW-1:0] p = pf[SW-1:0];
                    if (R_M != 0) begin : g_mreg
                        reg [SW-1:0] q;
                        always @(posedge ap_clk) if (ce) q <= p;
                        assign pr[s*SW +: SW] = q;
                    end else begin : g_mwire
                        assign pr[s*SW +: SW] = p;
                    end
                end
                for (g = 0; g < NG; g = g + 1) begin : g_g
                    localparam integer CNT = (N - g * GR < GR) ? N - g * GR : GR;
                    wire [SW-1:0] acc;
                    if (FAMILY == 2) begin : g_tree
                        // LUT adders: a balanced tree, one carry chain per adder
                        wire [(CNT+1)*SW-1:0] terms = {POFF[SW-1:0], pr[g*GR*SW +: CNT*SW]};
                        mac_dsp_sum #(.M(CNT + 1), .IW(SW), .SGN(0), .OW(SW)) u_gs (.v(terms), .sum(acc));
                    end else begin : g_chain
                        // a chain of adds from the constant on the DSP48 post-adders, in SEGR + 1
                        // segments of CH products with a register after each but the last
                        wire [(SEGR+2)*SW-1:0] sv;
                        assign sv[0 +: SW] = POFF[SW-1:0];
                        for (j = 0; j <= SEGR; j = j + 1) begin : g_seg
                            reg [SW-1:0] c;
                            integer t;
                            always @* begin
                                c = sv[j*SW +: SW];
                                for (t = j * CH; t < (j + 1) * CH && t < CNT; t = t + 1)
                                    c = c + pr[(g*GR + t)*SW +: SW];
                            end
                            if (j < SEGR) begin : g_sr
                                reg [SW-1:0] q;
                                always @(posedge ap_clk) if (ce) q <= c;
                                assign sv[(j+1)*SW +: SW] = q;
                            end else begin : g_sw
                                assign sv[(j+1)*SW +: SW] = c;
                            end
                        end
                        assign acc = sv[(SEGR+1)*SW +: SW];
                    end
                    wire [SW-1:0] sg;
                    if (R_P != 0) begin : g_preg
                        reg [SW-1:0] q;
                        always @(posedge ap_clk) if (ce) q <= acc;
                        assign sg = q;
                    end else begin : g_pwire
                        assign sg = acc;
                    end
                    for (j = 0; j < PM; j = j + 1) begin : g_f
                        if (j < PM - 1) begin : g_lowf
                            assign fld[((m*P + j)*NG + g)*FW +: K] = sg[j*K +: K];
                            if (FW > K) begin : g_z
                                assign fld[((m*P + j)*NG + g)*FW + K +: FW - K] = {(FW - K){1'b0}};
                            end
                        end else begin : g_topf
                            assign fld[((m*P + j)*NG + g)*FW +: TOPW] = sg[j*K +: TOPW];
                            if (FW > TOPW) begin : g_z
                                assign fld[((m*P + j)*NG + g)*FW + TOPW +: FW - TOPW] = {(FW - TOPW){1'b0}};
                            end
                        end
                    end
                end
            end

            // ---- the shared correction of the low lanes: CORR = -NG * OFF - 2**(WB-1) * sum x ------
            localparam integer XHW = DW - WB + 1;                               // bits of the sum of x kept
            /* verilator lint_off UNUSEDSIGNAL */         // no low lane (P = 1)
            wire [DW-1:0] corr;
            /* verilator lint_on UNUSEDSIGNAL */
            wire [DW-1:0] c0;
            wire ee;                             // extra, delayed to the lane sums
            if (CORR_X != 0) begin : g_cx
                // with an input register the tree reads x ahead of it and takes its place
                wire [XSW-1:0] xsum;
                mac_dsp_sum #(.M(N), .IW(XS), .SGN(1), .OW(XSW)) u_xsum (.v((R_IN != 0) ? xr_v : xs_v), .sum(xsum));
                wire [XSW-1:0] xsum_i;
                if (R_IN != 0) begin : g_xi
                    reg [XSW-1:0] q;
                    always @(posedge ap_clk) if (ce) q <= xsum;
                    assign xsum_i = q;
                end else begin : g_xn
                    assign xsum_i = xsum;
                end
                wire [XSW-1:0] xsum_m;
                if (R_M != 0) begin : g_xm
                    reg [XSW-1:0] q;
                    always @(posedge ap_clk) if (ce) q <= xsum_i;
                    assign xsum_m = q;
                end else begin : g_xw
                    assign xsum_m = xsum_i;
                end
                wire [XHW-1:0] xe;           // the sum of x modulo 2**XHW
                if (XSW < XHW) begin : g_se
                    assign xe = {{(XHW - XSW){xsum_m[XSW-1]}}, xsum_m};
                end else begin : g_nse
                    assign xe = xsum_m;
                end
                wire [DW-1:0] xsh;
                if (WB > 1) begin : g_sh
                    assign xsh = {xe, {(WB - 1){1'b0}}};
                end else begin : g_nsh
                    assign xsh = xe;
                end
                assign c0 = C_LOW[DW-1:0] - xsh;
            end else begin : g_cc
                assign c0 = C_LOW[DW-1:0];
            end
            // the group-sum register and the chain's segment registers
            if (R_P + SEGR > 0 && CORR_X != 0) begin : g_cp
                reg [DW-1:0] q [0:R_P+SEGR-1];
                always @(posedge ap_clk) if (ce) q[0] <= c0;
                for (d = 1; d < R_P + SEGR; d = d + 1) begin : g_d
                    always @(posedge ap_clk) if (ce) q[d] <= q[d-1];
                end
                assign corr = q[R_P+SEGR-1];
            end else begin : g_cw
                assign corr = c0;
            end
            wire e1;
            if (R_M != 0) begin : g_em
                reg q;
                always @(posedge ap_clk) if (ce) q <= ei;
                assign e1 = q;
            end else begin : g_ew
                assign e1 = ei;
            end
            if (R_P + SEGR > 0) begin : g_ep
                reg [R_P+SEGR-1:0] q;
                if (R_P + SEGR > 1) begin : g_sh
                    always @(posedge ap_clk) if (ce) q <= {q[R_P+SEGR-2:0], e1};
                end else begin : g_one
                    always @(posedge ap_clk) if (ce) q <= e1;
                end
                assign ee = q[R_P+SEGR-1];
            end else begin : g_epw
                assign ee = e1;
            end

            // ---- lane sums and output registers ------------------------------------------------------
            for (l = 0; l < L; l = l + 1) begin : g_l
                localparam integer LOW = ((l % P) < lanes_of(l / P) - 1) ? 1 : 0;
                localparam integer IW = (LOW != 0) ? K : TOPW;
                wire [NG*IW-1:0] v;
                for (g = 0; g < NG; g = g + 1) begin : g_v
                    assign v[g*IW +: IW] = fld[(l*NG + g)*FW +: IW];
                end
                wire [DW-1:0] total;
                mac_dsp_sum #(.M(NG), .IW(IW), .SGN((LOW != 0) ? 0 : 1), .OW(DW)) u_sum (.v(v), .sum(total));
                wire [DW-1:0] r;
                if (LOW != 0) begin : g_lo
                    assign r = total + corr + {{(DW - 1){1'b0}}, ee};
                end else begin : g_hi
                    assign r = total + {{(DW - 1){1'b0}}, ee};
                end
                wire [DW-1:0] rq;
                if (R_OUT != 0) begin : g_oreg
                    reg [DW-1:0] q;
                    always @(posedge ap_clk) if (ce) q <= r;
                    assign rq = q;
                end else begin : g_owire
                    assign rq = r;
                end
                if (R_DLY != 0) begin : g_dly
                    reg [DW-1:0] q [0:R_DLY-1];
                    always @(posedge ap_clk) if (ce) q[0] <= rq;
                    for (d = 1; d < R_DLY; d = d + 1) begin : g_d
                        always @(posedge ap_clk) if (ce) q[d] <= q[d-1];
                    end
                    assign dot[l*DW +: DW] = q[R_DLY-1];
                end else begin : g_nodly
                    assign dot[l*DW +: DW] = rq;
                end
            end
        end
    endgenerate
endmodule

/* verilator lint_off DECLFILENAME */
// mac_dsp_sum: sum of M IW-bit values (two's complement if SGN, else unsigned), modulo
// 2**OW, as a balanced binary tree whose nodes are as wide as their values need
// (IW + clog2(count) bits, at most OW).
module mac_dsp_sum #(
    parameter integer M = 2,
    parameter integer IW = 4,
    parameter integer SGN = 1,
    parameter integer OW = 8
) (
    /* verilator lint_off UNUSEDSIGNAL */         // OW < IW: the bits above the sum's
    input  wire [M*IW-1:0] v,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [OW-1:0]   sum
);
    localparam integer NW0 = IW + $clog2(M);
    localparam integer NW = (NW0 < OW) ? NW0 : OW;          // this node's width
    (* keep *) wire [NW-1:0] node;                       // kept: one carry chain per adder
    generate
        if (M == 1) begin : g_leaf
            assign node = v[NW-1:0];
        end else begin : g_add
            localparam integer MA = M / 2;
            localparam integer MB = M - MA;
            localparam integer WA = (IW + $clog2(MA) < NW) ? IW + $clog2(MA) : NW;
            localparam integer WB = (IW + $clog2(MB) < NW) ? IW + $clog2(MB) : NW;
            wire [WA-1:0] a;
            wire [WB-1:0] b;
            mac_dsp_sum #(.M(MA), .IW(IW), .SGN(SGN), .OW(WA)) u_a (.v(v[0 +: MA*IW]), .sum(a));
            mac_dsp_sum #(.M(MB), .IW(IW), .SGN(SGN), .OW(WB)) u_b (.v(v[MA*IW +: MB*IW]), .sum(b));
            wire [NW-1:0] ea, eb;
            if (WA < NW) begin : g_ea
                assign ea = {{(NW - WA){SGN != 0 && a[WA-1]}}, a};
            end else begin : g_na
                assign ea = a;
            end
            if (WB < NW) begin : g_eb
                assign eb = {{(NW - WB){SGN != 0 && b[WB-1]}}, b};
            end else begin : g_nb
                assign eb = b;
            end
            assign node = ea + eb;
        end
        if (NW < OW) begin : g_ext
            assign sum = {{(OW - NW){SGN != 0 && node[NW-1]}}, node};
        end else begin : g_full
            assign sum = node;
        end
    endgenerate
endmodule
/* verilator lint_on DECLFILENAME */
