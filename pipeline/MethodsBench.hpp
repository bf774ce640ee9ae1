#pragma once
// `satsal bench methods`: the cost of each saliency method against the bare forward pass and
// against SMOE, on the same model, batch and input, in one process (the paper's comparison:
// SMOE Scale at least 97x cheaper than guided backprop, Sec. 4.1).
#include "methods/MethodOptions.hpp"
#include "pipeline/Json.hpp"

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
    double measured_ms = 0;    // median ms per image as run
    double scale = 1;          // full_steps / steps, full_samples / samples, or both
    double ms() const { return measured_ms * scale; }  // ms per image at the full step/sample counts
};

struct MethodsBenchResult {
    int batch = 0, size = 0, runs = 0, threads = 0;
    int steps = 0, samples = 0, full_steps = 0, full_samples = 0;
    std::vector<MethodsBenchRow> rows;  // rows[0] forward, rows[1] smoe
    double forward_ms() const { return rows.at(0).ms(); }
    double smoe_extra_ms() const { return rows.at(1).ms() - rows.at(0).ms(); }
    /// (method - forward) / (smoe - forward); NaN when SMOE's extra cost is not positive.
    double relative_extra(const MethodsBenchRow& row) const;
    Json to_json() const;
    std::string to_text() const;
};

/// Runs every method `warmup + runs` times on one random batch, the methods interleaved within
/// each repetition so that machine drift hits all alike. Targets (the predicted classes) are
/// computed once beforehand, as a single pass would get them for free from its own logits.
MethodsBenchResult bench_methods(const MethodsBenchOptions& options);

}  // namespace satsal
