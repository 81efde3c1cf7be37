// threshold_search: pipelined binary search of PE accumulators over sorted per-row
// thresholds. For lane l and threshold row r (e.g. class * NF + row group of an MVAU) with the
// sorted thresholds S[l][r][0] <= S[l][r][1] <= ... <= S[l][r][N-1], N = 2**STAGES - 1
// (a shorter row padded with values above every accumulator value, which are never
// reached), the output is the count
//
//   count[l] = #{t : acc[l] >= S[l][r][t]}            (0 .. 2**STAGES - 1)
//
// found bit by bit, high bit first: count >= m holds iff acc >= S[m - 1] (the compares form
// a thermometer code), so with the k high bits already decided (the prefix p, k bits),
// stage k (k = 0 .. STAGES-1) compares acc with the one threshold
//
//   S[(2*p + 1) * 2**(STAGES-1-k) - 1]
//
// and appends the result as the next bit: p <- 2*p + (acc >= that threshold). After
// STAGES stages p is the count. acc and the thresholds are TW-bit two's complement (signed
// compare).
//
// Memories ($readmemh file FILE_<k> per stage, one hex word per line, word 0 first; an empty
// name gives an all-zero memory, for lint), thresholds TW-bit two's complement. Stage 0's
// address is the row alone, the same for every lane: one ROM of ROWS words of PE*TW bits,
// word r holding lane l's S[l][r][2**(STAGES-1) - 1] at bits [l*TW +: TW]. From stage 1 on
// every lane has its own prefix and so its own ROM. A stage k in LUTs: its file holds
// ROWS * 2**k words of PE*TW bits, word r * 2**k + p holding lane l's
// S[l][r][(2*p + 1) * 2**(STAGES-1-k) - 1] at bits [l*TW +: TW]; every lane's ROM is loaded
// from it and keeps its lane's bits (the tool drops the others of a LUT ROM). A stage k in
// block RAM (BLOCK, or BLOCK_DEPTH below): its file holds ROWS * 2**k * PL words of TW bits
// (PL = PE rounded up to a power of two), word (r * 2**k + p) * PL + l holding the same
// threshold (words of lanes l >= PE unused); lane l's ROM reads the words whose low address
// bits are l (a block RAM keeps every bit of its words). The ROMs are deep and narrow: a LUT6
// per bit up to 64 words.
//
// Pipeline: everything moves one stage per cycle, a plain shift pipeline without stalls
// (in_valid may be given in any cycle). BLOCK = 0: each stage compares its registered
// accumulators with the threshold read at its registered row / prefix and registers the
// result, so out_valid / out_count follow in_valid / in_row / in_acc by STAGES cycles;
// in_row and in_acc should come straight from registers. The ROMs are read
// combinationally, except those of the stages k >= 1 with ROWS * 2**k >= BLOCK_DEPTH
// (BLOCK_DEPTH > 0): those are block RAM (rom_style "block"), read into their output
// register at the edge that ends stage k - 1 (at the address that stage's compare gives),
// so the latency stays STAGES. BLOCK = 1: every ROM is block RAM, each stage a registered
// read followed by a registered compare, 2*STAGES cycles.
// SPLIT = 1 (short clock periods): no stage reads ahead and no compare meets a ROM read in
// one cycle. Each stage reads its ROM at its own registered address into a register (a LUT
// ROM, rom_style "logic"), a block RAM ROM (BLOCK, or k >= 1 with ROWS * 2**k >= BLOCK_DEPTH
// > 0) into its read register and once more into an output register (the ECP5 EBR's OUTREG,
// a RAMB's DO_REG); the stage's valid, row, accumulators and prefixes wait as long, then the
// compare is registered. A stage takes 2 cycles in LUTs, 3 in block RAM:
//   latency = sum over k of 1 + R_k,  R_k = 0 (SPLIT = 0, BLOCK = 0), 1 (BLOCK = 1 or a LUT
//   ROM with SPLIT), 2 (a block RAM ROM with SPLIT).
// Only the valid bits are reset.
`timescale 1ns / 1ps
`default_nettype none

module threshold_search #(
    parameter integer PE = 1,           // lanes
    parameter integer STAGES = 4,       // count bits, 1..8 (2**STAGES - 1 thresholds per row)
    parameter integer TW = 8,           // accumulator / threshold bits, two's complement, 1..32
    parameter integer ROWS = 1,         // threshold rows per lane
    parameter integer BLOCK = 0,        // 1: block RAM ROMs, 2 cycles per stage
    parameter integer BLOCK_DEPTH = 0,  // > 0 (BLOCK = 0): ROMs of stages k >= 1 this deep or deeper in block RAM
    parameter integer SPLIT = 0,        // 1: ROM reads and compares in cycles of their own (see above)
    parameter FILE_0 = "",              // $readmemh files of the stage ROMs (see above)
    parameter FILE_1 = "",
    parameter FILE_2 = "",
    parameter FILE_3 = "",
    parameter FILE_4 = "",
    parameter FILE_5 = "",
    parameter FILE_6 = "",
    parameter FILE_7 = ""
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire                   in_valid,
    input  wire [((ROWS > 1) ? $clog2(ROWS) : 1)-1:0] in_row,
    input  wire [PE*TW-1:0]       in_acc,
    output wire                   out_valid,
    output wire [PE*STAGES-1:0]   out_count
);
    localparam integer RA_W = (ROWS > 1) ? $clog2(ROWS) : 1;   // row address
    localparam integer LW = (PE > 1) ? $clog2(PE) : 0;          // lane bits of a stage k >= 1 address
    initial begin
        if (PE < 1 || STAGES < 1 || STAGES > 8 || TW < 1 || TW > 32 || ROWS < 1 || BLOCK < 0 || BLOCK > 1
            || BLOCK_DEPTH < 0 || SPLIT < 0 || SPLIT > 1) begin
            $display("%m: threshold_search: PE=%0d, ROWS=%0d must be >= 1, STAGES=%0d 1..8, TW=%0d 1..32, BLOCK=%0d 0 or 1, BLOCK_DEPTH=%0d >= 0, SPLIT=%0d 0 or 1",
                     PE, ROWS, STAGES, TW, BLOCK, BLOCK_DEPTH, SPLIT);
            $finish;
        end
    end

    genvar k, l, d;
    generate
        for (k = 0; k < STAGES; k = k + 1) begin : g_st
            // the stage's inputs (registers): valid, row, accumulators, prefixes (k bits per
            // lane, lane l at [l*k +: k]; none in stage 0)
            localparam integer PW = (k > 0) ? k : 1;
            localparam integer DEPTH = ROWS << k;
            localparam integer AD_W = (ROWS > 1) ? RA_W + k : ((k > 0) ? k : 1);   // address bits
            // the ROM in block RAM; read ahead at the address stage k - 1 gives (SPLIT = 0)
            localparam integer IN_BLOCK = (BLOCK != 0 || (k > 0 && BLOCK_DEPTH > 0 && DEPTH >= BLOCK_DEPTH)) ? 1 : 0;
            localparam integer AHEAD = (SPLIT == 0 && BLOCK == 0 && IN_BLOCK != 0) ? 1 : 0;
            // R: registers of the ROM read ahead of the compare, and as many of the inputs
            localparam integer R = (SPLIT != 0) ? 1 + IN_BLOCK : BLOCK;
            wire v;
            wire [RA_W-1:0] row;
            wire [PE*TW-1:0] acc;
            wire [PE*PW-1:0] prefix;
            // the address of stage k + 1's ROM per lane, {row, the k + 1 count bits so far}
            // (read ahead at the edge that ends this stage when that ROM is block RAM)
            localparam integer NA_W = (ROWS > 1) ? RA_W + k + 1 : k + 1;
            wire [PE*NA_W-1:0] next_addr;
            // the stage's outputs, registered: prefixes of k + 1 bits
            reg v_q;
            reg [RA_W-1:0] row_q;
            reg [PE*TW-1:0] acc_q;
            reg [PE*(k+1)-1:0] prefix_q;
            if (k == 0) begin : g_in
                assign v = in_valid;
                assign row = in_row;
                assign acc = in_acc;
                assign prefix = {PE{1'b0}};
            end else begin : g_prev
                assign v = g_st[k-1].v_q;
                assign row = g_st[k-1].row_q;
                assign acc = g_st[k-1].acc_q;
                assign prefix = g_st[k-1].prefix_q;
            end
            // the thresholds compared, lane l at [l*TW +: TW], with the row, accumulators and
            // prefixes of the same cycle (all R registers later)
            wire [PE*TW-1:0] thr;
            wire cv;
            wire [RA_W-1:0] crow;
            wire [PE*TW-1:0] cacc;
            wire [PE*PW-1:0] cprefix;
            if (R != 0) begin : g_delay
                for (d = 0; d < R; d = d + 1) begin : g_d
                    wire pv;
                    wire [RA_W-1:0] prow;
                    wire [PE*TW-1:0] pacc;
                    wire [PE*PW-1:0] pprefix;
                    if (d == 0) begin : g_first
                        assign pv = v;
                        assign prow = row;
                        assign pacc = acc;
                        assign pprefix = prefix;
                    end else begin : g_next
                        assign pv = g_d[d-1].dv;
                        assign prow = g_d[d-1].drow;
                        assign pacc = g_d[d-1].dacc;
                        assign pprefix = g_d[d-1].dprefix;
                    end
                    reg dv;
                    reg [RA_W-1:0] drow;
                    reg [PE*TW-1:0] dacc;
                    reg [PE*PW-1:0] dprefix;
                    always @(posedge ap_clk) begin
                        if (!ap_rst_n) dv <= 1'b0;
                        else dv <= pv;
                    end
                    always @(posedge ap_clk) begin
                        if (pv) begin
                            drow <= prow;
                            dacc <= pacc;
                            dprefix <= pprefix;
                        end
                    end
                end
                assign cv = g_d[R-1].dv;
                assign crow = g_d[R-1].drow;
                assign cacc = g_d[R-1].dacc;
                assign cprefix = g_d[R-1].dprefix;
            end else begin : g_same
                assign cv = v;
                assign crow = row;
                assign cacc = acc;
                assign cprefix = prefix;
            end
            // the valid of the cycle after the read (the enable of a second read register)
            wire rd2;
            if (R > 1) begin : g_rd2
                assign rd2 = g_delay.g_d[0].dv;
            end else begin : g_no_rd2
                assign rd2 = 1'b0;
            end
            for (l = 0; l < PE; l = l + 1) begin : g_lane
                // one ROM for stage 0 (lane 0 reads it for all lanes), one per lane after
                if (k > 0 || l == 0) begin : g_rom
                    wire [AD_W-1:0] addr;
                    if (k > 0 && ROWS > 1) begin : g_rpa
                        assign addr = {row, prefix[l*PW +: PW]};
                    end else if (k > 0) begin : g_pa
                        assign addr = prefix[l*PW +: PW];   // one row
                    end else begin : g_ra
                        assign addr = row;
                    end
                    // 0: read combinationally; 1: block RAM read at the stage's own address
                    // (BLOCK), or ahead at the address stage k - 1 gives; 2: LUT ROM read
                    // into a register (SPLIT); 3: block RAM read and registered once more
                    // (SPLIT)
                    localparam integer MODE = (SPLIT != 0) ? ((IN_BLOCK != 0) ? 3 : 2) : ((IN_BLOCK != 0) ? 1 : 0);
                    // a ROM of PE*TW-bit words (stage 0, and the stages k > 0 in LUTs: the
                    // lane's bits kept), or (block RAM, k > 0) lane l's TW-bit words of a ROM
                    // of DEPTH << LW words, its low address bits l
                    localparam integer NARROW = (k > 0 && IN_BLOCK != 0) ? 1 : 0;
                    localparam integer RW = (NARROW != 0) ? TW : PE * TW;
                    localparam integer RD = (NARROW != 0) ? DEPTH << LW : DEPTH;
                    localparam integer RA = (NARROW != 0) ? AD_W + LW : AD_W;
                    localparam integer RL = (k > 0 && NARROW == 0) ? l * TW : 0;   // lane bits from
                    localparam integer RK = (k > 0) ? TW : PE * TW;                // bits kept
                    localparam [31:0] LANE = l;
                    wire rd;
                    wire [AD_W-1:0] at;
                    if (AHEAD != 0) begin : g_ahead
                        assign rd = g_st[k-1].cv;
                        assign at = g_st[k-1].next_addr[l*AD_W +: AD_W];
                        wire unused_addr = &{1'b0, addr};
                    end else begin : g_here
                        assign rd = v;
                        assign at = addr;
                    end
                    wire [RA-1:0] rd_addr;
                    if (NARROW != 0 && LW > 0) begin : g_lane_bits
                        assign rd_addr = {at, LANE[LW-1:0]};
                    end else begin : g_no_lane_bits
                        assign rd_addr = at;
                    end
                    wire [RK-1:0] word;
                    // the ROM with stage k's file
`define THRESHOLD_SEARCH_ROM(F) threshold_search_rom #(.WIDTH(RW), .DEPTH(RD), .AW(RA), .KEEP_LSB(RL), .KEEP_W(RK), .MODE(MODE), .FILE(F)) u_rom (.ap_clk(ap_clk), .rd(rd), .rd2(rd2), .addr(rd_addr), .data(word))
                    if (k == 0) begin : g_f0
                        `THRESHOLD_SEARCH_ROM(FILE_0);
                    end else if (k == 1) begin : g_f1
                        `THRESHOLD_SEARCH_ROM(FILE_1);
                    end else if (k == 2) begin : g_f2
                        `THRESHOLD_SEARCH_ROM(FILE_2);
                    end else if (k == 3) begin : g_f3
                        `THRESHOLD_SEARCH_ROM(FILE_3);
                    end else if (k == 4) begin : g_f4
                        `THRESHOLD_SEARCH_ROM(FILE_4);
                    end else if (k == 5) begin : g_f5
                        `THRESHOLD_SEARCH_ROM(FILE_5);
                    end else if (k == 6) begin : g_f6
                        `THRESHOLD_SEARCH_ROM(FILE_6);
                    end else begin : g_f7
                        `THRESHOLD_SEARCH_ROM(FILE_7);
                    end
`undef THRESHOLD_SEARCH_ROM
                    if (k > 0) begin : g_one
                        assign thr[l*TW +: TW] = word;
                    end else begin : g_all
                        assign thr = word;
                    end
                end
                // compare and append the bit
                wire ge = $signed(cacc[l*TW +: TW]) >= $signed(thr[l*TW +: TW]);
                if (k > 0) begin : g_append
                    always @(posedge ap_clk) if (cv) prefix_q[l*(k+1) +: k+1] <= {cprefix[l*PW +: PW], ge};
                end else begin : g_first
                    always @(posedge ap_clk) if (cv) prefix_q[l] <= ge;
                end
                if (ROWS > 1 && k > 0) begin : g_next_rp
                    assign next_addr[l*NA_W +: NA_W] = {crow, cprefix[l*PW +: PW], ge};
                end else if (ROWS > 1) begin : g_next_r
                    assign next_addr[l*NA_W +: NA_W] = {crow, ge};
                end else if (k > 0) begin : g_next_p
                    assign next_addr[l*NA_W +: NA_W] = {cprefix[l*PW +: PW], ge};
                end else begin : g_next
                    assign next_addr[l*NA_W +: NA_W] = ge;
                end
            end
            always @(posedge ap_clk) begin
                if (!ap_rst_n) v_q <= 1'b0;
                else v_q <= cv;
            end
            always @(posedge ap_clk) begin
                if (cv) begin
                    row_q <= crow;
                    acc_q <= cacc;
                end
            end
            if (k == 0) begin : g_unused_prefix
                wire unused_prefix = &{1'b0, cprefix};
            end
            // read only where stage k + 1's ROM is read ahead
            if (k == STAGES - 1 || SPLIT != 0 || BLOCK != 0 || BLOCK_DEPTH == 0 || (ROWS << (k + 1)) < BLOCK_DEPTH) begin : g_unused_next
                wire unused_next = &{1'b0, next_addr};
            end
            if (k == STAGES - 1) begin : g_unused_last
                wire unused_last = &{1'b0, row_q, acc_q};
            end
        end
    endgenerate
    assign out_valid = g_st[STAGES-1].v_q;
    assign out_count = g_st[STAGES-1].prefix_q;
endmodule

// threshold_search_rom: a ROM of DEPTH words of WIDTH bits ($readmemh FILE; empty: zeros),
// bits [KEEP_LSB +: KEEP_W] kept (the tool drops the others of a LUT ROM; KEEP_W = WIDTH in
// block RAM). MODE 0: read combinationally; 1: block RAM (rom_style "block") read into a
// register when rd is high; 2: a LUT ROM (rom_style "logic") read into a register when rd is
// high; 3: as 1, then registered once more when rd2 is high (the block RAM's output register).
/* verilator lint_off DECLFILENAME */
module threshold_search_rom #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 1,
    parameter integer AW = 1,
    parameter integer KEEP_LSB = 0,
    parameter integer KEEP_W = 8,
    parameter integer MODE = 0,
    parameter FILE = ""
) (
    input  wire              ap_clk,
    input  wire              rd,
    input  wire              rd2,
    input  wire [AW-1:0]     addr,
    output wire [KEEP_W-1:0] data
);
    generate
        if (MODE == 1 || MODE == 3) begin : g_block
            (* rom_style = "block", ram_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            if (FILE != "") begin : g_file
                initial $readmemh(FILE, mem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
            end
            reg [WIDTH-1:0] q;
            always @(posedge ap_clk) if (rd) q <= mem[addr];
            wire [WIDTH-1:0] out;
            if (MODE == 3) begin : g_outreg
                reg [WIDTH-1:0] q2;
                always @(posedge ap_clk) if (rd2) q2 <= q;
                assign out = q2;
            end else begin : g_q
                assign out = q;
                wire unused_rd2 = &{1'b0, rd2};
            end
            assign data = out[KEEP_LSB +: KEEP_W];
            if (KEEP_W < WIDTH) begin : g_unused
                wire unused_bits = &{1'b0, out};
            end
        end else if (MODE == 2) begin : g_logic_reg
            (* rom_style = "logic" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            if (FILE != "") begin : g_file
                initial $readmemh(FILE, mem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
            end
            wire [WIDTH-1:0] word = mem[addr];
            reg [KEEP_W-1:0] q;
            always @(posedge ap_clk) if (rd) q <= word[KEEP_LSB +: KEEP_W];
            assign data = q;
            wire unused_rd2 = &{1'b0, rd2, (KEEP_W < WIDTH) ? word : {WIDTH{1'b0}}};
        end else begin : g_logic
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            if (FILE != "") begin : g_file
                initial $readmemh(FILE, mem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
            end
            wire [WIDTH-1:0] word = mem[addr];
            assign data = word[KEEP_LSB +: KEEP_W];
            wire unused_rd = &{1'b0, rd, rd2, ap_clk, (KEEP_W < WIDTH) ? word : {WIDTH{1'b0}}};
        end
    endgenerate
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
