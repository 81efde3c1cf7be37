"""Failures the property-based tests found, shrunk, each as a named test with its graph.

Each graph is a :class:`graphs.spec.GraphSpec` literal (every float in it derives from its
``seed``, see tests/graphs/build.py). A test of a bug that is not fixed yet is marked
``xfail(strict=True)``: it turns red when the fix lands, and the mark goes then (together with
its entry in ``KNOWN_OPEN`` of tests/test_property_graphs.py).
"""

import pytest

from graphs import GraphSpec, Layer, QuantSpec, build_model, check_graph


def assert_checks(spec: GraphSpec, tmp_path, rtl: bool = False):
    outcome = check_graph(spec, tmp_path, rtl=rtl)
    assert outcome.ok, outcome.describe()
    return outcome


# A bipolar input times 3-bit weights with a non-power-of-two scale into a BipolarQuant: for
# some inputs the dot product is exactly 0, which QONNX maps to +1; onnxruntime's float sum
# lands a hair below 0 (-1). Up to xnor_popcount verify counts these samples as ties; from
# to_hw on the MVAU's bipolar output is compared with a code step of 1 instead of 2
# (bnncc/verify/compare.py `_step` knows BipolarQuant and bipolar MultiThreshold, not MVAU
# or Thresholding with a bipolar output), so the same samples become mismatches.
BIPOLAR_MVAU_TIE = GraphSpec(
    seed=1, shape=(10,), input_quant=QuantSpec(bits=1),
    layers=(Layer("fc", out=1, weight=QuantSpec(bits=3, pow2=False), act=QuantSpec(bits=1)),),
    prescale=False,
)


def test_bipolar_mvau_tie_is_a_tie(tmp_path):
    outcome = assert_checks(BIPOLAR_MVAU_TIE, tmp_path)
    assert outcome.ties > 0


def test_bipolar_mvau_tie_graph_has_ties_before_to_hw(tmp_path):
    """The graph above does sit on ties (so the test above tests what it says)."""
    from bnncc.verify.run import verify_model
    import onnx

    path = tmp_path / "m.onnx"
    onnx.save(build_model(BIPOLAR_MVAU_TIE), path)
    result = verify_model(path, samples=16, seed=BIPOLAR_MVAU_TIE.seed)
    first = {stage.stage: stage for stage in result.stages}
    assert first["import"].ties > 0 and first["import"].mismatches == 0


# A CEIL (or UP) activation quantizer right after a product: where the dot product is exactly 0
# the real value sits on CEIL's boundary (ceil(0) = 0, ceil(+tiny) = 1). At import verify
# counts the sample as a tie; after absorb_thresholds the quantizer is a MultiThreshold with
# integer thresholds (acc >= 1 for "acc > 0"), and quant_math.multithreshold_boundary_distance
# measures 1 from the threshold instead of 0 from the real boundary, so the same sample
# becomes a mismatch. (bnncc's 0 is the exact value; onnxruntime's float32 sum is a hair above.)
CEIL_THRESHOLD_TIE = GraphSpec(
    seed=2, shape=(10,), input_quant=QuantSpec(bits=1),
    layers=(Layer("fc", out=4, weight=QuantSpec(bits=3, pow2=False), act=QuantSpec(bits=2, pow2=False, rounding="CEIL")),),
    prescale=False,
)
# The shrunk graph the long run found, the same with UP rounding after 1-bit weights.
UP_THRESHOLD_TIE = GraphSpec(
    seed=16432, shape=(6,), input_quant=QuantSpec(bits=3, pow2=False),
    layers=(Layer("fc", out=1, weight=QuantSpec(bits=1), act=QuantSpec(bits=2, signed=False, rounding="UP")),),
)


@pytest.mark.parametrize("spec", [CEIL_THRESHOLD_TIE, UP_THRESHOLD_TIE], ids=["ceil", "up"])
def test_tie_on_a_strict_boundary_stays_a_tie_after_thresholds(spec, tmp_path):
    assert_checks(spec, tmp_path)


# Two conv layers; the second quantizer rounds UP (away from zero): a value exactly 0 in exact
# arithmetic comes out of the float engines as +tiny (bnncc, float64) or -tiny (onnxruntime,
# float32), codes +1 and -1, two code steps apart. verify's tie rule (bnncc/verify/compare.py
# ``_step``) allows one step for Quant, so this tie at import is reported as a mismatch.
UP_ZERO_TIE = GraphSpec(
    seed=19453, shape=(2, 12, 11), input_quant=QuantSpec(bits=1),
    layers=(
        Layer("conv", out=1, kernel=(3, 3), weight=QuantSpec(bits=3, pow2=False),
              act=QuantSpec(bits=4, pow2=False, rounding="FLOOR")),
        Layer("conv", out=12, kernel=(3, 3), weight=QuantSpec(bits=4, per_channel=True, pow2=False),
              act=QuantSpec(bits=2, rounding="UP")),
    ),
)


def test_up_rounding_tie_at_zero_is_a_tie(tmp_path):
    assert_checks(UP_ZERO_TIE, tmp_path)


# 8-bit weights whose codes reach -128 (signed, not narrow) or 255 (unsigned) followed by a
# BatchNorm with a negative scale on some channel: a negative-scale channel is computed by
# negating its weight row, and -(-128) = 128 or -255 need 9 bits. Compile refused it while
# mvau took at most 8-bit weights ("INPUT_BITS and WEIGHT_BITS must be 1..8").
EIGHT_BIT_WEIGHTS_NEGATIVE_BN = [
    GraphSpec(seed=0, shape=(4,), input_quant=QuantSpec(bits=2),
              layers=(Layer("fc", out=3, weight=QuantSpec(bits=8, signed=signed), bn=True, act=QuantSpec(bits=3)),),
              prescale=False)
    for signed in (True, False)
]


@pytest.mark.parametrize("spec", EIGHT_BIT_WEIGHTS_NEGATIVE_BN, ids=["int8", "uint8"])
def test_eight_bit_weights_with_negative_batchnorm_scale_compile(spec, tmp_path):
    assert_checks(spec, tmp_path, rtl=True)


@pytest.mark.parametrize("spec", EIGHT_BIT_WEIGHTS_NEGATIVE_BN, ids=["int8", "uint8"])
def test_eight_bit_weights_with_negative_batchnorm_scale_are_exact_at_every_pass(spec, tmp_path):
    assert_checks(spec, tmp_path)


# A residual block (drawn by the pass profile): the folding stage asks the hardware-module
# registry for the module of each stage, which knew no StreamFork / StreamAdd at first
# ("no rtl_lib module implements this hardware op"); it verifies now.
RESIDUAL_FOLDING = GraphSpec(
    seed=3, shape=(1, 4, 4), input_quant=QuantSpec(bits=4),
    layers=(
        Layer("conv", out=2, kernel=(1, 1), weight=QuantSpec(bits=2), act=QuantSpec(bits=2, signed=False)),
        Layer("residual", out=2, kernel=(3, 3), pad=1, weight=QuantSpec(bits=2), bn=True,
              act=QuantSpec(bits=2, signed=False), ratio=(2, 1), sum_act=QuantSpec(bits=3, signed=False)),
        Layer("fc", out=3, weight=QuantSpec(bits=2)),
    ),
    prescale=False,
)


def test_residual_graph_verifies(tmp_path):
    assert_checks(RESIDUAL_FOLDING, tmp_path)


def test_residual_graph_joins_in_hardware_before_folding():
    """The graph above gets through every pass to its hardware join and fork."""
    from bnncc.frontend import import_model
    from bnncc.passes.pipeline import run_pipeline

    graph = run_pipeline(import_model(build_model(RESIDUAL_FOLDING)))[-1].graph
    assert {"StreamAdd", "StreamFork"} <= set(graph.op_count())
