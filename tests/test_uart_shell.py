"""The UART board shell: its byte protocol, the shell around a compiled design at pin level
against the executor, resynchronization by a break, and the host helper against fake
serial ports whose other end is the executor or the pin-level simulation."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from bnncc.backends.verilog.design import rtl_lib_dir
from bnncc.boards.host import HostProgram, host_program, open_port, run_on_board, subgraph
from bnncc.boards.protocol import (
    BoardError, LinkFormat, clocks_per_bit, decode_beats, encode_frames, frames_in_flight, rx_fifo_depth,
    shell_parameters,
)
from bnncc.boards.uart_sim import (
    PinScript, frames_script, run_shell, shell_simulator, simulate_uart, simulate_uart_bytes,
)
from bnncc.compile import Target, compile_model
from bnncc.errors import UsageError
from bnncc.executor import Executor
from bnncc.frontend import load_graph
from bnncc.passes.apply_folding import load_folding
from bnncc.sim.verilator import verilator_command
from bnncc.verify.inputs import random_inputs
from bnncc.verify.run import model_stages
from tiny_models import tiny_mlp

TFC = Path(__file__).resolve().parents[1] / "examples" / "models" / "tfc_w1a1.onnx"


# -- protocol ----------------------------------------------------------------------------
def test_beats_travel_least_significant_byte_first():
    assert encode_frames([0x1234, 0xABCD], 16) == b"\x34\x12\xcd\xab"
    assert encode_frames(np.array([[0xABC]]), 12) == b"\xbc\x0a"
    assert encode_frames([1, 0, 1], 1) == b"\x01\x00\x01"
    assert list(decode_beats(b"\xff\xff\x01\x00", 12, 2)) == [0xFFF, 0x001]
    with pytest.raises(BoardError, match="expected 4 bytes"):
        decode_beats(b"\x00\x00\x00", 12, 2)


@pytest.mark.parametrize("width", [1, 7, 8, 9, 28, 64, 70, 130])
def test_encode_decode_round_trip(width):
    rng = np.random.default_rng(width)
    beats = [int.from_bytes(rng.bytes(17), "little") & ((1 << width) - 1) for _ in range(50)]
    data = encode_frames(beats, width)
    assert len(data) == 50 * ((width + 7) // 8)
    assert list(decode_beats(data, width, 50)) == beats


def test_clock_divider():
    assert clocks_per_bit(100e6) == 868
    assert clocks_per_bit(25e6, 115200) == 217
    assert clocks_per_bit(12e6, 9600) == 1250
    with pytest.raises(UsageError, match="too fast"):
        clocks_per_bit(300e3, 115200)
    with pytest.raises(UsageError, match="off"):
        clocks_per_bit(1e6, 115200)  # 9 cycles per bit is 3.5 % slow


# -- builds -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tfc_build(tmp_path_factory):
    build = tmp_path_factory.mktemp("tfc") / "build"
    compile_model(TFC, output=build, target=Target(fps=10000))
    return TFC, build


@pytest.fixture(scope="module")
def mlp_build(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mlp")
    path = directory / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=16, hidden=12, classes=5, bits=2), path)
    build = directory / "build"
    compile_model(path, output=build, folding={"MatMul_4": {"PE": 4, "SIMD": 8}, "MatMul_8": {"PE": 5, "SIMD": 3}})
    return path, build


def final_graph(model: Path, build: Path):
    """The graph the build was compiled from."""
    return model_stages(load_graph(model), load_folding(build / "folding.json"))[-1][1]


def executor_run(model: Path, build: Path, frames: int, seed: int):
    """Model inputs, and the executor's hardware input, hardware output and model outputs."""
    program = host_program(model, build)
    graph = final_graph(model, build)
    inputs = random_inputs(graph, frames, seed, 0.0, 1.0)
    values = Executor(graph).run(inputs, keep=[program.input_tensor, program.output_tensor])
    return inputs, values[program.input_tensor], values[program.output_tensor], {t: values[t] for t in graph.outputs}


def test_link_format_of_tfc(tfc_build):
    _, build = tfc_build
    link = LinkFormat.from_build(build)
    design = json.loads((build / "design.json").read_text())
    # 784 bipolar inputs in beats of E bits (ceil(E / 8) bytes each); 10 INT8 outputs.
    elems = design["input"]["elems"]
    assert (link.input.width, link.input.beats_per_frame) == (elems, 784 // elems)
    assert link.input.bytes_per_frame == 784 // elems * -(-elems // 8)
    out = design["output"]["elems"]
    assert (link.output.width, link.output.beats_per_frame, link.output.bytes_per_frame) == (8 * out, 10 // out, 10)
    assert rx_fifo_depth(link) == 2048 and frames_in_flight(link) == 2048 // link.input.bytes_per_frame
    assert shell_parameters(build, 25e6) == {"IN_WIDTH": elems, "OUT_WIDTH": 8 * out, "CLKS_PER_BIT": 217,
                                             "RX_FIFO_DEPTH": 2048}


@pytest.mark.parametrize("which", ["tfc", "mlp"])
def test_shell_lints_clean(request, which):
    _, build = request.getfixturevalue(f"{which}_build")
    files = (build / "filelist.f").read_text().split()
    files += [str(rtl_lib_dir() / f"{m}.v") for m in ("uart_rx", "uart_tx", "uart_stream_shell") if f"rtl/{m}.v" not in files]
    parameters = shell_parameters(build, 100e6)
    process = subprocess.run(
        [verilator_command(), "--lint-only", "-Wall", "--top-module", "uart_stream_shell",
         *[f"-G{k}={v}" for k, v in parameters.items()], *files],
        cwd=build, capture_output=True, text=True,
    )
    warnings = [line for line in (process.stdout + process.stderr).splitlines() if line.startswith("%")]
    assert process.returncode == 0 and not warnings, "\n".join(warnings)


# -- pin level ----------------------------------------------------------------------------
@pytest.mark.parametrize("which, frames, gaps", [("tfc", 6, 0), ("tfc", 3, 3), ("mlp", 20, 2)])
def test_shell_matches_executor_at_pin_level(request, which, frames, gaps):
    model, build = request.getfixturevalue(f"{which}_build")
    _, hw_input, expected, _ = executor_run(model, build, frames, seed=frames)
    outputs = simulate_uart(build, hw_input, expected.shape[1:], gaps=gaps, seed=frames)
    assert np.array_equal(outputs, expected)


def test_throughput_is_set_by_the_line(tfc_build):
    """Frames sent back to back come back exactly one input frame's line time apart: the
    shell and the core add no stall of their own."""
    model, build = tfc_build
    link = LinkFormat.from_build(build)
    _, hw_input, _, _ = executor_run(model, build, 5, seed=2)
    data = link.input.encode(hw_input)
    size = link.input.bytes_per_frame
    simulator = shell_simulator(build)
    script = frames_script(link, [data[i:i + size] for i in range(0, len(data), size)], frames_in_flight(link))
    run = simulator.run(script, cwd=build)
    ends = run.cycles[link.output.bytes_per_frame - 1::link.output.bytes_per_frame]
    assert len(run.data) == 5 * link.output.bytes_per_frame
    assert set(np.diff(ends).tolist()) == {size * 10 * simulator.clks_per_bit}


def test_one_frame_in_flight_with_a_frame_sized_fifo(mlp_build):
    """A FIFO of exactly one frame: the host waits for each result before the next frame."""
    model, build = mlp_build
    link = LinkFormat.from_build(build)
    _, hw_input, expected, _ = executor_run(model, build, 6, seed=4)
    depth = link.input.bytes_per_frame
    assert frames_in_flight(link, depth) == 1
    returned = simulate_uart_bytes(build, link.input.encode(hw_input), depth=depth)
    assert np.array_equal(link.output.decode(returned, 6).reshape(expected.shape), expected)


@pytest.mark.parametrize("which", ["tfc", "mlp"])
def test_break_resynchronizes_to_a_frame_boundary(request, which):
    """Half a frame, then a break: the core forgets the half frame and the next frames are
    computed from their first byte."""
    model, build = request.getfixturevalue(f"{which}_build")
    link = LinkFormat.from_build(build)
    _, hw_input, expected, _ = executor_run(model, build, 4, seed=9)
    data = link.input.encode(hw_input)
    size = link.input.bytes_per_frame
    script = PinScript()
    script.send(data[size // 2:size])
    script.line_break(30 * 8)
    script.idle(16)
    frames = [data[i:i + size] for i in range(0, len(data), size)]
    script.commands += frames_script(link, frames, frames_in_flight(link)).commands
    returned = run_shell(build, script, 4 * link.output.bytes_per_frame)
    assert np.array_equal(link.output.decode(returned, 4).reshape(expected.shape), expected)


# -- host helper ---------------------------------------------------------------------------
class FakeBoard:
    """A serial port whose other end computes output bytes from all whole input frames
    written since the last break, with ``answer(bytes) -> bytes``. It starts with a stray
    half frame on the line, which only a break clears."""

    def __init__(self, link: LinkFormat, answer):
        self.link, self.answer = link, answer
        self.written = bytearray(b"\x55" * (link.input.bytes_per_frame // 2))
        self.delivered = 0
        self.breaks = 0
        self.reads = 0

    def _outputs(self) -> bytes:
        size = self.link.input.bytes_per_frame
        return self.answer(bytes(self.written[: len(self.written) // size * size]))

    def write(self, data):
        self.written += data
        return len(data)

    def read(self, size):
        self.reads += 1
        outputs = self._outputs()
        chunk = outputs[self.delivered:self.delivered + size]
        self.delivered += len(chunk)
        return chunk

    def send_break(self, duration):
        self.breaks += 1
        self.written.clear()
        self.delivered = 0

    def reset_input_buffer(self):
        self.delivered = len(self._outputs())

    def close(self):
        pass


def executor_answer(program: HostProgram, graph):
    """The hardware part in the executor, bytes in and bytes out."""
    partition = graph.metadata["partition"]
    hardware = subgraph(graph, partition["hardware"], [program.input_tensor], [program.output_tensor])

    def answer(data: bytes) -> bytes:
        frames = len(data) // program.link.input.bytes_per_frame
        if not frames:
            return b""
        shape = hardware.tensors[program.input_tensor].shape[1:]
        values = program.link.input.decode(data, frames).reshape((frames,) + tuple(shape))
        result = Executor(hardware).run({program.input_tensor: values})[program.output_tensor]
        return program.link.output.encode(result)

    return answer


@pytest.mark.parametrize("which", ["tfc", "mlp"])
@pytest.mark.parametrize("window", [None, 2])
def test_host_against_executor_board(request, which, window):
    model, build = request.getfixturevalue(f"{which}_build")
    inputs, _, _, expected = executor_run(model, build, 7, seed=5)
    board = FakeBoard(LinkFormat.from_build(build), executor_answer(host_program(model, build), final_graph(model, build)))
    outputs = run_on_board(build, inputs, board, model=model, window=window)
    assert board.breaks == 1
    assert set(outputs) == set(expected)
    for name in expected:
        assert np.array_equal(outputs[name], expected[name]), name


def test_host_against_pin_level_board(mlp_build):
    model, build = mlp_build
    inputs, _, _, expected = executor_run(model, build, 5, seed=6)
    board = FakeBoard(LinkFormat.from_build(build), lambda data: simulate_uart_bytes(build, data) if data else b"")
    outputs = run_on_board(build, inputs, board, model=model, window=2)
    for name in expected:
        assert np.array_equal(outputs[name], expected[name]), name


def test_host_times_out_on_a_silent_board(mlp_build):
    model, build = mlp_build
    inputs, _, _, _ = executor_run(model, build, 2, seed=7)
    board = FakeBoard(LinkFormat.from_build(build), lambda data: b"")
    with pytest.raises(BoardError, match=r"sent 0 of \d+ bytes and then nothing for 0.05 s"):
        run_on_board(build, inputs, board, model=model, timeout=0.05)


def test_open_port_errors(monkeypatch):
    with pytest.raises(BoardError, match="cannot open the serial port"):
        open_port("/dev/bnncc-no-such-port")
    monkeypatch.setitem(sys.modules, "serial", None)
    with pytest.raises(BoardError, match=r"needs pyserial: pip install 'bnncc\[board\]'"):
        open_port("/dev/ttyUSB0")


def test_run_command_against_pin_level_board(mlp_build, monkeypatch, tmp_path):
    """``bnncc run`` with the port replaced by the shell + core simulated at pin level: the
    results equal the executor's, and a wrong answer is reported with exit 1."""
    from click.testing import CliRunner

    import bnncc.boards.host as host
    from bnncc.cli import main

    model, build = mlp_build
    link = LinkFormat.from_build(build)
    monkeypatch.setattr(host, "open_port", lambda port, baud, timeout: FakeBoard(
        link, lambda data: simulate_uart_bytes(build, data) if data else b""))
    result = CliRunner().invoke(main, ["run", str(model), str(build), "--port", "/dev/fake", "-n", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["frames"] == 4 and report["mismatches"] == 0
    monkeypatch.setattr(host, "open_port", lambda port, baud, timeout: FakeBoard(
        link, lambda data: bytes(len(data) // link.input.bytes_per_frame * link.output.bytes_per_frame)))
    result = CliRunner().invoke(main, ["run", str(model), str(build), "--port", "/dev/fake", "-n", "4"])
    assert result.exit_code == 1 and "differ from the executor" in result.stdout
