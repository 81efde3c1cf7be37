"""The LUT and carry-chain dot product (``rtl_lib/mac_dot.v``), instantiated by the MVAU and
the VVAU in place of an inline multiply-and-sum: its registry entry (parameter rules only).

``mac_dot`` computes ``(sum_s x[s] * w[s] + extra) mod 2**DW`` (the count of agreeing pairs
with ``BINARY``) with a latency of ``STAGES`` cycles; the rules below mirror its elaboration
checks one for one.

Pairs (``PAIRED = 1``, multi-bit x times bipolar w; the MVAU's ``DOT_PAIRS``): x arrives as
the pair sums s_k = x[2k] + x[2k+1] and differences d_k = x[2k] - x[2k+1] (``mac_dot_pairs``,
once for every PE), and since w_a, w_b are +-1,
w_a x[2k] + w_b x[2k+1] = w_a (w_a == w_b ? s_k : d_k): ceil(N/2) bipolar x (XS + 1)-bit
products instead of N bipolar x XS-bit ones, the select inside each partial-product LUT.
"""

from __future__ import annotations

from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import ModuleRules, Rule

DEFAULTS = {
    "N": 16, "INPUT_BITS": 4, "INPUT_SIGNED": 1, "INPUT_BIPOLAR": 0,
    "WEIGHT_BITS": 4, "WEIGHT_SIGNED": 1, "WEIGHT_BIPOLAR": 0, "BINARY": 0,
    "DW": 16, "STAGES": 1, "CHAIN": 0, "FORM": 0, "PAIRED": 0,
}


def _bipolar_not_one_unsigned_bit(p) -> bool:
    return (p["INPUT_BIPOLAR"] != 0 and (p["INPUT_BITS"] != 1 or p["INPUT_SIGNED"] != 0)) or \
        (p["WEIGHT_BIPOLAR"] != 0 and (p["WEIGHT_BITS"] != 1 or p["WEIGHT_SIGNED"] != 0))


RULES = ModuleRules(
    "mac_dot",
    defaults=DEFAULTS,
    rules=(
        Rule("N=%0d must be >= 1", lambda p: p["N"] < 1, ("N",)),
        Rule("INPUT_BITS and WEIGHT_BITS must be 1..16",
             lambda p: not (1 <= p["INPUT_BITS"] <= 16) or not (1 <= p["WEIGHT_BITS"] <= 16)),
        Rule("a bipolar operand is 1 bit and not signed", _bipolar_not_one_unsigned_bit),
        Rule("BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1",
             lambda p: p["BINARY"] != 0 and (p["INPUT_BIPOLAR"] == 0 or p["WEIGHT_BIPOLAR"] == 0)),
        Rule("DW=%0d must be 1..64", lambda p: not (1 <= p["DW"] <= 64), ("DW",)),
        Rule("STAGES=%0d must be 0..8", lambda p: not (0 <= p["STAGES"] <= 8), ("STAGES",)),
        Rule("CHAIN=%0d must be >= 0", lambda p: p["CHAIN"] < 0, ("CHAIN",)),
        Rule("FORM=%0d must be 0..3", lambda p: not (0 <= p["FORM"] <= 3), ("FORM",)),
        Rule("FORM=1 (table) needs INPUT_BITS + WEIGHT_BITS <= 5, got %0d",
             lambda p: p["FORM"] == 1 and p["INPUT_BITS"] + p["WEIGHT_BITS"] > 5, ("INPUT_BITS + WEIGHT_BITS",)),
        Rule("PAIRED=%0d must be 0, or 1 with WEIGHT_BIPOLAR=1 and INPUT_BIPOLAR=0",
             lambda p: p["PAIRED"] not in (0, 1)
             or (p["PAIRED"] == 1 and (p["WEIGHT_BIPOLAR"] == 0 or p["INPUT_BIPOLAR"] != 0)), ("PAIRED",)),
    ),
)

SPEC = ModuleSpec(name="mac_dot", kind="submodule", rules=RULES)


# -- structure (for the resource terms of the modules that instantiate it) -----------------
def _bits_for(v: int) -> int:
    """Bits of an unsigned value v >= 0 (at least 1)."""
    return max(1, int(v).bit_length())


def _op_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _booth_bits(rs: int, ms: int) -> int:
    return ((rs + 1) // 2) * (ms + 1)


def _plane_bits(rb: int, rsg: bool, mb: int, msg: bool) -> int:
    return sum(mb if (not msg and not (rsg and i == rb - 1)) else mb + (0 if msg else 1) for i in range(rb))


def paired(p: dict) -> bool:
    """Whether the products are pairs (mac_dot PAIRED, or the MVAU's DOT_PAIRS)."""
    return bool(p.get("PAIRED", 0) or p.get("DOT_PAIRS", 0))


def pair_width(p: dict) -> int:
    """PS: bits of a pair sum or difference (the input's width as a signed number, + 1)."""
    return p["INPUT_BITS"] + (1 if p["INPUT_SIGNED"] else 2)


def products(p: dict, n: int) -> int:
    """Products mac_dot sums for N = n: ceil(n/2) with pairs, else n."""
    return (n + 1) // 2 if paired(p) else n


def pairs_luts(p: dict, n: int) -> int:
    """LUTs of mac_dot_pairs for N = n: a PS-bit adder and subtractor per pair."""
    return (n // 2) * 2 * pair_width(p)


def pairs_win(p: dict, n: int, lanes: int) -> bool:
    """Whether pairs cost fewer partial-product LUTs over ``lanes`` dot products sharing x
    (multi-bit x, bipolar w, n >= 2): lanes * (n * XS - ceil(n/2) * PS) > the pair adders."""
    if not (p["WEIGHT_BIPOLAR"] and not p["INPUT_BIPOLAR"] and not p.get("BINARY", 0)) or n < 2:
        return False
    xs = pair_width(p) - 1
    return lanes * (n * xs - (n + 1) // 2 * (xs + 1)) > pairs_luts(p, n)


def partial_product_bits(p: dict) -> tuple[str, int, int]:
    """(form, partial products per product, partial-product bits per product) that
    ``mac_dot`` builds for the operand encodings of ``p`` (its FORM = 0 choice): a bipolar
    side makes one conditional negation of the other operand (its signed width); a product
    table when both operands together have at most 5 bits; else Booth radix-4 or bit planes,
    whichever has fewer bits. Both operands bipolar: ("popcount", 1, 1). With pairs:
    ("pairs", 1, the bits of one pair's product), :func:`products` of them."""
    xb, wb = p["INPUT_BITS"], p["WEIGHT_BITS"]
    xsg, wsg = bool(p["INPUT_SIGNED"]), bool(p["WEIGHT_SIGNED"])
    xbip, wbip = bool(p["INPUT_BIPOLAR"]), bool(p["WEIGHT_BIPOLAR"])
    xs, ws = (xb if xsg else xb + 1), (wb if wsg else wb + 1)
    if xbip and wbip:
        return "popcount", 1, 1
    if wbip and paired(p):
        return "pairs", 1, xs + 1
    if xbip or wbip:
        return "negate", 1, (ws if xbip else xs)
    (xlo, xhi), (wlo, whi) = _op_range(xb, xsg), _op_range(wb, wsg)
    products = [xlo * wlo, xlo * whi, xhi * wlo, xhi * whi]
    table = _bits_for(max(products) - min(products)) if xb + wb <= 5 else 1000
    booth = min(_booth_bits(ws, xs), _booth_bits(xs, ws))
    planes = min(_plane_bits(wb, wsg, xb, xsg), _plane_bits(xb, xsg, wb, wsg))
    if table <= booth and table <= planes:
        return "table", 1, table
    if booth <= planes:
        recode_x = _booth_bits(xs, ws) < _booth_bits(ws, xs)
        return "booth", ((xs if recode_x else ws) + 1) // 2, booth
    recode_x = _plane_bits(xb, xsg, wb, wsg) < _plane_bits(wb, wsg, xb, xsg)
    return "planes", (xb if recode_x else wb), planes


def _segments(form: str, npp: int) -> tuple[int, int]:
    """Products per chain segment (at most 6 adders), and in the first segment (one fewer for
    tables and Booth recoding, whose first product may take a LUT level of its own); pairs 5
    in every segment (the select of a segment's first pair may take a level of its own)."""
    if form == "pairs":
        return 5, 5
    sp = max(1, 6 // npp)
    return sp, (sp - 1 if form in ("table", "booth") and sp > 1 else sp)


def _chain(form: str, npp: int, n: int, stages: int, chain: int) -> int:
    """Products per group: CHAIN, or automatically one segment, two once there are 2
    registers before the output (all n for popcounts)."""
    if chain:
        return min(chain, n)
    if form == "popcount":
        return n
    sp, sp1 = _segments(form, npp)
    avail = stages - 1 if stages > 1 else 0
    return min(sp1 + sp if avail >= 2 else sp1, n)


def chain_groups(p: dict, n: int, stages: int, chain: int = 0) -> int:
    """Carry chains (groups of products) of ``mac_dot`` with N = n, STAGES = stages and
    CHAIN = chain (0: automatic, see :func:`_chain`)."""
    form, npp, _ = partial_product_bits(p)
    n = products(p, n)
    return -(-n // _chain(form, npp, n, stages, chain))


def popcount_heaps(n: int, extra: int) -> list[list[int]]:
    """The column heights of ``mvau_popcount #(.N(n), .EXTRA(extra))``'s compressor heap,
    stage by stage: first the 3-pair groups' 2-bit counts (and the pairs left over, the extra
    bit), then after each reduction stage (per column, 6-input counters, one of 3..5 inputs
    for the rest, their bits into this column and the next one or two), until no column holds
    more than two bits (the last heap, which the final adder sums)."""
    cols = max(1, (n + extra).bit_length())
    groups, rest = divmod(n, 3)
    heights = [0] * cols
    heights[0] = groups + (rest > 0) + extra
    if cols > 1:
        heights[1] = groups + (rest == 2)

    def counters(h: int, three_bits: bool = False) -> int:
        return h // 6 + (h % 6 >= (4 if three_bits else 3))

    heaps = [heights]
    while max(heights) > 2:
        def height(c: int) -> int:
            return heights[c] if 0 <= c < cols else 0
        heights = [counters(height(c)) + counters(height(c - 1)) + counters(height(c - 2), True)
                   + (0 if height(c) % 6 >= 3 else height(c) % 6) for c in range(cols)]
        heaps.append(heights)
    return heaps


def popcount_levels(n: int, extra: int = 0) -> int:
    """LUT levels of ``mvau_popcount`` of n bit pairs and ``extra`` one-bit addends: the
    3-pair counters, one level per reduction stage of its heap (:func:`popcount_heaps`), the
    final adder; a last stage whose only counters are in the heap's top column merges into
    the final adder's LUTs. Yosys on xc7 (N = 8..129 with the extra bit, 22 sizes): exact on
    every one; the depth does not grow monotonically with n (19 pairs: 6 levels, 25: 4)."""
    heaps = popcount_heaps(n, extra)
    merged = 0
    if len(heaps) > 1:
        last = heaps[-2]
        busy = [c for c, h in enumerate(last) if h >= 3]
        merged = 1 if busy == [max(c for c, h in enumerate(last) if h)] else 0
    return 1 + (len(heaps) - 1) + 1 - merged


def logic_levels(p: dict, n: int, stages: int, ahead: int = 0, chain: int = 0) -> int:
    """LUT levels of the deepest register-to-register path through ``mac_dot`` with N = n,
    STAGES = stages and CHAIN = chain (each chain adder and each tree adder one LUT level
    with its carry chain; a product table or Booth recoding takes one more level for the
    first product of a chain), with ``ahead`` levels of logic in front of its inputs: the
    chain of a group (split by its segment registers), then the ceil(log2 G) tree levels (split
    evenly by the inner registers), a register between the two when there are two or more
    stages. Bipolar pairs: popcounts of ``chain`` pairs, then the tree. CHAIN = 0 is the
    automatic chain (:func:`_chain`). With pairs (PAIRED) a segment's first product may take
    one level more (Yosys on xc7: its select merged ahead of the adder)."""
    chain_depth, tree_depth, registered = _stage_depths(p, n, stages, ahead, chain)
    return max(chain_depth, tree_depth) if registered else chain_depth + tree_depth


def tree_levels(p: dict, n: int, stages: int, chain: int = 0) -> int:
    """Adder-tree levels between two registers of ``mac_dot`` (as :func:`logic_levels`),
    counting the chains' own levels too when no register separates them from the tree."""
    chain_depth, tree_depth, registered = _stage_depths(p, n, stages, 0, chain)
    return tree_depth if registered or not tree_depth else chain_depth + tree_depth


def _stage_depths(p: dict, n: int, stages: int, ahead: int, chain: int) -> tuple[int, int, bool]:
    """(levels of a chain stage with ``ahead`` in front, levels of a tree stage, whether a
    register sits between the groups and the tree) of :func:`logic_levels`."""
    form, npp, _ = partial_product_bits(p)
    n = products(p, n)
    chain = _chain(form, npp, n, stages, chain)
    avail = stages - 1 if stages > 1 else 0
    groups = -(-n // chain)
    tree = (groups - 1).bit_length()
    b0 = 1 if avail >= 1 else 0
    if form == "popcount":
        inner = min(avail - b0, max(0, tree - 1))
        tree_depth = -(-tree // (inner + 1)) if tree else 0
        # the first group also counts the one-bit ``extra`` addend (the MVAU's folded threshold);
        # the depth is not monotonic in the pairs, so every group size counts
        sizes = {(min(chain, n), 1), (chain, 0), (n - (groups - 1) * chain, 0)} if groups > 1 else {(n, 1)}
        return ahead + max(popcount_levels(k, e) for k, e in sizes), tree_depth, bool(b0)
    sp, sp1 = _segments(form, npp)
    seg_max = 1 + (chain - sp1 - 1) // sp if chain > sp1 else 0
    cru = min(avail - b0, seg_max)
    inner = min(avail - b0 - cru, max(0, tree - 1))
    first = 1 if form in ("table", "booth") else 0    # the first product's own LUT level
    lead = 1 if form == "pairs" else 0      # a segment's first pair: its select a level of its own
    chain_depth = ahead + lead + (min(sp1, chain) if cru else chain) + first
    if cru:
        chain_depth = max(chain_depth, sp + lead)
    tree_depth = -(-tree // (inner + 1)) if tree else 0
    return chain_depth, tree_depth, bool(b0)


def chain_registers(p: dict, n: int) -> int:
    """Segment registers that one chain of all the products of N = n needs so that no
    segment is longer than :func:`_segments` allows (0 when one segment holds them all)."""
    form, npp, _ = partial_product_bits(p)
    sp, sp1 = _segments(form, npp)
    k = products(p, n)
    return 1 + (k - sp1 - 1) // sp if k > sp1 else 0


def chain_size(p: dict, n: int, stages: int) -> int:
    """Products per group of the automatic CHAIN (:func:`_chain`)."""
    form, npp, _ = partial_product_bits(p)
    return _chain(form, npp, products(p, n), stages, 0)
