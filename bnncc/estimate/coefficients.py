"""Coefficients of the LUT and FF terms of every module (:mod:`bnncc.estimate.terms`),
per FPGA family, fitted against Yosys 0.70 (``synth_xilinx -family xc7``, ``synth_ecp5``)
by ``python benchmarks/calibrate_estimates.py --fit`` (weighted non-negative least squares
on the instances of the example designs and a grid around them; the data and the errors
are in ``benchmarks/results/calibration_<family>.json``). A term's coefficient is the
cost of one unit of it: LUTs per bit, per element, per counter bit.

ECP5 maps every multi-bit product to a DSP block, so its data has no soft multipliers: its
``multiply`` coefficient is the Xilinx one times 1.6 (LUT4 against LUT6), for iCE40, which
takes the ECP5 coefficients and builds its multipliers from LUTs. A term missing from a
family's table costs nothing there: the Xilinx table was fitted before the ``negate_carry``
term of the MVAU existed and gives it none."""

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
        "lut": {"compare": 0.136, "const": 10.817, "count": 0.43, "counter_bits": 0, "data": 1.499, "mux": 0, "rom": 0.988},
        "ff": {"control": 0.838, "data": 1.007, "memory": 0},
    },
    "width_converter": {
        "lut": {"const": 9.363, "count_bits": 0.176, "gather": 0.993, "split": 1.043, "split_packed": 0.908},
        "ff": {"control": 1, "data": 1},
    },
}

ECP5 = {
    "label_select": {
        "lut": {"compare": 1.622, "const": 0, "data": 0, "index_bits": 0, "select": 3.219},
        "ff": {"control": 0.769, "data": 1.003},
    },
    "mvau": {
        "lut": {"accumulate": 0.349, "compare": 0.598, "const": 13.229, "count": 0.863, "counter_bits": 1.618, "decode": 2.427, "dsp_sum": 3.267, "input_select": 0.775, "multiply": 3.026, "mux": 1.667, "negate": 3.22, "negate_carry": 6.575, "popcount": 3.37, "popcount_adder": 4.157, "sum": 0, "threshold_rom": 0.733, "weight_rom": 1.066, "weight_rom_shallow": 0},
        "ff": {"control": 1.359, "data": 0.894, "memory": 0},
    },
    "sliding_window": {
        "lut": {"address_bits": 19.783, "const": 0, "counter_bits": 6.347, "data": 1.231, "decode": 0, "mux": 1.018, "position_bits": 6.206},
        "ff": {"control": 1.222, "data": 0.796, "memory": 0},
    },
    "stream_fifo": {
        "lut": {"const": 0.353, "decode": 0, "mux": 0.969, "pointer_bits": 10.915},
        "ff": {"control": 1.319, "data": 0.91},
    },
    "streaming_maxpool": {
        "lut": {"compare": 2.355, "const": 0, "counter_bits": 5.93, "decode": 0, "mux": 0.844, "select": 0.762},
        "ff": {"control": 1.18, "data": 0.652, "memory": 0},
    },
    "thresholding": {
        "lut": {"compare": 0.568, "const": 15.44, "count": 0.9, "counter_bits": 0, "data": 1.459, "mux": 0, "rom": 1.001},
        "ff": {"control": 0.922, "data": 0.997, "memory": 0},
    },
    "width_converter": {
        "lut": {"const": 32.922, "count_bits": 0, "gather": 1.627, "split": 2.732, "split_packed": 4.225},
        "ff": {"control": 1, "data": 1},
    },
}

COEFFICIENTS = {"xilinx": XILINX, "ecp5": ECP5}
