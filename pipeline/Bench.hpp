#pragma once
// `satsal bench smoe`: the cost of SMOE taps against the bare forward pass, in one process.
#include <nlohmann/json.hpp>
#include "saliency/Statistics.hpp"

#include <string>
#include <vector>

namespace satsal {

struct SmoeBenchOptions {
    std::string model_path;
    std::vector<std::string> taps;  // empty: auto-detect
    Statistic statistic = Statistic::Smoe;
    int batch = 8;
    int size = 224;
    int runs = 10;    // timed repetitions (at least 10)
    int warmup = 3;
    int threads = 0;  // 0: all cores
};

struct SmoeBenchResult {
    int batch = 0, size = 0, runs = 0, threads = 0;
    // Medians over runs, milliseconds per image.
    double forward_ms = 0;         // the plain module forward
    double tapped_forward_ms = 0;  // forward with tap capture
    double statistic_ms = 0;       // the statistic over every tap
    double total_ms = 0;           // tapped forward + statistic, per run
    double ratio() const { return total_ms / forward_ms; }            // (forward+taps+SMOE) / forward
    double statistic_overhead() const { return statistic_ms / forward_ms; }  // SMOE alone / forward
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// Interleaves plain and tapped passes (same random batch) so machine drift hits both alike.
SmoeBenchResult bench_smoe(const SmoeBenchOptions& options);

}  // namespace satsal
