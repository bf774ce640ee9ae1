// The satsal command: parses arguments and calls the library (pipeline/, io/, model/).
// Each subcommand has its own option set; `satsal <command> --help` lists it.
#include "tools/Commands.hpp"

#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
    // Keep large activation buffers in the heap instead of a fresh mmap per allocation: with
    // glibc's defaults every batch page-faults all its activations again (FACTS.md: 53-56 vs
    // 33-40 ms per ResNet-50 image).
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    try {
        return satsal::cli::dispatch(argc, argv);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "satsal: error: %s\n", error.what());
        return 1;
    }
}
