"""The estimate model against the whole-design Yosys syntheses stored by
``benchmarks/estimate_vs_synth.py`` for the default target, xc7z020 (no synthesis here):
every synthesized example design (the chains, the graph examples in
``estimate_vs_synth_xc7z020_graphs.json``, hls4ml's two channels-last CNNs of
../shared/models in ``estimate_vs_synth_xc7z020_hls4ml.json``, DS-CNN and MobileNet in
``estimate_vs_synth_xc7z020_depthwise.json``), its estimate recomputed from the stored instances with
the current model, is within the bar in LUTs and exact in block RAM and DSP, and its
co-simulation met the target. Rerun the benchmark after changing the model or the RTL.
(The ECP5 results, ``estimate_vs_synth_ecp5-85k.json``, are not held to the bar here: one
of their designs misses it, as the README says.)"""

import json
from pathlib import Path

import pytest

from bnncc.estimate import estimate_link
from bnncc.hw.resources import Resources
from bnncc.targets import get_device

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
FILES = [RESULTS / "estimate_vs_synth_xc7z020.json", RESULTS / "estimate_vs_synth_xc7z020_graphs.json",
         RESULTS / "estimate_vs_synth_xc7z020_hls4ml.json", RESULTS / "estimate_vs_synth_xc7z020_depthwise.json"]
LUT_BAR = 0.15


def _cases(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cases"] if "synth" in c]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_synthesized_design_within_the_bar(path):
    data = json.loads(path.read_text())
    family = get_device(data["device"]).family
    cases = _cases(path)
    assert cases, "no synthesized designs stored"
    for case in cases:
        assert "links" in case, f"{case['model']} at {case['fps']}: no instances stored; rerun the benchmark"
        mine = Resources()
        for link in case["links"]:
            mine = mine + estimate_link(link["module"], link["parameters"], family, link["hints"])
        synth, name = case["synth"], f"{case['model']} at {case['fps']:g} FPS"
        assert abs(mine.lut - synth["lut"]) <= LUT_BAR * synth["lut"], (name, mine.lut, synth["lut"])
        assert mine.bram == synth["bram"], (name, mine.bram, synth["bram"])
        assert mine.dsp == synth["dsp"], (name, mine.dsp, synth["dsp"])
        if "cosim_cycles" in case:
            assert case["cosim_exact"] and case["cosim_cycles"] <= case["target_cycles"], name
