// Elaborates a Verilog top without ports: runs its initial blocks once (the rtl_lib
// parameter checks print their messages to stdout) and exits 0, or 4 if one called $finish.
#include "verilated.h"
#include TOP_HEADER

int main(int argc, char** argv) {
    VerilatedContext context;
    context.commandArgs(argc, argv);
    TOP_CLASS top(&context);
    top.eval();
    return context.gotFinish() ? 4 : 0;
}
