"""The parameter rules of every rtl_lib module, mirrored from its Verilog.

Each ``rtl_lib`` module stops elaboration on illegal parameters: an ``initial`` block checks
conditions and, when one holds, prints ``"%m: <module>: <message>"`` and calls ``$finish``.
This file holds, for every module, the same checks in Python -- one :class:`Rule` per
Verilog check, with the check's message format and arguments written exactly as in the
Verilog -- together with the module's parameter defaults, the derived values (``localparam``)
the checks read, and the submodules whose own checks its parameters reach. The compiler
calls :func:`check_parameters` whenever it builds a stage's parameters, so a design never
violates a module's checks: the error names the stage, the module and the rule.
``tests/test_module_rules.py`` holds this table to the Verilog (every check mirrored, same
defaults) and to Verilator (same verdict on boundary parameter sets).

Arithmetic follows Verilog's 32-bit ``integer``: ``/`` truncates toward zero, ``%`` takes the
dividend's sign, a division by zero is ``x`` (a comparison with ``x`` is not true, so the
check does not fire), and ``1 << n`` wraps to a signed 32-bit value (0 for ``n`` outside
0..31).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from bnncc.errors import UnsupportedModelError


class ModuleParameterError(UnsupportedModelError):
    """A stage's parameters break one of its rtl_lib module's elaboration checks."""


# -- Verilog integer arithmetic -----------------------------------------------------------
class _X:
    """Verilog's unknown value: arithmetic on it stays unknown, comparisons are false."""

    def _same(self, *_):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __neg__ = _same
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same

    def _false(self, *_):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _false

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __repr__(self):
        return "x"


X = _X()


def _wrap32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def vdiv(a, b):
    """Verilog ``a / b`` on integers: truncated toward zero, ``x`` for ``b == 0``."""
    if a is X or b is X or b == 0:
        return X
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def vmod(a, b):
    """Verilog ``a % b`` on integers: the sign of ``a``, ``x`` for ``b == 0``."""
    quotient = vdiv(a, b)
    return X if quotient is X else a - b * quotient


def shl1(n):
    """Verilog ``1 << n`` as a 32-bit integer."""
    if n is X:
        return X
    return _wrap32(1 << n) if 0 <= n < 32 else 0


def clog2(n: int) -> int:
    """Verilog ``$clog2(n)``: bits to address ``n`` items (0 for n <= 1)."""
    return 0 if n <= 1 else (n - 1).bit_length()


# -- rules --------------------------------------------------------------------------------
Values = Mapping[str, object]


@dataclass(frozen=True)
class Rule:
    """One elaboration check: its Verilog message (format with ``%0d``/``%s``), the Verilog
    expressions of the message's arguments, and when it fires."""

    message: str
    fires: Callable[[Values], bool]
    args: tuple[str, ...] = ()

    def render(self, values: Values) -> str:
        """The message as the Verilog prints it for these values."""
        rendered = [str(_evaluate(expression, values)) for expression in self.args]
        parts = re.split(r"%0d|%s", self.message)
        text = parts[0]
        for value, part in zip(rendered, parts[1:]):
            text += value + part
        return text


def _evaluate(expression: str, values: Values):
    """An argument expression of a rule (plain names, +, -, * of this table's own strings)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\s*[-+*]\s*([A-Za-z_][A-Za-z0-9_]*|\d+))*", expression):
        raise ValueError(f"unsupported rule argument expression '{expression}'")
    return eval(expression, {"__builtins__": {}}, dict(values))  # noqa: S307 - fixed table strings


@dataclass(frozen=True)
class ModuleRules:
    """What the compiler knows of one Verilog module's parameters."""

    module: str
    defaults: dict[str, object]
    rules: tuple[Rule, ...]
    #: localparams the rules read, from the (defaulted) parameters
    derived: Callable[[dict], dict] = lambda p: {}
    #: (instance, module, parameters) of submodules that have checks of their own
    children: Callable[[dict], list[tuple[str, str, dict]]] = lambda p: []

    def values(self, parameters: Mapping[str, object]) -> dict:
        unknown = sorted(set(parameters) - set(self.defaults))
        if unknown:
            raise ModuleParameterError(f"module {self.module} has no parameter {', '.join(unknown)}")
        values = {**self.defaults, **parameters}
        values.update(self.derived(values))
        return values


def _any_below(p, names, low):
    return any(p[name] < low for name in names)


def _not_multiple(total: str, part: str):
    """``TOTAL < 1 || PART < 1 || TOTAL % PART != 0``."""
    return lambda p: p[total] < 1 or p[part] < 1 or vmod(p[total], p[part]) != 0


def _flag(name: str):
    return lambda p: p[name] != 0 and p[name] != 1


# mvau ------------------------------------------------------------------------------------
MVAU = ModuleRules(
    "mvau",
    defaults={
        "MW": 64, "MH": 64, "PE": 16, "SIMD": 16, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1,
        "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 1, "ACC_BITS": 8, "N_THRESHOLDS": 1,
        "OUT_BITS": 1, "OUT_BIAS": 0, "WEIGHT_FILE": "", "THRESHOLD_FILE": "",
    },
    derived=lambda p: {"NT": p["N_THRESHOLDS"]},
    rules=(
        Rule("MW, MH, PE and SIMD must be >= 1", lambda p: _any_below(p, ("MW", "MH", "PE", "SIMD"), 1)),
        Rule("PE=%0d does not divide MH=%0d", lambda p: vmod(p["MH"], p["PE"]) != 0, ("PE", "MH")),
        Rule("SIMD=%0d does not divide MW=%0d", lambda p: vmod(p["MW"], p["SIMD"]) != 0, ("SIMD", "MW")),
        Rule("INPUT_BITS and WEIGHT_BITS must be 1..16",
             lambda p: not (1 <= p["INPUT_BITS"] <= 16) or not (1 <= p["WEIGHT_BITS"] <= 16)),
        Rule("a bipolar operand is 1 bit and not signed",
             lambda p: (p["INPUT_BIPOLAR"] != 0 and (p["INPUT_BITS"] != 1 or p["INPUT_SIGNED"] != 0))
             or (p["WEIGHT_BIPOLAR"] != 0 and (p["WEIGHT_BITS"] != 1 or p["WEIGHT_SIGNED"] != 0))),
        Rule("BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1",
             lambda p: p["BINARY"] != 0 and (p["INPUT_BIPOLAR"] == 0 or p["WEIGHT_BIPOLAR"] == 0)),
        Rule("ACC_BITS=%0d must be 1..31", lambda p: p["ACC_BITS"] < 1 or p["ACC_BITS"] > 31, ("ACC_BITS",)),
        Rule("ACC_BITS=%0d cannot hold popcounts up to MW=%0d as signed",
             lambda p: p["BINARY"] != 0 and shl1(p["ACC_BITS"] - 1) <= p["MW"], ("ACC_BITS", "MW")),
        Rule("N_THRESHOLDS must be >= 0", lambda p: p["NT"] < 0),
        Rule("without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)",
             lambda p: p["NT"] == 0 and p["OUT_BITS"] != p["ACC_BITS"], ("OUT_BITS", "ACC_BITS")),
        Rule("OUT_BITS must be 1..30 with thresholds", lambda p: p["NT"] > 0 and not (1 <= p["OUT_BITS"] <= 30)),
    ),
)

# thresholding ----------------------------------------------------------------------------
THRESHOLDING = ModuleRules(
    "thresholding",
    defaults={"CH": 4, "PE": 1, "IN_BITS": 8, "IN_SIGNED": 1, "N_THRESHOLDS": 1, "THRESHOLD_BITS": 9, "OUT_BITS": 1,
              "OUT_BIAS": 0, "THRESHOLD_FILE": ""},
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", _not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("IN_BITS must be >= 1", lambda p: p["IN_BITS"] < 1),
        Rule("IN_SIGNED must be 0 or 1", _flag("IN_SIGNED")),
        Rule("N_THRESHOLDS must be >= 1", lambda p: p["N_THRESHOLDS"] < 1),
        Rule("THRESHOLD_BITS (%0d) must be >= IN_BITS + 1 (%0d)", lambda p: p["THRESHOLD_BITS"] < p["IN_BITS"] + 1,
             ("THRESHOLD_BITS", "IN_BITS + 1")),
        Rule("OUT_BITS must be 1..32", lambda p: not (1 <= p["OUT_BITS"] <= 32)),
    ),
)

# sliding_window --------------------------------------------------------------------------
SLIDING_WINDOW = ModuleRules(
    "sliding_window",
    defaults={"IFM_CH": 2, "IFM_H": 4, "IFM_W": 4, "K_H": 3, "K_W": 3, "STRIDE_H": 1, "STRIDE_W": 1, "DIL_H": 1,
              "DIL_W": 1, "PAD_T": 0, "PAD_L": 0, "PAD_B": 0, "PAD_R": 0, "PAD_VALUE": 0, "SIMD": 1, "ELEM_BITS": 1,
              "EXTRA_ROWS": 0},
    derived=lambda p: {
        "SPAN_H": (p["K_H"] - 1) * p["DIL_H"] + 1, "SPAN_W": (p["K_W"] - 1) * p["DIL_W"] + 1,
        "HP": p["PAD_T"] + p["IFM_H"] + p["PAD_B"], "WP": p["PAD_L"] + p["IFM_W"] + p["PAD_R"],
    },
    rules=(
        Rule("SIMD (%0d) must divide IFM_CH (%0d)", _not_multiple("IFM_CH", "SIMD"), ("SIMD", "IFM_CH")),
        Rule("IFM_H and IFM_W must be >= 1", lambda p: _any_below(p, ("IFM_H", "IFM_W"), 1)),
        Rule("K_H and K_W must be >= 1", lambda p: _any_below(p, ("K_H", "K_W"), 1)),
        Rule("strides must be >= 1", lambda p: _any_below(p, ("STRIDE_H", "STRIDE_W"), 1)),
        Rule("dilations must be >= 1", lambda p: _any_below(p, ("DIL_H", "DIL_W"), 1)),
        Rule("pads must be >= 0", lambda p: _any_below(p, ("PAD_T", "PAD_L", "PAD_B", "PAD_R"), 0)),
        Rule("ELEM_BITS must be 1..32", lambda p: not (1 <= p["ELEM_BITS"] <= 32)),
        Rule("PAD_VALUE (%0d) does not fit %0d bits",
             lambda p: p["ELEM_BITS"] < 32 and (p["PAD_VALUE"] >= shl1(p["ELEM_BITS"])
                                               or p["PAD_VALUE"] < -shl1(p["ELEM_BITS"] - 1)),
             ("PAD_VALUE", "ELEM_BITS")),
        Rule("EXTRA_ROWS must be >= 0", lambda p: p["EXTRA_ROWS"] < 0),
        Rule("kernel %0dx%0d (dilation %0dx%0d) does not fit the padded %0dx%0d image",
             lambda p: p["HP"] < p["SPAN_H"] or p["WP"] < p["SPAN_W"], ("K_H", "K_W", "DIL_H", "DIL_W", "HP", "WP")),
    ),
)


# streaming_maxpool -----------------------------------------------------------------------
def _maxpool_derived(p: dict) -> dict:
    span_h = p["H"] + p["PAD_T"] + p["PAD_B"] - p["K_H"]
    span_w = p["W"] + p["PAD_L"] + p["PAD_R"] - p["K_W"]

    def extra(span, stride):
        return vmod(stride - vmod(span, stride), stride) if p["CEIL_MODE"] != 0 and span >= 0 else 0

    extra_w = extra(span_w, p["STRIDE_W"])
    return {
        "CF": vdiv(p["CH"], p["PE"]), "SPAN_H": span_h, "SPAN_W": span_w,
        "EXTRA_H": extra(span_h, p["STRIDE_H"]), "EXTRA_W": extra_w,
        "OW": vdiv(span_w + extra_w, p["STRIDE_W"]) + 1 if span_w >= 0 else 1,
    }


def _maxpool_children(p: dict) -> list[tuple[str, str, dict]]:
    common = {"PE": p["PE"], "EB": p["ELEM_BITS"], "SIGNED": p["SIGNED"]}
    return [
        ("pool_w", "streaming_maxpool_1d", {"N": p["W"], "L": p["CF"], "K": p["K_W"], "S": p["STRIDE_W"],
                                            "P0": p["PAD_L"], "P1": p["PAD_R"] + p["EXTRA_W"], **common,
                                            "AXIS": "columns"}),
        ("pool_h", "streaming_maxpool_1d", {"N": p["H"], "L": p["OW"] * p["CF"], "K": p["K_H"], "S": p["STRIDE_H"],
                                            "P0": p["PAD_T"], "P1": p["PAD_B"] + p["EXTRA_H"], **common,
                                            "AXIS": "rows"}),
    ]


STREAMING_MAXPOOL = ModuleRules(
    "streaming_maxpool",
    defaults={"CH": 2, "H": 4, "W": 4, "K_H": 2, "K_W": 2, "STRIDE_H": 2, "STRIDE_W": 2, "PAD_T": 0, "PAD_L": 0,
              "PAD_B": 0, "PAD_R": 0, "CEIL_MODE": 0, "PE": 1, "ELEM_BITS": 1, "SIGNED": 0},
    derived=_maxpool_derived,
    children=_maxpool_children,
    rules=(
        Rule("PE (%0d) must divide CH (%0d)", _not_multiple("CH", "PE"), ("PE", "CH")),
        Rule("H and W must be >= 1", lambda p: _any_below(p, ("H", "W"), 1)),
        Rule("K_H and K_W must be >= 1", lambda p: _any_below(p, ("K_H", "K_W"), 1)),
        Rule("strides must be >= 1", lambda p: _any_below(p, ("STRIDE_H", "STRIDE_W"), 1)),
        Rule("CEIL_MODE must be 0 or 1", _flag("CEIL_MODE")),
        Rule("SIGNED must be 0 or 1", _flag("SIGNED")),
        Rule("ELEM_BITS must be >= 1", lambda p: p["ELEM_BITS"] < 1),
        Rule("window %0dx%0d does not fit the padded %0dx%0d image", lambda p: p["SPAN_H"] < 0 or p["SPAN_W"] < 0,
             ("K_H", "K_W", "H + PAD_T + PAD_B", "W + PAD_L + PAD_R")),
    ),
)


def _maxpool_1d_derived(p: dict) -> dict:
    n, k, s, p0, p1 = p["N"], p["K"], p["S"], p["P0"], p["P1"]
    windows = vdiv(n + p0 + p1 - k, s) + 1 if n + p0 + p1 >= k else 1
    return {"M": windows, "PS_LAST": (windows - 1) * s - p0}


STREAMING_MAXPOOL_1D = ModuleRules(
    "streaming_maxpool_1d",
    defaults={"N": 4, "L": 1, "K": 2, "S": 2, "P0": 0, "P1": 0, "PE": 1, "EB": 1, "SIGNED": 0, "AXIS": "items"},
    derived=_maxpool_1d_derived,
    rules=(
        Rule("illegal %s geometry N=%0d L=%0d K=%0d S=%0d pads %0d/%0d",
             lambda p: p["N"] < 1 or p["L"] < 1 or p["K"] < 1 or p["S"] < 1 or p["P0"] < 0 or p["P1"] < 0,
             ("AXIS", "N", "L", "K", "S", "P0", "P1")),
        Rule("padding %0d before the %s must be smaller than the window (%0d)", lambda p: p["P0"] >= p["K"],
             ("P0", "AXIS", "K")),
        Rule("the last window along the %s lies entirely in the padding",
             lambda p: p["N"] + p["P0"] + p["P1"] >= p["K"] and p["PS_LAST"] > p["N"] - 1, ("AXIS",)),
    ),
)

# label_select ----------------------------------------------------------------------------
LABEL_SELECT = ModuleRules(
    "label_select",
    defaults={"NUM_CLASSES": 10, "PE": 1, "IN_BITS": 8, "IN_SIGNED": 1, "K": 1, "IDX_BITS": 4},
    rules=(
        Rule("PE (%0d) must divide NUM_CLASSES (%0d)", _not_multiple("NUM_CLASSES", "PE"), ("PE", "NUM_CLASSES")),
        Rule("IN_BITS must be >= 1", lambda p: p["IN_BITS"] < 1),
        Rule("IN_SIGNED must be 0 or 1", _flag("IN_SIGNED")),
        Rule("K (%0d) must be in 1..NUM_CLASSES (%0d)", lambda p: p["K"] < 1 or p["K"] > p["NUM_CLASSES"],
             ("K", "NUM_CLASSES")),
        Rule("IDX_BITS (%0d) cannot hold index %0d",
             lambda p: p["IDX_BITS"] < 1 or (p["NUM_CLASSES"] > 1 and p["IDX_BITS"] < clog2(p["NUM_CLASSES"])),
             ("IDX_BITS", "NUM_CLASSES - 1")),
    ),
)

# stream plumbing -------------------------------------------------------------------------
STREAM_FIFO = ModuleRules(
    "stream_fifo",
    defaults={"WIDTH": 8, "DEPTH": 2},
    rules=(
        Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),
        Rule("DEPTH must be >= 2", lambda p: p["DEPTH"] < 2),
    ),
)

SKID_BUFFER = ModuleRules("skid_buffer", defaults={"WIDTH": 8}, rules=(Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),))

STREAM_FORK = ModuleRules(
    "stream_fork",
    defaults={"WIDTH": 8, "N_OUT": 2},
    rules=(
        Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),
        Rule("N_OUT must be >= 2", lambda p: p["N_OUT"] < 2),
    ),
)

def _concat_channels(p: dict, k: int) -> int:
    """C_k of stream_concat: field k (bits [16*k +: 16]) of CHANNELS, 0 above its width."""
    return (p["CHANNELS"] >> (16 * k)) & 0xFFFF


def _concat_derived(p: dict) -> dict:
    """The first input whose channel count is illegal (-1 if none) and that count."""
    bad = [k for k in range(p["N_IN"]) if _concat_channels(p, k) < 1
           or (p["SIMD"] >= 1 and _concat_channels(p, k) % p["SIMD"] != 0)]
    return {"BAD_INPUT": bad[0] if bad else -1, "BAD_CHANNELS": _concat_channels(p, bad[0]) if bad else 0}


STREAM_CONCAT = ModuleRules(
    "stream_concat",
    defaults={"N_IN": 2, "BITS": 8, "SIMD": 1, "PIXELS": 1, "CHANNELS": 262148},
    derived=_concat_derived,
    children=lambda p: [("out_buffer", "skid_buffer", {"WIDTH": p["SIMD"] * p["BITS"]})],
    rules=(
        Rule("N_IN must be 2..8", lambda p: p["N_IN"] < 2 or p["N_IN"] > 8),
        Rule("BITS and SIMD must be >= 1", lambda p: _any_below(p, ("BITS", "SIMD"), 1)),
        Rule("PIXELS must be >= 1", lambda p: p["PIXELS"] < 1),
        Rule("input %0d has %0d channels, not a positive multiple of SIMD=%0d", lambda p: p["BAD_INPUT"] >= 0,
             ("BAD_INPUT", "BAD_CHANNELS", "SIMD")),
    ),
)


def _stream_add_derived(p: dict) -> dict:
    """The result range of ``A_MUL*a + B_MUL*b`` (64-bit in the Verilog, exact here), from
    operand widths clamped to legal values as the Verilog clamps them."""
    legal = {name: p[name] if lo <= p[name] <= hi else 1
             for name, lo, hi in (("A_BITS", 1, 31), ("B_BITS", 1, 31), ("OUT_BITS", 1, 32))}

    def operand(bits: int, signed: bool, mul: int) -> tuple[int, int]:
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return (mul * low, mul * high) if mul >= 0 else (mul * high, mul * low)

    a_lo, a_hi = operand(legal["A_BITS"], p["A_SIGNED"] != 0, _wrap32(p["A_MUL"]))
    b_lo, b_hi = operand(legal["B_BITS"], p["B_SIGNED"] != 0, _wrap32(p["B_MUL"]))
    ob = legal["OUT_BITS"]
    return {
        "LEGAL": p["SIMD"] >= 1 and all(p[name] == legal[name] for name in legal)
        and p["A_SIGNED"] in (0, 1) and p["B_SIGNED"] in (0, 1),
        "SUM_MIN": a_lo + b_lo, "SUM_MAX": a_hi + b_hi, "OUT_MIN": -(1 << (ob - 1)), "OUT_MAX": (1 << (ob - 1)) - 1,
    }


STREAM_ADD = ModuleRules(
    "stream_add",
    defaults={"SIMD": 1, "A_BITS": 8, "B_BITS": 8, "A_SIGNED": 1, "B_SIGNED": 1, "A_MUL": 1, "B_MUL": 1, "OUT_BITS": 9},
    derived=_stream_add_derived,
    children=lambda p: [(f"{side}_queue", "skid_buffer", {"WIDTH": p["SIMD"] * p[f"{side.upper()}_BITS"]})
                        for side in ("a", "b")],
    rules=(
        Rule("SIMD must be >= 1", lambda p: p["SIMD"] < 1),
        Rule("A_BITS and B_BITS must be 1..31",
             lambda p: not (1 <= p["A_BITS"] <= 31) or not (1 <= p["B_BITS"] <= 31)),
        Rule("A_SIGNED and B_SIGNED must be 0 or 1", lambda p: p["A_SIGNED"] not in (0, 1) or p["B_SIGNED"] not in (0, 1)),
        Rule("OUT_BITS must be 1..32", lambda p: not (1 <= p["OUT_BITS"] <= 32)),
        Rule("OUT_BITS=%0d cannot hold the results %0d..%0d",
             lambda p: p["LEGAL"] and (p["SUM_MIN"] < p["OUT_MIN"] or p["SUM_MAX"] > p["OUT_MAX"]),
             ("OUT_BITS", "SUM_MIN", "SUM_MAX")),
    ),
)


WIDTH_CONVERTER = ModuleRules(
    "width_converter",
    defaults={"IN_WIDTH": 32, "OUT_WIDTH": 8},
    rules=(
        Rule("IN_WIDTH and OUT_WIDTH must be >= 1", lambda p: _any_below(p, ("IN_WIDTH", "OUT_WIDTH"), 1)),
        Rule("IN_WIDTH (%0d) and OUT_WIDTH (%0d): one must be a multiple of the other",
             lambda p: (p["IN_WIDTH"] > p["OUT_WIDTH"] and vmod(p["IN_WIDTH"], p["OUT_WIDTH"]) != 0)
             or (p["OUT_WIDTH"] > p["IN_WIDTH"] and vmod(p["OUT_WIDTH"], p["IN_WIDTH"]) != 0),
             ("IN_WIDTH", "OUT_WIDTH")),
    ),
)

# board shell -----------------------------------------------------------------------------
UART_RX = ModuleRules("uart_rx", defaults={"CLKS_PER_BIT": 868},
                      rules=(Rule("CLKS_PER_BIT must be >= 4", lambda p: p["CLKS_PER_BIT"] < 4),))
UART_TX = ModuleRules("uart_tx", defaults={"CLKS_PER_BIT": 868},
                      rules=(Rule("CLKS_PER_BIT must be >= 4", lambda p: p["CLKS_PER_BIT"] < 4),))
UART_STREAM_SHELL = ModuleRules(
    "uart_stream_shell",
    defaults={"IN_WIDTH": 8, "OUT_WIDTH": 8, "CLKS_PER_BIT": 868, "RX_FIFO_DEPTH": 2048},
    children=lambda p: [
        ("receiver", "uart_rx", {"CLKS_PER_BIT": p["CLKS_PER_BIT"]}),
        ("rx_fifo", "stream_fifo", {"WIDTH": 8, "DEPTH": p["RX_FIFO_DEPTH"]}),
        ("transmitter", "uart_tx", {"CLKS_PER_BIT": p["CLKS_PER_BIT"]}),
    ],
    rules=(
        Rule("IN_WIDTH and OUT_WIDTH must be >= 1", lambda p: _any_below(p, ("IN_WIDTH", "OUT_WIDTH"), 1)),
        Rule("RX_FIFO_DEPTH must be >= 2", lambda p: p["RX_FIFO_DEPTH"] < 2),
    ),
)

#: Verilog module name -> its rules, for every module of rtl_lib that has parameter checks.
MODULES: dict[str, ModuleRules] = {
    rules.module: rules
    for rules in (MVAU, THRESHOLDING, SLIDING_WINDOW, STREAMING_MAXPOOL, STREAMING_MAXPOOL_1D, LABEL_SELECT,
                  STREAM_FIFO, SKID_BUFFER, STREAM_FORK, STREAM_CONCAT, STREAM_ADD, WIDTH_CONVERTER, UART_RX, UART_TX,
                  UART_STREAM_SHELL)
}


@dataclass
class Violation:
    """A check that fires: where (instance path below the checked module), which module,
    and the message its Verilog prints."""

    path: str
    module: str
    message: str

    def __str__(self) -> str:
        where = f" (instance {self.path})" if self.path else ""
        return f"{self.module}{where}: {self.message}"


def violations(module: str, parameters: Mapping[str, object], path: str = "") -> list[Violation]:
    """Every check of ``module`` (and of its submodules) that ``parameters`` make fire, in
    the order the Verilog checks them."""
    rules = MODULES.get(module)
    if rules is None:
        raise ModuleParameterError(f"no parameter rules for rtl_lib module '{module}'")
    values = rules.values(parameters)
    found = [Violation(path, module, rule.render(values)) for rule in rules.rules if rule.fires(values) is True]
    for instance, child, child_parameters in rules.children(values):
        found += violations(child, child_parameters, f"{path}.{instance}" if path else instance)
    return found


def check_parameters(module: str, parameters: Mapping[str, object], node: str, instance: str | None = None) -> None:
    """Fail with a :class:`ModuleParameterError` naming the stage ``node`` (and the
    ``instance`` of the design that serves it, if not the stage itself), the module and the
    first rule its parameters break."""
    try:
        found = violations(module, parameters)
    except ModuleParameterError as error:
        raise ModuleParameterError(f"node '{node}': {error}") from None
    if found:
        first = found[0]
        where = [f"instance '{instance}'"] if instance else []
        where += [f"submodule {first.module} '{first.path}'"] if first.path else []
        more = f" (and {len(found) - 1} more check{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise ModuleParameterError(
            f"node '{node}': rtl_lib module {module}{' (' + ', '.join(where) + ')' if where else ''} "
            f"rejects its parameters: {first.message}{more}"
        )
