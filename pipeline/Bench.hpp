#pragma once
// `satsal bench smoe`: the cost of SMOE taps against the bare forward pass, in one process.
// `satsal bench forward`: ms/image of each precision and layout this CPU offers.
// `satsal bench fidelity`: bf16 against fp32 through the SMOE maps.
#include "model/Precision.hpp"
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
    Precision precision = Precision::Auto;
    bool optimize = false;  // frozen + optimize_for_inference (see model/TappedModel.hpp)
};

struct SmoeBenchResult {
    int batch = 0, size = 0, runs = 0, threads = 0;
    std::string precision, precision_reason, optimization;
    // Medians over runs, milliseconds per image.
    double forward_ms = 0;         // the plain module forward
    double tapped_forward_ms = 0;  // forward with tap capture
    double statistic_ms = 0;       // the statistic over every tap, after the forward
    double total_ms = 0;           // tapped forward + statistic after it, per run
    double fused_statistic_ms = 0; // the statistic on each tap as soon as it is produced (summed)
    double fused_total_ms = 0;     // the forward with the fused statistic, whole
    double ratio() const { return fused_total_ms / forward_ms; }  // (forward+taps+SMOE) / forward
    double statistic_overhead() const { return fused_statistic_ms / forward_ms; }  // SMOE alone / forward
    double statistic_after_overhead() const { return statistic_ms / forward_ms; }
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// Interleaves plain and tapped passes (same random batch) so machine drift hits both alike.
SmoeBenchResult bench_smoe(const SmoeBenchOptions& options);

struct ForwardBenchOptions {
    std::string model_path;
    int batch = 8;
    int size = 224;
    int runs = 5;  // timed rounds; every variant runs once per round (interleaved)
    int warmup = 2;
    int threads = 0;
    bool include_bf16 = true;  // also on CPUs without native BF16 (then emulated, and labelled so)
};

struct ForwardVariant {
    std::string name;          // "fp32", "fp32 channels-last", "fp32 frozen", "bf16 channels-last", ...
    std::string optimization;  // TappedModel::optimization()
    double plain_best_ms = 0, plain_median_ms = 0;    // module forward, per image
    double tapped_best_ms = 0, tapped_median_ms = 0;  // forward with tap capture, per image
};

struct ForwardBenchResult {
    int batch = 0, size = 0, runs = 0, threads = 0;
    std::string cpu;          // CpuFeatures::text()
    std::string auto_choice;  // what precision = auto picks here, and why
    std::vector<ForwardVariant> variants;
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// Loads one TappedModel per variant and times them round-robin on the same random batch.
ForwardBenchResult bench_forward(const ForwardBenchOptions& options);

/// `satsal bench fidelity`: bf16 against fp32 on the same inputs, through the SMOE maps.
struct FidelityOptions {
    std::string model_path;
    std::vector<std::string> images;  // centre crops of these rasters (ImageNet scaling); empty: random
    int random_images = 8;            // N(0,1) inputs when no images are given
    int size = 224;
    int threads = 2;
    std::string weights = "equal";
};

struct FidelityResult {
    int inputs = 0, size = 0;
    std::vector<std::string> taps;
    std::vector<double> spearman_min, spearman_mean;  // per tap: raw SMOE maps, bf16 vs fp32
    double combined_max_error = 0;  // combined map (gauss-normalized, upsampled, weighted), in [0, 1] units
    double combined_p99_error = 0;  // 99th percentile of |difference| over all pixels of all inputs
    double output_max_error = 0;    // network output, relative to its max magnitude
    int argmax_agreement = 0;       // inputs whose output arg-max (class) is the same
    std::string bf16_reason;
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

FidelityResult bench_fidelity(const FidelityOptions& options);

}  // namespace satsal
