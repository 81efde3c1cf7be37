"""The parameter rules of the rtl_lib modules: each module's ``ModuleRules`` lives in its
registry entry (``bnncc/hw/modules/<name>.py``), the machinery in :mod:`bnncc.hw.rules`.
These names stay here for the backend files and RTL tests that import them."""

from bnncc.hw.rules import ModuleParameterError, ModuleRules, Rule, Violation, check_parameters, violations

__all__ = ["ModuleParameterError", "ModuleRules", "Rule", "Violation", "check_parameters", "violations"]
