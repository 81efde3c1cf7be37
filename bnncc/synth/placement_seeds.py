"""Which placement attempts a seed sweep keeps, and the sweep itself, several seeds at once.

A sweep over seeds 1..N stops at the first seed whose placement meets every clock, and keeps
the best attempt (the highest lowest Fmax) when none does. Run one seed after another, the
result is fixed by N alone. Run several at once (seeds k..k+w-1 together after seed 1
missed), it must not depend on w, the machine's cores: :func:`select` looks at the attempts
in seed order and drops everything after the first that meets, so a parallel sweep keeps
exactly what the sequential one would have, and the caller removes the dropped attempts'
files.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

#: placements run at once at most (each nextpnr of a large ECP5 design takes about a GiB)
MAX_PARALLEL = 4


@dataclass
class Attempt:
    """One placement: its seed and lowest Fmax (MHz), whether every clock met its
    constraint, and whatever the flow wants back with it."""

    seed: int
    fmax_mhz: float
    met: bool
    data: object = field(default=None, compare=False)


def select(attempts: list[Attempt]) -> tuple[Attempt, list[Attempt], list[Attempt]]:
    """``(best, kept, dropped)`` of ``attempts`` (any order): ``kept`` the attempts in seed
    order up to and including the first that meets, ``dropped`` the rest; ``best`` the kept
    one that meets, else the kept one of highest Fmax (the lowest seed among equals)."""
    ordered = sorted(attempts, key=lambda a: a.seed)
    first_met = next((i for i, a in enumerate(ordered) if a.met), len(ordered) - 1)
    kept, dropped = ordered[:first_met + 1], ordered[first_met + 1:]
    best = kept[-1] if kept[-1].met else max(kept, key=lambda a: (a.fmax_mhz, -a.seed))
    return best, kept, dropped


def sweep(place: Callable[[int], Attempt], seeds: int,
          workers: int | None = None) -> tuple[Attempt, list[Attempt], list[Attempt]]:
    """Place with seed 1, then, while no attempt meets, with the next seeds up to ``seeds``,
    ``workers`` at a time (default: the machine's cores, at most :data:`MAX_PARALLEL`);
    :func:`select` of everything placed."""
    workers = max(1, min(workers or os.cpu_count() or 1, MAX_PARALLEL))
    attempts = [place(1)]
    next_seed = 2
    while not any(a.met for a in attempts) and next_seed <= seeds:
        batch = list(range(next_seed, min(seeds, next_seed + workers - 1) + 1))
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            attempts += list(pool.map(place, batch))
        next_seed = batch[-1] + 1
    return select(attempts)
