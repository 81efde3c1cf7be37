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
* ``rules``: the :class:`~bnncc.hw.rules.ModuleRules` mirror of its
  Verilog elaboration checks;
* ``pattern(stage) -> Pattern``: its beat timing (the max-plus pattern FIFO sizing and the
  first-frame latency read);
* ``terms(parameters, family) -> Terms``: structural quantities of the resource estimate;
  ``coefficients[family]`` (``"xilinx"``, ``"ecp5"``) weighs every term it can return;
* ``calibration_grid(quick) -> list[dict]``: parameter sets synthesized to fit the
  coefficients;
* ``foldings(graph, op) -> list[dict]``: the legal foldings of a stage (``{"pe": p,
  "simd": s}``), and ``coupling``: how its folding is tied to its neighbours' (see
  :mod:`bnncc.passes.auto_fold`);
* ``macs(stage) -> int``: multiply-accumulates per frame (0 for a module without any).

Helpers beyond those (``None`` where they do not apply):

* ``extra_rules``: the :class:`~bnncc.hw.rules.ModuleRules` of Verilog submodules defined in
  the same file (``streaming_maxpool_1d`` in ``streaming_maxpool.v``);
* ``verilog_ports(parameters) -> list[(prefix, direction, data bits, lanes)]``: the physical
  AXI-Stream ports (``"in"``/``"out"``; ``lanes`` streams packed side by side on one port,
  each with its own valid and ready bit). A logical port ``"m_axis[k]"`` of ``in_ports`` /
  ``out_ports`` is lane ``k`` of the packed port ``m_axis``;
* ``hints(parameters, words) -> dict``: the estimate's hints from the memory words
  (``words`` maps a file parameter to its words), as the builder sets ``StageRTL.hints``;
* ``beat_elems(op) -> (in, out)``: elements per input and per output beat of a stage;
* ``couple(op, elems) -> dict``: with ``coupling`` ``"consumer"`` (``"producer"``), the
  folding of ``op`` that matches a consumer taking (a producer giving) ``elems`` elements per
  beat;
* ``work(stage) -> dict``: what the report shows of a stage's work beyond ``macs``
  (``mw``, ``mh``, ``mac_kind``, ``weight_bits``, ``thresholds``).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
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
    terms: Callable | None = None
    coefficients: dict = field(default_factory=dict)
    calibration_grid: Callable | None = None
    foldings: Callable | None = None
    coupling: str = ""
    macs: Callable | None = None
    extra_rules: tuple = ()
    verilog_ports: Callable | None = None
    hints: Callable | None = None
    beat_elems: Callable | None = None
    couple: Callable | None = None
    work: Callable | None = None
    #: (graph, op, device) -> extra folding keys the optimizer may try for the op on that
    #: device besides its plain foldings (the MVAU's DSP arithmetic: [{"dsp": kind}])
    variants: Callable | None = None


#: The hand-written modules: ``bnncc/rtl_lib`` (in a checkout a link to the top-level
#: ``rtl_lib/``, in an installed package a copy of it).
RTL_LIB = Path(__file__).resolve().parents[1] / "rtl_lib"
#: Families that have their own coefficient tables (iCE40 takes ECP5's).
FAMILIES = ("xilinx", "ecp5")
COUPLINGS = ("", "consumer", "producer")

_SPECS: dict[str, ModuleSpec] = {}


def _discover() -> dict[str, ModuleSpec]:
    """Every ``SPEC`` of ``bnncc/hw/modules/*`` by module name (imported once)."""
    if not _SPECS:
        import bnncc.hw.modules as package

        found = {}
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            entry = getattr(module, "SPEC", None)
            if not isinstance(entry, ModuleSpec):
                raise UnknownModuleError(f"bnncc/hw/modules/{info.name}.py: expected a ModuleSpec named SPEC")
            if entry.name in found:
                raise UnknownModuleError(f"bnncc/hw/modules/{info.name}.py: module {entry.name} is registered twice")
            found[entry.name] = entry
        _SPECS.update(found)
    return _SPECS


def all_specs() -> list[ModuleSpec]:
    """Every registry entry, by module name."""
    return [entry for _, entry in sorted(_discover().items())]


def spec(name: str) -> ModuleSpec:
    """The entry of the rtl_lib module ``name``."""
    specs = _discover()
    if name not in specs:
        raise UnknownModuleError(f"no registry entry for rtl_lib module {name!r}: expected one of {', '.join(sorted(specs))}")
    return specs[name]


def for_op(op) -> ModuleSpec:
    """The stage entry that implements the hardware op ``op``."""
    for entry in all_specs():
        if type(op) in entry.ir_ops:
            return entry
    raise UnknownModuleError(f"node '{op.name}' ({type(op).__name__}): no rtl_lib module implements this hardware op")


def all_rules() -> dict:
    """Every :class:`~bnncc.hw.rules.ModuleRules` by Verilog module name (the entries' own
    and those of their submodules)."""
    rules = {}
    for entry in all_specs():
        for item in (entry.rules, *entry.extra_rules):
            if item is not None:
                rules[item.module] = item
    return rules


def verilog_parameters(name: str) -> dict[str, dict]:
    """module -> its declared ``parameter`` names, for every module of ``rtl_lib/<name>.v``."""
    import re

    text = re.sub(r"//[^\n]*", "", (RTL_LIB / f"{name}.v").read_text())
    modules = {}
    for match in re.finditer(r"\bmodule\s+(\w+)\s*#\s*\((.*?)\)\s*\(", text, re.S):
        modules[match.group(1)] = set(re.findall(r"\bparameter\s+(?:integer\s+|signed\s+)*(?:\[[^]]*\]\s*)?(\w+)", match.group(2)))
    return modules


_NEEDS = {
    "stage": ("ir_ops", "build", "in_ports", "out_ports", "pattern", "terms", "coefficients",
              "calibration_grid", "foldings", "macs", "verilog_ports", "beat_elems"),
    "stream": ("in_ports", "out_ports", "pattern", "terms", "coefficients", "calibration_grid",
               "verilog_ports"),
    "submodule": (),
}


def problems(entry: ModuleSpec) -> list[str]:
    """What ``entry`` lacks or gets wrong for its kind, one line each (empty if nothing)."""
    where = f"module {entry.name}"
    if entry.kind not in KINDS:
        return [f"{where}: kind {entry.kind!r} is not one of {', '.join(KINDS)}"]
    found = [f"{where}: a {entry.kind} entry needs {name}" for name in _NEEDS[entry.kind]
             if not getattr(entry, name)]
    path = RTL_LIB / f"{entry.name}.v"
    if not path.is_file():
        return found + [f"{where}: no rtl_lib/{entry.name}.v"]
    declared = verilog_parameters(entry.name)
    for item in (entry.rules, *entry.extra_rules):
        if item is None:
            found.append(f"{where}: no parameter rules")
            continue
        if item is entry.rules and item.module != entry.name:
            found.append(f"{where}: its rules are those of module {item.module}")
        elif item.module not in declared:
            found.append(f"{where}: rules of {item.module}, a module rtl_lib/{entry.name}.v does not define")
        elif set(item.defaults) != declared[item.module]:
            extra = sorted(set(item.defaults) - declared[item.module])
            missing = sorted(declared[item.module] - set(item.defaults))
            found.append(f"{where}: rules of {item.module} differ from its Verilog parameters "
                         f"(not in the Verilog: {', '.join(extra) or 'none'}; not in the rules: {', '.join(missing) or 'none'})")
    if entry.coupling not in COUPLINGS:
        found.append(f"{where}: coupling {entry.coupling!r} is not one of {', '.join(map(repr, COUPLINGS))}")
    if entry.coupling and not entry.couple:
        found.append(f"{where}: coupling {entry.coupling!r} needs couple")
    if entry.terms and entry.calibration_grid:
        found += _coefficient_problems(entry, declared.get(entry.name, set()))
    return found


def _coefficient_problems(entry: ModuleSpec, declared: set) -> list[str]:
    """Grid points with parameters the Verilog lacks, and terms without coefficients."""
    where = f"module {entry.name}"
    found = []
    missing: dict[tuple[str, str], set] = {}
    for family in FAMILIES:
        if family not in entry.coefficients:
            found.append(f"{where}: no coefficients for family {family}")
    for item in entry.calibration_grid(False):
        unknown = sorted(set(item["parameters"]) - declared)
        if unknown:
            found.append(f"{where}: grid point {item['name']} sets {', '.join(unknown)}, not a parameter of its Verilog")
            continue
        for family in FAMILIES:
            table = entry.coefficients.get(family)
            if table is None:
                continue
            terms = entry.terms(item["parameters"], family)
            for kind in ("lut", "ff"):
                for name in set(getattr(terms, kind)) - set(table.get(kind, {})):
                    missing.setdefault((family, kind), set()).add(name)
    for (family, kind), names in sorted(missing.items()):
        found.append(f"{where}: {kind} terms without a {family} coefficient: {', '.join(sorted(names))}")
    return found
