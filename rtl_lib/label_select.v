// label_select: indices of the K largest of NUM_CLASSES integers per frame (bnncc's
// LabelSelect op, ONNX TopK with largest=1, ArgMax for K = 1).
//
// Input: frames of NUM_CLASSES elements of IN_BITS bits (two's complement if IN_SIGNED),
// PE elements per beat, element 0 (the lowest class index) in the least significant bits;
// a frame is NUM_CLASSES/PE beats. Output: K beats per frame, each the IDX_BITS-bit index
// of one of the K largest elements, largest first; among equal values the lower index
// comes first.
//
// The running top K of a frame is kept sorted in K registers; each beat inserts its PE
// elements (element 0 first) in one cycle: an element goes in front of the first entry it
// is strictly greater than (so a later, higher index never passes an equal value), and
// the last entry falls off. The first beat of a frame starts from an empty list. At the
// end of a frame the K indices move to an output shift register, so the next frame is
// taken while they are sent: cycles per frame max(NUM_CLASSES/PE, K) when neither side
// stalls. An accepted beat waits one cycle in an input register (its data, the class
// index of its element 0 and whether it is a frame's first or last beat), so that the
// insertion starts from registers only: no input multiplexer and no index decode lies in
// front of the comparators. Latency: the first index leaves two cycles after the frame's
// last beat enters. The input has a skid entry so that s_axis_tready is a register. The
// insertion is a chain of PE * K comparators, meant for small K (1..5) and moderate PE.
// Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module label_select #(
    parameter integer NUM_CLASSES = 10,  // elements per frame (classes)
    parameter integer PE          = 1,   // elements per input beat, divides NUM_CLASSES
    parameter integer IN_BITS     = 8,   // bits of an input element
    parameter integer IN_SIGNED   = 1,   // 1: elements are two's complement, 0: unsigned
    parameter integer K           = 1,   // indices per frame, 1..NUM_CLASSES
    parameter integer IDX_BITS    = 4    // bits of an output index, >= max(1, clog2(NUM_CLASSES))
) (
    input  wire                  ap_clk,
    input  wire                  ap_rst_n,
    input  wire [PE*IN_BITS-1:0] s_axis_tdata,
    input  wire                  s_axis_tvalid,
    output wire                  s_axis_tready,
    output wire [IDX_BITS-1:0]   m_axis_tdata,
    output wire                  m_axis_tvalid,
    input  wire                  m_axis_tready
);
    localparam integer IN_W = PE * IN_BITS;
    localparam integer VW   = IN_BITS + 1;                    // values extended to signed
    localparam integer KW   = (K < 1) ? 1 : $clog2(K + 1);    // bits of the output counter
    localparam integer LAST_BASE_I = NUM_CLASSES - PE;
    localparam [IDX_BITS-1:0] LAST_BASE = LAST_BASE_I[IDX_BITS-1:0]; // index of element 0 of a frame's last beat
    localparam [IDX_BITS-1:0] PE_STEP   = PE[IDX_BITS-1:0];          // base increment per beat (modulo 2**IDX_BITS)

    initial begin
        if (NUM_CLASSES < 1 || PE < 1 || NUM_CLASSES % PE != 0) begin
            $display("%m: label_select: PE (%0d) must divide NUM_CLASSES (%0d)", PE, NUM_CLASSES); $finish;
        end
        if (IN_BITS < 1) begin $display("%m: label_select: IN_BITS must be >= 1"); $finish; end
        if (IN_SIGNED != 0 && IN_SIGNED != 1) begin $display("%m: label_select: IN_SIGNED must be 0 or 1"); $finish; end
        if (K < 1 || K > NUM_CLASSES) begin
            $display("%m: label_select: K (%0d) must be in 1..NUM_CLASSES (%0d)", K, NUM_CLASSES); $finish;
        end
        if (IDX_BITS < 1 || (NUM_CLASSES > 1 && IDX_BITS < $clog2(NUM_CLASSES))) begin
            $display("%m: label_select: IDX_BITS (%0d) cannot hold index %0d", IDX_BITS, NUM_CLASSES - 1); $finish;
        end
    end

    // -- input skid entry: registered s_axis_tready -----------------------------------------
    reg  [IN_W-1:0] skid_data;
    reg             skid_valid;
    reg             done;       // a finished frame waits in the top-K registers
    wire            in_valid = skid_valid || s_axis_tvalid;
    wire [IN_W-1:0] skid_out = skid_valid ? skid_data : s_axis_tdata;

    // -- input register: the beat the insertion works on ------------------------------------
    reg  [IN_W-1:0]     in_data;    // its PE elements
    reg  [IDX_BITS-1:0] in_base;    // class index of its element 0
    reg                 in_first;   // the first beat of a frame (control, reset)
    reg                 in_last;    // the last beat of a frame (control, reset)
    reg                 in_full;    // holds a beat (control, reset)
    wire                take = in_full && !done;            // the insertion takes it
    wire                core_ready = !in_full || !done;     // the register takes a beat
    wire                load = in_valid && core_ready;

    assign s_axis_tready = !skid_valid;

    // -- running top K: values (extended), indices, valid flags; entry 0 is the largest ----
    reg [K*VW-1:0]       top_val;
    reg [K*IDX_BITS-1:0] top_idx;
    reg [K-1:0]          top_vld;
    reg [IDX_BITS-1:0]   base;   // class index of element 0 of the next beat to load
    wire first = in_first;
    wire last  = in_last;

    // -- output shift register: indices still to send, entry 0 on the output --------------
    reg [K*IDX_BITS-1:0] out_idx;
    reg [KW-1:0]         out_left;
    wire out_free = out_left == {KW{1'b0}} || (out_left == {{(KW-1){1'b0}}, 1'b1} && m_axis_tready);

    assign m_axis_tdata  = out_idx[IDX_BITS-1:0];
    assign m_axis_tvalid = out_left != {KW{1'b0}};

    // -- insertion of the PE elements of the beat on in_data ------------------------------
    reg [K*VW-1:0]       cur_val, nxt_val;
    reg [K*IDX_BITS-1:0] cur_idx, nxt_idx;
    reg [K-1:0]          cur_vld, nxt_vld;
    reg [K-1:0]          above;  // above[j]: the element goes at or before entry j
    reg [VW-1:0]         x;
    reg [IDX_BITS-1:0]   xi;
    integer s, j;

    always @* begin
        cur_val = top_val;
        cur_idx = top_idx;
        cur_vld = top_vld & {K{!first}};
        nxt_val = cur_val;
        nxt_idx = cur_idx;
        nxt_vld = cur_vld;
        above = {K{1'b0}};
        x = {VW{1'b0}};
        xi = {IDX_BITS{1'b0}};
        for (s = 0; s < PE; s = s + 1) begin
            x = {IN_SIGNED != 0 && in_data[s*IN_BITS + IN_BITS - 1], in_data[s*IN_BITS +: IN_BITS]};
            xi = in_base + s[IDX_BITS-1:0];
            for (j = 0; j < K; j = j + 1)
                above[j] = !cur_vld[j] || $signed(x) > $signed(cur_val[j*VW +: VW]);
            nxt_val = cur_val;
            nxt_idx = cur_idx;
            nxt_vld = cur_vld;
            // Entry 0 takes the element if it is above it; entry j > 0 keeps its value, takes
            // the element (first entry it is above) or takes entry j-1 (shifted down).
            if (above[0]) begin
                nxt_val[VW-1:0] = x;
                nxt_idx[IDX_BITS-1:0] = xi;
                nxt_vld[0] = 1'b1;
            end
            for (j = 1; j < K; j = j + 1) begin
                if (above[j] && !above[j-1]) begin
                    nxt_val[j*VW +: VW] = x;
                    nxt_idx[j*IDX_BITS +: IDX_BITS] = xi;
                    nxt_vld[j] = 1'b1;
                end else if (above[j]) begin
                    nxt_val[j*VW +: VW] = cur_val[(j-1)*VW +: VW];
                    nxt_idx[j*IDX_BITS +: IDX_BITS] = cur_idx[(j-1)*IDX_BITS +: IDX_BITS];
                    nxt_vld[j] = cur_vld[j-1];
                end
            end
            cur_val = nxt_val;
            cur_idx = nxt_idx;
            cur_vld = nxt_vld;
        end
    end

    wire to_out    = take && last && out_free;   // a frame ends and its indices go out now
    wire from_done = done && out_free;           // a waiting frame's indices go out

    always @(posedge ap_clk) begin
        if (s_axis_tvalid && !skid_valid && !core_ready) skid_data <= s_axis_tdata;
        if (load) begin
            in_data <= skid_out;
            in_base <= base;
        end
        if (take) begin
            top_val <= nxt_val;
            top_idx <= nxt_idx;
            top_vld <= nxt_vld;
        end
        if (to_out) out_idx <= nxt_idx;
        else if (from_done) out_idx <= top_idx;
        else if (m_axis_tvalid && m_axis_tready) out_idx <= out_idx >> IDX_BITS;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            skid_valid <= 1'b0;
            done <= 1'b0;
            base <= {IDX_BITS{1'b0}};
            out_left <= {KW{1'b0}};
            in_full <= 1'b0;
            in_first <= 1'b0;
            in_last <= 1'b0;
        end else begin
            if (core_ready) skid_valid <= 1'b0;
            else if (s_axis_tvalid) skid_valid <= 1'b1;
            if (load) begin
                base <= (base == LAST_BASE) ? {IDX_BITS{1'b0}} : base + PE_STEP;
                in_first <= base == {IDX_BITS{1'b0}};
                in_last <= base == LAST_BASE;
            end
            if (load) in_full <= 1'b1;
            else if (take) in_full <= 1'b0;
            if (take && last && !out_free) done <= 1'b1;
            else if (from_done) done <= 1'b0;
            if (to_out || from_done) out_left <= K[KW-1:0];
            else if (m_axis_tvalid && m_axis_tready) out_left <= out_left - 1'b1;
        end
    end
endmodule

`default_nettype wire
