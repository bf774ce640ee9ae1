#include "pipeline/PipelineBench.hpp"

#include "io/RasterReader.hpp"
#include "io/SyntheticScene.hpp"
#include "model/TappedModel.hpp"
#include "pipeline/BandScaling.hpp"
#include "pipeline/SceneRun.hpp"
#include "pipeline/Timing.hpp"
#include "tiling/TileGrid.hpp"

#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace satsal {

namespace {

double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double load_average() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : -1.0;
}

}  // namespace

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

nlohmann::ordered_json PipelineBenchResult::to_json() const {
    nlohmann::ordered_json json;
    json["scene"] = scene;
    json["size"] = std::vector<int64_t>{width, height};
    json["tiles"] = tiles;
    json["tile_input"] = tile_input;
    json["batch_size"] = batch_size;
    json["threads"] = threads;
    json["pipeline_seconds"] = pipeline_seconds;
    json["setup_seconds"] = setup_seconds;
    json["bare_forward_seconds"] = bare_seconds;
    json["throughput_ratio"] = ratio();
    json["pipeline_cpu_seconds"] = pipeline_cpu_seconds;
    json["bare_forward_cpu_seconds"] = bare_cpu_seconds;
    json["cpu_ratio"] = cpu_ratio();
    json["load_average"] = std::vector<double>{load_before, load_after};
    json["pipeline_megapixels_per_second"] = static_cast<double>(width * height) / 1e6 / pipeline_seconds;
    json["peak_rss_mb"] = peak_rss_mb;
    return json;
}

std::string PipelineBenchResult::to_text() const {
    char buffer[2048];
    std::snprintf(buffer, sizeof buffer,
                  "scene %s: %lldx%lld, %lld tiles of %lld px input, batch %d, %d threads\n"
                  "satsal run end to end:       %8.2f s  (%.3f MP/s; model load and probing %.2f s)\n"
                  "bare forward on same tiles:  %8.2f s\n"
                  "throughput ratio bare/run:   %8.3f  (target >= 0.95)\n"
                  "process CPU, run / bare:     %8.2f / %.2f s, ratio %.3f\n"
                  "load average before / after: %.2f / %.2f\n"
                  "peak RSS of this process:    %8.1f MB\n"
                  "(run: model load, both passes and every output; bare: the model's own forward on every\n"
                  " tile of the run's grid, same batch, threads and precision, tiles read beforehand)\n",
                  scene.c_str(), static_cast<long long>(width), static_cast<long long>(height),
                  static_cast<long long>(tiles), static_cast<long long>(tile_input), batch_size, threads,
                  pipeline_seconds, static_cast<double>(width * height) / 1e6 / pipeline_seconds, setup_seconds,
                  bare_seconds, ratio(), pipeline_cpu_seconds, bare_cpu_seconds, cpu_ratio(), load_before,
                  load_after, peak_rss_mb);
    return buffer;
}

PipelineBenchResult bench_pipeline(const RunConfig& config_in, const RunEvents& events) {
    if (config_in.scenes.empty()) throw std::invalid_argument("bench pipeline: the config names no scene");
    RunConfig config = config_in;
    config.scenes.resize(1);
    PipelineBenchResult result;
    result.scene = config.scenes[0];

    result.load_before = load_average();
    const double cpu_start = process_cpu_seconds();
    const auto start = Clock::now();
    const RunOutcome outcome = run_scenes(config, events);
    result.pipeline_seconds = seconds_since(start);
    result.pipeline_cpu_seconds = process_cpu_seconds() - cpu_start;
    result.setup_seconds = outcome.setup_seconds;
    const SceneOutcome& scene = outcome.scenes.at(0);
    if (!scene.ok) throw std::runtime_error("bench pipeline: the run failed: " + scene.error);

    // The bare network on as many tiles of the same size, same batch and threads.
    set_torch_threads(config.threads);
    TappedModel model(config.model, config.taps, false, make_inference_options(config.precision, config.device));
    RasterReader reader(config.scenes[0]);
    result.width = reader.width();
    result.height = reader.height();
    TileGridOptions options;
    options.tile_size = config.tile_size;
    options.margin = scene.margin;
    options.deepest_stride = model.deepest_stride();
    const TileGrid grid(reader.width(), reader.height(), options);
    result.tiles = grid.tile_count();
    result.tile_input = grid.input_size();
    result.batch_size = std::max(1, config.batch_size);
    result.threads = at::get_num_threads();
    // The same tiles: each tile's input window (zero outside the scene), scaled and standardized
    // like the run. Only the forward passes are timed.
    const BandScaling scaling = plan_band_scaling(config, reader);
    const int64_t side = grid.input_size();
    const int64_t bands = static_cast<int64_t>(scaling.bands.size());
    double forward_seconds = 0;
    std::vector<int64_t> tiles;
    for (int64_t i = 0; i < grid.tile_count(); ++i) tiles.push_back(i);
    for (std::size_t first = 0; first < tiles.size(); first += static_cast<std::size_t>(result.batch_size)) {
        const std::size_t n = std::min(tiles.size() - first, static_cast<std::size_t>(result.batch_size));
        torch::Tensor batch = torch::zeros({static_cast<int64_t>(n), bands, side, side});
        for (std::size_t i = 0; i < n; ++i) {
            const Tile tile = grid.tile(tiles[first + i]);
            const Window inside = tile.input.intersect(grid.scene());
            std::vector<float> pixels = reader.read_window(scaling.bands, static_cast<int>(inside.x),
                                                           static_cast<int>(inside.y), static_cast<int>(inside.width),
                                                           static_cast<int>(inside.height));
            scaling.to_unit(pixels.data(), inside.area());
            scaling.standardize(pixels.data(), inside.area());
            float* slot = batch[static_cast<int64_t>(i)].data_ptr<float>();
            for (int64_t b = 0; b < bands; ++b) {
                for (int64_t y = 0; y < inside.height; ++y) {
                    std::copy_n(pixels.data() + (b * inside.height + y) * inside.width, inside.width,
                                slot + (b * side + (y + inside.y - tile.input.y)) * side + (inside.x - tile.input.x));
                }
            }
        }
        const double cpu_before = process_cpu_seconds();
        const auto start = Clock::now();
        torch::Tensor out = model.forward_plain(batch);
        forward_seconds += seconds_since(start);
        result.bare_cpu_seconds += process_cpu_seconds() - cpu_before;
    }
    result.bare_seconds = forward_seconds;
    result.load_after = load_average();
    result.peak_rss_mb = peak_rss_mb();
    return result;
}

nlohmann::ordered_json MemoryBenchResult::to_json() const {
    nlohmann::ordered_json json;
    json["sizes"] = sizes;
    json["peak_rss_mb"] = peak_rss_mb;
    json["seconds"] = seconds;
    if (peak_rss_mb.size() >= 2) json["ratio_largest_to_smallest"] = peak_rss_mb.back() / peak_rss_mb.front();
    return json;
}

std::string MemoryBenchResult::to_text() const {
    std::string out = "peak RSS of `satsal run` by scene size (child processes):\n";
    char line[256];
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        std::snprintf(line, sizeof line, "  %6lld x %-6lld  %8.1f MB  %8.1f s\n", static_cast<long long>(sizes[i]),
                      static_cast<long long>(sizes[i]), peak_rss_mb[i], seconds[i]);
        out += line;
    }
    if (sizes.size() >= 2) {
        std::snprintf(line, sizeof line, "ratio largest/smallest: %.3f (target <= 1.10, and under 2048 MB)\n",
                      peak_rss_mb.back() / peak_rss_mb.front());
        out += line;
    }
    return out;
}

MemoryBenchResult bench_memory(const std::string& satsal_binary, const std::string& model,
                               const std::vector<int64_t>& sizes, const std::vector<std::string>& overrides,
                               const std::string& work_dir) {
    fs::create_directories(work_dir);
    MemoryBenchResult result;
    for (int64_t size : sizes) {
        const std::string stem = (fs::path(work_dir) / ("scene-" + std::to_string(size))).string();
        SyntheticSceneOptions scene;
        scene.path = stem + ".vrt";
        scene.width = size;
        scene.height = size;
        scene.vrt = true;
        write_synthetic_scene(scene);
        const std::string config_path = stem + ".ini";
        {
            std::ofstream config(config_path);
            config << "model = " << fs::absolute(model).string() << "\n"
                   << "scene = " << fs::absolute(scene.path).string() << "\n"
                   << "output_dir = " << fs::absolute(fs::path(work_dir) / ("out-" + std::to_string(size))).string()
                   << "\nquiet = true\n";
            if (!config) throw std::runtime_error(config_path + ": cannot write");
        }
        std::vector<std::string> args = {satsal_binary, "run", config_path};
        for (const auto& o : overrides) {
            args.push_back("--set");
            args.push_back(o);
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const auto start = Clock::now();
        const pid_t child = fork();
        if (child < 0) throw std::runtime_error("bench memory: fork failed");
        if (child == 0) {
            execv(argv[0], argv.data());
            std::perror("bench memory: exec satsal");
            _exit(127);
        }
        int status = 0;
        rusage usage{};
        if (wait4(child, &status, 0, &usage) < 0) throw std::runtime_error("bench memory: wait4 failed");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            throw std::runtime_error("bench memory: `satsal run " + config_path + "` failed (status " +
                                     std::to_string(status) + ")");
        }
        result.sizes.push_back(size);
        result.seconds.push_back(seconds_since(start));
        result.peak_rss_mb.push_back(static_cast<double>(usage.ru_maxrss) / 1024.0);
    }
    return result;
}

}  // namespace satsal
