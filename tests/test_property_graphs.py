"""Property-based tests: random small quantized graphs built only from features bnncc claims
(tests/graphs) go through every pass exactly, and a share of them through RTL.

Every graph is a QONNX model as Brevitas writes it: FC and conv chains, 1-8-bit weights and
activations, bipolar, signed and unsigned, narrow range, per-tensor and per-channel weight
scales, power-of-two and arbitrary scales, every rounding mode, odd and prime widths, 1xk and
kx1 kernels, stride 2, zero padding, max-pool, residual blocks (passes only), BatchNorm with negative and zero scales,
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
from hypothesis import event, given, settings  # noqa: E402

from graphs import check_graph, graph_specs  # noqa: E402
from graphs.spec import RTL_LIMITS  # noqa: E402


#: Failures of bugs found here and not fixed yet: the xfail(strict=True) regression test in
#: tests/test_property_regressions.py that pins each bug, and a predicate on the outcome and
#: the graph that recognises its symptom. A graph failing only this way is recorded as a
#: hypothesis event instead of failing the run (benchmarks/fuzz_graphs.py filters nothing);
#: when the regression test turns red (fixed), delete its entry here.
KNOWN_OPEN: dict = {}


def known_open(outcome, spec) -> str | None:
    for test, matches in KNOWN_OPEN.items():
        if matches(outcome, spec):
            return test
    return None


def check(outcome, spec):
    if not outcome.ok and known_open(outcome, spec):
        event(f"known open bug: {known_open(outcome, spec)}")
        return
    assert outcome.ok, f"{outcome.describe()}\n{spec!r}"


def rtl_examples() -> int:
    """A tenth of the profile's graphs go through RTL (4 in ``ci``, 200 in ``long``)."""
    return max(1, settings.default.max_examples // 10)


@given(spec=graph_specs())
def test_every_pass_is_exact(spec, tmp_path_factory):
    check(check_graph(spec, tmp_path_factory.mktemp("graph")), spec)


@settings(max_examples=rtl_examples())
@given(spec=graph_specs(RTL_LIMITS))
def test_rtl_is_exact_and_lints(spec, tmp_path_factory):
    check(check_graph(spec, tmp_path_factory.mktemp("graph"), rtl=True), spec)


def test_generator_draws_every_claimed_feature():
    """300 drawn graphs cover every feature the generator promises, and all are valid ONNX."""
    import onnx

    from graphs import RandomDraw, build_model, draw_spec
    from graphs.spec import ROUNDING_MODES, WEIGHT_KINDS

    seen = set()
    for seed in range(300):
        spec = draw_spec(RandomDraw(seed))
        onnx.checker.check_model(build_model(spec))
        seen.add(("image", len(spec.shape) == 3))
        quants = [("in", spec.input_quant)]
        for layer in spec.layers:
            seen.add(("layer", layer.kind))
            if layer.kind == "pool":
                continue
            seen |= {("weights", layer.weights), ("kernel", layer.kernel), ("stride", layer.stride), ("pad", layer.pad)}
            seen |= {(flag, getattr(layer, flag)) for flag in ("bias", "bn", "relu", "gemm")}
            quants += [("w", layer.weight), ("act", layer.act)] if layer.act else [("w", layer.weight), ("out", None)]
        for role, q in quants:
            if q is None:
                seen.add(("float output", True))
                continue
            seen |= {(role, "bits", q.bits), (role, "signed", q.signed), ("narrow", q.narrow), ("rounding", q.rounding),
                     (role, "per_channel", q.per_channel), ("pow2", q.pow2)}
    wanted = {("image", True), ("image", False), ("layer", "conv"), ("layer", "fc"), ("layer", "pool"), ("layer", "residual"),
              ("stride", 2), ("pad", 1), ("kernel", (1, 3)), ("kernel", (3, 1)), ("kernel", (1, 5)), ("kernel", (5, 1)),
              ("bias", True), ("bn", True), ("relu", True), ("gemm", True), ("narrow", True), ("pow2", False),
              ("float output", True), ("w", "per_channel", True), ("w", "signed", False), ("act", "signed", False)}
    wanted |= {("weights", kind) for kind in WEIGHT_KINDS} | {("rounding", mode) for mode in ROUNDING_MODES}
    wanted |= {(role, "bits", bits) for role in ("w", "act", "in") for bits in range(1, 9)}
    assert wanted <= seen, sorted(wanted - seen, key=str)


def test_fuzz_runner_counts_and_writes_json(tmp_path):
    """benchmarks/fuzz_graphs.py (the long profile as a run that keeps going) on 3 graphs."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_graphs.py"
    out = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, str(script), "--graphs", "3", "--rtl", "0", "--samples", "4", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["passes"]["graphs"] == 3 and result["rtl"] is None
    assert run.returncode == (1 if result["passes"]["failed"] else 0), run.stderr
    assert "graphs/s" in run.stdout
