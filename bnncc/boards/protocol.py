"""The byte protocol between a host and a bnncc design running behind the UART shell
(``rtl_lib/uart_stream_shell.v``), which wraps the generated ``bnncc_top``.

Link
    Asynchronous serial, 8 data bits, no parity, 1 stop bit (8N1), least significant bit
    first, no flow control (neither RTS/CTS nor XON/XOFF). The rate is :data:`DEFAULT_BAUD`
    = 115200 baud unless the bitstream was built for another one: the shell sends and
    samples one bit every ``CLKS_PER_BIT = round(f_clk / baud)`` cycles
    (:func:`shell_parameters`). At 115200 baud the line carries 11 520 bytes per second in
    each direction.

Host to board
    The host runs the host steps before the hardware (``host_steps.json``) and sends, frame
    after frame, the hardware input tensor: one frame flattened in row-major (NHWC) order and
    cut into input beats of ``E_in`` elements (``design.json`` ``"input"``: ``elems``,
    ``dtype``, ``width`` ``W_in``), element 0 in the least significant bits
    (:mod:`bnncc.sim.beats`: BIPOLAR as 1 bit, 1 = +1; signed types in two's complement).
    Each beat travels as ``B_in = ceil(W_in / 8)`` bytes, least significant byte first; the
    ``8 * B_in - W_in`` top bits of its last byte are ignored (send zeros). One frame is
    ``beats_in * B_in`` bytes. There is no header, length or checksum: frames follow each
    other back to back and are delimited by byte counts alone.

Board to host
    The same for the hardware output tensor (``design.json`` ``"output"``): every output
    beat as ``B_out = ceil(W_out / 8)`` bytes, least significant byte first, the bits above
    ``W_out`` zero; ``beats_out * B_out`` bytes per frame, frames in the order they were
    sent. The host finishes them with the host steps after the hardware.

Pacing
    The core has back-pressure, the line has not. Received bytes wait in a FIFO of
    ``RX_FIFO_DEPTH`` bytes (:func:`rx_fifo_depth`, at least one input frame); a byte that
    arrives while it is full is lost. Since a design takes a frame's last input beat before
    it sends that frame's last output beat, the FIFO never overflows if the host keeps at
    most ``W = RX_FIFO_DEPTH // (beats_in * B_in)`` frames in flight
    (:func:`frames_in_flight`), a frame being in flight from its first byte sent until its
    last output byte has arrived. The output side loses nothing: the core waits for the
    transmitter, and the host's serial driver buffers what it has not read yet.

Resynchronizing
    A lost, corrupted or extra byte shifts every later frame. To return to a frame boundary
    the host sends a break, i.e. holds its transmit line low for at least ten bit times
    (:data:`BREAK_SECONDS`); the shell detects it as a character with all bits and the stop
    bit low and resets the core, the FIFO and the byte packers, not the UART. The host then
    waits a few character times, discards every byte received so far (a character that was
    on the line is completed, but the frame it belonged to is lost) and starts again with a
    whole frame. The board's reset button (``rst_n``) and reconfiguration reset everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bnncc.datatype import DataType
from bnncc.errors import BnnccError, UsageError
from bnncc.sim.beats import pack_beats, unpack_beats

#: Default line rate, baud (bits per second).
DEFAULT_BAUD = 115200
#: Smallest receive FIFO of the shell, bytes (one 18 Kb block RAM holds 2048 bytes).
MIN_RX_FIFO_DEPTH = 2048
#: Line bits per character: start bit, 8 data bits, stop bit.
BITS_PER_CHARACTER = 10
#: How long the host holds a break, seconds: ten bit times even at 1200 baud.
BREAK_SECONDS = 0.01
#: Largest relative error between the requested baud and f_clk / CLKS_PER_BIT.
MAX_BAUD_ERROR = 0.02


class BoardError(BnnccError):
    """The board cannot be reached, or what it sends does not fit the protocol."""


def bytes_per_beat(width: int) -> int:
    """Bytes that carry one beat of ``width`` bits: ``ceil(width / 8)``."""
    return (int(width) + 7) // 8


def encode_frames(beats, width: int) -> bytes:
    """The bytes of ``beats`` (integers of ``width`` bits, any array shape, sent in row-major
    order): each beat as :func:`bytes_per_beat` bytes, least significant byte first."""
    size = bytes_per_beat(width)
    mask = (1 << width) - 1
    return b"".join((int(beat) & mask).to_bytes(size, "little") for beat in np.asarray(beats, dtype=object).reshape(-1))


def decode_beats(data: bytes, width: int, count: int) -> np.ndarray:
    """The first ``count`` beats of ``width`` bits in ``data`` (inverse of
    :func:`encode_frames`), as a 1-D array of Python integers (``dtype=object``, since
    beats may be wider than 64 bits); bits above ``width`` are dropped."""
    size = bytes_per_beat(width)
    if len(data) < count * size:
        raise BoardError(f"expected {count * size} bytes ({count} beats of {width} bits), got {len(data)}")
    mask = (1 << width) - 1
    beats = np.empty(count, dtype=object)
    for index in range(count):
        beats[index] = int.from_bytes(data[index * size:(index + 1) * size], "little") & mask
    return beats


@dataclass(frozen=True)
class StreamFormat:
    """One direction of the link: beats of ``elems`` elements of ``dtype`` (``width`` bits),
    ``beats_per_frame`` beats per frame."""

    elems: int
    dtype: DataType
    width: int
    beats_per_frame: int

    @property
    def bytes_per_frame(self) -> int:
        return self.beats_per_frame * bytes_per_beat(self.width)

    @property
    def elems_per_frame(self) -> int:
        return self.beats_per_frame * self.elems

    def encode(self, frames: np.ndarray) -> bytes:
        """The bytes of ``frames`` (frames first; each frame's elements in row-major order)."""
        values = np.asarray(frames).reshape(len(frames), -1)
        if values.shape[1] != self.elems_per_frame:
            raise UsageError(f"a frame has {values.shape[1]} elements, the design takes {self.elems_per_frame}")
        return encode_frames(pack_beats(values.reshape(-1, self.elems), self.dtype), self.width)

    def decode(self, data: bytes, frames: int) -> np.ndarray:
        """``frames`` frames from ``data``, shaped (frames, elements per frame)."""
        beats = decode_beats(data, self.width, frames * self.beats_per_frame)
        return unpack_beats(list(beats), self.elems, self.dtype).reshape(frames, self.elems_per_frame)


@dataclass(frozen=True)
class LinkFormat:
    """Both directions of the link for one build."""

    input: StreamFormat
    output: StreamFormat

    @classmethod
    def from_build(cls, build_dir: Path) -> "LinkFormat":
        """The formats of the design in ``build_dir`` (from its ``design.json``)."""
        path = Path(build_dir) / "design.json"
        if not path.is_file():
            raise UsageError(f"{build_dir}: not a bnncc build directory (no design.json); run 'bnncc compile' first")
        design = json.loads(path.read_text())
        first, last = design["stages"][0], design["stages"][-1]
        in_elems = first["in_beats"] * first["input"]["elems"]
        out_elems = last["out_beats"] * last["output"]["elems"]
        return cls(_stream(design["input"], in_elems), _stream(design["output"], out_elems))


def _stream(entry: dict, frame_elems: int) -> StreamFormat:
    return StreamFormat(entry["elems"], DataType.parse(entry["dtype"]), entry["width"], frame_elems // entry["elems"])


def rx_fifo_depth(link: LinkFormat) -> int:
    """The shell's receive FIFO for ``link``: the smallest power of two that holds one input
    frame, and at least :data:`MIN_RX_FIFO_DEPTH` bytes."""
    depth = MIN_RX_FIFO_DEPTH
    while depth < link.input.bytes_per_frame:
        depth *= 2
    return depth


def frames_in_flight(link: LinkFormat, depth: int | None = None) -> int:
    """Frames the host may have sent without having received all their output bytes, for a
    receive FIFO of ``depth`` bytes (default :func:`rx_fifo_depth`)."""
    depth = rx_fifo_depth(link) if depth is None else depth
    return max(1, depth // link.input.bytes_per_frame)


def clocks_per_bit(clock_hz: float, baud: int = DEFAULT_BAUD) -> int:
    """``round(clock_hz / baud)``, checked to be at least 4 and within
    :data:`MAX_BAUD_ERROR` of ``baud``."""
    if baud <= 0 or clock_hz <= 0:
        raise UsageError(f"baud rate and clock must be positive, got {baud} baud at {clock_hz:g} Hz")
    clocks = round(clock_hz / baud)
    if clocks < 4:
        raise UsageError(f"{baud} baud is too fast for a {clock_hz / 1e6:g} MHz clock (at least 4 cycles per bit)")
    error = abs(clock_hz / clocks - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise UsageError(f"{baud} baud cannot be made from a {clock_hz / 1e6:g} MHz clock ({error:.1%} off)")
    return clocks


def shell_parameters(build_dir: Path, clock_hz: float, baud: int = DEFAULT_BAUD,
                     family: str | None = None) -> dict[str, int]:
    """Parameters of ``uart_stream_shell`` for the design in ``build_dir`` at ``clock_hz``;
    on device ``family``, ``RX_FIFO_READ_REG`` 1 (set only then) where that clock's pipeline
    budget registers memory reads and the receive FIFO is block RAM there, as for the
    core's FIFOs (:func:`bnncc.hw.modules.stream_fifo.read_reg`)."""
    from bnncc.hw.modules.stream_fifo import read_reg
    from bnncc.hw.timing import pipeline_budget

    link = LinkFormat.from_build(build_dir)
    parameters = {
        "IN_WIDTH": link.input.width,
        "OUT_WIDTH": link.output.width,
        "CLKS_PER_BIT": clocks_per_bit(clock_hz, baud),
        "RX_FIFO_DEPTH": rx_fifo_depth(link),
    }
    if family is not None and pipeline_budget(family, clock_hz / 1e6).register_reads \
            and read_reg(8, parameters["RX_FIFO_DEPTH"], family):
        parameters["RX_FIFO_READ_REG"] = 1
    return parameters
