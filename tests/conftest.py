"""Hypothesis profiles of the property-based tests (tests/test_property_graphs.py).

``ci`` (default): a fixed, derandomized budget, the same graphs on every run, so that CI is
reproducible and the Verilator builds of its RTL graphs are cached by design hash: 40 graphs
through every pass, 4 of them tinier ones through RTL. ``long`` (``HYPOTHESIS_PROFILE=long``):
2000 graphs through the passes and 200 through RTL, random seeds; for a run that keeps going
after a failure and counts failures by kind, use ``python benchmarks/fuzz_graphs.py``.

The RTL budget is a tenth of the profile's ``max_examples`` (see ``rtl_examples``).
"""

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip without hypothesis
    settings = None

if settings is not None:
    _common = dict(
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    settings.register_profile("ci", max_examples=40, derandomize=True, database=None, **_common)
    settings.register_profile("long", max_examples=2000, **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
