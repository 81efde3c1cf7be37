"""The placement seed sweep: what it keeps, and that running seeds at once changes nothing
but the wall time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from bnncc.synth.placement_seeds import MAX_PARALLEL, Attempt, select, sweep


def attempt(seed: int, fmax: float, met: bool = False) -> Attempt:
    return Attempt(seed, fmax, met)


def test_none_met_keeps_every_attempt_and_the_fastest_lowest_seed_first():
    best, kept, dropped = select([attempt(3, 120.0), attempt(1, 118.0), attempt(2, 120.0)])
    assert (best.seed, [a.seed for a in kept], dropped) == (2, [1, 2, 3], [])


def test_attempts_after_the_first_that_meets_are_dropped():
    best, kept, dropped = select([attempt(1, 118.0), attempt(2, 126.0, True), attempt(3, 131.0, True),
                                  attempt(4, 140.0, True)])
    assert best.seed == 2 and [a.seed for a in kept] == [1, 2] and [a.seed for a in dropped] == [3, 4]


def fake_placement(fmax: dict[int, float], target: float, delay: float = 0.0):
    """A ``place`` callable with fixed Fmax per seed, recording the seeds it was given and
    the most placements that ran at once."""
    placed, running, lock = [], [0], threading.Lock()
    most = [0]

    def place(seed: int) -> Attempt:
        with lock:
            placed.append(seed)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(delay)
        with lock:
            running[0] -= 1
        return Attempt(seed, fmax[seed], fmax[seed] >= target)

    return place, placed, most


@pytest.mark.parametrize("trial", range(40))
def test_a_parallel_sweep_keeps_what_a_sequential_one_keeps(trial):
    rng = np.random.default_rng(trial)
    seeds = int(rng.integers(1, 9))
    fmax = {seed: float(rng.choice([110.0, 118.0, 122.5, 125.0, 131.0])) for seed in range(1, seeds + 1)}
    place, placed_one, _ = fake_placement(fmax, 125.0)
    one = sweep(place, seeds, workers=1)
    # one after another: every seed up to the first that meets, nothing after it
    first_met = next((s for s in sorted(fmax) if fmax[s] >= 125.0), seeds)
    assert placed_one == list(range(1, first_met + 1)) and one[2] == []
    for workers in range(2, MAX_PARALLEL + 2):
        place, placed, _ = fake_placement(fmax, 125.0)
        best, kept, dropped = sweep(place, seeds, workers=workers)
        assert (best.seed, [a.seed for a in kept]) == (one[0].seed, [a.seed for a in one[1]])
        assert sorted(placed) == [a.seed for a in kept + dropped] and max(placed) <= seeds
        assert len(placed) - len(kept) < min(workers, MAX_PARALLEL)      # at most one batch past the first met


def test_seeds_after_the_first_run_at_once():
    place, placed, most = fake_placement({1: 100.0, 2: 100.0, 3: 100.0}, 125.0, delay=0.2)
    best, kept, dropped = sweep(place, 3, workers=2)
    assert most[0] == 2 and placed[0] == 1 and sorted(placed) == [1, 2, 3]
    assert best.seed == 1 and [a.seed for a in kept] == [1, 2, 3] and not dropped


def test_a_first_placement_that_meets_is_the_only_one():
    place, placed, _ = fake_placement({1: 130.0, 2: 140.0, 3: 150.0}, 125.0)
    best, kept, dropped = sweep(place, 3, workers=4)
    assert placed == [1] and best.seed == 1 and [a.seed for a in kept] == [1] and not dropped
