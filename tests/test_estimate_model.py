"""The resource estimate model against the Yosys results stored by
benchmarks/calibrate_estimates.py (no synthesis here)."""

import json
import time
from pathlib import Path

import pytest

from bnncc.errors import BnnccError
from bnncc.estimate import estimate_link
from bnncc.hw.memory_map import Memory, map_memory
from bnncc.hw.modules.mvau import popcount_luts
from bnncc.hw.resources import Resources

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
#: Every family has a committed calibration (``python benchmarks/calibrate_estimates.py
#: --family F --cached-only --rtl-revision REV`` rebuilds it from the committed synthesis
#: cache without Yosys); a missing file fails the tests below instead of skipping them.
FAMILIES = ["xilinx", "ecp5"]

#: Whole designs: LUT within this fraction of Yosys; block RAM and DSP exact.
DESIGN_LUT = 0.15
#: Instances: LUT within this fraction for those of at least BIG_LUTS LUTs in Yosys.
INSTANCE_LUT = {"xilinx": 0.15, "ecp5": 0.25}
BIG_LUTS = 1000


#: Designs and instances of the calibration that miss the bar, with their error: pinned so
#: that a new miss, and a fixed one, both fail the tests until this list is updated.
#: sfc_w1a2 at 100,000 FPS on xc7z020: its 1152 x 256 MVAU (PE 16, SIMD 64, weights in
#: LUTs) synthesized alone takes 2021 LUTs where the model says 1613 (-20 %), which puts
#: the sum of the design's instances at -15.3 % (the whole design synthesized at once is at
#: -12.4 %, benchmarks/results/estimate_vs_synth_xc7z020.json); its 256 x 256 MVAU is at
#: -16.7 %. On ECP5 three width converters of the same shape (1043 LUTs in synth_ecp5) are
#: estimated at 241 LUTs (-77 %): the ECP5 width-converter terms do not hold for the
#: widest converters.
KNOWN_DESIGN_MISSES = {"xilinx": {"sfc_w1a2@100000"}, "ecp5": set()}
KNOWN_INSTANCE_MISSES = {
    "xilinx": {"sfc_w1a2@100000/features_2_MatMul", "sfc_w1a2@100000/features_6_MatMul"},
    "ecp5": {"sfc_w1a2@500000/features_10_MatMul_convert0", "cnv_w2a2@3000/conv_features_11_Conv__im2col_convert0",
             "cnv_w2a2@10000/conv_features_4_Conv__im2col_convert0"},
}


def calibration(family: str) -> dict:
    path = RESULTS / f"calibration_{family}.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run python benchmarks/calibrate_estimates.py --family {family} --cached-only")
    return json.loads(path.read_text())


def test_every_calibration_is_committed_and_not_empty():
    for family in FAMILIES:
        data = calibration(family)
        assert data["meta"]["family"] == family
        assert len(data["points"]) > 100 and len(data["designs"]) >= 5, (family, len(data["points"]), data["designs"])


def estimate(point: dict, family: str) -> Resources:
    return estimate_link(point["module"], point["parameters"], family, point.get("hints"))


@pytest.mark.parametrize("family", FAMILIES)
def test_designs_within_the_bar(family):
    data = calibration(family)
    totals: dict[str, Resources] = {}
    for point in data["points"]:
        if point["design"]:
            totals[point["design"]] = totals.get(point["design"], Resources()) + estimate(point, family)
    assert totals, "no design points stored"
    missed = set()
    for name, design in data["designs"].items():
        yosys, mine = design["yosys"], totals[name]
        if abs(mine.lut - yosys["lut"]) > DESIGN_LUT * yosys["lut"]:
            missed.add(name)
        assert mine.bram == yosys["bram"], (name, mine.bram, yosys["bram"])
        assert mine.dsp == yosys["dsp"], (name, mine.dsp, yosys["dsp"])
    assert missed == KNOWN_DESIGN_MISSES[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_instance_block_ram_and_dsp_exact(family):
    for point in calibration(family)["points"]:
        mine = estimate(point, family)
        assert mine.bram == point["yosys"]["bram"], (point["name"], mine.bram, point["yosys"]["bram"])
        assert mine.dsp == point["yosys"]["dsp"], (point["name"], mine.dsp, point["yosys"]["dsp"])


@pytest.mark.parametrize("family", FAMILIES)
def test_big_instances_within_tolerance(family):
    """The big instances of the compiled example designs (the grid points around them are
    there for the fit; many have shapes the folding never chooses)."""
    big = [p for p in calibration(family)["points"] if p["design"] and p["yosys"]["lut"] >= BIG_LUTS]
    assert big
    missed = {point["name"] for point in big
              if abs(estimate(point, family).lut - point["yosys"]["lut"]) > INSTANCE_LUT[family] * point["yosys"]["lut"]}
    assert missed == KNOWN_INSTANCE_MISSES[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_stored_estimates_are_the_current_model(family):
    """The JSON was written by this model: rerun the calibration after changing it."""
    for point in calibration(family)["points"]:
        mine = estimate(point, family).to_dict()
        assert all(abs(mine[k] - point["estimate"][k]) < 1e-6 for k in mine), point["name"]


@pytest.mark.parametrize("family", FAMILIES)
def test_memory_mapping_matches_every_stored_shape(family):
    shapes = json.loads((RESULTS / f"memory_grid_{family}.json").read_text())["shapes"]
    assert len(shapes) > 100
    for shape in shapes:
        mapping = map_memory(Memory(shape["width"], shape["depth"], shape["kind"], "block" if shape["block"] else "auto"),
                             family)
        assert (mapping.bram, mapping.lutram) == (shape["resources"]["bram"], shape["resources"]["lutram"]), shape


def mvau(pe: int, simd: int, mw: int = 576, mh: int = 64, bits: int = 1, thresholds: int = 1) -> dict:
    binary = bits == 1
    return {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "INPUT_BITS": bits, "INPUT_SIGNED": int(not binary),
            "INPUT_BIPOLAR": int(binary), "WEIGHT_BITS": bits, "WEIGHT_SIGNED": int(not binary),
            "WEIGHT_BIPOLAR": int(binary), "BINARY": int(binary), "ACC_BITS": 12, "N_THRESHOLDS": thresholds,
            "OUT_BITS": 1 if thresholds == 1 else 2, "OUT_BIAS": 0 if thresholds == 1 else -2,
            "WEIGHT_FILE": "w.mem", "THRESHOLD_FILE": "t.mem"}


def cost(r: Resources) -> float:
    return r.lut + 50 * (r.bram + r.dsp)


@pytest.mark.parametrize("family", ["xilinx", "ecp5", "ice40"])
@pytest.mark.parametrize("bits, thresholds", [(1, 1), (2, 3), (4, 15)])
def test_mvau_luts_grow_with_pe_and_simd(family, bits, thresholds):
    """More parallelism costs more: a four times larger PE or SIMD never costs 5 % fewer LUTs,
    counting a block RAM or DSP as 50 (between neighbouring divisors it may: a shallower
    weight memory leaves block RAM, products move into DSPs)."""
    mw, mh = 576, 64
    simds = [d for d in range(1, mw + 1) if mw % d == 0]
    pes = [d for d in range(1, mh + 1) if mh % d == 0]
    for pe in (1, 4, 16):
        luts = {s: cost(estimate_link("mvau", mvau(pe, s, mw, mh, bits, thresholds), family)) for s in simds}
        assert all(luts[4 * s] > 0.95 * luts[s] for s in simds if 4 * s in luts), (pe, luts)
    for simd in (1, 8, 64):
        luts = {p: cost(estimate_link("mvau", mvau(p, simd, mw, mh, bits, thresholds), family)) for p in pes}
        assert all(luts[4 * p] > 0.95 * luts[p] for p in pes if 4 * p in luts), (simd, luts)


def test_memory_file_parameters_are_ignored():
    a = mvau(4, 16)
    b = dict(a, WEIGHT_FILE="other.mem", THRESHOLD_FILE="")
    assert estimate_link("mvau", a, "xilinx") == estimate_link("mvau", b, "xilinx")


def test_unknown_module_and_family_raise():
    with pytest.raises(BnnccError, match="no registry entry for rtl_lib module 'conv2d'"):
        estimate_link("conv2d", {}, "xilinx")
    with pytest.raises(BnnccError, match="family 'gowin'"):
        estimate_link("stream_fifo", {"WIDTH": 8, "DEPTH": 16}, "gowin")


def test_ice40_has_no_lutram_and_small_block_rams():
    fifo = {"WIDTH": 16, "DEPTH": 60}
    assert estimate_link("stream_fifo", fifo, "ice40").lutram == 0
    assert estimate_link("stream_fifo", fifo, "ecp5").lutram > 0
    deep = {"WIDTH": 16, "DEPTH": 1024}
    assert estimate_link("stream_fifo", deep, "ice40").bram == 4 * estimate_link("stream_fifo", deep, "ecp5").bram
    assert estimate_link("mvau", mvau(2, 8, bits=4, thresholds=15), "ice40").dsp == 0


def test_block_ram_packing_rules():
    # RAMB18 holds 512 x 36 (simple dual port) or 1024 x 18; a RAMB36 is two units
    assert map_memory(Memory(36, 512, "ram"), "xilinx").bram == 1
    assert map_memory(Memory(18, 1024, "ram"), "xilinx").bram == 1
    assert map_memory(Memory(72, 512, "ram"), "xilinx").bram == 2
    assert map_memory(Memory(1, 16384, "ram"), "xilinx").bram == 1
    assert map_memory(Memory(8, 16, "rom", "block"), "xilinx").bram == 1
    # a shallow memory stays in LUT RAM, a small ROM in logic
    assert map_memory(Memory(64, 32, "ram"), "xilinx").target == "lutram"
    assert map_memory(Memory(11, 64, "rom"), "xilinx").target == "logic"
    # ECP5: 18 Kbit EBRs, 512 x 36 with the pseudo dual port
    assert map_memory(Memory(36, 512, "rom"), "ecp5").bram == 1


def test_popcount_tree():
    assert popcount_luts(3, 0) == (2, 2)           # one 3-pair group: two LUTs, two bits
    luts, bits = popcount_luts(64, 1)
    assert bits == 7 and 64 < luts < 128           # about 1.4 LUTs per pair


def test_estimate_is_fast():
    p = mvau(4, 32)
    start = time.perf_counter()
    for simd in [1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64, 72, 96, 144, 192, 288, 576] * 20:
        estimate_link("mvau", dict(p, SIMD=simd), "xilinx")
    assert (time.perf_counter() - start) / 420 < 1e-3
