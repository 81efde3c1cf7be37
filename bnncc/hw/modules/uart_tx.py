"""The UART transmitter of the board shell (``rtl_lib/uart_tx.v``): its registry entry (parameter rules only)."""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

RULES = ModuleRules("uart_tx", defaults={"CLKS_PER_BIT": 868},
                    rules=(Rule("CLKS_PER_BIT must be >= 4", lambda p: p["CLKS_PER_BIT"] < 4),))

SPEC = ModuleSpec(name="uart_tx", kind="submodule", rules=RULES)
