// mac_dot: dot product of N operand pairs, shaped for 6-input LUTs and carry chains.
//
//   dot = (sum_{s<N} x[s] * w[s] + extra) mod 2**DW               (BINARY = 0)
//   dot = (#{s : x[s] == w[s]} + extra) mod 2**DW                 (BINARY = 1, XNOR-popcount)
//
// x[s] = x[s*INPUT_BITS +: INPUT_BITS] and w[s] = w[s*WEIGHT_BITS +: WEIGHT_BITS], each side
// unsigned, two's complement (*_SIGNED = 1) or bipolar (*_BIPOLAR = 1: one bit, 1 = +1,
// 0 = -1), as the parameters of mvau.v say. `extra` is the one-bit addend the MVAU uses for
// the + 1 of a folded threshold (-T = ~T + 1). Latency: STAGES cycles (0: combinational);
// `ce` low holds every pipeline register (the pipeline stalls as a whole).
//
// How the sum is built. Every product is split into partial products (pp), each a small
// unsigned number u at a shift sh with a one-bit correction c at the same shift, so that
//   x[s] * w[s] = sum_pp (u + c) * 2**sh + OFF,
// with OFF a constant (pp in offset binary: the sign bit of a signed pp inverted, so that
// no adder ever sign-extends). Each pp bit is a function of at most 5 operand bits, so one
// 6-input LUT computes it and XORs it with the accumulated sum in front of the carry chain
// (S = acc ^ pp, DI = acc): a pp costs one LUT per bit, its correction c enters the carry
// input of the adder, which works on the bits from sh upwards. The forms (FORM):
//   bipolar x n bits: pp = m ^ {~b} (m as a signed number), c = ~b: b ? m : ~m + 1 (or, with
//             N > DW, the negated product pp = m ^ {b}, c = b, and the result negated once);
//   1 table:  pp = x * w - min (x * w); both operands together at most 5 bits;
//   2 Booth:  radix-4 recoding of one operand r (signed or zero-extended):
//             d_j = -2 r[2j+1] + r[2j] + r[2j-1] in {-2..2}, pp_j = (|d_j| * m) ^ {neg_j},
//             c_j = neg_j, sh = 2j: ceil(bits(r)/2) pps of bits(m)+1 bits;
//   3 planes: pp_i = r[i] ? m : 0 (the sign plane of a signed r: r[i] ? ~m : 0, c = r[i]).
// FORM = 0 takes the form and the operand to recode with the fewest pp bits (a table when
// it fits). The products are summed in groups of CHAIN (0: automatic) products, each group
// one carry chain that starts from a constant (the sum of every OFF, mod 2**DW, in the
// first group) and adds one pp per adder; the group sums meet in a binary tree of adders,
// `extra` entering the carry input of its first adder. Both operands bipolar: groups are
// XNOR-popcounts (mvau_popcount of mvau.v), dot = 2 * count - N + extra unless BINARY.
// Pipeline: with STAGES >= 1 the result is registered; of the STAGES - 1 others, one sits
// between the groups and the tree, then one per segment boundary of a chain (a segment is
// at most 6 adders; the operands of a later segment are delayed to match; CHAIN = 0 makes
// chains of two segments when there is a register for it), then between tree levels
// (evenly spaced); any left over delay the output. Each chain adder is written as a
// subtraction one bit below (the sum is the first operand, the carry chain's DI, the pp
// merges into the S LUT, c is the low bit's borrow) and its sum is kept (no merging of
// the chain into one multi-operand sum).
// Widths: every chain and tree node is as wide as its largest value (at most DW bits);
// sums are modulo 2**DW.
// Pairs (PAIRED = 1, multi-bit x times bipolar w): x holds, instead of the N elements, the
// pair sums and differences of mac_dot_pairs (below), computed once for every dot product
// that shares x (the PE rows of an MVAU): for k < N/2, s_k = x[2k] + x[2k+1] and
// d_k = x[2k] - x[2k+1] (PS = XS + 1 bits each, two's complement), then x[N-1] itself when
// N is odd. With w_a, w_b in {-1, +1}:
//   w_a * x[2k] + w_b * x[2k+1] = w_a * (w_a == w_b ? s_k : d_k),
// one bipolar x n bits product of a PS-bit m = (w_a == w_b ? s_k : d_k) selected inside the
// pp's LUT (acc, s, d, w_a, w_b: 5 inputs): ceil(N/2) products of PS bits instead of N of
// XS bits. The chains, tree and pipeline are those of ceil(N/2) products.
`timescale 1ns / 1ps
`default_nettype none

module mac_dot #(
    parameter integer N = 16,               // operand pairs, >= 1
    parameter integer INPUT_BITS = 4,       // bits per x element, 1..16 (1 if bipolar)
    parameter integer INPUT_SIGNED = 1,     // 1: x elements are two's complement
    parameter integer INPUT_BIPOLAR = 0,    // 1: x elements are bipolar (bit 1 = +1, 0 = -1)
    parameter integer WEIGHT_BITS = 4,      // bits per w element, 1..16 (1 if bipolar)
    parameter integer WEIGHT_SIGNED = 1,    // 1: w elements are two's complement
    parameter integer WEIGHT_BIPOLAR = 0,   // 1: w elements are bipolar (bit 1 = +1, 0 = -1)
    parameter integer BINARY = 0,           // 1: count agreements (both operands bipolar)
    parameter integer DW = 16,              // result bits, 1..64 (two's complement, modulo)
    parameter integer STAGES = 1,           // pipeline registers (latency), 0..8
    parameter integer CHAIN = 0,            // products per carry chain / popcount; 0: automatic
    parameter integer FORM = 0,             // multi-bit x multi-bit: 0 cheapest, 1 table, 2 Booth, 3 planes
    parameter integer PAIRED = 0            // 1: x holds mac_dot_pairs' pair sums (w bipolar, x not)
) (
    input  wire                          ap_clk,
    input  wire                          ce,      // clock enable of every pipeline register
    // N elements, or with PAIRED N/2 pairs {d_k, s_k} of PS = XS + 1 bits and x[N-1] if N is odd
    input  wire [((PAIRED != 0) ? (N / 2) * 2 * (INPUT_BITS + 2 - ((INPUT_SIGNED != 0) ? 1 : 0))
                 + (N % 2) * INPUT_BITS : N * INPUT_BITS)-1:0] x,
    input  wire [N*WEIGHT_BITS-1:0]      w,
    input  wire                          extra,   // added at weight 1
    output wire [DW-1:0]                 dot
);
    localparam integer XB = INPUT_BITS;
    localparam integer WB = WEIGHT_BITS;
    localparam integer POP = (INPUT_BIPOLAR != 0 && WEIGHT_BIPOLAR != 0) ? 1 : 0;
    localparam integer ONE_BIP = (POP == 0 && (INPUT_BIPOLAR != 0 || WEIGHT_BIPOLAR != 0)) ? 1 : 0;
    // operands as signed numbers of XS / WS bits (unsigned: a zero sign bit above)
    localparam integer XS = (INPUT_SIGNED != 0) ? XB : XB + 1;
    localparam integer WS = (WEIGHT_SIGNED != 0) ? WB : WB + 1;
    localparam integer VW = 20;                 // width of the internal operand vectors
    // pairs: products (pairs, and the odd element) and the width of a pair sum
    localparam integer PAIR = (PAIRED != 0) ? 1 : 0;
    localparam integer NQ = (PAIR != 0) ? (N + 1) / 2 : N;
    localparam integer NPAIRS = N / 2;
    localparam integer PS = XS + 1;
    localparam integer MVW = (PAIR != 0) ? 2 * VW : VW;   // operand vector of a product: {d, s}
    localparam integer K64 = 64;

    // ---- choice of form and of the recoded operand r (the other one is m) ---------------
    function integer booth_bits(input integer rs, input integer ms);   // pp bits of Booth
        booth_bits = ((rs + 1) / 2) * (ms + 1);
    endfunction
    function integer plane_bits(input integer rb, input integer rsg, input integer mb, input integer msg);
        integer i;
        begin
            plane_bits = 0;
            for (i = 0; i < rb; i = i + 1)
                plane_bits = plane_bits + ((msg == 0 && !(rsg != 0 && i == rb - 1)) ? mb : mb + ((msg != 0) ? 0 : 1));
        end
    endfunction
    // range of a multi-bit operand
    function integer op_min(input integer bits, input integer sgn);
        op_min = (sgn != 0) ? -(1 << (bits - 1)) : 0;
    endfunction
    function integer op_max(input integer bits, input integer sgn);
        op_max = (sgn != 0) ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    endfunction
    function integer min4(input integer a, input integer b, input integer c, input integer d);
        begin
            min4 = a;
            if (b < min4) min4 = b;
            if (c < min4) min4 = c;
            if (d < min4) min4 = d;
        end
    endfunction
    function integer max4(input integer a, input integer b, input integer c, input integer d);
        begin
            max4 = a;
            if (b > max4) max4 = b;
            if (c > max4) max4 = c;
            if (d > max4) max4 = d;
        end
    endfunction
    function [K64-1:0] to64(input integer v);       // sign-extended to 64 bits
        to64 = {{(K64-32){v[31]}}, v};
    endfunction
    function integer bits_for(input integer v);    // bits of an unsigned value v >= 0
        integer b;
        begin
            bits_for = 1;
            for (b = 1; b < 31; b = b + 1) if ((v >> b) != 0) bits_for = b + 1;
        end
    endfunction
    localparam integer TABLE_OK = (POP == 0 && ONE_BIP == 0 && XB + WB <= 5) ? 1 : 0;
    localparam integer XMIN = op_min(XB, INPUT_SIGNED), XMAX = op_max(XB, INPUT_SIGNED);
    localparam integer WMIN = op_min(WB, WEIGHT_SIGNED), WMAX = op_max(WB, WEIGHT_SIGNED);
    localparam integer PMIN = min4(XMIN * WMIN, XMIN * WMAX, XMAX * WMIN, XMAX * WMAX);
    localparam integer PMAX = max4(XMIN * WMIN, XMIN * WMAX, XMAX * WMIN, XMAX * WMAX);
    localparam integer TABLE_BITS = (TABLE_OK != 0) ? bits_for(PMAX - PMIN) : 1000;
    localparam integer BOOTH_W = booth_bits(WS, XS);           // recode w
    localparam integer BOOTH_X = booth_bits(XS, WS);           // recode x
    localparam integer PLANES_W = plane_bits(WB, WEIGHT_SIGNED, XB, INPUT_SIGNED);
    localparam integer PLANES_X = plane_bits(XB, INPUT_SIGNED, WB, WEIGHT_SIGNED);
    localparam integer BOOTH_BEST = (BOOTH_X < BOOTH_W) ? BOOTH_X : BOOTH_W;
    localparam integer PLANES_BEST = (PLANES_X < PLANES_W) ? PLANES_X : PLANES_W;
    // form: 0 bipolar x n bits, 1 table, 2 Booth, 3 planes, 4 popcount
    localparam integer F = (POP != 0) ? 4 : (ONE_BIP != 0) ? 0 :
                           (FORM != 0) ? FORM :
                           (TABLE_BITS <= BOOTH_BEST && TABLE_BITS <= PLANES_BEST) ? 1 :
                           (BOOTH_BEST <= PLANES_BEST) ? 2 : 3;
    // r is x (RX = 1) or w: the bipolar side, or the cheaper side to recode / to select by
    localparam integer RX = (ONE_BIP != 0) ? ((INPUT_BIPOLAR != 0) ? 1 : 0) :
                            (F == 2) ? ((BOOTH_X < BOOTH_W) ? 1 : 0) :
                            (F == 3) ? ((PLANES_X < PLANES_W) ? 1 : 0) : 0;
    localparam integer MB = (PAIR != 0) ? PS : (RX != 0) ? WB : XB;
    localparam integer M_SIGNED = (PAIR != 0) ? 1 : (RX != 0) ? WEIGHT_SIGNED : INPUT_SIGNED;
    localparam integer RB = (RX != 0) ? XB : WB;
    localparam integer R_SIGNED = (RX != 0) ? INPUT_SIGNED : WEIGHT_SIGNED;
    localparam integer MS = (M_SIGNED != 0) ? MB : MB + 1;
    localparam integer RS = (R_SIGNED != 0) ? RB : RB + 1;
    // partial products per product
    localparam integer NP = (F == 2) ? (RS + 1) / 2 : (F == 3) ? RB : 1;

    // ---- partial products: width, shift, correction, offset --------------------------------
    function integer pp_width(input integer j);
        begin
            case (F)
                0: pp_width = MS;
                1: pp_width = TABLE_BITS;
                2: pp_width = MS + 1;
                3: pp_width = (M_SIGNED == 0 && !(R_SIGNED != 0 && j == RB - 1)) ? MB : MS;
                default: pp_width = 1;
            endcase
        end
    endfunction
    function integer pp_shift(input integer j);
        pp_shift = (F == 2) ? 2 * j : (F == 3) ? j : 0;
    endfunction
    function integer pp_has_c(input integer j);       // the pp has a correction bit
        pp_has_c = (F == 0 || F == 2 || (F == 3 && R_SIGNED != 0 && j == RB - 1)) ? 1 : 0;
    endfunction
    function integer pp_offset(input integer j);      // the pp is offset binary
        pp_offset = (F == 0 || F == 2 || (F == 3 && pp_width(j) == MS)) ? 1 : 0;
    endfunction
    // per product: sum over pps of their largest value (u + c) * 2**sh, and minus OFF
    function [K64-1:0] term_max(input integer unused);
        integer j;
        begin
            term_max = {K64{1'b0}};
            if (F == 1) term_max = to64(PMAX - PMIN + unused);
            else
                for (j = 0; j < NP; j = j + 1)
                    term_max = term_max + ((({{(K64-1){1'b0}}, 1'b1} << pp_width(j)) - 1 + to64(pp_has_c(j))) << pp_shift(j));
        end
    endfunction
    function [K64-1:0] term_offset(input integer unused);   // -OFF >= 0
        integer j;
        begin
            term_offset = {K64{1'b0}};
            if (F == 1) term_offset = to64(-PMIN + unused);
            else
                for (j = 0; j < NP; j = j + 1)
                    if (pp_offset(j) != 0)
                        term_offset = term_offset + ({{(K64-1){1'b0}}, 1'b1} << (pp_width(j) - 1 + pp_shift(j)));
        end
    endfunction
    localparam [K64-1:0] TMAX = term_max(0);
    localparam [K64-1:0] NOFF = term_offset(0);
    // the constant every sum starts from: N * OFF (popcount: -N unless BINARY), mod 2**DW
    // bipolar x n bits with more products than result bits: the chains add the negated
    // products (m ^ {b}) + b, whose correction b is a plain operand bit (no inverter per
    // product), and the result is the constant minus their sum (one inverter per result bit)
    localparam integer NEG = (F == 0 && NQ > DW) ? 1 : 0;
    localparam [K64-1:0] KALL = (F == 4) ? ((BINARY != 0) ? {K64{1'b0}} : -to64(N)) :
                                (NEG != 0) ? {K64{1'b0}} : -(NOFF * NQ);
    localparam [DW-1:0] KONST = KALL[DW-1:0];
    localparam [K64-1:0] KNEG_ALL = NOFF * NQ + 1;               // NEG: NQ * -OFF, + 1 (see below)
    localparam [DW-1:0] KNEG = KNEG_ALL[DW-1:0];

    // ---- groups -----------------------------------------------------------------------------
    // products per chain segment: at most 6 adders (6 LUT levels); the first segment one
    // product shorter for the 4- and 5-input partial products of tables and Booth recoding
    // (the first one, added to a constant, may take a LUT level of its own); pairs 5 in every
    // segment (the select of a segment's first pair may take a LUT level of its own)
    localparam integer SP = (PAIR != 0) ? 5 : (6 / NP > 0) ? 6 / NP : 1;
    localparam integer SP1 = ((F == 1 || F == 2) && SP > 1) ? SP - 1 : SP;
    localparam integer AVAIL = (STAGES > 1) ? STAGES - 1 : 0;   // registers before the output
    // automatic: one segment per chain, two (a register between them) with 3 stages or more;
    // one popcount of all N
    localparam integer AUTO_CHAIN = (F == 4) ? N : (AVAIL >= 2) ? SP1 + SP : SP1;
    localparam integer LG_RAW = (CHAIN > 0) ? CHAIN : AUTO_CHAIN;
    localparam integer LG = (LG_RAW < NQ) ? LG_RAW : NQ;      // products per group
    localparam integer G = (NQ + LG - 1) / LG;                 // groups
    localparam integer T = $clog2(G);                          // tree levels
    function integer group_size(input integer g);
        group_size = (g < G - 1) ? LG : NQ - LG * (G - 1);
    endfunction
    function integer width_of(input [K64-1:0] v);              // bits of v, at most DW
        integer b;
        begin
            width_of = 1;
            for (b = 1; b < K64; b = b + 1) if ((v >> b) != 0) width_of = b + 1;
            if (width_of > DW) width_of = DW;
        end
    endfunction
    // largest value of a group's sum (group 0 holds the constant: DW bits)
    function [K64-1:0] group_max(input integer g);
        begin
            if (F == 4) group_max = to64(group_size(g));
            else group_max = TMAX * group_size(g);
            if (g == 0 && KONST != {DW{1'b0}}) group_max = ~{K64{1'b0}};
        end
    endfunction
    // the sum of the groups [i * 2**l, (i+1) * 2**l), with extra in node 0 of level >= 1
    function [K64-1:0] node_max(input integer l, input integer i);
        integer g;
        reg [K64:0] total;
        begin
            total = {(K64+1){1'b0}};
            for (g = i << l; g < ((i + 1) << l) && g < G; g = g + 1) total = total + {1'b0, group_max(g)};
            if (l >= 1 && i == 0) total = total + 1'b1;
            node_max = (total[K64] != 0) ? ~{K64{1'b0}} : total[K64-1:0];
        end
    endfunction

    // ---- pipeline registers: after the groups (boundary 0) and after tree level b ---------
    // STAGES - 1 registers before the output register: after the groups (boundary 0), then
    // between the segments of a chain (CRU, the operands of later segments delayed to match),
    // then between tree levels 1 .. T-1 (evenly spaced); any left over delay the output
    localparam integer B0 = (AVAIL >= 1) ? 1 : 0;
    // segment registers of a chain of n products: after product SP1 - 1, then every SP
    function integer seg_regs(input integer n);
        seg_regs = (n > SP1) ? 1 + (n - SP1 - 1) / SP : 0;
    endfunction
    localparam integer CRMAX = (F == 4) ? 0 : seg_regs(LG);
    localparam integer CRU = (AVAIL - B0 < CRMAX) ? AVAIL - B0 : CRMAX;
    localparam integer INNER = (AVAIL - B0 - CRU < T - 1) ? AVAIL - B0 - CRU : ((T > 1) ? T - 1 : 0);
    function integer reg_at(input integer b);
        integer k;
        begin
            reg_at = (b == 0) ? B0 : 0;
            for (k = 0; k < INNER; k = k + 1) if (b == 1 + (k * (T - 1)) / INNER) reg_at = 1;
        end
    endfunction
    localparam integer OUT_REGS = (STAGES >= 1) ? STAGES - B0 - CRU - INNER : 0;

    initial begin
        if (N < 1) begin $display("%m: mac_dot: N=%0d must be >= 1", N); $finish; end
        if (INPUT_BITS < 1 || INPUT_BITS > 16 || WEIGHT_BITS < 1 || WEIGHT_BITS > 16) begin
            $display("%m: mac_dot: INPUT_BITS and WEIGHT_BITS must be 1..16"); $finish;
        end
        if ((INPUT_BIPOLAR != 0 && (INPUT_BITS != 1 || INPUT_SIGNED != 0))
            || (WEIGHT_BIPOLAR != 0 && (WEIGHT_BITS != 1 || WEIGHT_SIGNED != 0))) begin
            $display("%m: mac_dot: a bipolar operand is 1 bit and not signed"); $finish;
        end
        if (BINARY != 0 && (INPUT_BIPOLAR == 0 || WEIGHT_BIPOLAR == 0)) begin
            $display("%m: mac_dot: BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1"); $finish;
        end
        if (DW < 1 || DW > 64) begin $display("%m: mac_dot: DW=%0d must be 1..64", DW); $finish; end
        if (STAGES < 0 || STAGES > 8) begin $display("%m: mac_dot: STAGES=%0d must be 0..8", STAGES); $finish; end
        if (CHAIN < 0) begin $display("%m: mac_dot: CHAIN=%0d must be >= 0", CHAIN); $finish; end
        if (FORM < 0 || FORM > 3) begin $display("%m: mac_dot: FORM=%0d must be 0..3", FORM); $finish; end
        if (FORM == 1 && INPUT_BITS + WEIGHT_BITS > 5) begin
            $display("%m: mac_dot: FORM=1 (table) needs INPUT_BITS + WEIGHT_BITS <= 5, got %0d", INPUT_BITS + WEIGHT_BITS);
            $finish;
        end
        if (PAIRED < 0 || PAIRED > 1 || (PAIRED == 1 && (WEIGHT_BIPOLAR == 0 || INPUT_BIPOLAR != 0))) begin
            $display("%m: mac_dot: PAIRED=%0d must be 0, or 1 with WEIGHT_BIPOLAR=1 and INPUT_BIPOLAR=0", PAIRED);
            $finish;
        end
    end

    // ---- the product table (FORM 1): entry {r, m} holds m * r - PMIN ----------------------
    localparam integer TPW = (TABLE_BITS <= 8) ? TABLE_BITS : 8;      // entry bits
    localparam integer TIDX = (TABLE_OK != 0) ? MB + RB : 1;          // index bits
    function [(1<<TIDX)*TPW-1:0] product_table(input integer unused);
        integer k, mval, rval;
        begin
            product_table = {((1<<TIDX)*TPW){1'b0}};
            if (TABLE_OK != 0)
                for (k = 0; k < (1 << TIDX); k = k + 1) begin
                    mval = k % (1 << MB);
                    rval = k >> MB;
                    if (M_SIGNED != 0 && mval >= (1 << (MB - 1))) mval = mval - (1 << MB);
                    if (R_SIGNED != 0 && rval >= (1 << (RB - 1))) rval = rval - (1 << RB);
                    mval = mval * rval - PMIN + unused;
                    product_table[k*TPW +: TPW] = mval[TPW-1:0];
                end
        end
    endfunction
    localparam [(1<<TIDX)*TPW-1:0] PTABLE = product_table(0);

    // ---- one partial product of one operand pair ---------------------------------------------
    // m, r: the operands (m sign- or zero-extended to VW bits); value u of pp j
    function [VW-1:0] pp_value(input [VW-1:0] m, input [VW-1:0] r, input integer j);
        reg a, b, c, one, two, neg, bit_i;
        reg [VW-1:0] sel, raw;
        reg [31:0] idx;
        integer pw, k, e;
        begin
            pw = pp_width(j);
            raw = {VW{1'b0}};
            case (F)
                0: raw = m ^ {VW{(NEG != 0) ? r[0] : ~r[0]}};
                1: begin
                    // an OR of the index's matches (logic for the LUTs in front of the
                    // carry chain; an indexed constant would become a ROM)
                    idx = ({{(32-VW){1'b0}}, r & ~({VW{1'b1}} << RB)} << MB)
                        | {{(32-VW){1'b0}}, m & ~({VW{1'b1}} << MB)};
                    for (e = 0; e < (1 << TIDX); e = e + 1)
                        if (idx == e) raw[TPW-1:0] = raw[TPW-1:0] | PTABLE[e*TPW +: TPW];
                end
                2: begin
                    k = 2 * j;
                    a = r[k + 1];
                    b = r[k];
                    c = (k > 0) ? r[(k > 0) ? k - 1 : 0] : 1'b0;
                    one = b ^ c;
                    two = (a & ~b & ~c) | (~a & b & c);
                    neg = a & ~(b & c);
                    sel = one ? m : (two ? (m << 1) : {VW{1'b0}});
                    raw = sel ^ {VW{neg}};
                end
                3: begin
                    bit_i = r[j];
                    if (R_SIGNED != 0 && j == RB - 1) raw = bit_i ? ~m : {VW{1'b0}};
                    else raw = bit_i ? m : {VW{1'b0}};
                end
                default: raw = {VW{1'b0}};
            endcase
            // offset binary: the sign bit inverted; only the pp's own bits
            if (pp_offset(j) != 0) raw[pw - 1] = ~raw[pw - 1];
            pp_value = raw & ~({VW{1'b1}} << pw);
        end
    endfunction
    function pp_corr(input [VW-1:0] r, input integer j);
        reg a, b, c;
        integer k;
        begin
            pp_corr = 1'b0;
            case (F)
                0: pp_corr = (NEG != 0) ? r[0] : ~r[0];
                2: begin
                    k = 2 * j;
                    a = r[k + 1];
                    b = r[k];
                    c = (k > 0) ? r[(k > 0) ? k - 1 : 0] : 1'b0;
                    pp_corr = a & ~(b & c);
                end
                3: pp_corr = (R_SIGNED != 0 && j == RB - 1) ? r[j] : 1'b0;
                default: pp_corr = 1'b0;
            endcase
        end
    endfunction

    genvar s, j, g, l, i;
    // operands of every pair as VW-bit vectors: m sign- or zero-extended, r extended (Booth
    // reads bits beyond the top as the sign)
    // pairs: mv holds {d, s} (the odd element twice) and rv {w_b, w_a}, m is selected per pp
    wire [NQ*MVW-1:0] mv;
    wire [NQ*VW-1:0] rv;
    generate
        if (F == 4) begin : g_no_ops
            wire unused_ops = &{1'b0, mv, rv};
        end
        if (PAIR != 0) begin : g_pairs
            for (s = 0; s < NQ; s = s + 1) begin : g_op
                if (s < NPAIRS) begin : g_pair
                    wire [PS-1:0] sk = x[(2*s)*PS +: PS];
                    wire [PS-1:0] dk = x[(2*s+1)*PS +: PS];
                    assign mv[s*MVW +: MVW] = {{(VW-PS){dk[PS-1]}}, dk, {(VW-PS){sk[PS-1]}}, sk};
                    assign rv[s*VW +: VW] = {{(VW-2){1'b0}}, w[2*s+1], w[2*s]};
                end else begin : g_odd
                    wire [XB-1:0] xl = x[NPAIRS*2*PS +: XB];
                    wire [VW-1:0] xe = {{(VW-XB){INPUT_SIGNED != 0 && xl[XB-1]}}, xl};
                    assign mv[s*MVW +: MVW] = {xe, xe};
                    assign rv[s*VW +: VW] = {{(VW-2){1'b0}}, w[N-1], w[N-1]};
                end
            end
        end else begin : g_single
        for (s = 0; s < N; s = s + 1) begin : g_op
            wire [XB-1:0] xs = x[s*XB +: XB];
            wire [WB-1:0] ws = w[s*WB +: WB];
            wire [MB-1:0] ms;
            wire [RB-1:0] rs;
            if (RX != 0) begin : g_rx
                assign ms = ws;
                assign rs = xs;
            end else begin : g_rw
                assign ms = xs;
                assign rs = ws;
            end
            assign mv[s*VW +: VW] = {{(VW-MB){M_SIGNED != 0 && ms[MB-1]}}, ms};
            assign rv[s*VW +: VW] = {{(VW-RB){R_SIGNED != 0 && rs[RB-1]}}, rs};
        end
        end
    endgenerate

    // ---- groups: carry chains (or popcounts) ---------------------------------------------------
    generate
        for (g = 0; g < G; g = g + 1) begin : g_grp
            localparam integer NG = group_size(g);
            localparam integer GW = width_of(group_max(g));
            localparam integer S0 = g * LG;
            wire [GW-1:0] sum;
            if (F == 4) begin : g_pop
                wire [NG-1:0] xb, wb;
                for (s = 0; s < NG; s = s + 1) begin : g_bits
                    assign xb[s] = x[S0 + s];
                    assign wb[s] = w[S0 + s];
                end
                localparam integer PEX = (G == 1 && BINARY != 0) ? 1 : 0;   // extra inside
                localparam integer CW = $clog2(NG + PEX + 1);
                wire [CW-1:0] count;
                mvau_popcount #(.N(NG), .EXTRA(PEX)) u_popcount (
                    .x(xb), .w(wb), .extra(extra), .count(count)
                );
                if (CW >= GW) begin : g_cut
                    assign sum = count[GW-1:0];
                    if (CW > GW) begin : g_unused
                        wire unused_count = &{1'b0, count[CW-1:GW]};
                    end
                end else begin : g_ext
                    assign sum = {{(GW-CW){1'b0}}, count};
                end
            end else begin : g_chain
                // acc[0] = the constant (group 0) or 0; one adder per partial product; a
                // register after product SP1 - 1 and then every SP products, up to CRU of them
                // (the operands of product s delayed by the registers before it), the rest at
                // the end
                localparam integer REGS_IN = (seg_regs(NG) < CRU) ? seg_regs(NG) : CRU;
                localparam integer REGS_END = CRU - REGS_IN;
                (* keep *) wire [GW*(NG+1)-1:0] acc;      // kept: one carry chain per adder
                if (g == 0) begin : g_k
                    assign acc[GW-1:0] = KALL[GW-1:0];
                end else begin : g_z
                    assign acc[GW-1:0] = {GW{1'b0}};
                end
                for (s = 0; s < NG; s = s + 1) begin : g_prod
                    localparam integer D = (seg_regs(s + 1) < CRU) ? seg_regs(s + 1) : CRU;   // operand delay
                    localparam integer REG_AFTER = (seg_regs(s + 2) > seg_regs(s + 1) && s + 1 < NG
                                                    && seg_regs(s + 2) <= CRU) ? 1 : 0;
                    wire [MVW-1:0] mo;
                    wire [VW-1:0] ms, rs;
                    if (D == 0) begin : g_now
                        assign mo = mv[(S0 + s)*MVW +: MVW];
                        assign rs = rv[(S0 + s)*VW +: VW];
                    end else begin : g_delay
                        reg [MVW-1:0] md [0:D-1];
                        reg [VW-1:0] rd [0:D-1];
                        integer k;
                        always @(posedge ap_clk) if (ce) begin
                            md[0] <= mv[(S0 + s)*MVW +: MVW];
                            rd[0] <= rv[(S0 + s)*VW +: VW];
                            for (k = 1; k < D; k = k + 1) begin
                                md[k] <= md[k-1];
                                rd[k] <= rd[k-1];
                            end
                        end
                        assign mo = md[D-1];
                        assign rs = rd[D-1];
                    end
                    if (PAIR != 0) begin : g_sel
                        // w_a * (w_a == w_b ? s : d): the pp LUT selects
                        assign ms = (rs[0] == rs[1]) ? mo[VW-1:0] : mo[MVW-1:VW];
                    end else begin : g_m
                        assign ms = mo;
                    end
                    (* keep *) wire [GW*(NP+1)-1:0] pa;   // the sum before each pp of this product
                    assign pa[GW-1:0] = acc[s*GW +: GW];
                    for (j = 0; j < NP; j = j + 1) begin : g_pp
                        localparam integer SH = pp_shift(j);
                        localparam integer PW = pp_width(j);
                        wire [VW-1:0] u = pp_value(ms, rs, j);
                        wire c = pp_corr(rs, j);
                        wire [GW-1:0] a = pa[j*GW +: GW];
                        if (SH >= GW) begin : g_out        // above the result: drops out
                            assign pa[(j+1)*GW +: GW] = a;
                            wire unused_pp = &{1'b0, u, c};
                        end else begin : g_add
                            localparam integer HW = GW - SH;   // adder width
                            wire [HW-1:0] addend;
                            if (PW >= HW) begin : g_cut
                                assign addend = u[HW-1:0];
                            end else begin : g_ext
                                assign addend = {{(HW-PW){1'b0}}, u[PW-1:0]};
                            end
                            // a + addend + c as a - ~addend - 1 + c, one bit below: a subtraction
                            // keeps a as the adder's first operand, the carry chain's DI (the sum,
                            // free), and the pp logic merges into the S LUT; the low bit's borrow
                            // is c
                            wire [HW:0] diff = {a[GW-1:SH], 1'b0} - {~addend, ~c};
                            wire [HW-1:0] hi = diff[HW:1];
                            wire unused_low = diff[0];
                            if (SH > 0) begin : g_low
                                assign pa[(j+1)*GW +: GW] = {hi, a[SH-1:0]};
                            end else begin : g_all
                                assign pa[(j+1)*GW +: GW] = hi;
                            end
                            wire unused_u = &{1'b0, u};
                        end
                    end
                    if (REG_AFTER != 0) begin : g_seg
                        reg [GW-1:0] q;
                        always @(posedge ap_clk) if (ce) q <= pa[NP*GW +: GW];
                        assign acc[(s+1)*GW +: GW] = q;
                    end else begin : g_next
                        assign acc[(s+1)*GW +: GW] = pa[NP*GW +: GW];
                    end
                    wire unused_ops = &{1'b0, ms, rs, mo};
                end
                if (REGS_END == 0) begin : g_sum
                    assign sum = acc[NG*GW +: GW];
                end else begin : g_sum_delay
                    reg [GW-1:0] sd [0:REGS_END-1];
                    integer k;
                    always @(posedge ap_clk) if (ce) begin
                        sd[0] <= acc[NG*GW +: GW];
                        for (k = 1; k < REGS_END; k = k + 1) sd[k] <= sd[k-1];
                    end
                    assign sum = sd[REGS_END-1];
                end
            end
        end
    endgenerate

    // ---- tree of the group sums; extra at the carry input of its first adder ----------------
    // level l holds ceil(G / 2**l) nodes; g_lvl[l].g_node[i].q is node i after the optional
    // register of boundary l
    localparam integer EXTRA_TREE = (G >= 2 && NEG == 0 && !(F == 4 && BINARY == 0)) ? 1 : 0;
    generate
        for (l = 0; l <= T; l = l + 1) begin : g_lvl
            localparam integer NL = (G + (1 << l) - 1) >> l;
            wire e;            // extra, after this level's register
            wire e_in;
            if (l == 0 && CRU == 0) begin : g_e0
                assign e_in = extra;
            end else if (l == 0) begin : g_e0_delay
                // the chains' segment registers
                reg ed [0:CRU-1];
                integer k;
                always @(posedge ap_clk) if (ce) begin
                    ed[0] <= extra;
                    for (k = 1; k < CRU; k = k + 1) ed[k] <= ed[k-1];
                end
                assign e_in = ed[CRU-1];
            end else begin : g_en
                assign e_in = g_lvl[l-1].e;
            end
            if (reg_at(l) != 0) begin : g_ereg
                reg e_q;
                always @(posedge ap_clk) if (ce) e_q <= e_in;
                assign e = e_q;
            end else begin : g_epass
                assign e = e_in;
            end
            for (i = 0; i < NL; i = i + 1) begin : g_node
                localparam integer NW = width_of(node_max(l, i));
                wire [NW-1:0] v;
                wire [NW-1:0] q;
                if (l == 0) begin : g_leaf
                    // a plain alias of the group's sum (not kept: a kept alias of a popcount
                    // output whose upper bits are constant lets Yosys drive a constant net)
                    assign v = g_grp[i].sum;
                end else if (2 * i + 1 < (G + (1 << (l - 1)) - 1) >> (l - 1)) begin : g_add
                    localparam integer AW = width_of(node_max(l - 1, 2 * i));
                    localparam integer BW = width_of(node_max(l - 1, 2 * i + 1));
                    wire ci = (l == 1 && i == 0 && EXTRA_TREE != 0) ? e_in : 1'b0;
                    (* keep *) wire [NW-1:0] added;     // kept: one carry chain per adder
                    assign added = {{(NW > AW ? NW - AW : 0){1'b0}}, g_lvl[l-1].g_node[2*i].q}
                             + {{(NW > BW ? NW - BW : 0){1'b0}}, g_lvl[l-1].g_node[2*i+1].q}
                             + {{(NW-1){1'b0}}, ci};
                    assign v = added;
                end else begin : g_pass
                    localparam integer AW = width_of(node_max(l - 1, 2 * i));
                    wire ci = (l == 1 && i == 0 && EXTRA_TREE != 0) ? e_in : 1'b0;
                    (* keep *) wire [NW-1:0] added;
                    assign added = {{(NW > AW ? NW - AW : 0){1'b0}}, g_lvl[l-1].g_node[2*i].q}
                             + {{(NW-1){1'b0}}, ci};
                    assign v = added;
                end
                if (reg_at(l) != 0) begin : g_reg
                    reg [NW-1:0] r;
                    always @(posedge ap_clk) if (ce) r <= v;
                    assign q = r;
                end else begin : g_pass_q
                    assign q = v;
                end
            end
        end
    endgenerate

    // ---- the result: + extra where the tree did not take it, the popcount's 2 * count - N ---
    localparam integer RW = width_of(node_max(T, 0));
    wire [RW-1:0] root = g_lvl[T].g_node[0].q;
    wire e_root = g_lvl[T].e;
    wire [DW-1:0] root_dw = {{(DW > RW ? DW - RW : 0){1'b0}}, root};
    wire [DW-1:0] result;
    generate
        if (F == 4 && BINARY == 0) begin : g_pm
            // sum of +-1 products = 2 * agreements - N; extra at weight 1
            wire [DW:0] twice = {root_dw, e_root};
            assign result = twice[DW-1:0] + KONST;
            wire unused_top = twice[DW];
        end else if (F == 4 && G == 1) begin : g_pop_done
            assign result = root_dw;               // extra counted by the popcount
            wire unused_e = e_root;
        end else if (NEG != 0) begin : g_neg
            // N * -OFF - root + extra = ({N * -OFF + 1, 0} - {root, ~extra}) / 2: the low
            // bit's borrow is ~extra
            wire [DW:0] diff = {KNEG, 1'b0} - {root_dw, ~e_root};
            assign result = diff[DW:1];
            wire unused_low = diff[0];
        end else if (EXTRA_TREE == 0) begin : g_inc
            assign result = root_dw + {{(DW-1){1'b0}}, e_root};
        end else begin : g_done
            assign result = root_dw;
            wire unused_e = e_root;
        end
    endgenerate

    // ---- output registers -------------------------------------------------------------------
    generate
        if (OUT_REGS == 0) begin : g_comb
            assign dot = result;
            wire unused_clk = &{1'b0, ap_clk, ce};
        end else begin : g_out
            // kept: a surplus delay stays in flip-flops (not a shift register in LUTs)
            (* keep *) reg [DW-1:0] d [0:OUT_REGS-1];
            integer k;
            always @(posedge ap_clk) if (ce) begin
                d[0] <= result;
                for (k = 1; k < OUT_REGS; k = k + 1) d[k] <= d[k-1];
            end
            assign dot = d[OUT_REGS-1];
        end
    endgenerate
endmodule

// mac_dot_pairs: the pair sums and differences that mac_dot with PAIRED = 1 reads, computed
// once for all the dot products that share x (combinational):
//   xp = {x[N-1] if N is odd, d_{N/2-1}, s_{N/2-1}, ..., d_0, s_0},
//   s_k = x[2k] + x[2k+1], d_k = x[2k] - x[2k+1]   (PS = XS + 1 bits, two's complement),
// x[s] = x[s*INPUT_BITS +: INPUT_BITS], unsigned or two's complement as INPUT_SIGNED says,
// XS its width as a signed number (INPUT_BITS, + 1 if unsigned).
/* verilator lint_off DECLFILENAME */  // helper of mac_dot, kept in its file
module mac_dot_pairs #(
    parameter integer N = 16,               // elements, >= 1
    parameter integer INPUT_BITS = 8,       // bits per element, 1..16
    parameter integer INPUT_SIGNED = 1      // 1: elements are two's complement
) (
    input  wire [N*INPUT_BITS-1:0] x,
    output wire [(N / 2) * 2 * (INPUT_BITS + 2 - ((INPUT_SIGNED != 0) ? 1 : 0)) + (N % 2) * INPUT_BITS - 1:0] xp
);
    localparam integer XB = INPUT_BITS;
    localparam integer XS = (INPUT_SIGNED != 0) ? XB : XB + 1;
    localparam integer PS = XS + 1;

    genvar k;
    generate
        for (k = 0; k < N / 2; k = k + 1) begin : g_pair
            wire [XB-1:0] a = x[(2*k)*XB +: XB];
            wire [XB-1:0] b = x[(2*k+1)*XB +: XB];
            wire [PS-1:0] ae = {{(PS-XB){INPUT_SIGNED != 0 && a[XB-1]}}, a};
            wire [PS-1:0] be = {{(PS-XB){INPUT_SIGNED != 0 && b[XB-1]}}, b};
            assign xp[(2*k)*PS +: PS] = ae + be;
            assign xp[(2*k+1)*PS +: PS] = ae - be;
        end
        if (N % 2 != 0) begin : g_odd
            assign xp[(N/2)*2*PS +: XB] = x[(N-1)*XB +: XB];
        end
    endgenerate
endmodule
/* verilator lint_on DECLFILENAME */

`default_nettype wire
