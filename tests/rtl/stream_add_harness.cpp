// Drives the AXI-Stream join rtl_lib/stream_add.v (inputs a and b, one output m) in
// Verilator: feeds each input's beats from its own file with its own independent random
// gaps, and holds m_axis_tready low with random back-pressure.
// Arguments: a_input b_input output seed a_stall_percent b_stall_percent out_stall_percent
// out_width max_idle. Input lines are hex beats. Output lines are "A cycle" / "B cycle" for a
// beat accepted on input a / b and "O cycle hex" for a beat taken from the output (out_width
// bits). The run ends when the output has given as many beats as the shorter input holds,
// followed by 32 cycles with the output ready, so that an extra beat would show. Exit code 3
// means no transfer for max_idle cycles, 4 that the design called $finish (a failed parameter
// check; its message is on stdout).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "verilated.h"
#include TOP_HEADER

#include "../../bnncc/sim/stream_ports.h"

int main(int argc, char** argv) {
    if (argc < 10) {
        std::fprintf(stderr, "usage: %s a_input b_input output seed a_stall b_stall out_stall out_width max_idle\n",
                     argv[0]);
        return 2;
    }
    const std::vector<Words> a_beats = read_beats(argv[1]);
    const std::vector<Words> b_beats = read_beats(argv[2]);
    std::FILE* out = std::fopen(argv[3], "w");
    std::mt19937_64 rng(std::strtoull(argv[4], nullptr, 10));
    const int a_stall = std::atoi(argv[5]);
    const int b_stall = std::atoi(argv[6]);
    const int out_stall = std::atoi(argv[7]);
    const int out_width = std::atoi(argv[8]);
    const long max_idle = std::atol(argv[9]);
    std::uniform_int_distribution<int> percent(0, 99);

    VerilatedContext context;
    TOP_CLASS top(&context);
    top.ap_clk = 0;
    top.ap_rst_n = 0;
    top.a_axis_tvalid = 0;
    top.b_axis_tvalid = 0;
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
    const long expected = static_cast<long>(a_beats.size() < b_beats.size() ? a_beats.size() : b_beats.size());
    std::size_t next_a = 0, next_b = 0;
    long received = 0, cycle = 0, idle = 0, drain = 0;
    while (drain < 32) {
        top.ap_clk = 0;
        // The random draws happen every cycle, whether or not a beat is left to offer.
        bool a_offer = percent(rng) >= a_stall && next_a < a_beats.size();
        bool b_offer = percent(rng) >= b_stall && next_b < b_beats.size();
        bool ready = percent(rng) >= out_stall || received >= expected;
        top.a_axis_tvalid = a_offer;
        if (a_offer) set_port(top.a_axis_tdata, a_beats[next_a]);
        top.b_axis_tvalid = b_offer;
        if (b_offer) set_port(top.b_axis_tdata, b_beats[next_b]);
        top.m_axis_tready = ready;
        top.eval();
        bool a_fire = top.a_axis_tvalid && top.a_axis_tready;
        bool b_fire = top.b_axis_tvalid && top.b_axis_tready;
        bool o_fire = top.m_axis_tvalid && ready;
        if (a_fire) std::fprintf(out, "A %ld\n", cycle);
        if (b_fire) std::fprintf(out, "B %ld\n", cycle);
        if (o_fire) {
            std::fprintf(out, "O %ld %s\n", cycle, hex_slice(top.m_axis_tdata, 0, out_width).c_str());
            ++received;
        }
        top.ap_clk = 1;
        top.eval();
        if (a_fire) ++next_a;
        if (b_fire) ++next_b;
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
        idle = (a_fire || b_fire || o_fire) ? 0 : idle + 1;
        if (idle > max_idle) {
            std::fclose(out);
            std::fprintf(stderr, "no transfer for %ld cycles at cycle %ld (%zu of %zu a, %zu of %zu b beats taken)\n",
                         max_idle, cycle, next_a, a_beats.size(), next_b, b_beats.size());
            return 3;
        }
    }
    std::fclose(out);
    return 0;
}
