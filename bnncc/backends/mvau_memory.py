"""Memory files of the matrix-vector-activation unit: the word packing lives in
:mod:`bnncc.hw.memory_words` (shared by the registry's builders, the calibration and the RTL
tests); these names stay for the tests and benchmarks that import them from here."""

from bnncc.hw.memory_words import threshold_words, weight_words, write_mem

__all__ = ["threshold_words", "weight_words", "write_mem"]
