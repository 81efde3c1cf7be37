// streaming_maxpool: max pooling of an NHWC stream, bnncc's StreamingMaxPool / MaxPoolNHWC op.
//
//     y[oh][ow][c] = max over u < K_H, v < K_W of x_pad[oh*STRIDE_H + u][ow*STRIDE_W + v][c]
//
// where padding (PAD_T/PAD_L/PAD_B/PAD_R) never wins: a window's maximum is taken over its
// elements inside the image. With CEIL_MODE = 1 the output counts the last, partial window
// of each axis, exactly as the Python op: the end padding grows by (-span) mod stride, with
// span = size + pads - kernel. Output size along each axis: (size + pads + that - kernel) /
// stride + 1. Overlapping windows (stride < kernel) and gaps (stride > kernel) are allowed;
// every window must hold at least one image element (pads < kernel, and the last window
// starts inside the image), which the initial checks enforce.
//
// Stream format: input frames of H x W pixels of CH channels, pixels in raster order, PE
// channels per beat (CH/PE beats per pixel, element 0 in the least significant bits,
// ELEM_BITS bits each); output frames of OH x OW pixels in the same format. Frames follow
// each other back to back. Elements compare as two's complement (SIGNED = 1) or unsigned
// (SIGNED = 0; BIPOLAR data is 1-bit unsigned, so the maximum is the OR).
//
// Structure: two 1-D pooling stages (streaming_maxpool_1d, below). The first pools along
// each row (items = pixels of CH/PE beats, W items per row), the second pools the row
// results along the columns (items = pooled rows of OW*CH/PE beats, H items per frame).
// Each stage keeps ceil(K/S) accumulators per beat of an item (registers when an item is one
// beat, else a RAM of item-length words with a synchronous read): stage 1 holds
// ceil(K_W/STRIDE_W)*CH elements, stage 2 ceil(K_H/STRIDE_H) pooled rows of OW*CH elements.
//
// Throughput: one input beat per cycle. A stage spends extra cycles only when several
// windows end at its last item (right/bottom padding or ceil mode): each of them but the
// first is read out after the item, (windows ending past the last column) * CH/PE cycles
// per row and (windows ending past the last row) * OW*CH/PE cycles per frame, during which
// the input waits. Cycles per frame without stalls (upper bound):
//     CH/PE * (H * (W + XW) + XH * OW),   XW, XH = those window counts (0 for K=2, stride 2).
// Latency: 2 cycles per stage (input beat to output beat). Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module streaming_maxpool #(
    parameter integer CH        = 2,  // channels, a multiple of PE
    parameter integer H         = 4,  // input rows, >= 1
    parameter integer W         = 4,  // input columns, >= 1
    parameter integer K_H       = 2,  // window rows, >= 1
    parameter integer K_W       = 2,  // window columns, >= 1
    parameter integer STRIDE_H  = 2,  // vertical stride, >= 1
    parameter integer STRIDE_W  = 2,  // horizontal stride, >= 1
    parameter integer PAD_T     = 0,  // padding rows above the image, 0 .. K_H-1
    parameter integer PAD_L     = 0,  // padding columns left of the image, 0 .. K_W-1
    parameter integer PAD_B     = 0,  // padding rows below the image, >= 0
    parameter integer PAD_R     = 0,  // padding columns right of the image, >= 0
    parameter integer CEIL_MODE = 0,  // 1: count the last partial window of each axis
    parameter integer PE        = 1,  // channels per beat, divides CH
    parameter integer ELEM_BITS = 1,  // bits per element, >= 1
    parameter integer SIGNED    = 0   // 1: two's complement elements, 0: unsigned
) (
    input  wire                    ap_clk,
    input  wire                    ap_rst_n,
    input  wire [PE*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,
    output wire [PE*ELEM_BITS-1:0] m_axis_tdata,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready
);
    localparam integer CF      = CH / PE;                    // beats per pixel
    localparam integer DW      = PE * ELEM_BITS;             // bits per beat
    localparam integer SPAN_H  = H + PAD_T + PAD_B - K_H;    // as PoolWindow._extra_end
    localparam integer SPAN_W  = W + PAD_L + PAD_R - K_W;
    localparam integer EXTRA_H = (CEIL_MODE != 0 && SPAN_H >= 0) ? (STRIDE_H - SPAN_H % STRIDE_H) % STRIDE_H : 0;
    localparam integer EXTRA_W = (CEIL_MODE != 0 && SPAN_W >= 0) ? (STRIDE_W - SPAN_W % STRIDE_W) % STRIDE_W : 0;
    localparam integer OW      = (SPAN_W >= 0) ? (SPAN_W + EXTRA_W) / STRIDE_W + 1 : 1;

    initial begin
        if (CH < 1 || PE < 1 || CH % PE != 0) begin
            $display("%m: streaming_maxpool: PE (%0d) must divide CH (%0d)", PE, CH); $finish;
        end
        if (H < 1 || W < 1) begin $display("%m: streaming_maxpool: H and W must be >= 1"); $finish; end
        if (K_H < 1 || K_W < 1) begin $display("%m: streaming_maxpool: K_H and K_W must be >= 1"); $finish; end
        if (STRIDE_H < 1 || STRIDE_W < 1) begin $display("%m: streaming_maxpool: strides must be >= 1"); $finish; end
        if (CEIL_MODE != 0 && CEIL_MODE != 1) begin $display("%m: streaming_maxpool: CEIL_MODE must be 0 or 1"); $finish; end
        if (SIGNED != 0 && SIGNED != 1) begin $display("%m: streaming_maxpool: SIGNED must be 0 or 1"); $finish; end
        if (ELEM_BITS < 1) begin $display("%m: streaming_maxpool: ELEM_BITS must be >= 1"); $finish; end
        if (SPAN_H < 0 || SPAN_W < 0) begin
            $display("%m: streaming_maxpool: window %0dx%0d does not fit the padded %0dx%0d image",
                     K_H, K_W, H + PAD_T + PAD_B, W + PAD_L + PAD_R);
            $finish;
        end
    end

    wire [DW-1:0] row_tdata;
    wire          row_tvalid, row_tready;

    // stage 1: along each row; items are pixels (CF beats), W per row
    streaming_maxpool_1d #(
        .N(W), .L(CF), .K(K_W), .S(STRIDE_W), .P0(PAD_L), .P1(PAD_R + EXTRA_W),
        .PE(PE), .EB(ELEM_BITS), .SIGNED(SIGNED), .AXIS("columns")
    ) pool_w (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .m_axis_tdata(row_tdata), .m_axis_tvalid(row_tvalid), .m_axis_tready(row_tready)
    );

    // stage 2: along the columns; items are pooled rows (OW*CF beats), H per frame
    streaming_maxpool_1d #(
        .N(H), .L(OW * CF), .K(K_H), .S(STRIDE_H), .P0(PAD_T), .P1(PAD_B + EXTRA_H),
        .PE(PE), .EB(ELEM_BITS), .SIGNED(SIGNED), .AXIS("rows")
    ) pool_h (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axis_tdata(row_tdata), .s_axis_tvalid(row_tvalid), .s_axis_tready(row_tready),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
    );
endmodule


// streaming_maxpool_1d: 1-D max pooling of a stream of sequences of N items, each item L
// beats of PE elements: window j (j < M) covers items j*S - P0 .. j*S - P0 + K - 1, of which
// only those inside 0..N-1 count; its result is one item of L beats, beat t being the lane-
// wise maximum of beat t of its items. Windows come out in order, sequence after sequence.
//
// Window j accumulates in bank j mod NB (NB = ceil(K/S), at most M): at most NB windows are
// open at once, and window j ends before window j + NB begins. Per input beat every bank
// whose window holds the current item reads its accumulator for beat t, takes the maximum
// (or the input itself at the window's first item) and writes it back; at the window's last
// item the maximum goes to the output instead. Windows that end past the last item all close
// at item N-1: the first of them is output directly, the others are read out of their banks
// afterwards (L cycles each) while the input waits.
// Pipeline: stage 0 accepts a beat (and reads the banks), stage 1 computes, writes back and
// pushes into a 4-entry output queue with credit; a beat that outputs nothing needs no
// credit. Items of L >= 3 beats read a bank word one accepted beat ahead, through two
// registers (the block RAM's own output register, on ECP5 through bnncc's netlist step), so
// that no block RAM read lies on a path into the datapath; the window flags of an item are
// registers computed one cycle ahead. Only control registers are reset.
/* verilator lint_off DECLFILENAME */  // helper of streaming_maxpool, kept in its file
module streaming_maxpool_1d #(
    parameter integer N      = 4,  // items per sequence
    parameter integer L      = 1,  // beats per item
    parameter integer K      = 2,  // window length (items)
    parameter integer S      = 2,  // stride (items)
    parameter integer P0     = 0,  // padding items before the sequence, < K
    parameter integer P1     = 0,  // padding items after it (ceil-mode extension included)
    parameter integer PE     = 1,  // elements per beat
    parameter integer EB     = 1,  // bits per element
    parameter integer SIGNED = 0,  // 1: two's complement elements, 0: unsigned
    parameter         AXIS   = "items"  // what the items are, for messages
) (
    input  wire             ap_clk,
    input  wire             ap_rst_n,
    input  wire [PE*EB-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    output wire [PE*EB-1:0] m_axis_tdata,
    output wire             m_axis_tvalid,
    input  wire             m_axis_tready
);
    localparam integer DW      = PE * EB;
    localparam integer M       = (N + P0 + P1 >= K) ? (N + P0 + P1 - K) / S + 1 : 1;  // windows
    localparam integer NB0     = (K + S - 1) / S;
    localparam integer NB      = (NB0 < M) ? NB0 : M;        // accumulator banks
    localparam integer JA0     = N - K + P0;
    localparam integer JA      = (JA0 <= 0) ? 0 : (JA0 + S - 1) / S;  // first window ending at item N-1 or later
    localparam integer NFLUSH  = (JA <= M - 1) ? M - 1 - JA : 0;     // windows read out after item N-1
    localparam integer JA_BANK = JA % NB;
    localparam integer FB0     = (JA + 1) % NB;
    localparam integer PS_LAST = (M - 1) * S - P0;           // first item of the last window
    localparam integer IW      = (N <= 2) ? 1 : $clog2(N);
    localparam integer TW      = (L <= 2) ? 1 : $clog2(L);
    localparam integer BW      = (NB <= 2) ? 1 : $clog2(NB);
    localparam integer FW      = (NFLUSH <= 2) ? 1 : $clog2(NFLUSH);
    // signed item positions: every position a bank holds (ps, pe and the window after them,
    // psa/pea) lies in -K .. N + P1 + 2*NB*S - 1, within +-(N + P0 + P1 + K + 2*NB*S + 2):
    // one bit above that magnitude's (fewer carry cells on the window compares)
    localparam integer SW      = $clog2(N + P0 + P1 + K + 2 * NB * S + 2) + 1;
    localparam integer I_N_LAST = N - 1;
    localparam integer I_L_LAST = L - 1;
    localparam integer I_NB_LAST = NB - 1;
    localparam integer I_F_LAST = (NFLUSH > 0) ? NFLUSH - 1 : 0;
    localparam integer I_ADV    = NB * S;
    localparam integer I_FLIP   = (SIGNED != 0) ? (1 << (EB - 1)) : 0;
    localparam [IW-1:0] N_LAST  = I_N_LAST[IW-1:0];
    localparam [TW-1:0] L_LAST  = I_L_LAST[TW-1:0];
    localparam [BW-1:0] NB_LAST = I_NB_LAST[BW-1:0];
    localparam [BW-1:0] FB_INIT = FB0[BW-1:0];
    localparam [FW-1:0] F_LAST  = I_F_LAST[FW-1:0];
    localparam integer I_ONE    = (N > 1) ? 1 : 0;   // i + 1 after item 0 (N = 1: never used)
    localparam [IW-1:0] I1_INIT = I_ONE[IW-1:0];
    localparam signed [SW-1:0] S_PS_LAST = PS_LAST[SW-1:0];
    localparam signed [SW-1:0] S_N_LAST  = I_N_LAST[SW-1:0];
    localparam signed [SW-1:0] S_ADV     = I_ADV[SW-1:0];
    localparam signed [SW-1:0] S_ZERO    = {SW{1'b0}};
    localparam [EB-1:0] FLIP = I_FLIP[EB-1:0];  // sign bit flipped: signed order as unsigned

    initial begin
        if (N < 1 || L < 1 || K < 1 || S < 1 || P0 < 0 || P1 < 0) begin
            $display("%m: streaming_maxpool: illegal %s geometry N=%0d L=%0d K=%0d S=%0d pads %0d/%0d", AXIS, N, L, K, S, P0, P1);
            $finish;
        end
        if (P0 >= K) begin
            $display("%m: streaming_maxpool: padding %0d before the %s must be smaller than the window (%0d)", P0, AXIS, K);
            $finish;
        end
        if (N + P0 + P1 >= K && PS_LAST > N - 1) begin
            $display("%m: streaming_maxpool: the last window along the %s lies entirely in the padding", AXIS);
            $finish;
        end
    end

    // lane-wise maximum of two beats
    function [DW-1:0] vmax(input [DW-1:0] a, input [DW-1:0] b);
        integer p;
        begin
            for (p = 0; p < PE; p = p + 1)
                vmax[p*EB +: EB] = ((a[p*EB +: EB] ^ FLIP) > (b[p*EB +: EB] ^ FLIP)) ? a[p*EB +: EB] : b[p*EB +: EB];
        end
    endfunction

    // -- stage 0: position, bank windows, flush sequencer ------------------------------------
    reg [IW-1:0] i;          // item
    reg [TW-1:0] t;          // beat of the item (also of the item being read out)
    reg          flushing;   // reading out the windows that ended past the last item
    reg [FW-1:0] f;          // window being read out
    reg [BW-1:0] fb;         // its bank
    reg [NB*SW-1:0] ps;      // per bank: first item (signed, may be negative) of its window

    reg  [TW-1:0] t_next;    // the beat after t (a register: no adder ahead of the bank read)
    wire t_last = t == L_LAST;
    localparam integer I_T1 = (L > 1) ? 1 : 0;
    localparam [TW-1:0] T1_INIT = I_T1[TW-1:0];
    wire [TW-1:0] t_after = (t_next == L_LAST) ? {TW{1'b0}} : t_next + 1'b1;
    wire i_last = i == N_LAST;

    // Per bank, for item iv and a window of first item p_ and last item e_ (= p_ + K - 1):
    // the item lies in the window (act), is its first (first) or last (last) item, and the
    // window's result leaves with this item (emit); {emit, last, first, act}. The flags of
    // the current item are registers (act0 .. emit0), computed one cycle ahead for the item
    // that follows: item i + 1 (register i1) against both possible windows of every bank
    // (the current one, ps/pe, and the one after it, psa/pea = + NB*S, all registers), the
    // pick following the registered flags. No adder and no compare lies on the input
    // handshake, and none follows another. The compares of a window's bounds with constants
    // (the window exists: p_ <= PS_LAST; it ends past the last item: e_ > N - 1) are
    // registers beside the bounds (pok_, epast_), set when the bounds are.
    function [3:0] window_flags(input signed [SW-1:0] ii_, input il_, input signed [SW-1:0] p_,
                                input signed [SW-1:0] e_, input pok_, input epast_, input integer bank_);
        reg a_, l_;
        begin
            a_ = pok_ && (p_ <= ii_) && (ii_ <= e_);
            l_ = (ii_ == e_) || (il_ && epast_);
            window_flags = {a_ && l_ && (!il_ || bank_ == JA_BANK), l_,
                            (ii_ == p_) || (ii_ == S_ZERO && p_ < S_ZERO), a_};
        end
    endfunction

    reg [NB-1:0] act0, first0, last0, emit0;   // flags of item i (registers, see above)
    reg [IW-1:0] i1;                            // i + 1
    reg [NB*SW-1:0] pe, psa, pea;               // per bank: ps + K - 1, ps + NB*S, pe + NB*S
    reg [NB-1:0] ps_ok, psa_ok;                 // per bank: ps (psa) <= PS_LAST
    reg [NB-1:0] pe_past, pea_past;             // per bank: pe (pea) > N - 1
    reg [NB-1:0] ps_ok_init, psa_ok_init, pe_past_init, pea_past_init;   // of the first windows (constant)
    localparam signed [SW-1:0] S_PS_LAST_ADV = S_PS_LAST - S_ADV;   // psa + NB*S <= PS_LAST
    localparam signed [SW-1:0] S_N_LAST_ADV  = S_N_LAST - S_ADV;    // pea + NB*S > N - 1
    wire [NB*SW-1:0] ps_init;                   // first item of each bank's first window (window g)
    wire [NB*SW-1:0] pe_init, psa_init, pea_init;
    wire i1_last = i1 == N_LAST;                // item i + 1 is the last
    wire signed [SW-1:0] i1_s = {{(SW - IW){1'b0}}, i1};
    reg [4*NB-1:0] flags_next;                  // {emit, last, first, act} of item i + 1
    reg [4*NB-1:0] keep_all, move_all;          // ... at the current windows, at the ones after them
    reg [4*NB-1:0] flags_init;                  // of item 0 at the first windows (constant)
    reg [3:0] keep_, move_, init_;
    integer b;
    always @* begin
        for (b = 0; b < NB; b = b + 1) begin
            ps_ok_init[b] = $signed(ps_init[b*SW +: SW]) <= S_PS_LAST;
            psa_ok_init[b] = $signed(psa_init[b*SW +: SW]) <= S_PS_LAST;
            pe_past_init[b] = $signed(pe_init[b*SW +: SW]) > S_N_LAST;
            pea_past_init[b] = $signed(pea_init[b*SW +: SW]) > S_N_LAST;
            keep_ = window_flags(i1_s, i1_last, ps[b*SW +: SW], pe[b*SW +: SW], ps_ok[b], pe_past[b], b);
            move_ = window_flags(i1_s, i1_last, psa[b*SW +: SW], pea[b*SW +: SW], psa_ok[b], pea_past[b], b);
            init_ = window_flags(S_ZERO, N == 1, ps_init[b*SW +: SW], pe_init[b*SW +: SW], ps_ok_init[b],
                                 pe_past_init[b], b);
            {keep_all[3*NB + b], keep_all[2*NB + b], keep_all[NB + b], keep_all[b]} = keep_;
            {move_all[3*NB + b], move_all[2*NB + b], move_all[NB + b], move_all[b]} = move_;
            if (act0[b] && last0[b]) keep_ = move_;
            flags_next[b] = keep_[0]; flags_next[NB + b] = keep_[1];
            flags_next[2*NB + b] = keep_[2]; flags_next[3*NB + b] = keep_[3];
            flags_init[b] = init_[0]; flags_init[NB + b] = init_[1];
            flags_init[2*NB + b] = init_[2]; flags_init[3*NB + b] = init_[3];
        end
    end

    // Items of L >= 2 beats: the flags of item i + 1 are taken from registers of both
    // candidates (the banks' current windows and the ones after them) and picked by the
    // registered flags as the item changes. An item's i1 and windows are set at its first
    // beat, so the candidates registered at its second beat hold them by its last; no compare
    // lies in front of the flag registers (measured on ECP5 at 125 MHz: compares, pick and
    // enable in a row took 8.5 to 8.9 ns in CNV-w1a1's and Tincy-YOLO's row pools).
    wire [4*NB-1:0] flags_next_used;
    generate
        if (L >= 2) begin : g_flags_ahead
            reg [4*NB-1:0] keep_q, move_q;   // keep_all, move_all registered
            always @(posedge ap_clk) begin
                keep_q <= keep_all;
                move_q <= move_all;
            end
            // bank b's four flags sit at bits b, NB + b, 2*NB + b, 3*NB + b: pick per bank
            wire [4*NB-1:0] moves = {4{act0 & last0}};
            assign flags_next_used = (moves & move_q) | (~moves & keep_q);
            wire unused_flags_next = &{1'b0, flags_next};
        end else begin : g_flags_now
            assign flags_next_used = flags_next;
            wire unused_candidates = &{1'b0, keep_all, move_all};
        end
    endgenerate

    // -- stage 1 registers and output queue ---------------------------------------------------
    reg [DW-1:0] x1;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [TW-1:0] t1;         // beat of the item in stage 1 (unused when L == 1)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [NB-1:0] first1, we1, emit1, fsel1;
    reg          push1;          // stage 1 pushes a beat into the queue
    reg [DW-1:0] q [0:3];
    reg [1:0]    q_wr, q_rd;
    reg [2:0]    q_cnt;

    wire credit  = ({1'b0, q_cnt} + {3'b000, push1}) < 4'd4;
    assign s_axis_tready = !flushing && (credit || emit0 == {NB{1'b0}});
    wire fire_in = s_axis_tvalid && s_axis_tready;
    wire fire_fl = flushing && credit;
    wire fire0   = fire_in || fire_fl;
    wire pop     = m_axis_tvalid && m_axis_tready;

    assign m_axis_tvalid = q_cnt != 3'd0;
    assign m_axis_tdata  = q[q_rd];

    // -- banks ------------------------------------------------------------------------------
    wire [NB*DW-1:0] out_all;
    genvar g;
    generate
        for (g = 0; g < NB; g = g + 1) begin : bank
            localparam integer PS_INIT = g * S - P0;
            localparam integer PE_INIT = PS_INIT + K - 1;
            localparam integer PSA_INIT = PS_INIT + NB * S;
            localparam integer PEA_INIT = PE_INIT + NB * S;
            assign ps_init[g*SW +: SW] = PS_INIT[SW-1:0];
            assign pe_init[g*SW +: SW] = PE_INIT[SW-1:0];
            assign psa_init[g*SW +: SW] = PSA_INIT[SW-1:0];
            assign pea_init[g*SW +: SW] = PEA_INIT[SW-1:0];
            wire [DW-1:0] acc;
            wire [DW-1:0] m = first1[g] ? x1 : vmax(acc, x1);
            if (L == 1) begin : regs
                reg [DW-1:0] acc_r;
                always @(posedge ap_clk) if (we1[g]) acc_r <= m;
                assign acc = acc_r;
            end else if (L >= 3) begin : ram_prefetch
                // Word t+1 is read when beat t is accepted and taken into a second register
                // (the block RAM's output register) when beat t+1 is: beat t+1 finds its
                // accumulator registered, with no block RAM read on the path to the output
                // queue. The word was last written by the beat L >= 3 beats before it, whose
                // write (one cycle after its acceptance) precedes the acceptance of beat t:
                // a read never meets a write to its word, so the synthesis tool need not
                // build a read-during-write bypass (which would keep the block RAM's
                // output register from taking the second register).
                (* no_rw_check *) reg [DW-1:0] mem [0:L-1];
                reg [DW-1:0] pf, rd;
                always @(posedge ap_clk) begin
                    if (fire0) pf <= mem[t_next];
                    if (fire0) rd <= pf;
                    if (we1[g]) mem[t1] <= m;
                end
                assign acc = rd;
            end else begin : ram
                // consecutive beats use different words, so a read never meets a write
                reg [DW-1:0] mem [0:L-1];
                reg [DW-1:0] rd;
                always @(posedge ap_clk) begin
                    if (fire0) rd <= mem[t];
                    if (we1[g]) mem[t1] <= m;
                end
                assign acc = rd;
            end
            assign out_all[g*DW +: DW] = fsel1[g] ? acc : emit1[g] ? m : {DW{1'b0}};
        end
    endgenerate

    reg [DW-1:0] out1;
    integer k;
    always @* begin
        out1 = {DW{1'b0}};
        for (k = 0; k < NB; k = k + 1) out1 = out1 | out_all[k*DW +: DW];
    end

    // -- datapath (not reset) ---------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (fire0) begin
            x1 <= s_axis_tdata;
            t1 <= t;
        end
        if (push1) q[q_wr] <= out1;
    end

    // -- control ----------------------------------------------------------------------------
    integer c;
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            i <= {IW{1'b0}};
            t <= {TW{1'b0}};
            t_next <= T1_INIT;
            flushing <= 1'b0;
            f <= {FW{1'b0}};
            fb <= FB_INIT;
            ps <= ps_init; pe <= pe_init; psa <= psa_init; pea <= pea_init;
            ps_ok <= ps_ok_init; psa_ok <= psa_ok_init; pe_past <= pe_past_init; pea_past <= pea_past_init;
            i1 <= I1_INIT;
            {emit0, last0, first0, act0} <= flags_init;
            first1 <= {NB{1'b0}}; we1 <= {NB{1'b0}}; emit1 <= {NB{1'b0}}; fsel1 <= {NB{1'b0}};
            push1 <= 1'b0;
            q_wr <= 2'd0; q_rd <= 2'd0; q_cnt <= 3'd0;
        end else begin
            if (fire_in) begin
                t <= t_next;
                t_next <= t_after;
                if (t_last) begin
                    if (i_last) begin
                        i <= {IW{1'b0}};
                        i1 <= I1_INIT;
                        flushing <= NFLUSH > 0;
                        f <= {FW{1'b0}};
                        fb <= FB_INIT;
                        ps <= ps_init; pe <= pe_init; psa <= psa_init; pea <= pea_init;
                        ps_ok <= ps_ok_init; psa_ok <= psa_ok_init;
                        pe_past <= pe_past_init; pea_past <= pea_past_init;
                        {emit0, last0, first0, act0} <= flags_init;
                    end else begin
                        i <= i1;
                        i1 <= i1 + 1'b1;
                        for (c = 0; c < NB; c = c + 1)
                            if (act0[c] && last0[c]) begin
                                ps[c*SW +: SW]  <= psa[c*SW +: SW];
                                pe[c*SW +: SW]  <= pea[c*SW +: SW];
                                psa[c*SW +: SW] <= psa[c*SW +: SW] + S_ADV;
                                pea[c*SW +: SW] <= pea[c*SW +: SW] + S_ADV;
                                ps_ok[c] <= psa_ok[c];
                                pe_past[c] <= pea_past[c];
                                psa_ok[c] <= $signed(psa[c*SW +: SW]) <= S_PS_LAST_ADV;
                                pea_past[c] <= $signed(pea[c*SW +: SW]) > S_N_LAST_ADV;
                            end
                        {emit0, last0, first0, act0} <= flags_next_used;
                    end
                end
            end else if (fire_fl) begin
                t <= t_next;
                t_next <= t_after;
                if (t_last) begin
                    fb <= (fb == NB_LAST) ? {BW{1'b0}} : fb + 1'b1;
                    f <= f + 1'b1;
                    if (f == F_LAST) flushing <= 1'b0;
                end
            end
            first1 <= first0;
            we1    <= fire_in ? act0 & ~emit0 : {NB{1'b0}};
            emit1  <= fire_in ? emit0 : {NB{1'b0}};
            for (c = 0; c < NB; c = c + 1) fsel1[c] <= fire_fl && fb == c[BW-1:0];
            push1  <= (fire_in && emit0 != {NB{1'b0}}) || fire_fl;
            if (push1) q_wr <= q_wr + 1'b1;
            if (pop) q_rd <= q_rd + 1'b1;
            q_cnt <= q_cnt + {2'b00, push1} - {2'b00, pop};
        end
    end
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
