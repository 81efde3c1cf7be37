"""Thresholds memory of ``rtl_lib/thresholding.v``: the word packing lives in
:mod:`bnncc.hw.memory_words` (:func:`~bnncc.hw.memory_words.thresholding_words`); these
names stay for the tests that import them from here."""

from bnncc.hw.memory_words import thresholding_words as threshold_words
from bnncc.hw.memory_words import write_mem

__all__ = ["threshold_words", "write_mem"]
