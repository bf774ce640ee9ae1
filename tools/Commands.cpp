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

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int, char**);
};

const Command commands[] = {
    {"explain", "saliency maps of one image (GeoTIFF, PNG, JPEG) through a TorchScript CNN", explain},
    {"info", "the taps of a TorchScript model with their channels and strides", info},
    {"run", "whole scenes from a config file: tiled, streamed, georeferenced saliency rasters", run},
    {"seams", "per-layer seam error of tiled against whole-window computation", seams},
    {"make-scene", "write a deterministic synthetic overhead GeoTIFF of any size", make_scene},
    {"make-cowc", "write a deterministic synthetic COWC data set (scenes, annotations, patch sets)", make_cowc},
    {"cowc-patches", "cut COWC counting patch sets (and list files) from annotated scenes", cowc_patches},
    {"train-count", "train a COWC counting network in C++ from a config file", train_count},
    {"eval-count", "score a counting model on a COWC counting patch set", eval_count},
    {"slurm", "write an sbatch job-array script that splits a config's scenes over Slurm tasks", slurm},
    {"summarize", "merge the results of a batch's shards (Slurm array tasks) once all are done", summarize},
    {"evaluate", "KAR/ROAR (layer and image level) and ROAD saliency evaluation on COWC counting", evaluate},
    {"bench", "benchmarks: `bench smoe|forward|fidelity|pipeline|memory|methods`", bench},
};

void print_usage(std::FILE* out) {
    std::fprintf(out, "satsal %s: SMOE Scale saliency for satellite and aerial imagery\n\n",
                 satsal_version().c_str());
    std::fprintf(out, "usage: satsal <command> [options]   (satsal <command> --help for its options)\n\n");
    for (const auto& command : commands) std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
}

}  // namespace

std::string statistic_choices() {
    std::string out;
    for (const auto& name : statistic_names()) out += (out.empty() ? "" : "|") + name;
    return out;
}

/// Parses argv (after the command name) into `variables`; returns false when --help was given.
bool parse(const std::string& usage, const po::options_description& options, int argc, char** argv,
           po::variables_map& variables, const po::positional_options_description* positional) {
    po::options_description all(options);
    all.add_options()("help,h", "show this help");
    po::command_line_parser parser(argc, argv);
    parser.options(all);
    if (positional) parser.positional(*positional);
    try {
        po::store(parser.run(), variables);
        if (variables.count("help")) {
            std::cout << usage << "\n\n" << all << "\n";
            return false;
        }
        po::notify(variables);
    } catch (const po::error& error) {
        throw std::invalid_argument(std::string(error.what()) + " (see --help)");
    }
    return true;
}

RunConfig load_run_config_preparing_inputs(const std::string& path, const std::vector<std::string>& overrides) {
    const ParsedRunConfig parsed = read_run_config(path, overrides);
    if (!parsed.config.synthetic_cowc.empty()) {
        try {
            cowc::ensure_synthetic_cowc_demo(parsed.config.synthetic_cowc, [](const std::string& text) {
                std::fprintf(stderr, "satsal: %s\n", text.c_str());
            });
        } catch (const std::exception& problem) {
            parsed.fail("synthetic_cowc", std::string("synthetic_cowc: ") + problem.what());
        }
    }
    return resolve_run_config(parsed);
}

int checked_threads(int threads) { return config::checked_thread_count("--threads", threads); }

namespace {

std::string method_choices() {
    std::string out;
    for (const auto& name : method_names()) out += (out.empty() ? "" : "|") + name;
    return out;
}

}  // namespace

void add_method_options(po::options_description& described, MethodOptions& options, std::string& method,
                        std::string& reduce, int64_t& target_class) {
    described.add_options()
        ("method", po::value(&method)->default_value("smoe"), method_choices().c_str())
        ("smoothgrad-sq", po::bool_switch(&options.smoothgrad_sq), "SmoothGrad-Sq over gradient, guided-backprop or integrated-gradients")
        ("class", po::value(&target_class)->default_value(-1), "class whose logit is the score (default: the predicted class)")
        ("steps", po::value(&options.steps)->default_value(50), "integrated-gradients steps")
        ("baseline", po::value(&options.baseline)->default_value(0.0), "integrated-gradients baseline (network input units)")
        ("samples", po::value(&options.samples)->default_value(15), "SmoothGrad-Sq samples")
        ("noise", po::value(&options.noise)->default_value(0.15), "SmoothGrad-Sq sigma as a fraction of the input's max - min")
        ("seed", po::value(&options.seed)->default_value(0), "SmoothGrad-Sq noise seed")
        ("reduce", po::value(&reduce)->default_value("abs-max"), "attribution over input channels: abs-max|sum-abs")
        ("cam-tap", po::value(&options.cam_tap), "Grad-CAM tap (default: the last tap)")
        ("method-batch", po::value(&options.max_batch)->default_value(8), "images per gradient pass (IG steps, SmoothGrad samples)");
}

void finish_method_options(MethodOptions& options, const std::string& method, const std::string& reduce,
                           int64_t target_class) {
    options.method = parse_method(method);
    options.reduction = parse_channel_reduction(reduce);
    if (target_class >= 0) options.target_class = target_class;
    else if (target_class != -1) throw std::invalid_argument("--class " + std::to_string(target_class) + ": expected a class index >= 0");
    validate(options);
}

int dispatch(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::printf("satsal %s\n", satsal_version().c_str());
        return 0;
    }
    use_simple_jit_executor();  // see model/TappedModel.hpp
    for (const auto& command : commands) {
        if (std::strcmp(argv[1], command.name) == 0) return command.run(argc - 1, argv + 1);
    }
    std::fprintf(stderr, "satsal: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return 2;
}

}  // namespace satsal::cli
