"""Coefficients of the LUT and FF terms of every module (:mod:`bnncc.estimate.terms`),
per FPGA family, fitted against Yosys 0.70 (``synth_xilinx -family xc7``, ``synth_ecp5``)
by ``python benchmarks/calibrate_estimates.py --fit`` (weighted non-negative least squares
on the instances of the example designs and a grid around them; the data and the errors
are in ``benchmarks/results/calibration_<family>.json``). A term's coefficient is the
cost of one unit of it: LUTs per bit, per element, per counter bit."""

XILINX = {
    "label_select": {
        "lut": {"compare": 2.698, "const": 0, "data": 0.224, "index_bits": 2.177, "select": 0.093},
        "ff": {"control": 0.727, "data": 1.009},
    },
    "mvau": {
        "lut": {"accumulate": 0, "compare": 0, "const": 0, "count": 6.262, "counter_bits": 1.315, "decode": 3.32, "dsp_sum": 1.113, "input_select": 1.592, "multiply": 1.934, "mux": 1.481, "negate": 1.707, "popcount": 0.391, "popcount_adder": 3.339, "sum": 0.785, "threshold_rom": 0.472, "weight_rom": 0.776},
        "ff": {"control": 2.424, "data": 0.638, "memory": 0},
    },
    "sliding_window": {
        "lut": {"address_bits": 4.989, "const": 0, "counter_bits": 7.641, "data": 1.295, "decode": 3.683, "mux": 0, "position_bits": 0},
        "ff": {"control": 0.922, "data": 0.987, "memory": 0},
    },
    "stream_fifo": {
        "lut": {"const": 6.217, "decode": 1.74, "mux": 1.122, "pointer_bits": 3.394},
        "ff": {"control": 1, "data": 1},
    },
    "streaming_maxpool": {
        "lut": {"compare": 2.042, "const": 7.121, "counter_bits": 2.92, "decode": 0, "mux": 1.736, "select": 0.499},
        "ff": {"control": 1.126, "data": 0.659, "memory": 0},
    },
    "thresholding": {
        "lut": {"compare": 0.079, "const": 0, "count": 0, "counter_bits": 4.487, "data": 2.688, "mux": 0, "rom": 0.971},
        "ff": {"control": 3.007, "data": 0.411, "memory": 0},
    },
    "width_converter": {
        "lut": {"const": 9.457, "count_bits": 0.192, "gather": 0.991, "split": 1.045, "split_packed": 0.916},
        "ff": {"control": 1, "data": 1},
    },
}

ECP5 = {
    module: {"lut": {name: 1.6 * value for name, value in c["lut"].items()}, "ff": dict(c["ff"])}
    for module, c in XILINX.items()
}

COEFFICIENTS = {"xilinx": XILINX, "ecp5": ECP5}
