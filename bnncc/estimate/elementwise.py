"""Terms of the per-element stages: ``thresholding`` and ``label_select``.

thresholding: a ROM of CH/PE words of PE*N*THRESHOLD_BITS bits (less the parameter hint
``THRESHOLD_CONSTANT_BITS``, bits equal in every word that Yosys removes) read through a
register (Yosys's choice of block RAM or logic; in logic about one LUT per 16 words per
bit, and the registered word only beyond 8 words, where Yosys registers the address),
PE*N signed comparisons of THRESHOLD_BITS bits and PE counts of N bits into OUT_BITS, an
input skid register and the output register.

label_select: a running top-K of (value, index) pairs updated by a chain of PE*K
comparisons of IN_BITS+1 bits, each followed by value and index multiplexers.
"""

from __future__ import annotations

from bnncc.estimate.memory import THRESHOLD_CONSTANT_BITS, Memory, memory_cost
from bnncc.estimate.terms import Terms, clog2, counter_bits


def thresholding(p: dict, family: str) -> Terms:
    ch, pe, nt, tb = p["CH"], p["PE"], p["N_THRESHOLDS"], p["THRESHOLD_BITS"]
    fold, in_w, out_w = ch // pe, pe * p["IN_BITS"], pe * p["OUT_BITS"]
    word = max(1, pe * nt * tb - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    rom = memory_cost(Memory(word, fold, "rom"), family)
    # a ROM in logic: ABC builds each output bit of these (sorted) thresholds from about
    # one LUT per 16 words (measured over 8 to 256 words), not from the 64 a LUT6 could hold
    rom_bits = word * max(1.0, fold / 16) if fold > 1 and not rom["bram"] and not rom["lutram"] else 0.0
    return Terms(
        lut={"const": 1, "counter_bits": counter_bits(fold), "compare": pe * nt * tb, "count": pe * nt * p["OUT_BITS"],
             "data": in_w, "rom": rom_bits, "mux": rom["mux"]},
        # the registered word of a ROM in logic; up to 8 words Yosys registers the address
        ff={"control": counter_bits(fold) + 4, "data": 2 * in_w + out_w + (0 if rom["bram"] or fold <= 8 else word),
            "memory": rom["ff"]},
        bram=rom["bram"], lutram=rom["lutram"])


def label_select(p: dict, family: str) -> Terms:
    pe, k, idx = p["PE"], p["K"], p["IDX_BITS"]
    vw, in_w = p["IN_BITS"] + 1, pe * p["IN_BITS"]
    kw = clog2(k + 1)
    return Terms(
        lut={"const": 1, "compare": pe * k * vw, "select": pe * k * (vw + idx + 1), "index_bits": idx + kw,
             "data": in_w + k * idx},
        ff={"control": idx + kw + 3, "data": in_w + k * (vw + 2 * idx + 1)})
