#pragma once
// `satsal bench methods`: the cost of each saliency method against the bare forward pass and
// against SMOE, on the same model, batch and input, in one process (the paper's comparison:
// SMOE Scale at least 97x cheaper than guided backprop, Sec. 4.1).
#include "methods/MethodOptions.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace satsal {

struct MethodsBenchOptions {
    std::string model_path;
    std::vector<std::string> taps;  // empty: auto-detect (the SMOE taps; Grad-CAM uses the last)
    int batch = 8;
    int size = 224;
    int runs = 3;        // timed repetitions (medians)
    int warmup = 1;
    int cheap_repeats = 5;  // forward and SMOE rows run this many times per repetition (their
                            // difference is ~1% of a forward: more samples against noise)
    int threads = 2;     // 0: all cores
    int steps = 50;      // IG steps actually run (the figure is also scaled to `full_steps`)
    int samples = 15;    // SmoothGrad-Sq samples actually run (scaled to `full_samples`)
    int full_steps = 50;
    int full_samples = 15;
    bool smoothgrad = true;  // include the SmoothGrad-Sq rows
};

struct MethodsBenchRow {
    std::string name;
    std::string what;          // what one pass does
    double wall_ms = 0;        // median wall-clock ms per image as run
    double cpu_ms = 0;         // median process CPU ms per image as run (all threads)
    double scale = 1;          // full_steps / steps, full_samples / samples, or both
    int samples = 0;           // timings the medians are over
    double ms(bool cpu) const { return (cpu ? cpu_ms : wall_ms) * scale; }  // at the full counts
};

struct MethodsBenchResult {
    int batch = 0, size = 0, runs = 0, threads = 0;
    int steps = 0, samples = 0, full_steps = 0, full_samples = 0;
    // rows[0] forward, rows[1] smoe (forward with taps + statistic), rows[2] the SMOE statistic
    // alone on taps computed beforehand, then smoe+combine and the gradient methods.
    std::vector<MethodsBenchRow> rows;
    /// SMOE's extra cost over the forward: smoe - forward (from_statistic false), or the statistic
    /// timed alone (true; what the paper counts, since the taps are tensors the forward makes anyway).
    double smoe_extra_ms(bool cpu, bool from_statistic) const;
    /// (row - forward) / smoe_extra_ms; NaN when that is not positive.
    double relative_extra(const MethodsBenchRow& row, bool cpu, bool from_statistic) const;
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// Runs every method `warmup + runs` times on one random batch, the methods interleaved within
/// each repetition so that machine drift hits all alike. Targets (the predicted classes) are
/// computed once beforehand, as a single pass would get them for free from its own logits.
MethodsBenchResult bench_methods(const MethodsBenchOptions& options);

}  // namespace satsal
