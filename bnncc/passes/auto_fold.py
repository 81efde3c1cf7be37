"""Automatic folding: choose PE and SIMD for every hardware stage so that the pipeline
reaches a target number of cycles per frame T with the least estimated resources.

A stage's cycles per frame fall as its parallelism grows:

* MVAU: ``V * (MH / PE) * (MW / SIMD)`` for V vectors per frame (PE divides MH, SIMD MW);
* sliding window: ``max(H*W, OH*OW*KH*KW) * C / SIMD`` beats per frame; its SIMD is tied to
  its consumer's (an MVAU's): ``gcd(SIMD_mvau, C)`` (so the two are chosen together);
* max pool, thresholding: elements per frame / PE; label select ``max(classes / PE, k)``.

Each stage's legal foldings and cycles come from its registry entry (``foldings``,
``build``); a stage whose entry has coupling ``"consumer"`` is paired with the stage that
consumes its output in the IR graph (through reshapes, which are wires) and takes the
folding its ``couple`` gives for the consumer's input beat.

The pipeline's interval is the slowest stage's cycles, so stages are independent given T:
every stage (or coupled pair) takes, among its legal foldings with cycles <= T, the one
of least cost. The cost is the LUT count (block RAM and DSP break ties); when that plan does
not fit the device, the balanced cost weighs each resource by the device's supply of it::

    balanced cost = LUT + BRAM * (LUT_dev / BRAM_dev) + DSP * (LUT_dev / DSP_dev)

and a folding's resources are the estimate (:mod:`bnncc.estimate`) of the stage's module
plus its input FIFO (priced at one input unit deep). No stage is faster than T unless that is also cheaper, so stages are
balanced against the target. If some stage cannot meet T even fully parallel, the plan says
so and gives each stage its fastest folding. :func:`fastest_fitting` finds the smallest T
whose plan fits a device (binary search: a plan's cost only grows as T shrinks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bnncc.estimate import estimate_link
from bnncc.hw.describe import describe_stage, neighbours
from bnncc.hw.registry import for_op
from bnncc.hw.resources import Resources
from bnncc.hw.stage import StageRTL
from bnncc.hw.stage_common import divisors
from bnncc.ir.graph import Graph
from bnncc.ir.ops import hw
from bnncc.targets import Device

__all__ = ["FoldingPlan", "FoldingSpace", "Option", "divisors", "fastest_fitting", "fits", "plan_folding",
           "stage_resources", "table_key", "weighted_cost"]


@dataclass
class Option:
    """One legal folding of a stage group: table entries, cycles per frame, resources."""

    table: dict[str, dict[str, int]]
    cycles: int
    resources: Resources
    cost: float = 0.0  # balanced cost
    variant: bool = False  # a registry variant (the MVAU's DSP arithmetic), tried when LUTs run out

    def key(self, balanced: bool) -> tuple:
        r = self.resources
        return (self.cost,) if balanced else (r.lut, r.bram + r.dsp)


@dataclass
class FoldingPlan:
    """The chosen folding, the cycles each stage then needs, its estimated resources, and
    whether the target holds."""

    table: dict[str, dict[str, int]]
    cycles: dict[str, int]
    target: int
    resources: Resources = field(default_factory=Resources)

    @property
    def bottleneck(self) -> int:
        return max(self.cycles.values())

    @property
    def met(self) -> bool:
        return self.bottleneck <= self.target


def fits(resources: Resources, device: Device) -> bool:
    """Whether ``resources`` are within every one of ``device``'s totals."""
    return (resources.lut <= device.lut and resources.ff <= device.ff and resources.bram <= device.bram
            and resources.dsp <= device.dsp)


def weighted_cost(resources: Resources, device: Device) -> float:
    """LUT-equivalent cost: block RAM and DSP weighed by how scarce they are on the device."""
    return (resources.lut + resources.bram * device.lut / max(device.bram, 1)
            + resources.dsp * device.lut / max(device.dsp, 1))


def stage_resources(stage: StageRTL, family: str) -> Resources:
    """Estimated resources of a stage with the FIFO in front of it, priced at one input unit
    deep (the derived depths of :mod:`bnncc.backends.verilog.fifo_sizing` need the whole
    chain; they are mostly between 2 and one unit)."""
    depth = max(2, stage.input_unit)
    fifo = estimate_link("stream_fifo", {"WIDTH": stage.input.width, "DEPTH": depth}, family)
    return estimate_link(stage.module, stage.parameters, family, stage.hints) + fifo


class FoldingSpace:
    """The legal foldings of every stage group of a hardware graph, evaluated once each."""

    def __init__(self, graph: Graph, device: Device):
        self.graph = graph
        self.device = device
        ops = [op for op in graph.ops() if isinstance(op, hw.HWOp) and not isinstance(op, hw.StreamReshape)]
        # a stage coupled to its consumer is chosen with it (when it has exactly one)
        leader = {}
        for op in ops:
            consumers = neighbours(graph, op, "consumer")
            if for_op(op).coupling == "consumer" and len(consumers) == 1 and consumers[0].name not in leader:
                leader[consumers[0].name] = op
        followers = {op.name for op in leader.values()}
        self.groups: list[list] = [[leader[op.name], op] if op.name in leader else [op]
                                   for op in ops if op.name not in followers]
        self.options = [self._options(group) for group in self.groups]

    def _stage(self, op, **folding) -> StageRTL:
        return describe_stage(self.graph, op.clone(**folding), memories=False)

    def _option(self, parts: list[tuple[object, dict]], variant: bool = False) -> Option:
        resources, cycles, table = Resources(), 0, {}
        for op, folding in parts:
            stage = self._stage(op, **folding)
            resources = resources + stage_resources(stage, self.device.family)
            cycles = max(cycles, stage.cycles)
            table[op.name] = {"PE": folding.get("pe", 1), "SIMD": folding.get("simd", 1),
                              **({"DSP": folding["dsp"]} if folding.get("dsp") else {})}
        return Option(table, cycles, resources, weighted_cost(resources, self.device), variant)

    def _options(self, group: list) -> list[Option]:
        op = group[-1]
        entry = for_op(op)
        variants = entry.variants(self.graph, op, self.device) if entry.variants else []
        options = []
        for folding in entry.foldings(self.graph, op):
            for variant in [{}, *variants]:
                parts = [(op, {**folding, **variant})]
                if len(group) == 2:
                    leader = group[0]
                    elems = entry.beat_elems(op.clone(**folding))[0]
                    parts.insert(0, (leader, for_op(leader).couple(leader, elems)))
                options.append(self._option(parts, bool(variant)))
        return options

    def _choose(self, target: int, balanced: bool) -> list[Option]:
        """Every group's cheapest plain folding within ``target`` cycles (its fastest one if
        none is): fewest LUTs, or with ``balanced`` the least balanced cost."""
        chosen = []
        for options in self.options:
            plain = [o for o in options if not o.variant]
            meeting = [o for o in plain if o.cycles <= target]
            chosen.append(min(meeting, key=lambda o: (*o.key(balanced), o.cycles)) if meeting
                          else min(plain, key=lambda o: (o.cycles, *o.key(balanced))))
        return chosen

    def _plan(self, target: int, chosen: list[Option]) -> FoldingPlan:
        table, cycles, resources = {}, {}, Resources()
        for group, best in zip(self.groups, chosen):
            table.update(best.table)
            cycles[group[-1].name] = best.cycles
            resources = resources + best.resources
        return FoldingPlan(table, cycles, target, resources)

    def plan(self, target: int, balanced: bool = False) -> FoldingPlan:
        """Every group at its cheapest folding within ``target`` cycles (its fastest one if
        none is): fewest LUTs, or with ``balanced`` the least balanced cost."""
        return self._plan(target, self._choose(target, balanced))

    def with_variants(self, target: int, balanced: bool = False) -> FoldingPlan:
        """The plan of :meth:`plan` while it needs more LUTs than the device has, with groups
        moved to a variant of the same or a faster folding (the MVAU's products on DSPs) one
        at a time, most LUTs saved per DSP added first, as long as the DSPs last."""
        chosen = self._choose(target, balanced)
        total = sum((o.resources for o in chosen), Resources())
        moves = []
        for index, (options, current) in enumerate(zip(self.options, chosen)):
            meeting = [o for o in options if o.variant and o.cycles <= max(target, current.cycles)]
            if not meeting:
                continue
            best = min(meeting, key=lambda o: (o.resources.lut, o.resources.dsp))
            saved = current.resources.lut - best.resources.lut
            added = best.resources.dsp - current.resources.dsp
            if saved > 0:
                moves.append((saved / max(added, 1e-9), index, best))
        for _, index, best in sorted(moves, key=lambda m: (-m[0], m[1])):
            if total.lut <= self.device.lut:
                break
            changed = total - chosen[index].resources + best.resources
            if changed.dsp <= self.device.dsp:
                chosen[index], total = best, changed
        return self._plan(target, chosen)

    def uniform(self, target: int) -> FoldingPlan:
        """The baseline: every group at its smallest legal parallelism (PE * SIMD) within
        ``target`` cycles, ignoring cost."""
        table, cycles, resources = {}, {}, Resources()
        for group, options in zip(self.groups, self.options):
            meeting = [o for o in options if o.cycles <= target] or [min(options, key=lambda o: o.cycles)]
            best = min(meeting, key=lambda o: (_parallelism(o), o.cycles))
            table.update(best.table)
            cycles[group[-1].name] = best.cycles
            resources = resources + best.resources
        return FoldingPlan(table, cycles, target, resources)

    def fitting_plan(self, target: int) -> FoldingPlan:
        """The fewest-LUT plan if it fits the device; else that plan with DSP arithmetic where
        LUTs run out (:meth:`with_variants`) if that fits; else the balanced one (with DSPs
        where that fits and the balanced plan alone does not)."""
        plan = self.plan(target)
        if fits(plan.resources, self.device):
            return plan
        moved = self.with_variants(target)
        if fits(moved.resources, self.device):
            return moved
        balanced = self.plan(target, balanced=True)
        if fits(balanced.resources, self.device):
            return balanced
        moved = self.with_variants(target, balanced=True)
        return moved if fits(moved.resources, self.device) else balanced

    @property
    def slowest(self) -> int:
        """Cycles per frame with every stage at PE = SIMD = 1."""
        return max(min(options, key=_parallelism).cycles for options in self.options)

    @property
    def fastest(self) -> int:
        """The smallest bottleneck any folding reaches."""
        return max(min(o.cycles for o in options) for options in self.options)


def table_key(table: dict[str, dict[str, int]]) -> tuple:
    """A folding table as a hashable key (the same folding, the same key)."""
    return tuple(sorted((name, tuple(sorted(entry.items()))) for name, entry in table.items()))


def _parallelism(option: Option) -> int:
    return max(entry["PE"] * entry["SIMD"] for entry in option.table.values())


def plan_folding(graph: Graph, target: int, device: Device) -> FoldingPlan:
    """Choose the folding of every stage of ``graph`` for ``target`` cycles per frame."""
    return FoldingSpace(graph, device).plan(target)


def fastest_fitting(space: FoldingSpace, check=None) -> FoldingPlan | None:
    """The plan with the smallest bottleneck that fits the device by its estimate and by
    ``check(plan)`` if given (e.g. the whole design's estimate); None if not even the
    slowest folding fits. Binary search: a plan's cost only grows as the target shrinks.
    Targets that give the same folding table are checked once (``check`` may size a whole
    design)."""
    checked: dict[tuple, bool] = {}

    def fitting(target: int) -> bool:
        plan = space.fitting_plan(target)
        if not fits(plan.resources, space.device):
            return False
        if check is None:
            return True
        key = table_key(plan.table)
        if key not in checked:
            checked[key] = bool(check(plan))
        return checked[key]

    def stages_fit(target: int) -> bool:
        return fits(space.fitting_plan(target).resources, space.device)

    if not stages_fit(space.slowest):
        return None
    # The stages alone first (cheap): the fastest target whose stages fit bounds the search.
    low = _first_passing(space.fastest, space.slowest, stages_fit)
    if check is None:
        return space.fitting_plan(low)
    # Then the whole check from there; the slowest folding (the most beats per frame, the
    # costliest to check) is checked only when no faster one fits.
    best = _first_passing(low, space.slowest, fitting)
    return space.fitting_plan(best) if fitting(best) else None


def _first_passing(low: int, high: int, passes) -> int:
    """The smallest target in [low, high] that ``passes`` (monotone: every larger one passes
    too), or ``high`` without testing it when none below does. Binary search."""
    while low < high:
        middle = (low + high) // 2
        if passes(middle):
            high = middle
        else:
            low = middle + 1
    return high
