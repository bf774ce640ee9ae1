#include "tools/Commands.hpp"

#include "model/TappedModel.hpp"
#include "pipeline/Bench.hpp"
#include "pipeline/PipelineBench.hpp"
#include "hpc/Mpi.hpp"
#include "hpc/Shard.hpp"
#include "io/PathPolicy.hpp"
#include "io/RasterReader.hpp"
#include "io/RunConfig.hpp"
#include "io/SyntheticScene.hpp"
#include "cowc/Annotations.hpp"
#include "cowc/CountingList.hpp"
#include "cowc/PatchCutting.hpp"
#include "cowc/Synthetic.hpp"
#include "cowc/CountingConfig.hpp"
#include "cowc/CountingEval.hpp"
#include "cowc/CountingMetrics.hpp"
#include "cowc/CountingTrainer.hpp"
#include "pipeline/BandScaling.hpp"
#include "methods/MethodOptions.hpp"
#include "pipeline/Explain.hpp"
#include "pipeline/MethodsBench.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/SceneResume.hpp"
#include "pipeline/SceneRun.hpp"
#include "pipeline/Seams.hpp"
#include "pipeline/Version.hpp"
#include "saliency/Normalize.hpp"
#include "saliency/Statistics.hpp"
#include "tools/Progress.hpp"

#include <boost/program_options.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>


namespace po = boost::program_options;

namespace satsal::cli {
namespace {

/// The result of a counting scene, the last thing a run prints for it (stdout, even with --quiet):
/// "satsal: <scene>: counted N cars, annotated M, error E% -> <folder>"; without annotations
/// "counted N cars, not annotated"; E = |N - M| / M as in count-summary.json.
std::string count_result_line(const SceneOutcome& scene) {
    std::string line = "satsal: " + scene.scene + ": counted " + std::to_string(scene.count_predicted) + " cars, ";
    if (scene.count_true < 0) {
        line += "not annotated";
    } else {
        line += "annotated " + std::to_string(scene.count_true) + ", error ";
        if (scene.count_true == 0) {
            line += "undefined (no annotated cars)";
        } else {
            char percent[32];
            std::snprintf(percent, sizeof percent, "%.1f%%",
                          100.0 * std::abs(static_cast<double>(scene.count_predicted - scene.count_true)) /
                              static_cast<double>(scene.count_true));
            line += percent;
        }
    }
    return line + " -> " + scene.output_folder;
}

}  // namespace

/// What a scene run reports, on stderr: progress, notes and the scene summary unless quiet;
/// warnings always; failures always.
RunEvents terminal_events(bool quiet) {
    RunEvents events;
    events.warning = [](const std::string& text) { std::fprintf(stderr, "satsal: warning: %s\n", text.c_str()); };
    auto progress = std::make_shared<std::unique_ptr<Progress>>();
    events.scene_done = [quiet, progress](const SceneOutcome& scene) {
        progress->reset();
        if (!scene.ok) {
            std::fprintf(stderr, "satsal: scene failed: %s: %s\n", scene.scene.c_str(), scene.error.c_str());
        } else if (!quiet) {
            std::fprintf(stderr, "satsal: %s: %lld tiles (%lld nodata skipped), %.1f s, %.2f MP/s -> %s\n",
                         scene.scene.c_str(), static_cast<long long>(scene.tiles_total),
                         static_cast<long long>(scene.tiles_skipped), scene.seconds, scene.megapixels_per_second,
                         scene.output_folder.c_str());
        }
        if (scene.ok && scene.count_predicted >= 0) std::printf("%s\n", count_result_line(scene).c_str());
    };
    if (quiet) return events;
    events.note = [](const std::string& text) { std::fprintf(stderr, "satsal: %s\n", text.c_str()); };
    events.tiles = [progress](const std::string& scene, int64_t done, int64_t total) {
        if (!*progress) *progress = std::make_unique<Progress>(std::filesystem::path(scene).filename().string(), total);
        (*progress)->update(done);
        if (done == total) (*progress)->finish();
    };
    return events;
}


int run(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    std::string shard_text;
    bool print_config = false, quiet = false, restart = false, keys_markdown = false;
    po::options_description described("run options");
    described.add_options()
        ("config", po::value(&config_path), "INI config file (see configs/ and README)")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("shard", po::value(&shard_text), "run only shard I of N of the scenes (round-robin): --shard I/N; "
                                          "inside a Slurm array task the shard comes from SLURM_ARRAY_TASK_*")
        ("restart", po::bool_switch(&restart), "discard what an interrupted earlier run of a scene finished "
                                               "(by default the same command resumes it)")
        ("print-config", po::bool_switch(&print_config), "print the resolved config and exit")
        ("precision", po::value<std::string>(), "fp32|bf16|auto: the same as --set precision=...")
        ("device", po::value<std::string>(), "cpu|cuda|cuda:N: the same as --set device=...")
        ("quiet,q", po::bool_switch(&quiet), "no progress on stderr")
        ("keys-markdown", po::bool_switch(&keys_markdown), "print the config keys as the README's table and exit");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal run CONFIG [--set key=value ...] [--shard I/N] [--restart] [--print-config] [--quiet]\n\nconfig keys:\n" +
                   run_config_reference(),
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    if (keys_markdown) {
        std::cout << run_config_schema().markdown_table();
        return 0;
    }
    if (config_path.empty()) throw std::invalid_argument("satsal run: no config file given (see --help)");
    for (const char* key : {"precision", "device"}) {
        if (variables.count(key)) overrides.push_back(std::string(key) + "=" + variables[key].as<std::string>());
    }
    RunConfig config = load_run_config_preparing_inputs(config_path, overrides);
    if (quiet) config.quiet = true;
    const std::optional<hpc::Shard> shard =
        shard_text.empty() ? hpc::shard_from_slurm_environment() : hpc::parse_shard("--shard", shard_text);
    if (shard) {
        const size_t all = config.scenes.size();
        config.scenes = hpc::shard_scenes(config.scenes, *shard);
        if (!config.quiet) {
            std::fprintf(stderr, "satsal run: shard %s: %zu of %zu scenes\n", shard->text().c_str(),
                         config.scenes.size(), all);
        }
    }
    if (print_config) {
        std::cout << to_ini(config);
        return 0;
    }
    // SIGTERM (Slurm's warning, a job's end) and SIGINT stop the run at the next tile: the tiles in
    // flight are finished and journaled, and the same command resumes. A second signal kills.
    struct sigaction stop {};
    stop.sa_handler = [](int) { request_stop(); };
    stop.sa_flags = SA_RESETHAND;
    sigemptyset(&stop.sa_mask);
    sigaction(SIGTERM, &stop, nullptr);
    sigaction(SIGINT, &stop, nullptr);
    try {
        if (hpc::launched_under_mpi()) return run_with_mpi(config, terminal_events(config.quiet), restart);
        if (shard) return run_shard(config, *shard, terminal_events(config.quiet), restart);
        warn_single_thread_blas(config.threads);
        return report_outcome(run_scenes(config, terminal_events(config.quiet), restart));
    } catch (const RunInterrupted& stopped) {
        std::fprintf(stderr, "satsal run: interrupted: %s\n", stopped.what());
        return exit_interrupted;
    }
}

int report_outcome(const RunOutcome& outcome) {
    int failed = 0;
    for (const auto& scene : outcome.scenes) failed += scene.ok ? 0 : 1;
    if (failed) {
        std::fprintf(stderr, "satsal run: %d of %zu scenes failed\n", failed, outcome.scenes.size());
        return 1;
    }
    return 0;
}
}  // namespace satsal::cli
