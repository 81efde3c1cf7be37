// Shared by the Verilator harnesses (harness.cpp here, the multi-stream ones of tests/rtl):
// beats as hex text, and reading and writing Verilator ports of any width (ports of up to 64
// bits are integers, wider ones VlWide arrays of 32-bit words).
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "verilated.h"

using Words = std::vector<uint32_t>;

inline Words parse_hex(const std::string& text) {
    Words words;
    int end = static_cast<int>(text.size());
    while (end > 0) {
        int start = end - 8 > 0 ? end - 8 : 0;
        words.push_back(static_cast<uint32_t>(std::stoul(text.substr(start, end - start), nullptr, 16)));
        end = start;
    }
    return words;
}

// Ports of up to 64 bits are integers, wider ones VlWide arrays of 32-bit words.
template <typename T> static void set_port(T& port, const Words& w) {
    uint64_t v = w.empty() ? 0 : w[0];
    if (w.size() > 1) v |= static_cast<uint64_t>(w[1]) << 32;
    port = static_cast<T>(v);
}
template <std::size_t N> static void set_port(VlWide<N>& port, const Words& w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = i < w.size() ? w[i] : 0;
}
template <typename T> static bool get_bit(const T& port, int i) {
    return (static_cast<uint64_t>(port) >> i) & 1u;
}
template <std::size_t N> static bool get_bit(const VlWide<N>& port, int i) {
    return (port[i / 32] >> (i % 32)) & 1u;
}

// Bits [lo, lo + width) of a port as hex without leading zeros.
template <typename T> static std::string hex_slice(const T& port, int lo, int width) {
    Words words((width + 31) / 32, 0);
    for (int i = 0; i < width; ++i)
        if (get_bit(port, lo + i)) words[i / 32] |= 1u << (i % 32);
    std::string out;
    char buf[16];
    bool leading = true;
    for (std::size_t i = words.size(); i-- > 0;) {
        if (leading && words[i] == 0 && i > 0) continue;
        std::snprintf(buf, sizeof buf, leading ? "%x" : "%08x", words[i]);
        out += buf;
        leading = false;
    }
    return out;
}

inline bool word_bit(const Words& w, int i) {
    return static_cast<std::size_t>(i / 32) < w.size() && ((w[i / 32] >> (i % 32)) & 1u);
}

inline std::vector<Words> read_beats(const char* path) {
    std::vector<Words> beats;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) beats.push_back(parse_hex(line));
    return beats;
}
