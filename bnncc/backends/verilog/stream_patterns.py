"""When each ``rtl_lib`` module takes and gives beats: the generic part (the ``Pattern`` base
class, max-plus helpers) lives in :mod:`bnncc.hw.patterns`, each module's pattern in its
registry entry (``spec(module).pattern(stage)``, :mod:`bnncc.hw.registry`).

Compatibility names for :mod:`bnncc.backends.verilog.fifo_sizing` until it reads the
registry: ``PATTERNS[module](stage)`` is ``spec(module).pattern(stage)``; ``Gather`` and
``Split`` are the width converter's patterns (``bnncc/hw/modules/width_converter.py``).
"""

from bnncc.hw.modules.width_converter import Gather, Split
from bnncc.hw.patterns import (FRAMES, NEVER_AFTER, NEVER_BEFORE, PassThrough, Pattern, Schedule, backward, forward,
                               tile)
from bnncc.hw.registry import spec


class _Patterns:
    """``PATTERNS[module]``: the pattern of the registry entry ``module`` (compatibility)."""

    def __getitem__(self, module: str):
        return spec(module).pattern


PATTERNS = _Patterns()

__all__ = ["FRAMES", "NEVER_AFTER", "NEVER_BEFORE", "PATTERNS", "Gather", "PassThrough", "Pattern", "Schedule", "Split",
           "backward", "forward", "tile"]
