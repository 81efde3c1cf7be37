"""The hardware IR: one module instance of a design (``StageRTL``) and the AXI-Streams it
takes and gives.

Every stream carries ``elems`` elements of ``bits`` bits per beat (element 0 in the least
significant bits, BIPOLAR as one bit: 1 means +1); ``dtype`` says how to read an element.
Estimate, FIFO sizing, latency, folding, report and the Verilog backend all read these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bnncc.datatype import DataType
from bnncc.sim.beats import element_bits


@dataclass
class Stream:
    """One AXI-Stream: elements per beat, bits per element and how to read them."""

    elems: int
    dtype: DataType

    @property
    def bits(self) -> int:
        return element_bits(self.dtype)

    @property
    def width(self) -> int:
        return self.elems * self.bits


@dataclass
class Memory:
    """A ``$readmemh`` file: words of ``width`` bits."""

    filename: str
    words: list[int]
    width: int


@dataclass(frozen=True)
class Port:
    """One AXI-Stream port of a module instance: the Verilog prefix of its signals
    (``s_axis``, ``a_axis``, ``m_axis`` ...) and, for a vector port that bundles several
    streams (``stream_fork``'s outputs, ``stream_concat``'s inputs), the lane this stream
    takes: bits ``[lane*W +: W]`` of ``<prefix>_tdata`` and bit ``lane`` of valid and ready.
    ``lanes`` is the number of streams in the bundle (0 for a plain port)."""

    prefix: str
    lane: int = 0
    lanes: int = 0


@dataclass
class StagePort:
    """A port of a stage with the stream it carries and its beats per frame."""

    port: Port
    stream: Stream
    beats: int


@dataclass
class StageRTL:
    """One module instance of the design. ``input``/``output`` and ``in_beats``/``out_beats``
    describe its first input and output port; ``inputs``/``outputs`` list every port in the
    order of the IR op's inputs and outputs (by default the single ``s_axis`` and ``m_axis``).
    """

    node: str
    instance: str
    module: str
    parameters: dict
    input: Stream
    output: Stream
    in_beats: int
    out_beats: int
    cycles: int
    memories: list[Memory] = field(default_factory=list)
    #: Input beats the stage takes in one go (an MVAU's vector, a window stage's image row);
    #: the folding search uses it to price the FIFO in front of the stage.
    input_unit: int = 1
    #: What the resource estimate needs beyond the parameters (see ``estimate_link``).
    hints: dict = field(default_factory=dict)
    inputs: list[StagePort] = field(default_factory=list)
    outputs: list[StagePort] = field(default_factory=list)
    #: Whether a FIFO is placed in front of its inputs (a fork queues on its outputs instead).
    fifo_in_front: bool = True

    def __post_init__(self):
        if not self.inputs:
            self.inputs = [StagePort(Port("s_axis"), self.input, self.in_beats)]
        if not self.outputs:
            self.outputs = [StagePort(Port("m_axis"), self.output, self.out_beats)]


def converter_widths(source: Stream, target: Stream) -> list[int]:
    """Element counts of the width-converter chain between two streams (empty if equal):
    via their greatest common divisor when neither divides the other."""
    if source.elems == target.elems:
        return []
    if source.elems % target.elems == 0 or target.elems % source.elems == 0:
        return [target.elems]
    return [math.gcd(source.elems, target.elems), target.elems]
