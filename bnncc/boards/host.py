"""The host side of a design running behind the UART shell: compute the hardware input
with the host steps before the hardware, exchange frames with the board following
:mod:`bnncc.boards.protocol`, and finish the board's outputs with the host steps after it.

The host steps are those of the final graph the build was compiled from (``host_steps.json``
describes them): the model is compiled again with the build's ``folding.json`` and checked
to produce exactly the build's files, as ``bnncc verify`` does, and the executor runs the
``host_pre`` operations (graph inputs to the stream into the design) and the ``host_post``
operations (the stream out of the design to the graph outputs).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from bnncc.boards.protocol import BITS_PER_CHARACTER, BREAK_SECONDS, DEFAULT_BAUD, BoardError, LinkFormat, frames_in_flight
from bnncc.compile import FOLDING_FILE
from bnncc.executor import Executor
from bnncc.frontend import load_graph
from bnncc.ir.graph import Graph
from bnncc.passes.apply_folding import load_folding
from bnncc.verify.rtl import load_design
from bnncc.verify.run import model_stages

#: Seconds without a byte from the board, while one is due, after which the host gives up.
DEFAULT_TIMEOUT = 2.0


class Transport(Protocol):
    """A byte link to the board; ``serial.Serial`` is one."""

    def write(self, data: bytes) -> object: ...

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer (or none) if no more arrived within the link's timeout."""

    def send_break(self, duration: float) -> None: ...

    def reset_input_buffer(self) -> None: ...


@dataclass
class HostProgram:
    """The host steps around the hardware of one build."""

    pre: Graph
    post: Graph
    input_tensor: str
    output_tensor: str
    link: LinkFormat

    def hardware_input(self, model_inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The stream into the design (frames first) for the model's inputs."""
        return Executor(self.pre).run(model_inputs, keep=[self.input_tensor])[self.input_tensor]

    def finish(self, hw_output: np.ndarray, model_inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's outputs from ``hw_output``, the stream out of the design (frames
        first, each frame flat or shaped like the tensor)."""
        shape = self.post.tensors[self.output_tensor].shape[1:]
        values = {self.output_tensor: np.asarray(hw_output).reshape((len(hw_output),) + tuple(shape))}
        others = [name for name in self.post.inputs if name != self.output_tensor]
        if others:
            values.update(Executor(self.pre).run(model_inputs, keep=others))
        result = Executor(self.post).run({name: values[name] for name in self.post.inputs})
        return {name: result[name] for name in self.post.outputs}


def host_program(model: Path, build_dir: Path) -> HostProgram:
    """The host steps of the build in ``build_dir``, compiled from the ONNX ``model``."""
    build_dir = Path(build_dir)
    folding_file = build_dir / FOLDING_FILE
    folding = load_folding(folding_file) if folding_file.exists() else None
    graph = model_stages(load_graph(model), folding)[-1][1]
    design = load_design(graph, build_dir)
    partition = graph.metadata["partition"]
    post_ops = [graph.op(name) for name in partition["host_post"]]
    produced = {tensor for op in post_ops for tensor in op.outputs}
    wanted = [t for op in post_ops for t in op.inputs if t] + list(graph.outputs)
    post_inputs = [design.output_tensor] + sorted(
        {t for t in wanted if t not in produced and graph.tensors[t].value is None} - {design.output_tensor}
    )
    pre = subgraph(graph, partition["host_pre"], list(graph.inputs), [design.input_tensor] + post_inputs[1:])
    post = subgraph(graph, partition["host_post"], post_inputs, list(graph.outputs))
    return HostProgram(pre, post, design.input_tensor, design.output_tensor, LinkFormat.from_build(build_dir))


def subgraph(graph: Graph, names: list[str], inputs: list[str], outputs: list[str]) -> Graph:
    """The operations ``names`` of ``graph`` as a graph from ``inputs`` to ``outputs``."""
    part = graph.copy()
    keep = set(names)
    for op in graph.ops():
        if op.name not in keep:
            part.remove_op(op.name)
    part.inputs, part.outputs = inputs, outputs
    part.prune()
    return part


def open_port(port: str, baud: int = DEFAULT_BAUD, timeout: float = DEFAULT_TIMEOUT) -> Transport:
    """The serial port ``port`` (e.g. ``/dev/ttyUSB1``, ``COM3``) at ``baud``, 8N1."""
    try:
        import serial
    except ImportError:
        raise BoardError("talking to a board needs pyserial: pip install 'bnncc[board]'") from None
    try:
        # Reads return at least every 0.1 s; the silence timeout is counted by the caller.
        return serial.Serial(port, baud, bytesize=8, parity="N", stopbits=1, timeout=min(timeout, 0.1))
    except (serial.SerialException, ValueError) as exc:
        raise BoardError(f"{port}: cannot open the serial port ({exc})") from None


def resynchronize(transport: Transport, baud: int = DEFAULT_BAUD) -> None:
    """Put the board at a frame boundary: send a break, wait two characters, drop what
    arrived (protocol: Resynchronizing)."""
    transport.send_break(BREAK_SECONDS)
    time.sleep(2 * BITS_PER_CHARACTER / baud)
    transport.reset_input_buffer()


def exchange(transport: Transport, link: LinkFormat, data: bytes, window: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Send ``data`` (whole input frames) with at most ``window`` frames in flight and return
    the board's output bytes for all of them."""
    size, out_size = link.input.bytes_per_frame, link.output.bytes_per_frame
    frames = len(data) // size
    received = bytearray()
    for index in range(frames):
        if index >= window:
            _read_until(transport, received, (index - window + 1) * out_size, timeout)
        transport.write(data[index * size:(index + 1) * size])
    _read_until(transport, received, frames * out_size, timeout)
    return bytes(received)


def _read_until(transport: Transport, received: bytearray, total: int, timeout: float) -> None:
    """Read into ``received`` until it holds ``total`` bytes; fail after ``timeout`` seconds
    without a byte."""
    last = time.monotonic()
    while len(received) < total:
        chunk = transport.read(total - len(received))
        if chunk:
            received += chunk
            last = time.monotonic()
        elif time.monotonic() - last > timeout:
            raise BoardError(
                f"the board sent {len(received)} of {total} bytes and then nothing for {timeout:g} s "
                "(check the port, the baud rate and the bitstream)"
            )


def run_on_board(
    build_dir: Path,
    model_inputs: dict[str, np.ndarray],
    port: str | os.PathLike | Transport,
    baud: int = DEFAULT_BAUD,
    *,
    model: Path,
    timeout: float = DEFAULT_TIMEOUT,
    window: int | None = None,
) -> dict[str, np.ndarray]:
    """The outputs of ``model`` (the ONNX file ``build_dir`` was compiled from) for
    ``model_inputs`` (frames first), with the hardware part computed by the board on
    ``port`` (a serial port name, or an open :class:`Transport`) at ``baud``. The board is
    resynchronized first; at most ``window`` frames are in flight (default: the protocol's
    :func:`~bnncc.boards.protocol.frames_in_flight`)."""
    program = host_program(model, build_dir)
    hw_input = program.hardware_input(model_inputs)
    data = program.link.input.encode(hw_input)
    window = frames_in_flight(program.link) if window is None else window
    opened = isinstance(port, (str, os.PathLike))
    transport = open_port(os.fspath(port), baud, timeout) if opened else port
    try:
        resynchronize(transport, baud)
        returned = exchange(transport, program.link, data, window, timeout)
    finally:
        if opened:
            transport.close()
    return program.finish(program.link.output.decode(returned, len(hw_input)), model_inputs)
