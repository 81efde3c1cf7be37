"""The AXI-Stream register slice (``rtl_lib/skid_buffer.v``), instantiated by the joins: its registry entry (parameter rules only)."""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

RULES = ModuleRules("skid_buffer", defaults={"WIDTH": 8}, rules=(Rule("WIDTH must be >= 1", lambda p: p["WIDTH"] < 1),))

SPEC = ModuleSpec(name="skid_buffer", kind="submodule", rules=RULES)
