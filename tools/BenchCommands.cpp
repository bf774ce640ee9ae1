#include "tools/Commands.hpp"
#include "tools/PrecisionArguments.hpp"

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
#include "pipeline/CountOutputs.hpp"
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
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>


namespace po = boost::program_options;

namespace satsal::cli {

namespace {

int bench_smoe_command(int argc, char** argv) {
    SmoeBenchOptions options;
    std::string taps, statistic, precision;
    bool json = false, optimize = false;
    po::options_description described("bench smoe options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("statistic", po::value(&statistic)->default_value("smoe"), statistic_choices().c_str())
        ("batch", po::value(&options.batch)->default_value(8), "images per forward pass")
        ("size", po::value(&options.size)->default_value(224), "input width and height")
        ("runs", po::value(&options.runs)->default_value(10), "timed repetitions (at least 10)")
        ("warmup", po::value(&options.warmup)->default_value(3), "untimed repetitions first")
        ("threads", po::value(&options.threads)->default_value(2), "LibTorch intra-op threads (0: all cores)")
        ("precision", po::value(&precision)->default_value("auto"), "fp32|bf16|auto (see satsal explain --help)")
        ("optimize", po::bool_switch(&optimize), "frozen + optimize_for_inference segments cut at the taps")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::variables_map variables;
    if (!parse("usage: satsal bench smoe --model M.pt [options]", described, argc, argv, variables)) return 0;
    checked_threads(options.threads);
    options.precision = parse_precision(precision);
    options.optimize = optimize;
    options.taps = parse_name_list(taps);
    options.statistic = parse_statistic(statistic);
    const SmoeBenchResult result = bench_smoe(options);
    std::cout << (json ? result.to_json().dump(2) + "\n" : result.to_text());
    return 0;
}

int bench_forward_command(int argc, char** argv) {
    ForwardBenchOptions options;
    bool json = false, no_bf16 = false;
    po::options_description described("bench forward options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("batch", po::value(&options.batch)->default_value(8), "images per forward pass")
        ("size", po::value(&options.size)->default_value(224), "input width and height")
        ("runs", po::value(&options.runs)->default_value(5), "timed rounds (every variant once per round)")
        ("warmup", po::value(&options.warmup)->default_value(2), "untimed rounds first")
        ("threads", po::value(&options.threads)->default_value(2), "LibTorch intra-op threads (0: all cores)")
        ("no-bf16", po::bool_switch(&no_bf16), "skip the bf16 variants")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::variables_map variables;
    if (!parse("usage: satsal bench forward --model M.pt [--batch 8] [--size 224]", described, argc, argv,
               variables)) {
        return 0;
    }
    options.include_bf16 = !no_bf16;
    const ForwardBenchResult result = bench_forward(options);
    std::cout << (json ? result.to_json().dump() + "\n" : result.to_text());
    return 0;
}

int bench_fidelity_command(int argc, char** argv) {
    FidelityOptions options;
    bool json = false;
    po::options_description described("bench fidelity options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("image", po::value(&options.images)->composing(), "input raster (centre crop of --size); repeatable")
        ("images", po::value(&options.random_images)->default_value(8), "random N(0,1) inputs when no --image")
        ("size", po::value(&options.size)->default_value(224), "input width and height")
        ("weights", po::value(&options.weights)->default_value("equal"), "layer weights of the combined map")
        ("threads", po::value(&options.threads)->default_value(2), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::variables_map variables;
    if (!parse("usage: satsal bench fidelity --model M.pt [--image IMG ...] [--images 8] [--size 224]", described,
               argc, argv, variables)) {
        return 0;
    }
    const FidelityResult result = bench_fidelity(options);
    std::cout << (json ? result.to_json().dump() + "\n" : result.to_text());
    return 0;
}

int bench_pipeline_command(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    bool json = false;
    po::options_description described("bench pipeline options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "run config; its first scene is used")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal bench pipeline CONFIG [--set key=value ...] [--json]", described, argc, argv,
               variables, &positional)) {
        return 0;
    }
    const RunConfig config = load_run_config_preparing_inputs(config_path, overrides);
    const PipelineBenchResult result = bench_pipeline(config, terminal_events(config.quiet));
    std::cout << (json ? result.to_json().dump(2) + "\n" : result.to_text());
    return 0;
}

int bench_memory_command(int argc, char** argv) {
    std::string model, sizes_text = "4096,32768", work_dir = "bench-memory";
    std::vector<std::string> overrides;
    bool json = false;
    po::options_description described("bench memory options");
    described.add_options()
        ("model", po::value(&model)->required(), "TorchScript model (a small one keeps the run short)")
        ("sizes", po::value(&sizes_text)->default_value("4096,32768"), "square scene sizes, smallest first")
        ("set", po::value(&overrides)->composing(), "config overrides for every run, e.g. --set output_scale=4")
        ("work-dir", po::value(&work_dir)->default_value("bench-memory"), "where scenes and outputs go")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::variables_map variables;
    if (!parse("usage: satsal bench memory --model M.pt [--sizes 4096,32768] [--set key=value ...]", described,
               argc, argv, variables)) {
        return 0;
    }
    std::vector<int64_t> sizes;
    for (const auto& item : parse_name_list(sizes_text)) sizes.push_back(std::stoll(item));
    const std::string binary = std::filesystem::canonical("/proc/self/exe").string();
    const MemoryBenchResult result = bench_memory(binary, model, sizes, overrides, work_dir);
    std::cout << (json ? result.to_json().dump(2) + "\n" : result.to_text());
    return 0;
}

int bench_methods_command(int argc, char** argv) {
    MethodsBenchOptions options;
    std::string taps;
    bool json = false, no_smoothgrad = false;
    po::options_description described("bench methods options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect; Grad-CAM uses the last)")
        ("batch", po::value(&options.batch)->default_value(8), "images per pass")
        ("size", po::value(&options.size)->default_value(224), "input width and height")
        ("steps", po::value(&options.steps)->default_value(50), "IG steps to run (scaled to 50 in the figures)")
        ("samples", po::value(&options.samples)->default_value(15), "SmoothGrad-Sq samples to run (scaled to 15)")
        ("no-smoothgrad", po::bool_switch(&no_smoothgrad), "leave out the SmoothGrad-Sq rows")
        ("runs", po::value(&options.runs)->default_value(3), "timed repetitions (medians)")
        ("warmup", po::value(&options.warmup)->default_value(1), "untimed repetitions first")
        ("cheap-repeats", po::value(&options.cheap_repeats)->default_value(5), "forward/SMOE timings per repetition")
        ("threads", po::value(&options.threads)->default_value(2), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::variables_map variables;
    if (!parse("usage: satsal bench methods --model M.pt [--batch 8] [--size 224] [--steps 50] [--samples 15]", described,
               argc, argv, variables)) {
        return 0;
    }
    options.taps = parse_name_list(taps);
    options.smoothgrad = !no_smoothgrad;
    const MethodsBenchResult result = bench_methods(options);
    std::cout << (json ? result.to_json().dump(2) + "\n" : result.to_text());
    return 0;
}

/// Saliency on annotated cars, SMOE against the gradient methods, on the scenes of a counting (or
/// annotated) config: one run per method into <output_dir>-<method>/, the ratios from each run.json.
int bench_cars_command(int argc, char** argv) {
    std::string config_path, methods_text;
    std::vector<std::string> overrides;
    bool json = false;
    po::options_description described("bench cars options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "run config with annotated scenes (e.g. configs/cowc-demo.ini)")
        ("methods", po::value(&methods_text)->default_value("fastcam,gradient"),
         "methods to run, comma separated (fastcam also gives Grad-CAM; every run gives SMOE)")
        ("set", po::value(&overrides)->composing(), "key=value overriding the config (repeatable)")
        ("json", po::bool_switch(&json), "print JSON instead of text");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal bench cars CONFIG [--methods fastcam,gradient] [--set key=value ...]", described, argc,
               argv, variables, &positional)) {
        return 0;
    }
    const std::vector<std::string> methods = parse_name_list(methods_text);
    if (methods.empty()) throw std::invalid_argument("--methods: expected method names separated by commas");
    for (const std::string& method : methods) parse_method(method);  // an unknown name fails before any run
    // Loaded with the first method so that its parameters (--set cam_tap=...) are accepted.
    std::vector<std::string> base_overrides = overrides;
    base_overrides.push_back("method=" + methods.front());
    const RunConfig base = load_run_config_preparing_inputs(config_path, base_overrides);
    nlohmann::ordered_json table = nlohmann::ordered_json::array();
    bool smoe_done = false;
    for (const std::string& method : methods) {
        std::vector<std::string> run_overrides = overrides;
        run_overrides.push_back("method=" + method);
        run_overrides.push_back("output_dir=" + base.output_dir + "-" + method);
        run_overrides.push_back("quiet=true");
        const RunOutcome outcome = run_scenes(load_run_config_preparing_inputs(config_path, run_overrides));
        for (const SceneOutcome& scene : outcome.scenes) {
            if (!scene.ok) throw std::runtime_error(scene.scene + ": method " + method + " failed: " + scene.error);
            std::ifstream file(scene.output_folder + "/run.json");
            const nlohmann::ordered_json report = nlohmann::ordered_json::parse(file);
            if (!report.contains("saliency_on_cars") || !report["saliency_on_cars"].contains("combined_ratio")) {
                throw std::runtime_error(scene.scene + ": no saliency on cars in run.json (annotations and "
                                         "output_scale = 1 are needed)");
            }
            if (!smoe_done) {
                table.push_back({{"scene", scene.name}, {"map", "smoe"}, {"ratio", report["saliency_on_cars"]["combined_ratio"]}});
            }
            for (const auto& [map, ratio] : report["method"]["saliency_on_cars"].items()) {
                table.push_back({{"scene", scene.name}, {"map", map}, {"ratio", ratio}, {"method", report["method"]["method"]}});
            }
        }
        smoe_done = true;
    }
    if (json) {
        std::cout << table.dump(2) << "\n";
        return 0;
    }
    std::cout << "saliency on cars: mean within " << CarSaliency::kCarCoreRadius
              << " px of an annotated car centre / mean farther than " << CarSaliency::kCarClearRadius << " px\n";
    for (const auto& row : table) {
        char line[256];
        std::snprintf(line, sizeof line, "%-24s %-28s %8.3f\n", row["scene"].get<std::string>().c_str(),
                      row["map"].get<std::string>().c_str(), row["ratio"].get<double>());
        std::cout << line;
    }
    return 0;
}

}  // namespace

int bench(int argc, char** argv) {
    const char* usage = "usage: satsal bench smoe|forward|fidelity|pipeline|memory|methods|cars [options] (--help for each)\n";
    if (argc < 2) {
        std::fputs(usage, stderr);
        return 2;
    }
    if (std::strcmp(argv[1], "smoe") == 0) return bench_smoe_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "forward") == 0) return bench_forward_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "fidelity") == 0) return bench_fidelity_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "pipeline") == 0) return bench_pipeline_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "memory") == 0) return bench_memory_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "methods") == 0) return bench_methods_command(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "cars") == 0) return bench_cars_command(argc - 1, argv + 1);
    std::fputs(usage, stderr);
    return 2;
}
}  // namespace satsal::cli
