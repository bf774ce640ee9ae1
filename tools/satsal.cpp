// The satsal command: parses arguments and calls the library (pipeline/, io/, model/).
// Each subcommand has its own option set; `satsal <command> --help` lists it.
#include "tools/Commands.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
    // LibTorch's OpenMP workers spin between parallel regions by default; next to the flow
    // graph's own threads (reading, statistics, writing) on few cores that spinning starves
    // everything else (measured here: 91.6 s vs 74.6 s for the same scene run, and 6.5 vs 33
    // training images/s on a loaded 2-core machine). libgomp reads its policy only at start-up,
    // so the process re-executes itself once with OMP_WAIT_POLICY=PASSIVE unless the user chose
    // a policy.
    if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
        ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        ::execv("/proc/self/exe", argv);
        // exec failed (no /proc): carry on with the default policy.
    }
    // Keep large activation buffers in the heap instead of a fresh mmap per allocation: with
    // glibc's defaults every batch page-faults all its activations again (measured: 53-56 vs
    // 33-40 ms per ResNet-50 image).
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    // One arena for all threads: glibc's per-thread arenas are 64 MB heaps, so an activation
    // allocated on a flow-graph worker (inference runs there) above that size is a fresh mmap
    // whatever the threshold, and the scene run's forward passes were 34% slower than the same
    // passes on the main thread.
    mallopt(M_ARENA_MAX, 1);
    try {
        return satsal::cli::dispatch(argc, argv);
    } catch (const std::exception& error) {
        // LibTorch appends its C++ stack trace to messages; users need the first part only.
        std::string message = error.what();
        const auto trace = message.find("\nException raised from");
        if (trace != std::string::npos) message.resize(trace);
        std::fprintf(stderr, "satsal: error: %s\n", message.c_str());
        return 1;
    }
}
