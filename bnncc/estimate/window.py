"""Terms of the window stages: ``sliding_window`` and ``streaming_maxpool``.

sliding_window: a line buffer of NROWS image rows (IFM_W*CF words of DW = SIMD*ELEM_BITS
bits), written on one port and read through a register on the other; a 4-word output
queue read asynchronously; a reader walking (oh, ow, u, v, cf) with signed row, column and
offset positions of SW bits (ten such registers and their adders and comparisons make the
bulk of the logic), and slot bases of AW bits.

streaming_maxpool: two 1-D pooling stages (along rows, then along columns); each keeps NB =
min(ceil(K/S), windows) accumulator banks of L words (registers if L = 1, else a RAM with a
registered read), a lane-wise maximum per bank (PE comparisons of ELEM_BITS bits) and a
4-word output queue.
"""

from __future__ import annotations

from bnncc.estimate.memory import Memory, memory_cost
from bnncc.estimate.terms import Terms, clog2, counter_bits


def sliding_window(p: dict, family: str) -> Terms:
    simd, bits, ch = p["SIMD"], p["ELEM_BITS"], p["IFM_CH"]
    cf, dw = ch // simd, simd * bits
    span_h = (p["K_H"] - 1) * p["DIL_H"] + 1
    span_w = (p["K_W"] - 1) * p["DIL_W"] + 1
    hp = p["PAD_T"] + p["IFM_H"] + p["PAD_B"]
    wp = p["PAD_L"] + p["IFM_W"] + p["PAD_R"]
    oh = (hp - span_h) // p["STRIDE_H"] + 1 if hp >= span_h else 1
    ow = (wp - span_w) // p["STRIDE_W"] + 1 if wp >= span_w else 1
    nrows = min(p["IFM_H"], span_h - 1 + p["STRIDE_H"]) + p.get("EXTRA_ROWS", 0)
    roww = p["IFM_W"] * cf
    depth = nrows * roww
    aw = counter_bits(depth)
    rmax = 2 * p["IFM_H"] + p["PAD_T"] + p["PAD_B"] + nrows + p["STRIDE_H"] + p["K_H"] * p["DIL_H"]
    cmax = (wp + p["STRIDE_W"] + p["K_W"] * p["DIL_W"] + 1) * cf
    sw = max(clog2(max(rmax, cmax) + 2) + 2, aw + 1)
    counters = sum(counter_bits(n) for n in (oh, ow, p["K_H"], p["K_W"], cf, roww))
    line = memory_cost(Memory(dw, depth, "ram"), family)
    queue = memory_cost(Memory(dw, 4, "ram_async"), family)
    return Terms(
        lut={"const": 1, "position_bits": sw, "address_bits": aw, "counter_bits": counters, "data": dw,
             "mux": line["mux"] + queue["mux"], "decode": line["decode"] + queue["decode"]},
        ff={"control": 8 * sw + 3 * aw + counters + 9, "data": 0 if line["bram"] else dw,
            "memory": line["ff"] + queue["ff"]},
        bram=line["bram"] + queue["bram"], lutram=line["lutram"] + queue["lutram"])


def _pool_1d(n: int, length: int, k: int, s: int, p0: int, p1: int, dw: int, bits: int, family: str, out: Terms) -> None:
    """Add the terms of one ``streaming_maxpool_1d`` stage to ``out``."""
    windows = (n + p0 + p1 - k) // s + 1 if n + p0 + p1 >= k else 1
    banks = min(-(-k // s), windows)
    counters = counter_bits(n) + counter_bits(length) + counter_bits(banks)
    sw = clog2(n + p0 + p1 + k + 2 * banks * s + 2) + 2
    queue = memory_cost(Memory(dw, 4, "ram_async"), family)
    lut, ff = out.lut, out.ff
    lut["const"] = lut.get("const", 0) + 1
    lut["counter_bits"] = lut.get("counter_bits", 0) + counters + banks * sw
    lut["compare"] = lut.get("compare", 0) + banks * dw
    lut["select"] = lut.get("select", 0) + (banks - 1) * dw
    mux, decode, data = queue["mux"], queue["decode"], 2 * dw
    if length > 1:
        bank = memory_cost(Memory(dw, length, "ram"), family)
        out.bram += banks * bank["bram"]
        out.lutram += banks * bank["lutram"]
        mux += banks * bank["mux"]
        decode += banks * bank["decode"]
        data += 0 if bank["bram"] else banks * dw
        ff["memory"] = ff.get("memory", 0) + banks * bank["ff"]
    else:
        data += banks * dw
    out.bram += queue["bram"]
    out.lutram += queue["lutram"]
    lut["mux"] = lut.get("mux", 0) + mux
    lut["decode"] = lut.get("decode", 0) + decode
    ff["control"] = ff.get("control", 0) + counters + banks * sw + 4 * banks + 10
    ff["data"] = ff.get("data", 0) + data
    ff["memory"] = ff.get("memory", 0) + queue["ff"]


def streaming_maxpool(p: dict, family: str) -> Terms:
    pe, bits = p["PE"], p["ELEM_BITS"]
    cf, dw = p["CH"] // pe, pe * bits
    span_h = p["H"] + p["PAD_T"] + p["PAD_B"] - p["K_H"]
    span_w = p["W"] + p["PAD_L"] + p["PAD_R"] - p["K_W"]
    extra_h = (p["STRIDE_H"] - span_h % p["STRIDE_H"]) % p["STRIDE_H"] if p["CEIL_MODE"] and span_h >= 0 else 0
    extra_w = (p["STRIDE_W"] - span_w % p["STRIDE_W"]) % p["STRIDE_W"] if p["CEIL_MODE"] and span_w >= 0 else 0
    ow = (span_w + extra_w) // p["STRIDE_W"] + 1 if span_w >= 0 else 1
    out = Terms()
    _pool_1d(p["W"], cf, p["K_W"], p["STRIDE_W"], p["PAD_L"], p["PAD_R"] + extra_w, dw, bits, family, out)
    _pool_1d(p["H"], ow * cf, p["K_H"], p["STRIDE_H"], p["PAD_T"], p["PAD_B"] + extra_h, dw, bits, family, out)
    return out
