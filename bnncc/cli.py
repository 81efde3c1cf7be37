"""The ``bnncc`` command line.

Exit codes: 0 success; 1 the model cannot be compiled, verification found a mismatch or a
tool failed; 2 usage error (bad option or option value); 3 internal error (a bug in bnncc);
130 interrupted. Results go to stdout, progress and errors to stderr, every error on one
line (``--debug`` or ``BNNCC_DEBUG=1`` adds the traceback).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import click
import numpy as np

from bnncc import __version__
from bnncc.synth.bitstream import DEFAULT_SEEDS
from bnncc.errors import (EXIT_FAILURE, EXIT_INTERNAL, EXIT_INTERRUPTED, BnnccError, UsageError,
                          internal_error_line, one_line, stage, stage_of)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def log(message: str) -> None:
    """Progress message on stderr."""
    click.echo(message, err=True)


def debug_enabled(ctx: click.Context | None = None) -> bool:
    """``--debug`` was given or ``$BNNCC_DEBUG`` is set to something other than 0/false/no."""
    if ctx is not None and ctx.params.get("debug"):
        return True
    return os.environ.get("BNNCC_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


class _Command(click.Group):
    """A click group that turns every failure of a command into one line on stderr and a
    documented exit code: a :class:`BnnccError` (bad input) into ``error: ...`` and its own
    code, an operating-system error on a named file into ``error: ...`` and 1, Ctrl-C into
    130, anything else (a bug) into ``internal error in <stage>: ...`` and 3. click's own
    usage errors (a missing argument, a bad option value, a directory where a file was
    expected) become one ``error:`` line with exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} -h')" if exc.ctx is not None else ""
            click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            click.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BnnccError as exc:
            if debug_enabled(ctx):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            if exc.filename is None:
                raise self._internal(ctx, exc)
            if debug_enabled(ctx):
                traceback.print_exc()
            names = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
            click.echo(f"error: {names}: {one_line(exc.strerror or str(exc))} "
                       f"(in {stage_of(exc, ctx.invoked_subcommand or 'bnncc')})", err=True)
            sys.exit(EXIT_FAILURE)
        except Exception as exc:
            raise self._internal(ctx, exc)

    @staticmethod
    def _internal(ctx, exc: Exception) -> SystemExit:
        if debug_enabled(ctx):
            traceback.print_exc()
        click.echo(internal_error_line(exc, ctx.invoked_subcommand or "bnncc"), err=True)
        return SystemExit(EXIT_INTERNAL)


@click.group(cls=_Command, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="bnncc")
@click.option("--debug", is_flag=True, default=False,
              help="On any error also print the Python traceback (as does BNNCC_DEBUG=1). Default: one line.")
def main(debug):
    """bnncc compiles quantized (binarized and low-bit) ONNX networks into streaming FPGA
    dataflow designs, and proves that what it builds computes what the model computes.

    \b
    Exit codes:
      0    success
      1    the model cannot be compiled or run, verification found a mismatch, or a tool
           (Verilator, Yosys, nextpnr) failed; the error is one line on stderr (a failed
           tool adds the last lines of its log)
      2    usage error: a bad option or option value
      3    internal error: a bug in bnncc; the line says in which stage
           ("internal error in <stage>: <type>: <message>"); rerun with --debug
           (or BNNCC_DEBUG=1) for the traceback and report it
      130  interrupted (Ctrl-C)
    """


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("build_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("-n", "--samples", "samples", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of random inputs to compare (ignored with --input).")
@click.option("--input", "input_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Inputs to use instead of random ones: a .npy array shaped like the model input "
                   "(batch first; a single sample may omit the batch axis) or a .npz with one array "
                   "per input name. Default: random inputs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--range", "value_range", type=(float, float), default=(-1.0, 1.0), show_default=True,
              metavar="LOW HIGH", help="Range of random real-valued inputs (integer-typed inputs use their "
                                       "type's full range).")
@click.option("--stall", "stall", type=click.IntRange(0, 95), default=30, show_default=True,
              help="With BUILD_DIR: percent of cycles in which the simulated source withholds input and "
                   "the sink refuses output (random, seeded by --seed).")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the result as JSON on stdout.")
def verify(model, build_dir, samples, input_file, seed, value_range, stall, as_json):
    """Check MODEL: onnxruntime on the original ONNX against bnncc's executor on the IR
    after import and after every pass, and, with BUILD_DIR (from 'bnncc compile'), the
    generated RTL in Verilator against the executor under random stalls.

    Prints, per stage, how many samples matched exactly, how many differed only by rounding
    ties (values exactly on a rounding boundary, where float engines may round either way),
    how many really mismatched, and the largest absolute error of real-valued outputs. Exits
    with 1 if any sample really mismatched.
    """
    from bnncc.verify import verify_model

    start = time.perf_counter()
    try:
        result = verify_model(model, samples=samples, input_file=input_file, seed=seed, value_range=value_range,
                              build_dir=build_dir, stall=stall, log=log)
    except Exception as exc:
        _print_partial_verification(exc, as_json, time.perf_counter() - start)
        raise
    elapsed = time.perf_counter() - start
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "seconds": round(elapsed, 3)}, indent=2))
    else:
        click.echo(result.table())
        click.echo(f"{'OK' if result.ok else 'FAILED'}: {result.summary()} ({elapsed:.2f} s)")
    sys.exit(0 if result.ok else 1)


def _print_partial_verification(exc: Exception, as_json: bool, elapsed: float) -> None:
    """The evidence gathered before ``exc`` stopped verification (the stages compared so
    far), on stdout: the table, or with ``--json`` the result with ``"ok": false`` and the
    error."""
    from bnncc.verify import partial_result

    partial = partial_result(exc)
    if partial is None:
        return
    if as_json:
        message = str(exc) if isinstance(exc, BnnccError) else internal_error_line(exc, "verify")
        click.echo(json.dumps({**partial.to_dict(), "ok": False, "error": one_line(message),
                               "seconds": round(elapsed, 3)}, indent=2))
    elif partial.stages or partial.rtl is not None:
        click.echo(partial.table())
        click.echo(f"STOPPED: {partial.summary()} before the failure below ({elapsed:.2f} s)")


def target_options(command):
    """The options that say what to build for: --folding or --fps, --clock-mhz, --target,
    --best-effort."""
    from bnncc.targets import DEFAULT_DEVICE, DEVICES

    options = [
        click.option("--folding", "folding_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="JSON file mapping hardware stage (node) names to {\"PE\": p, \"SIMD\": s}, as compile "
                          "writes it to BUILD/folding.json. Default: PE = SIMD = 1 for every stage (or --fps)."),
        click.option("--fps", type=float, default=None,
                     help="Target frames per second: every stage is folded (PE, SIMD) to reach it with the least "
                          "estimated resources on --target. Default: no target (PE = SIMD = 1, or --folding)."),
        click.option("--clock-mhz", "clock_mhz", type=float, default=None,
                     help="Clock frequency the --fps target and the reported FPS are computed at; with "
                          "--board, the core clock the board's PLL makes from its oscillator (the nearest "
                          "frequency it reaches within 1 %, else refused). "
                          "Default: 100, or the board's oscillator with --board."),
        click.option("--target", "device", type=str, default=None,
                     help="Device to fold for and report utilization of: " + ", ".join(DEVICES) +
                          f". Default: {DEFAULT_DEVICE}, or the board's device with --board."),
        click.option("--best-effort", "best_effort", is_flag=True, default=False,
                     help="When --fps cannot be reached or the design does not fit --target, build the fastest "
                          "design that fits instead of failing. Default: fail."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _target(folding_file, fps, clock_mhz, device, best_effort, board=None):
    """(folding table or None, Target) from the target options, checked; a board fixes the
    device, and its PLL the clock (the nearest it makes to --clock-mhz, default the
    oscillator's)."""
    from bnncc.compile import Target
    from bnncc.passes.apply_folding import load_folding
    from bnncc.targets import DEFAULT_DEVICE, get_device

    if board is not None:
        if device is not None and get_device(device).name != board.device.name:
            raise UsageError(f"--target {device} and --board {board.name} disagree: the {board.name} carries a "
                             f"{board.device.name}")
        # The board's PLL makes the core clock: the reports use the frequency it achieves.
        device, clock_mhz = board.device.name, board.pll(clock_mhz).f_out
    target = Target(fps, 100.0 if clock_mhz is None else clock_mhz, best_effort, get_device(device or DEFAULT_DEVICE))
    target.check()
    folding = load_folding(folding_file) if folding_file is not None else None
    if fps is not None and folding is not None:
        raise UsageError("--fps and --folding both choose the folding; give one of them")
    return folding, target


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build directory for the compiled design. Default: build/<model name>.")
@click.option("--dump-ir", "dump_ir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the IR after import and after every pass into this directory, one ONNX "
                   "file per stage (NN_<pass>.onnx, viewable in Netron). Default: do not write.")
@target_options
@click.option("--board", "board_name", type=str, default=None,
              help="Board to build for (ulx3s, icebreaker): sets --target and the clock, and with --bitstream "
                   "wraps the core in the board's UART shell. Default: no board.")
@click.option("--bitstream", is_flag=True, default=False,
              help="With --board: synthesize, place and route and pack the shell and core into "
                   "BUILD/board/ with Yosys and nextpnr. Default: RTL only.")
@click.option("--seeds", type=click.IntRange(min=1), default=None, show_default=False,
              help="With --bitstream: when a placement misses timing, place and route again with nextpnr "
                   f"seeds 2 .. N, stopping at the first that meets it, and keep the best. Default: "
                   f"{DEFAULT_SEEDS} (1: one placement, nextpnr's default seed).")
@click.option("--vivado", is_flag=True, default=False,
              help="For a Xilinx --target: write BUILD/vivado/build.tcl (out-of-context synthesis, "
                   "implementation, bitstream) and run it if vivado is on PATH. Default: do not.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the result as JSON on stdout.")
def compile(model, output, dump_ir, folding_file, fps, clock_mhz, device, best_effort, board_name, bitstream, seeds,
            vivado, as_json):
    """Compile MODEL: run the pass pipeline down to hardware stages plus host steps, fold
    every stage, and write a stitched AXI-Stream Verilog design (rtl/, mem/, filelist.f,
    design.json), folding.json, host_steps.json, the final IR and the report (report.json,
    report.md, report.svg: cycles, resources, utilization, latency) into the build directory."""
    from bnncc.compile import compile_model
    from bnncc.synth.boards import get_board

    board = get_board(board_name) if board_name is not None else None
    if bitstream and board is None:
        raise UsageError("--bitstream needs --board (ulx3s or icebreaker); for Xilinx parts use --vivado")
    if seeds is not None and not bitstream:
        raise UsageError(f"--seeds {seeds} needs --bitstream (placement seeds of the board flow)")
    seeds = DEFAULT_SEEDS if seeds is None else seeds
    folding, target = _target(folding_file, fps, clock_mhz, device, best_effort, board)
    if vivado and target.device.family != "xilinx":
        raise UsageError(f"--vivado: --target {target.device.name} is not a Xilinx part")
    output = output if output is not None else Path("build") / model.stem

    def finish(work: Path, result) -> None:
        """The bitstream and the Vivado script, written into the build before it is renamed
        into place (a failure there leaves no build)."""
        if bitstream:
            from bnncc.compile import build_board_bitstream

            from bnncc.synth.yosys import ToolError, keep_failed_log

            with stage("bitstream"):
                try:
                    written = build_board_bitstream(work, board, result.report, log, seeds)
                except ToolError as error:  # the build is not kept: keep the failing tool's log
                    raise keep_failed_log(error, work, output) from None
            result.files.append(str(output / written.relative_to(work)))
        if vivado:
            from bnncc.synth.vivado import run_vivado, write_vivado_script

            with stage("vivado"):
                script = write_vivado_script(work, target.device, target.clock_mhz)
                result.files.append(str(output / script.relative_to(work)))
                vivado_ran.append(run_vivado(script))

    vivado_ran: list[bool] = []
    result = compile_model(model, output=output, dump_ir=dump_ir, folding=folding,
                           folding_source=f"--folding {folding_file}", log=log, target=target, finish=finish)
    if vivado:
        from bnncc.synth.vivado import VIVADO_DIR, vivado_command

        script = output / VIVADO_DIR / "build.tcl"
        if any(vivado_ran):
            log(f"vivado finished: reports in {script.parent}")
        else:
            log("vivado is not on PATH; to build, run: " + " ".join(vivado_command(script)))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        _check_timing(result.report, output)
        return
    for step in result.stages:
        counts = ", ".join(f"{k} {v}" for k, v in step.graph.op_count().items())
        click.echo(f"{step.name:18} {counts}")
    if result.design is not None:
        click.echo(f"{len(result.design.stages)} hardware stages, bottleneck {result.design.bottleneck_cycles} cycles per frame")
    if result.report is not None:
        from bnncc.backends.report import correction_line, summary_line, utilization_line

        click.echo(summary_line(result.report))
        click.echo(utilization_line(result.report))
        if "border_correction" in result.report["totals"]:
            click.echo(correction_line(result.report))
    for path in result.files:
        click.echo(f"wrote {path}")
    _check_timing(result.report, output)


def _check_timing(report: dict | None, output: Path) -> None:
    """A bitstream whose clocks miss timing is kept for inspection but fails the command."""
    from bnncc.synth.bitstream import TimingError

    built = (report or {}).get("bitstream")
    if built is not None and not built["timing_met"]:
        missed = [c for c in built.get("clocks", []) if not c["met"]]
        detail = "; ".join(f"{c['net']} reaches {c['fmax_mhz']:.2f} MHz, {c['requested_mhz']:.6g} MHz requested"
                           for c in missed) or f"Fmax {built['fmax_mhz']:.2f} MHz, {built['clock_mhz']:g} MHz requested"
        raise TimingError(f"timing not met on the {built['board']}: {detail}; {output / built['bitstream']} was "
                          "written but may not work on the board: lower --clock-mhz or --fps")


@main.command(context_settings=CONTEXT)
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--target", "device", type=str, default=None,
              help="Device whose family to synthesize for. Default: the one the build was compiled for.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the report as JSON instead of a table.")
def synth(build_dir, device, as_json):
    """Synthesize BUILD_DIR (from 'bnncc compile') with Yosys for the target's family
    (synth_xilinx, synth_ecp5 or synth_ice40, keeping the hierarchy) and print the real
    resources per stage next to the estimate; writes BUILD_DIR/synth_report.json."""
    from bnncc.synth.report import build_device, synth_report, synth_table
    from bnncc.targets import DEFAULT_DEVICE, get_device

    if not (build_dir / "design.json").is_file():
        raise UsageError(f"{build_dir}: not a bnncc build directory (no design.json; run 'bnncc compile' first)")
    with stage("synth"):
        report = synth_report(build_dir, get_device(device or build_device(build_dir) or DEFAULT_DEVICE), log)
    click.echo(json.dumps(report, indent=2) if as_json else synth_table(report), nl=as_json)
    log(f"wrote {build_dir / 'synth_report.json'}")


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@target_options
@click.option("--json", "as_json", is_flag=True, default=False,
              help="Print the report as JSON (schema: bnncc/schemas/report.schema.json) instead of a table.")
def estimate(model, folding_file, fps, clock_mhz, device, best_effort, as_json):
    """Estimate what MODEL costs in hardware without writing RTL: the folding compile would
    choose, and per stage and in total cycles per frame, LUT, FF, block RAM, DSP, with FPS,
    latency and the device's utilization."""
    from bnncc.backends.report import report_table
    from bnncc.compile import estimate_model

    folding, target = _target(folding_file, fps, clock_mhz, device, best_effort)
    report = estimate_model(model, folding, f"--folding {folding_file}", log, target)
    click.echo(json.dumps(report, indent=2) if as_json else report_table(report), nl=as_json)


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", required=True,
              help="Serial port of the board's USB UART, e.g. /dev/ttyUSB0 or COM3 (no default: required).")
@click.option("--baud", type=click.IntRange(min=1200), default=115200, show_default=True,
              help="Line rate the bitstream was built for.")
@click.option("--input", "input_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Inputs (.npy shaped like the model input, or .npz per input name). Default: -n random inputs.")
@click.option("-n", "--samples", "samples", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of random inputs when --input is not given.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--range", "value_range", type=(float, float), default=(0.0, 1.0), show_default=True,
              metavar="LOW HIGH", help="Range of random real-valued inputs.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds to wait for the board's next byte before giving up.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare every result with bnncc's executor and exit 1 on a difference.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the outputs as JSON.")
def run(model, build_dir, port, baud, input_file, samples, seed, value_range, timeout, check, as_json):
    """Run MODEL on a board programmed with the bitstream of BUILD_DIR ('bnncc compile
    --board B --bitstream'): the host steps run here, the hardware part on the board over
    its USB UART (byte protocol: bnncc/boards/protocol.py)."""
    from bnncc.boards.host import run_on_board
    from bnncc.executor import Executor
    from bnncc.frontend import load_graph
    from bnncc.verify.inputs import load_inputs, random_inputs

    with stage("import"):
        graph = load_graph(model)
    with stage("inputs"):
        inputs = (load_inputs(input_file, graph) if input_file is not None
                  else random_inputs(graph, samples, seed, *value_range))
    start = time.perf_counter()
    with stage("board"):
        outputs = run_on_board(build_dir, inputs, port, baud, model=model, timeout=timeout)
    elapsed = time.perf_counter() - start
    frames = len(next(iter(inputs.values())))
    mismatches = 0
    if check:
        expected = Executor(graph).run(inputs)
        mismatches = sum(int(np.sum(np.any((np.asarray(outputs[name]) != np.asarray(expected[name])).reshape(frames, -1), axis=1)))
                         for name in outputs)
    if as_json:
        click.echo(json.dumps({"outputs": {k: np.asarray(v).tolist() for k, v in outputs.items()},
                               "frames": frames, "seconds": round(elapsed, 3), "mismatches": mismatches}, indent=2))
    else:
        for name, value in outputs.items():
            click.echo(f"{name}: {np.asarray(value).reshape(frames, -1).tolist()}")
        click.echo(f"{frames} frames in {elapsed:.2f} s ({frames / elapsed:.1f} frames per second over the UART)"
                   + (f"; {mismatches} differ from the executor" if check else ""))
    sys.exit(1 if mismatches else 0)


@main.command(context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dump-ir", "dump_ir", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the imported IR as an ONNX file (custom ops in the 'bnncc' domain) that "
                   "Netron can open. Default: do not write.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the summary as JSON on stdout.")
def inspect(model, dump_ir, as_json):
    """Import MODEL and summarize its IR: inputs, outputs, operations, quantizers."""
    from bnncc.frontend import load_graph
    from bnncc.ir.export import save_ir
    from bnncc.ir.summary import summarize

    with stage("import"):
        graph = load_graph(model)
    summary = summarize(graph)
    if dump_ir is not None:
        with stage("dump-ir"):
            save_ir(graph, dump_ir)
        log(f"wrote {dump_ir}")
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(summary.text())


if __name__ == "__main__":  # pragma: no cover
    main()
