"""The parameter rules of the rtl_lib modules, mirrored from their Verilog: the machinery.

Each ``rtl_lib`` module stops elaboration on illegal parameters: an ``initial`` block checks
conditions and, when one holds, prints ``"%m: <module>: <message>"`` and calls ``$finish``.
Each module's registry entry (``bnncc/hw/modules/<name>.py``) holds the same checks in
Python as a :class:`ModuleRules` -- one :class:`Rule` per Verilog check, with the check's
message format and arguments written exactly as in the Verilog -- together with the
module's parameter defaults, the derived values (``localparam``) the checks read, and the
submodules whose own checks its parameters reach. This file is the machinery they share.
The compiler calls :func:`check_parameters` whenever it builds a stage's parameters, so a
design never violates a module's checks: the error names the stage, the module and the rule.
``tests/test_module_rules.py`` holds the rules to the Verilog (every check mirrored, same
defaults) and to Verilator (same verdict on boundary parameter sets).

Arithmetic follows Verilog's 32-bit ``integer``: ``/`` truncates toward zero, ``%`` takes the
dividend's sign, a division by zero is ``x`` (a comparison with ``x`` is not true, so the
check does not fire), and ``1 << n`` wraps to a signed 32-bit value (0 for ``n`` outside
0..31).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from bnncc.errors import UnsupportedModelError


class ModuleParameterError(UnsupportedModelError):
    """A stage's parameters break one of its rtl_lib module's elaboration checks."""


# -- Verilog integer arithmetic -----------------------------------------------------------
class _X:
    """Verilog's unknown value: arithmetic on it stays unknown, comparisons are false."""

    def _same(self, *_):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __neg__ = _same
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same

    def _false(self, *_):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _false

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __repr__(self):
        return "x"


X = _X()


def wrap32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def vdiv(a, b):
    """Verilog ``a / b`` on integers: truncated toward zero, ``x`` for ``b == 0``."""
    if a is X or b is X or b == 0:
        return X
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def vmod(a, b):
    """Verilog ``a % b`` on integers: the sign of ``a``, ``x`` for ``b == 0``."""
    quotient = vdiv(a, b)
    return X if quotient is X else a - b * quotient


def shl1(n):
    """Verilog ``1 << n`` as a 32-bit integer."""
    if n is X:
        return X
    return wrap32(1 << n) if 0 <= n < 32 else 0


def clog2(n: int) -> int:
    """Verilog ``$clog2(n)``: bits to address ``n`` items (0 for n <= 1)."""
    return 0 if n <= 1 else (n - 1).bit_length()


# -- rules --------------------------------------------------------------------------------
Values = Mapping[str, object]


@dataclass(frozen=True)
class Rule:
    """One elaboration check: its Verilog message (format with ``%0d``/``%s``), the Verilog
    expressions of the message's arguments, and when it fires."""

    message: str
    fires: Callable[[Values], bool]
    args: tuple[str, ...] = ()

    def render(self, values: Values) -> str:
        """The message as the Verilog prints it for these values."""
        rendered = [str(_evaluate(expression, values)) for expression in self.args]
        parts = re.split(r"%0d|%s", self.message)
        text = parts[0]
        for value, part in zip(rendered, parts[1:]):
            text += value + part
        return text


def _evaluate(expression: str, values: Values):
    """An argument expression of a rule (plain names, +, -, * of this table's own strings)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\s*[-+*]\s*([A-Za-z_][A-Za-z0-9_]*|\d+))*", expression):
        raise ValueError(f"unsupported rule argument expression '{expression}'")
    return eval(expression, {"__builtins__": {}}, dict(values))  # noqa: S307 - fixed table strings


@dataclass(frozen=True)
class ModuleRules:
    """What the compiler knows of one Verilog module's parameters."""

    module: str
    defaults: dict[str, object]
    rules: tuple[Rule, ...]
    #: localparams the rules read, from the (defaulted) parameters
    derived: Callable[[dict], dict] = lambda p: {}
    #: (instance, module, parameters) of submodules that have checks of their own
    children: Callable[[dict], list[tuple[str, str, dict]]] = lambda p: []

    def values(self, parameters: Mapping[str, object]) -> dict:
        unknown = sorted(set(parameters) - set(self.defaults))
        if unknown:
            raise ModuleParameterError(f"module {self.module} has no parameter {', '.join(unknown)}")
        values = {**self.defaults, **parameters}
        values.update(self.derived(values))
        return values


def any_below(p, names, low):
    return any(p[name] < low for name in names)


def not_multiple(total: str, part: str):
    """``TOTAL < 1 || PART < 1 || TOTAL % PART != 0``."""
    return lambda p: p[total] < 1 or p[part] < 1 or vmod(p[total], p[part]) != 0


def flag(name: str):
    return lambda p: p[name] != 0 and p[name] != 1


@dataclass
class Violation:
    """A check that fires: where (instance path below the checked module), which module,
    and the message its Verilog prints."""

    path: str
    module: str
    message: str

    def __str__(self) -> str:
        where = f" (instance {self.path})" if self.path else ""
        return f"{self.module}{where}: {self.message}"


def violations(module: str, parameters: Mapping[str, object], path: str = "") -> list[Violation]:
    """Every check of ``module`` (and of its submodules) that ``parameters`` make fire, in
    the order the Verilog checks them."""
    from bnncc.hw.registry import all_rules

    rules = all_rules().get(module)
    if rules is None:
        raise ModuleParameterError(f"no parameter rules for rtl_lib module '{module}'")
    values = rules.values(parameters)
    found = [Violation(path, module, rule.render(values)) for rule in rules.rules if rule.fires(values) is True]
    for instance, child, child_parameters in rules.children(values):
        found += violations(child, child_parameters, f"{path}.{instance}" if path else instance)
    return found


def check_parameters(module: str, parameters: Mapping[str, object], node: str, instance: str | None = None) -> None:
    """Fail with a :class:`ModuleParameterError` naming the stage ``node`` (and the
    ``instance`` of the design that serves it, if not the stage itself), the module and the
    first rule its parameters break."""
    try:
        found = violations(module, parameters)
    except ModuleParameterError as error:
        raise ModuleParameterError(f"node '{node}': {error}") from None
    if found:
        first = found[0]
        where = [f"instance '{instance}'"] if instance else []
        where += [f"submodule {first.module} '{first.path}'"] if first.path else []
        more = f" (and {len(found) - 1} more check{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise ModuleParameterError(
            f"node '{node}': rtl_lib module {module}{' (' + ', '.join(where) + ')' if where else ''} "
            f"rejects its parameters: {first.message}{more}"
        )
