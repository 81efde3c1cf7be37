"""Random input frames for the RTL tests of streaming modules."""

from __future__ import annotations

import numpy as np

from bnncc.datatype import BIPOLAR, DataType


def random_frames(rng, dtype: DataType, frames: int, dims) -> np.ndarray:
    """``frames`` frames of shape ``dims`` with values drawn uniformly from ``dtype``'s range
    (-1 or +1 for BIPOLAR)."""
    if dtype == BIPOLAR:
        return rng.choice(np.array([-1, 1]), size=(frames, *dims))
    return rng.integers(int(dtype.min), int(dtype.max) + 1, size=(frames, *dims))
