// Drives an AXI-Stream design with one input and N_OUT outputs (rtl_lib/stream_fork.v) in
// Verilator: feeds input beats from a file with random input gaps, and holds each output's
// ready low with its own independent random back-pressure. Output k is bits
// [k*WIDTH +: WIDTH] of m_axis_tdata and bit k of m_axis_tvalid/m_axis_tready.
// Arguments: input output seed in_stall_percent width n_out max_idle out_stall_percents
// (a comma-separated list, one per output; the last is repeated for the rest). Input lines
// are hex beats. Output lines are "I cycle" for accepted inputs and "O k cycle hex" for a
// beat taken from output k. The run ends when every output has taken as many beats as there
// were inputs, followed by 32 cycles with every output ready and no input, so that an extra
// beat would show. Exit code 3 means no transfer for max_idle cycles, 4 that the design called
// $finish (a failed parameter check; its message is on stdout).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "verilated.h"
#include TOP_HEADER

#include "../../bnncc/sim/stream_ports.h"

int main(int argc, char** argv) {
    if (argc < 9) {
        std::fprintf(stderr, "usage: %s input output seed in_stall width n_out max_idle out_stalls\n", argv[0]);
        return 2;
    }
    std::vector<Words> inputs;
    {
        std::ifstream in(argv[1]);
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) inputs.push_back(parse_hex(line));
    }
    std::FILE* out = std::fopen(argv[2], "w");
    std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
    const int in_stall = std::atoi(argv[4]);
    const int width = std::atoi(argv[5]);
    const int n_out = std::atoi(argv[6]);
    const long max_idle = std::atol(argv[7]);
    std::vector<int> out_stall;
    {
        std::stringstream list(argv[8]);
        std::string item;
        while (std::getline(list, item, ',')) out_stall.push_back(std::atoi(item.c_str()));
        while (static_cast<int>(out_stall.size()) < n_out) out_stall.push_back(out_stall.empty() ? 0 : out_stall.back());
    }
    std::uniform_int_distribution<int> percent(0, 99);

    VerilatedContext context;
    TOP_CLASS top(&context);
    top.ap_clk = 0;
    top.ap_rst_n = 0;
    top.s_axis_tvalid = 0;
    set_port(top.m_axis_tready, Words{0, 0});
    for (int i = 0; i < 4; ++i) {
        top.ap_clk = 0; top.eval();
        top.ap_clk = 1; top.eval();
    }
    if (context.gotFinish()) {
        std::fprintf(stderr, "the design stopped itself during reset (an elaboration check failed)\n");
        return 4;
    }
    top.ap_rst_n = 1;
    const long expected = static_cast<long>(inputs.size());
    std::size_t next_in = 0;
    std::vector<long> received(n_out, 0);
    long cycle = 0, idle = 0, done = 0, drain = 0;
    while (drain < 32) {
        top.ap_clk = 0;
        bool offer = next_in < inputs.size() && percent(rng) >= in_stall;
        top.s_axis_tvalid = offer;
        if (offer) set_port(top.s_axis_tdata, inputs[next_in]);
        uint64_t ready = 0;
        for (int k = 0; k < n_out; ++k) {
            bool r = percent(rng) >= out_stall[k];
            if (done == n_out || r) ready |= uint64_t{1} << k;
        }
        set_port(top.m_axis_tready, Words{static_cast<uint32_t>(ready), static_cast<uint32_t>(ready >> 32)});
        top.eval();
        bool in_fire = top.s_axis_tvalid && top.s_axis_tready;
        bool any = in_fire;
        if (in_fire) std::fprintf(out, "I %ld\n", cycle);
        for (int k = 0; k < n_out; ++k) {
            if (!get_bit(top.m_axis_tvalid, k) || !((ready >> k) & 1u)) continue;
            std::fprintf(out, "O %d %ld %s\n", k, cycle, hex_slice(top.m_axis_tdata, k * width, width).c_str());
            if (++received[k] == expected) ++done;
            any = true;
        }
        top.ap_clk = 1;
        top.eval();
        if (in_fire) ++next_in;
        if (context.gotFinish()) {
            std::fclose(out);
            std::fprintf(stderr, "the design called $finish at cycle %ld\n", cycle);
            return 4;
        }
        ++cycle;
        if (done >= n_out) {
            ++drain;
            continue;
        }
        idle = any ? 0 : idle + 1;
        if (idle > max_idle) {
            std::fclose(out);
            std::fprintf(stderr, "no transfer for %ld cycles at cycle %ld (%zu of %zu inputs taken)\n",
                         max_idle, cycle, next_in, inputs.size());
            return 3;
        }
    }
    std::fclose(out);
    return 0;
}
