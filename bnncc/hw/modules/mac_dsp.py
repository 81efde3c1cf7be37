"""The DSP dot products with several narrow products per multiplier (``rtl_lib/mac_dsp.v``):
its registry entry (parameter rules only).

``mac_dsp`` computes ``dot[l] = (sum_s x[s] * w[l][s] + extra) mod 2**DW`` for the ``L`` lanes
that share ``x``, packing ``P`` lanes into one multiplier per ``s`` (``x * W`` with
``W = sum_j u_j 2**(j*K)``) and separating the fields after; its latency is ``STAGES``
cycles. The rules mirror its elaboration checks one for one, with the same 32-bit integer
arithmetic for the derived values they read: the multiplier port width ``PA``, the field
width ``KP = (PA - WS) / (PACK - 1)`` and ``GP = (2**KP - 1) / SPAN``, the products one field
can sum (``SPAN = (XMAX - XMIN) * (2**WEIGHT_BITS - 1)``, the range of one low-field product).
"""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule, shl1, vdiv, wrap32

DEFAULTS = {
    "N": 16, "L": 4, "INPUT_BITS": 4, "INPUT_SIGNED": 1, "WEIGHT_BITS": 4, "WEIGHT_SIGNED": 1,
    "DW": 16, "STAGES": 2, "FAMILY": 0, "PACK": 0, "GROUP": 0,
}
#: the wide multiplier port by FAMILY: DSP48E1 25 x 18, DSP48E2 27 x 18, ECP5 MULT18X18D 18 x 18
PORT_BITS = {0: 25, 1: 27, 2: 18}


def _kmax(p, pa, ws):
    return vdiv(pa - ws, p - 1) if p >= 2 else 0


def _gmax(p, values, pa, ws, span):
    if p < 2:
        return values["N"]
    k = _kmax(p, pa, ws)
    if span < 1 or k < values["WEIGHT_BITS"]:
        return 0
    return vdiv(wrap32(shl1(k) - 1), span)


def derived(p: dict) -> dict:
    """The localparams of mac_dsp.v that the checks read."""
    xb, wb = p["INPUT_BITS"], p["WEIGHT_BITS"]
    ws = wb if p["WEIGHT_SIGNED"] != 0 else wb + 1
    pa = 27 if p["FAMILY"] == 1 else 18 if p["FAMILY"] == 2 else 25
    signed = p["INPUT_SIGNED"] != 0
    xmin = wrap32(-shl1(xb - 1)) if signed else 0
    xmax = wrap32(shl1(xb - 1) - 1) if signed else wrap32(shl1(xb) - 1)
    umax = wrap32(shl1(wb) - 1)
    span = wrap32((xmax - xmin) * umax) if xb + wb <= 30 else 0
    return {"WS": ws, "PA": pa, "SPAN": span, "KP": _kmax(p["PACK"], pa, ws),
            "GP": _gmax(p["PACK"], p, pa, ws, span)}


def _bits_for(value: int) -> int:
    """Bits of an unsigned value (at least 1), as mac_dsp.v's bits_for."""
    return max(1, value.bit_length())


def layout(parameters: dict) -> dict:
    """How mac_dsp.v arranges a legal parameter set (its localparams): ``P`` products per
    multiplier, ``multipliers`` = ceil(L / P) * N DSP multipliers (a lone narrow lane may stay
    in LUTs: Yosys maps products below its DSP width to LUTs), ``K`` field bits, ``GR``
    products per packed group, ``NG`` groups, ``SEGR`` chain segment registers and ``CH``
    DSPs per chain segment (DSP48 families), ``latency`` = STAGES."""
    p = {**DEFAULTS, **parameters}
    values = {**p, **derived(p)}
    n, lanes, group = p["N"], p["L"], p["GROUP"]
    pa, ws, span = values["PA"], values["WS"], values["SPAN"]

    def gmax(k):
        return _gmax(k, p, pa, ws, span)

    pack = p["PACK"]
    if pack == 0:
        pack, need = 1, max(group, 1)
        for candidate in (2, 3):
            if candidate <= lanes and gmax(candidate) >= need and -(-lanes // candidate) < -(-lanes // pack):
                pack = candidate
    ga = group if group else gmax(pack) if pack >= 2 else n
    gr = min(ga, n)
    k = max(_bits_for(gr * span), p["WEIGHT_BITS"]) if pack >= 2 else p["WEIGHT_BITS"]
    segr = min(p["STAGES"] - 3, gr - 1) if p["STAGES"] >= 4 and p["FAMILY"] != 2 else 0
    return {"P": pack, "multipliers": -(-lanes // pack) * n, "K": k, "GR": gr, "NG": -(-n // gr),
            "SEGR": segr, "CH": -(-gr // (segr + 1)), "latency": p["STAGES"]}


RULES = ModuleRules(
    "mac_dsp",
    defaults=DEFAULTS,
    derived=derived,
    rules=(
        Rule("N=%0d must be >= 1", lambda p: p["N"] < 1, ("N",)),
        Rule("L=%0d must be >= 1", lambda p: p["L"] < 1, ("L",)),
        Rule("INPUT_BITS and WEIGHT_BITS must be 1..16",
             lambda p: not (1 <= p["INPUT_BITS"] <= 16) or not (1 <= p["WEIGHT_BITS"] <= 16)),
        Rule("DW=%0d must be 1..64", lambda p: not (1 <= p["DW"] <= 64), ("DW",)),
        Rule("STAGES=%0d must be 0..8", lambda p: not (0 <= p["STAGES"] <= 8), ("STAGES",)),
        Rule("FAMILY=%0d must be 0..2", lambda p: not (0 <= p["FAMILY"] <= 2), ("FAMILY",)),
        Rule("PACK=%0d must be 0..3", lambda p: not (0 <= p["PACK"] <= 3), ("PACK",)),
        Rule("GROUP=%0d must be >= 0", lambda p: p["GROUP"] < 0, ("GROUP",)),
        Rule("PACK=%0d does not fit a %0d-bit multiplier port: a %0d-bit field cannot hold one product",
             lambda p: 2 <= p["PACK"] <= 3 and p["GP"] < 1, ("PACK", "PA", "KP")),
        Rule("GROUP=%0d exceeds %0d, the products a %0d-bit field can sum",
             lambda p: 2 <= p["PACK"] <= 3 and p["GP"] >= 1 and p["GROUP"] > p["GP"], ("GROUP", "GP", "KP")),
    ),
)

SPEC = ModuleSpec(name="mac_dsp", kind="submodule", rules=RULES)
