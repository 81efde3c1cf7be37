// upsample: nearest-neighbour upsampling of an NHWC stream by integer factors, bnncc's
// Upsample op (ONNX Resize in nearest mode with integer scales, and Upsample):
//     y[n, i, j, c] = x[n, floor(i / F_H), floor(j / F_W), c]
// for an input of rows of W pixels of CH channels (any number of rows and frames: rows are
// handled one after another, frames are rows back to back).
//
// Input: W*CF beats per row, CF = CH/PE, PE channels per beat (channel c = f*PE + p in
// element p of beat f of a pixel), element 0 in the least significant bits, BITS bits per
// element (the module never looks inside a beat). Output: per input row, F_H passes over the
// row; in a pass each pixel's CF beats are emitted F_W times (pixel repeat in place), so
// one input row gives F_H*W*F_W*CF output beats in the order of y.
//
// Structure: a line buffer of one row, DEPTH = W*CF words of PE*BITS bits (a plain array
// written on one port and read through a register on the other: block RAM or distributed
// RAM), read at address x*CF + f in every pass and repetition. A write pointer fills the
// row; the input is ready while the line buffer has room, which depends on registers only:
// while the reader is in the row being written every address ahead of it is free (it holds
// the previous row, fully read), and while the writer is one row ahead (the row being read
// is complete) it may overwrite an address only after the last pass has read it for the last
// time (addresses below x*CF, or below x*CF + f in the last repetition of pixel x). The
// reader issues a read when its address has been written and the two-entry output queue
// will have room for it; the word enters the queue one cycle after the read (the block RAM's
// output register), so an output beat is valid 3 cycles after the input beat it copies is
// taken at the earliest, and one output beat leaves per cycle while the input keeps ahead.
// READ_REG = 1 registers the read word once more (rd2, the block RAM's output register when
// rd is the block's own latch): the word enters a four-entry queue one cycle later, 4 cycles
// after its input beat at the earliest (three entries cover the cycles from a pop to the
// arrival of the word its credit issues).
// No beat is lost or duplicated under any stall pattern on either side. A row of one beat
// (W*CF = 1) alternates write and read, one output beat every second cycle at most when
// F_H*F_W = 1. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module upsample #(
    parameter integer CH   = 4,  // channels, a multiple of PE
    parameter integer PE   = 1,  // channels per beat, divides CH
    parameter integer W    = 4,  // pixels per input row, >= 1
    parameter integer F_H  = 2,  // row repeat factor, >= 1
    parameter integer F_W  = 2,  // pixel repeat factor, >= 1
    parameter integer BITS = 4,  // bits per element, 1..64
    parameter integer READ_REG = 0  // 1: the read word registered once more (latency + 1)
) (
    input  wire               ap_clk,
    input  wire               ap_rst_n,
    input  wire [PE*BITS-1:0] s_axis_tdata,
    input  wire               s_axis_tvalid,
    output wire               s_axis_tready,
    output wire [PE*BITS-1:0] m_axis_tdata,
    output wire               m_axis_tvalid,
    input  wire               m_axis_tready
);
    // Legal stand-ins for the counts (the datapath elaborates even for illegal parameters,
    // so that the checks below can report them).
    localparam integer CF    = (PE >= 1 && CH >= PE && CH % PE == 0) ? CH / PE : 1;  // beats per pixel
    localparam integer WN    = (W >= 1) ? W : 1;
    localparam integer FH    = (F_H >= 1) ? F_H : 1;
    localparam integer FWN   = (F_W >= 1) ? F_W : 1;
    localparam integer DB    = (BITS >= 1 && BITS <= 64) ? BITS : 1;
    localparam integer DW    = PE * DB;             // bits per beat
    localparam integer DEPTH = WN * CF;             // line buffer words: one input row
    localparam integer AW    = (DEPTH <= 2) ? 1 : $clog2(DEPTH);
    localparam integer XW    = (WN <= 2) ? 1 : $clog2(WN);
    localparam integer FW    = (CF <= 2) ? 1 : $clog2(CF);
    localparam integer RW    = (FWN <= 2) ? 1 : $clog2(FWN);
    localparam integer PW    = (FH <= 2) ? 1 : $clog2(FH);
    localparam integer I_A_LAST = DEPTH - 1;
    localparam integer I_X_LAST = WN - 1;
    localparam integer I_F_LAST = CF - 1;
    localparam integer I_R_LAST = FWN - 1;
    localparam integer I_P_LAST = FH - 1;
    localparam [AW-1:0] A_LAST = I_A_LAST[AW-1:0];
    localparam [AW-1:0] A_CF   = CF[AW-1:0];
    localparam [XW-1:0] X_LAST = I_X_LAST[XW-1:0];
    localparam [FW-1:0] F_LAST = I_F_LAST[FW-1:0];
    localparam [RW-1:0] R_LAST = I_R_LAST[RW-1:0];
    localparam [PW-1:0] P_LAST = I_P_LAST[PW-1:0];

    initial begin
        if (CH < 1 || PE < 1 || CH % PE != 0) begin
            $display("%m: upsample: PE (%0d) must divide CH (%0d)", PE, CH); $finish;
        end
        if (W < 1) begin $display("%m: upsample: W must be >= 1"); $finish; end
        if (F_H < 1 || F_W < 1) begin
            $display("%m: upsample: F_H (%0d) and F_W (%0d) must be >= 1", F_H, F_W); $finish;
        end
        if (BITS < 1 || BITS > 64) begin $display("%m: upsample: BITS must be 1..64"); $finish; end
        if (READ_REG < 0 || READ_REG > 1) begin $display("%m: upsample: READ_REG must be 0 or 1"); $finish; end
    end

    // -- line buffer (lbuf.mem, below) ----------------------------------------------------
    reg [DW-1:0] rd;        // the word read last cycle (block RAM output register)

    // -- writer -------------------------------------------------------------------------
    reg [AW-1:0] wa;        // next address written
    reg          ahead;     // the writer fills the row after the one being read

    // -- reader: pass p over the row, pixel x, repetition r, beat f; ra = x*CF + f ------
    reg [PW-1:0] p;
    reg [XW-1:0] x;
    reg [RW-1:0] r;
    reg [FW-1:0] f;
    reg [AW-1:0] base;      // x*CF
    reg [AW-1:0] ra;
    wire p_last = p == P_LAST;
    wire x_last = x == X_LAST;
    wire r_last = r == R_LAST;
    wire f_last = f == F_LAST;

    // -- output queue: two entries (READ_REG: four), fed by the last read register -------
    localparam integer QN = (READ_REG != 0) ? 4 : 2;    // entries
    localparam integer QB = (READ_REG != 0) ? 2 : 1;    // pointer bits
    localparam [2:0] Q_FULL = QN[2:0];
    localparam [2:0] Q_LAST = Q_FULL - 3'd1;
    reg [DW-1:0] q [0:QN-1];
    reg [QB-1:0] q_wr, q_rd;
    reg [2:0]    q_cnt;
    reg          inflight;  // rd holds a word for the queue
    wire         o_valid;   // the last read register holds a word for the queue
    wire [DW-1:0] o_data;
    wire         inflight2; // READ_REG: rd2 holds a word for the queue

    assign m_axis_tvalid = q_cnt != 3'd0;
    assign m_axis_tdata  = q[q_rd];
    wire pop = m_axis_tvalid && m_axis_tready;

    // The writer may write wa: in the reader's row, anything; one row ahead, only what the
    // last pass has read for the last time.
    assign s_axis_tready = !ahead || (p_last && (r_last ? wa < ra : wa < base));
    wire fire = s_axis_tvalid && s_axis_tready;
    wire w_last = wa == A_LAST;

    // The reader may read ra once it is written, if the queue has room for the word when it
    // arrives (queue + words in flight - pop <= QN - 1).
    wire [2:0] held = q_cnt + {2'b00, inflight} + {2'b00, inflight2};
    wire room = held <= Q_LAST || (held == Q_FULL && pop);
    wire issue = (ahead || ra < wa) && room;
    wire row_end = issue && f_last && r_last && x_last && p_last;

    // -- datapath (not reset) -----------------------------------------------------------
    always @(posedge ap_clk) begin
        if (o_valid) q[q_wr] <= o_data;
    end

    // -- control ------------------------------------------------------------------------
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            wa <= {AW{1'b0}};
            ahead <= 1'b0;
            p <= {PW{1'b0}};
            x <= {XW{1'b0}};
            r <= {RW{1'b0}};
            f <= {FW{1'b0}};
            base <= {AW{1'b0}};
            ra <= {AW{1'b0}};
            inflight <= 1'b0;
            q_wr <= {QB{1'b0}};
            q_rd <= {QB{1'b0}};
            q_cnt <= 3'd0;
        end else begin
            if (fire) wa <= w_last ? {AW{1'b0}} : wa + 1'b1;
            // a full row written (possible only in the reader's row) / the reader leaves its
            // row (possible only when the next one is complete): never in the same cycle
            ahead <= (ahead && !row_end) || (fire && w_last);
            if (issue) begin
                if (!f_last) begin
                    f <= f + 1'b1;
                    ra <= ra + 1'b1;
                end else begin
                    f <= {FW{1'b0}};
                    if (!r_last) begin
                        r <= r + 1'b1;
                        ra <= base;
                    end else begin
                        r <= {RW{1'b0}};
                        if (!x_last) begin
                            x <= x + 1'b1;
                            base <= base + A_CF;
                            ra <= ra + 1'b1;
                        end else begin
                            x <= {XW{1'b0}};
                            base <= {AW{1'b0}};
                            ra <= {AW{1'b0}};
                            p <= p_last ? {PW{1'b0}} : p + 1'b1;
                        end
                    end
                end
            end
            inflight <= issue;
            if (o_valid) q_wr <= q_wr + 1'b1;
            if (pop) q_rd <= q_rd + 1'b1;
            q_cnt <= q_cnt + {2'b00, o_valid} - {2'b00, pop};
        end
    end

    // -- line buffer: write port, read port, READ_REG's second read register -----------------
    // A read that issues never meets a write to its word: it reads a word written in an
    // earlier cycle, and the writer overwrites a word of the row being read only after its
    // last read. Reads that do not issue (rd is read every cycle) are dropped. So with
    // READ_REG the array carries no_rw_check: no read-during-write bypass sits between the
    // block RAM and rd2, which can then be the block's output register.
    generate
        if (READ_REG != 0) begin : lbuf
            (* no_rw_check *) reg [DW-1:0] mem [0:DEPTH-1];
            reg [DW-1:0] rd2;
            reg          v2;
            always @(posedge ap_clk) begin
                if (fire) mem[wa] <= s_axis_tdata;
                rd <= mem[ra];
                rd2 <= rd;
                v2 <= ap_rst_n && inflight;
            end
            assign inflight2 = v2;
            assign o_valid = v2;
            assign o_data = rd2;
        end else begin : lbuf
            reg [DW-1:0] mem [0:DEPTH-1];
            always @(posedge ap_clk) begin
                if (fire) mem[wa] <= s_axis_tdata;
                rd <= mem[ra];
            end
            assign inflight2 = 1'b0;
            assign o_valid = inflight;
            assign o_data = rd;
        end
    endgenerate
endmodule

`default_nettype wire
