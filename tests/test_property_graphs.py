"""Property-based tests: random small quantized graphs built only from features bnncc claims
(tests/graphs) go through every pass exactly, and a share of them through RTL.

Every graph is a QONNX model as Brevitas writes it: FC and conv chains, 1-8-bit weights and
activations, bipolar, signed and unsigned, narrow range, per-tensor and per-channel weight
scales, power-of-two and arbitrary scales, every rounding mode, odd and prime widths, 1xk and
kx1 kernels, stride 2, zero padding, max-pool, BatchNorm with negative and zero scales,
biases, Relu before a quantizer, sparse / constant / all-zero / degenerate-row weights.

* ``test_every_pass_is_exact``: onnxruntime on the rewritten model equals the executor after
  import and after every pass (ties counted apart); a refusal is a failure, since every
  feature drawn is claimed.
* ``test_rtl_is_exact_and_lints``: tinier graphs compile, lint clean under ``-Wall`` and are
  exact in Verilator with 30 % random stalls on both stream sides.

Budgets come from the hypothesis profile (tests/conftest.py): ``ci`` by default,
``HYPOTHESIS_PROFILE=long`` for thousands of graphs. A shrunk failure becomes a named test in
tests/test_property_regressions.py.
"""

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402

from graphs import check_graph, graph_specs  # noqa: E402
from graphs.spec import RTL_LIMITS  # noqa: E402


def rtl_examples() -> int:
    """A tenth of the profile's graphs go through RTL (4 in ``ci``, 200 in ``long``)."""
    return max(1, settings.default.max_examples // 10)


@given(spec=graph_specs())
def test_every_pass_is_exact(spec, tmp_path_factory):
    outcome = check_graph(spec, tmp_path_factory.mktemp("graph"))
    assert outcome.ok, f"{outcome.describe()}\n{spec!r}"


@settings(max_examples=rtl_examples())
@given(spec=graph_specs(RTL_LIMITS))
def test_rtl_is_exact_and_lints(spec, tmp_path_factory):
    outcome = check_graph(spec, tmp_path_factory.mktemp("graph"), rtl=True)
    assert outcome.ok, f"{outcome.describe()}\n{spec!r}"
