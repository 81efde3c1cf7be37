// mvau: matrix-vector-activation unit. Multiplies an MH x MW matrix W (a ROM) by a stream
// of MW-element input vectors x and optionally applies per-row thresholds, as bnncc's
// MVAU op (bnncc/ir/ops/hw.py):
//
//   multiply-accumulate:  acc[m] = sum_k x[k] * W[k][m]
//   BINARY (x, W bipolar): acc[m] = #{k : x[k] == W[k][m]}      (XNOR-popcount)
//   N_THRESHOLDS = 0:      y[m] = acc[m]                          (OUT_BITS = ACC_BITS)
//   N_THRESHOLDS > 0:      y[m] = (#{t : acc[m] >= T[m][t]} + OUT_BIAS) mod 2**OUT_BITS
//
// acc and T are ACC_BITS-bit two's complement (signed compare). Folding: PE rows and SIMD
// columns per cycle; the rows are processed in NF = MH/PE row groups ("neuron folds") of
// SF = MW/SIMD column groups ("synapse folds") each, so one vector takes NF*SF cycles.
//
// Input stream: SF beats per vector of SIMD elements, INPUT_BITS each (1 bit if bipolar),
// element s of beat sf is x[k = sf*SIMD + s], element 0 in the least significant bits.
// Output stream: NF beats per vector of PE elements, OUT_BITS each; element pe of beat nf
// is y[m = nf*PE + pe]. Element encodings: unsigned, two's complement, or bipolar (1 bit,
// 1 = +1, 0 = -1).
//
// Weight memory (WEIGHT_FILE, $readmemh, one hex word per line, word 0 first): NF*SF words
// of PE*SIMD*WEIGHT_BITS bits; word nf*SF + sf holds W[k = sf*SIMD + s][m = nf*PE + p] at
// bits [(p*SIMD + s)*WEIGHT_BITS +: WEIGHT_BITS] (two's complement if WEIGHT_SIGNED,
// bit 1 = +1 / 0 = -1 if WEIGHT_BIPOLAR).
// Threshold memory (THRESHOLD_FILE, only if N_THRESHOLDS > 0): NF words of
// PE*N_THRESHOLDS*ACC_BITS bits; word nf holds T[m = nf*PE + p][t] at bits
// [(p*N_THRESHOLDS + t)*ACC_BITS +: ACC_BITS], two's complement. Each row's thresholds must
// be sorted ascending, T[m][0] <= T[m][1] <= ... (the count does not depend on their order,
// so the builder sorts them): the compare bits c[t] = (acc >= T[m][t]) then form a
// thermometer code, and bit j of the count is the XOR of c[k * 2**j - 1] over k >= 1 (the
// parity of the multiples of 2**j up to the count; a balanced XOR tree, no adder chain
// through the thresholds), as in thresholding.v. REGISTER_COMPARES = 1 registers the
// compare bits ahead of the count (one cycle more latency).
// Threshold search (THRESHOLD_SEARCH = 1, N_THRESHOLDS > 1): the count is found instead by a
// pipelined binary search over each row's thresholds padded to 2**OUT_BITS - 1 (padding: the
// largest ACC_BITS-bit value, above every accumulator value), one compare per count bit
// (threshold_search.v: OUT_BITS stages behind the accumulators, each a read of its own deep,
// narrow ROM at {row, the count bits decided so far} and one compare; 2 cycles per stage with
// THRESHOLD_BLOCK). The threshold memory is then replaced by the stage memories: stage 0 in
// THRESHOLD_FILE, NF*N_CLASSES words of PE*ACC_BITS bits, word c*NF + nf holding for lane pe
// T[c][m = nf*PE + pe][2**(OUT_BITS-1) - 1] of the padded row at bits [pe*ACC_BITS +: ACC_BITS];
// stage k >= 1 in SEARCH<k>_FILE, NF*N_CLASSES*2**k*PL words of ACC_BITS bits (PL = PE rounded
// up to a power of two), word ((c*NF + nf)*2**k + p)*PL + pe holding T[c][m][(2p + 1) *
// 2**(OUT_BITS-1-k) - 1] (bnncc/hw/modules/threshold_search.py writes them). The stage
// memories of SEARCH_BLOCK_DEPTH words or more (per lane, stages k >= 1) are block RAM, read
// ahead without more latency. SEARCH_SPLIT = 1 (short clock periods) gives every stage's
// ROM read a register of its own ahead of the compare (and a block RAM its output register
// too): 2 cycles per stage in LUTs, 3 in block RAM.
// Threshold classes (N_CLASSES > 1, thresholds only): the input vectors of a frame (N_VECTORS
// of them, e.g. the OH*OW windows of a convolution) fall into N_CLASSES classes, each with
// its own thresholds: T[c][m][t] for a vector of class c. The threshold memory then holds
// NF*N_CLASSES words, word c*NF + nf as word nf above for class c; CLASS_FILE ($readmemh,
// N_VECTORS words of ceil(log2(N_CLASSES)) bits) holds the class of every vector index of a
// frame, counted by a vector counter that wraps every N_VECTORS vectors. (bnncc streams -1
// into the zero-padded border of a bipolar convolution and moves the border's correction
// into the thresholds of the border classes.) N_CLASSES = 1: one set of thresholds, no
// vector counter, the module as without classes. Classes by row and column (CLASS_COLS > 0):
// the vectors form rows of CLASS_COLS (the output rows of a convolution, CROWS =
// N_VECTORS / CLASS_COLS of them) and the class of the vector in row r, column j is
// row_part[r] + col_part[j]; CLASS_FILE then holds CROWS row words, then CLASS_COLS column
// words (a row counter and a column counter instead of a vector counter, CROWS + CLASS_COLS
// words instead of N_VECTORS). THRESHOLD_BLOCK = 1 puts the threshold memory into block
// RAM (rom_style "block"), read through a register one stage ahead of its use as the
// larger memories are; the beat timing and latency do not change.
// Border masking (BORDER = 1, an exact and cheaper alternative to classes for a convolution
// whose SIMD elements of a beat lie in one kernel position): the input vectors are the
// OH x OW windows (row-major) of a BORDER_KH x BORDER_KW kernel, element k = (u*KW + v)*C + c,
// so beat sf of a vector covers kernel position sf / CF (CF = SF / (KH*KW) beats per
// position), kernel row u = (sf / CF) / KW, column v = (sf / CF) % KW. CLASS_FILE then
// holds OH + OW words of max(KH, KW) bits: word r (r < OH) has bit u set if kernel row u of
// output row r falls on padding, word OH + j has bit v set if kernel column v of output
// column j does. A beat whose kernel position falls on padding (its row or its column) adds
// a constant instead of its dot product: SIMD/2 agreements in BINARY mode (its SIMD terms
// contribute 2*(SIMD/2) - SIMD = 0 to sum x*w), 0 in multiply-accumulate mode (plus the
// folded threshold's + 1 on a row group's first beat). The accumulator thus holds the
// product of the zero-padded input whatever the stream carries in the border, and one set
// of thresholds serves every position (bnncc streams -1 there). Row and column counters
// follow the vectors; the beat timing and latency are those of the module without it.
// bnncc/backends/mvau_memory.py writes both files. An empty file name (the default, for
// lint) gives an all-zero memory. The weight memory is read through a register (a ROM the
// tool may build from LUTs or block RAM); a single (folded) threshold of a memory of up to
// 64 words is read combinationally where it is used (it merges into the accumulator's
// adder) unless MEM_REG asks for a short clock period, several thresholds and larger
// memories through a register.
//
// Every input vector is kept in a buffer of SF words (written while the first row group
// streams in) and reused for the other NF-1 row groups. Throughput: one input beat per
// cycle while a vector loads and one output beat per SF cycles, i.e. NF*SF cycles per
// vector without bubbles when nothing stalls. Latency: an output beat is valid
// 4 + MEM_REG + DOT_STAGES - 1 (+ 1 with REGISTER_COMPARES and N_THRESHOLDS > 1; + OUT_BITS,
// 2*OUT_BITS with THRESHOLD_BLOCK, with THRESHOLD_SEARCH; SEARCH_SPLIT: 2 per stage, 3 per
// block RAM stage) cycles after the cycle that consumed its row group's last
// input beat (or read its last buffer word). Pipeline: issue (counters, memory addresses) ->
// weights / input word registered -> (MEM_REG: registered once more) -> per-PE dot products,
// DOT_STAGES registers deep -> accumulators -> output FIFO. Output back-pressure is
// handled with credits: a row group's last beat is issued only while the output FIFO is
// sure to have room for its result, so the pipeline itself never stalls; s_axis_tready is
// a function of registers only (no combinational path from m_axis_tready), m_axis_tvalid
// comes from the FIFO's count register.
//
// BINARY mode computes per PE an XNOR-popcount of the SIMD bit pairs with a compressor
// tree (3 pairs -> 2-bit count in the first level, then 6:3 / 5:3 / 4:3 / 3:2 counters,
// then one carry-propagate adder); no multipliers. The counters are small leaf modules
// (keep_hierarchy) so that LUT mapping keeps each one as one LUT per output bit.
// MAC_STYLE = 1 (or DOT_STAGES > 1) computes the per-PE dot products with mac_dot
// (rtl_lib/mac_dot.v): partial products of at most 5 operand bits merged into carry-chain
// adders, a binary adder tree with DOT_STAGES - 1 inner registers, no multipliers.
// DOT_CHAIN sets its products per chain (BINARY: bit pairs per popcount, the popcounts then
// meet in mac_dot's registered adder tree); 0 lets mac_dot choose.
// DOT_PAIRS = 1 (multi-bit x times bipolar weights, mac_dot): the input word becomes the pair
// sums and differences x[2k] +- x[2k+1] once for all PEs (mac_dot_pairs, ahead of MEM_REG's
// register), and each PE's mac_dot (PAIRED) adds w_a * (w_a == w_b ? sum : difference) per
// pair: half the products, each one bit wider.
// MAC_STYLE = 0 (inline):
// Multiply-accumulate mode sums the SIMD products in offset binary (each product's sign
// bit inverted, a constant correction) so that the adder tree sees no sign extensions; a
// bipolar operand times a multi-bit one is a conditional one's complement plus a carry,
// without multipliers. With a single threshold the comparison is folded into the
// accumulator: it starts at -T (one's complement plus a carry injected into the first dot
// product, ACC_BITS+1 bits) and the output is its inverted sign bit.
// Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module mvau #(
    parameter integer MW = 64,              // matrix width: elements per input vector
    parameter integer MH = 64,              // matrix height: rows, elements per output vector
    parameter integer PE = 16,              // rows per cycle; must divide MH
    parameter integer SIMD = 16,            // input elements per cycle; must divide MW
    parameter integer INPUT_BITS = 1,       // bits per input element, 1..16 (1 if bipolar)
    parameter integer INPUT_SIGNED = 0,     // 1: input elements are two's complement
    parameter integer INPUT_BIPOLAR = 1,    // 1: input elements are bipolar (bit 1 = +1, 0 = -1)
    parameter integer WEIGHT_BITS = 1,      // bits per weight, 1..16 (1 if bipolar)
    parameter integer WEIGHT_SIGNED = 0,    // 1: weights are two's complement
    parameter integer WEIGHT_BIPOLAR = 1,   // 1: weights are bipolar (bit 1 = +1, 0 = -1)
    parameter integer BINARY = 1,           // 1: XNOR-popcount (both operands bipolar)
    parameter integer ACC_BITS = 8,         // accumulator / threshold width, two's complement,
                                            // 1..31; must hold every accumulator value
    parameter integer N_THRESHOLDS = 1,     // thresholds per row; 0: output the accumulator
    parameter integer OUT_BITS = 1,         // bits per output element (ACC_BITS if no thresholds)
    parameter integer OUT_BIAS = 0,         // added to the threshold count (e.g. -2 for INT2)
    parameter WEIGHT_FILE = "",             // $readmemh file of the weight memory (see above)
    parameter THRESHOLD_FILE = "",          // $readmemh file of the threshold memory (see above)
    parameter integer N_CLASSES = 1,        // threshold classes (see above); > 1 needs thresholds
    parameter integer N_VECTORS = 1,        // input vectors per frame (class memory depth)
    parameter CLASS_FILE = "",              // $readmemh file of the class of every vector index
                                            // (BORDER = 1: the padded kernel rows / columns)
    parameter integer CLASS_COLS = 0,       // > 0: classes by row and column (see above)
    parameter integer THRESHOLD_BLOCK = 0,  // 1: threshold memory in block RAM, read through a register
    parameter integer BORDER = 0,           // 1: border masking of a padded convolution (see above)
    parameter integer BORDER_KH = 1,        // kernel rows
    parameter integer BORDER_KW = 1,        // kernel columns
    parameter integer BORDER_OH = 1,        // output rows (vectors per frame = OH * OW)
    parameter integer BORDER_OW = 1,        // output columns
    parameter integer MAC_STYLE = 0,        // multi-bit products: 0 inline (a DSP block where the tool maps one), 1 mac_dot, 2 mac_dsp
    parameter integer DSP_FAMILY = 0,       // MAC_STYLE 2: 0 DSP48E1, 1 DSP48E2, 2 ECP5 MULT18X18D
    parameter integer MEM_REG = 0,          // 1..4: weight and input word registered once (twice, ... four times) more ahead of the dot products
    parameter integer DOT_STAGES = 1,       // registers of the dot products (>= 1; > 1 needs MAC_STYLE = 1 or BINARY)
    parameter integer DOT_CHAIN = 0,        // mac_dot CHAIN: products per carry chain or popcount (0: automatic)
    parameter integer DOT_PAIRS = 0,        // 1: mac_dot PAIRED, pair sums of x shared by the PEs (see above)
    parameter integer REGISTER_COMPARES = 0, // 1: the threshold compares registered ahead of the count (N_THRESHOLDS > 1)
    parameter integer THRESHOLD_SEARCH = 0, // 1: several thresholds by a pipelined binary search (see above)
    parameter integer SEARCH_BLOCK_DEPTH = 0, // > 0: search stage memories this deep or deeper in block RAM
    parameter integer SEARCH_SPLIT = 0,     // 1: search ROM reads and compares in cycles of their own (threshold_search SPLIT)
    parameter integer ISSUE_FLAGS = 0,      // 1: the issue conditions (last beat, first row group, credits used up) registered
    parameter SEARCH1_FILE = "",            // THRESHOLD_SEARCH: $readmemh files of search stages 1..7
    parameter SEARCH2_FILE = "",            // (stage 0 is THRESHOLD_FILE)
    parameter SEARCH3_FILE = "",
    parameter SEARCH4_FILE = "",
    parameter SEARCH5_FILE = "",
    parameter SEARCH6_FILE = "",
    parameter SEARCH7_FILE = ""
) (
    input  wire                       ap_clk,
    input  wire                       ap_rst_n,
    input  wire [SIMD*INPUT_BITS-1:0] s_axis_tdata,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    output wire [PE*OUT_BITS-1:0]     m_axis_tdata,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready
);
    // ---- derived sizes -------------------------------------------------------------------
    localparam integer SF = MW / SIMD;                      // input beats per vector
    localparam integer BORDER_KP = BORDER_KH * BORDER_KW;   // kernel positions (BORDER)
    localparam integer NF = MH / PE;                        // output beats per vector
    localparam integer XB = INPUT_BITS;
    localparam integer WB = WEIGHT_BITS;
    localparam integer IN_W = SIMD * XB;
    localparam integer OUT_W = PE * OUT_BITS;
    localparam integer WWORD = PE * SIMD * WB;              // weight word
    localparam integer WDEPTH = NF * SF;                    // weight words
    localparam integer NT = N_THRESHOLDS;
    localparam integer TWORD = (NT > 0) ? PE * NT * ACC_BITS : 1;
    localparam integer FOLD = (NT == 1) ? 1 : 0;            // single threshold folded into acc
    localparam integer SEARCH = (THRESHOLD_SEARCH != 0 && NT > 1) ? 1 : 0;   // binary search
    localparam integer NC = N_CLASSES;
    localparam integer TDEPTH = NF * NC;                    // threshold words
    // cycles of the threshold search (threshold_search.v: one per stage, two with block RAM;
    // with SEARCH_SPLIT two per stage in LUTs, three in block RAM)
    function integer search_cycles(input integer stages, input integer rows);
        integer k;
        begin
            search_cycles = 0;
            for (k = 0; k < stages; k = k + 1) begin
                if (SEARCH_SPLIT == 0) search_cycles = search_cycles + ((THRESHOLD_BLOCK != 0) ? 2 : 1);
                else if (THRESHOLD_BLOCK != 0 || (k > 0 && SEARCH_BLOCK_DEPTH > 0 && (rows << k) >= SEARCH_BLOCK_DEPTH))
                    search_cycles = search_cycles + 3;
                else search_cycles = search_cycles + 2;
            end
        end
    endfunction
    localparam integer SEARCH_STAGES = (SEARCH != 0) ? search_cycles(OUT_BITS, TDEPTH) : 0;
    // a folded threshold of a small memory is read without register (it merges into the
    // accumulator's adder); several thresholds are always read through a register (a LUT
    // ROM per bit, then the compares: an unregistered read merges into every compare bit)
    localparam integer T_ASYNC = (TDEPTH <= 64 && THRESHOLD_BLOCK == 0 && NT == 1 && MEM_REG == 0) ? 1 : 0;
    // MEM_REG: registered threshold reads a cycle earlier, through two registers
    localparam integer T_EARLY = (MEM_REG != 0) ? 1 : 0;
    localparam integer CROWS = (CLASS_COLS > 0) ? N_VECTORS / CLASS_COLS : 1;    // class rows
    localparam integer AW = ACC_BITS + FOLD;                // accumulator register width
    // multiply-accumulate operand widths as signed numbers, product and dot product widths
    localparam integer XS = (INPUT_SIGNED != 0) ? ((XB > 1) ? XB : 2) : XB + 1;
    localparam integer WS = (WEIGHT_SIGNED != 0) ? ((WB > 1) ? WB : 2) : WB + 1;
    localparam integer PW = XS + WS;
    localparam integer KW = (INPUT_BIPOLAR != 0 && WEIGHT_BIPOLAR != 0) ? 2 : // product term width
                            (WEIGHT_BIPOLAR != 0) ? XS : (INPUT_BIPOLAR != 0) ? WS : PW;
    localparam integer DW_MAC = (PW + $clog2(SIMD + 1) < AW) ? PW + $clog2(SIMD + 1) : AW;
    localparam integer DW_BIN = $clog2(SIMD + FOLD + 1);
    localparam integer DW = (BINARY != 0) ? DW_BIN : DW_MAC; // per-PE dot product width
    localparam integer MAC_INIT = -SIMD * (1 << (KW - 1));  // offset binary correction
    // counters
    localparam integer SF_W = (SF > 1) ? $clog2(SF) : 1;
    localparam integer NF_W = (NF > 1) ? $clog2(NF) : 1;
    localparam integer WA_W = (WDEPTH > 1) ? $clog2(WDEPTH) : 1;
    localparam integer TA_W = (TDEPTH > 1) ? $clog2(TDEPTH) : 1;   // threshold address
    localparam integer CL_W = (NC > 1) ? $clog2(NC) : 1;           // class
    localparam integer VC_W = (N_VECTORS > 1) ? $clog2(N_VECTORS) : 1;   // vector counter
    localparam integer VC_LAST = N_VECTORS - 1;
    localparam integer SF_LAST = SF - 1;
    localparam integer NF_LAST = NF - 1;
    localparam integer WA_LAST = WDEPTH - 1;
    // pipeline registers beyond the base pipeline: MEM_REG, DOT_STAGES - 1 in the dot products,
    // the registered compares or the threshold search
    localparam integer EXTRA = MEM_REG + DOT_STAGES - 1 + SEARCH_STAGES
                               + ((REGISTER_COMPARES != 0 && N_THRESHOLDS > 1 && SEARCH == 0) ? 1 : 0);
    localparam integer DOT_EXTRA = MEM_REG + DOT_STAGES - 1;   // of these, ahead of dot_q
    // output FIFO: a credit is held for 5 + EXTRA cycles from issue to the earliest pop, and
    // a result is issued at most every SF cycles, so max(2, ceil((5 + EXTRA)/SF)) entries
    // avoid bubbles
    localparam integer OD_MIN = (5 + EXTRA + SF - 1) / SF;
    localparam integer OD = (OD_MIN > 2) ? OD_MIN : 2;
    localparam integer OA_W = $clog2(OD);
    localparam integer OC_W = $clog2(OD + 1);
    localparam integer OD_LAST = OD - 1;
    localparam integer BIAS_MOD = (NT == 0) ? 0 : ((OUT_BIAS % (1 << OUT_BITS)) + (1 << OUT_BITS)) % (1 << OUT_BITS);

    initial begin
        if (MW < 1 || MH < 1 || PE < 1 || SIMD < 1) begin
            $display("%m: mvau: MW, MH, PE and SIMD must be >= 1"); $finish;
        end
        if (MH % PE != 0) begin $display("%m: mvau: PE=%0d does not divide MH=%0d", PE, MH); $finish; end
        if (MW % SIMD != 0) begin $display("%m: mvau: SIMD=%0d does not divide MW=%0d", SIMD, MW); $finish; end
        if (INPUT_BITS < 1 || INPUT_BITS > 16 || WEIGHT_BITS < 1 || WEIGHT_BITS > 16) begin
            $display("%m: mvau: INPUT_BITS and WEIGHT_BITS must be 1..16"); $finish;
        end
        if ((INPUT_BIPOLAR != 0 && (INPUT_BITS != 1 || INPUT_SIGNED != 0))
            || (WEIGHT_BIPOLAR != 0 && (WEIGHT_BITS != 1 || WEIGHT_SIGNED != 0))) begin
            $display("%m: mvau: a bipolar operand is 1 bit and not signed"); $finish;
        end
        if (BINARY != 0 && (INPUT_BIPOLAR == 0 || WEIGHT_BIPOLAR == 0)) begin
            $display("%m: mvau: BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1"); $finish;
        end
        if (ACC_BITS < 1 || ACC_BITS > 31) begin $display("%m: mvau: ACC_BITS=%0d must be 1..31", ACC_BITS); $finish; end
        if (BINARY != 0 && (1 << (ACC_BITS - 1)) <= MW) begin
            $display("%m: mvau: ACC_BITS=%0d cannot hold popcounts up to MW=%0d as signed", ACC_BITS, MW); $finish;
        end
        if (NT < 0) begin $display("%m: mvau: N_THRESHOLDS must be >= 0"); $finish; end
        if (NT == 0 && OUT_BITS != ACC_BITS) begin
            $display("%m: mvau: without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)", OUT_BITS, ACC_BITS); $finish;
        end
        if (NT > 0 && (OUT_BITS < 1 || OUT_BITS > 30)) begin
            $display("%m: mvau: OUT_BITS must be 1..30 with thresholds"); $finish;
        end
        if (N_CLASSES < 1 || N_VECTORS < 1) begin
            $display("%m: mvau: N_CLASSES=%0d and N_VECTORS=%0d must be >= 1", N_CLASSES, N_VECTORS); $finish;
        end
        if (N_CLASSES > 1 && NT == 0) begin
            $display("%m: mvau: N_CLASSES=%0d needs thresholds (N_THRESHOLDS > 0)", N_CLASSES); $finish;
        end
        if (CLASS_COLS < 0 || (CLASS_COLS > 0 && (N_CLASSES < 2 || N_VECTORS % CLASS_COLS != 0))) begin
            $display("%m: mvau: CLASS_COLS=%0d must be 0, or divide N_VECTORS=%0d with N_CLASSES > 1", CLASS_COLS, N_VECTORS);
            $finish;
        end
        if (THRESHOLD_BLOCK != 0 && NT == 0) begin
            $display("%m: mvau: THRESHOLD_BLOCK needs thresholds (N_THRESHOLDS > 0)"); $finish;
        end
        if (BORDER != 0 && (BORDER_KH < 1 || BORDER_KW < 1 || BORDER_OH < 1 || BORDER_OW < 1
                            || SF % BORDER_KP != 0)) begin
            $display("%m: mvau: BORDER needs BORDER_KH, BORDER_KW, BORDER_OH, BORDER_OW >= 1 and the kernel positions (%0d) dividing SF (%0d)",
                     BORDER_KP, SF); $finish;
        end
        if (BORDER != 0 && BINARY != 0 && SIMD % 2 != 0) begin
            $display("%m: mvau: BORDER with BINARY needs an even SIMD, got %0d", SIMD); $finish;
        end
        if (MAC_STYLE < 0 || MAC_STYLE > 2 || MEM_REG < 0 || MEM_REG > 4 || DOT_STAGES < 1 || DOT_STAGES > 8
            || REGISTER_COMPARES < 0 || REGISTER_COMPARES > 1) begin
            $display("%m: mvau: MAC_STYLE=%0d must be 0..2, MEM_REG=%0d 0..4, REGISTER_COMPARES=%0d 0 or 1, DOT_STAGES=%0d 1..8",
                     MAC_STYLE, MEM_REG, REGISTER_COMPARES, DOT_STAGES);
            $finish;
        end
        if (MAC_STYLE == 2 && (BINARY != 0 || INPUT_BIPOLAR != 0 || WEIGHT_BIPOLAR != 0)) begin
            $display("%m: mvau: MAC_STYLE=2 (DSP) needs multi-bit operands, neither bipolar"); $finish;
        end
        if (DOT_CHAIN < 0 || DOT_CHAIN > SIMD) begin
            $display("%m: mvau: DOT_CHAIN=%0d must be 0..SIMD=%0d", DOT_CHAIN, SIMD); $finish;
        end
        if (DOT_STAGES > 1 && MAC_STYLE == 0 && BINARY == 0) begin
            $display("%m: mvau: DOT_STAGES=%0d > 1 needs MAC_STYLE=1 or BINARY", DOT_STAGES); $finish;
        end
        if (DOT_PAIRS < 0 || DOT_PAIRS > 1 || (DOT_PAIRS == 1 && (MAC_STYLE != 1 || WEIGHT_BIPOLAR == 0 || INPUT_BIPOLAR != 0))) begin
            $display("%m: mvau: DOT_PAIRS=%0d must be 0, or 1 with MAC_STYLE=1, WEIGHT_BIPOLAR=1 and INPUT_BIPOLAR=0", DOT_PAIRS);
            $finish;
        end
        if (BORDER != 0 && N_CLASSES != 1) begin
            $display("%m: mvau: BORDER and N_CLASSES=%0d > 1 exclude each other", N_CLASSES); $finish;
        end
        if (THRESHOLD_SEARCH < 0 || THRESHOLD_SEARCH > 1 || SEARCH_BLOCK_DEPTH < 0
            || (THRESHOLD_SEARCH != 0 && (NT < 2 || OUT_BITS > 8 || NT > (1 << OUT_BITS) - 1 || REGISTER_COMPARES != 0))) begin
            $display("%m: mvau: THRESHOLD_SEARCH=%0d must be 0 or 1, SEARCH_BLOCK_DEPTH=%0d >= 0; 1 needs 2 <= N_THRESHOLDS (%0d) < 2**OUT_BITS, OUT_BITS (%0d) <= 8 and REGISTER_COMPARES=0",
                     THRESHOLD_SEARCH, SEARCH_BLOCK_DEPTH, NT, OUT_BITS);
            $finish;
        end
        if (SEARCH_SPLIT < 0 || SEARCH_SPLIT > 1) begin
            $display("%m: mvau: SEARCH_SPLIT=%0d must be 0 or 1", SEARCH_SPLIT); $finish;
        end
        if (ISSUE_FLAGS < 0 || ISSUE_FLAGS > 1) begin
            $display("%m: mvau: ISSUE_FLAGS=%0d must be 0 or 1", ISSUE_FLAGS); $finish;
        end
    end

    // ---- memories ------------------------------------------------------------------------
    // Weight memory: block RAM once it is WROM_BLOCK_DEPTH words deep or more (a deep ROM in
    // LUTs costs about one LUT per stored bit per 64 words); shallower ones stay in LUTs.
    // With MEM_REG a block RAM is read through rom_pipe with two registers (the second one
    // is MEM_REG's, the block's own output register, in banks of one block each so that no
    // bank multiplexer sits between a block and it; MEM_REG = 2 registers the bank
    // multiplexer's output as well, MEM_REG = 3 adds a register behind each bank (up to four
    // banks and for one bank) or splits that multiplexer by groups of four banks with a
    // register behind each part, MEM_REG = 4 does both: rom_pipe LATENCY 1 + MEM_REG); w_mem is the word MEM_REG cycles after
    // the read, the weight word the dot products use. The blocks read every cycle (their
    // enable tied high): nothing downstream of an issue stalls, so the issued word leaves
    // rom_pipe a fixed number of cycles later whatever the blocks read in between, and the
    // issue decision no longer fans out to the enable of every block (on ECP5 that route
    // limited CNV-w1a1 to 98.7 MHz).
    localparam integer WROM_BLOCK_DEPTH = 32;
    localparam integer WROM_PIPE = (WDEPTH >= WROM_BLOCK_DEPTH && MEM_REG != 0) ? 1 : 0;
    wire [WWORD-1:0] w_mem;
    wire w_read;
    wire [WA_W-1:0] w_addr;
    generate
        if (WROM_PIPE != 0) begin : g_wrom_pipe
            rom_pipe #(
                .WIDTH(WWORD), .DEPTH(WDEPTH), .LATENCY(1 + MEM_REG), .INIT_FILE(WEIGHT_FILE), .BLOCK(1), .BANK_DEPTH(0),
                .BANK_FILES(1)
            ) u_wrom (
                .ap_clk(ap_clk), .rd_en(1'b1), .out_en(1'b1), .addr(w_addr), .data(w_mem)
            );
            wire unused_w_read = &{1'b0, w_read};
        end else begin : g_wrom
            reg [WWORD-1:0] w_q;
            if (WDEPTH >= WROM_BLOCK_DEPTH) begin : g_wrom_block
                (* rom_style = "block", ram_style = "block" *) reg [WWORD-1:0] wmem [0:WDEPTH-1];
                if (WEIGHT_FILE != "") begin : g_wfile
                    initial $readmemh(WEIGHT_FILE, wmem);
                end else begin : g_wzero
                    integer i;
                    initial for (i = 0; i < WDEPTH; i = i + 1) wmem[i] = {WWORD{1'b0}};
                end
                always @(posedge ap_clk) if (w_read) w_q <= wmem[w_addr];
            end else begin : g_wrom_lut
                reg [WWORD-1:0] wmem [0:WDEPTH-1];
                if (WEIGHT_FILE != "") begin : g_wfile
                    initial $readmemh(WEIGHT_FILE, wmem);
                end else begin : g_wzero
                    // no file (lint, elaboration with default parameters): all-zero weights
                    integer i;
                    initial for (i = 0; i < WDEPTH; i = i + 1) wmem[i] = {WWORD{1'b0}};
                end
                always @(posedge ap_clk) if (w_read) w_q <= wmem[w_addr];
            end
            mvau_delay #(.W(WWORD), .N(MEM_REG)) u_w_reg (.ap_clk(ap_clk), .d(w_q), .q(w_mem));
        end
    endgenerate

    // ---- issue stage: counters, credits, input acceptance ---------------------------------
    reg [SF_W-1:0] sf;
    reg [NF_W-1:0] nf;
    reg [WA_W-1:0] waddr;
    reg [OC_W-1:0] credits;        // results issued and not yet taken from m_axis
    wire sf_last, nf_first, credits_full;
    wire nf_last = nf == NF_LAST[NF_W-1:0];
    wire can_issue = !sf_last || !credits_full;
    wire issue = can_issue && (!nf_first || s_axis_tvalid);
    wire pop = m_axis_tvalid && m_axis_tready;
    wire [OC_W-1:0] credits_next = credits + {{(OC_W-1){1'b0}}, issue && sf_last} - {{(OC_W-1){1'b0}}, pop};
    assign s_axis_tready = nf_first && can_issue;

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            sf <= {SF_W{1'b0}};
            nf <= {NF_W{1'b0}};
            waddr <= {WA_W{1'b0}};
            credits <= {OC_W{1'b0}};
        end else begin
            if (issue) begin
                sf <= sf_last ? {SF_W{1'b0}} : sf + 1'b1;
                if (sf_last) nf <= nf_last ? {NF_W{1'b0}} : nf + 1'b1;
                waddr <= (waddr == WA_LAST[WA_W-1:0]) ? {WA_W{1'b0}} : waddr + 1'b1;
            end
            credits <= credits_next;
        end
    end

    generate
        if (ISSUE_FLAGS != 0) begin : g_issue_flags
            // the three conditions registered from the counters' next values, equal to the
            // compares below in every cycle: `issue` is one LUT of them and the input's
            // valid, ahead of its fan-out (every input register's and buffer block's enable)
            localparam integer SF_PENULT = (SF_LAST > 0) ? SF_LAST - 1 : 0;
            reg sf_last_r, nf_first_r, full_r;
            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    sf_last_r <= SF_LAST == 0;
                    nf_first_r <= 1'b1;
                    full_r <= 1'b0;
                end else begin
                    if (issue) sf_last_r <= sf_last ? (SF_LAST == 0) : (sf == SF_PENULT[SF_W-1:0]);
                    if (issue && sf_last) nf_first_r <= nf_last;
                    full_r <= credits_next == OD[OC_W-1:0];
                end
            end
            assign sf_last = sf_last_r;
            assign nf_first = nf_first_r;
            assign credits_full = full_r;
        end else begin : g_issue_compares
            assign sf_last = sf == SF_LAST[SF_W-1:0];
            assign nf_first = nf == {NF_W{1'b0}};
            assign credits_full = credits == OD[OC_W-1:0];
        end
    endgenerate

    // ---- a table read by the row and column of the vector being issued -----------------
    // Classes by row and column (CROWS x CLASS_COLS vectors, CL_W-bit class parts) and border
    // masking (BORDER_OH x BORDER_OW vectors, the padded kernel rows / columns) exclude each
    // other; either reads CLASS_FILE's row words (0 ..) and column words (after the rows) at
    // a row and a column counter of the vectors of a frame.
    localparam integer RC = (BORDER != 0 || (NC > 1 && CLASS_COLS > 0)) ? 1 : 0;
    localparam integer RC_ROWS = (BORDER != 0) ? BORDER_OH : CROWS;
    localparam integer RC_COLS = (BORDER != 0) ? BORDER_OW : ((CLASS_COLS > 0) ? CLASS_COLS : 1);
    localparam integer RC_W = (BORDER != 0) ? ((BORDER_KH > BORDER_KW) ? BORDER_KH : BORDER_KW) : CL_W;
    wire [RC_W-1:0] row_word, col_word;
    generate
        if (RC != 0) begin : g_rc_table
            localparam integer ROW_W = (RC_ROWS > 1) ? $clog2(RC_ROWS) : 1;
            localparam integer COL_W = (RC_COLS > 1) ? $clog2(RC_COLS) : 1;
            localparam integer RA_W = $clog2(RC_ROWS + RC_COLS);
            localparam integer ROW_LAST = RC_ROWS - 1, COL_LAST = RC_COLS - 1;
            reg [RC_W-1:0] rcmem [0:RC_ROWS+RC_COLS-1];
            reg [ROW_W-1:0] row;
            reg [COL_W-1:0] col;
            if (CLASS_FILE != "") begin : g_file
                initial $readmemh(CLASS_FILE, rcmem);
            end else begin : g_zero
                integer i;
                initial for (i = 0; i < RC_ROWS + RC_COLS; i = i + 1) rcmem[i] = {RC_W{1'b0}};
            end
            always @(posedge ap_clk) begin
                if (!ap_rst_n) begin
                    row <= {ROW_W{1'b0}};
                    col <= {COL_W{1'b0}};
                end else if (issue && sf_last && nf_last) begin
                    if (col == COL_LAST[COL_W-1:0]) begin
                        col <= {COL_W{1'b0}};
                        row <= (row == ROW_LAST[ROW_W-1:0]) ? {ROW_W{1'b0}} : row + 1'b1;
                    end else begin
                        col <= col + 1'b1;
                    end
                end
            end
            wire [RA_W-1:0] row_addr = {{(RA_W-ROW_W){1'b0}}, row};
            wire [RA_W-1:0] col_addr = RC_ROWS[RA_W-1:0] + {{(RA_W-COL_W){1'b0}}, col};
            assign row_word = rcmem[row_addr];
            assign col_word = rcmem[col_addr];
        end else begin : g_no_rc_table
            assign row_word = {RC_W{1'b0}};
            assign col_word = {RC_W{1'b0}};
            wire unused_rc = &{1'b0, row_word, col_word};
        end
    endgenerate

    // ---- threshold address of the issued beat: class * NF + row group --------------------
    wire [TA_W-1:0] t_issue;
    generate
        if (NC > 1 && CLASS_COLS > 0) begin : g_class_rc
            // class = row part + column part (the row and column table below)
            wire [CL_W-1:0] cls = row_word + col_word;
            wire [31:0] addr = {{(32-CL_W){1'b0}}, cls} * NF + {{(32-NF_W){1'b0}}, nf};
            assign t_issue = addr[TA_W-1:0];
            wire unused_addr = &{1'b0, addr[31:TA_W]};
        end else if (NC > 1) begin : g_class
            reg [CL_W-1:0] cmem [0:N_VECTORS-1];
            reg [VC_W-1:0] vec;            // vector index within the frame
            if (CLASS_FILE != "") begin : g_cfile
                initial $readmemh(CLASS_FILE, cmem);
            end else begin : g_czero
                integer i;
                initial for (i = 0; i < N_VECTORS; i = i + 1) cmem[i] = {CL_W{1'b0}};
            end
            always @(posedge ap_clk) begin
                if (!ap_rst_n) vec <= {VC_W{1'b0}};
                else if (issue && sf_last && nf_last)
                    vec <= (vec == VC_LAST[VC_W-1:0]) ? {VC_W{1'b0}} : vec + 1'b1;
            end
            wire [31:0] addr = {{(32-CL_W){1'b0}}, cmem[vec]} * NF + {{(32-NF_W){1'b0}}, nf};
            assign t_issue = addr[TA_W-1:0];
            wire unused_addr = &{1'b0, addr[31:TA_W]};
        end else begin : g_noclass
            assign t_issue = nf;
            if (NT == 0) begin : g_unused
                wire unused_t_issue = &{1'b0, t_issue};   // read by the threshold memory only
            end
        end
    endgenerate

    // ---- border masking: whether the beat being issued falls on padding -----------------
    localparam integer KS_W = (BORDER != 0) ? SF * (BORDER_KH + BORDER_KW) : 1;
    // per beat sf (BORDER only): the one-hot kernel row (bits 0..KH-1) and column (KH..)
    function [KS_W-1:0] kernel_select(input integer unused);
        integer f, kp, cf;
        begin
            kernel_select = {KS_W{1'b0}};
            cf = (BORDER != 0) ? SF / (BORDER_KH * BORDER_KW) : 1;
            if (BORDER != 0 && cf > 0)
                for (f = 0; f < SF; f = f + 1) begin
                    kp = f / cf + unused;
                    kernel_select[f*(BORDER_KH + BORDER_KW) + kp / BORDER_KW] = 1'b1;
                    kernel_select[f*(BORDER_KH + BORDER_KW) + BORDER_KH + kp % BORDER_KW] = 1'b1;
                end
        end
    endfunction
    wire pad_issue;
    generate
        if (BORDER != 0) begin : g_border
            localparam integer BKH = BORDER_KH, BKW = BORDER_KW;
            localparam integer BSEL = BKH + BKW;
            // per beat sf: one-hot kernel row (bits 0..KH-1) and column (KH..KH+KW-1)
            localparam [SF*BSEL-1:0] KSEL = kernel_select(0);
            wire [BSEL-1:0] ksel = KSEL[sf*BSEL +: BSEL];
            assign pad_issue = |(row_word[BKH-1:0] & ksel[BKH-1:0]) | |(col_word[BKW-1:0] & ksel[BSEL-1:BKH]);
            if (RC_W > BKH || RC_W > BKW) begin : g_unused
                wire unused_bits = &{1'b0, row_word, col_word};
            end
        end else begin : g_noborder
            assign pad_issue = 1'b0;
        end
    endgenerate

    // ---- stage 1: weight word, input word ------------------------------------------------
    assign w_read = issue;
    assign w_addr = waddr;
    reg v1i;
    reg first1i, last1i;
    reg [IN_W-1:0] xin_q;
    wire [IN_W-1:0] x1;
    // MEM_REG 2 with a vector buffer (no pairs): the input select moves behind MEM_REG's first
    // register, so that a block RAM buffer's read runs into its output register, not the select
    localparam integer XSPLIT = (NF > 1 && MEM_REG >= 2 && DOT_PAIRS == 0) ? 1 : 0;

    reg pad1i;                     // the beat falls on padding (BORDER only)
    always @(posedge ap_clk) begin
        if (issue) begin
            first1i <= sf == {SF_W{1'b0}};
            last1i <= sf_last;
            pad1i <= pad_issue;
        end
        if (issue && nf_first) xin_q <= s_axis_tdata;
    end

    generate
        if (NF > 1) begin : g_buffer
            // the vector is written while row group 0 streams in and read for the others
            reg [IN_W-1:0] xbuf [0:SF-1];
            reg [IN_W-1:0] xbuf_q;
            reg sel1;
            always @(posedge ap_clk) begin
                if (issue && nf_first) xbuf[sf] <= s_axis_tdata;
                if (issue && !nf_first) xbuf_q <= xbuf[sf];
                if (issue) sel1 <= nf_first;
            end
            if (XSPLIT != 0) begin : g_select_registered
                // the first of MEM_REG's registers moved ahead of the select: xbuf_q2 right
                // behind the buffer's read register (a block RAM's output register), the
                // select between two registers
                reg [IN_W-1:0] xbuf_q2, xin_q2;
                reg sel2;
                always @(posedge ap_clk) begin
                    xbuf_q2 <= xbuf_q;
                    xin_q2 <= xin_q;
                    sel2 <= sel1;
                end
                assign x1 = sel2 ? xin_q2 : xbuf_q2;
            end else begin : g_select
                assign x1 = sel1 ? xin_q : xbuf_q;
            end
        end else begin : g_nobuffer
            assign x1 = xin_q;
        end
    endgenerate

    always @(posedge ap_clk) begin
        if (!ap_rst_n) v1i <= 1'b0;
        else v1i <= issue;
    end

    // ---- the beat's control delayed by the EXTRA pipeline registers of the dot products ---
    // (v1, first1, last1, pad1: the beat whose dot products enter dot_q at the next edge)
    wire v1, first1, last1, pad1;
    mvau_delay #(.W(3), .N(DOT_EXTRA)) u_ctl_delay (
        .ap_clk(ap_clk), .d({first1i, last1i, pad1i}), .q({first1, last1, pad1})
    );
    mvau_valid_delay #(.N(DOT_EXTRA)) u_valid_delay (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .d(v1i), .q(v1));

    // ---- DOT_PAIRS: pair sums of the input word; MEM_REG: registered once more ----------
    // (pair sums: INPUT_BITS + 1 bits each, + 2 if unsigned; SIMD/2 sums and SIMD/2
    // differences, the odd element)
    localparam integer XM_W = (DOT_PAIRS != 0) ? (SIMD / 2) * 2 * (XB + ((INPUT_SIGNED != 0) ? 1 : 2)) + (SIMD % 2) * XB
                                               : IN_W;
    wire [WWORD-1:0] wm;
    wire [XM_W-1:0] xm;
    wire [XM_W-1:0] x1p;
    wire firstm;                   // the first beat of a row group, with wm / xm
    assign wm = w_mem;
    generate
        if (DOT_PAIRS != 0) begin : g_pairs
            mac_dot_pairs #(.N(SIMD), .INPUT_BITS(XB), .INPUT_SIGNED(INPUT_SIGNED)) u_pairs (.x(x1), .xp(x1p));
        end else begin : g_no_pairs
            assign x1p = x1;
        end
    endgenerate
    generate
        if (XSPLIT != 0) begin : g_mem_reg_split
            // x1 is already one register behind (g_select_registered)
            mvau_delay #(.W(XM_W), .N(MEM_REG - 1)) u_mem_reg (.ap_clk(ap_clk), .d(x1p), .q(xm));
            mvau_delay #(.W(1), .N(MEM_REG)) u_first_reg (.ap_clk(ap_clk), .d(first1i), .q(firstm));
        end else begin : g_mem_reg
            mvau_delay #(.W(XM_W + 1), .N(MEM_REG)) u_mem_reg (
                .ap_clk(ap_clk), .d({x1p, first1i}), .q({xm, firstm})
            );
        end
    endgenerate

    // ---- dot products of the SIMD elements, one per PE -----------------------------------
    function [DW-1:0] dw_bit(input b);
        begin
            dw_bit = {DW{1'b0}};
            dw_bit[0] = b;
        end
    endfunction
    // a KW-bit signed product p in offset binary (p + 2**(KW-1), its sign bit inverted) as a
    // DW-bit addend: zero-extended, or its low DW bits when the dot product is narrower
    // (dot products are sums modulo 2**DW)
    function [DW-1:0] offset_term(input [KW-1:0] v);
        integer i;
        begin
            offset_term = {DW{1'b0}};
            for (i = 0; i < KW && i < DW; i = i + 1) offset_term[i] = (i == KW - 1) ? ~v[i] : v[i];
        end
    endfunction
    // mac_dot computes the dot products when they are pipelined or for MAC_STYLE = 1; its
    // output register is dot_q itself unless a padded beat's constant is muxed in ahead of it
    wire [PE*DW-1:0] dot;
    localparam integer MAC_DSP = (MAC_STYLE == 2) ? 1 : 0;
    localparam integer MAC_DOT = (MAC_DSP == 0 && (DOT_STAGES > 1 || (MAC_STYLE != 0 && BINARY == 0))) ? 1 : 0;
    localparam integer DOT_IN_MAC = ((MAC_DOT != 0 || MAC_DSP != 0) && BORDER == 0) ? 1 : 0;
    generate
        if (MAC_DSP != 0) begin : g_dsp
            // the PE lanes share the input word: several narrow products per DSP multiplier
            mac_dsp #(
                .N(SIMD), .L(PE), .INPUT_BITS(XB), .INPUT_SIGNED(INPUT_SIGNED),
                .WEIGHT_BITS(WB), .WEIGHT_SIGNED(WEIGHT_SIGNED), .DW(DW),
                .STAGES(DOT_STAGES - 1 + DOT_IN_MAC), .FAMILY(DSP_FAMILY), .PACK(0), .GROUP(0)
            ) u_dsp (
                .ap_clk(ap_clk), .ce(1'b1), .x(xm), .w(wm), .extra(FOLD != 0 && firstm), .dot(dot)
            );
        end
    endgenerate
    genvar p;
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_pe
            wire [SIMD*WB-1:0] wp = wm[p*SIMD*WB +: SIMD*WB];
            if (MAC_DSP != 0) begin : g_in_dsp
                wire unused_wp = &{1'b0, wp};      // mac_dsp reads the whole word
            end else if (MAC_DOT != 0) begin : g_dot
                // LUTs and carry chains; its last register is dot_q unless BORDER muxes ahead of it
                mac_dot #(
                    .N(SIMD), .INPUT_BITS(XB), .INPUT_SIGNED(INPUT_SIGNED), .INPUT_BIPOLAR(INPUT_BIPOLAR),
                    .WEIGHT_BITS(WB), .WEIGHT_SIGNED(WEIGHT_SIGNED), .WEIGHT_BIPOLAR(WEIGHT_BIPOLAR),
                    .BINARY(BINARY), .DW(DW), .STAGES(DOT_STAGES - 1 + DOT_IN_MAC), .CHAIN(DOT_CHAIN), .FORM(0),
                    .PAIRED(DOT_PAIRS)
                ) u_dot (
                    .ap_clk(ap_clk), .ce(1'b1), .x(xm), .w(wp), .extra(FOLD != 0 && firstm),
                    .dot(dot[p*DW +: DW])
                );
            end else if (BINARY != 0) begin : g_bin
                mvau_popcount #(.N(SIMD), .EXTRA(FOLD)) u_popcount (
                    .x(xm), .w(wp), .extra(firstm), .count(dot[p*DW +: DW])
                );
            end else begin : g_mac
                // sum of SIMD products, each as a KW-bit signed number p in offset binary
                // (p + 2**(KW-1): the sign bit inverted, no sign extension); MAC_INIT
                // removes the offsets again
                reg [XS-1:0] xv;
                reg [WS-1:0] wv;
                /* verilator lint_off UNUSEDSIGNAL */
                reg [PW-1:0] pf;           // the product; its low KW bits hold it exactly
                /* verilator lint_on UNUSEDSIGNAL */
                reg [KW-1:0] pv;
                reg [DW-1:0] sum;
                integer s;
                always @* begin
                    sum = MAC_INIT[DW-1:0];
                    if (FOLD != 0) sum = sum + dw_bit(firstm);  // -T = ~T + 1: the + 1
                    for (s = 0; s < SIMD; s = s + 1) begin
                        // operands as XS / WS-bit signed numbers (unsigned: a zero sign bit)
                        xv = {XS{INPUT_SIGNED != 0 && xm[s*XB+XB-1]}};
                        xv[XB-1:0] = xm[s*XB +: XB];
                        wv = {WS{WEIGHT_SIGNED != 0 && wp[s*WB+WB-1]}};
                        wv[WB-1:0] = wp[s*WB +: WB];
                        if (INPUT_BIPOLAR != 0 && WEIGHT_BIPOLAR != 0) begin
                            pf = {{(PW-1){xm[s*XB] ^ wp[s*WB]}}, 1'b1};   // +1 if equal, else -1
                        end else if (WEIGHT_BIPOLAR != 0) begin
                            pf = {{WS{xv[XS-1]}}, xv} ^ {PW{~wp[s*WB]}};  // x, or ~x = -x - 1
                            sum = sum + dw_bit(~wp[s*WB]);                // ... + 1
                        end else if (INPUT_BIPOLAR != 0) begin
                            pf = {{XS{wv[WS-1]}}, wv} ^ {PW{~xm[s*XB]}};
                            sum = sum + dw_bit(~xm[s*XB]);
                        end else begin
                            pf = $signed(xv) * $signed(wv);
                        end
                        pv = pf[KW-1:0];
                        sum = sum + offset_term(pv);
                    end
                end
                assign dot[p*DW +: DW] = sum;
            end
        end
    endgenerate

    // ---- stage 2: dot products registered ------------------------------------------------
    reg v2;
    reg first2, last2;
    wire [PE*DW-1:0] dot_q;
    // BORDER: a beat on padding contributes a constant instead (SIMD/2 agreements in BINARY
    // mode, 0 otherwise; the folded threshold's + 1 on a row group's first beat)
    localparam integer PAD_DOT = (BINARY != 0) ? SIMD / 2 : 0;
    generate
        if (DOT_IN_MAC != 0) begin : g_dot_in_mac
            wire unused_pad = &{1'b0, pad1};   // no border masking
            assign dot_q = dot;
        end else begin : g_dot_q
            wire [PE*DW-1:0] pad_dot;
            for (p = 0; p < PE; p = p + 1) begin : g_pad_dot
                assign pad_dot[p*DW +: DW] = PAD_DOT[DW-1:0] + ((FOLD != 0) ? dw_bit(first1) : {DW{1'b0}});
            end
            reg [PE*DW-1:0] dot_r;
            always @(posedge ap_clk) if (v1) dot_r <= (BORDER != 0 && pad1) ? pad_dot : dot;
            assign dot_q = dot_r;
        end
    endgenerate
    always @(posedge ap_clk) begin
        if (v1) begin
            first2 <= first1;
            last2 <= last1;
        end
    end
    always @(posedge ap_clk) begin
        if (!ap_rst_n) v2 <= 1'b0;
        else v2 <= v1;
    end

    // ---- thresholds ----------------------------------------------------------------------
    // one threshold: needed by the accumulator with the first beat of a row group; several:
    // needed after the accumulator with the last beat. A folded threshold of up to 64 words is
    // read combinationally where needed, anything else into a register a stage ahead.
    generate
        if (NT > 0) begin : g_tmem
            wire [TWORD-1:0] thr;      // thresholds of the row group where they are needed
            reg [TA_W-1:0] nf1i;       // threshold address (class * NF + row group) in stage 1
            wire [TA_W-1:0] nf1;       // ... with the beat's dot products (EXTRA cycles later)
            always @(posedge ap_clk) if (issue) nf1i <= t_issue;
            mvau_delay #(.W(TA_W), .N(DOT_EXTRA)) u_nf_delay (.ap_clk(ap_clk), .d(nf1i), .q(nf1));
            // MEM_REG (a short clock period): the registered reads start a cycle earlier from
            // nf0 (nf1 one cycle ahead; DOT_EXTRA >= 1) into t_q1, so that the register where
            // the thresholds wait follows the memory directly (a block RAM's output register)
            wire [TA_W-1:0] nf0;
            mvau_delay #(.W(TA_W), .N(DOT_EXTRA > 0 ? DOT_EXTRA - 1 : 0)) u_nf_early (
                .ap_clk(ap_clk), .d(nf1i), .q(nf0)
            );
            if (T_EARLY == 0 || FOLD == 0) begin : g_no_early
                wire unused_nf0 = &{1'b0, nf0};
            end else begin : g_early_fold
                wire unused_nf1 = &{1'b0, nf1};    // the folded threshold is read from nf0
            end
            if (SEARCH != 0) begin : g_search
                // the binary search (below) reads its own stage memories at the row of the
                // finished accumulators
                reg [TA_W-1:0] nf2;
                reg [TA_W-1:0] row_q;  // threshold row of acc while rv
                always @(posedge ap_clk) if (v1) nf2 <= nf1;
                always @(posedge ap_clk) if (v2 && last2) row_q <= nf2;
                assign thr = {TWORD{1'b0}};
            end else if (THRESHOLD_BLOCK != 0) begin : g_block
                // block RAM: registered read one stage ahead, as the large memories below
                (* rom_style = "block", ram_style = "block" *) reg [TWORD-1:0] tmem [0:TDEPTH-1];
                reg [TWORD-1:0] t_q;
                if (THRESHOLD_FILE != "") begin : g_tfile
                    initial $readmemh(THRESHOLD_FILE, tmem);
                end else begin : g_tzero
                    integer i;
                    initial for (i = 0; i < TDEPTH; i = i + 1) tmem[i] = {TWORD{1'b0}};
                end
                if (FOLD != 0 && T_EARLY != 0) begin : g_fold_early
                    reg [TWORD-1:0] t_q1;
                    always @(posedge ap_clk) t_q1 <= tmem[nf0];
                    always @(posedge ap_clk) if (v1 && first1) t_q <= t_q1;
                end else if (FOLD != 0) begin : g_fold
                    always @(posedge ap_clk) if (v1 && first1) t_q <= tmem[nf1];
                end else if (T_EARLY != 0) begin : g_cmp_early
                    reg [TA_W-1:0] nf2;
                    reg [TWORD-1:0] t_q1;
                    always @(posedge ap_clk) if (v1) nf2 <= nf1;
                    always @(posedge ap_clk) t_q1 <= tmem[v1 ? nf1 : nf2];
                    always @(posedge ap_clk) if (v2 && last2) t_q <= t_q1;
                end else begin : g_cmp
                    reg [TA_W-1:0] nf2;
                    always @(posedge ap_clk) if (v1) nf2 <= nf1;
                    always @(posedge ap_clk) if (v2 && last2) t_q <= tmem[nf2];
                end
                assign thr = t_q;
            end else begin : g_logic
                // the memory read as t_rd = tmem[t_addr] by one of the three schemes below;
                // with MEM_REG (a short clock period) a memory of up to 64 words is kept in
                // LUTs: as block RAM (which synthesis picks for a read behind a registered
                // address) its clock-to-out would start the accumulator's path
                wire [TA_W-1:0] t_addr;
                wire [TWORD-1:0] t_rd;
                if (MEM_REG != 0 && TDEPTH <= 64) begin : g_lut
                    (* rom_style = "logic", ram_style = "logic" *) reg [TWORD-1:0] tmem [0:TDEPTH-1];
                    if (THRESHOLD_FILE != "") begin : g_tfile
                        initial $readmemh(THRESHOLD_FILE, tmem);
                    end else begin : g_tzero
                        integer i;
                        initial for (i = 0; i < TDEPTH; i = i + 1) tmem[i] = {TWORD{1'b0}};
                    end
                    assign t_rd = tmem[t_addr];
                end else begin : g_any
                    reg [TWORD-1:0] tmem [0:TDEPTH-1];
                    if (THRESHOLD_FILE != "") begin : g_tfile
                        initial $readmemh(THRESHOLD_FILE, tmem);
                    end else begin : g_tzero
                        integer i;
                        initial for (i = 0; i < TDEPTH; i = i + 1) tmem[i] = {TWORD{1'b0}};
                    end
                    assign t_rd = tmem[t_addr];
                end
                if (T_ASYNC != 0 && FOLD != 0) begin : g_async_fold
                    // small memory (logic): read where used so that it merges into the adders
                    reg [TA_W-1:0] nf2;
                    always @(posedge ap_clk) if (v1) nf2 <= nf1;
                    assign t_addr = nf2;
                    assign thr = t_rd;
                end else if (FOLD != 0 && T_EARLY != 0) begin : g_sync_fold_early
                    reg [TWORD-1:0] t_q1, t_q;
                    assign t_addr = nf0;
                    always @(posedge ap_clk) t_q1 <= t_rd;
                    always @(posedge ap_clk) if (v1 && first1) t_q <= t_q1;
                    assign thr = t_q;
                end else if (FOLD != 0) begin : g_sync_fold
                    // large memory (block RAM): registered read one stage ahead
                    reg [TWORD-1:0] t_q;
                    assign t_addr = nf1;
                    always @(posedge ap_clk) if (v1 && first1) t_q <= t_rd;
                    assign thr = t_q;
                end else if (T_EARLY != 0) begin : g_sync_cmp_early
                    reg [TA_W-1:0] nf2;
                    reg [TWORD-1:0] t_q1, t_q;
                    always @(posedge ap_clk) if (v1) nf2 <= nf1;
                    assign t_addr = v1 ? nf1 : nf2;
                    always @(posedge ap_clk) t_q1 <= t_rd;
                    always @(posedge ap_clk) if (v2 && last2) t_q <= t_q1;
                    assign thr = t_q;
                end else begin : g_sync_cmp
                    reg [TA_W-1:0] nf2;
                    reg [TWORD-1:0] t_q;
                    always @(posedge ap_clk) if (v1) nf2 <= nf1;
                    assign t_addr = nf2;
                    always @(posedge ap_clk) if (v2 && last2) t_q <= t_rd;
                    assign thr = t_q;
                end
            end
        end
    endgenerate

    // ---- stage 3: accumulators -----------------------------------------------------------
    reg [PE*AW-1:0] acc;
    reg rv;                        // acc holds a finished row group
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_acc
            wire [AW-1:0] dot_ext;
            wire [AW-1:0] base;
            if (BINARY != 0) begin : g_zext
                assign dot_ext = {{(AW-DW){1'b0}}, dot_q[p*DW +: DW]};
            end else if (DW < AW) begin : g_sext
                assign dot_ext = {{(AW-DW){dot_q[p*DW+DW-1]}}, dot_q[p*DW +: DW]};
            end else begin : g_same
                assign dot_ext = dot_q[p*DW +: DW];
            end
            if (FOLD != 0) begin : g_fold
                // -T = ~T + 1; the +1 entered the dot product of the first beat
                wire [ACC_BITS-1:0] t = g_tmem.thr[p*ACC_BITS +: ACC_BITS];
                assign base = ~{t[ACC_BITS-1], t};
            end else begin : g_zero
                assign base = {AW{1'b0}};
            end
            always @(posedge ap_clk) begin
                if (v2) acc[p*AW +: AW] <= dot_ext + (first2 ? base : acc[p*AW +: AW]);
            end
        end
    endgenerate
    always @(posedge ap_clk) begin
        if (!ap_rst_n) rv <= 1'b0;
        else rv <= v2 && last2;
    end

    // ---- activation ----------------------------------------------------------------------
    // (count + OUT_BIAS) mod 2**OUT_BITS, counting in OUT_BITS-bit arithmetic
    function [OUT_BITS-1:0] out_bit(input b);
        begin
            out_bit = {OUT_BITS{1'b0}};
            out_bit[0] = b;
        end
    endfunction
    wire [OUT_W-1:0] result;
    wire [OUT_W-1:0] search_count;     // the binary search's counts (THRESHOLD_SEARCH, below)
    generate
        for (p = 0; p < PE; p = p + 1) begin : g_act
            wire [AW-1:0] a = acc[p*AW +: AW];
            if (NT == 0) begin : g_raw
                assign result[p*OUT_BITS +: OUT_BITS] = a;
            end else if (FOLD != 0) begin : g_one
                // acc = sum - T: the threshold is reached when it is not negative
                assign result[p*OUT_BITS +: OUT_BITS] = BIAS_MOD[OUT_BITS-1:0] + out_bit(~a[AW-1]);
            end else if (SEARCH != 0) begin : g_search
                // the count from the binary search (one instance for all lanes, below)
                wire unused_thr = &{1'b0, g_tmem.thr[p*NT*ACC_BITS +: NT*ACC_BITS], a};
                assign result[p*OUT_BITS +: OUT_BITS] = search_count[p*OUT_BITS +: OUT_BITS] + BIAS_MOD[OUT_BITS-1:0];
            end else begin : g_multi
                // compare bits c[t] = (acc >= T[t]), a thermometer code (sorted thresholds), then
                // (REGISTER_COMPARES) a register; bit j of the count is the XOR of c[m*2**j - 1]
                reg [NT-1:0] compares;
                wire [NT-1:0] thermometer;
                integer t;
                always @* begin
                    for (t = 0; t < NT; t = t + 1)
                        compares[t] = $signed(a) >= $signed(g_tmem.thr[(p*NT + t)*ACC_BITS +: ACC_BITS]);
                end
                if (REGISTER_COMPARES != 0) begin : g_reg
                    reg [NT-1:0] compares_q;
                    always @(posedge ap_clk) if (rv) compares_q <= compares;
                    assign thermometer = compares_q;
                end else begin : g_direct
                    assign thermometer = compares;
                end
                reg [OUT_BITS-1:0] count;
                reg [NT-1:0] selected;
                integer j, m;
                always @* begin
                    for (j = 0; j < OUT_BITS; j = j + 1) begin
                        selected = {NT{1'b0}};
                        if (j < 31)
                            for (m = (1 << j) - 1; m < NT; m = m + (1 << j)) selected[m] = thermometer[m];
                        count[j] = ^selected;
                    end
                end
                assign result[p*OUT_BITS +: OUT_BITS] = count + BIAS_MOD[OUT_BITS-1:0];
            end
        end
    endgenerate
    // the binary search over each row's thresholds (THRESHOLD_SEARCH), OUT_BITS stages
    // behind the accumulators
    wire search_valid;
    generate
        if (SEARCH != 0) begin : g_search_lanes
            threshold_search #(
                .PE(PE), .STAGES(OUT_BITS), .TW(ACC_BITS), .ROWS(TDEPTH), .BLOCK(THRESHOLD_BLOCK),
                .BLOCK_DEPTH(SEARCH_BLOCK_DEPTH), .SPLIT(SEARCH_SPLIT),
                .FILE_0(THRESHOLD_FILE), .FILE_1(SEARCH1_FILE), .FILE_2(SEARCH2_FILE), .FILE_3(SEARCH3_FILE),
                .FILE_4(SEARCH4_FILE), .FILE_5(SEARCH5_FILE), .FILE_6(SEARCH6_FILE), .FILE_7(SEARCH7_FILE)
            ) u_search (
                .ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .in_valid(rv), .in_row(g_tmem.g_search.row_q), .in_acc(acc),
                .out_valid(search_valid), .out_count(search_count)
            );
        end else begin : g_no_search
            assign search_valid = 1'b0;
            assign search_count = {OUT_W{1'b0}};
            wire unused_search = &{1'b0, search_valid, search_count};
        end
    endgenerate
    // the output FIFO's write: the finished row group, its registered compares, or its search
    wire result_valid;
    generate
        if (SEARCH != 0) begin : g_rv_search
            assign result_valid = search_valid;
        end else if (REGISTER_COMPARES != 0 && NT > 1) begin : g_rv_delay
            reg rv_c;
            always @(posedge ap_clk) begin
                if (!ap_rst_n) rv_c <= 1'b0;
                else rv_c <= rv;
            end
            assign result_valid = rv_c;
        end else begin : g_rv_direct
            assign result_valid = rv;
        end
    endgenerate

    // ---- output FIFO ---------------------------------------------------------------------
    reg [OUT_W-1:0] ofifo [0:OD-1];
    reg [OA_W-1:0] wr_ptr, rd_ptr;
    reg [OC_W-1:0] count;
    assign m_axis_tvalid = count != {OC_W{1'b0}};
    assign m_axis_tdata = ofifo[rd_ptr];
    always @(posedge ap_clk) begin
        if (result_valid) ofifo[wr_ptr] <= result;
    end
    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            wr_ptr <= {OA_W{1'b0}};
            rd_ptr <= {OA_W{1'b0}};
            count <= {OC_W{1'b0}};
        end else begin
            if (result_valid) wr_ptr <= (wr_ptr == OD_LAST[OA_W-1:0]) ? {OA_W{1'b0}} : wr_ptr + 1'b1;
            if (pop) rd_ptr <= (rd_ptr == OD_LAST[OA_W-1:0]) ? {OA_W{1'b0}} : rd_ptr + 1'b1;
            count <= count + {{(OC_W-1){1'b0}}, result_valid} - {{(OC_W-1){1'b0}}, pop};
        end
    end
endmodule

// mvau_popcount: number of positions where x and w agree (XNOR-popcount of N bit pairs),
// plus the bit `extra` if EXTRA = 1. Compressor tree: groups of 3 pairs give a 2-bit count
// (one LUT per bit), then stages of 6:3, 5:3, 4:3 and 3:2 counters over the columns of the
// bit heap until every column has at most 2 bits, then one carry-propagate adder.
// The heap of stage s is the vector g_st[s].h with column c's bits at offset(c).
/* verilator lint_off DECLFILENAME */
module mvau_popcount #(
    parameter integer N = 16,       // bit pairs
    parameter integer EXTRA = 0     // 1: add the bit `extra`
) (
    input  wire [N-1:0]           x,
    input  wire [N-1:0]           w,
    input  wire                   extra,
    output wire [$clog2(N+EXTRA+1)-1:0] count
);
    localparam integer COLS = $clog2(N + EXTRA + 1);   // result width
    localparam integer G = N / 3;                      // full groups of 3 pairs
    localparam integer R = N % 3;                      // pairs left over
    localparam integer HB = 32;                        // bits per column height in a vector

    // heights of the columns of the first heap
    function [COLS*HB-1:0] first_heights(input integer unused);
        integer h0, h1;
        begin
            h0 = G + ((R > 0) ? 1 : 0) + ((EXTRA != 0) ? 1 : 0) + unused;
            h1 = G + ((R == 2) ? 1 : 0);
            first_heights = {COLS*HB{1'b0}};
            first_heights[HB-1:0] = h0;
            // one column only (N + EXTRA = 1): rewrite column 0, keeping the slice in range
            first_heights[((COLS > 1) ? HB : 0) +: HB] = (COLS > 1) ? h1 : h0;
        end
    endfunction
    function integer hgt(input [COLS*HB-1:0] hv, input integer c);
        begin
            hgt = 0;
            if (c >= 0 && c < COLS) hgt = hv[c*HB +: HB];
        end
    endfunction
    // counters in a column of height h: h/6 of 6 inputs, then one of h%6 inputs if >= 3
    function integer ncnt(input integer h);
        ncnt = h / 6 + (((h % 6) >= 3) ? 1 : 0);
    endfunction
    // counters with 3 output bits (4 inputs or more)
    function integer ncnt3(input integer h);
        ncnt3 = h / 6 + (((h % 6) >= 4) ? 1 : 0);
    endfunction
    // bits passed through unchanged
    function integer npass(input integer h);
        npass = ((h % 6) >= 3) ? 0 : h % 6;
    endfunction
    // column c of the next heap: the counters' bit 0 of column c, bit 1 of column c-1,
    // bit 2 of column c-2, then the bits passed through
    function [COLS*HB-1:0] next_heights(input [COLS*HB-1:0] hv);
        integer c, h;
        begin
            next_heights = {COLS*HB{1'b0}};
            for (c = 0; c < COLS; c = c + 1) begin
                h = ncnt(hgt(hv, c)) + ncnt(hgt(hv, c - 1)) + ncnt3(hgt(hv, c - 2)) + npass(hgt(hv, c));
                next_heights[c*HB +: HB] = h;
            end
        end
    endfunction
    function integer max_height(input [COLS*HB-1:0] hv);
        integer c;
        begin
            max_height = 0;
            for (c = 0; c < COLS; c = c + 1) if (hgt(hv, c) > max_height) max_height = hgt(hv, c);
        end
    endfunction
    function [COLS*HB-1:0] heights(input integer stage);
        integer i;
        begin
            heights = first_heights(0);
            for (i = 0; i < stage; i = i + 1) heights = next_heights(heights);
        end
    endfunction
    // reduction stages until every column has at most 2 bits
    function integer n_stages(input integer unused);
        reg [COLS*HB-1:0] hv;
        begin
            hv = first_heights(0);
            n_stages = unused;
            while (max_height(hv) > 2) begin
                hv = next_heights(hv);
                n_stages = n_stages + 1;
            end
        end
    endfunction
    function integer offset(input [COLS*HB-1:0] hv, input integer c);
        integer i;
        begin
            offset = 0;
            for (i = 0; i < c; i = i + 1) offset = offset + hgt(hv, i);
        end
    endfunction

    localparam integer NST = n_stages(0);
    localparam [COLS*HB-1:0] HF = heights(NST);

    genvar s, c, j;
    generate
        for (s = 0; s <= NST; s = s + 1) begin : g_st
            localparam [COLS*HB-1:0] HV = heights(s);
            wire [offset(HV, COLS)-1:0] h;
            if (s == 0) begin : g_first
                for (j = 0; j < G; j = j + 1) begin : g_grp
                    wire [1:0] r;
                    mvau_xnor_count3 u_cnt (.x(x[3*j +: 3]), .w(w[3*j +: 3]), .count(r));
                    assign h[j] = r[0];
                    if (COLS > 1) begin : g_carry
                        assign h[hgt(HV, 0) + j] = r[1];
                    end
                end
                if (R == 1) begin : g_rest1
                    assign h[G] = x[3*G] ~^ w[3*G];
                end
                if (R == 2) begin : g_rest2
                    wire a0 = x[3*G] ~^ w[3*G];
                    wire a1 = x[3*G+1] ~^ w[3*G+1];
                    assign h[G] = a0 ^ a1;
                    assign h[hgt(HV, 0) + G] = a0 & a1;
                end
                if (EXTRA != 0) begin : g_extra
                    assign h[hgt(HV, 0) - 1] = extra;
                end else begin : g_noextra
                    wire unused_extra = extra;
                end
            end else begin : g_reduce
                localparam [COLS*HB-1:0] HP = heights(s - 1);
                for (c = 0; c < COLS; c = c + 1) begin : g_col
                    localparam integer HC = hgt(HP, c);
                    localparam integer NC = ncnt(HC);
                    localparam integer IN_OFF = offset(HP, c);
                    for (j = 0; j < NC; j = j + 1) begin : g_cnt
                        localparam integer K = (j < HC / 6) ? 6 : HC % 6;
                        localparam integer KW = (K >= 4) ? 3 : 2;
                        wire [KW-1:0] r;
                        mvau_bit_counter #(.K(K)) u_cnt (.v(g_st[s-1].h[IN_OFF + 6*j +: K]), .count(r));
                        assign h[offset(HV, c) + j] = r[0];
                        if (c + 1 < COLS) begin : g_b1
                            assign h[offset(HV, c + 1) + ncnt(hgt(HP, c + 1)) + j] = r[1];
                        end
                        if (K >= 4 && c + 2 < COLS) begin : g_b2
                            assign h[offset(HV, c + 2) + ncnt(hgt(HP, c + 2)) + ncnt(hgt(HP, c + 1)) + j] = r[KW-1];
                        end
                    end
                    for (j = 0; j < npass(HC); j = j + 1) begin : g_pass
                        assign h[offset(HV, c) + NC + ncnt(hgt(HP, c - 1)) + ncnt3(hgt(HP, c - 2)) + j] =
                            g_st[s-1].h[IN_OFF + 6*(HC/6) + j];
                    end
                end
            end
        end
        // the two rows left
        wire [COLS-1:0] row_a, row_b;
        for (c = 0; c < COLS; c = c + 1) begin : g_rows
            if (hgt(HF, c) >= 1) begin : g_a
                assign row_a[c] = g_st[NST].h[offset(HF, c)];
            end else begin : g_na
                assign row_a[c] = 1'b0;
            end
            if (hgt(HF, c) >= 2) begin : g_b
                assign row_b[c] = g_st[NST].h[offset(HF, c) + 1];
            end else begin : g_nb
                assign row_b[c] = 1'b0;
            end
        end
        assign count = row_a + row_b;
    endgenerate
endmodule

// mvau_xnor_count3: number of agreeing pairs among 3 bit pairs (2 bits). Kept as its own
// module (also when the design is flattened) so that it maps to exactly 2 LUT6.
(* keep_hierarchy *)
module mvau_xnor_count3 (
    input  wire [2:0] x,
    input  wire [2:0] w,
    output wire [1:0] count
);
    wire [2:0] a = x ~^ w;
    assign count = {(a[0] & a[1]) | (a[0] & a[2]) | (a[1] & a[2]), ^a};
endmodule

// mvau_bit_counter: number of ones among K = 3..6 bits, as a table (one LUT per output bit,
// kept as its own module like mvau_xnor_count3).
(* keep_hierarchy *)
module mvau_bit_counter #(
    parameter integer K = 6         // inputs, 3..6
) (
    input  wire [K-1:0]             v,
    output wire [((K >= 4) ? 3 : 2)-1:0] count
);
    localparam integer OW = (K >= 4) ? 3 : 2;
    function [(1<<K)*OW-1:0] table_of(input integer unused);
        integer i, b, n;
        begin
            table_of = {((1<<K)*OW){1'b0}};
            for (i = 0; i < (1 << K); i = i + 1) begin
                n = unused;
                for (b = 0; b < K; b = b + 1) n = n + ((i >> b) & 1);
                table_of[i*OW +: OW] = n[OW-1:0];
            end
        end
    endfunction
    localparam [(1<<K)*OW-1:0] TABLE = table_of(0);
    assign count = TABLE[v*OW +: OW];
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire

// mvau_delay: d delayed by N clock cycles (N = 0: a wire); data registers, no reset.
module mvau_delay #(
    parameter integer W = 1,        // bits
    parameter integer N = 0         // cycles
) (
    input  wire         ap_clk,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
    generate
        if (N == 0) begin : g_wire
            wire unused_clk = &{1'b0, ap_clk};
            assign q = d;
        end else begin : g_line
            reg [W-1:0] line [0:N-1];
            integer i;
            always @(posedge ap_clk) begin
                line[0] <= d;
                for (i = 1; i < N; i = i + 1) line[i] <= line[i - 1];
            end
            assign q = line[N-1];
        end
    endgenerate
endmodule

// mvau_valid_delay: a valid bit delayed by N clock cycles (N = 0: a wire), cleared by reset.
module mvau_valid_delay #(
    parameter integer N = 0         // cycles
) (
    input  wire ap_clk,
    input  wire ap_rst_n,
    input  wire d,
    output wire q
);
    generate
        if (N == 0) begin : g_wire
            wire unused_clk = &{1'b0, ap_clk, ap_rst_n};
            assign q = d;
        end else begin : g_line
            reg [N-1:0] line;
            integer i;
            always @(posedge ap_clk) begin
                if (!ap_rst_n) line <= {N{1'b0}};
                else begin
                    line[0] <= d;
                    for (i = 1; i < N; i = i + 1) line[i] <= line[i - 1];
                end
            end
            assign q = line[N-1];
        end
    endgenerate
endmodule
