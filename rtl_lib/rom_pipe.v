// rom_pipe: a ROM of DEPTH words of WIDTH bits read through LATENCY registers (1 to 5).
//
// data = mem[addr] of the read LATENCY enabled stages ago:
//   LATENCY 1: q   <= mem[addr] when rd_en;              data = q
//   LATENCY 2: q1  <= mem[addr] when rd_en; q2 <= q1 when out_en; data = q2
//   LATENCY 3: as 2, then q3 <= q2 when out_en;          data = q3
//   LATENCY 4: as 3, then q4 <= q3 when out_en;          data = q4
//   LATENCY 5: as 4, then q5 <= q4 when out_en;          data = q5
// (out_en is unused with LATENCY 1; tie it to rd_en for a pipeline that stalls as a whole,
// or to 1 for free-running later stages). addr must be < DEPTH. With LATENCY 3 the
// register follows the bank multiplexer (below), so that the multiplexer and the routes
// from blocks spread over the device have a cycle of their own. With LATENCY 4 and more
// than GROUP = 4 banks the multiplexer is split in two: q3 holds one word per group of
// GROUP banks (a 4:1 multiplexer: one 6-input LUT, or two 4-input LUTs and their PFUMX on
// ECP5) and q4 the word of the selected group (measured on ECP5 at 125 MHz: a 9:1
// multiplexer from blocks spread over the device into one register took 8.6 ns). With
// LATENCY 4 and at most GROUP banks (one group) q3 holds every bank's word instead, a
// register of its own behind each bank, and q4 the selected one: the register between a
// block and the multiplexer splits its route (CNV-w2a2 on the ECP5-85F, 203 of 208 blocks
// used: a 4:1 multiplexer from 4 banks of 8 blocks each into one register took 8.6 ns, all
// of it routes from blocks far apart). LATENCY 5 has both: q3 behind every bank, q4 per
// group of GROUP banks (with one group, the selected word), q5 the selected word (8.4 ns
// from 4 of CNV-w2a2's 32 banks through their 4:1 multiplexer into a group's q3 without
// the register behind each bank). With one bank the registers beyond the second follow
// each other.
//
// Memory file: INIT_FILE ($readmemh, one hex word per line, word 0 first); an empty name
// gives an all-zero memory. BLOCK = 1 asks for block RAM (rom_style / ram_style "block"),
// BLOCK = 0 leaves the choice to the tool (LUTs for a shallow ROM).
//
// Timing. A block RAM's data leaves the block late after the clock (ECP5 EBR without its
// output register: 5.6 ns). With LATENCY 2 the second register sits right behind the block
// so that the tool puts it into the block's own output register (Xilinx DOA_REG; ECP5
// REGMODE "OUTREG" through bnncc's netlist step bnncc/synth/ecp5_outreg.py). A memory deeper
// than one block needs several blocks and a multiplexer after them; a register after that
// multiplexer would not sit behind any block. So with LATENCY 2 the memory is banked in the
// RTL by BANK_DEPTH words (0: the depth of one block RAM at the width that needs the fewest
// blocks for WIDTH x DEPTH, ECP5 DP16KD configurations 16384x1 .. 1024x18, the deepest on a
// tie): bank b holds words [b*BANK_DEPTH, (b+1)*BANK_DEPTH), each bank has both registers,
// and the bank multiplexer follows the second register (its select is registered
// alongside). Each bank reads the whole INIT_FILE and addresses it with its constant bank
// index in the upper address bits; synthesis keeps only the blocks the bank can address.
// (Yosys chooses the block configuration for the whole DEPTH before it drops the blocks a
// bank cannot reach, so a bank maps onto whole blocks when BANK_DEPTH is the depth of that
// configuration; where Yosys mixes configurations, a bank may still hold a multiplexer, and
// the netlist step lists its blocks as left alone.)
//
// BANK_FILES = 1 avoids that: every block is a memory of its own, read from its own file.
// Bank b is split by width into slices of the configuration's width (1, 2, 4, 9 or 18 bits
// for a bank depth of 16384 .. 1024; one slice of WIDTH bits for other bank depths), and
// slice s of bank b holds bits [s*SLICE, (s+1)*SLICE) of the bank's words, read from the
// file named INIT_FILE followed by ".bank" and b in three decimal digits, and, with more than
// one slice, ".slice" and s in three digits (word i of that file is bits of word
// b*BANK_DEPTH + i; the last bank's file may be shorter). So Yosys maps every array onto
// exactly one block of the planned shape (left to itself it maps 8192 x 28 as 13 blocks of
// 2048 x 9 with a word select in front of the second register; 16384 x 32 with one as well).
// A block memory of LATENCY 2 in one bank of more than 1024 words is declared as deep as the
// chosen block depth (Yosys maps 7168 x 7 as three 1024 x 18 blocks with a word select behind
// them, 8192 x 7 as four 8192 x 2 blocks side by side), and with BANK_FILES it reads bank 0's
// files.
`timescale 1ns / 1ps
`default_nettype none

module rom_pipe #(
    parameter integer WIDTH = 8,        // bits per word, >= 1
    parameter integer DEPTH = 64,       // words, >= 1
    parameter integer LATENCY = 1,      // registers on the read path, 1 to 5
    parameter INIT_FILE = "",           // $readmemh file of the words ("" = all zero)
    parameter integer BLOCK = 1,        // 1: block RAM, 0: the tool's choice
    parameter integer BANK_DEPTH = 0,   // words per bank with LATENCY >= 2 (0: one block RAM's depth)
    parameter integer BANK_FILES = 0    // 1: every bank (and slice) of a banked or padded memory reads its own file
) (
    input  wire                     ap_clk,
    input  wire                     rd_en,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                     out_en,    // LATENCY 2 to 5 only
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [AW-1:0]            addr,
    output wire [WIDTH-1:0]         data
);
    localparam integer AW = clog2(DEPTH) < 1 ? 1 : clog2(DEPTH);

    function integer clog2;
        input integer value;
        integer v;
        begin
            clog2 = 0;
            v = value - 1;
            while (v > 0) begin
                clog2 = clog2 + 1;
                v = v >> 1;
            end
        end
    endfunction

    // the width of the DP16KD configuration of a given depth (16384 x 1 .. 1024 x 18), 0 for
    // a depth that is no configuration's
    function integer block_width;
        input integer depth;
        begin
            block_width = (depth == 16384) ? 1 : (depth == 8192) ? 2 : (depth == 4096) ? 4
                        : (depth == 2048) ? 9 : (depth == 1024) ? 18 : 0;
        end
    endfunction

    // Words per bank: the depth of the DP16KD configuration (16384 x 1, 8192 x 2, 4096 x 4,
    // 2048 x 9, 1024 x 18) that stores WIDTH x DEPTH in the fewest blocks (the deepest on a
    // tie, as Yosys's memory mapper chooses), or DEPTH when that one block depth holds the
    // whole memory.
    function integer auto_bank_depth;
        input integer width;
        input integer depth;
        integer k, d, blocks, best_blocks, best_depth;
        begin
            best_blocks = 0;
            best_depth = 16384;
            for (k = 0; k < 5; k = k + 1) begin
                d = 16384 >> k;
                blocks = ((width + block_width(d) - 1) / block_width(d)) * ((depth + d - 1) / d);
                if (best_blocks == 0 || blocks < best_blocks) begin
                    best_blocks = blocks;
                    best_depth = d;
                end
            end
            auto_bank_depth = best_depth;
        end
    endfunction

    localparam integer BD_RAW = (BANK_DEPTH > 0) ? BANK_DEPTH : auto_bank_depth(WIDTH, DEPTH);
    localparam integer BANKED = (LATENCY >= 2 && BD_RAW < DEPTH) ? 1 : 0;
    localparam integer BD = (BANKED != 0) ? BD_RAW : DEPTH;
    // one bank's array padded to the block depth (or exactly as deep): a block memory of
    // LATENCY >= 2 in one bank (Yosys maps a memory whose depth is no block depth with
    // multiplexers behind the blocks: 7168 x 7 as three 1024 x 18 blocks and a word select,
    // 8192 x 7 as four 8192 x 2 blocks side by side); up to 1024 words one row of 1024 x 18
    // or 512 x 36 blocks holds the memory without a word select, and padding would only add
    // blocks (64 x 512 padded to 1024 words: 29 blocks instead of 15)
    localparam integer PAD = (LATENCY >= 2 && BLOCK != 0 && BANKED == 0 && BD_RAW >= DEPTH && DEPTH > 1024) ? 1 : 0;
    // arrays read from their own files (BANK_FILES, banked or padded), sliced by the width of
    // the block configuration of the bank depth
    localparam integer OWN = (BANK_FILES != 0 && (BANKED != 0 || PAD != 0)) ? 1 : 0;
    localparam integer SLICE = (OWN != 0 && block_width(BD_RAW) > 0 && block_width(BD_RAW) < WIDTH)
                               ? block_width(BD_RAW) : WIDTH;
    localparam integer NS = (WIDTH + SLICE - 1) / SLICE;     // slices per bank
    localparam integer MD = (OWN != 0 || PAD != 0) ? BD_RAW : DEPTH;   // words of each array
    localparam integer MAW = (MD > 1) ? clog2(MD) : 1;       // array address bits
    localparam integer BW = clog2(BD) < 1 ? 1 : clog2(BD);   // address bits within a bank
    localparam integer NB = (DEPTH + BD - 1) / BD;            // banks
    localparam integer SW = clog2(NB) < 1 ? 1 : clog2(NB);    // bank select bits
    // LATENCY 4 and 5: groups of GROUP banks multiplexed into one register, the groups into the last
    localparam integer GROUP = 4;
    localparam integer NG = (NB + GROUP - 1) / GROUP;         // groups
    localparam integer GW = (SW > 2) ? SW - 2 : 1;            // group select bits
    localparam integer MB = (SW < 2) ? SW : 2;                // member select bits
    // a third register behind every bank: LATENCY 5, and LATENCY 4 of one group
    localparam integer PER_BANK = (LATENCY == 5 || (LATENCY == 4 && NG == 1)) ? 1 : 0;
    // registers behind the banks' (or the third) registers: 2 split by groups with more
    // than one group, else in a row behind the multiplexer
    localparam integer AFTER = (LATENCY >= 2) ? LATENCY - 2 - PER_BANK : 0;

    initial begin
        if (WIDTH < 1 || DEPTH < 1) begin
            $display("%m: rom_pipe: WIDTH=%0d must be >= 1 and DEPTH=%0d >= 1", WIDTH, DEPTH); $finish;
        end
        if (LATENCY < 1 || LATENCY > 5) begin
            $display("%m: rom_pipe: LATENCY=%0d must be 1 to 5", LATENCY); $finish;
        end
        if (BANK_DEPTH != 0 && (BANK_DEPTH < 2 || (BANK_DEPTH & (BANK_DEPTH - 1)) != 0)) begin
            $display("%m: rom_pipe: BANK_DEPTH=%0d must be 0 or a power of two >= 2", BANK_DEPTH); $finish;
        end
        if (BANK_FILES < 0 || BANK_FILES > 1 || NB > 1000) begin
            $display("%m: rom_pipe: BANK_FILES=%0d must be 0 or 1, and at most 1000 banks", BANK_FILES); $finish;
        end
    end

    wire [NB*WIDTH-1:0] bank_q;   // every bank's last register, bank b at [b*WIDTH +: WIDTH]
    genvar b, s;
    generate
        for (b = 0; b < NB; b = b + 1) begin : g_bank
            // The whole file in every bank, bank b reading only its own words; or (OWN) each
            // slice of bank b from its own file (header).
            localparam integer D2 = b / 100 % 10, D1 = b / 10 % 10, D0 = b % 10;
            localparam [7:0] C2 = 8'd48 + D2[7:0], C1 = 8'd48 + D1[7:0], C0 = 8'd48 + D0[7:0];
            localparam [8*3-1:0] DIGITS = {C2, C1, C0};
            wire [WIDTH-1:0] q1;
            wire [MAW-1:0] bank_addr;
            if (OWN != 0 && BANKED != 0) begin : g_addr_own
                assign bank_addr = addr[BW-1:0];
            end else if (BANKED != 0) begin : g_addr_banked
                localparam [AW-BW-1:0] INDEX = b;
                assign bank_addr = {INDEX, addr[BW-1:0]};
            end else if (MAW > AW) begin : g_addr_padded
                assign bank_addr = {{(MAW - AW){1'b0}}, addr};
            end else begin : g_addr_whole
                assign bank_addr = addr;
            end
            for (s = 0; s < NS; s = s + 1) begin : g_slice
                localparam integer LO = s * SLICE;
                localparam integer SWS = (WIDTH - LO < SLICE) ? WIDTH - LO : SLICE;   // bits of this slice
                localparam integer E2 = s / 100 % 10, E1 = s / 10 % 10, E0 = s % 10;
                localparam [7:0] F2 = 8'd48 + E2[7:0], F1 = 8'd48 + E1[7:0], F0 = 8'd48 + E0[7:0];
                localparam [8*3-1:0] SDIGITS = {F2, F1, F0};
                if (INIT_FILE == "") begin : g_zero
                    rom_pipe_array #(.WIDTH(SWS), .DEPTH(MD), .INIT_FILE(""), .BLOCK(BLOCK)) u_array (
                        .ap_clk(ap_clk), .rd_en(rd_en), .addr(bank_addr), .q(q1[LO +: SWS]));
                end else if (OWN != 0 && NS > 1) begin : g_slice_file
                    rom_pipe_array #(.WIDTH(SWS), .DEPTH(MD), .INIT_FILE({INIT_FILE, ".bank", DIGITS, ".slice", SDIGITS}),
                                     .BLOCK(BLOCK)) u_array (
                        .ap_clk(ap_clk), .rd_en(rd_en), .addr(bank_addr), .q(q1[LO +: SWS]));
                end else if (OWN != 0) begin : g_bank_file
                    rom_pipe_array #(.WIDTH(SWS), .DEPTH(MD), .INIT_FILE({INIT_FILE, ".bank", DIGITS}),
                                     .BLOCK(BLOCK)) u_array (
                        .ap_clk(ap_clk), .rd_en(rd_en), .addr(bank_addr), .q(q1[LO +: SWS]));
                end else begin : g_file
                    rom_pipe_array #(.WIDTH(SWS), .DEPTH(MD), .INIT_FILE(INIT_FILE), .BLOCK(BLOCK)) u_array (
                        .ap_clk(ap_clk), .rd_en(rd_en), .addr(bank_addr), .q(q1[LO +: SWS]));
                end
            end
            if (LATENCY >= 2) begin : g_second
                // no reset: the block RAM's output register has none
                reg [WIDTH-1:0] q2;
                always @(posedge ap_clk) if (out_en) q2 <= q1;
                assign bank_q[b*WIDTH +: WIDTH] = q2;
            end else begin : g_first
                assign bank_q[b*WIDTH +: WIDTH] = q1;
            end
        end
        // sel_in: the bank of the word in banks_in (the select follows the read; 0 with one
        // bank); PER_BANK: a third register behind every bank, the select alongside
        wire [NB*WIDTH-1:0] banks_in;
        wire [SW-1:0] sel_in;
        if (NB > 1) begin : g_sel
            reg [SW-1:0] sel1, sel2;
            always @(posedge ap_clk) begin
                if (rd_en) sel1 <= addr[AW-1:BW];
                if (out_en) sel2 <= sel1;
            end
            if (PER_BANK != 0) begin : g_per_bank
                reg [NB*WIDTH-1:0] bank_q3;
                reg [SW-1:0] sel3;
                always @(posedge ap_clk) if (out_en) begin
                    bank_q3 <= bank_q;
                    sel3 <= sel2;
                end
                assign banks_in = bank_q3;
                assign sel_in = sel3;
            end else begin : g_direct
                assign banks_in = bank_q;
                assign sel_in = sel2;
            end
        end else begin : g_no_sel
            assign sel_in = {SW{1'b0}};
            if (PER_BANK != 0) begin : g_per_bank
                reg [WIDTH-1:0] bank_q3;
                always @(posedge ap_clk) if (out_en) bank_q3 <= bank_q;
                assign banks_in = bank_q3;
            end else begin : g_direct
                assign banks_in = bank_q;
            end
        end
        if (AFTER == 2 && NG > 1) begin : g_select_split
            // one word per group of GROUP banks in group_q, then the selected group's word
            reg [GW-1:0] sel_group;
            reg [NG*WIDTH-1:0] group_q;
            reg [WIDTH-1:0] q_last;
            always @(posedge ap_clk) if (out_en) sel_group <= sel_in[SW-1:SW-GW];
            genvar g;
            for (g = 0; g < NG; g = g + 1) begin : g_group
                localparam integer IN_GROUP = (NB - g * GROUP < GROUP) ? NB - g * GROUP : GROUP;
                wire [GROUP*WIDTH-1:0] members = {{((GROUP - IN_GROUP) * WIDTH){1'b0}},
                                                  banks_in[g*GROUP*WIDTH +: IN_GROUP*WIDTH]};
                wire [MB-1:0] member = sel_in[MB-1:0];
                always @(posedge ap_clk) if (out_en) group_q[g*WIDTH +: WIDTH] <= members[member*WIDTH +: WIDTH];
            end
            always @(posedge ap_clk) if (out_en) q_last <= group_q[sel_group*WIDTH +: WIDTH];
            assign data = q_last;
        end else begin : g_select
            wire [WIDTH-1:0] selected;
            if (NB > 1) begin : g_mux
                assign selected = banks_in[sel_in*WIDTH +: WIDTH];
            end else begin : g_one_bank
                wire unused_sel = &{1'b0, sel_in};
                assign selected = banks_in[WIDTH-1:0];
            end
            if (AFTER == 0) begin : g_none
                assign data = selected;
            end else if (AFTER == 1) begin : g_one_after
                reg [WIDTH-1:0] q_last;
                always @(posedge ap_clk) if (out_en) q_last <= selected;
                assign data = q_last;
            end else begin : g_two_after
                // two registers in a row behind the multiplexer
                reg [WIDTH-1:0] q_next, q_last;
                always @(posedge ap_clk) if (out_en) begin
                    q_next <= selected;
                    q_last <= q_next;
                end
                assign data = q_last;
            end
        end
    endgenerate
endmodule

/* verilator lint_off DECLFILENAME */  // helper of rom_pipe, kept in its file
// rom_pipe_array: one memory array and its read register, q <= mem[addr] when rd_en;
// words from INIT_FILE ($readmemh), all zero for an empty name.
module rom_pipe_array #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 64,
    parameter INIT_FILE = "",
    parameter integer BLOCK = 1          // 1: block RAM, 0: the tool's choice
) (
    input  wire                     ap_clk,
    input  wire                     rd_en,
    input  wire [AW-1:0]            addr,
    output reg  [WIDTH-1:0]         q
);
    localparam integer AW = $clog2(DEPTH) < 1 ? 1 : $clog2(DEPTH);
    generate
        if (BLOCK != 0) begin : g_block
            (* rom_style = "block", ram_style = "block" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
            if (INIT_FILE != "") begin : g_file
                initial $readmemh(INIT_FILE, mem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
            end
            always @(posedge ap_clk) if (rd_en) q <= mem[addr];
        end else begin : g_tool
            reg [WIDTH-1:0] mem [0:DEPTH-1];
            if (INIT_FILE != "") begin : g_file
                initial $readmemh(INIT_FILE, mem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < DEPTH; i = i + 1) mem[i] = {WIDTH{1'b0}};
            end
            always @(posedge ap_clk) if (rd_en) q <= mem[addr];
        end
    endgenerate
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
