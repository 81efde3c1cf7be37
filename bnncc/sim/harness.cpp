// Drives one AXI-Stream design in Verilator: feeds input beats from a file with random
// input gaps, accepts output beats with random back-pressure, and logs the cycle of every
// transfer. Arguments: input output seed in_stall_percent out_stall_percent out_beats
// max_idle_cycles. Input lines are hex beats; output lines are "I cycle" for accepted
// inputs and "O cycle hex" for outputs. Exit code 3 means no progress for max_idle_cycles,
// 4 that the design called $finish (a failed parameter check; the check's own message and
// instance path are on stdout, where bnncc/sim/verilator.py reads them).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "verilated.h"
#include TOP_HEADER

#include "stream_ports.h"

template <typename T> static std::string hex_of(const T& port) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(port));
    return buf;
}
template <std::size_t N> static std::string hex_of(const VlWide<N>& port) {
    std::string out;
    char buf[16];
    bool leading = true;
    for (std::size_t i = N; i-- > 0;) {
        if (leading && port[i] == 0 && i > 0) continue;
        std::snprintf(buf, sizeof buf, leading ? "%x" : "%08x", port[i]);
        out += buf;
        leading = false;
    }
    return out;
}

int main(int argc, char** argv) {
    if (argc < 8) {
        std::fprintf(stderr, "usage: %s input output seed in_stall out_stall out_beats max_idle\n", argv[0]);
        return 2;
    }
    const std::vector<Words> inputs = read_beats(argv[1]);
    std::FILE* out = std::fopen(argv[2], "w");
    std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
    const int in_stall = std::atoi(argv[4]);
    const int out_stall = std::atoi(argv[5]);
    const long out_beats = std::atol(argv[6]);
    const long max_idle = std::atol(argv[7]);
    std::uniform_int_distribution<int> percent(0, 99);

    VerilatedContext context;
    TOP_CLASS top(&context);
    top.ap_clk = 0;
    top.ap_rst_n = 0;
    top.s_axis_tvalid = 0;
    top.m_axis_tready = 0;
    for (int i = 0; i < 4; ++i) {
        top.ap_clk = 0; top.eval();
        top.ap_clk = 1; top.eval();
    }
    if (context.gotFinish()) {
        std::fprintf(stderr, "the design stopped itself during reset (an elaboration check failed)\n");
        return 4;
    }
    top.ap_rst_n = 1;
    std::size_t next_in = 0;
    long received = 0, cycle = 0, idle = 0;
    while (received < out_beats) {
        top.ap_clk = 0;
        bool offer = next_in < inputs.size() && percent(rng) >= in_stall;
        top.s_axis_tvalid = offer;
        if (offer) set_port(top.s_axis_tdata, inputs[next_in]);
        top.m_axis_tready = percent(rng) >= out_stall;
        top.eval();
        bool in_fire = top.s_axis_tvalid && top.s_axis_tready;
        bool out_fire = top.m_axis_tvalid && top.m_axis_tready;
        if (out_fire) std::fprintf(out, "O %ld %s\n", cycle, hex_of(top.m_axis_tdata).c_str());
        if (in_fire) std::fprintf(out, "I %ld\n", cycle);
        top.ap_clk = 1;
        top.eval();
        if (in_fire) ++next_in;
        if (out_fire) ++received;
        if (context.gotFinish()) {
            std::fclose(out);
            std::fprintf(stderr, "the design called $finish at cycle %ld\n", cycle);
            return 4;
        }
        idle = (in_fire || out_fire) ? 0 : idle + 1;
        ++cycle;
        if (idle > max_idle) {
            std::fclose(out);
            std::fprintf(stderr, "no transfer for %ld cycles at cycle %ld (%zu of %zu inputs taken, %ld of %ld outputs)\n",
                         max_idle, cycle, next_in, inputs.size(), received, out_beats);
            return 3;
        }
    }
    std::fclose(out);
    return 0;
}
