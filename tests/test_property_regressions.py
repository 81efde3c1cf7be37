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


@pytest.mark.xfail(strict=True, reason="verify/compare.py _step: bipolar MVAU output compared with code step 1, a tie becomes a mismatch")
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
