"""FIFO depths derived from the stages' patterns: the patterns themselves, the depths on small
chains, and co-simulation of tiny models built with them (exact under random stalls, at the
analytical initiation interval, and one beat less than the modelled need loses throughput)."""

import time
import tracemalloc

import numpy as np
import onnx
import pytest

from bnncc.backends.cosim import run_design
from bnncc.backends.verilog.design import describe_design, link_stages, write_design
from bnncc.backends.verilog import graph_fifo_sizing
from bnncc.backends.verilog.fifo_sizing import MARGIN, derive_fifo_depths
from bnncc.backends.verilog.graph_fifo_sizing import derive_graph_depths
from bnncc.hw.modules.mvau import Mvau
from bnncc.hw.modules.sliding_window import SlidingWindow
from bnncc.hw.modules.streaming_maxpool import MaxPool
from bnncc.hw.modules.width_converter import Gather, Split
from bnncc.hw.patterns import FRAMES, NEVER_AFTER, Packed, backward, forward
from bnncc.hw.port_timing import Interleave
from bnncc.hw.resources import Resources
from bnncc.hw.stage import Port, StagePort, StageRTL, Stream
from bnncc.hw.graph import chain_graph, stage_graph, with_links
from bnncc.passes.auto_fold import FoldingPlan, fastest_fitting
from bnncc.targets import DEFAULT_DEVICE, get_device
from bnncc.compile import build_stages, compile_model
from bnncc.datatype import BIPOLAR, DataType
from bnncc.executor import Executor
from bnncc.frontend import import_model
from bnncc.verify.run import verify_model
from tiny_models import tiny_cnn, tiny_mlp


def mvau(name, mw, mh, pe, simd, vectors=1):
    return StageRTL(name, name, "mvau", {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd}, Stream(simd, BIPOLAR),
                    Stream(pe, BIPOLAR), vectors * mw // simd, vectors * mh // pe, vectors * (mh // pe) * (mw // simd))


def thresholding(name, ch, pe, pixels=1):
    beats = pixels * ch // pe
    return StageRTL(name, name, "thresholding", {"CH": ch, "PE": pe}, Stream(pe, DataType.int(8)), Stream(pe, BIPOLAR),
                    beats, beats, beats)


def maxpool(name, ch, h, w, pe, k=2, stride=2, pad_end=0, ceil_mode=0):
    parameters = {"CH": ch, "H": h, "W": w, "K_H": k, "K_W": k, "STRIDE_H": stride, "STRIDE_W": stride, "PAD_T": 0,
                  "PAD_L": 0, "PAD_B": pad_end, "PAD_R": pad_end, "CEIL_MODE": ceil_mode, "PE": pe}
    pattern = MaxPool(StageRTL(name, name, "streaming_maxpool", parameters, Stream(pe, BIPOLAR), Stream(pe, BIPOLAR),
                               h * w * ch // pe, 0, 0))
    return StageRTL(name, name, "streaming_maxpool", parameters, Stream(pe, BIPOLAR), Stream(pe, BIPOLAR),
                    pattern.in_beats, pattern.out_beats, pattern.in_beats)


def window(name, ch, h, w, k, simd, stride=1, pad=0):
    parameters = {"IFM_CH": ch, "IFM_H": h, "IFM_W": w, "K_H": k, "K_W": k, "STRIDE_H": stride, "STRIDE_W": stride,
                  "PAD_T": pad, "PAD_L": pad, "PAD_B": pad, "PAD_R": pad, "DIL_H": 1, "DIL_W": 1, "SIMD": simd}
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    in_beats, out_beats = h * w * ch // simd, oh * ow * k * k * ch // simd
    return StageRTL(name, name, "sliding_window", parameters, Stream(simd, BIPOLAR), Stream(simd, BIPOLAR),
                    in_beats, out_beats, max(in_beats, out_beats))


def zeros(beats):
    return np.zeros(FRAMES * beats, dtype=np.int64)


# ---- the closed forms ----------------------------------------------------------------------

def test_chains_are_their_recurrences():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 100, 50)
    gaps = rng.integers(1, 5, 50)
    up, down = forward(x, gaps), backward(x, gaps)
    for i in range(50):
        assert up[i] == (x[0] if i == 0 else max(x[i], up[i - 1] + gaps[i]))
        j = 49 - i
        assert down[j] == (x[j] if j == 49 else min(x[j], down[j + 1] - gaps[j + 1]))


def test_mvau_pattern_reads_a_vector_while_row_group_zero_issues():
    """MW=8, MH=6, PE=2, SIMD=2: SF=4, NF=3; one issue per cycle, results 4 cycles after the
    last issue of their row group."""
    pattern = Mvau(mvau("m", 8, 6, 2, 2, vectors=3))
    schedule = pattern.asap(zeros(pattern.in_beats))
    v, s = np.divmod(np.arange(len(schedule.pops)), 4)
    assert np.array_equal(schedule.pops, v * 12 + s)
    v, n = np.divmod(np.arange(len(schedule.pushes)), 3)
    assert np.array_equal(schedule.pushes, v * 12 + n * 4 + 3 + 4)
    assert pattern.period() == 3 * 12
    latest = pattern.alap(schedule.pushes)             # nothing to spare at full rate
    assert np.array_equal(latest.pops, schedule.pops) and np.array_equal(latest.pushes, schedule.pushes)


def test_sliding_window_pattern_keeps_its_dependencies():
    stage = window("w", 2, 5, 4, 3, 1, pad=1)
    pattern = SlidingWindow(stage)
    early = pattern.asap(zeros(pattern.in_beats))
    late = pattern.alap(early.pushes + 50)
    for schedule in (early, late):
        frame, beat = np.divmod(np.arange(len(schedule.pushes)), pattern.out_beats)
        source = pattern.trigger[beat]
        read = source >= 0
        assert np.all(schedule.pushes[read] >= schedule.pops[source[read] + frame[read] * pattern.in_beats] + 3)
        assert np.all(np.diff(schedule.pushes) >= 1) and np.all(np.diff(schedule.pops) >= 1)
        released = pattern.release >= 0
        first = np.flatnonzero(released) * pattern.row_beats
        freed = schedule.pushes[(pattern.release[released] + 1) * pattern.row_out - 1] - 2
        assert np.all(schedule.pops[first] > freed)
    assert np.all(late.pops >= early.pops) and np.all(late.pushes == early.pushes + 50)


def test_sliding_window_waits_for_the_next_frame_rows():
    """Without padding the first window needs 3 rows of the next frame, which can only be
    written once the last window of this frame is out: the reader follows the writer, losing
    less than the 3 rows (24 beats) but some cycles per frame."""
    stage = window("w", 2, 5, 4, 3, 1)
    assert stage.out_beats < SlidingWindow(stage).period() < stage.out_beats + 3 * 4 * 2


@pytest.mark.parametrize("make", [lambda: Gather(3, 4), lambda: Split(3, 4)], ids=["gather", "split"])
def test_converter_patterns(make):
    pattern = make()
    early = pattern.asap(zeros(pattern.in_beats))
    assert pattern.period() == max(pattern.in_beats, pattern.out_beats)
    late = pattern.alap(early.pushes)
    assert np.all(late.pops >= early.pops) and np.array_equal(late.pushes, early.pushes)


def test_maxpool_with_windows_past_the_edge_reads_them_out_afterwards():
    plain, padded = MaxPool(maxpool("p", 2, 4, 4, 1)), MaxPool(maxpool("p", 2, 4, 4, 1, k=3, stride=1, pad_end=2))
    assert plain.period() == plain.in_beats
    assert padded.period() > padded.in_beats


# ---- depths on small chains ------------------------------------------------------------------

def test_fast_producer_into_slow_consumer_needs_no_more_than_two():
    """A thresholding stage (one beat per cycle) before an MVAU that takes its vectors in
    bursts: the producer keeps up with every burst."""
    assert derive_fifo_depths([thresholding("t", 16, 1, pixels=4), mvau("m", 16, 16, 4, 1, vectors=4)]) == {"t": 2, "m": 2}


def test_smooth_producer_into_burst_consumer_at_the_same_rate_needs_the_burst():
    """Both 256 cycles per frame: one beat every 16 cycles in, 16 beats in 16 cycles out, so the
    FIFO collects the vector while the consumer computes (less what the producer's output
    FIFO keeps)."""
    depths = derive_fifo_depths([mvau("a", 16, 16, 1, 1), mvau("b", 16, 16, 1, 1)])
    assert depths["a"] == 2
    assert 12 + MARGIN <= depths["b"] <= 16 + MARGIN


def test_burst_producer_into_smooth_consumer_needs_its_burst():
    """A 2x2 max-pool emits a pooled row of W/2 beats during every second input row (one
    per 2 cycles); the MVAU after it takes one beat per 4 cycles: same rate per frame, so the
    FIFO holds what the burst brings faster than it drains (W/4 beats, less the pool's 3)."""
    for width in (32, 64):
        depths = derive_fifo_depths([maxpool("p", 4, 8, width, 4), mvau("m", 4, 4, 1, 4, vectors=2 * width)])
        assert width // 4 - 3 + MARGIN <= depths["m"] <= width // 4 + MARGIN


def test_slower_stage_after_the_bottleneck_takes_beats_as_they_come():
    assert derive_fifo_depths([mvau("a", 16, 16, 1, 1), mvau("b", 16, 4, 1, 1)]) == {"a": 2, "b": 2}


def test_window_stage_buffers_rows_not_windows():
    """A window stage between a slow MVAU and the bottleneck MVAU: the rows of the next frame
    wait in front of it (two 30-pixel rows), the windows after it come as needed."""
    stages = [mvau("c1", 27, 64, 64, 3, 900), window("w2", 64, 30, 30, 3, 64), mvau("c2", 576, 64, 16, 192, 784)]
    depths = derive_fifo_depths(stages)
    assert 30 <= depths["w2"] <= 2 * 30 + MARGIN


def test_derivation_is_fast_on_a_cnv_sized_chain():
    stages = [window("w1", 3, 32, 32, 3, 3), mvau("c1", 27, 64, 64, 3, 900), window("w2", 64, 30, 30, 3, 64),
              mvau("c2", 576, 64, 16, 192, 784), maxpool("p", 64, 28, 28, 64), window("w3", 64, 14, 14, 3, 16),
              mvau("c3", 576, 128, 8, 144, 144)]
    start = time.perf_counter()
    derive_fifo_depths(stages)
    assert time.perf_counter() - start < 1.0


def _fifo_depths(stages, depths=None, **options):
    graph = link_stages(chain_graph(stages), depths, **options)
    return {i.name: i.parameters["DEPTH"] for i in graph.instances.values() if i.module == "stream_fifo"}


def test_chain_takes_derived_depths_unless_given():
    stages = [mvau("a", 16, 16, 1, 1), mvau("b", 16, 16, 1, 1)]
    assert _fifo_depths(stages) == {"a_fifo": 2, "b_fifo": derive_fifo_depths(stages)["b"], "output_fifo": 2}
    assert _fifo_depths(stages, {"b_fifo": 7})["b_fifo"] == 7
    assert _fifo_depths(stages, default_depth=20) == {"a_fifo": 20, "b_fifo": 20, "output_fifo": 20}


# ---- co-simulation ---------------------------------------------------------------------------

MODELS = {
    "mlp": lambda: tiny_mlp(in_features=16, hidden=12, classes=5, bits=2),
    "mlp-burst": lambda: tiny_mlp(in_features=16, hidden=16, classes=16, bits=2),
    "cnn": lambda: tiny_cnn(),
    "cnn-binary": lambda: tiny_cnn(act_bits=1, weight_bits=1, conv2_pad=-1.0),
}
CASES = [
    ("mlp", {}),
    ("mlp", {"MatMul_4": {"PE": 1, "SIMD": 4}, "MatMul_8": {"PE": 1, "SIMD": 1}}),
    ("mlp", {"MatMul_4": {"PE": 2, "SIMD": 16}, "MatMul_8": {"PE": 1, "SIMD": 1}}),
    ("mlp-burst", {}),
    ("cnn", {}),
    ("cnn-binary", {"conv1__im2col": {"SIMD": 3}, "conv1": {"PE": 2, "SIMD": 9}, "pool1": {"PE": 2},
                    "conv2": {"PE": 2, "SIMD": 4}, "fc1_matmul": {"PE": 1, "SIMD": 6}}),
]


@pytest.mark.parametrize("name,folding", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_derived_depths_reach_the_analytical_interval(tmp_path, name, folding):
    path = tmp_path / "model.onnx"
    onnx.save(MODELS[name](), path)
    build = tmp_path / "build"
    result = compile_model(path, output=build, folding=folding)
    verify = verify_model(path, samples=12, seed=4, value_range=(0.0, 1.0), build_dir=build, stall=40)
    assert verify.ok, verify.table()
    assert verify.rtl.exact == 12
    bottleneck = result.design.bottleneck_cycles
    assert abs(verify.rtl.measured_ii_cycles - bottleneck) <= 0.02 * bottleneck, verify.table()


def test_one_beat_less_than_the_modelled_need_loses_throughput(tmp_path):
    """Two MVAUs at 256 cycles per frame, the second taking its 16-beat vector in a burst:
    the FIFO between them must collect it. With the derived depth less MARGIN (exactly what
    the schedule holds) the design still runs at 256 cycles per frame; one beat less and it
    does not."""
    graph = build_stages(import_model(MODELS["mlp-burst"]()), None, "--folding", lambda message: None)[-1].graph
    derived = derive_fifo_depths(describe_design(graph).stages)
    held = derived["MatMul_8"] - MARGIN
    assert held > 2
    x = np.random.default_rng(1).uniform(0, 1, (10, 16)).astype(np.float32)
    measured = {}
    for depth in (held, held - 1):
        depths = {f"{stage}_fifo": value for stage, value in derived.items()}
        design = write_design(graph, tmp_path / str(depth), fifo_depths={**depths, "MatMul_8_fifo": depth})
        values = Executor(graph).run({graph.inputs[0]: x}, keep=[design.input_tensor, design.output_tensor])
        run = run_design(design, values[design.input_tensor], values[design.output_tensor].shape[1:])
        assert np.array_equal(run.outputs, values[design.output_tensor])
        measured[depth] = run.initiation_interval
    assert design.bottleneck_cycles == 256
    assert measured[held] == 256
    assert measured[held - 1] > 1.02 * 256


# ---- sizing in bounded memory and time -------------------------------------------------------

def test_packed_arrays_unpack_to_the_same_times():
    rng = np.random.default_rng(2)
    for n in (0, 1, 2, 1000):
        times = np.cumsum(rng.integers(-3, 600, n)).astype(np.int64)   # differences of any sign and size
        times[::9] = NEVER_AFTER
        assert np.array_equal(Packed(times).unpack(), times)
        steps = rng.integers(1, 3, n)                  # beats a cycle or two apart, a frame gap now and then
        steps[::100] = 10_000
        times = np.cumsum(steps)
        packed = Packed(times)
        assert np.array_equal(packed.unpack(), times)
        assert n < 100 or packed.nbytes < times.nbytes / 4


def test_concat_interleaves_its_inputs_pixel_by_pixel():
    """Interleave([2, 3]) over 4 pixels: per pixel 2 beats of input 0, then 3 of input 1; a
    beat is taken when it is there and one cycle after the one before."""
    timing = Interleave([2, 3], 4, 1)
    rng = np.random.default_rng(3)
    arrivals = [np.sort(rng.integers(0, 200, FRAMES * 4 * c)) for c in (2, 3)]
    pops, pushes = timing.asap(arrivals)
    order = [(k, j) for pixel in range(4 * FRAMES) for k, c in enumerate((2, 3)) for j in range(pixel * c, pixel * c + c)]
    wanted = np.array([arrivals[k][j] for k, j in order])
    taken = forward(wanted, 1)
    assert np.array_equal(pushes[0], taken + 1)
    for k in (0, 1):
        assert np.array_equal(pops[k], taken[[i for i, (source, _) in enumerate(order) if source == k]])


def _fork_chain(beats: int, length: int):
    """input -> fork -> ``length`` thresholding stages -> add <- the fork's other output."""
    stream = Stream(1, DataType.int(4))

    def port(prefix, lane=0, lanes=0):
        return StagePort(Port(prefix, lane, lanes), stream, beats)

    fork = StageRTL("fork", "fork", "stream_fork", {"WIDTH": 4, "OUTPUTS": 2}, stream, stream, beats, beats, beats,
                    inputs=[port("s_axis")], outputs=[port("m_axis", 0, 2), port("m_axis", 1, 2)],
                    fifo_in_front=False)
    stages, reads, writes = [fork], {"fork": ["x"]}, {"fork": ["x0", "x1"]}
    previous = "x0"
    for i in range(length):
        stages.append(StageRTL(f"t{i}", f"t{i}", "thresholding", {"CH": 1, "PE": 1}, stream, stream,
                               beats, beats, beats))
        reads[f"t{i}"], writes[f"t{i}"] = [previous], [f"y{i}"]
        previous = f"y{i}"
    stages.append(StageRTL("add", "add", "stream_add", {}, stream, stream, beats, beats, beats,
                           inputs=[port("a_axis"), port("b_axis")], outputs=[port("m_axis")]))
    reads["add"], writes["add"] = [previous, "x1"], ["z"]
    return with_links(stage_graph(stages, reads, writes, "x", "z"))


def test_graph_sizing_keeps_few_arrays_of_a_long_chain_with_a_fork():
    """Sizing a fork whose long branch has 24 stages, 100 000 beats per frame: the peak of the
    arrays allocated is a few of one instance's beats over the frames (not one per instance,
    as a schedule that keeps every instance's arrays needs), and the skip FIFO is as deep as
    with 1 000 beats per frame (what it holds is the long branch's latency, not the frame)."""
    beats, length = 100_000, 24
    graph = _fork_chain(beats, length)
    one_array = FRAMES * beats * 8
    tracemalloc.start()
    try:
        depths = derive_graph_depths(graph)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * one_array, f"peak {peak / one_array:.1f} arrays of one instance"
    assert depths == derive_graph_depths(_fork_chain(1000, length))
    assert depths["add_in1_fifo"] > 2 * length


def test_chain_sizing_keeps_few_arrays_of_a_long_chain():
    """The chain sizing of 24 stages with a width converter between each two, 100 000 beats per
    frame: a bounded number of arrays of one instance's beats over the frames at a time, and
    the same depths as with 1 000 beats per frame."""
    def chain(beats):
        stages = []
        for i in range(24):
            simd = 2 if i % 2 else 1     # a converter between each two stages
            stages.append(StageRTL(f"t{i}", f"t{i}", "thresholding", {"CH": 2, "PE": simd},
                                   Stream(simd, DataType.int(4)), Stream(simd, DataType.int(4)),
                                   beats // simd, beats // simd, beats // simd))
        return stages

    beats = 100_000
    tracemalloc.start()
    try:
        depths = derive_fifo_depths(chain(beats))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_array = FRAMES * beats * 8
    # two stages and their converter at a time, and the rounds of their kept pushes (without
    # freeing, every instance's schedule: about 150 arrays)
    assert peak < 20 * one_array, f"peak {peak / one_array:.1f} arrays of one instance"
    assert depths == derive_fifo_depths(chain(1000))
    assert len(depths) == 24


def test_sizing_the_same_design_again_is_remembered(monkeypatch):
    calls = []
    real = graph_fifo_sizing.derive_graph_depths
    monkeypatch.setattr(graph_fifo_sizing, "derive_graph_depths", lambda *a: calls.append(1) or real(*a))
    first = graph_fifo_sizing.derive_depths(_fork_chain(500, 3))
    assert graph_fifo_sizing.derive_depths(_fork_chain(500, 3)) == first
    assert len(calls) == 1
    graph_fifo_sizing.derive_depths(_fork_chain(500, 4))   # another design: sized
    assert len(calls) == 2


def test_folding_search_checks_each_folding_once():
    """The binary search asks for many targets; those with the same folding table are
    checked (a whole design sized and estimated) once."""
    class Space:
        device = get_device(DEFAULT_DEVICE)
        fastest, slowest = 1, 1000

        def fitting_plan(self, target):
            pe = 1 if target >= 600 else 2 if target >= 300 else 4
            return FoldingPlan({"a": {"PE": pe, "SIMD": 1}}, {"a": target}, target, Resources())

    checked = []
    best = fastest_fitting(Space(), lambda plan: checked.append(plan.table["a"]["PE"]) or plan.table["a"]["PE"] < 4)
    assert best.target == 300
    assert sorted(checked) == sorted(set(checked))
