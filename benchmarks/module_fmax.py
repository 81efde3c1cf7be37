"""The small stream modules alone, at the parameters the examples use: Yosys logic depth on
xc7 (LUT levels between registers, the proxy for 200 MHz-class timing, target <= 6) and
nextpnr-ecp5 Fmax on the ECP5-85F (target >= 125 MHz).

Every example is compiled at its benchmark FPS (no synthesis); every instance of a module
listed in ``MODULES`` is collected from ``design.json`` (stages and the stream modules
between them) with its parameters. Per module the parameter sets are ranked by their
widest data path (then by depth) and the first ``--sets`` of them are measured, the module
as the top (its ports are the inputs and outputs: a path from an input counts from the
input, as from the register that drives it in a design):

* xc7: ``synth_xilinx -family xc7``, flattened; the deepest path in LUTs (carry-chain and
  wide-mux cells counted apart), :mod:`bnncc.synth.logic_depth`;
* ECP5: ``synth_ecp5``, the block RAM output-register step (:mod:`bnncc.synth.ecp5_outreg`),
  ``nextpnr-ecp5 --85k --package CABGA381 --freq 125 --out-of-context`` (no IO buffers: the
  module's reg-to-reg Fmax, not its pins').

The UART shell (``uart_stream_shell`` with the receiver, transmitter and its FIFO) is
measured at the ULX3S build's parameters at 125 MHz around a pass-through core.

    python benchmarks/module_fmax.py                      # every module: 2 sets, every streaming_maxpool set
    python benchmarks/module_fmax.py --modules streaming_maxpool,thresholding --sets 3
    python benchmarks/module_fmax.py --modules pool_sum --keep /tmp/mf    # keep nextpnr.log etc.

Prints one line per point and writes ``benchmarks/results/module_fmax.json``. Roughly half
a minute per point on two cores. Exit status 0 when every point was measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bnncc.synth.ecp5_outreg import absorb_file  # noqa: E402
from bnncc.synth.logic_depth import FLATTEN_COMMANDS, Depth, logic_depths  # noqa: E402
from bnncc.synth.yowasp import deep_stack  # noqa: E402
from bnncc.tools import tool_command  # noqa: E402

RTL = ROOT / "rtl_lib"
MODELS = ROOT / "examples" / "models"
MODULES = ["streaming_maxpool", "stream_fifo", "width_converter", "label_select", "thresholding", "pool_sum",
           "upsample", "stream_add", "stream_concat", "stream_fork", "skid_buffer", "uart_stream_shell"]
# the FPS the other benchmarks use per example (benchmarks/latency_accuracy.py)
EXAMPLES = {
    "tfc_w1a1": 10_000, "tfc_w2a2": 10_000, "sfc_w1a2": 10_000, "cnv_w1a1": 1_000, "cnv_w2a2": 1_000,
    "cnv_pad_w1a1": 3_000, "resnet8_w4a4": 1_000, "resnet_w1a1": 10_000, "concat_w2a2": 10_000,
    "dscnn_w4a4": 1_000, "mobilenet_w4a4": 1_000, "radioml_w4a4": 1_000, "unet_w2a2": 1_000,
    "tinyyolo_w4a4": 1_000,
}
# rtl_lib files each module needs (its own first)
SOURCES = {
    "stream_add": ["stream_add.v", "skid_buffer.v"],
    "stream_concat": ["stream_concat.v", "skid_buffer.v"],
    "uart_stream_shell": ["uart_stream_shell.v", "uart_rx.v", "uart_tx.v", "stream_fifo.v"],
}
# the ULX3S shell at 125 MHz (bnncc.boards.protocol.shell_parameters: 115200 baud)
SHELL = {"CLKS_PER_BIT": 1085, "IN_WIDTH": 8, "OUT_WIDTH": 8, "RX_FIFO_DEPTH": 2048}
STAND_IN_CORE = """
module bnncc_top #(parameter integer W = 8) (input wire ap_clk, input wire ap_rst_n,
    input wire [7:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [7:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready);
    reg [7:0] data; reg valid;
    assign s_axis_tready = !valid || m_axis_tready;
    assign m_axis_tdata = data; assign m_axis_tvalid = valid;
    always @(posedge ap_clk) begin
        if (!ap_rst_n) valid <= 1'b0;
        else if (s_axis_tready) begin valid <= s_axis_tvalid; data <= s_axis_tdata; end
    end
endmodule
"""
# modules no example instantiates as a stage or stream module (label_select: the top-k
# head of classifiers exported with ArgMax/TopK; skid_buffer: inside the joins) at the
# parameters they take there
FALLBACK = {
    "label_select": {"NUM_CLASSES": 10, "PE": 1, "IN_BITS": 16, "IN_SIGNED": 1, "K": 1, "IDX_BITS": 4},
    "skid_buffer": {"WIDTH": 64},
}
FREQ = 125.0


def collect(work: Path, examples: dict[str, float], wanted: list[str], log) -> dict[str, list[dict]]:
    """module -> distinct parameter sets of its instances in the examples' designs, each with
    the build it came from (memory files are relative to it) and the examples using it."""
    from bnncc.compile import Target, compile_model

    found: dict[str, dict[str, dict]] = {}
    for name, fps in examples.items():
        build = work / "builds" / f"{name}_{fps:g}"
        start = time.monotonic()
        try:
            compile_model(MODELS / f"{name}.onnx", output=build, target=Target(fps))
        except Exception as error:  # noqa: BLE001 - a benchmark records what failed and goes on
            log(f"{name} @ {fps:g} FPS: compile failed: {error}")
            continue
        design = json.loads((build / "design.json").read_text())
        for entry in design["stages"] + design["links"]:
            if entry["module"] not in wanted:
                continue
            key = json.dumps(entry["parameters"], sort_keys=True)
            point = found.setdefault(entry["module"], {}).setdefault(
                key, {"parameters": entry["parameters"], "build": str(build), "examples": []})
            if name not in point["examples"]:
                point["examples"].append(name)
        log(f"{name} @ {fps:g} FPS compiled in {time.monotonic() - start:.0f} s")
    return {module: list(points.values()) for module, points in found.items()}


def size(parameters: dict) -> tuple:
    """Rank of a parameter set: its widest data path, then its deepest storage."""
    numbers = {k: v for k, v in parameters.items() if isinstance(v, int)}
    widths = [v for k, v in numbers.items() if "WIDTH" in k or k in ("PE", "CH", "IN_BITS", "OUT_BITS")]
    depth = [v for k, v in numbers.items() if k in ("DEPTH", "W", "H", "N_THRESHOLDS", "NUM_CLASSES")]
    return (max(widths, default=0) * max(1, numbers.get("IN_BITS", numbers.get("ELEM_BITS", 1))),
            max(depth, default=0))


def yosys(script: list[str], cwd: Path, log_name: str) -> None:
    (cwd / f"{log_name}.ys").write_text("\n".join(script) + "\n")
    done = subprocess.run([*deep_stack(tool_command("yosys")), "-q", "-l", f"{log_name}.log", f"{log_name}.ys"],
                          cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"yosys ({log_name}) failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")


def measure(module: str, parameters: dict, build: Path, work: Path) -> dict:
    """xc7 logic depth and ECP5 Fmax of ``module`` alone with ``parameters``."""
    work.mkdir(parents=True, exist_ok=True)
    for item in build.glob("mem"):
        if not (work / "mem").exists():
            shutil.copytree(item, work / "mem")
    files = []
    for source in SOURCES.get(module, [f"{module}.v"]):
        shutil.copy(RTL / source, work / source)
        files.append(source)
    if module == "uart_stream_shell":
        (work / "core.v").write_text(STAND_IN_CORE)
        files.append("core.v")
    chparam = " ".join(f"-set {k} {json.dumps(v) if isinstance(v, str) else v}" for k, v in parameters.items())
    head = ["read_verilog -defer " + " ".join(files), f"chparam {chparam} {module}" if chparam else "",
            f"hierarchy -top {module}"]
    start = time.monotonic()
    yosys([*head, f"synth_xilinx -family xc7 -noiopad -noclkbuf -top {module}", *FLATTEN_COMMANDS(".", module),
           "tee -q -o stat_xc7.json stat -json"], work, "xc7")
    depths = logic_depths(work / "flat.json", module)
    worst = max(depths.values(), key=lambda entry: entry[0], default=(Depth(), "", ""))
    yosys([*head, f"synth_ecp5 -top {module} -json ecp5_yosys.json"], work, "ecp5")
    outreg = absorb_file(work / "ecp5_yosys.json", work / "ecp5.json")
    report = work / "pnr.json"
    done = subprocess.run([*tool_command("nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--freq", f"{FREQ:g}",
                           "--out-of-context", "--json", "ecp5.json", "--report", "pnr.json", "--timing-allow-fail",
                           "-l", "nextpnr.log", "-q", "--seed", "1"], cwd=work, capture_output=True, text=True)
    if done.returncode != 0 or not report.is_file():
        raise RuntimeError(f"nextpnr failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    fmax = json.loads(report.read_text()).get("fmax", {})
    clocks = {net: round(float(entry["achieved"]), 2) for net, entry in fmax.items()}
    return {"xc7_depth": worst[0].to_dict(), "xc7_path": [worst[1], worst[2]],
            "ecp5_fmax_mhz": min(clocks.values()) if clocks else None, "ecp5_clocks": clocks,
            "outreg_ports": len(outreg.ports), "seconds": round(time.monotonic() - start, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", default=",".join(MODULES), help="comma-separated modules (default: all)")
    parser.add_argument("--examples", default=",".join(EXAMPLES), help="comma-separated examples to collect from")
    parser.add_argument("--sets", type=int, default=2, help="parameter sets per module, widest first (default 2)")
    parser.add_argument("--all-sets", default="streaming_maxpool",
                        help="comma-separated modules measured at every distinct parameter set (default streaming_maxpool)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "module_fmax.json")
    parser.add_argument("--keep", type=Path, help="keep the builds and every point's tool logs in this directory")
    args = parser.parse_args()
    wanted = [m for m in args.modules.split(",") if m]
    unknown = [m for m in wanted if m not in MODULES]
    if unknown:
        parser.error(f"--modules: unknown {', '.join(unknown)}; expected some of {', '.join(MODULES)}")
    examples = {name: EXAMPLES[name] for name in args.examples.split(",") if name}

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    points, failed = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        found = collect(work, examples, [m for m in wanted if m != "uart_stream_shell"], log)
        if "uart_stream_shell" in wanted:
            found["uart_stream_shell"] = [{"parameters": SHELL, "build": str(work), "examples": ["ulx3s shell"]}]
        print(f"{'module':18} {'xc7 LUT levels':>14} {'ECP5 Fmax':>10}  parameters")
        for module in wanted:
            ranked = sorted(found.get(module, []), key=lambda p: size(p["parameters"]), reverse=True)
            if not ranked and module in FALLBACK:
                ranked = [{"parameters": FALLBACK[module], "build": str(work), "examples": []}]
            if not ranked:
                log(f"{module}: no instance in the examples")
            every = module in args.all_sets.split(",")
            for index, point in enumerate(ranked if every else ranked[:args.sets]):
                entry = {"module": module, "parameters": point["parameters"], "examples": point["examples"]}
                try:
                    entry.update(measure(module, point["parameters"], Path(point["build"]),
                                         work / "points" / f"{module}_{index}"))
                except RuntimeError as error:
                    entry["error"] = str(error)
                    failed += 1
                    print(f"{module:18} FAILED: {error}", flush=True)
                    points.append(entry)
                    continue
                points.append(entry)
                depth = entry["xc7_depth"]
                fmax = entry["ecp5_fmax_mhz"]
                shown = {k: v for k, v in point["parameters"].items() if not isinstance(v, str)}
                print(f"{module:18} {depth['lut']:>6} (+{depth['carry']} carry, {depth['mux']} mux) "
                      f"{fmax if fmax is not None else float('nan'):>8.1f}  {shown}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"freq_mhz": FREQ, "xc7_lut_levels_target": 6, "points": points}, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
