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
        "lut": {"accumulate": 0.134, "compare": 0, "const": 0, "count": 6.305, "counter_bits": 1.259, "decode": 1.935, "dsp_sum": 1.054, "input_select": 1.93, "multiply": 1.891, "mux": 1.45, "negate": 1.666, "popcount": 0.789, "popcount_adder": 3.64, "sum": 0.803, "threshold_rom": 0.43, "weight_rom": 0.814, "weight_rom_shallow": 0.5},
        "ff": {"control": 2.464, "data": 0.643, "memory": 0},
    },
    "sliding_window": {
        "lut": {"address_bits": 4.467, "const": 4.391, "counter_bits": 7.736, "data": 1.255, "decode": 3.432, "mux": 0, "position_bits": 0},
        "ff": {"control": 0.926, "data": 1.013, "memory": 0},
    },
    "stream_fifo": {
        "lut": {"const": 6.402, "decode": 1.551, "mux": 1.037, "pointer_bits": 3.952},
        "ff": {"control": 1, "data": 1},
    },
    "streaming_maxpool": {
        "lut": {"compare": 2.041, "const": 0, "counter_bits": 3.402, "decode": 0, "mux": 0.313, "select": 0.385},
        "ff": {"control": 1.132, "data": 0.658, "memory": 0},
    },
    "thresholding": {
        "lut": {"compare": 0.079, "const": 0, "count": 0, "counter_bits": 4.487, "data": 2.688, "mux": 0, "rom": 0.971},
        "ff": {"control": 3.007, "data": 0.411, "memory": 0},
    },
    "width_converter": {
        "lut": {"const": 9.363, "count_bits": 0.176, "gather": 0.993, "split": 1.043, "split_packed": 0.908},
        "ff": {"control": 1, "data": 1},
    },
}

ECP5 = {
    module: {"lut": {name: 1.6 * value for name, value in c["lut"].items()}, "ff": dict(c["ff"])}
    for module, c in XILINX.items()
}

COEFFICIENTS = {"xilinx": XILINX, "ecp5": ECP5}
