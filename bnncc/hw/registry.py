"""The registry of rtl_lib modules: one :class:`ModuleSpec` per ``rtl_lib/<name>.v``, defined
in ``bnncc/hw/modules/<name>.py`` as ``SPEC``, holding all that the compiler knows of that
module. Nothing else dispatches on a module's name; :func:`spec` of an unknown name is an
error, and :func:`problems` lists what an entry lacks or gets wrong.

What an entry holds (``None`` where the field does not apply to its kind):

* ``name``: the Verilog module name (``rtl_lib/<name>.v``);
* ``kind``: ``"stage"`` (implements IR ops), ``"stream"`` (FIFO, width converter, fork, join:
  placed by the backend between stages) or ``"submodule"`` (only instantiated by other
  modules: it has rules and nothing else);
* ``ir_ops``: the hardware IR op classes (:mod:`bnncc.ir.ops.hw`) a stage implements;
* ``build(graph, op, memories) -> StageRTL``: parameters, memory files, streams, beats and
  cycles of the instance of ``op`` (memory words left empty without ``memories``);
* ``in_ports`` / ``out_ports(parameters) -> list[str]``: the AXI-Stream port prefixes
  (``s_axis``, ``m_axis``, ``m0_axis`` ...), inputs and outputs in IR order;
* ``rules``: the :class:`~bnncc.backends.verilog.module_rules.ModuleRules` mirror of its
  Verilog elaboration checks;
* ``pattern(stage) -> Pattern``: its beat timing (the max-plus pattern FIFO sizing reads);
* ``head_tail(stage) -> (h, t)``: input beats needed before its first output and cycles of
  work after its last input (first-frame latency);
* ``terms(parameters, family) -> Terms``: structural quantities of the resource estimate;
  ``coefficients[family]`` (``"xilinx"``, ``"ecp5"``) weighs every term it can return;
* ``calibration_grid(quick) -> list[dict]``: parameter sets synthesized to fit the
  coefficients;
* ``foldings(graph, op) -> list[dict]``: the legal foldings of a stage (``{"pe": p,
  "simd": s}``), and ``coupling``: how its folding is tied to its neighbours' (see
  :mod:`bnncc.passes.auto_fold`);
* ``macs(stage) -> int``: multiply-accumulates per frame (0 for a module without any).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from bnncc.errors import BnnccError

KINDS = ("stage", "stream", "submodule")


class UnknownModuleError(BnnccError):
    """A module name or IR op with no registry entry."""


@dataclass(frozen=True)
class ModuleSpec:
    """Everything the compiler knows of one rtl_lib module (see the module docstring)."""

    name: str
    kind: str
    rules: object
    ir_ops: tuple = ()
    build: Callable | None = None
    in_ports: Callable | None = None
    out_ports: Callable | None = None
    pattern: Callable | None = None
    head_tail: Callable | None = None
    terms: Callable | None = None
    coefficients: dict = field(default_factory=dict)
    calibration_grid: Callable | None = None
    foldings: Callable | None = None
    coupling: str = ""
    macs: Callable | None = None
