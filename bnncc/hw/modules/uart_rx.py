"""The UART receiver of the board shell (``rtl_lib/uart_rx.v``): its registry entry (parameter rules only)."""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

RULES = ModuleRules("uart_rx", defaults={"CLKS_PER_BIT": 868},
                    rules=(Rule("CLKS_PER_BIT must be >= 4", lambda p: p["CLKS_PER_BIT"] < 4),))

SPEC = ModuleSpec(name="uart_rx", kind="submodule", rules=RULES)
