"""bnncc synth, board bitstreams through Yosys and nextpnr, the fit check before a long tool
run, and the Vivado script."""

import json
import re
import subprocess
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner

from bnncc.cli import main
from tiny_models import tiny_mlp

MODELS = Path(__file__).resolve().parent.parent / "examples" / "models"


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlp") / "mlp.onnx"
    onnx.save(tiny_mlp(in_features=32, hidden=16, classes=4, bits=1), path)
    return path


def test_synth_reports_resources_next_to_the_estimate(tmp_path, mlp):
    build = tmp_path / "b"
    assert run("compile", mlp, "--fps", "1000000", "-o", build).exit_code == 0
    result = run("synth", build)
    assert result.exit_code == 0, result.stderr
    assert "LUT est" in result.stdout and "xc7z020" in result.stdout
    report = json.loads((build / "synth_report.json").read_text())
    assert report["device"]["name"] == "xc7z020" and report["command"].startswith("synth_xilinx")
    stages = report["stages"]
    assert [s["node"] for s in stages] == [s["node"] for s in json.loads((build / "report.json").read_text())["stages"]]
    for key in ("lut", "ff", "bram"):
        assert report["totals"]["synth"][key] == sum(s["synth"][key] for s in stages)
    assert report["totals"]["synth"]["lut"] > 0 and report["totals"]["fits"]
    assert (build / "synth_xc7z020" / "yosys.log").is_file()


def test_synth_of_a_directory_that_is_not_a_build(tmp_path):
    result = run("synth", tmp_path)
    assert result.exit_code == 2 and "not a bnncc build directory" in result.stderr


def test_tfc_to_an_ecp5_bitstream_at_125_mhz(tmp_path):
    """TFC-w1a1 on the ULX3S at 125 MHz: the PLL makes it from the 25 MHz oscillator, the
    compiler pipelines the MVAUs for ECP5 at that clock (block RAM reads into the blocks'
    output registers, which the netlist step fills), and nextpnr meets the constraint it
    derives; the report carries its Fmax next to the request. The plain command (the
    default placement seeds) places it once."""
    build = tmp_path / "b"
    result = run("compile", MODELS / "tfc_w1a1.onnx", "--fps", "10000", "--board", "ulx3s", "--clock-mhz", "125",
                 "--bitstream", "-o", build)
    assert result.exit_code == 0, result.stderr
    bit = build / "board" / "bitstream.bit"
    assert bit.is_file() and bit.stat().st_size > 10_000
    report = json.loads((build / "report.json").read_text())
    built = report["bitstream"]
    assert report["clock_mhz"] == 125 and report["device"]["name"] == "ecp5-85k"
    assert report["fps"] == pytest.approx(125e6 / report["bottleneck_cycles_per_frame"])
    assert built["clock_mhz"] == 125 and built["oscillator_mhz"] == 25
    assert built["pll"].startswith("EHXPLLL CLKI_DIV=1 CLKFB_DIV=5 CLKOP_DIV=5")
    [clock] = built["clocks"]
    assert clock["net"] == "core_clk" and clock["requested_mhz"] == 125
    assert clock["fmax_mhz"] == built["fmax_mhz"] > 125 and clock["met"] and built["timing_met"]
    # met by the first placement: no further seed tried
    assert built["seed"] == 1 and built["attempts"] == [{"seed": 1, "fmax_mhz": built["fmax_mhz"]}]
    assert not list((build / "board").glob("*.seed*"))
    assert f"clock core_clk: Fmax {clock['fmax_mhz']:.2f} MHz against 125 MHz requested (met)" in result.stderr
    assert "Derived frequency constraint of 125.0 MHz for net core_clk" in (build / "board" / "nextpnr.log").read_text()
    assert "core clock 125 MHz: EHXPLLL" in result.stderr and "nextpnr-ecp5 done in" in result.stderr
    absorbed = re.search(r"EBR output registers: (\d+) block RAM port\(s\) set to OUTREG", result.stderr)
    assert absorbed and int(absorbed.group(1)) >= 4
    folding = json.loads((build / "folding.json").read_text())
    assert all(entry.get("REGISTER_READS") for name, entry in folding.items() if "MatMul" in name)
    for log in ("yosys.log", "nextpnr.log"):
        assert (build / "board" / log).is_file()
    assert "Fmax" in (build / "report.md").read_text()


def test_nextpnr_report_gives_fmax_per_clock():
    from bnncc.synth.bitstream import clock_timings

    report = {"fmax": {"$glbnet$core_clk": {"achieved": 48.123, "constraint": 50.0},
                       "clk$TRELLIS_IO_IN": {"achieved": 250.0, "constraint": 25.0}, "spi_clk": {"achieved": 90.0}}}
    clocks = clock_timings(report, 12.0)
    assert [(c.net, c.fmax_mhz, c.requested_mhz, c.met) for c in clocks] == [
        ("clk", 250.0, 25.0, True), ("core_clk", 48.12, 50.0, False), ("spi_clk", 90.0, 12.0, True)]
    assert clocks[1].line() == "clock core_clk: Fmax 48.12 MHz against 50 MHz requested (NOT MET)"


def test_a_bitstream_that_misses_timing_fails_the_command(tmp_path, mlp, monkeypatch):
    """The bitstream and its report are kept for inspection, but the command says plainly
    that timing is not met and exits with 1 (after the default placement seeds)."""
    import bnncc.synth.bitstream as bitstream
    from bnncc.hw.resources import Resources
    asked = []

    def fake_build(build, board, log, clock_mhz=None, seeds=1):
        asked.append(seeds)
        bit = build / "board" / board.bitstream_file
        bit.parent.mkdir(parents=True, exist_ok=True)
        bit.write_bytes(b"\0")
        clocks = [bitstream.ClockTiming("core_clk", 40.5, 50.0)]
        return bitstream.BitstreamResult(bit, Resources(), 40.5, 50.0, {}, {}, clocks, "EHXPLLL", 25.0)

    monkeypatch.setattr(bitstream, "build_bitstream", fake_build)
    build = tmp_path / "b"
    result = run("compile", mlp, "--board", "ulx3s", "--clock-mhz", "50", "--bitstream", "-o", build)
    assert result.exit_code == 1 and asked == [bitstream.DEFAULT_SEEDS] and bitstream.DEFAULT_SEEDS > 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: timing not met on the ulx3s: core_clk reaches 40.50 MHz, 50 MHz requested; {build}/board/bitstream.bit "
        "was written but may not work on the board: lower --clock-mhz or --fps")
    report = json.loads((build / "report.json").read_text())
    assert report["bitstream"]["timing_met"] is False and report["bitstream"]["clocks"][0]["met"] is False
    assert "MISSED" in (build / "report.md").read_text()


def test_a_missed_clock_tries_further_seeds_and_keeps_the_best(tmp_path, mlp):
    """At a clock the small MLP cannot reach (400 MHz on the ULX3S) --seeds 3 places and
    routes three times (seeds 2 and 3 at once on a machine with two cores), keeps the
    fastest attempt under the usual names and still fails the command."""
    build = tmp_path / "b"
    result = run("compile", mlp, "--board", "ulx3s", "--clock-mhz", "400", "--bitstream", "--seeds", "3", "-o", build)
    assert result.exit_code == 1 and "timing not met on the ulx3s" in result.stderr
    built = json.loads((build / "report.json").read_text())["bitstream"]
    attempts = {a["seed"]: a["fmax_mhz"] for a in built["attempts"]}
    assert [a["seed"] for a in built["attempts"]] == [1, 2, 3] and all(0 < f < 400 for f in attempts.values())
    assert attempts[built["seed"]] == max(attempts.values()) == built["fmax_mhz"]
    assert built["seed"] == min(s for s, f in attempts.items() if f == built["fmax_mhz"])
    kept = json.loads((build / "board" / "pnr_report.json").read_text())
    assert round(min(c["achieved"] for c in kept["fmax"].values()), 2) == built["fmax_mhz"]
    for seed in (2, 3):
        report = json.loads((build / "board" / f"pnr_report.seed{seed}.json").read_text())
        assert round(min(c["achieved"] for c in report["fmax"].values()), 2) == attempts[seed]
        assert (build / "board" / f"nextpnr.seed{seed}.log").is_file() and f"seed {seed}: Fmax" in result.stderr


def test_seeds_placed_beside_the_first_that_meets_leave_nothing_behind(tmp_path, mlp, monkeypatch):
    """Seeds 2 and 3 run at once after seed 1 misses; seed 2 meets, so the build is what a
    sequential sweep makes: seed 2 kept, seed 3 neither in the attempts nor on disk. (nextpnr
    and ecppack are stood in for, with a fixed Fmax per seed; Yosys runs.)"""
    import bnncc.synth.bitstream as bitstream

    fmax = {None: 100.0, "2": 130.0, "3": 140.0}
    real_run_tool = bitstream.run_tool

    def fake_run_tool(command, cwd, log, what):
        if not what.startswith(("nextpnr", "ecppack")):
            return real_run_tool(command, cwd, log, what)
        Path(log).write_text("")
        if what == "ecppack":
            (Path(cwd) / command[-1]).write_bytes(b"\0")
            return None
        seed = command[command.index("--seed") + 1] if "--seed" in command else None
        report = {"fmax": {"$glbnet$core_clk": {"achieved": fmax[seed], "constraint": 125.0}}}
        (Path(cwd) / command[command.index("--report") + 1]).write_text(json.dumps(report))
        (Path(cwd) / command[command.index("--textcfg") + 1]).write_text(f"seed {seed}\n")
        (Path(cwd) / command[command.index("-l") + 1]).write_text(f"seed {seed}\n")
        return None

    monkeypatch.setattr(bitstream, "run_tool", fake_run_tool)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    build = tmp_path / "b"
    result = run("compile", mlp, "--board", "ulx3s", "--clock-mhz", "125", "--bitstream", "--seeds", "3", "-o", build)
    assert result.exit_code == 0, result.stderr
    built = json.loads((build / "report.json").read_text())["bitstream"]
    assert built["seed"] == 2 and built["attempts"] == [{"seed": 1, "fmax_mhz": 100.0}, {"seed": 2, "fmax_mhz": 130.0}]
    assert "seed 3: Fmax 140.00 MHz" in result.stderr               # it was placed ...
    assert not list((build / "board").glob("*seed3*"))              # ... and left no file
    assert (build / "board" / "placed.config").read_text() == "seed 2\n"
    assert (build / "board" / "nextpnr.seed1.log").read_text() == "seed None\n"


def test_seeds_need_a_bitstream(tmp_path, mlp):
    for seeds in ("2", "1"):
        result = run("compile", mlp, "--seeds", seeds, "-o", tmp_path / "b")
        assert result.exit_code == 2 and f"--seeds {seeds} needs --bitstream" in result.stderr
    assert not (tmp_path / "b").exists()


def test_small_model_to_an_ice40_bitstream(tmp_path, mlp):
    build = tmp_path / "b"
    result = run("compile", mlp, "--fps", "10000", "--board", "icebreaker", "--bitstream", "-o", build)
    assert result.exit_code == 0, result.stderr
    assert (build / "board" / "bitstream.bin").stat().st_size > 10_000


def test_design_too_big_for_the_board_is_refused_before_the_tools_run(tmp_path):
    build = tmp_path / "b"
    result = run("compile", MODELS / "cnv_w1a1.onnx", "--board", "icebreaker", "--bitstream", "-o", build)
    assert result.exit_code == 1
    assert "does not fit the icebreaker (ice40-up5k)" in result.stderr and "available" in result.stderr
    assert not (build / "board").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--bitstream"], "--bitstream needs --board"),
    (["--board", "de10"], "--board 'de10': unknown board"),
    (["--board", "ulx3s", "--target", "xc7z020"], "--target xc7z020 and --board ulx3s disagree"),
    (["--board", "ulx3s", "--clock-mhz", "450"], "--clock-mhz 450: the EHXPLLL cannot make 450 MHz from the 25 MHz "
                                                 "oscillator within 1%; the nearest it reaches is 400 MHz"),
    (["--vivado", "--target", "ecp5-85k"], "--vivado: --target ecp5-85k is not a Xilinx part"),
])
def test_board_usage_errors(tmp_path, mlp, args, fragment):
    result = run("compile", mlp, "-o", tmp_path / "b", *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.stderr


def test_vivado_script(tmp_path, mlp, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no vivado here
    build = tmp_path / "b"
    result = run("compile", mlp, "--fps", "1000000", "--target", "xczu3eg", "--clock-mhz", "250", "--vivado", "-o", build)
    assert result.exit_code == 0, result.stderr
    script = (build / "vivado" / "build.tcl").read_text()
    assert "-part $part" in script and "set part xczu3eg-sbva484-1-e" in script
    assert "create_clock -period 4.000 -name ap_clk" in script
    assert "-mode out_of_context" in script and "write_bitstream" in script
    for source in (build / "filelist.f").read_text().split():
        assert source in script
    assert "vivado is not on PATH; to build, run: vivado -mode batch" in result.stderr


@pytest.mark.parametrize("board, clock_mhz, primitive", [
    ("ulx3s", 65, "EHXPLLL"), ("icebreaker", 33, "SB_PLL40_PAD"), ("ulx3s", 25, None), ("icebreaker", 12, None),
])
def test_board_top_lints_clean(tmp_path, mlp, board, clock_mhz, primitive):
    """The board top with its PLL (the vendor primitive's simulation model stands in for the
    cell library) lints clean; at the oscillator's frequency there is no PLL."""
    import subprocess

    from bnncc.boards.board_sim import PLL_MODELS
    from bnncc.sim.verilator import verilator_command
    from bnncc.synth.bitstream import write_board_files
    from bnncc.synth.boards import get_board

    build = tmp_path / "b"
    assert run("compile", mlp, "--fps", "100000", "-o", build).exit_code == 0
    sources = write_board_files(build, get_board(board), clock_mhz)
    lint = subprocess.run([verilator_command(), "--lint-only", "-Wall", "--top-module", "board_top", *sources,
                           str(PLL_MODELS)], cwd=build, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    top = (build / "board" / "board_top.v").read_text()
    assert f"CLKS_PER_BIT({round(get_board(board).pll(clock_mhz).f_out * 1e6 / 115200)})" in top
    if primitive is None:
        assert "assign core_clk = clk;" in top and "EHXPLLL" not in top and "SB_PLL40" not in top
    else:
        assert f"    {primitive} #(" in top and ".rst_n(locked)" in top


def test_yosys_takes_a_threshold_stage_with_255_thresholds(tmp_path):
    """abc9 recurses along the compare-and-count path of 255 thresholds (an 8-bit activation),
    deeper than YoWASP's default WebAssembly stack; bnncc runs Yosys with a deeper one."""
    from bnncc.synth.yowasp import deep_stack
    from bnncc.tools import tool_command

    rtl = Path(__file__).resolve().parents[1] / "rtl_lib" / "thresholding.v"
    (tmp_path / "t.mem").write_text("".join(f"{(255 * t) % 4096:03x}\n" for t in range(8 * 255)))
    ports = ".ap_clk(c), .ap_rst_n(r), .s_axis_tdata(d), .s_axis_tvalid(v), .s_axis_tready(), " \
            ".m_axis_tdata(q), .m_axis_tvalid(), .m_axis_tready(1'b1)"
    (tmp_path / "top.v").write_text(
        "module top(input wire c, input wire r, input wire [9:0] d, input wire v, output wire [7:0] q);\n"
        "thresholding #(.CH(8), .PE(1), .IN_BITS(10), .IN_SIGNED(0), .N_THRESHOLDS(255), .THRESHOLD_BITS(12), "
        f".OUT_BITS(8), .OUT_BIAS(0), .THRESHOLD_FILE(\"t.mem\")) u ({ports});\nendmodule\n")
    (tmp_path / "s.ys").write_text(f"read_verilog -defer {rtl.name} top.v\nsynth_xilinx -family xc7 -noiopad -noclkbuf -top top\n")
    (tmp_path / rtl.name).write_text(rtl.read_text())
    done = subprocess.run([*deep_stack(tool_command("yosys")), "-q", "s.ys"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
