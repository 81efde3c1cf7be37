"""PLL settings of the board shells: the divider values that make the core clock from a
board's oscillator, and the vendor primitive instance that applies them.

ECP5 ``EHXPLLL`` (Lattice TN1263, FPGA-DS-02012), feedback from CLKOP
(``FEEDBK_PATH = "CLKOP"``)::

    f_pfd = f_in / CLKI_DIV                 3.125 .. 400 MHz   (CLKI_DIV 1 .. 128)
    f_out = f_pfd * CLKFB_DIV               3.125 .. 400 MHz   (CLKFB_DIV 1 .. 128)
    f_vco = f_out * CLKOP_DIV               400 .. 800 MHz     (CLKOP_DIV 1 .. 128)

with the input itself between 8 and 400 MHz. Every (CLKI_DIV, CLKFB_DIV) inside the limits
is tried; the setting closest to the requested frequency wins, ties going to the VCO
nearest 600 MHz, as prjtrellis' ``ecppll`` does. ``CLKOP_CPHASE = CLKOP_DIV - 1`` puts
CLKOP at phase 0 (the value Lattice's tools write for 0 degrees).

iCE40 ``SB_PLL40_PAD`` / ``SB_PLL40_CORE`` (Lattice iCE40 sysCLOCK PLL guide), simple
feedback (``FEEDBACK_PATH = "SIMPLE"``)::

    f_pfd = f_in / (DIVR + 1)               10 .. 133 MHz      (DIVR 0 .. 15)
    f_vco = f_pfd * (DIVF + 1)              533 .. 1066 MHz    (DIVF 0 .. 127)
    f_out = f_vco / 2**DIVQ                 16 .. 275 MHz      (DIVQ 1 .. 6)

with the input between 10 and 133 MHz, and ``FILTER_RANGE`` from f_pfd as in icestorm's
``icepll`` (1 below 17 MHz, 2 below 26, 3 below 44, 4 below 66, 5 below 101, else 6). The
first setting with the smallest error wins, in icepll's order (DIVR, DIVF, DIVQ rising).

A requested frequency is reachable when the best setting is within :data:`TOLERANCE`
(relative) of it; otherwise :func:`pll_for` refuses it and names the nearest frequency the
PLL makes. A request for the oscillator's own frequency uses no PLL (:class:`NoPll`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bnncc.errors import UsageError

#: Largest relative difference between the requested and the achieved core clock.
TOLERANCE = 0.01


@dataclass(frozen=True)
class Ecp5Pll:
    """One EHXPLLL setting (feedback from CLKOP) and the frequencies it gives, MHz."""

    clki_div: int
    clkfb_div: int
    clkop_div: int
    f_in: float
    primitive = "EHXPLLL"

    @property
    def f_pfd(self) -> float:
        return self.f_in / self.clki_div

    @property
    def f_out(self) -> float:
        return self.f_pfd * self.clkfb_div

    @property
    def f_vco(self) -> float:
        return self.f_out * self.clkop_div

    @property
    def clkop_cphase(self) -> int:
        return self.clkop_div - 1

    def parameters(self) -> dict[str, int | str]:
        """The primitive's parameters, in the order ``ecppll`` writes them."""
        return {
            "PLLRST_ENA": '"DISABLED"', "INTFB_WAKE": '"DISABLED"', "STDBY_ENABLE": '"DISABLED"',
            "DPHASE_SOURCE": '"DISABLED"', "OUTDIVIDER_MUXA": '"DIVA"', "OUTDIVIDER_MUXB": '"DIVB"',
            "OUTDIVIDER_MUXC": '"DIVC"', "OUTDIVIDER_MUXD": '"DIVD"', "CLKI_DIV": self.clki_div,
            "CLKOP_ENABLE": '"ENABLED"', "CLKOP_DIV": self.clkop_div, "CLKOP_CPHASE": self.clkop_cphase,
            "CLKOP_FPHASE": 0, "FEEDBK_PATH": '"CLKOP"', "CLKFB_DIV": self.clkfb_div,
        }

    def describe(self) -> str:
        return (f"EHXPLLL CLKI_DIV={self.clki_div} CLKFB_DIV={self.clkfb_div} CLKOP_DIV={self.clkop_div}: "
                f"{self.f_in:g} MHz / {self.clki_div} * {self.clkfb_div} = {self.f_out:.6g} MHz "
                f"(VCO {self.f_vco:.6g} MHz)")

    def instance(self, clock_in: str, clock_out: str, locked: str) -> str:
        """Verilog of the instance (with the attributes nextpnr and Diamond read)."""
        parameters = ",\n".join(f"        .{name}({value})" for name, value in self.parameters().items())
        return f"""\
    (* FREQUENCY_PIN_CLKI="{self.f_in:g}" *)
    (* FREQUENCY_PIN_CLKOP="{self.f_out:.6g}" *)
    (* ICP_CURRENT="12" *) (* LPF_RESISTOR="8" *) (* MFG_ENABLE_FILTEROPAMP="1" *) (* MFG_GMCREF_SEL="2" *)
    /* verilator lint_off PINCONNECTEMPTY */
    EHXPLLL #(
{parameters}
    ) pll (
        .RST(1'b0), .STDBY(1'b0), .CLKI({clock_in}), .CLKOP({clock_out}), .CLKFB({clock_out}),
        .CLKOS(), .CLKOS2(), .CLKOS3(), .CLKINTFB(),
        .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b1), .PHASESTEP(1'b1), .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0), .ENCLKOS(1'b0), .ENCLKOS2(1'b0), .ENCLKOS3(1'b0),
        .LOCK({locked}), .INTLOCK(), .REFCLK()
    );
    /* verilator lint_on PINCONNECTEMPTY */
"""


@dataclass(frozen=True)
class Ice40Pll:
    """One SB_PLL40 setting (simple feedback) and the frequencies it gives, MHz.
    ``pad``: the input is the PLL's own package pin (``SB_PLL40_PAD``), else a global
    clock net (``SB_PLL40_CORE``)."""

    divr: int
    divf: int
    divq: int
    f_in: float
    pad: bool = True

    @property
    def primitive(self) -> str:
        return "SB_PLL40_PAD" if self.pad else "SB_PLL40_CORE"

    @property
    def f_pfd(self) -> float:
        return self.f_in / (self.divr + 1)

    @property
    def f_vco(self) -> float:
        return self.f_pfd * (self.divf + 1)

    @property
    def f_out(self) -> float:
        return self.f_vco / 2 ** self.divq

    @property
    def filter_range(self) -> int:
        pfd = self.f_pfd
        return 1 if pfd < 17 else 2 if pfd < 26 else 3 if pfd < 44 else 4 if pfd < 66 else 5 if pfd < 101 else 6

    def parameters(self) -> dict[str, int | str]:
        return {"FEEDBACK_PATH": '"SIMPLE"', "DIVR": f"4'd{self.divr}", "DIVF": f"7'd{self.divf}",
                "DIVQ": f"3'd{self.divq}", "FILTER_RANGE": f"3'd{self.filter_range}"}

    def describe(self) -> str:
        return (f"{self.primitive} DIVR={self.divr} DIVF={self.divf} DIVQ={self.divq}: {self.f_in:g} MHz / "
                f"{self.divr + 1} * {self.divf + 1} / {2 ** self.divq} = {self.f_out:.6g} MHz (VCO {self.f_vco:.6g} MHz)")

    def instance(self, clock_in: str, clock_out: str, locked: str) -> str:
        parameters = ",\n".join(f"        .{name}({value})" for name, value in self.parameters().items())
        source = f".PACKAGEPIN({clock_in})" if self.pad else f".REFERENCECLK({clock_in})"
        return f"""\
    /* verilator lint_off PINCONNECTEMPTY */
    {self.primitive} #(
{parameters}
    ) pll (
        {source}, .PLLOUTGLOBAL({clock_out}), .PLLOUTCORE(), .LOCK({locked}),
        .RESETB(1'b1), .BYPASS(1'b0), .EXTFEEDBACK(1'b0), .DYNAMICDELAY(8'd0),
        .LATCHINPUTVALUE(1'b0), .SDI(1'b0), .SCLK(1'b0), .SDO()
    );
    /* verilator lint_on PINCONNECTEMPTY */
"""


@dataclass(frozen=True)
class NoPll:
    """The core runs at the oscillator itself: no PLL, never out of lock."""

    f_in: float
    primitive = "oscillator"

    @property
    def f_out(self) -> float:
        return self.f_in

    def describe(self) -> str:
        return f"no PLL: the core runs at the {self.f_in:g} MHz oscillator"

    def instance(self, clock_in: str, clock_out: str, locked: str) -> str:
        return f"    assign {clock_out} = {clock_in};\n    assign {locked} = 1'b1;\n"


Pll = Ecp5Pll | Ice40Pll | NoPll


def _ratio_error(f_out: float, wanted: float) -> float:
    return abs(f_out - wanted)


def ecp5_settings(f_in: float):
    """Every EHXPLLL setting within the limits, one per reachable (CLKI_DIV, CLKFB_DIV):
    the CLKOP_DIV whose VCO is nearest 600 MHz."""
    if not 8 <= f_in <= 400:
        raise UsageError(f"EHXPLLL: a {f_in:g} MHz input is outside 8 .. 400 MHz")
    for clki_div in range(1, 129):
        pfd = f_in / clki_div
        if not 3.125 <= pfd <= 400:
            continue
        for clkfb_div in range(1, 129):
            f_out = pfd * clkfb_div
            if not 3.125 <= f_out <= 400:
                continue
            dividers = [d for d in range(1, 129) if 400 <= f_out * d <= 800]
            if dividers:
                best = min(dividers, key=lambda d: abs(f_out * d - 600))
                yield Ecp5Pll(clki_div, clkfb_div, best, f_in)


def ecp5_pll(f_in: float, wanted: float) -> Ecp5Pll:
    """The EHXPLLL setting whose CLKOP is closest to ``wanted`` MHz (ties: VCO nearest
    600 MHz, then the smallest dividers)."""
    return min(ecp5_settings(f_in), key=lambda s: (round(_ratio_error(s.f_out, wanted), 9), abs(s.f_vco - 600),
                                                   s.clki_div, s.clkfb_div))


def ice40_settings(f_in: float, pad: bool = True):
    """Every SB_PLL40 setting (simple feedback) within the limits, in icepll's order."""
    if not 10 <= f_in <= 133:
        raise UsageError(f"SB_PLL40: a {f_in:g} MHz input is outside 10 .. 133 MHz")
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10 <= pfd <= 133:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533 <= vco <= 1066:
                continue
            for divq in range(1, 7):
                if 16 <= vco / 2 ** divq <= 275:
                    yield Ice40Pll(divr, divf, divq, f_in, pad)


def ice40_pll(f_in: float, wanted: float, pad: bool = True) -> Ice40Pll:
    """The first SB_PLL40 setting (in icepll's order) whose output is closest to ``wanted``."""
    return min(ice40_settings(f_in, pad), key=lambda s: round(_ratio_error(s.f_out, wanted), 9))


def pll_for(family: str, f_in: float, wanted: float, where: str = "--clock-mhz", pad: bool = True) -> Pll:
    """The setting for ``wanted`` MHz from an ``f_in`` MHz oscillator on ``family``; refuses
    (naming ``where`` and the nearest reachable frequency) when it is more than
    :data:`TOLERANCE` away."""
    if not wanted > 0:
        raise UsageError(f"{where} {wanted:g}: expected a positive frequency in MHz")
    if wanted == f_in:
        return NoPll(f_in)
    if family == "ecp5":
        setting = ecp5_pll(f_in, wanted)
    elif family == "ice40":
        setting = ice40_pll(f_in, wanted, pad)
    else:
        raise UsageError(f"{where}: no PLL model for the {family} family (expected ecp5 or ice40)")
    if abs(setting.f_out - wanted) > TOLERANCE * wanted:
        raise UsageError(f"{where} {wanted:g}: the {setting.primitive} cannot make {wanted:g} MHz from the "
                         f"{f_in:g} MHz oscillator within {TOLERANCE:.0%}; the nearest it reaches is "
                         f"{setting.f_out:.6g} MHz")
    return setting
