// Simulation models of the vendor PLL primitives the board tops instantiate (EHXPLLL on ECP5,
// SB_PLL40_PAD and SB_PLL40_CORE on iCE40), for Verilator: lint, and pin-level
// co-simulation of a whole board top. Never synthesized (the vendor cells are).
//
// A Verilator model cannot make a clock of another frequency from its input, so these take
// on their input a "tick" clock faster than the oscillator and divide it: the test bench
// runs the input at f_tick = f_osc * 2 * CLKFB_DIV (EHXPLLL, feedback from CLKOP) or
// f_osc * 2 * (DIVF + 1) (SB_PLL40, simple feedback), and the output toggles every
// CLKI_DIV ticks (every (DIVR + 1) * 2**DIVQ ticks). The output is then exactly
//     f_out = f_osc * CLKFB_DIV / CLKI_DIV               (EHXPLLL)
//     f_out = f_osc * (DIVF + 1) / ((DIVR + 1) * 2**DIVQ)  (SB_PLL40)
// as on the device, from the same parameter values. LOCK is low for LOCK_CYCLES output
// cycles after configuration (8192: longer than a UART character at any core clock below
// 94 MHz, so that a bench can show that nothing before the lock reaches the core), then
// high.
`timescale 1ns / 1ps
`default_nettype none

/* verilator lint_off DECLFILENAME */  // one file of several vendor cell models
/* verilator lint_off UNUSEDPARAM */
/* verilator lint_off UNUSEDSIGNAL */
module EHXPLLL #(
    parameter integer CLKI_DIV = 1, parameter integer CLKFB_DIV = 1, parameter integer CLKOP_DIV = 8,
    parameter integer CLKOS_DIV = 8, parameter integer CLKOS2_DIV = 8, parameter integer CLKOS3_DIV = 8,
    parameter CLKOP_ENABLE = "ENABLED", parameter CLKOS_ENABLE = "DISABLED",
    parameter CLKOS2_ENABLE = "DISABLED", parameter CLKOS3_ENABLE = "DISABLED",
    parameter integer CLKOP_CPHASE = 0, parameter integer CLKOS_CPHASE = 0,
    parameter integer CLKOS2_CPHASE = 0, parameter integer CLKOS3_CPHASE = 0,
    parameter integer CLKOP_FPHASE = 0, parameter integer CLKOS_FPHASE = 0,
    parameter integer CLKOS2_FPHASE = 0, parameter integer CLKOS3_FPHASE = 0,
    parameter FEEDBK_PATH = "CLKOP",
    parameter OUTDIVIDER_MUXA = "DIVA", parameter OUTDIVIDER_MUXB = "DIVB",
    parameter OUTDIVIDER_MUXC = "DIVC", parameter OUTDIVIDER_MUXD = "DIVD",
    parameter STDBY_ENABLE = "DISABLED", parameter DPHASE_SOURCE = "DISABLED",
    parameter PLLRST_ENA = "DISABLED", parameter INTFB_WAKE = "DISABLED",
    parameter integer LOCK_CYCLES = 8192  // model only: output cycles before LOCK
) (
    input  wire CLKI, input wire CLKFB, input wire RST, input wire STDBY,
    input  wire PHASESEL0, input wire PHASESEL1, input wire PHASEDIR, input wire PHASESTEP,
    input  wire PHASELOADREG, input wire PLLWAKESYNC,
    input  wire ENCLKOP, input wire ENCLKOS, input wire ENCLKOS2, input wire ENCLKOS3,
    output reg  CLKOP, output wire CLKOS, output wire CLKOS2, output wire CLKOS3,
    output reg  LOCK, output wire INTLOCK, output wire REFCLK, output wire CLKINTFB
);
    reg [7:0]  ticks;   // input ticks since the last CLKOP edge
    reg [15:0] cycles;  // CLKOP cycles since configuration, saturating at LOCK_CYCLES

    initial begin
        if (FEEDBK_PATH != "CLKOP") begin $display("%m: EHXPLLL model: only FEEDBK_PATH \"CLKOP\""); $finish; end
        if (CLKI_DIV < 1 || CLKI_DIV > 128) begin $display("%m: EHXPLLL: CLKI_DIV must be 1..128"); $finish; end
        CLKOP = 1'b0;
        LOCK = 1'b0;
        ticks = 8'd0;
        cycles = 16'd0;
    end

    always @(posedge CLKI) begin
        if (ticks == CLKI_DIV[7:0] - 8'd1) begin
            ticks <= 8'd0;
            CLKOP <= !CLKOP;
        end else begin
            ticks <= ticks + 8'd1;
        end
    end

    always @(posedge CLKOP) begin
        if (cycles == LOCK_CYCLES[15:0]) LOCK <= 1'b1;
        else cycles <= cycles + 16'd1;
    end

    assign CLKOS = 1'b0;
    assign CLKOS2 = 1'b0;
    assign CLKOS3 = 1'b0;
    assign INTLOCK = LOCK;
    assign REFCLK = CLKI;
    assign CLKINTFB = 1'b0;
endmodule

// The SB_PLL40 divider and lock, shared by the _PAD and _CORE models.
module sb_pll40_model #(
    parameter [3:0] DIVR = 4'd0, parameter [2:0] DIVQ = 3'd1,
    parameter integer LOCK_CYCLES = 8192
) (
    input wire tick, input wire resetb, input wire bypass,
    output wire clock, output reg lock
);
    localparam integer R = {28'd0, DIVR};
    localparam integer Q = {29'd0, DIVQ};
    localparam integer HALF = (R + 1) * (1 << Q);  // ticks per half output period
    reg [11:0] ticks;
    reg [15:0] cycles;
    reg        divided;

    initial begin
        divided = 1'b0;
        lock = 1'b0;
        ticks = 12'd0;
        cycles = 16'd0;
    end

    always @(posedge tick) begin
        if (ticks == HALF[11:0] - 12'd1) begin
            ticks <= 12'd0;
            divided <= !divided;
        end else begin
            ticks <= ticks + 12'd1;
        end
    end

    always @(posedge divided) begin
        if (!resetb) begin
            lock <= 1'b0;
            cycles <= 16'd0;
        end else if (cycles == LOCK_CYCLES[15:0]) lock <= 1'b1;
        else cycles <= cycles + 16'd1;
    end

    assign clock = bypass ? tick : divided;
endmodule

module SB_PLL40_PAD #(
    parameter FEEDBACK_PATH = "SIMPLE", parameter [3:0] DIVR = 4'd0, parameter [6:0] DIVF = 7'd0,
    parameter [2:0] DIVQ = 3'd1, parameter [2:0] FILTER_RANGE = 3'd0,
    parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = "FIXED", parameter DELAY_ADJUSTMENT_MODE_RELATIVE = "FIXED",
    parameter PLLOUT_SELECT = "GENCLK", parameter integer LOCK_CYCLES = 8192
) (
    input  wire PACKAGEPIN, output wire PLLOUTCORE, output wire PLLOUTGLOBAL, input wire EXTFEEDBACK,
    input  wire [7:0] DYNAMICDELAY, output wire LOCK, input wire BYPASS, input wire RESETB,
    input  wire LATCHINPUTVALUE, output wire SDO, input wire SDI, input wire SCLK
);
    initial begin
        if (FEEDBACK_PATH != "SIMPLE") begin $display("%m: SB_PLL40_PAD model: only FEEDBACK_PATH \"SIMPLE\""); $finish; end
    end
    sb_pll40_model #(.DIVR(DIVR), .DIVQ(DIVQ), .LOCK_CYCLES(LOCK_CYCLES)) model (
        .tick(PACKAGEPIN), .resetb(RESETB), .bypass(BYPASS), .clock(PLLOUTGLOBAL), .lock(LOCK));
    assign PLLOUTCORE = PLLOUTGLOBAL;
    assign SDO = 1'b0;
endmodule

module SB_PLL40_CORE #(
    parameter FEEDBACK_PATH = "SIMPLE", parameter [3:0] DIVR = 4'd0, parameter [6:0] DIVF = 7'd0,
    parameter [2:0] DIVQ = 3'd1, parameter [2:0] FILTER_RANGE = 3'd0,
    parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = "FIXED", parameter DELAY_ADJUSTMENT_MODE_RELATIVE = "FIXED",
    parameter PLLOUT_SELECT = "GENCLK", parameter integer LOCK_CYCLES = 8192
) (
    input  wire REFERENCECLK, output wire PLLOUTCORE, output wire PLLOUTGLOBAL, input wire EXTFEEDBACK,
    input  wire [7:0] DYNAMICDELAY, output wire LOCK, input wire BYPASS, input wire RESETB,
    input  wire LATCHINPUTVALUE, output wire SDO, input wire SDI, input wire SCLK
);
    initial begin
        if (FEEDBACK_PATH != "SIMPLE") begin $display("%m: SB_PLL40_CORE model: only FEEDBACK_PATH \"SIMPLE\""); $finish; end
    end
    sb_pll40_model #(.DIVR(DIVR), .DIVQ(DIVQ), .LOCK_CYCLES(LOCK_CYCLES)) model (
        .tick(REFERENCECLK), .resetb(RESETB), .bypass(BYPASS), .clock(PLLOUTGLOBAL), .lock(LOCK));
    assign PLLOUTCORE = PLLOUTGLOBAL;
    assign SDO = 1'b0;
endmodule
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on DECLFILENAME */

`default_nettype wire
