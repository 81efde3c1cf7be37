// sliding_window: streaming im2col (sliding-window generator) in front of a matrix unit,
// bnncc's SlidingWindow / Im2Col op.
//
// Input: NHWC frames of IFM_H x IFM_W pixels of IFM_CH channels, pixels in raster order,
// SIMD channels per beat (CF = IFM_CH/SIMD beats per pixel, channel c = f*SIMD + s in
// element s of the pixel's beat f), element 0 in the least significant bits, ELEM_BITS
// bits per element. Frames follow each other back to back.
// Output: for every output pixel (oh, ow) in raster order, its patch in the order (u, v, c)
// (kernel row, kernel column, channel fastest), SIMD channels per beat:
//     y[oh][ow][(u*K_W + v)*IFM_CH + c] = x_pad[oh*STRIDE_H + u*DIL_H][ow*STRIDE_W + v*DIL_W][c]
// where x_pad is the image surrounded by PAD_T/PAD_L/PAD_B/PAD_R elements of PAD_VALUE:
// K_H*K_W*CF beats per output pixel, OH*OW output pixels per frame with
//     OH = (PAD_T + IFM_H + PAD_B - (K_H-1)*DIL_H - 1) / STRIDE_H + 1   (OW likewise).
//
// Parallel mode: SIMD = M*IFM_CH with M > 1 dividing K_H*K_W instantiates window_parallel.v
// instead (same output order, M kernel positions per beat, one whole pixel of IFM_CH
// elements per input beat; EXTRA_ROWS unused; READ_REG reads its line buffer a cycle ahead
// through two registers, same timing); everything below describes the serial mode.
//
// Structure. Input rows are written in arrival order into a ring of NROWS row slots
// (IFM_W*CF words of SIMD*ELEM_BITS bits each), a plain array inferred as block or
// distributed RAM with one write and one synchronous read port. NROWS is
//     min(IFM_H, (K_H-1)*DIL_H + STRIDE_H) + EXTRA_ROWS:
// the rows one window spans plus STRIDE_H-1 rows, so that the rows of the next output row
// are written while the current one is read (its last row overwrites the first row of the
// current one as soon as that is released), or the whole image when that is smaller.
// A reader walks (oh, ow, u, v, cf); each beat is padding (PAD_VALUE, no memory read) or a
// read of an image word that is issued as soon as the writer has stored that word (beat-
// granular check, so the reader may trail the writer inside a row). The reader is two
// register stages: G holds the position of the next beat, R the recorded beat (its memory
// address, whether it is padding, the rows its issue releases) waiting for its word; G
// moves into R whenever R issues or is empty, so a beat issues every cycle, and the issue
// decision (a compare of R with the writer's position and the queue's credit) and the
// position arithmetic are in different cycles. R's word is found written one cycle after
// the writer stored it (the check is registered), so a beat issues 2 cycles after the
// input beat it copies. Rows are released at
// the end of each output row (rows above the next output row's first row) and of each frame
// (all remaining rows); the writer accepts input while the row it writes lies in a released
// slot. The reader finishes a frame only after the writer finished it, so the two sides
// never drift by a frame. Every window needs at most min(IFM_H, span) rows and a frame end at
// most min(IFM_H, span + STRIDE_H - 1 - PAD_B) rows, both <= NROWS: it never deadlocks.
// Read words pass a one-cycle RAM stage (READ_REG = 1: two, the second one the block RAM's
// output register) into a 4-entry output queue (credit-based, so the reader issues one beat
// per cycle in steady state and m_axis_tready never reaches the read logic
// combinationally).
//
// Throughput: one output beat per cycle whenever its data has arrived; one input beat per
// cycle while a slot is free. Latency from an input word to the first output beat that
// needs it: 4 cycles (READ_REG: 5). Output-bound layers lose, per frame, the time to refill the rows the
// first output row needs beyond the NROWS - (rows the last output row holds) that the
// writer can prefetch (EXTRA_ROWS rows of memory reduce it). Only control registers are
// reset.
`timescale 1ns / 1ps
`default_nettype none

module sliding_window #(
    parameter integer IFM_CH     = 2,  // input channels, a multiple of SIMD
    parameter integer IFM_H      = 4,  // input rows, >= 1
    parameter integer IFM_W      = 4,  // input columns, >= 1
    parameter integer K_H        = 3,  // kernel rows, >= 1
    parameter integer K_W        = 3,  // kernel columns, >= 1
    parameter integer STRIDE_H   = 1,  // vertical stride, >= 1
    parameter integer STRIDE_W   = 1,  // horizontal stride, >= 1
    parameter integer DIL_H      = 1,  // vertical dilation, >= 1
    parameter integer DIL_W      = 1,  // horizontal dilation, >= 1
    parameter integer PAD_T      = 0,  // padding rows above the image, >= 0
    parameter integer PAD_L      = 0,  // padding columns left of the image, >= 0
    parameter integer PAD_B      = 0,  // padding rows below the image, >= 0
    parameter integer PAD_R      = 0,  // padding columns right of the image, >= 0
    parameter integer PAD_VALUE  = 0,  // element value of every padded element: its low
                                       // ELEM_BITS bits are used, so -2**(ELEM_BITS-1) ..
                                       // 2**ELEM_BITS-1 (bipolar: 0 = -1, 1 = +1)
    parameter integer SIMD       = 1,  // channels per beat, divides IFM_CH; or M*IFM_CH with M > 1
                                       // dividing K_H*K_W: M kernel positions per beat
    parameter integer ELEM_BITS  = 1,  // bits per element, 1..32
    parameter integer EXTRA_ROWS = 0,  // additional row slots (>= 0): more prefetch across
                                       // frame boundaries for output-bound layers
    parameter integer READ_REG   = 0   // 1: the line buffer's read data registered once more
                                       // (the block RAM's output register), latency + 1
) (
    input  wire                        ap_clk,
    input  wire                        ap_rst_n,
    input  wire [((SIMD > IFM_CH) ? IFM_CH : SIMD)*ELEM_BITS-1:0] s_axis_tdata, // a pixel per beat in parallel mode
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,
    output wire [SIMD*ELEM_BITS-1:0]   m_axis_tdata,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready
);
    // -- parallel mode (window_parallel.v) or serial (below) -------------------------------
    localparam integer PARALLEL = (SIMD > IFM_CH) ? 1 : 0;
    localparam integer SPAN_H  = (K_H - 1) * DIL_H + 1;      // rows spanned by one window
    localparam integer SPAN_W  = (K_W - 1) * DIL_W + 1;      // columns spanned by one window
    localparam integer HP      = PAD_T + IFM_H + PAD_B;      // padded rows
    localparam integer WP      = PAD_L + IFM_W + PAD_R;      // padded columns

    initial begin
        if (IFM_CH < 1 || SIMD < 1 || (PARALLEL == 0 && IFM_CH % SIMD != 0)
            || (PARALLEL != 0 && (SIMD % IFM_CH != 0 || (K_H * K_W) % (SIMD / IFM_CH) != 0))) begin
            $display("%m: sliding_window: SIMD (%0d) must divide IFM_CH (%0d) or be a multiple of it by a factor dividing K_H*K_W (%0d)",
                     SIMD, IFM_CH, K_H * K_W);
            $finish;
        end
        if (IFM_H < 1 || IFM_W < 1) begin $display("%m: sliding_window: IFM_H and IFM_W must be >= 1"); $finish; end
        if (K_H < 1 || K_W < 1) begin $display("%m: sliding_window: K_H and K_W must be >= 1"); $finish; end
        if (STRIDE_H < 1 || STRIDE_W < 1) begin $display("%m: sliding_window: strides must be >= 1"); $finish; end
        if (DIL_H < 1 || DIL_W < 1) begin $display("%m: sliding_window: dilations must be >= 1"); $finish; end
        if (PAD_T < 0 || PAD_L < 0 || PAD_B < 0 || PAD_R < 0) begin
            $display("%m: sliding_window: pads must be >= 0"); $finish;
        end
        if (ELEM_BITS < 1 || ELEM_BITS > 32) begin $display("%m: sliding_window: ELEM_BITS must be 1..32"); $finish; end
        if (ELEM_BITS < 32 && (PAD_VALUE >= (1 << ELEM_BITS) || PAD_VALUE < -(1 << (ELEM_BITS - 1)))) begin
            $display("%m: sliding_window: PAD_VALUE (%0d) does not fit %0d bits", PAD_VALUE, ELEM_BITS); $finish;
        end
        if (EXTRA_ROWS < 0) begin $display("%m: sliding_window: EXTRA_ROWS must be >= 0"); $finish; end
        if (READ_REG < 0 || READ_REG > 1) begin $display("%m: sliding_window: READ_REG must be 0 or 1"); $finish; end
        if (HP < SPAN_H || WP < SPAN_W) begin
            $display("%m: sliding_window: kernel %0dx%0d (dilation %0dx%0d) does not fit the padded %0dx%0d image",
                     K_H, K_W, DIL_H, DIL_W, HP, WP);
            $finish;
        end
    end

    generate if (PARALLEL != 0) begin : parallel
        window_parallel #(
            .IFM_CH(IFM_CH), .IFM_H(IFM_H), .IFM_W(IFM_W), .K_H(K_H), .K_W(K_W), .STRIDE_H(STRIDE_H),
            .STRIDE_W(STRIDE_W), .DIL_H(DIL_H), .DIL_W(DIL_W), .PAD_T(PAD_T), .PAD_L(PAD_L), .PAD_B(PAD_B),
            .PAD_R(PAD_R), .PAD_VALUE(PAD_VALUE), .SIMD(SIMD), .ELEM_BITS(ELEM_BITS), .READ_REG(READ_REG)
        ) core (
            .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
            .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
            .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
        );
    end else begin : serial
    // -- geometry ---------------------------------------------------------------------------
    localparam integer CF      = IFM_CH / SIMD;              // beats per pixel
    localparam integer DW      = SIMD * ELEM_BITS;           // bits per beat (memory word)
    localparam integer OH      = (HP >= SPAN_H) ? (HP - SPAN_H) / STRIDE_H + 1 : 1;
    localparam integer OW      = (WP >= SPAN_W) ? (WP - SPAN_W) / STRIDE_W + 1 : 1;
    localparam integer SLIDE   = SPAN_H - 1 + STRIDE_H;      // rows for a sliding line buffer
    localparam integer NROWS   = ((IFM_H < SLIDE) ? IFM_H : SLIDE) + EXTRA_ROWS; // row slots
    localparam integer ROWW    = IFM_W * CF;                 // words per image row
    localparam integer DEPTH   = NROWS * ROWW;               // words of line buffer
    localparam integer AW      = (DEPTH <= 2) ? 1 : $clog2(DEPTH);
    localparam integer RCW     = (ROWW <= 2) ? 1 : $clog2(ROWW);  // column-beat counter bits
    localparam integer OHW     = (OH <= 2) ? 1 : $clog2(OH);
    localparam integer OWW     = (OW <= 2) ? 1 : $clog2(OW);
    localparam integer KHW     = (K_H <= 2) ? 1 : $clog2(K_H);
    localparam integer KWW     = (K_W <= 2) ? 1 : $clog2(K_W);
    localparam integer CFW     = (CF <= 2) ? 1 : $clog2(CF);
    // Signed positions (rows, columns, column beats) fit SW bits with room to spare.
    localparam integer RMAX    = 2 * IFM_H + PAD_T + PAD_B + NROWS + STRIDE_H + K_H * DIL_H;
    localparam integer CMAX    = (WP + STRIDE_W + K_W * DIL_W + 1) * CF;
    localparam integer PMAX    = (RMAX > CMAX) ? RMAX : CMAX;
    localparam integer SW0     = $clog2(PMAX + 2) + 2;
    localparam integer SW      = (SW0 > AW + 1) ? SW0 : AW + 1;
    localparam integer RW      = $clog2(NROWS + IFM_H + 2);  // room counter bits
    // Modular steps of the slot base (slot * ROWW) around the ring of DEPTH words.
    localparam integer STEP_U     = (DIL_H % NROWS) * ROWW;                 // next kernel row
    localparam integer STEP_OH    = (STRIDE_H % NROWS) * ROWW;              // next output row
    localparam integer STEP_FRAME = (((IFM_H - (OH - 1) * STRIDE_H) % NROWS + NROWS) % NROWS) * ROWW;
    localparam integer SB_INIT    = (((0 - PAD_T) % NROWS + NROWS) % NROWS) * ROWW; // row -PAD_T

    // Integer constants, then the same at the widths they are used at.
    localparam integer I_CF_LAST  = CF - 1;
    localparam integer I_KW_LAST  = K_W - 1;
    localparam integer I_KH_LAST  = K_H - 1;
    localparam integer I_OW_LAST  = OW - 1;
    localparam integer I_OH_LAST  = OH - 1;
    localparam integer I_ROW_LAST = ROWW - 1;
    localparam integer I_MEM_LAST = DEPTH - 1;
    localparam integer I_VSTEP    = DIL_W * CF - CF + 1;  // coff: last beat of v -> first of v+1
    localparam integer I_OWSTEP   = STRIDE_W * CF;        // coff0: ow -> ow+1
    localparam integer I_IR_INIT  = 0 - PAD_T;
    localparam integer I_IC_INIT  = 0 - PAD_L;
    localparam integer I_CO_INIT  = 0 - PAD_L * CF;
    localparam [CFW-1:0] CF_LAST  = I_CF_LAST[CFW-1:0];
    localparam [KWW-1:0] KW_LAST  = I_KW_LAST[KWW-1:0];
    localparam [KHW-1:0] KH_LAST  = I_KH_LAST[KHW-1:0];
    localparam [OWW-1:0] OW_LAST  = I_OW_LAST[OWW-1:0];
    localparam [OHW-1:0] OH_LAST  = I_OH_LAST[OHW-1:0];
    localparam [RCW-1:0] ROW_LAST = I_ROW_LAST[RCW-1:0];
    localparam [AW-1:0]  MEM_LAST = I_MEM_LAST[AW-1:0];
    localparam signed [SW-1:0] S_IFM_H   = IFM_H[SW-1:0];
    localparam signed [SW-1:0] S_IFM_W   = IFM_W[SW-1:0];
    localparam signed [SW-1:0] S_DIL_H   = DIL_H[SW-1:0];
    localparam signed [SW-1:0] S_DIL_W   = DIL_W[SW-1:0];
    localparam signed [SW-1:0] S_STR_H   = STRIDE_H[SW-1:0];
    localparam signed [SW-1:0] S_STR_W   = STRIDE_W[SW-1:0];
    localparam signed [SW-1:0] S_VSTEP   = I_VSTEP[SW-1:0];
    localparam signed [SW-1:0] S_OWSTEP  = I_OWSTEP[SW-1:0];
    localparam signed [SW-1:0] S_IR_INIT = I_IR_INIT[SW-1:0];
    localparam signed [SW-1:0] S_IC_INIT = I_IC_INIT[SW-1:0];
    localparam signed [SW-1:0] S_CO_INIT = I_CO_INIT[SW-1:0];
    localparam signed [SW-1:0] S_ZERO    = {SW{1'b0}};
    localparam signed [SW-1:0] S_ONE     = {{(SW-1){1'b0}}, 1'b1};
    localparam [AW:0]    M_DEPTH  = DEPTH[AW:0];
    localparam [AW:0]    M_U      = STEP_U[AW:0];
    localparam [AW:0]    M_OH     = STEP_OH[AW:0];
    localparam [AW:0]    M_FRAME  = STEP_FRAME[AW:0];
    localparam [AW-1:0]  M_INIT   = SB_INIT[AW-1:0];
    localparam [ELEM_BITS-1:0] PAD_ELEM = PAD_VALUE[ELEM_BITS-1:0];
    localparam [DW-1:0]  PAD_WORD = {SIMD{PAD_ELEM}};

    // a + step around the ring of DEPTH words (a < DEPTH, step < DEPTH)
    // = a + step - DEPTH where a >= DEPTH - step, else a + step: both sums and the compare
    // start from a side by side (step is a constant at every call), rather than the compare
    // and the subtraction behind the adder (measured on ECP5 at 125 MHz: in a row, 8.1 ns
    // from sb0 to sb in CNV-w1a1)
    function [AW-1:0] ring_add(input [AW-1:0] a, input [AW:0] step);
        reg [AW:0] room;
        begin
            room = M_DEPTH - step;
            ring_add = ({1'b0, a} >= room) ? a - room[AW-1:0] : a + step[AW-1:0];
        end
    endfunction

    // -- line buffer (lbuf.mem, written and read in the datapath below) ---------------------
    // With READ_REG the array carries no_rw_check. A read never meets a write to the same
    // word: the reader reads a word only from the cycle after the one its registered check
    // saw it written (two cycles after its write), and the writer writes only into row slots
    // that were released, whose rows no later beat reads (a row is released by the issue of
    // the last beat that reads it, and the writer sees the release a cycle later). So no
    // read-during-write bypass is needed; Yosys would otherwise build one between the block
    // RAM and the register behind it and keep that register out of the block's output
    // register. (READ_REG = 0 keeps the array as it was.)
    reg [DW-1:0] rdata;          // the word read (the RAM stage)

    // -- writer: input rows into consecutive slots ------------------------------------------
    reg [AW-1:0]        waddr;   // next word written
    reg [RCW-1:0]       wcol;    // words of the current row already written
    reg signed [SW-1:0] wrow;    // row being written, counted from row 0 of the reader's frame
    reg [RW-1:0]        rel;     // rows of the reader's frame released so far (modulo 2**RW)

    // room = NROWS - (wrow - rel): the row slots the writer may still fill, kept as its own
    // small counter (modulo 2**RW; its value lies in 0 .. NROWS + IFM_H) so that
    // s_axis_tready is one gate of a register
    reg [RW-1:0] room;
    assign s_axis_tready = room != {RW{1'b0}};   // the slot of row wrow is released
    // the slots an output row's end releases (r_rel - rel, and a frame's IFM_H rows at its
    // end), added to room in the cycle of the issue; with READ_REG (short clock periods) a
    // cycle later, from a register, so that the issue decision does not run into room's
    // adder (measured on ECP5 at 125 MHz: 8.4 ns in ResNet-8)
    wire [RW-1:0] room_gain;
    wire in_fire  = s_axis_tvalid && s_axis_tready;
    wire wrow_end = in_fire && (wcol == ROW_LAST);

    // -- reader, stage G: the position (oh, ow, u, v, cf) of the next beat to record -------
    reg [OHW-1:0] oh;
    reg [OWW-1:0] ow;
    reg [KHW-1:0] u;
    reg [KWW-1:0] v;
    reg [CFW-1:0] cf;
    reg signed [SW-1:0] ir0, ir;     // image row of kernel row 0 / of kernel row u
    reg signed [SW-1:0] ic0, ic;     // image column of kernel column 0 / of kernel column v
    reg signed [SW-1:0] coff0, coff; // word offset in the row: ic0*CF / ic*CF + cf
    reg [AW-1:0]        sb0, sb;     // slot base (slot*ROWW) of rows ir0 / ir
    reg cf_last, v_last, u_last, ow_last, oh_last;   // the counters at their last values

    wire row_end    = cf_last && v_last && u_last && ow_last;   // last beat of an output row
    wire frame_last = row_end && oh_last;

    // -- reader, stage R: the recorded beat, issued when its word has arrived ----------------
    reg                 r_valid;
    reg                 r_pad;       // padding: no memory read
    reg                 r_frame_ok;  // not a frame's last beat, or the frame had been written
    reg signed [SW-1:0] r_ir, r_coff;
    reg [AW-1:0]        r_addr;
    reg                 r_row_end, r_frame_last;
    reg [RW-1:0]        r_rel;       // rows of the frame released once the beat issues

    // Whether the word at image row ir, word offset coff has been written, checked against
    // the writer's position of this cycle and registered (r_ok): the writer only moves on,
    // so a word found written stays written. When a frame's last beat issues, wrow drops by
    // IFM_H (rows count from the reader's frame), and its successor is checked against that.
    // With READ_REG (short clock periods) the compares take only the bits that rows and column
    // beats need (their bounds RMAX and CMAX as SW0 takes them), so their carry chains are
    // shorter; without it all SW bits.
    localparam integer RSW0 = $clog2(RMAX + 2) + 2;
    localparam integer CSW0 = $clog2(CMAX + 2) + 2;
    localparam integer RSW  = (READ_REG != 0 && RSW0 < SW) ? RSW0 : SW;
    localparam integer CSW  = (READ_REG != 0 && CSW0 < SW) ? ((CSW0 > RCW + 1) ? CSW0 : RCW + 1) : SW;
    wire signed [CSW-1:0] wcol_s = {{(CSW - RCW){1'b0}}, wcol};
    reg  signed [SW-1:0] wrow_next_frame;      // wrow - IFM_H
    wire frame_written = wrow >= S_IFM_H;                  // the frame's rows all written
    wire next_frame_written = wrow_next_frame >= S_IFM_H;  // ... counted from the next frame
    /* verilator lint_off UNUSEDSIGNAL */   // the bits above RSW / CSW: sign copies
    function written(input signed [SW-1:0] row, input signed [SW-1:0] offset, input signed [SW-1:0] rows);
        reg signed [RSW-1:0] r, rs;
        reg signed [CSW-1:0] o, wc;
        begin
            r = row[RSW-1:0];
            rs = rows[RSW-1:0];
            o = offset[CSW-1:0];
            wc = wcol_s;
            written = (r < rs) || (r == rs && o < wc);
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */
    wire g_written      = written(ir, coff, wrow);             // G's beat, this frame
    wire g_written_next = written(ir, coff, wrow_next_frame);  // G's beat, R ends the frame
    wire r_written      = written(r_ir, r_coff, wrow);         // R's beat

    // -- output: one RAM stage (two with READ_REG), then a 4-entry queue --------------------
    reg [DW-1:0] q [0:3];
    reg [1:0]    q_wr, q_rd;
    reg [2:0]    q_cnt;
    reg          v1, pad1;       // a beat in the RAM stage; it is padding
    wire         o_valid, o_pad; // the beat written into the queue (the last RAM stage's)
    wire [DW-1:0] o_data;

    // held: beats in the queue and the RAM stages. A beat takes its queue entry's credit when
    // it issues, so the queue never overflows; a popped entry's credit is issued again the
    // next cycle and its beat reaches the queue 2 (READ_REG: 3) cycles later, inside the 4
    // cycles that 4 credits cover at one beat per cycle.
    reg  [2:0] held;
    reg        held_full;   // held == 4, registered from held's next value
    wire       r_go;        // R's beat is padding or its word has arrived (r_pad || r_ok)
    wire issue   = r_valid && !held_full && r_go && r_frame_ok;
    wire advance = !r_valid || issue;   // stage G moves on into stage R
    wire pop     = m_axis_tvalid && m_axis_tready;
    wire [RW-1:0] release_rows = r_rel - rel + (r_frame_last ? IFM_H[RW-1:0] : {RW{1'b0}});
    if (READ_REG != 0) begin : g_release_registered
        reg [RW-1:0] gain_q;
        always @(posedge ap_clk) begin
            if (!ap_rst_n) gain_q <= {RW{1'b0}};
            else gain_q <= (issue && r_row_end) ? release_rows : {RW{1'b0}};
        end
        assign room_gain = gain_q;
    end else begin : g_release_now
        assign room_gain = (issue && r_row_end) ? release_rows : {RW{1'b0}};
    end

    // r_ok: R's beat's word written (G's, checked against the next frame's rows when R ends
    // the frame), as registered in the cycle the beat entered R or was last checked. With
    // READ_REG (short clock periods) the three compares and the choice among them are
    // registered apart and the choice is made after the registers: the same value in every
    // cycle, with the compares' carry chains ending at registers of their own.
    // G's beat lies in the image (not padding)
    wire in_image = (ir >= S_ZERO) && (ir < S_IFM_H) && (ic >= S_ZERO) && (ic < S_IFM_W);
    if (READ_REG != 0) begin : g_ok_retimed
        // each registered compare also takes its beat's padding flag (r_go = r_pad || r_ok
        // from the registers directly, one input fewer in front of the issue decision)
        reg ok_r, ok_g, ok_gn, keep_q, next_q;
        always @(posedge ap_clk) begin
            ok_r <= r_written || r_pad;
            ok_g <= g_written || !in_image;
            ok_gn <= g_written_next || !in_image;
            keep_q <= !advance;
            next_q <= issue && r_frame_last;
        end
        assign r_go = keep_q ? ok_r : next_q ? ok_gn : ok_g;
    end else begin : g_ok_registered
        reg ok_q;      // r_ok: R's word had arrived by the previous cycle
        always @(posedge ap_clk) ok_q <= !advance ? r_written : (issue && r_frame_last) ? g_written_next : g_written;
        assign r_go = r_pad || ok_q;
    end

    assign m_axis_tvalid = q_cnt != 3'd0;
    assign m_axis_tdata  = q[q_rd];

    // the record of G's position: padding or an image word, and the rows its issue releases
    wire signed [SW-1:0] ir0_next = ir0 + S_STR_H;
    wire [RW-1:0] released_now = oh_last ? {RW{1'b0}}                      // the whole frame
                           : (ir0_next < S_ZERO) ? {RW{1'b0}}                // rows above the next
                           : (ir0_next > S_IFM_H) ? IFM_H[RW-1:0] : ir0_next[RW-1:0]; // output row's first
    // Only an output row's last beat uses its record of `released`, and ir0 and oh_last
    // change only as a row's last beat leaves stage G. With READ_REG (short clock periods)
    // and two beats or more per output row, the value is therefore taken from a register one
    // cycle behind (its adder and compares off the path into r_rel): by the row's last beat
    // the register has caught up. Its compares test ir0 against the bounds moved by the
    // stride, beside the adder rather than behind it (SW holds both bounds).
    localparam integer REL_LAG = (READ_REG != 0 && OW * K_H * K_W * CF >= 2) ? 1 : 0;
    wire [RW-1:0] released;
    if (REL_LAG != 0) begin : g_released_lag
        localparam signed [SW-1:0] S_REL_LOW = S_ZERO - S_STR_H;     // ir0_next < 0
        localparam signed [SW-1:0] S_REL_HIGH = S_IFM_H - S_STR_H;   // ir0_next > IFM_H
        // the compares and the sum registered apart, the choice among them after the
        // registers (measured on ECP5 at 125 MHz: compares, choice and the register's reset
        // input in a row took 8.1 ns in MobileNet)
        reg none_q, all_q;
        reg [RW-1:0] next_q;
        always @(posedge ap_clk) begin
            none_q <= oh_last || ir0 < S_REL_LOW;
            all_q <= ir0 > S_REL_HIGH;
            next_q <= ir0_next[RW-1:0];
        end
        assign released = none_q ? {RW{1'b0}} : all_q ? IFM_H[RW-1:0] : next_q;
        wire unused_released_now = &{1'b0, released_now};
    end else begin : g_released_now
        assign released = released_now;
    end

    // G's next position
    reg [OHW-1:0] oh_n;
    reg [OWW-1:0] ow_n;
    reg [KHW-1:0] u_n;
    reg [KWW-1:0] v_n;
    reg [CFW-1:0] cf_n;
    reg signed [SW-1:0] ir0_n, ir_n, ic0_n, ic_n, coff0_n, coff_n;
    reg [AW-1:0] sb0_n, sb_n;
    always @* begin
        oh_n = oh; ow_n = ow; u_n = u; v_n = v; cf_n = cf + 1'b1;
        ir0_n = ir0; ir_n = ir; ic0_n = ic0; ic_n = ic; coff0_n = coff0; coff_n = coff + S_ONE;
        sb0_n = sb0; sb_n = sb;
        if (cf_last) begin
            cf_n = {CFW{1'b0}};
            if (!v_last) begin
                v_n = v + 1'b1;
                ic_n = ic + S_DIL_W;
                coff_n = coff + S_VSTEP;
            end else begin
                v_n = {KWW{1'b0}};
                if (!u_last) begin
                    u_n = u + 1'b1;
                    ir_n = ir + S_DIL_H;
                    sb_n = ring_add(sb, M_U);
                    ic_n = ic0;
                    coff_n = coff0;
                end else begin
                    u_n = {KHW{1'b0}};
                    if (!ow_last) begin
                        ow_n = ow + 1'b1;
                        ic0_n = ic0 + S_STR_W;
                        coff0_n = coff0 + S_OWSTEP;
                    end else begin
                        ow_n = {OWW{1'b0}};
                        ic0_n = S_IC_INIT;
                        coff0_n = S_CO_INIT;
                        if (!oh_last) begin
                            oh_n = oh + 1'b1;
                            ir0_n = ir0_next;
                            sb0_n = ring_add(sb0, M_OH);
                        end else begin
                            oh_n = {OHW{1'b0}};
                            ir0_n = S_IR_INIT;
                            sb0_n = ring_add(sb0, M_FRAME);
                        end
                    end
                    ic_n = ic0_n;
                    coff_n = coff0_n;
                    ir_n = ir0_n;
                    sb_n = sb0_n;
                end
            end
        end
    end

    // -- datapath (not reset) ---------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (o_valid) q[q_wr] <= o_pad ? PAD_WORD : o_data;
        if (issue) pad1 <= r_pad;
        // the two compares ahead of the choice between them, beside the issue decision
        // rather than behind it (measured on ECP5 at 125 MHz: issue, the operand select and
        // the compare's carry chain in a row limited ResNet-8)
        r_frame_ok <= !advance ? !r_frame_last || frame_written
                    : !frame_last || ((issue && r_frame_last) ? next_frame_written : frame_written);
        if (advance) begin
            r_pad <= !in_image;
            r_ir <= ir;
            r_coff <= coff;
            r_addr <= sb + coff[AW-1:0];
            r_row_end <= row_end;
            r_frame_last <= frame_last;
            r_rel <= released;
        end
    end

    // -- control ----------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            waddr <= {AW{1'b0}};
            wcol  <= {RCW{1'b0}};
            wrow  <= S_ZERO;
            wrow_next_frame <= S_ZERO - S_IFM_H;
            rel   <= {RW{1'b0}};
            room  <= NROWS[RW-1:0];
            oh <= {OHW{1'b0}}; ow <= {OWW{1'b0}}; u <= {KHW{1'b0}}; v <= {KWW{1'b0}}; cf <= {CFW{1'b0}};
            cf_last <= CF_LAST == {CFW{1'b0}}; v_last <= KW_LAST == {KWW{1'b0}}; u_last <= KH_LAST == {KHW{1'b0}};
            ow_last <= OW_LAST == {OWW{1'b0}}; oh_last <= OH_LAST == {OHW{1'b0}};
            ir0 <= S_IR_INIT; ir <= S_IR_INIT;
            ic0 <= S_IC_INIT; ic <= S_IC_INIT;
            coff0 <= S_CO_INIT; coff <= S_CO_INIT;
            sb0 <= M_INIT; sb <= M_INIT;
            r_valid <= 1'b0;
            held <= 3'd0;
            held_full <= 1'b0;
            v1 <= 1'b0;
            q_wr <= 2'd0; q_rd <= 2'd0; q_cnt <= 3'd0;
        end else begin
            if (in_fire) begin
                waddr <= (waddr == MEM_LAST) ? {AW{1'b0}} : waddr + 1'b1;
                wcol  <= (wcol == ROW_LAST) ? {RCW{1'b0}} : wcol + 1'b1;
            end
            wrow <= wrow + (wrow_end ? S_ONE : S_ZERO) - ((issue && r_frame_last) ? S_IFM_H : S_ZERO);
            wrow_next_frame <= wrow_next_frame + (wrow_end ? S_ONE : S_ZERO) - ((issue && r_frame_last) ? S_IFM_H : S_ZERO);
            if (issue && r_row_end) rel <= r_rel;
            room <= room - {{(RW-1){1'b0}}, wrow_end} + room_gain;
            if (advance) begin
                oh <= oh_n; ow <= ow_n; u <= u_n; v <= v_n; cf <= cf_n;
                // each counter's last flag from its own compare, not through its next value
                cf_last <= cf_last ? CF_LAST == {CFW{1'b0}} : cf == CF_LAST - 1'b1;
                if (cf_last) v_last <= v_last ? KW_LAST == {KWW{1'b0}} : v == KW_LAST - 1'b1;
                if (cf_last && v_last) u_last <= u_last ? KH_LAST == {KHW{1'b0}} : u == KH_LAST - 1'b1;
                if (cf_last && v_last && u_last) ow_last <= ow_last ? OW_LAST == {OWW{1'b0}} : ow == OW_LAST - 1'b1;
                if (row_end) oh_last <= oh_last ? OH_LAST == {OHW{1'b0}} : oh == OH_LAST - 1'b1;
                ir0 <= ir0_n; ir <= ir_n; ic0 <= ic0_n; ic <= ic_n;
                coff0 <= coff0_n; coff <= coff_n; sb0 <= sb0_n; sb <= sb_n;
            end
            // set by the first advance (the first cycle after reset) and kept: the enable
            // makes it this instance's own register (with a constant D, Yosys merges it with
            // every other window's into one flip-flop routed over the whole device: 3.2 ns of
            // route at the head of CNV-padded's critical path on the ECP5-85F)
            if (advance) r_valid <= 1'b1;
            v1 <= issue;
            if (o_valid) q_wr <= q_wr + 1'b1;
            if (pop) q_rd <= q_rd + 1'b1;
            q_cnt <= q_cnt + {2'b00, o_valid} - {2'b00, pop};
            held <= held + {2'b00, issue} - {2'b00, pop};
            held_full <= held + {2'b00, issue} - {2'b00, pop} == 3'd4;
        end
    end

    // -- line buffer: write port and registered read port ----------------------------------
    if (READ_REG != 0) begin : lbuf
        (* no_rw_check *) reg [DW-1:0] mem [0:DEPTH-1];
        always @(posedge ap_clk) begin
            if (in_fire) mem[waddr] <= s_axis_tdata;
            if (issue && !r_pad) rdata <= mem[r_addr];
        end
    end else begin : lbuf
        reg [DW-1:0] mem [0:DEPTH-1];
        always @(posedge ap_clk) begin
            if (in_fire) mem[waddr] <= s_axis_tdata;
            if (issue && !r_pad) rdata <= mem[r_addr];
        end
    end

    // -- READ_REG: a second register behind the line buffer read --------------------------
    // rdata2 takes rdata every cycle with no reset and nothing else reads rdata, so that
    // synthesis can put it into the block RAM's output register (ECP5 REGMODE "OUTREG" by
    // bnncc's netlist step, Xilinx DOB_REG); the queue write then starts from a register.
    if (READ_REG != 0) begin : read_reg
        reg          v2, pad2;       // a beat in the second RAM stage; it is padding
        reg [DW-1:0] rdata2;
        always @(posedge ap_clk) begin
            rdata2 <= rdata;
            pad2 <= pad1;
            v2 <= ap_rst_n && v1;
        end
        assign o_valid = v2;
        assign o_pad   = pad2;
        assign o_data  = rdata2;
    end else begin : read_direct
        assign o_valid = v1;
        assign o_pad   = pad1;
        assign o_data  = rdata;
    end
    end endgenerate
endmodule

`default_nettype wire
