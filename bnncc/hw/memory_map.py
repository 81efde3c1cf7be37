"""Where Yosys puts an inferred memory, and what that costs.

The rtl_lib modules describe their memories as plain arrays; Yosys's ``memory_libmap``
chooses for each one the cheapest of block RAM, LUT RAM and soft logic by a cost model.
:func:`map_memory` reproduces that choice for the four port shapes rtl_lib uses
(:class:`Memory`), with the cell libraries ``synth_xilinx -family xc7`` and ``synth_ecp5``
pass to it (Yosys 0.70: ``xilinx/lutrams_xc5v.txt``, ``xilinx/brams_xc4v.txt`` with
HAS_SIZE_36, HAS_CASCADE, HAS_CONFLICT_BUG, HAS_MIXWIDTH_SDP and ``-logic-cost-rom 1/64``;
``lattice/lutrams_trellis.txt``, ``lattice/brams_16kd.txt``).

For a RAM type of address width ``abits`` and data widths ``dbits`` (per port: any of them;
global: the one width), a memory of ``W`` bits x ``D`` words and each usable base width
``w = dbits[b]`` (the unit):

    mult_a = ceil(D / 2**(abits - b))              address blocks
    repl   = ceil(mult_a * pad(W) / w)             cells, pad(W) = W rounded up to the byte
                                                   (9 bits, or w without byte enables; 1 for a ROM)
    cost   = (c - s) * repl + s * mult_a * W / w   c = cell cost, s = width scale
           + (mult_a - 1) * W / 2                  read multiplexer
           + mult_a / 2 (if mult_a > 1 and written) write decoder
           + 2 * e                                 e = emulation score of the port shape

the smallest cost over the base widths is the type's cost (compared against the integer
part of the best so far, as Yosys does). Soft logic costs one per RAM bit and 1/64 (xc7) or
1/16 (ECP5) per ROM bit. The memory goes to the cheapest of logic, the cheapest LUT RAM
type and the cheapest block RAM type, in that order, each compared against the integer
part of the best before it; ``style="block"`` (rom_style/ram_style "block") leaves only
block RAM types. The emulation scores were read from ``debug memory_libmap`` on each port
shape: 1 (one read port not shared with a write port), 7 for ECP5 block RAM written and
read at once (read-first behaviour emulated), 3 less for a read port sharing the write
port's address.

``tests/test_estimate_model.py`` checks the choice and the cell counts against Yosys on a
grid of shapes (stored in ``benchmarks/results/memory_grid.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

#: Port shapes: a ROM read through a register ("rom"), a RAM written on one port and read
#: through a register on another ("ram"), the same with an asynchronous read
#: ("ram_async"), a ROM read asynchronously ("rom_async") and a RAM whose registered read
#: uses the write address ("ram_shared").
KINDS = ("rom", "ram", "ram_async", "rom_async", "ram_shared")


@dataclass(frozen=True)
class Memory:
    """An inferred memory: ``width`` bits x ``depth`` words of one of :data:`KINDS`."""

    width: int
    depth: int
    kind: str
    style: str = "auto"


@dataclass(frozen=True)
class RamType:
    """One cell type (one option of a memory_libmap library entry).

    ``units`` is what one cell counts: RAMB18 units or EBRs for block RAM, LUT sites for
    LUT RAM (per used data bit if ``per_bit``). ``emulation`` gives the emulation score per
    port shape; a shape missing from it cannot use the type."""

    name: str
    block: bool
    abits: int
    dbits: tuple[int, ...]
    cost: float
    widthscale: float
    byte: int
    units: float
    emulation: dict
    per_port: bool = True
    write_width: int | None = None
    per_bit: bool = False


_BLOCK_XILINX = {"rom": 1, "ram": 1, "ram_shared": 0}
_LUTRAM_XILINX = {"ram": 1, "ram_async": 1, "ram_shared": 0}

XILINX = (
    # LUT RAM (lutrams_xc5v.txt); single-port cells only serve a shared read/write address
    RamType("RAM32M(SP)", False, 5, (8,), 8, 8, 0, 4, {"ram_shared": 0}, per_port=False),
    RamType("RAM64X1S", False, 6, (4,), 8, 8, 0, 1, {"ram_shared": 0}, per_port=False, per_bit=True),
    RamType("RAM128X1S", False, 7, (2,), 8, 8, 0, 2, {"ram_shared": 0}, per_port=False, per_bit=True),
    RamType("RAM256X1S", False, 8, (1,), 8, 8, 0, 4, {"ram_shared": 0}, per_port=False, per_bit=True),
    RamType("RAM128X1D", False, 7, (1,), 8, 8, 0, 4, _LUTRAM_XILINX, per_port=False, per_bit=True),
    RamType("RAM64X1D", False, 6, (2,), 8, 8, 0, 2, _LUTRAM_XILINX, per_port=False, per_bit=True),
    RamType("RAM32M(DP)", False, 5, (4,), 8, 8, 0, 4, _LUTRAM_XILINX, per_port=False),
    RamType("RAM64M(QP)", False, 6, (1,), 7, 7, 0, 4, _LUTRAM_XILINX, per_port=False),
    RamType("RAM32M(QP)", False, 5, (2,), 7, 7, 0, 4, _LUTRAM_XILINX, per_port=False),
    RamType("RAM64M", False, 6, (3,), 8, 7, 0, 4, {"ram": 1, "ram_async": 1, "ram_shared": 1}, per_port=False),
    RamType("RAM32M", False, 5, (6,), 8, 7, 0, 4, {"ram": 1, "ram_async": 1, "ram_shared": 1}, per_port=False),
    # block RAM (brams_xc4v.txt): true dual port, then simple dual port
    RamType("RAMB36E1 cascade", True, 16, (1, 2, 4, 9), 513, 0, 9, 4, _BLOCK_XILINX),
    RamType("RAMB36E1", True, 15, (1, 2, 4, 9, 18, 36), 257, 0, 9, 2, _BLOCK_XILINX),
    RamType("RAMB18E1", True, 14, (1, 2, 4, 9, 18), 129, 0, 9, 1, _BLOCK_XILINX),
    RamType("RAMB36E1 SDP", True, 15, (1, 2, 4, 9, 18, 36, 72), 257, 0, 9, 2, {"rom": 1, "ram": 1, "ram_shared": 1}),
    RamType("RAMB18E1 SDP", True, 14, (1, 2, 4, 9, 18, 36), 129, 0, 9, 1, {"rom": 1, "ram": 1, "ram_shared": 1}),
)

ECP5 = (
    RamType("TRELLIS_DPR16X4", False, 4, (4,), 4, 0, 0, 4, {"ram": 1, "ram_async": 1, "ram_shared": 1}, per_port=False),
    RamType("DP16KD", True, 14, (1, 2, 4, 9, 18), 128, 0, 9, 1, {"rom": 1, "ram": 7, "ram_shared": 0}),
    RamType("PDPW16KD", True, 14, (1, 2, 4, 9, 18, 36), 128, 0, 9, 1, {"rom": 1, "ram": 7, "ram_shared": 1},
            write_width=36),
)

#: iCE40 (``ice40/brams.txt``): 4 Kbit block RAM only, no LUT RAM.
ICE40 = (
    RamType("SB_RAM40_4K", True, 11, (2, 4, 8, 16), 64, 0, 1, 1, {"rom": 1, "ram": 7, "ram_shared": 7}),
)

LIBRARIES = {"xilinx": XILINX, "ecp5": ECP5, "ice40": ICE40}
#: Soft-logic cost per bit of a ROM (RAM bits cost 1).
LOGIC_COST_ROM = {"xilinx": 1 / 64, "ecp5": 1 / 16, "ice40": 1 / 16}


@dataclass(frozen=True)
class Mapping:
    """What a memory became: ``"logic"``, ``"lutram"`` or ``"block"``; the cell type and
    geometry (cells ``repl``, address blocks ``mult_a``, cell width ``unit``) and the device
    units it takes (block RAM units, LUT sites used as memory)."""

    target: str
    cell: str = ""
    repl: int = 0
    mult_a: int = 1
    unit: int = 0
    bram: float = 0.0
    lutram: float = 0.0


def _geometry(ram: RamType, mem: Memory) -> tuple[float, int, int, int] | None:
    """(cost, repl, mult_a, unit width) of ``mem`` in cells of ``ram``: the cheapest base width."""
    written = mem.kind not in ("rom", "rom_async")
    byte_log2 = max((i for i, d in enumerate(ram.dbits) if ram.byte >= d), default=0) if ram.byte else len(ram.dbits) - 1
    widths = range(len(ram.dbits)) if ram.per_port else range(1)
    write_max = ram.dbits.index(ram.write_width) if (ram.write_width and written) else len(ram.dbits) - 1
    best = None
    best_int = 0
    emulation = 2 * ram.emulation[mem.kind]
    for base in widths:
        unit_log2 = min(base, write_max)
        if unit_log2 != base and best is not None:
            break
        if written and ram.write_width and base < write_max and base < byte_log2:
            continue  # the write port's fixed width cannot be emulated below a byte
        unit = ram.dbits[unit_log2]
        byte = 1 if not written else (ram.byte if 0 < ram.byte <= unit else unit)
        padded = -(-mem.width // byte) * byte
        mult_a = -(-mem.depth // (1 << (ram.abits - base)))
        repl = -(-(mult_a * padded) // unit)
        cost = (ram.cost - ram.widthscale) * repl + ram.widthscale * mult_a * mem.width / unit
        cost += 0.5 * (mult_a - 1) * mem.width + (0.5 * mult_a if written and mult_a != 1 else 0.0) + emulation
        if best is None or cost < best_int:
            best, best_int = (cost, repl, mult_a, unit), int(cost)
    return best


@lru_cache(maxsize=65536)
def map_memory(mem: Memory, family: str) -> Mapping:
    """Yosys's choice for ``mem`` on ``family`` ("xilinx" or "ecp5")."""
    if mem.kind not in KINDS:
        raise ValueError(f"unknown memory kind {mem.kind!r}")
    if mem.depth <= 1 or mem.width < 1:
        return Mapping("logic")
    rom = mem.kind in ("rom", "rom_async")
    logic_ok = mem.style != "block"
    best = {}
    for ram in LIBRARIES[family]:
        if mem.kind not in ram.emulation or (mem.style == "block" and not ram.block):
            continue
        geometry = _geometry(ram, mem)
        if geometry is None:
            continue
        if ram.block not in best or geometry[0] < best[ram.block][1][0]:
            best[ram.block] = (ram, geometry)
    choice = None
    bound = int(mem.width * mem.depth * (LOGIC_COST_ROM[family] if rom else 1.0)) if logic_ok else None
    for block in (False, True):
        if block not in best:
            continue
        ram, geometry = best[block]
        if bound is None or geometry[0] < bound:
            choice, bound = (ram, geometry), int(geometry[0])
    if choice is None:
        return Mapping("logic")
    ram, (cost, repl, mult_a, unit) = choice
    if ram.block:
        return Mapping("block", ram.name, repl, mult_a, unit, bram=repl * ram.units)
    cells = mem.width * mult_a if ram.per_bit else repl
    return Mapping("lutram", ram.name, repl, mult_a, unit, lutram=cells * ram.units)


def ram_units(mem: Memory, family: str) -> float:
    """Block RAM units ``mem`` takes (RAMB18 for Xilinx, EBR for ECP5)."""
    return map_memory(mem, family).bram


def mux_luts(inputs: int, family: str) -> float:
    """LUTs of an ``inputs``:1 multiplexer of one bit: a LUT6 selects among 4 (MUXF7/F8
    combine up to 16 for free); a LUT4 among 2 (PFUMX/L6MUX21 combine up to 8)."""
    if inputs <= 1:
        return 0.0
    per_lut, free = (4, 16) if family == "xilinx" else (2, 8)
    luts = -(-inputs // per_lut)
    return luts + max(0, -(-inputs // free) - 1)


def rom_luts(depth: int, family: str) -> float:
    """LUTs of one output bit of a ROM of ``depth`` random words: a LUT6 (LUT4) holds 64
    (16) of them, wider ROMs add a multiplexer of those."""
    if depth <= 1:
        return 0.0
    size = 64 if family == "xilinx" else 16
    luts = -(-depth // size)
    return luts + mux_luts(luts, family) - (1 if luts > 1 else 0) * 0


#: Parameter hint (not a Verilog parameter) of the ``mvau`` and ``thresholding`` terms: how
#: many bits of the threshold memory word hold the same value in every word.
THRESHOLD_CONSTANT_BITS = "THRESHOLD_CONSTANT_BITS"


def constant_bits(words: list[int], width: int) -> int:
    """Bits of a ``width``-bit memory word that are equal in every one of ``words``. Yosys
    (``opt_mem``) removes them from a ROM before mapping it, so the memory that is mapped
    is ``width - constant_bits`` wide: a threshold memory whose high bits only repeat the
    sign can drop below the size where block RAM pays off."""
    if not words:
        return 0
    mask = (1 << width) - 1
    ones, zeros = 0, 0
    for word in words:
        ones |= word & mask
        zeros |= ~word & mask
    return width - bin(ones & zeros).count("1")


def memory_cost(mem: Memory, family: str) -> dict:
    """Resources of ``mem`` beyond its read register, as terms: ``bram`` and ``lutram``
    (exact), ``ff`` (exact: storage bits of logic RAMs, block RAM address-block select),
    ``mux`` (LUTs of read multiplexers across address blocks or words), ``decode``
    (write enables of address blocks or words), ``rom`` (LUTs of a ROM in logic)."""
    m = map_memory(mem, family)
    out = {"bram": m.bram, "lutram": m.lutram, "ff": 0.0, "mux": 0.0, "decode": 0.0, "rom": 0.0}
    written = mem.kind not in ("rom", "rom_async")
    if m.target == "logic":
        if mem.depth <= 1:
            return out
        if written:
            out["ff"] = float(mem.width * mem.depth)
            out["mux"] = mem.width * mux_luts(mem.depth, family)
            out["decode"] = float(mem.depth)
        else:
            out["rom"] = mem.width * rom_luts(mem.depth, family)
        return out
    if m.mult_a > 1:
        out["mux"] = mem.width * mux_luts(m.mult_a, family)
        out["decode"] = float(m.mult_a) if written else 0.0
        if m.target == "block":
            out["ff"] = float((m.mult_a - 1).bit_length())
    return out
