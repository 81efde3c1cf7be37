// Drives the pins of a UART design in Verilator (ports clk, uart_rx, uart_tx, and rst_n when
// the top has one): plays a script on uart_rx bit by bit and decodes uart_tx into bytes (8N1,
// sampled mid-bit, as a host's UART would). Arguments: script output clks_per_bit
// max_idle_cycles. clks_per_bit, the length of a line bit in cycles of clk, may be
// fractional (a board top whose PLL model divides clk): bit k of a character starting at
// cycle c lasts from c + floor(k * clks_per_bit) to c + floor((k + 1) * clks_per_bit), and
// received bits are sampled at floor((k + 1/2) * clks_per_bit) after the start edge.
// Script lines, in order:
//   B hh   send byte hh (start bit, 8 data bits least significant first, stop bit)
//   F hh   send byte hh with a low stop bit (a framing error), then one idle bit time
//   I n    hold the line idle (high) for n cycles
//   L n    hold the line low for n cycles (a break), then high
//   W n    keep the line idle until n bytes have arrived in total
// Output lines: "hh cycle start" for every byte decoded on uart_tx: the cycle its stop bit was
// sampled and the cycle its start bit began (the falling edge). Exit code 3: a W waited
// max_idle_cycles without a byte; 4: the design called $finish; 5: uart_tx sent a character
// with a low stop bit.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "verilated.h"
#include TOP_HEADER

namespace {

// Cycles from the start of a character to the start of its bit k (or, for k + 1/2, to the
// middle of bit k).
long bit_offset(double clks, double k) { return static_cast<long>(std::floor(k * clks)); }

// Receives 8N1 characters from a line sampled once per cycle.
class Decoder {
  public:
    explicit Decoder(double clks) : clks_(clks) {}
    // -1: nothing yet; 0..255: a character ended; 256: a character with a low stop bit.
    int step(int line, long cycle) {
        if (state_ == kIdle) {
            if (!line) { state_ = kStart; start_ = cycle; }
            return -1;
        }
        // Bit k (0 start, 1..8 data, 9 stop) is sampled at its middle.
        const int k = state_ == kStart ? 0 : state_ == kStop ? 9 : bits_ + 1;
        if (cycle - start_ < bit_offset(clks_, k + 0.5)) return -1;
        switch (state_) {
            case kStart:
                if (line) { state_ = kIdle; return -1; }
                state_ = kData; bits_ = 0; value_ = 0;
                return -1;
            case kData:
                value_ |= line << bits_;
                if (++bits_ == 8) state_ = kStop;
                return -1;
            default:  // kStop
                state_ = kIdle;
                return line ? value_ : 256;
        }
    }
    long start() const { return start_; }

  private:
    enum State { kIdle, kStart, kData, kStop };
    double clks_;
    State state_ = kIdle;
    long start_ = 0;
    int bits_ = 0;
    int value_ = 0;
};

// Sets the top's rst_n when it has one (a board top has none: its PLL's lock resets it).
template <typename T>
auto set_reset(T& top, int value, int) -> decltype(top.rst_n = value, void()) { top.rst_n = value; }
template <typename T>
void set_reset(T&, int, long) {}

struct Bench {
    VerilatedContext context;
    TOP_CLASS top{&context};
    Decoder decoder;
    std::FILE* out;
    long cycle = 0;
    long received = 0;
    int error = 0;

    Bench(double clks, std::FILE* output) : decoder(clks), out(output) {}

    void tick(int rx) {
        top.uart_rx = rx;
        top.clk = 0;
        top.eval();
        top.clk = 1;
        top.eval();
        int got = decoder.step(top.uart_tx, cycle);
        if (got == 256) error = 5;
        if (got >= 0 && got < 256) {
            std::fprintf(out, "%02x %ld %ld\n", got, cycle, decoder.start());
            ++received;
        }
        if (context.gotFinish()) error = 4;
        ++cycle;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s script output clks_per_bit max_idle\n", argv[0]);
        return 2;
    }
    std::ifstream script(argv[1]);
    std::FILE* out = std::fopen(argv[2], "w");
    const double clks = std::atof(argv[3]);
    const long max_idle = std::atol(argv[4]);
    Bench bench(clks, out);
    set_reset(bench.top, 0, 0);
    for (int i = 0; i < 4; ++i) bench.tick(1);
    set_reset(bench.top, 1, 0);
    for (int i = 0; i < 64 && !bench.error; ++i) bench.tick(1);

    std::string line;
    while (!bench.error && std::getline(script, line)) {
        std::istringstream fields(line);
        char command = 0;
        std::string argument;
        fields >> command >> argument;
        if (command == 'B' || command == 'F') {
            const int value = static_cast<int>(std::stoul(argument, nullptr, 16));
            const long start = bench.cycle;
            for (int bit = 0; bit < 10 && !bench.error; ++bit) {
                const int level = bit == 0 ? 0 : bit == 9 ? (command == 'B') : (value >> (bit - 1)) & 1;
                while (bench.cycle - start < bit_offset(clks, bit + 1) && !bench.error) bench.tick(level);
            }
            if (command == 'F')
                while (bench.cycle - start < bit_offset(clks, 11) && !bench.error) bench.tick(1);
        } else if (command == 'I' || command == 'L') {
            const long cycles = std::atol(argument.c_str());
            for (long c = 0; c < cycles && !bench.error; ++c) bench.tick(command == 'I');
        } else if (command == 'W') {
            const long wanted = std::atol(argument.c_str());
            long last = bench.received, since = 0;
            while (bench.received < wanted && !bench.error) {
                bench.tick(1);
                since = bench.received == last ? since + 1 : 0;
                last = bench.received;
                if (since > max_idle) {
                    std::fprintf(stderr, "no byte on uart_tx for %ld cycles at cycle %ld (%ld of %ld bytes received)\n",
                                 max_idle, bench.cycle, bench.received, wanted);
                    std::fclose(out);
                    return 3;
                }
            }
        }
    }
    std::fclose(out);
    if (bench.error == 4) std::fprintf(stderr, "the design called $finish at cycle %ld\n", bench.cycle);
    if (bench.error == 5) std::fprintf(stderr, "uart_tx sent a character with a low stop bit at cycle %ld\n", bench.cycle);
    return bench.error;
}
