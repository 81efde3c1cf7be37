"""The matrix-vector-activation unit (``rtl_lib/mvau.v``): its registry entry.

Builder: parameters, weight and threshold memories, streams and cycles of an ``MVAU`` op
(cycles per frame = vectors * (MH/PE) * (MW/SIMD)); the threshold search split into
registered reads and compares (SEARCH_SPLIT) when the op's pipeline budget has fewer than
:data:`SEARCH_LEVELS` LUT levels. Foldings: PE divides MH, SIMD divides MW.
An op with a class map (threshold classes, e.g. the border of a zero-padded bipolar
convolution) fed by its ``SlidingWindow`` gets, cheapest first: border masking (BORDER, when
the SIMD elements of a beat lie in one kernel position: one set of thresholds, a border
memory of OH + OW words), else classes by row and column (CLASS_COLS: N_CLASSES sets of
thresholds, word class * NF + nf, a class memory of OH + OW words; THRESHOLD_BLOCK when the
threshold memory is cheaper in block RAM, :func:`threshold_block`); an op without such a
window keeps the per-vector class memory (N_VECTORS words). Without a class map the
parameters are exactly those of a module without classes.

Resource terms:
Terms of the matrix-vector-activation unit (``rtl_lib/mvau.v``).

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
* Threshold search (THRESHOLD_SEARCH, NT > 1): per lane OUT_BITS compares of ACC_BITS bits
  (``search_compare``) and the stage ROMs through :func:`memory_cost` (``search_rom``: stage
  0 one ROM of NF * N_CLASSES words of PE*ACC_BITS bits, stage k one per lane of
  NF * N_CLASSES * 2**k words of ACC_BITS bits), instead of the compares, counts and the
  threshold ROM; flip-flops: the prefixes, the accumulators and row carried along the stages
  (SEARCH_SPLIT: once more per LUT stage, twice per block RAM stage, and a LUT stage's read
  register).
* Memories through :func:`bnncc.hw.memory_map.memory_cost`: the weight ROM (block RAM
  from 32 words, the module asks for it; else Yosys's choice), the input vector buffer
  (SF words of SIMD*INPUT_BITS, read at the write address), the threshold ROM (NF words of
  PE*NT*ACC_BITS bits less those equal in every word, which Yosys removes: parameter hint
  ``THRESHOLD_CONSTANT_BITS``; where the module reads it asynchronously, its address comes from a
  register that Yosys moves behind the ROM, so it is a registered ROM like the others and
  may become block RAM), the output FIFO (OD words, asynchronous read).
* Threshold classes (N_CLASSES > 1): the threshold ROM is NF * N_CLASSES words deep (and
  registered beyond 64 words, as the module reads it; block RAM with THRESHOLD_BLOCK); the
  class ROM (N_VECTORS words of ceil(log2 N_CLASSES) bits, or CROWS + CLASS_COLS by row
  and column) is priced with the threshold ROM and the memory muxes, the vector counter (or
  row and column counters) and the class * NF + nf address adder as counter bits and control
  registers. With N_CLASSES = 1 every term is the one of the module without classes.
* Border masking (BORDER = 1): row and column counters, and the ``border`` term: the
  constant replacing a padded beat's PE dot products, the kernel position select and the
  border ROM.
* Flip-flops: the registers the module declares, minus those a block RAM absorbs.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from bnncc.datatype import BIPOLAR, DataType
from bnncc.hw import calibration
from bnncc.hw.modules import mac_dot, mac_dsp, rom_pipe
from bnncc.hw.modules import threshold_search as search
from bnncc.hw.timing import MAX_LEVELS
from bnncc.hw.memory_map import THRESHOLD_CONSTANT_BITS, Memory, constant_bits, memory_cost, mux_luts
from bnncc.hw.memory_words import threshold_words, weight_words
from bnncc.hw.patterns import NEVER_AFTER, FRAMES, Pattern, Schedule, backward, forward
from bnncc.hw.registry import ModuleSpec
from bnncc.hw.rules import X, ModuleRules, Rule, any_below, shl1, vdiv, vmod
from bnncc.hw.stage import Memory as MemoryFile, StageRTL, Stream
from bnncc.hw.stage_common import channel_thresholds, divisors, instance_name, out_bias, per_frame, signed_bits
from bnncc.hw.terms import Terms, clog2
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.sim.beats import element_bits


# -- builder --------------------------------------------------------------------------------
def build(graph: Graph, op: hw.MVAU, memories: bool = True) -> StageRTL:
    x = graph.tensors[op.inputs[0]]
    weights = graph.constant(op.inputs[1])
    w_dtype = graph.tensors[op.inputs[1]].dtype
    low, high = hw.accumulator_range(x, weights, op.binary_xnor)
    name = instance_name(op.name)
    with_words = memories
    words = weight_words(weights, op.pe, op.simd, element_bits(w_dtype), w_dtype == BIPOLAR) if with_words else []
    memories = [MemoryFile(f"{name}_weights.mem", words, op.pe * op.simd * element_bits(w_dtype))]
    n_thresholds = 0
    hints = {}
    search_files = None
    # the narrowest two's complement accumulator: 1 bit when every accumulator is 0 (all-zero
    # weights); with thresholds also T in [low, high + 1], so at least 2 bits
    acc_bits = signed_bits(min(low, 0), high)
    out_dtype = op.out_dtype
    border = _border(graph, op) if op.class_map else None
    grid = _class_grid(graph, op) if op.class_map and border is None else None
    if op.has_thresholds:
        if border is not None:
            thresholds = border["thresholds"][None]
        elif grid is not None:
            thresholds = grid["thresholds"]
        else:
            thresholds = _class_thresholds(graph, op)
        # sorted ascending per row: mvau.v counts them as a thermometer code
        thresholds = np.sort(np.clip(thresholds, low, high + 1), axis=-1)
        n_thresholds = thresholds.shape[2]
        acc_bits = signed_bits(min(low, int(thresholds.min()), 0), max(high + 1, int(thresholds.max())))
        if not uses_search(n_thresholds, element_bits(out_dtype), grid is not None and len(thresholds) > 1):
            # class c's NF words follow those of class c - 1 (address class * NF + nf)
            words = [w for T in thresholds for w in threshold_words(T, op.pe, acc_bits)]
            hints[THRESHOLD_CONSTANT_BITS] = constant_bits(words, op.pe * n_thresholds * acc_bits)
            memories.append(MemoryFile(f"{name}_thresholds.mem", words if with_words else [],
                                       op.pe * n_thresholds * acc_bits))
        else:
            # the binary search's stage memories (rows class * NF + nf): stage 0 in
            # THRESHOLD_FILE, stage k in SEARCH<k>_FILE
            # (the deep ones in block RAM, SEARCH_BLOCK_DEPTH)
            out_bits, rows = element_bits(out_dtype), len(thresholds) * (op.mh // op.pe)
            block_depth = search_block_depth(op.pe, acc_bits, rows, out_bits)
            stages = search.mvau_stage_words(thresholds, op.pe, out_bits, acc_bits, 0, block_depth) if with_words \
                else [[] for _ in range(out_bits)]
            memories.append(MemoryFile(f"{name}_thresholds.mem", stages[0], op.pe * acc_bits))
            search_files = [MemoryFile(f"{name}_search{k}.mem", words,
                                       search.word_width(op.pe, acc_bits, rows, k, 0, block_depth))
                            for k, words in enumerate(stages) if k > 0]
    else:
        out_dtype = DataType.int(acc_bits)
    vectors = per_frame(x.shape) // op.mw
    parameters = {
        "MW": op.mw, "MH": op.mh, "PE": op.pe, "SIMD": op.simd,
        "INPUT_BITS": element_bits(x.dtype), "INPUT_SIGNED": int(x.dtype.kind == "INT"), "INPUT_BIPOLAR": int(x.dtype == BIPOLAR),
        "WEIGHT_BITS": element_bits(w_dtype), "WEIGHT_SIGNED": int(w_dtype.kind == "INT"), "WEIGHT_BIPOLAR": int(w_dtype == BIPOLAR),
        "BINARY": int(op.binary_xnor), "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
        "OUT_BITS": element_bits(out_dtype) if n_thresholds else acc_bits, "OUT_BIAS": out_bias(out_dtype) if n_thresholds else 0,
        "WEIGHT_FILE": memories[0].filename,
        "THRESHOLD_FILE": memories[1].filename if n_thresholds else "",
    }
    levels = op.max_levels or MAX_LEVELS
    if op.dsp:
        parameters.update(dsp_pipeline(parameters, op.dsp, border is not None))
    elif op.binary_xnor:
        parameters.update(binary_pipeline(parameters, border is not None, levels, op.register_reads,
                                          op.max_tree_levels))
    else:
        parameters.update(mac_pipeline(parameters, border is not None, levels, op.register_reads))
    if n_thresholds > 1 and search_files is not None:
        parameters["THRESHOLD_SEARCH"] = 1
        if block_depth:
            parameters["SEARCH_BLOCK_DEPTH"] = block_depth
        if levels < search_levels({**parameters, "THRESHOLD_SEARCH": 1, "SEARCH_BLOCK_DEPTH": block_depth,
                                   "N_CLASSES": len(thresholds)}):
            parameters["SEARCH_SPLIT"] = 1
        memories += search_files
        parameters.update({f"SEARCH{k + 1}_FILE": m.filename for k, m in enumerate(search_files)})
    elif n_thresholds > 1:
        parameters["REGISTER_COMPARES"] = 1
    if op.register_reads and parameters.get("MEM_REG", 0) == 1 and (
            (weight_rom_pipe(parameters) and rom_pipe.banks(_rom_pipe_parameters(parameters)) > 1)
            or (op.mh // op.pe > 1 and not parameters.get("DOT_PAIRS", 0))):
        # registered too: the bank multiplexer of a weight memory of several banks, and the
        # input select behind the vector buffer's read (mvau.v XSPLIT), so that neither a
        # weight block nor a buffer block runs into logic before a register
        parameters["MEM_REG"] = 2
    if op.register_reads and parameters.get("MEM_REG", 0) == 2 and weight_rom_pipe(parameters) \
            and (rom_pipe.banks(_rom_pipe_parameters(parameters)) > 1
                 or rom_pipe.blocks(_rom_pipe_parameters(parameters)) > SPREAD_BLOCKS):
        # the bank multiplexer split in two, a register behind each part: by groups of four
        # banks beside the blocks, then the groups (measured on ECP5 at 125 MHz: 9 banks into
        # one register, 8.6 ns, limited CNV-w1a1's conv 18); up to four banks a register
        # behind each bank, then the multiplexer (from blocks spread over the device a 4:1
        # multiplexer and its routes took 8.6-8.8 ns in CNV-w2a2's linear_features_3); one
        # bank of many blocks two registers in a row, so that the routes from blocks far
        # apart to the dot products have two cycles
        parameters["MEM_REG"] = 3
        if rom_pipe.groups(_rom_pipe_parameters(parameters)) > 1:
            # beyond four banks both: a register behind each bank, then the groups, then the
            # word (CNV-w2a2's conv 18, 32 banks: 8.4 ns from blocks through a group's 4:1
            # multiplexer into its register)
            parameters["MEM_REG"] = 4
    if op.register_reads:
        # the issue decision one LUT of registered flags ahead of its fan-out (measured on
        # ECP5 at 125 MHz: the compares in front of it were the critical path of CNV-w1a1
        # and the w4a4 MLP once the memories were registered)
        parameters["ISSUE_FLAGS"] = 1
    memories += weight_bank_files(memories[0], parameters)
    if border is not None:
        memories.append(MemoryFile(f"{name}_border.mem", border["words"] if with_words else [], border["width"]))
        parameters.update({"CLASS_FILE": memories[-1].filename, **border["parameters"]})
    elif grid is not None and len(thresholds) > 1:
        n_classes = len(thresholds)
        memories.append(MemoryFile(f"{name}_classes.mem", grid["words"] if with_words else [], max(1, clog2(n_classes))))
        parameters.update({"N_CLASSES": n_classes, "N_VECTORS": len(op.class_map), "CLASS_FILE": memories[-1].filename,
                           "CLASS_COLS": grid["cols"]})
        if threshold_block(parameters, hints.get(THRESHOLD_CONSTANT_BITS, 0)):
            parameters["THRESHOLD_BLOCK"] = 1
    elif grid is None and op.n_classes > 1:
        class_bits = max(1, clog2(op.n_classes))
        memories.append(MemoryFile(f"{name}_classes.mem", list(op.class_map) if with_words else [], class_bits))
        parameters.update({"N_CLASSES": op.n_classes, "N_VECTORS": len(op.class_map),
                           "CLASS_FILE": memories[-1].filename})
    return StageRTL(
        node=op.name, instance=name, module="mvau", parameters=parameters,
        input=Stream(op.simd, x.dtype), output=Stream(op.pe, out_dtype),
        in_beats=vectors * op.mw // op.simd, out_beats=vectors * op.mh // op.pe,
        cycles=vectors * (op.mh // op.pe) * (op.mw // op.simd), memories=memories, input_unit=op.mw // op.simd,
        hints=hints,
    )


#: Thresholds per row from which the builder uses the pipelined binary search
#: (THRESHOLD_SEARCH): B compares and 2**B - 1 thresholds in B deep, narrow ROMs per lane
#: instead of 2**B - 1 compares and one wide ROM.
SEARCH_MIN_THRESHOLDS = 3


def uses_search(n_thresholds: int, out_bits: int, classes_by_grid: bool = False) -> bool:
    """Whether the builder computes the count of ``n_thresholds`` thresholds by the binary
    search (mvau.v THRESHOLD_SEARCH): from SEARCH_MIN_THRESHOLDS on, up to 8 count bits, and
    not for the class-by-row-and-column memories that may go to block RAM (those keep the
    wide memory: a search stage memory in block RAM would hold every lane's word per lane)."""
    return (SEARCH_MIN_THRESHOLDS <= n_thresholds < (1 << out_bits) and out_bits <= search.MAX_STAGES
            and not classes_by_grid)


#: LUT levels of a search stage that reads its ROM and compares in one cycle (the compare's
#: carry chain, then, as Yosys moves the stage's address register behind the ROM, the next
#: stage's ROM read): 12 LUT4 / carry steps, 9.3 ns on the ECP5-85F for TFC-w2a2 (128-word
#: ROM, 11-bit compare), about 5 levels of the xc7 model (the ECP5's LUT4 ROMs make it deep:
#: Yosys maps the same stage to 2 LUT6 levels and 2 carry cells on xc7). A pipeline budget of
#: fewer levels splits the search (SEARCH_SPLIT: the read and the compare registered apart,
#: 2 LUT levels; the w4a4 MLP's search alone on the ECP5-85F: 92.0 MHz unsplit, 178.4 split).
SEARCH_LEVELS = 5
#: ... unless every stage ROM is in LUTs and at most this deep (one LUT4 per bit on ECP5):
#: then the compare and one LUT level, SEARCH_SHALLOW_LEVELS (CNV-w2a2's search, PE 16,
#: 8-word ROMs: 203 MHz unsplit on the ECP5-85F, ``benchmarks/search_fmax.py``). The levels
#: compared are the op's ``max_levels``: for a multi-bit MVAU the budget's chain levels,
#: never more than its LUT levels, so such an MVAU may split a shallow search that the LUT
#: budget would let through (concat_w2a2 and unet_w2a2 on ECP5 at 125 MHz: a few cycles and
#: flip-flops more, nothing slower).
SEARCH_SHALLOW_DEPTH = 16
SEARCH_SHALLOW_LEVELS = 3


def search_levels(p: dict) -> int:
    """LUT levels of the threshold search's deepest path: 2 with SEARCH_SPLIT; unsplit
    SEARCH_SHALLOW_LEVELS when every stage ROM is a LUT ROM of at most SEARCH_SHALLOW_DEPTH
    words (the deepest, stage OUT_BITS - 1, has NF * N_CLASSES * 2**(OUT_BITS - 1)), else
    SEARCH_LEVELS; 0 without the search."""
    if not searches(p):
        return 0
    if p.get("SEARCH_SPLIT", 0):
        return 2
    deepest = (p["MH"] // p["PE"]) * p.get("N_CLASSES", 1) << (p["OUT_BITS"] - 1)
    shallow = (not p.get("THRESHOLD_BLOCK", 0) and not p.get("SEARCH_BLOCK_DEPTH", 0)
               and deepest <= SEARCH_SHALLOW_DEPTH)
    return SEARCH_SHALLOW_LEVELS if shallow else SEARCH_LEVELS


#: A search stage memory goes to block RAM (SEARCH_BLOCK_DEPTH) when its LUT ROM would cost
#: at least this many LUTs per block RAM it takes instead (as THRESHOLD_BLOCK_LUTS).
SEARCH_BLOCK_LUTS = 32


def search_block_depth(pe: int, acc_bits: int, rows: int, stages: int) -> int:
    """mvau.v SEARCH_BLOCK_DEPTH: the shallowest search stage memory (stages k >= 1, per lane
    rows * 2**k words of ACC_BITS bits, in block RAM a ROM of rows * 2**k * PL words) whose LUT
    ROM costs at least SEARCH_BLOCK_LUTS per block RAM on xilinx (:func:`memory_cost`); 0:
    none (every stage memory in LUTs)."""
    lanes = search.lane_stride(pe)
    for k in range(1, stages):
        depth = rows << k
        logic = memory_cost(Memory(acc_bits, depth, "rom_async"), "xilinx")["rom"]
        block = memory_cost(Memory(acc_bits, depth * lanes, "rom", "block"), "xilinx")["bram"]
        if block > 0 and logic >= SEARCH_BLOCK_LUTS * block:
            return depth
    return 0


def _border(graph: Graph, op: hw.MVAU) -> dict | None:
    """Border masking (mvau.v BORDER = 1) for an MVAU with threshold classes fed by the
    -1-padded ``SlidingWindow`` of a zero-padded convolution, if the SIMD elements of a beat
    lie in one kernel position (SIMD divides the channels; even SIMD for XNOR-popcount):
    its parameters, border memory (OH row words, then OW column words: the padded kernel
    rows / columns) and the one set of thresholds (MH, S) replacing the classes
    (:func:`bnncc.passes.binary_padding.border_thresholds`). None: keep the classes."""
    from bnncc.passes.binary_padding import border_classes, border_thresholds

    window = graph.producer(op.inputs[0])
    if not isinstance(window, hw.SlidingWindow) or not op.has_thresholds:
        return None
    channels = window.ifm_channels
    (kh, kw), (sh, sw), (dh, dw) = window.kernel_shape, window.strides, window.dilations
    (ih, iw), (oh, ow) = window.ifm_dims, window.ofm_dims
    top, left = window.pads[0], window.pads[1]
    if (op.mw != kh * kw * channels or channels % op.simd or (op.binary_xnor and op.simd % 2)
            or len(op.class_map) != oh * ow or not np.all(np.asarray(window.pad_value) == -1)):
        return None
    # the window's patches with zero padding mark the padded terms
    classes, masks = border_classes(replace(window.reference_op(), pad_value=0), graph.tensors[window.inputs[0]].shape)
    if tuple(int(c) for c in classes) != tuple(op.class_map):
        return None
    thresholds = border_thresholds(graph.constant(op.inputs[2]), graph.constant(op.inputs[1]), masks,
                                   op.binary_xnor)
    if thresholds is None:
        return None
    rows = [sum(1 << u for u in range(kh) if not 0 <= r * sh + u * dh - top < ih) for r in range(oh)]
    cols = [sum(1 << v for v in range(kw) if not 0 <= j * sw + v * dw - left < iw) for j in range(ow)]
    return {"thresholds": thresholds, "words": rows + cols, "width": max(kh, kw),
            "parameters": {"BORDER": 1, "BORDER_KH": kh, "BORDER_KW": kw, "BORDER_OH": oh, "BORDER_OW": ow}}


#: Segments of the longest single chain mac_pipeline builds instead of chains meeting in a tree.
LONG_CHAIN_SEGMENTS = 3


def mac_pipeline(p: dict, border: bool = False, levels: int = MAX_LEVELS, register_reads: bool = False) -> dict:
    """MAC_STYLE, MEM_REG, DOT_STAGES and DOT_CHAIN of a multiply-accumulate MVAU: the dot
    products in LUTs and carry chains (mac_dot). Among the pipelines that keep every
    register-to-register path within ``levels`` LUT levels (:func:`mac_dot.logic_levels`,
    with :func:`operand_levels` ahead of the first chain; border masking muxes a constant in
    ahead of dot_q), the one with the fewest adder-tree bits (longer carry chains
    need two registers before mac_dot's output: fewer chains, fewer tree adders), then the
    fewest registers; chains shorter than mac_dot's automatic ones (DOT_CHAIN) only when no
    automatic one fits, and the shallowest pipeline when none does. ``register_reads``
    forces MEM_REG. Multi-bit inputs times bipolar weights take pairs (DOT_PAIRS: the pair
    sums of the input word once for all PEs, half the products in each PE) where they cost
    fewer LUTs (:func:`mac_dot.pairs_win`); their adders sit ahead of MEM_REG's register,
    which pairs therefore always use. Besides mac_dot's automatic chains (at most two
    segments), one chain of every product in up to LONG_CHAIN_SEGMENTS segments (DOT_CHAIN =
    the products, each segment behind a register; no adder tree) where the registers allow.
    Below the full budget (a fast clock on a slow family) a stage of the adder tree holds one
    level fewer than ``levels`` (:func:`tree_budget`)."""
    # (pairs only with the full budget: a segment's first pair may take two LUT levels)
    pairs = levels >= MAX_LEVELS and mac_dot.pairs_win(p, p["SIMD"], p["PE"])
    probe = {**p, "BINARY": 0, "PAIRED": int(pairs)}
    in_mac = 0 if border else 1
    candidates = []    # (depth, short chain, chains, registers, parameters)
    tree_cap = tree_budget(levels)
    for mem_reg in _mem_reg_choices(p, register_reads or pairs):
        ahead = operand_levels(p, mem_reg)
        for stages in range(1, 9):
            mac_stages = stages - 1 + in_mac
            for chain in range(0, 7):
                if chain and chain >= mac_dot.chain_size(probe, p["SIMD"], mac_stages):
                    continue
                depth = mac_dot.logic_levels(probe, p["SIMD"], mac_stages, ahead, chain)
                if mac_dot.tree_levels(probe, p["SIMD"], mac_stages, chain) > tree_cap:
                    depth = max(depth, levels + 1)    # fits only where nothing does
                chosen = {"MAC_STYLE": 1, "MEM_REG": mem_reg, "DOT_STAGES": stages, **({"DOT_CHAIN": chain} if chain else {}),
                          **({"DOT_PAIRS": 1} if pairs else {})}
                candidates.append((depth + (1 if border else 0), chain != 0,
                                   mac_dot.chain_groups(probe, p["SIMD"], mac_stages, chain), mem_reg + stages, chosen))
            # one chain of every product in up to LONG_CHAIN_SEGMENTS segments, each behind a
            # register of its own (no adder tree; the later segments' operands delayed)
            products, registers = mac_dot.products(probe, p["SIMD"]), mac_dot.chain_registers(probe, p["SIMD"])
            avail = mac_stages - 1 if mac_stages > 1 else 0
            if 0 < registers < LONG_CHAIN_SEGMENTS and registers <= avail - (1 if avail else 0) \
                    and products > mac_dot.chain_size(probe, p["SIMD"], mac_stages):
                depth = mac_dot.logic_levels(probe, p["SIMD"], mac_stages, ahead, products)
                chosen = {"MAC_STYLE": 1, "MEM_REG": mem_reg, "DOT_STAGES": stages, "DOT_CHAIN": products,
                          **({"DOT_PAIRS": 1} if pairs else {})}
                candidates.append((depth + (1 if border else 0), False, 1, mem_reg + stages, chosen))
    fitting = [c for c in candidates if c[0] <= levels]
    if fitting:
        return min(fitting, key=lambda c: c[1:4])[4]
    return min(candidates, key=lambda c: c[:4])[4]


def tree_budget(levels: int) -> int:
    """Adder-tree levels a stage of mac_dot may hold under a budget of ``levels`` chain
    levels: all of them at the full budget (xc7: one LUT level per tree adder, as per chain
    adder), one fewer below it. A tree adder is as wide as its sum, wider than a chain's: on
    ECP5 at 125 MHz (budget 2) two tree levels of the w4a4 MLP took 8.03 ns, two chain levels
    of Booth products under 8 (nextpnr, ULX3S)."""
    return levels if levels >= MAX_LEVELS else max(1, levels - 1)


def binary_pipeline(p: dict, border: bool = False, levels: int = MAX_LEVELS, register_reads: bool = False,
                    tree_levels: int = 0) -> dict:
    """MEM_REG, DOT_STAGES and DOT_CHAIN of an XNOR-popcount MVAU. One popcount of the SIMD
    bit pairs between the weight register and dot_q (DOT_STAGES 1) while its
    :func:`mac_dot.popcount_levels`, with :func:`operand_levels` ahead and border masking's
    mux behind, fit ``levels``; else the pairs split into
    popcounts of DOT_CHAIN pairs meeting in mac_dot's registered adder tree: the fewest
    registers, then the largest popcounts, that fit (the shallowest when none does), with at
    most ``tree_levels`` adder-tree levels between two registers (:func:`mac_dot.tree_levels`;
    0: no bound beyond ``levels``; measured on ECP5 at 125 MHz, CNV-padded's SIMD 96 in
    popcounts of 18 pairs: three tree levels behind a register took 8.5 ns).
    ``register_reads`` forces MEM_REG."""
    simd = p["SIMD"]
    in_mac = 0 if border else 1
    tail = 1 if border else 0
    candidates = []    # (depth, registers, -chain, parameters)
    for mem_reg in _mem_reg_choices(p, register_reads):
        ahead = operand_levels(p, mem_reg)
        candidates.append((ahead + mac_dot.popcount_levels(simd, 1) + tail, mem_reg, -simd, {"MEM_REG": mem_reg}))
        for stages in range(2, 9):
            for chain in range(1, simd):
                depth = mac_dot.logic_levels(p, simd, stages - 1 + in_mac, ahead, chain) + tail
                if tree_levels and mac_dot.tree_levels(p, simd, stages - 1 + in_mac, chain) > tree_levels:
                    depth = max(depth, levels + 1)    # fits only where nothing does
                candidates.append((depth, mem_reg + stages, -chain,
                                   {"MEM_REG": mem_reg, "DOT_STAGES": stages, "DOT_CHAIN": chain}))
    fitting = [c for c in candidates if c[0] <= levels]
    if fitting:
        return min(fitting, key=lambda c: (c[1], c[2]))[3]
    return min(candidates, key=lambda c: (c[0], c[1], c[2]))[3]


#: Block RAMs of a weight memory beyond which they spread over the device (CNV-w2a2 on the
#: ECP5-85F uses 203 of its 208): under registered reads it takes MEM_REG 3 even in one bank.
SPREAD_BLOCKS = 16

#: Words of the shallowest block RAM configuration (1024 x 18): a weight memory deeper than
#: this that Yosys maps by itself (MEM_REG 0) may be split into blocks by depth, with a word
#: multiplexer behind them.
BLOCK_MIN_DEPTH = 1024


def _mux_levels(words: int) -> int:
    """LUT levels of a multiplexer selecting one of ``words`` words: a 6-input LUT selects
    among four (two select bits per level)."""
    return (clog2(words) + 1) // 2 if words > 1 else 0


def weight_bank_levels(p: dict, mem_reg: int) -> int:
    """LUT levels of the weight word's bank multiplexer ahead of the dot products: MEM_REG 0
    (Yosys's own mapping) ceil(WDEPTH / BLOCK_MIN_DEPTH) banks at worst; MEM_REG 1 rom_pipe's
    banks (:func:`rom_pipe.banks`), behind their registers; none with MEM_REG 2 (rom_pipe
    registers the multiplexer) or for a memory in LUTs."""
    depth = _weight_depth(p)
    if depth < WROM_BLOCK_DEPTH or mem_reg >= 2:
        return 0
    if mem_reg == 0:
        return _mux_levels(-(-depth // BLOCK_MIN_DEPTH))
    return _mux_levels(rom_pipe.banks(_rom_pipe_parameters({"WEIGHT_FILE": "", **p, "MEM_REG": mem_reg})))


def operand_levels(p: dict, mem_reg: int) -> int:
    """LUT levels ahead of the dot products with MEM_REG = mem_reg: the input word's select
    between the stream and the vector buffer (NF > 1) unless MEM_REG registers it, in
    parallel with the weight word's bank multiplexer (:func:`weight_bank_levels`)."""
    select = 1 if p["MH"] // p["PE"] > 1 and mem_reg == 0 else 0
    return max(select, weight_bank_levels(p, mem_reg))


def _mem_reg_choices(p: dict, register_reads: bool) -> tuple[int, ...]:
    """The MEM_REG values a pipeline builder tries: 0 and 1 (1 only with ``register_reads``),
    and 2 where a bank multiplexer remains behind MEM_REG 1."""
    choices = (1,) if register_reads else (0, 1)
    return choices + ((2,) if weight_bank_levels(p, 1) else ())


#: mac_dsp FAMILY of every DSP kind (hw.DSP_KINDS)
DSP_FAMILIES = {"dsp48e1": 0, "dsp48e2": 1, "mult18x18d": 2}
#: DSP48s added up in series between two registers (mac_dsp chain segments)
MAX_DSP_CHAIN = 4


def dsp_pipeline(p: dict, kind: str, border: bool = False) -> dict:
    """MAC_STYLE 2 (mac_dsp, several narrow products per DSP multiplier of ``kind``), with
    its inputs registered (mac_dsp STAGES >= 3) and on DSP48 families enough segment
    registers that at most MAX_DSP_CHAIN DSPs add up between two registers; ECP5 registers
    the products (STAGES 4)."""
    family = DSP_FAMILIES[kind]
    base = _mac_dsp_parameters({**p, "DSP_FAMILY": family})
    stages = 4 if family == 2 else 3
    while family != 2 and stages < 8 and mac_dsp.layout({**base, "STAGES": stages})["CH"] > MAX_DSP_CHAIN:
        stages += 1
    in_mac = 0 if border else 1
    return {"MAC_STYLE": 2, "DSP_FAMILY": family, "MEM_REG": 0, "DOT_STAGES": stages + 1 - in_mac}


def dsp_kind(device) -> str:
    """The DSP multipliers of ``device`` an MVAU can pack products into ("" if none)."""
    if device.dsp <= 0:
        return ""
    if device.family == "xilinx":
        return "dsp48e1" if device.name.startswith("xc7") else "dsp48e2"
    return "mult18x18d" if device.family == "ecp5" else ""


def variants(graph: Graph, op: hw.MVAU, device) -> list[dict]:
    """The DSP arithmetic the folding optimizer may try (multi-bit operands, neither bipolar)."""
    x = graph.tensors[op.inputs[0]]
    w = graph.tensors[op.inputs[1]]
    kind = dsp_kind(device)
    if not kind or op.binary_xnor or BIPOLAR in (x.dtype, w.dtype):
        return []
    return [{"dsp": kind}]


def _class_grid(graph: Graph, op: hw.MVAU) -> dict | None:
    """Classes by row and column (mvau.v CLASS_COLS) for an MVAU with threshold classes fed
    by a ``SlidingWindow``: the padded terms of output position (r, j) are those of its
    kernel rows on padding and those of its kernel columns on padding, so its class is the
    pair (row class, column class) of the distinct row / column patterns, numbered
    ``row_class * N_COL + col_class``. Returns the thresholds (N_CLASSES, MH, S) in that
    numbering, the class memory words (OH row words ``row_class * N_COL``, then OW column
    words ``col_class``) and OW; None without such a window (keep the per-vector class map)."""
    window = graph.producer(op.inputs[0])
    if not isinstance(window, hw.SlidingWindow) or not op.has_thresholds:
        return None
    (kh, kw), (sh, sw), (dh, dw) = window.kernel_shape, window.strides, window.dilations
    (ih, iw), (oh, ow) = window.ifm_dims, window.ofm_dims
    top, left = window.pads[0], window.pads[1]
    if len(op.class_map) != oh * ow:
        return None
    row_patterns = [tuple(not 0 <= r * sh + u * dh - top < ih for u in range(kh)) for r in range(oh)]
    col_patterns = [tuple(not 0 <= j * sw + v * dw - left < iw for v in range(kw)) for j in range(ow)]
    rows, cols = sorted(set(row_patterns)), sorted(set(col_patterns))
    row_class = [rows.index(pattern) for pattern in row_patterns]
    col_class = [cols.index(pattern) for pattern in col_patterns]
    old = _class_thresholds(graph, op)
    thresholds = np.zeros((len(rows) * len(cols),) + old.shape[1:], dtype=np.int64)
    seen = np.zeros(len(thresholds), dtype=bool)
    classes = np.asarray(op.class_map).reshape(oh, ow)
    for r in range(oh):
        for j in range(ow):
            c = row_class[r] * len(cols) + col_class[j]
            if seen[c] and not np.array_equal(thresholds[c], old[classes[r, j]]):
                return None     # positions of one (row, column) class with different thresholds
            thresholds[c], seen[c] = old[classes[r, j]], True
    if not seen.all():
        return None
    return {"thresholds": thresholds, "words": [c * len(cols) for c in row_class] + col_class, "cols": ow}


#: Threshold memories with classes go to block RAM (mvau.v THRESHOLD_BLOCK) when the LUT ROM
#: would cost at least this many LUTs per block RAM it takes instead.
THRESHOLD_BLOCK_LUTS = 32


def threshold_block(p: dict, constant_bits: int = 0) -> bool:
    """Whether the class threshold memory of parameters ``p`` asks for block RAM: its LUT ROM
    (the mapping of every memory, :func:`bnncc.hw.memory_map.memory_cost`, plus a LUT6 per
    bit per 64 words as ``class_memories`` prices it) costs at least THRESHOLD_BLOCK_LUTS
    per block RAM of the block mapping."""
    tdepth = p["MH"] // p["PE"] * p["N_CLASSES"]
    tword = max(1, p["PE"] * p["N_THRESHOLDS"] * p["ACC_BITS"] - constant_bits)
    logic = memory_cost(Memory(tword, tdepth, "rom"), "xilinx")
    if logic["bram"]:
        return False
    block = memory_cost(Memory(tword, tdepth, "rom", "block"), "xilinx")
    luts = logic["rom"] + logic["mux"] + tword * -(-tdepth // 64)
    return block["bram"] > 0 and luts >= THRESHOLD_BLOCK_LUTS * block["bram"]


def _class_thresholds(graph: Graph, op: hw.MVAU) -> np.ndarray:
    """The thresholds of ``op`` as (N_CLASSES, MH, S): one class without a class map."""
    if not op.class_map:
        return channel_thresholds(graph, op, op.mh)[None]
    value = graph.constant(op.inputs[2]).astype(np.int64)
    return np.broadcast_to(value, (value.shape[0], op.mh, value.shape[2]))


def hints(parameters: dict, words: dict) -> dict:
    """The threshold memory's constant bits (see :data:`THRESHOLD_CONSTANT_BITS`)."""
    name = parameters.get("THRESHOLD_FILE")
    if not name or "THRESHOLD_FILE" not in words:
        return {}
    p = parameters
    if p.get("THRESHOLD_SEARCH", 0) and p["N_THRESHOLDS"] > 1:
        return {}       # the search's stage memories: no constant-bit hint
    return {THRESHOLD_CONSTANT_BITS: constant_bits(words["THRESHOLD_FILE"], p["PE"] * p["N_THRESHOLDS"] * p["ACC_BITS"])}


def foldings(graph: Graph, op: hw.MVAU) -> list[dict]:
    return [{"pe": pe, "simd": simd} for pe in divisors(op.mh) for simd in divisors(op.mw)]


def macs(stage: StageRTL) -> int:
    p = stage.parameters
    vectors = stage.in_beats * p["SIMD"] // p["MW"]
    return vectors * p["MW"] * p["MH"]


def work(stage: StageRTL) -> dict:
    """Operand kind, weight bits and threshold count of an MVAU."""
    p = stage.parameters
    kind = "xnor" if p["BINARY"] else f"w{p['WEIGHT_BITS']}a{p['INPUT_BITS']}"
    return {"mw": p["MW"], "mh": p["MH"], "macs_per_frame": macs(stage), "mac_kind": kind,
            "weight_bits": p["MW"] * p["MH"] * p["WEIGHT_BITS"], "thresholds": p["MH"] * p["N_THRESHOLDS"]}


# -- rules ----------------------------------------------------------------------------------
def searches(p: dict) -> bool:
    """mvau.v SEARCH: several thresholds counted by the binary search."""
    return bool(p.get("THRESHOLD_SEARCH", 0)) and p["N_THRESHOLDS"] > 1


def extra_stages(p: dict) -> int:
    """Pipeline registers beyond the base pipeline (mvau.v EXTRA): MEM_REG + DOT_STAGES - 1,
    + 1 for registered compares of several thresholds, or the threshold search's OUT_BITS
    stages (two cycles each with THRESHOLD_BLOCK; with SEARCH_SPLIT two in LUTs, three in
    block RAM)."""
    if searches(p):
        nf = p["MH"] // p["PE"]
        compares = search.latency(p["OUT_BITS"], p.get("THRESHOLD_BLOCK", 0), p.get("SEARCH_SPLIT", 0),
                                  nf * p.get("N_CLASSES", 1), p.get("SEARCH_BLOCK_DEPTH", 0))
    else:
        compares = 1 if p.get("REGISTER_COMPARES", 0) and p["N_THRESHOLDS"] > 1 else 0
    return p.get("MEM_REG", 0) + p.get("DOT_STAGES", 1) - 1 + compares


def output_fifo_depth(p: dict) -> int:
    """mvau.v OD: a credit is held 5 + EXTRA cycles from issue to the earliest pop and a
    result is issued at most every SF cycles: max(2, ceil((5 + EXTRA) / SF))."""
    sf = p["MW"] // p["SIMD"]
    return max(2, -(-(5 + extra_stages(p)) // sf))


def dot_width(p: dict) -> int:
    """mvau.v DW: bits of a per-PE dot product (a popcount, or a sum of SIMD products
    capped at the accumulator's width)."""
    fold = 1 if p["N_THRESHOLDS"] == 1 else 0
    if p["BINARY"]:
        return clog2(p["SIMD"] + fold + 1)
    pw = _signed_width(p["INPUT_BITS"], p["INPUT_SIGNED"]) + _signed_width(p["WEIGHT_BITS"], p["WEIGHT_SIGNED"])
    return min(pw + clog2(p["SIMD"] + 1), p["ACC_BITS"] + fold)


def _uses_mac_dot(p: dict) -> bool:
    """mvau.v MAC_DOT: mac_dot computes the dot products."""
    style = p.get("MAC_STYLE", 0)
    return style != 2 and (p.get("DOT_STAGES", 1) > 1 or (style != 0 and p["BINARY"] == 0))


def _mac_dsp_parameters(p: dict) -> dict:
    """The parameters mvau.v gives its mac_dsp instance (MAC_STYLE = 2)."""
    in_mac = 1 if p.get("BORDER", 0) == 0 else 0
    return {"N": p["SIMD"], "L": p["PE"], "INPUT_BITS": p["INPUT_BITS"], "INPUT_SIGNED": p["INPUT_SIGNED"],
            "WEIGHT_BITS": p["WEIGHT_BITS"], "WEIGHT_SIGNED": p["WEIGHT_SIGNED"], "DW": dot_width(p),
            "STAGES": p.get("DOT_STAGES", 1) - 1 + in_mac, "FAMILY": p.get("DSP_FAMILY", 0), "PACK": 0, "GROUP": 0}


def _weight_depth(p: dict) -> int:
    """mvau.v WDEPTH = NF * SF (0 for folding factors below 1, which the rules refuse)."""
    return (p["MH"] // p["PE"]) * (p["MW"] // p["SIMD"]) if p["PE"] >= 1 and p["SIMD"] >= 1 else 0


def weight_rom_pipe(p: dict) -> bool:
    """mvau.v WROM_PIPE: a block RAM weight memory read through rom_pipe's two registers
    (MEM_REG)."""
    return p.get("MEM_REG", 0) != 0 and _weight_depth(p) >= WROM_BLOCK_DEPTH


def weight_memory_cost(p: dict, family: str) -> dict:
    """:func:`memory_cost` of the weight memory (WWORD = PE*SIMD*WEIGHT_BITS bits x WDEPTH
    words, block RAM from WROM_BLOCK_DEPTH words), summed over rom_pipe's arrays when it is
    read through rom_pipe (each bank and slice its own memory, a single bank padded to its
    block depth: :func:`rom_pipe.array_shapes`), and the multiplexer selecting among the
    banks (WWORD bits, :func:`mux_luts` of the banks)."""
    wword, wdepth = p["PE"] * p["SIMD"] * p["WEIGHT_BITS"], _weight_depth(p)
    style = "block" if wdepth >= WROM_BLOCK_DEPTH else "auto"
    rom = _rom_pipe_parameters(p) if weight_rom_pipe(p) else None
    shapes = rom_pipe.array_shapes(rom) if rom else [(wword, wdepth)]
    costs = [memory_cost(Memory(width, depth, "rom", style), family) for width, depth in shapes]
    total = {key: sum(cost[key] for cost in costs) for key in costs[0]}
    total["mux"] += wword * mux_luts(rom_pipe.banks(rom) if rom else 1, family)
    return total


def _rom_pipe_parameters(p: dict) -> dict:
    """The parameters mvau.v gives its weight memory's rom_pipe."""
    return {"WIDTH": p["PE"] * p["SIMD"] * p["WEIGHT_BITS"], "DEPTH": _weight_depth(p),
            "LATENCY": 1 + p["MEM_REG"], "INIT_FILE": p["WEIGHT_FILE"], "BLOCK": 1, "BANK_DEPTH": 0, "BANK_FILES": 1}


def weight_bank_files(weights: MemoryFile, p: dict) -> list[MemoryFile]:
    """The files of the weight memory's arrays when rom_pipe reads each bank and slice from
    its own file (:func:`rom_pipe.array_files`)."""
    if not weight_rom_pipe(p):
        return []
    return [MemoryFile(weights.filename + suffix, words, width)
            for suffix, words, width in rom_pipe.array_files(_rom_pipe_parameters(p), list(weights.words))]


def _mac_dot_parameters(p: dict) -> dict:
    """The parameters mvau.v gives its mac_dot instances (its last register is dot_q unless
    border masking muxes ahead of it)."""
    in_mac = 1 if p.get("BORDER", 0) == 0 else 0
    return {"N": p["SIMD"], "INPUT_BITS": p["INPUT_BITS"], "INPUT_SIGNED": p["INPUT_SIGNED"],
            "INPUT_BIPOLAR": p["INPUT_BIPOLAR"], "WEIGHT_BITS": p["WEIGHT_BITS"], "WEIGHT_SIGNED": p["WEIGHT_SIGNED"],
            "WEIGHT_BIPOLAR": p["WEIGHT_BIPOLAR"], "BINARY": p["BINARY"], "DW": dot_width(p),
            "STAGES": p.get("DOT_STAGES", 1) - 1 + in_mac, "CHAIN": p.get("DOT_CHAIN", 0), "FORM": 0,
            "PAIRED": p.get("DOT_PAIRS", 0)}


def _search_parameters(p: dict) -> dict:
    """The parameters mvau.v gives its threshold_search instance."""
    files = {"FILE_0": p["THRESHOLD_FILE"], **{f"FILE_{k}": p.get(f"SEARCH{k}_FILE", "") for k in range(1, search.MAX_STAGES)}}
    nf = vdiv(p["MH"], p["PE"])
    return {"PE": p["PE"], "STAGES": p["OUT_BITS"], "TW": p["ACC_BITS"],
            "ROWS": 1 if nf is X else nf * p["N_CLASSES"], "BLOCK": p["THRESHOLD_BLOCK"],
            "BLOCK_DEPTH": p["SEARCH_BLOCK_DEPTH"], "SPLIT": p["SEARCH_SPLIT"], **files}


RULES = ModuleRules(
    "mvau",
    defaults={
        "MW": 64, "MH": 64, "PE": 16, "SIMD": 16, "INPUT_BITS": 1, "INPUT_SIGNED": 0, "INPUT_BIPOLAR": 1,
        "WEIGHT_BITS": 1, "WEIGHT_SIGNED": 0, "WEIGHT_BIPOLAR": 1, "BINARY": 1, "ACC_BITS": 8, "N_THRESHOLDS": 1,
        "OUT_BITS": 1, "OUT_BIAS": 0, "WEIGHT_FILE": "", "THRESHOLD_FILE": "",
        "N_CLASSES": 1, "N_VECTORS": 1, "CLASS_FILE": "",
        "CLASS_COLS": 0, "THRESHOLD_BLOCK": 0,
        "BORDER": 0, "BORDER_KH": 1, "BORDER_KW": 1, "BORDER_OH": 1, "BORDER_OW": 1,
        "MAC_STYLE": 0, "DSP_FAMILY": 0, "MEM_REG": 0, "DOT_STAGES": 1, "DOT_CHAIN": 0, "DOT_PAIRS": 0,
        "REGISTER_COMPARES": 0,
        "THRESHOLD_SEARCH": 0, "SEARCH_BLOCK_DEPTH": 0, "SEARCH_SPLIT": 0, **{f"SEARCH{k}_FILE": "" for k in range(1, search.MAX_STAGES)},
        "ISSUE_FLAGS": 0,
    },
    derived=lambda p: {"NT": p["N_THRESHOLDS"], "SF": vdiv(p["MW"], p["SIMD"]),
                       "BORDER_KP": p["BORDER_KH"] * p["BORDER_KW"]},
    children=lambda p: ([("g_pe[0].g_dot.u_dot", "mac_dot", _mac_dot_parameters(p))] if _uses_mac_dot(p) else
                        [("g_dsp.u_dsp", "mac_dsp", _mac_dsp_parameters(p))] if p["MAC_STYLE"] == 2 else [])
    + ([("g_wrom_pipe.u_wrom", "rom_pipe", _rom_pipe_parameters(p))] if weight_rom_pipe(p) else [])
    + ([("g_search_lanes.u_search", "threshold_search", _search_parameters(p))] if searches(p) else []),
    rules=(
        Rule("MW, MH, PE and SIMD must be >= 1", lambda p: any_below(p, ("MW", "MH", "PE", "SIMD"), 1)),
        Rule("PE=%0d does not divide MH=%0d", lambda p: vmod(p["MH"], p["PE"]) != 0, ("PE", "MH")),
        Rule("SIMD=%0d does not divide MW=%0d", lambda p: vmod(p["MW"], p["SIMD"]) != 0, ("SIMD", "MW")),
        Rule("INPUT_BITS and WEIGHT_BITS must be 1..16",
             lambda p: not (1 <= p["INPUT_BITS"] <= 16) or not (1 <= p["WEIGHT_BITS"] <= 16)),
        Rule("a bipolar operand is 1 bit and not signed",
             lambda p: (p["INPUT_BIPOLAR"] != 0 and (p["INPUT_BITS"] != 1 or p["INPUT_SIGNED"] != 0))
             or (p["WEIGHT_BIPOLAR"] != 0 and (p["WEIGHT_BITS"] != 1 or p["WEIGHT_SIGNED"] != 0))),
        Rule("BINARY needs INPUT_BIPOLAR=1 and WEIGHT_BIPOLAR=1",
             lambda p: p["BINARY"] != 0 and (p["INPUT_BIPOLAR"] == 0 or p["WEIGHT_BIPOLAR"] == 0)),
        Rule("ACC_BITS=%0d must be 1..31", lambda p: p["ACC_BITS"] < 1 or p["ACC_BITS"] > 31, ("ACC_BITS",)),
        Rule("ACC_BITS=%0d cannot hold popcounts up to MW=%0d as signed",
             lambda p: p["BINARY"] != 0 and shl1(p["ACC_BITS"] - 1) <= p["MW"], ("ACC_BITS", "MW")),
        Rule("N_THRESHOLDS must be >= 0", lambda p: p["NT"] < 0),
        Rule("without thresholds OUT_BITS (%0d) must equal ACC_BITS (%0d)",
             lambda p: p["NT"] == 0 and p["OUT_BITS"] != p["ACC_BITS"], ("OUT_BITS", "ACC_BITS")),
        Rule("OUT_BITS must be 1..30 with thresholds", lambda p: p["NT"] > 0 and not (1 <= p["OUT_BITS"] <= 30)),
        Rule("N_CLASSES=%0d and N_VECTORS=%0d must be >= 1",
             lambda p: p["N_CLASSES"] < 1 or p["N_VECTORS"] < 1, ("N_CLASSES", "N_VECTORS")),
        Rule("N_CLASSES=%0d needs thresholds (N_THRESHOLDS > 0)",
             lambda p: p["N_CLASSES"] > 1 and p["NT"] == 0, ("N_CLASSES",)),
        Rule("CLASS_COLS=%0d must be 0, or divide N_VECTORS=%0d with N_CLASSES > 1",
             lambda p: p["CLASS_COLS"] < 0 or (p["CLASS_COLS"] > 0 and (p["N_CLASSES"] < 2
                                                                      or vmod(p["N_VECTORS"], p["CLASS_COLS"]) != 0)),
             ("CLASS_COLS", "N_VECTORS")),
        Rule("THRESHOLD_BLOCK needs thresholds (N_THRESHOLDS > 0)", lambda p: p["THRESHOLD_BLOCK"] != 0 and p["NT"] == 0),
        Rule("BORDER needs BORDER_KH, BORDER_KW, BORDER_OH, BORDER_OW >= 1 and the kernel positions (%0d) dividing SF (%0d)",
             lambda p: p["BORDER"] != 0 and (any_below(p, ("BORDER_KH", "BORDER_KW", "BORDER_OH", "BORDER_OW"), 1)
                                             or vmod(p["SF"], p["BORDER_KP"]) != 0), ("BORDER_KP", "SF")),
        Rule("BORDER with BINARY needs an even SIMD, got %0d",
             lambda p: p["BORDER"] != 0 and p["BINARY"] != 0 and vmod(p["SIMD"], 2) != 0, ("SIMD",)),
        Rule("MAC_STYLE=%0d must be 0..2, MEM_REG=%0d 0..4, REGISTER_COMPARES=%0d 0 or 1, DOT_STAGES=%0d 1..8",
             lambda p: p["MAC_STYLE"] not in (0, 1, 2) or p["MEM_REG"] not in (0, 1, 2, 3, 4)
             or p["REGISTER_COMPARES"] not in (0, 1) or not (1 <= p["DOT_STAGES"] <= 8),
             ("MAC_STYLE", "MEM_REG", "REGISTER_COMPARES", "DOT_STAGES")),
        Rule("MAC_STYLE=2 (DSP) needs multi-bit operands, neither bipolar",
             lambda p: p["MAC_STYLE"] == 2 and (p["BINARY"] != 0 or p["INPUT_BIPOLAR"] != 0
                                                or p["WEIGHT_BIPOLAR"] != 0)),
        Rule("DOT_CHAIN=%0d must be 0..SIMD=%0d",
             lambda p: not (0 <= p["DOT_CHAIN"] <= p["SIMD"]), ("DOT_CHAIN", "SIMD")),
        Rule("DOT_STAGES=%0d > 1 needs MAC_STYLE=1 or BINARY",
             lambda p: p["DOT_STAGES"] > 1 and p["MAC_STYLE"] == 0 and p["BINARY"] == 0, ("DOT_STAGES",)),
        Rule("DOT_PAIRS=%0d must be 0, or 1 with MAC_STYLE=1, WEIGHT_BIPOLAR=1 and INPUT_BIPOLAR=0",
             lambda p: p["DOT_PAIRS"] not in (0, 1)
             or (p["DOT_PAIRS"] == 1 and (p["MAC_STYLE"] != 1 or p["WEIGHT_BIPOLAR"] == 0 or p["INPUT_BIPOLAR"] != 0)),
             ("DOT_PAIRS",)),
        Rule("BORDER and N_CLASSES=%0d > 1 exclude each other",
             lambda p: p["BORDER"] != 0 and p["N_CLASSES"] != 1, ("N_CLASSES",)),
        Rule("THRESHOLD_SEARCH=%0d must be 0 or 1, SEARCH_BLOCK_DEPTH=%0d >= 0; 1 needs 2 <= N_THRESHOLDS (%0d) "
             "< 2**OUT_BITS, OUT_BITS (%0d) <= 8 and REGISTER_COMPARES=0",
             lambda p: p["THRESHOLD_SEARCH"] not in (0, 1) or p["SEARCH_BLOCK_DEPTH"] < 0
             or (p["THRESHOLD_SEARCH"] != 0 and (p["NT"] < 2 or p["OUT_BITS"] > 8 or p["NT"] > shl1(p["OUT_BITS"]) - 1
                                                 or p["REGISTER_COMPARES"] != 0)),
             ("THRESHOLD_SEARCH", "SEARCH_BLOCK_DEPTH", "NT", "OUT_BITS")),
        Rule("SEARCH_SPLIT=%0d must be 0 or 1", lambda p: p["SEARCH_SPLIT"] not in (0, 1), ("SEARCH_SPLIT",)),
        Rule("ISSUE_FLAGS=%0d must be 0 or 1", lambda p: p["ISSUE_FLAGS"] not in (0, 1), ("ISSUE_FLAGS",)),
    ),
)


# -- timing ---------------------------------------------------------------------------------
class Mvau(Pattern):
    """mvau.v: a vector of SF input beats is taken at one beat per cycle while row group 0
    is issued; the NF row groups take SF cycles each, so the next vector starts
    (NF-1)*SF + 1 cycles after the last beat of this one; row group n's result leaves
    L = 4 + EXTRA cycles after its last issue (EXTRA = MEM_REG + DOT_STAGES - 1, + 1 with
    REGISTER_COMPARES and several thresholds), i.e.
    L + n*SF cycles after the vector's last beat. Results wait in an output FIFO of OD
    entries: issuing a row group's last beat needs a free one."""

    def __init__(self, stage: StageRTL):
        p = stage.parameters
        self.sf, self.nf = p["MW"] // p["SIMD"], p["MH"] // p["PE"]
        self.latency = 4 + extra_stages(p)
        self.od = output_fifo_depth(p)
        # a result must be taken the cycle before the issue of the one OD later, L cycles
        # before that one is ready
        self.hold, self.lead = self.od, self.latency + 1
        self.vectors = stage.in_beats // self.sf
        self.in_beats, self.out_beats = stage.in_beats, self.vectors * self.nf
        gaps = np.ones(FRAMES * self.in_beats, dtype=np.int64)
        gaps[::self.sf] = (self.nf - 1) * self.sf + 1
        self.in_gaps = gaps

    def asap(self, arrival):
        pops = forward(arrival, self.in_gaps)
        last = pops[self.sf - 1::self.sf]
        pushes = (last[:, None] + self.latency + self.sf * np.arange(self.nf)[None, :]).reshape(-1)
        return Schedule(pops, pushes)

    def alap(self, deadline):
        pushes = backward(deadline, 1)
        issues = backward(pushes - self.latency, self.sf)   # last issue of every row group
        credit = np.full_like(pushes, NEVER_AFTER)
        credit[:-self.od] = issues[self.od:] - 1        # result k leaves before k + OD is issued
        pushes = backward(np.minimum(pushes, credit), 1)
        first = issues[::self.nf]
        pops = (first[:, None] - (self.sf - 1) + np.arange(self.sf)[None, :]).reshape(-1)
        return Schedule(pops, pushes)


# -- resource terms -------------------------------------------------------------------------
#: Weight ROMs of at least this many words ask for block RAM (mvau.v: WROM_BLOCK_DEPTH).
WROM_BLOCK_DEPTH = 32
#: Weight ROMs of at most this many words count as shallow (see ``weight_rom_shallow``).
SHALLOW_ROM_DEPTH = 8


@lru_cache(maxsize=4096)
def popcount_luts(n: int, extra: int) -> tuple[int, int]:
    """(LUTs of the counters, result bits) of ``mvau_popcount #(.N(n), .EXTRA(extra))``:
    2 per 3-pair group, 1 or 2 for the pairs left over, 2 per 3-input and 3 per 4..6-input
    counter of every reduction stage until no column holds more than two bits."""
    heaps = mac_dot.popcount_heaps(n, extra)
    groups, rest = divmod(n, 3)
    luts = 2 * groups + rest
    for heights in heaps[:-1]:
        for h in heights:
            full, left = divmod(h, 6)
            luts += 3 * full + (3 if left >= 4 else 2 if left == 3 else 0)
    cols = clog2(n + extra + 1)
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


def terms(p: dict, family: str) -> Terms:
    """The estimate terms of an mvau instance (see the module docstring)."""
    mw, mh, pe, simd = p["MW"], p["MH"], p["PE"], p["SIMD"]
    xb, wb, acc_bits, nt = p["INPUT_BITS"], p["WEIGHT_BITS"], p["ACC_BITS"], p["N_THRESHOLDS"]
    sf, nf = mw // simd, mh // pe
    nc, nv = p.get("N_CLASSES", 1), p.get("N_VECTORS", 1)
    tdepth = nf * nc                       # threshold words: class * NF + row group
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
    dw = dot_width(p)
    sf_w, nf_w, wa_w = max(1, clog2(sf)), max(1, clog2(nf)), max(1, clog2(wdepth))
    od = output_fifo_depth(p)
    mac = _uses_mac_dot(p)
    dot_stages, mem_reg = p.get("DOT_STAGES", 1), p.get("MEM_REG", 0)
    oc_w = clog2(od + 1)

    # with classes: a vector counter (VC_W bits), or a row and a column counter (CLASS_COLS),
    # and the threshold address adder (TA_W bits); border masking: a row and a column counter
    ccols, tblock, border = p.get("CLASS_COLS", 0), p.get("THRESHOLD_BLOCK", 0), p.get("BORDER", 0)
    crows = nv // ccols if ccols else 0
    vec_bits = (max(1, clog2(crows)) + max(1, clog2(ccols))) if ccols else max(1, clog2(nv))
    class_bits = (vec_bits + max(1, clog2(tdepth))) if nc > 1 else 0
    if border:
        class_bits += max(1, clog2(p["BORDER_OH"])) + max(1, clog2(p["BORDER_OW"]))
    lut, ff = {"const": 1, "counter_bits": sf_w + nf_w + wa_w + oc_w + class_bits}, {}
    dsp = 0.0
    if p["BINARY"]:
        counters, cols = popcount_luts(simd, fold)
        lut["popcount"] = pe * counters
        lut["popcount_adder"] = pe * cols
    elif p.get("MAC_STYLE", 0) == 2:
        # mac_dsp: the multipliers it packs (layout), the field separation and group sums of
        # every product, and per lane the sum over its NG groups (DW-bit adders)
        layout = mac_dsp.layout(_mac_dsp_parameters(p))
        dsp = float(layout["multipliers"])
        lut["dsp_pack"] = pe * simd
        lut["mac_tree"] = pe * (layout["NG"] - 1) * dw
    elif mac:
        # mac_dot: every partial-product bit is one LUT in front of a carry chain; the chains'
        # sums meet in a binary tree of DW-bit adders (G - 1 per PE)
        # (pairs: ceil(SIMD/2) products per PE, and the pair adders once: mac_pairs)
        _, _, pp_bits = mac_dot.partial_product_bits(p)
        groups = mac_dot.chain_groups(p, simd, dot_stages - (1 if p.get("BORDER", 0) else 0), p.get("DOT_CHAIN", 0))
        lut["mac_pp"] = pe * mac_dot.products(p, simd) * pp_bits
        lut["mac_tree"] = pe * (groups - 1) * dw
        lut["mac_pairs"] = mac_dot.pairs_luts(p, simd) if mac_dot.paired(p) else 0
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
    search_mems = []
    if searches(p):
        # the binary search: per lane one compare of ACC_BITS bits per stage (OUT_BITS
        # stages); stage k's ROM of NF * N_CLASSES * 2**k words of ACC_BITS bits per lane
        # (stage 0 one ROM of PE lanes, its address shared)
        stages = p["OUT_BITS"]
        lut["search_compare"] = pe * stages * acc_bits
        # (read combinationally at registered addresses that feed the next stage as well:
        # Yosys keeps them in logic; block RAM with THRESHOLD_BLOCK)
        # stage k >= 1 per lane: its lane's words of a ROM of depth * PL words in block RAM,
        # with THRESHOLD_BLOCK or from SEARCH_BLOCK_DEPTH words on)
        lanes, block_depth = search.lane_stride(pe), p.get("SEARCH_BLOCK_DEPTH", 0)
        if tblock:
            search_mems = [(1, memory_cost(Memory(pe * acc_bits, tdepth, "rom", "block"), family))]
        else:
            search_mems = [(1, memory_cost(Memory(pe * acc_bits, tdepth, "rom_async"), family))]
        for k in range(1, stages):
            depth = tdepth << k
            if tblock or 0 < block_depth <= depth:
                search_mems.append((pe, memory_cost(Memory(acc_bits, depth * lanes, "rom", "block"), family)))
            else:
                search_mems.append((pe, memory_cost(Memory(acc_bits, depth, "rom_async"), family)))
        lut["search_rom"] = sum(n * m["rom"] for n, m in search_mems)
    elif nt > 1:
        # the fit of the few-threshold stages (up to FEW_THRESHOLDS) prices compare and count
        # by the count's bits; every threshold beyond costs one more compare of the accumulator
        lut["compare"] = pe * nt * acc_bits
        lut["count"] = pe * min(nt, FEW_THRESHOLDS) * p["OUT_BITS"]
        lut["compare_more"] = pe * max(0, nt - FEW_THRESHOLDS) * acc_bits

    # memories
    wcost = weight_memory_cost(p, family)
    xbuf = memory_cost(Memory(in_w, sf, "ram_shared"), family) if nf > 1 else None
    tmem = None
    tword = max(1, pe * nt * acc_bits - p.get(THRESHOLD_CONSTANT_BITS, 0))  # the bits Yosys keeps
    if nt > 0 and tdepth > 1 and not search_mems:
        tmem = memory_cost(Memory(tword, tdepth, "rom", "block" if tblock else "auto"), family)
    # the class of every vector of a frame (CL_W bits), read combinationally: a LUT ROM (by
    # row and column: CROWS + CLASS_COLS words)
    cwords = crows + ccols if ccols else nv
    cmem = memory_cost(Memory(max(1, clog2(nc)), cwords, "rom", "auto"), family) if nc > 1 else None
    ofifo = memory_cost(Memory(out_w, od, "ram_async"), family)
    # A shallow weight ROM (a few address bits) merges into the XNOR / product logic that
    # reads it; a deeper one is a LUT per output bit: two terms with their own coefficients.
    lut["weight_rom_shallow" if wdepth <= SHALLOW_ROM_DEPTH else "weight_rom"] = wcost["rom"]
    lut["threshold_rom"] = (tmem["rom"] if tmem else 0.0) + (cmem["rom"] if cmem else 0.0)
    if nc > 1:
        # with classes the threshold word no longer merges into the accumulator's adder: each
        # bit is a LUT6 per 64 words of the class-addressed ROM (unless it is block RAM), and
        # the class ROM a LUT6 per bit per 64 vectors (fitted on its own, see COEFFICIENTS)
        in_luts = tmem is not None and not tmem["bram"]
        lut["class_memories"] = (tword * -(-tdepth // 64) if in_luts else 0) + max(1, clog2(nc)) * -(-cwords // 64)
    if border:
        # the border word ROM (OH + OW words), the kernel position select of the beat, and the
        # constant that replaces a padded beat's dot product ahead of the dot product register
        lut["border"] = pe * dw + p["BORDER_KH"] + p["BORDER_KW"] + sf_w
    lut["input_select"] = in_w if nf > 1 else 0
    lut["mux"] = sum(m["mux"] for m in (wcost, xbuf, tmem, ofifo, cmem) if m) + sum(n * m["mux"] for n, m in search_mems)
    lut["decode"] = sum(m["decode"] for m in (xbuf, ofifo) if m)
    bram = sum(m["bram"] for m in (wcost, xbuf, tmem, ofifo, cmem) if m) + sum(n * m["bram"] for n, m in search_mems)
    lutram = sum(m["lutram"] for m in (wcost, xbuf, tmem, ofifo, cmem) if m) + sum(n * m["lutram"] for n, m in search_mems)

    # registers
    registers = sf_w + nf_w + wa_w + 2 * oc_w + 2 * clog2(od) + 7 + (1 if nf > 1 else 0) + 3 * p.get("ISSUE_FLAGS", 0)
    ta_w = max(1, clog2(tdepth))              # threshold address registers (NF_W without classes)
    registers += ta_w * (0 if not tmem else 1 if fold else 2) + (vec_bits if nc > 1 else 0)
    if border:
        registers += max(1, clog2(p["BORDER_OH"])) + max(1, clog2(p["BORDER_OW"])) + 1
    data = in_w + pe * dw + pe * aw
    # the weight and input word registered again, MEM_REG times (with a vector buffer and
    # MEM_REG 2, mvau.v XSPLIT: the select between registers, one input word more)
    data += mem_reg * (wword + in_w + 1) + (in_w if nf > 1 and mem_reg >= 2 and not p.get("DOT_PAIRS", 0) else 0)
    if weight_rom_pipe(p) and mem_reg >= 3:
        # rom_pipe LATENCY 4 and 5: a word per bank or per group of banks ahead of the last register
        data += (rom_pipe.fabric_words(_rom_pipe_parameters(p)) - (mem_reg - 1)) * wword
    if dot_stages > 1:
        # inner dot product registers (about a DW-bit sum per chain and tree node) and the
        # control delay line
        groups = mac_dot.chain_groups(p, simd, dot_stages, p.get("DOT_CHAIN", 0)) if not p["BINARY"] else 1
        data += pe * (dot_stages - 1) * min(groups, 2) * dw
    registers += (mem_reg + dot_stages - 1) * (4 + (max(1, clog2(tdepth)) if nt > 0 else 0))
    if search_mems:
        # per stage: the prefixes (k + 1 bits per lane) and a valid bit; the accumulators and
        # the row carried to the next stage (none after the last); the row of the finished
        # accumulators; with block RAM the stage's inputs once more
        stages = p["OUT_BITS"]
        carried = pe * acc_bits + ta_w
        data += sum(pe * (k + 1) for k in range(stages)) + (stages - 1) * carried + ta_w
        registers += stages
        if p.get("SEARCH_SPLIT", 0):
            # SEARCH_SPLIT: per stage R = 1 (LUT ROM) or 2 (block RAM) registers of the
            # stage's inputs ahead of the compare, and a LUT ROM's read register (a block
            # RAM's two are its own)
            for k in range(stages):
                in_block = bool(tblock) or search.in_block(tdepth, k, 0, block_depth)
                r = 2 if in_block else 1
                registers += r
                data += r * (carried + pe * k) + (0 if in_block else pe * acc_bits)
        elif tblock:
            registers += stages
            data += stages * carried + sum(pe * k for k in range(stages))
    elif p.get("REGISTER_COMPARES", 0) and nt > 1:
        data += pe * nt                        # the registered compare bits
        registers += 1
    if wdepth > 1 and not wcost["bram"]:
        data += wword
    if xbuf is not None and not xbuf["bram"]:
        data += in_w
    if tmem is not None and not tmem["bram"]:
        data += tword
    ff["control"] = registers
    ff["data"] = data
    ff["memory"] = sum(m["ff"] for m in (wcost, xbuf, tmem, ofifo, cmem) if m) + sum(n * m["ff"] for n, m in search_mems)
    return Terms(lut=lut, ff=ff, bram=bram, dsp=dsp, lutram=lutram)


#: Thresholds per channel of the stages the main calibration covers (up to 2-bit outputs).
FEW_THRESHOLDS = 3

COEFFICIENTS = {
    # the xilinx table was fitted before the negate_carry term existed: its fit put the cost
    # of the + 1 into negate and sum (both proportional to the products of a bipolar operand
    # lane), so the term weighs 0 there until the table is refitted (--fit). compare_more
    # (thresholds beyond FEW_THRESHOLDS) is fitted alone, the other coefficients fixed, on the
    # stages with more thresholds: ResNet-8's 4-bit layers
    # (benchmarks/results/calibration_graphs_xilinx.json, 11 instances) and the ECP5 grid (2).
    # class_memories (threshold classes) is fitted alone, the other coefficients fixed, on two
    # Yosys runs of padded-CNV-like binary MVAUs with 9 classes (576x128 PE 8 SIMD 48 over
    # 16x16 positions and 576x64 PE 16 SIMD 64 over 32x32): residuals within 3 % of the LUTs
    # on xilinx; on ECP5 the existing terms already come within 2 % of both (the least-squares
    # fit is slightly negative), so it weighs 0 there.
    # border (border masking) is fitted alone on two Yosys runs of padded-CNV binary MVAUs
    # with BORDER = 1 against the same MVAUs without it (576x64 PE 8 SIMD 64 over 32x32: +36
    # LUT, 576x128 PE 16 SIMD 64 over 16x16: +47 LUT; the estimates come within 5 % of both);
    # on ECP5 on the first of them (+59 LUT4, estimate within 3 %). Classes by row and column
    # with block RAM thresholds need no new term: the existing ones come within 1 % of Yosys
    # on 576x64 PE 4 SIMD 288 over 32x32 and 576x128 PE 8 SIMD 72 over 16x16 (9 classes) on
    # xilinx, within 3 % of the second on ECP5 (-9 LUT4, +2 block RAMs against no classes)
    # mac_pp and mac_tree (mac_dot: a LUT per partial-product bit, a DW-bit adder per tree node)
    # keep their structural weights on xilinx: a least-squares fit on the 10 mac_dot grid points
    # and the 50 MVAUs of the re-synthesized multi-bit examples (TFC-w2a2, ResNet-8, concat,
    # DS-CNN, MobileNet, the w4a4 MLP) does not improve on them (mean |LUT error| 11 % on the
    # grid, 7 % on the MVAUs above 300 LUT). dsp_pack (mac_dsp: field separation and group
    # sums per MAC) is fitted alone on the 3 DSP48E1 grid points. ECP5: mac_pp and dsp_pack fitted
    # on the 10 mac_dot and 3 MULT18X18D grid points (mean |LUT error| 24 % -> 10 %, largest 25 %).
    # search_compare and search_rom (the threshold search) are fitted alone, the other
    # coefficients fixed, on the 9 multi-bit mvau_search grid points on xilinx (the search's
    # prefix and address logic goes with the compares; stage memories of 128 words and more
    # in block RAM as the builder chooses; benchmarks/results/calibration_mvau_search_xilinx.json:
    # mean |LUT error| 3.4 %, largest 5.1 %; -2.8 % on the binary MVAU with 7 thresholds); ECP5
    # keeps structural weights (one LUT per compare bit and per ROM LUT) until fitted
    "xilinx": {
        "lut": {"accumulate": 0.134, "border": 0.33, "class_memories": 1.52, "compare": 0, "compare_more": 1.05, "const": 0, "count": 6.305, "counter_bits": 1.259, "decode": 1.935, "dsp_sum": 1.054, "dsp_pack": 4.72, "input_select": 1.93, "mac_pairs": 1.0, "mac_pp": 1.0, "mac_tree": 0.8, "multiply": 1.891, "mux": 1.45, "negate": 1.666, "negate_carry": 0, "popcount": 0.789, "popcount_adder": 3.64, "search_compare": 1.105, "search_rom": 0.473, "sum": 0.803, "threshold_rom": 0.43, "weight_rom": 0.814, "weight_rom_shallow": 0.5},
        "ff": {"control": 2.464, "data": 0.643, "memory": 0},
    },
    "ecp5": {
        "lut": {"accumulate": 0.349, "border": 0.65, "class_memories": 0, "compare": 0.598, "compare_more": 0.572, "const": 13.229, "count": 0.863, "counter_bits": 1.618, "decode": 2.427, "dsp_sum": 3.267, "dsp_pack": 16.638, "input_select": 0.775, "mac_pairs": 1.0, "mac_pp": 3.258, "mac_tree": 1.0, "multiply": 3.026, "mux": 1.667, "negate": 3.22, "negate_carry": 6.575, "popcount": 3.37, "popcount_adder": 4.157, "search_compare": 1.0, "search_rom": 1.0, "sum": 0, "threshold_rom": 0.733, "weight_rom": 1.066, "weight_rom_shallow": 0},
        "ff": {"control": 1.359, "data": 0.894, "memory": 0},
    },
}


# -- calibration grid -----------------------------------------------------------------------
OPERANDS = {  # name: (input bits, signed, bipolar), (weight bits, signed, bipolar)
    "bin": ((1, False, True), (1, False, True)),
    "i8xbip": ((8, True, False), (1, False, True)),
    "i2xbip": ((2, True, False), (1, False, True)),
    "i2xi2": ((2, True, False), (2, True, False)),
    "u4xi4": ((4, False, False), (4, True, False)),
    "i4xi4": ((4, True, False), (4, True, False)),
}


def grid_point(name: str, mw: int, mh: int, pe: int, simd: int, operands: str = "bin", n_thresholds: int = 1,
               out_bits: int = 1, **pipeline) -> dict:
    """An MVAU with random weights and sorted random thresholds in the reachable range,
    ACC_BITS chosen as the builder chooses it; ``pipeline``: MAC_STYLE, MEM_REG, DOT_STAGES."""
    (xb, xs, xp), (wb, ws, wp) = OPERANDS[operands]
    rng = calibration.rng(name)
    W = rng.choice(calibration.values(wb, ws, wp), size=(mw, mh))
    binary = xp and wp
    if binary:
        low, high = 0, mw
    else:
        x = calibration.values(xb, xs, xp)
        low = int(np.minimum(W * x.min(), W * x.max()).sum(axis=0).min())
        high = int(np.maximum(W * x.min(), W * x.max()).sum(axis=0).max())
    acc_bits = signed_bits(min(low, 0), high + (1 if n_thresholds else 0))
    memories = {"weights.mem": calibration.mem_text(weight_words(W, pe, simd, wb, bipolar=wp), pe * simd * wb)}
    params = {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "INPUT_BITS": xb, "INPUT_SIGNED": int(xs),
              "INPUT_BIPOLAR": int(xp), "WEIGHT_BITS": wb, "WEIGHT_SIGNED": int(ws), "WEIGHT_BIPOLAR": int(wp),
              "BINARY": int(binary), "ACC_BITS": acc_bits, "N_THRESHOLDS": n_thresholds,
              "OUT_BITS": out_bits if n_thresholds else acc_bits,
              "OUT_BIAS": -(1 << (out_bits - 1)) if n_thresholds > 1 else 0,
              "WEIGHT_FILE": "weights.mem", "THRESHOLD_FILE": "", **pipeline}
    if n_thresholds:
        T = np.sort(rng.integers(low, high + 2, size=(mh, n_thresholds)), axis=1)
        params["THRESHOLD_FILE"] = "thresholds.mem"
        if pipeline.get("THRESHOLD_SEARCH", 0):
            # the binary search's stage memories, as the builder writes them
            block_depth = search_block_depth(pe, acc_bits, mh // pe, out_bits)
            for k, words in enumerate(search.mvau_stage_words(T[None], pe, out_bits, acc_bits, 0, block_depth)):
                memories["thresholds.mem" if k == 0 else f"search{k}.mem"] = \
                    calibration.mem_text(words, search.word_width(pe, acc_bits, mh // pe, k, 0, block_depth))
                if k:
                    params[f"SEARCH{k}_FILE"] = f"search{k}.mem"
            if block_depth:
                params["SEARCH_BLOCK_DEPTH"] = block_depth
        else:
            memories["thresholds.mem"] = calibration.mem_text(threshold_words(T, pe, acc_bits),
                                                              pe * n_thresholds * acc_bits)
    return calibration.point(name, params, memories)


def calibration_grid(quick: bool) -> list[dict]:
    """Foldings, sizes and operand types around the example designs' MVAUs."""
    points = [grid_point("mvau_bin_64x64_p4s16", 64, 64, 4, 16),
              grid_point("mvau_i2_64x64_p2s8_t3", 64, 64, 2, 8, "i2xi2", 3, 2)]
    if quick:
        return points
    for mw, mh, pe, simd in [(784, 64, 4, 49), (784, 256, 8, 16), (256, 256, 4, 32), (256, 256, 16, 64),
                             (64, 64, 2, 64), (576, 64, 8, 32), (576, 128, 4, 64), (1152, 128, 2, 128),
                             (1152, 256, 4, 32), (2304, 256, 2, 32), (512, 512, 4, 8), (512, 512, 2, 64),
                             (256, 512, 8, 16), (64, 10, 2, 16), (512, 10, 2, 8), (128, 64, 32, 8),
                             (96, 48, 6, 12), (300, 20, 5, 15)]:
        points.append(grid_point(f"mvau_bin_{mw}x{mh}_p{pe}s{simd}", mw, mh, pe, simd))
    for mh in (32, 64, 128, 256, 512, 1024):                    # threshold memory depth NF = MH/8
        points.append(grid_point(f"mvau_bin_256x{mh}_p8s16", 256, mh, 8, 16))
        points.append(grid_point(f"mvau_i2xi2_256x{mh}_p8s16_t3", 256, mh, 8, 16, "i2xi2", 3, 2))
    for simd in (7, 14, 16, 28, 49, 112):                       # TFC's first layer at PE = 1, 2
        points.append(grid_point(f"mvau_bin_784x64_p1s{simd}", 784, 64, 1, simd))
        points.append(grid_point(f"mvau_i2xi2_784x64_p2s{simd}_t3", 784, 64, 2, simd, "i2xi2", 3, 2))
    for pe, simd in [(1, 1), (1, 2), (1, 4), (1, 8), (2, 16), (4, 64), (8, 32), (64, 64)]:
        points.append(grid_point(f"mvau_bin_64x64_p{pe}s{simd}", 64, 64, pe, simd))
        points.append(grid_point(f"mvau_i2xi2_64x64_p{pe}s{simd}_t3", 64, 64, pe, simd, "i2xi2", 3, 2))
    for mw, mh, pe, simd, ops, nt, ob in [(27, 64, 4, 27, "i8xbip", 1, 1), (27, 64, 16, 9, "i8xbip", 1, 1),
                                          (27, 64, 32, 3, "i8xbip", 1, 1), (784, 256, 4, 16, "i2xbip", 3, 2),
                                          (256, 256, 4, 64, "i2xbip", 3, 2), (256, 256, 8, 8, "i2xbip", 3, 2),
                                          (784, 64, 4, 16, "i2xi2", 3, 2), (64, 64, 8, 16, "i2xi2", 3, 2),
                                          (576, 128, 4, 32, "i2xi2", 3, 2), (1152, 256, 2, 48, "i2xi2", 3, 2),
                                          (512, 512, 2, 16, "i2xi2", 3, 2), (2304, 256, 1, 36, "i2xi2", 3, 2),
                                          (64, 64, 4, 8, "i4xi4", 15, 4), (128, 64, 2, 16, "u4xi4", 15, 4),
                                          (64, 10, 1, 8, "i2xi2", 0, 0), (256, 10, 2, 16, "i2xbip", 0, 0),
                                          (64, 32, 4, 4, "i4xi4", 0, 0), (48, 24, 2, 8, "u4xi4", 1, 1)]:
        points.append(grid_point(f"mvau_{ops}_{mw}x{mh}_p{pe}s{simd}_t{nt}", mw, mh, pe, simd, ops, nt, ob))
    # mac_dot dot products (MAC_STYLE = 1), some pipelined: the mac_pp and mac_tree terms
    for mw, mh, pe, simd, ops, nt, ob, mem_reg, stages in [
            (64, 64, 4, 16, "i4xi4", 15, 4, 0, 1), (256, 64, 8, 32, "i4xi4", 15, 4, 0, 1),
            (128, 64, 2, 16, "u4xi4", 15, 4, 0, 1), (64, 64, 8, 16, "i2xi2", 3, 2, 0, 1),
            (576, 128, 4, 32, "i2xi2", 3, 2, 0, 1), (256, 256, 4, 64, "i2xbip", 3, 2, 0, 1),
            (27, 64, 16, 9, "i8xbip", 1, 1, 0, 1), (64, 32, 4, 4, "i4xi4", 0, 0, 0, 1),
            (256, 64, 4, 64, "i4xi4", 15, 4, 1, 3), (784, 64, 2, 49, "i2xi2", 3, 2, 0, 2)]:
        points.append(grid_point(f"mvau_mac_{ops}_{mw}x{mh}_p{pe}s{simd}_t{nt}_m{mem_reg}d{stages}", mw, mh, pe, simd,
                                 ops, nt, ob, MAC_STYLE=1, MEM_REG=mem_reg, DOT_STAGES=stages,
                                 REGISTER_COMPARES=int(nt > 1)))
    # the pipelined threshold search (THRESHOLD_SEARCH) behind mac_dot and XNOR-popcount
    # dot products, as the builder makes them: the search_compare and search_rom terms
    for mw, mh, pe, simd, ops, nt, ob in [
            (64, 64, 4, 16, "i4xi4", 15, 4), (256, 64, 4, 64, "i4xi4", 15, 4), (256, 64, 2, 128, "i4xi4", 15, 4),
            (128, 128, 4, 16, "i4xi4", 15, 4), (128, 64, 2, 16, "u4xi4", 15, 4), (1024, 256, 2, 32, "i4xi4", 15, 4),
            (256, 256, 4, 64, "i2xbip", 3, 2), (576, 128, 4, 32, "i2xi2", 3, 2), (64, 64, 8, 16, "i2xi2", 3, 2),
            (256, 512, 8, 16, "bin", 7, 3)]:
        point = grid_point(f"mvau_search_{ops}_{mw}x{mh}_p{pe}s{simd}_t{nt}", mw, mh, pe, simd, ops, nt, ob,
                           THRESHOLD_SEARCH=1)
        if ops != "bin":
            point["parameters"].update(mac_pipeline(point["parameters"]))
        points.append(point)
    # mac_dsp products (MAC_STYLE = 2) on DSP48E1 and MULT18X18D, as the builder pipelines them:
    # the dsp_pack term
    for mw, mh, pe, simd, ops, nt, ob, kind in [
            (256, 64, 2, 64, "i4xi4", 15, 4, "dsp48e1"), (64, 64, 4, 16, "i4xi4", 0, 0, "dsp48e1"),
            (128, 64, 4, 32, "i2xi2", 3, 2, "dsp48e1"), (256, 64, 2, 64, "i4xi4", 15, 4, "mult18x18d"),
            (64, 64, 4, 16, "i4xi4", 0, 0, "mult18x18d"), (128, 64, 4, 32, "i2xi2", 3, 2, "mult18x18d")]:
        point = grid_point(f"mvau_dsp_{kind}_{ops}_{mw}x{mh}_p{pe}s{simd}_t{nt}", mw, mh, pe, simd, ops, nt, ob,
                           REGISTER_COMPARES=int(nt > 1))
        point["parameters"].update(dsp_pipeline(point["parameters"], kind))
        points.append(point)
    return points


SPEC = ModuleSpec(
    name="mvau",
    kind="stage",
    rules=RULES,
    ir_ops=(hw.MVAU,),
    build=build,
    in_ports=lambda p: ["s_axis"],
    out_ports=lambda p: ["m_axis"],
    verilog_ports=lambda p: [("s_axis", "in", p["SIMD"] * p["INPUT_BITS"], 1),
                             ("m_axis", "out", p["PE"] * p["OUT_BITS"], 1)],
    pattern=Mvau,
    terms=terms,
    coefficients=COEFFICIENTS,
    calibration_grid=calibration_grid,
    hints=hints,
    foldings=foldings,
    variants=variants,
    beat_elems=lambda op: (op.simd, op.pe),
    macs=macs,
    work=work,
)
