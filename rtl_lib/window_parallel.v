// window_parallel: the parallel mode of sliding_window (SIMD = M*IFM_CH, M > 1 dividing
// K_H*K_W): several whole kernel positions per output beat.
//
// Input: NHWC frames of IFM_H x IFM_W pixels, one whole pixel (IFM_CH elements of ELEM_BITS
// bits, channel c in bits [c*ELEM_BITS +: ELEM_BITS]) per beat, pixels in raster order,
// frames back to back.
// Output: for every output pixel (oh, ow) in raster order its patch in the order (u, v, c),
//     y[oh][ow][(u*K_W + v)*IFM_CH + c] = x_pad[oh*STRIDE_H + u*DIL_H][ow*STRIDE_W + v*DIL_W][c],
// M = SIMD/IFM_CH kernel positions (SIMD elements) per beat, NB = K_H*K_W/M beats per output
// pixel: beat b holds kernel positions b*M .. b*M + M - 1, exactly the beats of the serial
// sliding_window with SIMD = IFM_CH grouped M at a time.
//
// Structure. A walker visits the padded image (HP = PAD_T + IFM_H + PAD_B rows of
// WP = PAD_L + IFM_W + PAD_R columns) in raster order, one position per cycle: an image
// position takes an input beat, a padding position takes PAD_VALUE. Each step reads the
// column word of its column c from a RAM of WP words holding the SPAN_H - 1 previous padded
// rows at that column (registered read, issued every cycle at the walker's column, so a
// stalled walker finds its word ready), and one cycle later (stage S1) the column of
// SPAN_H pixels (those rows and the new pixel) is written back shifted by one row and
// shifted into a K_H x SPAN_W register window (only the kernel rows u*DIL_H are kept).
// With WP = 1 the word read in the cycle of a write to the same address is taken from the
// write (forwarding). READ_REG = 1 with WP >= 3 reads one cycle ahead instead: the address
// is the column the walker will be at in the next cycle (the next column when it steps), and
// the word passes a second register (the block RAM's output register) that holds the
// stepped column's word in S1, so no logic sits between the block RAM and a register; the
// timing of every beat is unchanged. A column's word is read at least WP - 1 >= 2 cycles
// after the write of its previous visit (one step per cycle at most), so a read never meets
// a write to its word (no_rw_check). With WP <= 2 READ_REG has no effect. A step at a strided window corner (row r = SPAN_H - 1 + i*STRIDE_H,
// column c = SPAN_W - 1 + j*STRIDE_W) reserves an entry of a 16-entry output queue; the
// window, complete at the end of S1, is written into it in stage S2. The queue's credit is
// a register, so s_axis_tready and the walker never depend on m_axis_tready. A beat counter
// selects M positions of the queue's head per output beat.
//
// Throughput: one padded position per cycle and one output beat per cycle: cycles per frame
// about max(HP*WP, OH*OW*NB). Latency: an input beat taken in cycle t completes a window
// that can leave in cycle t + 3. Only control registers are reset. With READ_REG the queue's
// head is also read into a register (the same value in every cycle, so the same timing).
`timescale 1ns / 1ps
`default_nettype none

module window_parallel #(
    parameter integer IFM_CH    = 2,   // channels per pixel, >= 1
    parameter integer IFM_H     = 4,   // input rows, >= 1
    parameter integer IFM_W     = 4,   // input columns, >= 1
    parameter integer K_H       = 3,   // kernel rows, >= 1
    parameter integer K_W       = 3,   // kernel columns, >= 1
    parameter integer STRIDE_H  = 1,   // vertical stride, >= 1
    parameter integer STRIDE_W  = 1,   // horizontal stride, >= 1
    parameter integer DIL_H     = 1,   // vertical dilation, >= 1
    parameter integer DIL_W     = 1,   // horizontal dilation, >= 1
    parameter integer PAD_T     = 0,   // padding rows above the image, >= 0
    parameter integer PAD_L     = 0,   // padding columns left of the image, >= 0
    parameter integer PAD_B     = 0,   // padding rows below the image, >= 0
    parameter integer PAD_R     = 0,   // padding columns right of the image, >= 0
    parameter integer PAD_VALUE = 0,   // element value of padded elements (low ELEM_BITS bits)
    parameter integer SIMD      = 18,  // elements per output beat: M*IFM_CH, M > 1 divides K_H*K_W
    parameter integer ELEM_BITS = 1,   // bits per element, 1..32
    parameter integer READ_REG  = 0    // 1: the line buffer read registered twice, a cycle ahead (WP >= 3)
) (
    input  wire                        ap_clk,
    input  wire                        ap_rst_n,
    input  wire [IFM_CH*ELEM_BITS-1:0] s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,
    output wire [SIMD*ELEM_BITS-1:0]   m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);
    // -- geometry ---------------------------------------------------------------------------
    localparam integer PW     = IFM_CH * ELEM_BITS;                  // bits per pixel
    localparam integer BW     = SIMD * ELEM_BITS;                    // bits per output beat
    localparam integer KK     = K_H * K_W;                           // kernel positions
    localparam integer M      = (IFM_CH >= 1) ? SIMD / IFM_CH : 1;   // positions per beat
    localparam integer MG     = (M >= 1) ? M : 1;
    localparam integer NB     = (KK >= MG) ? KK / MG : 1;            // beats per output pixel
    localparam integer SPAN_H = (K_H - 1) * DIL_H + 1;
    localparam integer SPAN_W = (K_W - 1) * DIL_W + 1;
    localparam integer HP     = PAD_T + IFM_H + PAD_B;               // padded rows
    localparam integer WP     = PAD_L + IFM_W + PAD_R;               // padded columns
    localparam integer LB     = SPAN_H - 1;                          // rows kept in the line buffer
    localparam integer LBW    = (LB > 0 ? LB : 1) * PW;              // line buffer word
    localparam integer WINW   = SPAN_W * PW;                         // one window row
    localparam integer PATCH  = KK * PW;                             // one output pixel
    localparam integer CW     = (WP <= 2) ? 1 : $clog2(WP);
    localparam integer RWD    = (HP <= 2) ? 1 : $clog2(HP);
    localparam integer WAIT_W = (SPAN_W > STRIDE_W) ? SPAN_W : STRIDE_W;
    localparam integer WAIT_H = (SPAN_H > STRIDE_H) ? SPAN_H : STRIDE_H;
    localparam integer CWW    = (WAIT_W <= 2) ? 1 : $clog2(WAIT_W);
    localparam integer RWW    = (WAIT_H <= 2) ? 1 : $clog2(WAIT_H);
    localparam integer BCW    = (NB <= 2) ? 1 : $clog2(NB);

    localparam integer I_WP_PEN   = WP - 2;
    localparam integer I_HP_PEN   = HP - 2;
    localparam integer I_CIN_PRE  = PAD_L - 1;           // column before the first image column
    localparam integer I_CIN_LAST = PAD_L + IFM_W - 1;   // last image column
    localparam integer I_RIN_PRE  = PAD_T - 1;
    localparam integer I_RIN_LAST = PAD_T + IFM_H - 1;
    localparam integer I_SW_WAIT  = SPAN_W - 1;
    localparam integer I_SH_WAIT  = SPAN_H - 1;
    localparam integer I_STW_WAIT = STRIDE_W - 1;
    localparam integer I_STH_WAIT = STRIDE_H - 1;
    localparam integer I_NB_PEN   = NB - 2;
    localparam [CW-1:0]  C_PEN    = I_WP_PEN[CW-1:0];
    localparam [RWD-1:0] R_PEN    = I_HP_PEN[RWD-1:0];
    localparam [CW-1:0]  CIN_PRE  = I_CIN_PRE[CW-1:0];
    localparam [CW-1:0]  CIN_LAST = I_CIN_LAST[CW-1:0];
    localparam [RWD-1:0] RIN_PRE  = I_RIN_PRE[RWD-1:0];
    localparam [RWD-1:0] RIN_LAST = I_RIN_LAST[RWD-1:0];
    localparam [CWW-1:0] SW_WAIT  = I_SW_WAIT[CWW-1:0];
    localparam [RWW-1:0] SH_WAIT  = I_SH_WAIT[RWW-1:0];
    localparam [CWW-1:0] STW_WAIT = I_STW_WAIT[CWW-1:0];
    localparam [RWW-1:0] STH_WAIT = I_STH_WAIT[RWW-1:0];
    localparam [CWW-1:0] CW_ONE   = {{(CWW-1){1'b0}}, 1'b1};
    localparam [RWW-1:0] RW_ONE   = {{(RWW-1){1'b0}}, 1'b1};
    localparam [BCW-1:0] NB_PEN   = I_NB_PEN[BCW-1:0];
    localparam [ELEM_BITS-1:0] PAD_ELEM = PAD_VALUE[ELEM_BITS-1:0];
    localparam [PW-1:0]  PAD_PIX  = {IFM_CH{PAD_ELEM}};

    initial begin
        if (IFM_CH < 1 || SIMD <= IFM_CH || SIMD % IFM_CH != 0 || KK % MG != 0) begin
            $display("%m: window_parallel: SIMD (%0d) must be a multiple of IFM_CH (%0d) by a factor > 1 dividing K_H*K_W (%0d)",
                     SIMD, IFM_CH, KK);
            $finish;
        end
        if (READ_REG < 0 || READ_REG > 1) begin $display("%m: window_parallel: READ_REG must be 0 or 1"); $finish; end
        if (HP < SPAN_H || WP < SPAN_W) begin
            $display("%m: window_parallel: kernel %0dx%0d (dilation %0dx%0d) does not fit the padded %0dx%0d image",
                     K_H, K_W, DIL_H, DIL_W, HP, WP);
            $finish;
        end
    end

    // -- walker (control) -------------------------------------------------------------------
    reg [CW-1:0]  c;          // padded column of the position
    reg [RWD-1:0] r;          // padded row
    reg           c_last, r_last;
    reg           col_in, row_in;      // the position's column / row lies in the image
    reg [CWW-1:0] col_wait;   // steps to the next window column (0: this one)
    reg [RWW-1:0] row_wait;   // rows to the next window row (0: this one)
    reg           col_zero, row_zero;  // col_wait == 0, row_wait == 0
    reg [4:0]     held;       // queue entries reserved (written, in flight, not yet popped)
    reg           credit;     // held != 16

    wire image = row_in && col_in;
    wire emit  = row_zero && col_zero;
    assign s_axis_tready = image && (!emit || credit);
    wire step  = (!image || s_axis_tvalid) && (!emit || credit);

    // -- stage S1: the stepped position's column --------------------------------------------
    reg          s1_valid, s1_emit, s2_emit;
    reg          s1_pad;
    reg [PW-1:0] s1_pix;
    wire [PW-1:0] pix = s1_pad ? PAD_PIX : s1_pix;
    wire [SPAN_H*PW-1:0] column;     // rows r-SPAN_H+1 .. r of the stepped column, oldest first

    generate
        if (LB > 0 && READ_REG != 0 && WP >= 3) begin : lines
            (* no_rw_check *) reg [LBW-1:0] mem [0:WP-1];
            reg [LBW-1:0] rdata;     // the word of the walker's column, read a cycle ahead
            reg [LBW-1:0] rdata2;    // the stepped column's word in S1
            reg [CW-1:0]  s1_addr;   // the column of stage S1
            wire [CW-1:0] c_next = c_last ? {CW{1'b0}} : c + 1'b1;
            wire [CW-1:0] ra = step ? c_next : c;   // the walker's column in the next cycle
            assign column = {pix, rdata2};
            always @(posedge ap_clk) begin
                if (step) s1_addr <= c;
                rdata <= mem[ra];
                rdata2 <= rdata;
                if (s1_valid) mem[s1_addr] <= column[SPAN_H*PW-1:PW];
            end
        end else if (LB > 0) begin : lines
            reg [LBW-1:0] mem [0:WP-1];
            reg [LBW-1:0] rdata;
            reg           fwd;       // the word read was written in the same cycle (WP = 1)
            reg [LBW-1:0] fwd_word;
            reg [CW-1:0]  s1_addr;   // the column of stage S1
            wire [LBW-1:0] old = fwd ? fwd_word : rdata;
            assign column = {pix, old};
            always @(posedge ap_clk) begin
                if (step) s1_addr <= c;
                rdata <= mem[c];
                if (s1_valid) mem[s1_addr] <= column[SPAN_H*PW-1:PW];
                fwd <= (WP == 1) && s1_valid;
                fwd_word <= column[SPAN_H*PW-1:PW];
            end
        end else begin : no_lines
            assign column = pix;
        end
    endgenerate

    // -- window registers: K_H rows of SPAN_W pixels, oldest column first --------------------
    reg [K_H*WINW-1:0] win;
    genvar gu, gv;
    generate
        for (gu = 0; gu < K_H; gu = gu + 1) begin : window_rows
            if (SPAN_W > 1) begin : shift
                always @(posedge ap_clk)
                    if (s1_valid) win[gu*WINW +: WINW] <= {column[gu*DIL_H*PW +: PW], win[gu*WINW + PW +: WINW - PW]};
            end else begin : single
                always @(posedge ap_clk)
                    if (s1_valid) win[gu*WINW +: WINW] <= column[gu*DIL_H*PW +: PW];
            end
        end
    endgenerate

    // the patch of the window, (u, v) position at bits [(u*K_W + v)*PW +: PW]
    wire [PATCH-1:0] patch;
    generate
        for (gu = 0; gu < K_H; gu = gu + 1) begin : patch_rows
            for (gv = 0; gv < K_W; gv = gv + 1) begin : patch_cols
                assign patch[(gu*K_W + gv)*PW +: PW] = win[gu*WINW + gv*DIL_W*PW +: PW];
            end
        end
    endgenerate

    // -- output queue: 16 patches (distributed RAM), M positions per beat -------------------
    reg [PATCH-1:0] q [0:15];
    reg [3:0]       q_wr, q_rd;
    reg [4:0]       q_cnt;
    reg             q_any;          // q_cnt != 0, a register of its own: the output's valid
    reg [BCW-1:0]   b;
    reg             b_last;
    wire [PATCH-1:0] head;          // q[q_rd], the patch whose beats leave
    // (the valid from q_any, not a compare of q_cnt: on ECP5 at 125 MHz the compare, the pop
    // and the head register's clock enable with its fan-out took 8.25 ns in CNV-w2a2's conv 1)
    assign m_axis_tvalid = q_any;
    assign m_axis_tdata  = head[b*BW +: BW];
    wire pop      = m_axis_tvalid && m_axis_tready;
    wire pop_last = pop && b_last;
    generate
        if (READ_REG != 0) begin : g_head_registered
            // head from a register equal to q[q_rd] in every cycle. It is loaded when the
            // head patch leaves (pop_last: the next entry, q[q_rd + 1], or the patch written
            // into it in that cycle) and when a patch is written into an empty queue (the
            // entry q_rd; with 16 patches held nothing is written). Its data therefore comes
            // from registers alone and only its clock enable from the pop, so the queue's read
            // is not in front of the output multiplexer and the consumer's memory
            reg [3:0]       q_rd1;  // q_rd + 1
            reg [PATCH-1:0] head_q;
            wire [PATCH-1:0] next_entry = q[q_rd1];
            wire write_head = s2_emit && q_wr == q_rd;     // into the empty queue
            wire write_next = s2_emit && q_wr == q_rd1;
            always @(posedge ap_clk) begin
                if (!ap_rst_n) q_rd1 <= 4'd1;
                else if (pop_last) q_rd1 <= q_rd1 + 1'b1;
                if (pop_last || write_head) head_q <= (write_head || write_next) ? patch : next_entry;
            end
            assign head = head_q;
        end else begin : g_head
            assign head = q[q_rd];
        end
    endgenerate
    wire reserve  = step && emit;
    wire [4:0] held_n = held + {4'b0000, reserve} - {4'b0000, pop_last};

    // -- datapath (not reset) ---------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (step) begin
            s1_pad  <= !image;
            s1_pix  <= s_axis_tdata;
        end
        if (s2_emit) q[q_wr] <= patch;
    end

    // -- control ----------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            c <= {CW{1'b0}}; r <= {RWD{1'b0}};
            c_last <= (WP == 1); r_last <= (HP == 1);
            col_in <= (PAD_L == 0); row_in <= (PAD_T == 0);
            col_wait <= SW_WAIT; row_wait <= SH_WAIT;
            col_zero <= (SPAN_W == 1); row_zero <= (SPAN_H == 1);
            held <= 5'd0; credit <= 1'b1;
            s1_valid <= 1'b0; s1_emit <= 1'b0; s2_emit <= 1'b0;
            q_wr <= 4'd0; q_rd <= 4'd0; q_cnt <= 5'd0; q_any <= 1'b0;
            b <= {BCW{1'b0}}; b_last <= (NB == 1);
        end else begin
            if (step) begin
                if (c_last) begin
                    c <= {CW{1'b0}};
                    c_last <= (WP == 1);
                    col_in <= (PAD_L == 0);
                    col_wait <= SW_WAIT;
                    col_zero <= (SPAN_W == 1);
                    r <= r_last ? {RWD{1'b0}} : r + 1'b1;
                    r_last <= r_last ? (HP == 1) : (r == R_PEN);
                    if (r_last) row_in <= (PAD_T == 0);
                    else if (PAD_T > 0 && r == RIN_PRE) row_in <= 1'b1;
                    else if (r == RIN_LAST) row_in <= 1'b0;
                    if (r_last) begin
                        row_wait <= SH_WAIT;
                        row_zero <= (SPAN_H == 1);
                    end else if (row_zero) begin
                        row_wait <= STH_WAIT;
                        row_zero <= (STRIDE_H == 1);
                    end else begin
                        row_wait <= row_wait - RW_ONE;
                        row_zero <= (row_wait == RW_ONE);
                    end
                end else begin
                    c <= c + 1'b1;
                    c_last <= (c == C_PEN);
                    if (PAD_L > 0 && c == CIN_PRE) col_in <= 1'b1;
                    else if (c == CIN_LAST) col_in <= 1'b0;
                    if (col_zero) begin
                        col_wait <= STW_WAIT;
                        col_zero <= (STRIDE_W == 1);
                    end else begin
                        col_wait <= col_wait - CW_ONE;
                        col_zero <= (col_wait == CW_ONE);
                    end
                end
            end
            s1_valid <= step;
            s1_emit  <= reserve;
            s2_emit  <= s1_valid && s1_emit;
            held     <= held_n;
            // held_n != 16 from compares of held itself, chosen by the reservation and the
            // pop (held_n = held + 1 reaches 16 from 15; held - 1 never does): no adder
            // between the walker's step and this register
            credit   <= (reserve && !pop_last) ? held != 5'd15 : (pop_last && !reserve) || held != 5'd16;
            if (s2_emit) q_wr <= q_wr + 1'b1;
            if (pop_last) q_rd <= q_rd + 1'b1;
            q_cnt <= q_cnt + {4'b0000, s2_emit} - {4'b0000, pop_last};
            // q_cnt's next value != 0: a patch written alone; the last one popped alone
            if (s2_emit && !pop_last) q_any <= 1'b1;
            else if (pop_last && !s2_emit) q_any <= q_cnt != 5'd1;
            if (pop) begin
                b <= b_last ? {BCW{1'b0}} : b + 1'b1;
                b_last <= b_last ? (NB == 1) : (b == NB_PEN);
            end
        end
    end
endmodule

`default_nettype wire
