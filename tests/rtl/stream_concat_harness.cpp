// Drives an AXI-Stream design with N_IN inputs and one output (rtl_lib/stream_concat.v) in
// Verilator: feeds each input its own beats from a file with its own independent random gaps,
// and holds the output's ready low with random back-pressure. Input k is bits
// [k*WIDTH +: WIDTH] of s_axis_tdata and bit k of s_axis_tvalid/s_axis_tready; an input that
// offers no beat drives random data, so a wrong selection shows in the output.
// Arguments: input output seed width n_in max_idle in_stall_percents out_stall_percent
// (in_stall_percents: a comma-separated list, one per input; the last is repeated for the
// rest). Input lines are "k hex" (a beat for input k, in order per input). Output lines are
// "I k cycle" for a beat accepted from input k and "O cycle hex" for a beat taken from the
// output. The run ends when the output has taken as many beats as there were inputs, followed
// by 32 cycles with the output ready and no input, so that an extra beat would show. Exit code
// 3 means no transfer for max_idle cycles, 4 that the design called $finish (a failed
// parameter check; its message is on stdout).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
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
        std::fprintf(stderr, "usage: %s input output seed width n_in max_idle in_stalls out_stall\n", argv[0]);
        return 2;
    }
    const int width = std::atoi(argv[4]);
    const int n_in = std::atoi(argv[5]);
    const long max_idle = std::atol(argv[6]);
    const int out_stall = std::atoi(argv[8]);
    std::vector<std::deque<Words>> inputs(n_in > 0 ? n_in : 1);
    long expected = 0;
    {
        std::ifstream in(argv[1]);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            std::istringstream fields(line);
            int k;
            std::string hex;
            fields >> k >> hex;
            inputs.at(k).push_back(parse_hex(hex));
            ++expected;
        }
    }
    std::FILE* out = std::fopen(argv[2], "w");
    std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
    std::vector<int> in_stall;
    {
        std::stringstream list(argv[7]);
        std::string item;
        while (std::getline(list, item, ',')) in_stall.push_back(std::atoi(item.c_str()));
        while (static_cast<int>(in_stall.size()) < n_in) in_stall.push_back(in_stall.empty() ? 0 : in_stall.back());
    }
    std::uniform_int_distribution<int> percent(0, 99);
    const int total_bits = n_in * width;

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
    long received = 0, cycle = 0, idle = 0, drain = 0;
    while (drain < 32) {
        top.ap_clk = 0;
        Words data((total_bits + 31) / 32 + 1, 0);
        for (auto& word : data) word = static_cast<uint32_t>(rng());
        uint32_t valid = 0;
        for (int k = 0; k < n_in; ++k) {
            if (inputs[k].empty() || percent(rng) < in_stall[k]) continue;
            valid |= 1u << k;
            for (int i = 0; i < width; ++i) {
                int bit = k * width + i;
                uint32_t mask = 1u << (bit % 32);
                data[bit / 32] = word_bit(inputs[k].front(), i) ? data[bit / 32] | mask : data[bit / 32] & ~mask;
            }
        }
        set_port(top.s_axis_tdata, data);
        top.s_axis_tvalid = valid;
        bool ready = received >= expected || percent(rng) >= out_stall;
        top.m_axis_tready = ready;
        top.eval();
        bool any = false;
        std::vector<int> fired;
        for (int k = 0; k < n_in; ++k) {
            if (!((valid >> k) & 1u) || !get_bit(top.s_axis_tready, k)) continue;
            std::fprintf(out, "I %d %ld\n", k, cycle);
            fired.push_back(k);
            any = true;
        }
        if (top.m_axis_tvalid && ready) {
            std::fprintf(out, "O %ld %s\n", cycle, hex_slice(top.m_axis_tdata, 0, width).c_str());
            ++received;
            any = true;
        }
        top.ap_clk = 1;
        top.eval();
        for (int k : fired) inputs[k].pop_front();
        if (context.gotFinish()) {
            std::fclose(out);
            std::fprintf(stderr, "the design called $finish at cycle %ld\n", cycle);
            return 4;
        }
        ++cycle;
        if (received >= expected) {
            ++drain;
            continue;
        }
        idle = any ? 0 : idle + 1;
        if (idle > max_idle) {
            std::fclose(out);
            std::fprintf(stderr, "no transfer for %ld cycles at cycle %ld (%ld of %ld beats out)\n", max_idle, cycle,
                         received, expected);
            return 3;
        }
    }
    std::fclose(out);
    return 0;
}
