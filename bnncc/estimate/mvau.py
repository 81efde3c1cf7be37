"""Terms of the matrix-vector-activation unit (``rtl_lib/mvau.v``).

Sizes as the module derives them: SF = MW/SIMD, NF = MH/PE, weight word PE*SIMD*WB bits,
WDEPTH = NF*SF words, threshold word PE*NT*ACC_BITS bits, FOLD = (NT == 1), accumulator
AW = ACC_BITS + FOLD bits, per-PE dot product of DW bits.

* Binary (XNOR-popcount) lanes: the compressor tree of ``mvau_popcount`` is rebuilt here
  counter by counter (:func:`popcount_luts`): one LUT per output bit of every 3-pair group
  and every 3..6-input counter (they are kept as their own modules), plus the final
  adder of the two remaining rows.
* Multiply-accumulate lanes: per product, a conditional inversion of the multi-bit operand
  when the other one is bipolar (``negate`` term: bits inverted, and ``negate_carry``: the
  + 1 of -x = ~x + 1, one more addend bit per product), a soft multiplier of
  XS x WS bits (``multiply``: partial-product bits) unless it becomes a DSP, and the
  product's KW bits in the adder chain (``sum``). Yosys maps a signed XS x WS multiplier
  with both operands of 2 bits or more to a DSP block: on xc7 when XS + WS >= 9
  (DSP_Y_MINWIDTH = 9), on ECP5 always (MULT18X18D), on iCE40 never (synth_ice40 uses
  SB_MAC16 only with -dsp): one DSP per product, PE*SIMD.
* Accumulators (PE x AW), threshold comparisons (PE x NT x ACC_BITS, NT > 1) and counts.
* Memories through :func:`bnncc.estimate.memory.memory_cost`: the weight ROM (block RAM
  from 32 words, the module asks for it; else Yosys's choice), the input vector buffer
  (SF words of SIMD*INPUT_BITS, read at the write address), the threshold ROM (NF words of
  PE*NT*ACC_BITS bits less those equal in every word, which Yosys removes: parameter hint
  ``THRESHOLD_CONSTANT_BITS``; where the module reads it asynchronously, its address comes from a
  register that Yosys moves behind the ROM, so it is a registered ROM like the others and
  may become block RAM), the output FIFO (OD words, asynchronous read).
* Flip-flops: the registers the module declares, minus those a block RAM absorbs.
"""

from __future__ import annotations

from functools import lru_cache

from bnncc.estimate.memory import THRESHOLD_CONSTANT_BITS, Memory, memory_cost
from bnncc.estimate.terms import Terms, clog2

#: Weight ROMs of at least this many words ask for block RAM (mvau.v: WROM_BLOCK_DEPTH).
WROM_BLOCK_DEPTH = 32
#: Weight ROMs of at most this many words count as shallow (see ``weight_rom_shallow``).
SHALLOW_ROM_DEPTH = 8


@lru_cache(maxsize=4096)
def popcount_luts(n: int, extra: int) -> tuple[int, int]:
    """(LUTs of the counters, result bits) of ``mvau_popcount #(.N(n), .EXTRA(extra))``:
    2 per 3-pair group, 1 or 2 for the pairs left over, 2 per 3-input and 3 per 4..6-input
    counter of every reduction stage until no column holds more than two bits."""
    cols = clog2(n + extra + 1)
    groups, rest = divmod(n, 3)
    heights = [0] * cols
    heights[0] = groups + (rest > 0) + extra
    if cols > 1:
        heights[1] = groups + (rest == 2)
    luts = 2 * groups + rest
    while max(heights) > 2:
        for h in heights:
            full, left = divmod(h, 6)
            luts += 3 * full + (3 if left >= 4 else 2 if left == 3 else 0)

        def height(c):
            return heights[c] if 0 <= c < cols else 0

        def counters(h):
            return h // 6 + (h % 6 >= 3)

        heights = [counters(height(c)) + counters(height(c - 1)) + (height(c - 2) // 6 + (height(c - 2) % 6 >= 4))
                   + (0 if height(c) % 6 >= 3 else height(c) % 6) for c in range(cols)]
    return luts, cols


def _signed_width(bits: int, signed: bool) -> int:
    """Operand width as a signed number (mvau.v XS / WS)."""
    return (bits if bits > 1 else 2) if signed else bits + 1


def uses_dsp(p: dict, family: str) -> bool:
    """Whether each product becomes a DSP block (see the module docstring)."""
    if p["BINARY"] or p["INPUT_BIPOLAR"] or p["WEIGHT_BIPOLAR"]:
        return False
    xs = _signed_width(p["INPUT_BITS"], p["INPUT_SIGNED"])
    ws = _signed_width(p["WEIGHT_BITS"], p["WEIGHT_SIGNED"])
    if family == "xilinx":
        return xs >= 2 and ws >= 2 and xs + ws >= 9
    return family == "ecp5" and xs >= 2 and ws >= 2


def mvau(p: dict, family: str) -> Terms:
    mw, mh, pe, simd = p["MW"], p["MH"], p["PE"], p["SIMD"]
    xb, wb, acc_bits, nt = p["INPUT_BITS"], p["WEIGHT_BITS"], p["ACC_BITS"], p["N_THRESHOLDS"]
    sf, nf = mw // simd, mh // pe
    in_w, out_w = simd * xb, pe * p["OUT_BITS"]
    wword, wdepth = pe * simd * wb, nf * sf
    fold = 1 if nt == 1 else 0
    aw = acc_bits + fold
    xs = _signed_width(xb, p["INPUT_SIGNED"])
    ws = _signed_width(wb, p["WEIGHT_SIGNED"])
    pw = xs + ws
    if p["INPUT_BIPOLAR"] and p["WEIGHT_BIPOLAR"]:
        kw = 2
    elif p["WEIGHT_BIPOLAR"]:
        kw = xs
    elif p["INPUT_BIPOLAR"]:
        kw = ws
    else:
        kw = pw
    dw = clog2(simd + fold + 1) if p["BINARY"] else min(pw + clog2(simd + 1), aw)
    sf_w, nf_w, wa_w = max(1, clog2(sf)), max(1, clog2(nf)), max(1, clog2(wdepth))
    od = 2 if sf >= 3 else (5 + sf - 1) // sf
    oc_w = clog2(od + 1)

    lut, ff = {"const": 1, "counter_bits": sf_w + nf_w + wa_w + oc_w}, {}
    dsp = 0.0
    if p["BINARY"]:
        counters, cols = popcount_luts(simd, fold)
        lut["popcount"] = pe * counters
        lut["popcount_adder"] = pe * cols
    else:
        products = pe * simd
        if uses_dsp(p, family):
            dsp = float(products)
            lut["dsp_sum"] = products * kw
        else:
            if p["INPUT_BIPOLAR"] or p["WEIGHT_BIPOLAR"]:
                lut["negate"] = products * kw
                lut["negate_carry"] = products  # the + 1 of -x = ~x + 1: one more addend bit
            else:
                lut["multiply"] = products * xs * ws
            lut["sum"] = products * kw
    lut["accumulate"] = pe * aw
    if nt > 1:
        lut["compare"] = pe * nt * acc_bits
        lut["count"] = pe * nt * p["OUT_BITS"]

    # memories
    wrom = Memory(wword, wdepth, "rom", "block" if wdepth >= WROM_BLOCK_DEPTH else "auto")
    wcost = memory_cost(wrom, family)
    xbuf = memory_cost(Memory(in_w, sf, "ram_shared"), family) if nf > 1 else None
    tmem = None
    tword = max(1, pe * nt * acc_bits - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    if nt > 0 and nf > 1:
        tmem = memory_cost(Memory(tword, nf, "rom"), family)
    ofifo = memory_cost(Memory(out_w, od, "ram_async"), family)
    # A shallow weight ROM (a few address bits) merges into the XNOR / product logic that
    # reads it; a deeper one is a LUT per output bit: two terms with their own coefficients.
    lut["weight_rom_shallow" if wdepth <= SHALLOW_ROM_DEPTH else "weight_rom"] = wcost["rom"]
    lut["threshold_rom"] = tmem["rom"] if tmem else 0.0
    lut["input_select"] = in_w if nf > 1 else 0
    lut["mux"] = sum(m["mux"] for m in (wcost, xbuf, tmem, ofifo) if m)
    lut["decode"] = sum(m["decode"] for m in (xbuf, ofifo) if m)
    bram = sum(m["bram"] for m in (wcost, xbuf, tmem, ofifo) if m)
    lutram = sum(m["lutram"] for m in (wcost, xbuf, tmem, ofifo) if m)

    # registers
    registers = sf_w + nf_w + wa_w + 2 * oc_w + 2 * clog2(od) + 7 + (1 if nf > 1 else 0)
    registers += nf_w * (0 if not tmem else 1 if fold else 2)
    data = in_w + pe * dw + pe * aw
    if wdepth > 1 and not wcost["bram"]:
        data += wword
    if xbuf is not None and not xbuf["bram"]:
        data += in_w
    if tmem is not None and not tmem["bram"]:
        data += tword
    ff["control"] = registers
    ff["data"] = data
    ff["memory"] = sum(m["ff"] for m in (wcost, xbuf, tmem, ofifo) if m)
    return Terms(lut=lut, ff=ff, bram=bram, dsp=dsp, lutram=lutram)
