"""The LUT and carry-chain dot product (``rtl_lib/mac_dot.v``), instantiated by the MVAU and
the VVAU in place of an inline multiply-and-sum: its registry entry (parameter rules only).

``mac_dot`` computes ``(sum_s x[s] * w[s] + extra) mod 2**DW`` (the count of agreeing pairs
with ``BINARY``) with a latency of ``STAGES`` cycles; the rules below mirror its elaboration
checks one for one.
"""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

DEFAULTS = {
    "N": 16, "INPUT_BITS": 4, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0,
    "WEIGHT_BITS": 4, "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0,
    "DW": 16, "STAGES": 1, "CHAIN": 0, "FORM": 0,
}


def _bipolar_not_one_unsigned_bit(p) -> bool:
    return (p["INPUT_BIPOLAR"] != 0 and (p["INPUT_BITS"] != 1 or p["INPUT_SIGNED"] != 0)) or \
        (p["WEIGHT_BIPOLAR"] != 0 and (p["WEIGHT_BITS"] != 1 or p["WEIGHT_SIGNED"] != 0))


RULES = ModuleRules(
    "mac_dot",
    defaults=DEFAULTS,
    rules=(
        Rule("N=%0d must be >= 1", lambda p: p["N"] < 1, ("N",)),
        Rule("INPUT_BITS and WEIGHT_BITS must be 1..16",
             lambda p: not (1 <= p["INPUT_BITS"] <= 16) or not (1 <= p["WEIGHT_BITS"] <= 16)),
        Rule("a bipolar operand is 1 bit and not signed", _bipolar_not_one_unsigned_bit),
        Rule("BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1",
             lambda p: p["BINARY"] != 0 and (p["INPUT_BIPOLAR"] == 0 or p["WEIGHT_BIPOLAR"] == 0)),
        Rule("DW=%0d must be 1..64", lambda p: not (1 <= p["DW"] <= 64), ("DW",)),
        Rule("STAGES=%0d must be 0..8", lambda p: not (0 <= p["STAGES"] <= 8), ("STAGES",)),
        Rule("CHAIN=%0d must be >= 0", lambda p: p["CHAIN"] < 0, ("CHAIN",)),
        Rule("FORM=%0d must be 0..3", lambda p: not (0 <= p["FORM"] <= 3), ("FORM",)),
        Rule("FORM=1 (table) needs INPUT_BITS + WEIGHT_BITS <= 5, got %0d",
             lambda p: p["FORM"] == 1 and p["INPUT_BITS"] + p["WEIGHT_BITS"] > 5, ("INPUT_BITS + WEIGHT_BITS",)),
    ),
)

SPEC = ModuleSpec(name="mac_dot", kind="submodule", rules=RULES)
