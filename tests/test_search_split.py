"""The threshold search follows the pipeline budget: with fewer LUT levels than a search stage
takes when its ROM read and its compare share a cycle (``mvau.SEARCH_LEVELS``), e.g. ECP5 at
125 MHz, the MVAU builder sets SEARCH_SPLIT (threshold_search.v SPLIT: the read and the
compare registered apart); at 100 MHz on xc7 the parameters stay as they were. The split
design is exact in co-simulation with random stalls, its initiation interval the analytic
one and its latency the registry's."""

from __future__ import annotations

from pathlib import Path

from bnncc.compile import Target, compile_model
from bnncc.hw.modules import mvau
from bnncc.hw.modules.threshold_search import latency
from bnncc.hw.timing import mvau_levels, pipeline_budget
from bnncc.targets import get_device
from helpers import assert_build_exact_in_rtl

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
TFC_W2A2 = MODELS / "tfc_w2a2.onnx"


def _searches(result) -> list[dict]:
    return [link.parameters for link in result.design.links if link.module == "mvau" and mvau.searches(link.parameters)]


def test_the_search_splits_only_when_the_budget_is_short():
    assert pipeline_budget("ecp5", 125).levels < mvau.SEARCH_LEVELS
    assert pipeline_budget("xilinx", 100).levels >= mvau.SEARCH_LEVELS
    p = {"MH": 64, "PE": 1, "N_THRESHOLDS": 3, "THRESHOLD_SEARCH": 1, "OUT_BITS": 2, "SEARCH_BLOCK_DEPTH": 128}
    assert mvau.search_levels(p) == mvau.SEARCH_LEVELS
    assert mvau.search_levels({**p, "SEARCH_SPLIT": 1}) == 2
    # 2 cycles per LUT stage (stage 0, 64 words), 3 per block RAM stage (stage 1, 128 words)
    assert mvau.extra_stages({**p, "SEARCH_SPLIT": 1}) - mvau.extra_stages(p) == (2 + 3) - 2
    assert latency(2, 0, 1, 64, 128) == 5
    # shallow LUT ROMs (8 words at most) compare and read within the budget: no split
    shallow = {**p, "MH": 32, "PE": 8, "SEARCH_BLOCK_DEPTH": 0}
    assert mvau.search_levels(shallow) == mvau.SEARCH_SHALLOW_LEVELS <= pipeline_budget("ecp5", 125).levels
    assert mvau.search_levels({**shallow, "N_CLASSES": 3}) == mvau.SEARCH_LEVELS


def test_xc7_at_100_mhz_keeps_the_unsplit_search(tmp_path):
    result = compile_model(TFC_W2A2, output=tmp_path / "build", target=Target(fps=10_000, clock_mhz=100))
    searches = _searches(result)
    assert searches and all("SEARCH_SPLIT" not in p for p in searches)


def test_ecp5_at_125_mhz_splits_the_search_and_stays_exact(tmp_path):
    build = tmp_path / "build"
    result = compile_model(TFC_W2A2, output=build,
                           target=Target(fps=10_000, clock_mhz=125, device=get_device("ecp5-85k")))
    searches = _searches(result)
    assert searches and all(p["SEARCH_SPLIT"] == 1 for p in searches)
    assert all(mvau.search_levels(p) <= pipeline_budget("ecp5", 125).levels for p in searches)
    assert all(mvau_levels(p)[0] <= 4 for p in searches)
    assert_build_exact_in_rtl(TFC_W2A2, samples=3, seed=2, build_dir=build, stall=30)
