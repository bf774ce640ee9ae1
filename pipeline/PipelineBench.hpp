#pragma once
// `satsal bench pipeline` and `satsal bench memory`: end-to-end scene throughput against the bare
// network on the same tiles, and peak memory as scenes grow. Benchmarks print figures; nothing
// here asserts a target.
#include "io/RunConfig.hpp"
#include "pipeline/RunEvents.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

struct PipelineBenchResult {
    std::string scene;
    int64_t width = 0, height = 0, tiles = 0, tile_input = 0;
    int batch_size = 0, threads = 0;
    double pipeline_seconds = 0;  // satsal run on the scene, end to end: model load and probing,
                                  // both passes, every output file
    double setup_seconds = 0;     // of which loading and probing the model, before the scene
    double bare_seconds = 0;      // forward_plain alone on every tile of the run's grid (nodata
                                  // tiles too, which the run skips), same batch, threads and
                                  // precision; reading and scaling the tiles not timed
    double pipeline_cpu_seconds = 0, bare_cpu_seconds = 0;  // process CPU (all threads) of each
    double load_before = 0, load_after = 0;  // 1-minute load average of the machine
    double peak_rss_mb = 0;       // of this process, after both
    double ratio() const { return bare_seconds / pipeline_seconds; }  // target >= 0.95
    double cpu_ratio() const { return bare_cpu_seconds / pipeline_cpu_seconds; }
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// Runs the config's first scene through run_scenes, then the bare forward pass on as many
/// random tiles of the same input size, in batches of the same size.
PipelineBenchResult bench_pipeline(const RunConfig& config, const RunEvents& events = {});

struct MemoryBenchResult {
    std::vector<int64_t> sizes;
    std::vector<double> peak_rss_mb;  // per size, of a child `satsal run` process
    std::vector<double> seconds;
    nlohmann::ordered_json to_json() const;
    std::string to_text() const;
};

/// For each square size: writes a synthetic scene (a VRT mosaic of one rendered tile, so any size
/// costs seconds), runs `satsal_binary run` on it in a child process with the given config
/// overrides, and reads the child's peak RSS (wait4). work_dir receives scenes and outputs.
MemoryBenchResult bench_memory(const std::string& satsal_binary, const std::string& model,
                               const std::vector<int64_t>& sizes, const std::vector<std::string>& overrides,
                               const std::string& work_dir);

/// Peak resident set size of this process in MB (getrusage).
double peak_rss_mb();

}  // namespace satsal
