// thresholding: per-channel multi-thresholding of an integer AXI-Stream (bnncc's
// Thresholding op, i.e. MultiThreshold along the channel axis of an NHWC stream).
//
// Each input element x of channel c becomes
//     y = (#{t : x >= T[c][t]} + OUT_BIAS) mod 2**OUT_BITS,
// where x is sign-extended (IN_SIGNED) or zero-extended to THRESHOLD_BITS bits and compared
// with the stored thresholds as signed THRESHOLD_BITS-bit values. Any integer threshold
// can be clamped to [min(x), max(x) + 1] without changing a count (max(x) + 1 is never
// reached, min(x) always is); that range needs THRESHOLD_BITS = IN_BITS + 1 for signed
// input and IN_BITS + 2 for unsigned input (max(x) + 1 = 2**IN_BITS). OUT_BIAS maps the
// count to the output code: 0 for UINT/BINARY (and BIPOLAR, one threshold: bit 1 = +1),
// -2**(OUT_BITS-1) for INT(OUT_BITS) (count + min).
//
// The thresholds of every channel must be sorted ascending, T[c][0] <= T[c][1] <= ...
// (the count does not depend on their order, so the builder sorts them). The compare bits
// c[t] = (x >= T[c][t]) then form a thermometer code, c[t] = 1 exactly for t < k with k the
// count, and bit j of k is the parity of #{m >= 1 : m * 2**j <= k}, the multiples of 2**j
// in 1..k:
//     k[j] = XOR over m >= 1 with m * 2**j <= N_THRESHOLDS of c[m * 2**j - 1],
// a balanced XOR tree of about N_THRESHOLDS / 2**j compare bits per output bit (no adder
// chain through the thresholds). Unsorted thresholds give wrong counts.
//
// Stream format: input beats of PE elements of IN_BITS bits, output beats of PE elements
// of OUT_BITS bits, element 0 in the least significant bits. Channels cycle along the
// stream: beat i carries channels c = (i mod (CH/PE))*PE + p, p = 0..PE-1.
//
// Thresholds memory (THRESHOLD_FILE, $readmemh, one hex word per line): CH/PE words of
// PE*N_THRESHOLDS*THRESHOLD_BITS bits; word f holds T[f*PE + p][t] (two's complement) at
// bits [(p*N_THRESHOLDS + t)*THRESHOLD_BITS +: THRESHOLD_BITS]. The Python helper
// bnncc/hw/memory_words.py writes it.
//
// Pipeline, one beat per cycle, a global stall (every register advances when the output
// register is free or taken): stage 1 registers the input element and the threshold word
// (synchronous read: block or distributed RAM); with REGISTER_COMPARES = 0 the compares
// and the count go to the output register (latency two cycles from an input beat to its
// output beat); with REGISTER_COMPARES = 1 the compare bits are registered first and the
// count reaches the output register one cycle later (latency three cycles). The input has
// a skid entry so that s_axis_tready is a register. Only control registers are reset.
`timescale 1ns / 1ps
`default_nettype none

module thresholding #(
    parameter integer CH             = 4,  // channels, a multiple of PE
    parameter integer PE             = 1,  // channels (elements) per beat, divides CH
    parameter integer IN_BITS        = 8,  // bits of an input element
    parameter integer IN_SIGNED      = 1,  // 1: input elements are two's complement, 0: unsigned
    parameter integer N_THRESHOLDS   = 1,  // thresholds per channel, >= 1
    parameter integer THRESHOLD_BITS = 9,  // bits of a stored threshold (signed), >= IN_BITS + 1 (see above)
    parameter integer OUT_BITS       = 1,  // bits of an output element, 1..32
    parameter integer OUT_BIAS       = 0,  // added to the count, modulo 2**OUT_BITS (may be negative)
    parameter integer REGISTER_COMPARES = 0, // 1: a register between the compares and the count
    parameter        THRESHOLD_FILE  = ""  // thresholds .mem file (layout above); a relative path is
                                           // resolved from the tool's working directory
) (
    input  wire                   ap_clk,
    input  wire                   ap_rst_n,
    input  wire [PE*IN_BITS-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    output wire [PE*OUT_BITS-1:0] m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);
    localparam integer FOLD   = CH / PE;                            // beats per pixel (memory words)
    localparam integer AW     = (FOLD <= 1) ? 1 : $clog2(FOLD);     // memory address bits
    localparam integer IN_W   = PE * IN_BITS;
    localparam integer OUT_W  = PE * OUT_BITS;
    localparam integer WORD_W = PE * N_THRESHOLDS * THRESHOLD_BITS; // bits of a memory word
    localparam integer TB     = THRESHOLD_BITS;
    localparam [OUT_BITS-1:0] BIAS = OUT_BIAS[OUT_BITS-1:0];      // OUT_BIAS modulo 2**OUT_BITS

    initial begin
        if (CH < 1 || PE < 1 || CH % PE != 0) begin
            $display("%m: thresholding: PE (%0d) must divide CH (%0d)", PE, CH); $finish;
        end
        if (IN_BITS < 1) begin $display("%m: thresholding: IN_BITS must be >= 1"); $finish; end
        if (IN_SIGNED != 0 && IN_SIGNED != 1) begin $display("%m: thresholding: IN_SIGNED must be 0 or 1"); $finish; end
        if (N_THRESHOLDS < 1) begin $display("%m: thresholding: N_THRESHOLDS must be >= 1"); $finish; end
        if (THRESHOLD_BITS < IN_BITS + 1) begin
            $display("%m: thresholding: THRESHOLD_BITS (%0d) must be >= IN_BITS + 1 (%0d)", THRESHOLD_BITS, IN_BITS + 1);
            $finish;
        end
        if (OUT_BITS < 1 || OUT_BITS > 32) begin $display("%m: thresholding: OUT_BITS must be 1..32"); $finish; end
        if (REGISTER_COMPARES != 0 && REGISTER_COMPARES != 1) begin
            $display("%m: thresholding: REGISTER_COMPARES must be 0 or 1"); $finish;
        end
    end

    reg [WORD_W-1:0] thresholds [0:FOLD-1];
    initial $readmemh(THRESHOLD_FILE, thresholds);

    // -- input skid entry: registered s_axis_tready -----------------------------------------
    // The pipeline advances when its output register is free; a beat offered while it does
    // not is caught in the skid entry, and input stops until the skid entry drains.
    reg [IN_W-1:0]  skid_data;
    reg             skid_valid;
    reg [OUT_W-1:0] out_data;   // output register
    reg             out_valid;
    wire           advance = !out_valid || m_axis_tready;
    wire           in_valid = skid_valid || s_axis_tvalid;
    wire [IN_W-1:0] in_data = skid_valid ? skid_data : s_axis_tdata;
    wire           take = in_valid && advance;  // a beat enters stage 1

    assign s_axis_tready = !skid_valid;

    // -- stage 1: threshold word read, input element register -------------------------------
    reg [AW-1:0]     addr;
    reg [WORD_W-1:0] word;
    reg [IN_W-1:0]   x;
    reg              x_valid;

    // -- compares: c[p*N + t] = (x_p >= T[p][t]) -------------------------------------------
    localparam integer NC = PE * N_THRESHOLDS;
    reg [NC-1:0] compares;
    reg [TB-1:0] element;
    integer p, t;

    always @* begin
        for (p = 0; p < PE; p = p + 1) begin
            element = {{(TB - IN_BITS){IN_SIGNED != 0 && x[p*IN_BITS + IN_BITS - 1]}}, x[p*IN_BITS +: IN_BITS]};
            for (t = 0; t < N_THRESHOLDS; t = t + 1)
                compares[p*N_THRESHOLDS + t] = $signed(element) >= $signed(word[(p*N_THRESHOLDS + t)*TB +: TB]);
        end
    end

    // -- optional compare register ------------------------------------------------------------
    wire [NC-1:0] thermometer;  // the compare bits the count reads
    wire          count_valid;  // they hold a beat
    generate
        if (REGISTER_COMPARES != 0) begin : g_registered
            reg [NC-1:0] compares_q;
            reg          compares_valid;
            always @(posedge ap_clk) if (advance) compares_q <= compares;
            always @(posedge ap_clk) begin
                if (!ap_rst_n) compares_valid <= 1'b0;
                else if (advance) compares_valid <= x_valid;
            end
            assign thermometer = compares_q;
            assign count_valid = compares_valid;
        end else begin : g_direct
            assign thermometer = compares;
            assign count_valid = x_valid;
        end
    endgenerate

    // -- count of a thermometer code, plus OUT_BIAS: into the output register -------------------
    // bit j of the count: XOR of c[m * 2**j - 1], m >= 1 (see the header); 2**j > N gives 0
    // (a reduction XOR of the selected bits, the others zero: Yosys maps it as a balanced tree)
    reg [OUT_W-1:0]        result;
    reg [OUT_BITS-1:0]     count;
    reg [N_THRESHOLDS-1:0] selected;
    integer j, m;

    always @* begin
        for (p = 0; p < PE; p = p + 1) begin
            for (j = 0; j < OUT_BITS; j = j + 1) begin
                selected = {N_THRESHOLDS{1'b0}};
                if (j < 31)
                    for (m = (1 << j) - 1; m < N_THRESHOLDS; m = m + (1 << j))
                        selected[m] = thermometer[p*N_THRESHOLDS + m];
                count[j] = ^selected;
            end
            result[p*OUT_BITS +: OUT_BITS] = count + BIAS;
        end
    end

    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;

    always @(posedge ap_clk) begin
        if (s_axis_tvalid && !skid_valid && !advance) skid_data <= s_axis_tdata;
        if (take) begin
            word <= thresholds[addr];
            x <= in_data;
        end
        if (advance) out_data <= result;
    end

    always @(posedge ap_clk) begin
        if (!ap_rst_n) begin
            skid_valid <= 1'b0;
            addr <= {AW{1'b0}};
            x_valid <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (advance) skid_valid <= 1'b0;
            else if (s_axis_tvalid) skid_valid <= 1'b1;
            if (take) addr <= (addr == FOLD[AW-1:0] - 1'b1) ? {AW{1'b0}} : addr + 1'b1;
            if (advance) begin
                x_valid <= in_valid;
                out_valid <= count_valid;
            end
        end
    end
endmodule

`default_nettype wire
