"""The board shell around a design (``rtl_lib/uart_stream_shell.v``): UART in, a FIFO, the design's streams, UART out: its registry entry (parameter rules only)."""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, any_below

RULES = ModuleRules(
    "uart_stream_shell",
    defaults={"IN_WIDTH": 8, "OUT_WIDTH": 8, "CLKS_PER_BIT": 868, "RX_FIFO_DEPTH": 2048, "RX_FIFO_READ_REG": 0},
    children=lambda p: [
        ("receiver", "uart_rx", {"CLKS_PER_BIT": p["CLKS_PER_BIT"]}),
        ("rx_fifo", "stream_fifo", {"WIDTH": 8, "DEPTH": p["RX_FIFO_DEPTH"], "READ_REG": p["RX_FIFO_READ_REG"]}),
        ("transmitter", "uart_tx", {"CLKS_PER_BIT": p["CLKS_PER_BIT"]}),
    ],
    rules=(
        Rule("IN_WIDTH and OUT_WIDTH must be >= 1", lambda p: any_below(p, ("IN_WIDTH", "OUT_WIDTH"), 1)),
        Rule("RX_FIFO_DEPTH must be >= 2", lambda p: p["RX_FIFO_DEPTH"] < 2),
    ),
)

SPEC = ModuleSpec(name="uart_stream_shell", kind="submodule", rules=RULES)
