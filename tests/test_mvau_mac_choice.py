"""The MVAU builder's choice of multi-bit dot product structure (mvau.mac_pipeline): pairs of
a multi-bit input times bipolar weights (DOT_PAIRS) where their shared adders pay off, and one
chain of every product in up to three segments instead of chains meeting in an adder tree;
the estimate's terms follow the structure."""

from __future__ import annotations

import pytest

from bnncc.hw.modules import mac_dot, mvau
from bnncc.hw.rules import violations
from bnncc.hw.timing import mvau_levels


def _params(pe: int, simd: int, xbits: int, wbits: int, signed: bool = True, bipolar_w: bool = False) -> dict:
    return {"MW": simd * 2, "MH": pe * 4, "PE": pe, "SIMD": simd, "INPUT_BITS": xbits, "INPUT_SIGNED": int(signed),
            "INPUT_BIPOLAR": 0, "WEIGHT_BITS": 1 if bipolar_w else wbits, "WEIGHT_SIGNED": int(not bipolar_w),
            "WEIGHT_BIPOLAR": int(bipolar_w), "BINARY": 0, "ACC_BITS": 16, "N_THRESHOLDS": 1, "OUT_BITS": 1,
            "OUT_BIAS": 0}


def test_int8_times_bipolar_takes_pairs_from_a_few_pes_on():
    chosen = mvau.mac_pipeline(_params(16, 27, 8, 1, bipolar_w=True))
    assert chosen["DOT_PAIRS"] == 1 and chosen["MEM_REG"] == 1
    # 14 pair products (13 pairs and the odd element) in one chain of three segments
    assert chosen["DOT_CHAIN"] == 14 and chosen["DOT_STAGES"] == 4
    assert "DOT_PAIRS" not in mvau.mac_pipeline(_params(1, 27, 8, 1, bipolar_w=True))     # one PE: no sharing
    assert "DOT_PAIRS" not in mvau.mac_pipeline(_params(16, 27, 4, 4))                    # no bipolar side
    # a tighter budget (e.g. ECP5) keeps single products
    assert "DOT_PAIRS" not in mvau.mac_pipeline(_params(16, 27, 8, 1, bipolar_w=True), levels=4)


def test_pairs_cost_fewer_partial_product_luts():
    p = _params(16, 27, 8, 1, bipolar_w=True)
    assert mac_dot.pairs_win(p, 27, 16) and not mac_dot.pairs_win(p, 27, 2)
    assert mac_dot.products({**p, "DOT_PAIRS": 1}, 27) == 14 and mac_dot.products(p, 27) == 27
    assert mac_dot.partial_product_bits({**p, "PAIRED": 1}) == ("pairs", 1, 9)
    assert mac_dot.pairs_luts(p, 27) == 13 * 2 * 9


def test_int2_at_simd_16_is_one_chain_without_a_tree():
    chosen = mvau.mac_pipeline(_params(16, 16, 2, 2))
    assert chosen.get("DOT_CHAIN") == 16 and chosen["DOT_STAGES"] == 4
    assert mac_dot.chain_groups({**_params(16, 16, 2, 2), **chosen}, 16, chosen["DOT_STAGES"], 16) == 1
    # 64 products would need more than three segments: chains meeting in a tree, as before
    assert "DOT_CHAIN" not in mvau.mac_pipeline(_params(4, 64, 2, 2))


@pytest.mark.parametrize("pe, simd, xbits, wbits, signed, bipolar_w", [
    (16, 27, 8, 1, True, True), (16, 9, 8, 1, True, True), (8, 8, 4, 1, False, True), (4, 3, 8, 1, True, True),
    (16, 16, 2, 2, True, False), (4, 16, 2, 2, True, False), (2, 5, 3, 1, True, True), (16, 64, 1, 1, True, True)])
def test_choices_meet_the_depth_budget_and_the_rules(pe, simd, xbits, wbits, signed, bipolar_w):
    p = _params(pe, simd, xbits, wbits, signed, bipolar_w)
    chosen = mvau.mac_pipeline(p)
    full = {**p, **chosen}
    assert mvau_levels(full)[0] <= 6, chosen
    assert not violations("mvau", {**mvau.RULES.defaults, **full}), chosen


def test_the_estimate_prices_pairs_per_pair_and_the_shared_adders_once():
    p = {**_params(16, 27, 8, 1, bipolar_w=True), "MAC_STYLE": 1, "MEM_REG": 1, "DOT_STAGES": 4, "DOT_CHAIN": 14}
    single = mvau.terms(p, "xilinx").lut
    paired = mvau.terms({**p, "DOT_PAIRS": 1}, "xilinx").lut
    assert single["mac_pp"] == 16 * 27 * 8 and single["mac_pairs"] == 0
    assert paired["mac_pp"] == 16 * 14 * 9 and paired["mac_pairs"] == 13 * 2 * 9
