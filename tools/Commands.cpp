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
    {"bench", "benchmarks: `bench smoe|forward|fidelity|pipeline|memory|methods`", bench},
};

void print_usage(std::FILE* out) {
    std::fprintf(out, "satsal %s: SMOE Scale saliency for satellite and aerial imagery\n\n",
                 satsal_version().c_str());
    std::fprintf(out, "usage: satsal <command> [options]   (satsal <command> --help for its options)\n\n");
    for (const auto& command : commands) std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
}

std::string statistic_choices() {
    std::string out;
    for (const auto& name : statistic_names()) out += (out.empty() ? "" : "|") + name;
    return out;
}

}  // namespace

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

namespace {

/// A run config loaded in its two steps, with the `synthetic_cowc` demo set generated between
/// them: preparing inputs is the command's job, loading a config has no side effects.
RunConfig load_run_config_preparing_inputs(const std::string& path, const std::vector<std::string>& overrides) {
    const ParsedRunConfig parsed = read_run_config(path, overrides);
    if (!parsed.config.synthetic_cowc.empty()) {
        try {
            cowc::ensure_synthetic_cowc_demo(parsed.config.synthetic_cowc);
        } catch (const std::exception& problem) {
            parsed.fail("synthetic_cowc", std::string("synthetic_cowc: ") + problem.what());
        }
    }
    return resolve_run_config(parsed);
}

/// --threads of the commands: the same bound as the configs' `threads` key.
int checked_threads(int threads) { return config::checked_thread_count("--threads", threads); }

std::string method_choices() {
    std::string out;
    for (const auto& name : method_names()) out += (out.empty() ? "" : "|") + name;
    return out;
}

/// --method and its parameters (explain; bench methods shares --steps/--samples/--noise).
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
// --precision / --device, shared by every command that runs a model.
struct PrecisionArguments {
    std::string precision = "auto";
    std::string device = "cpu";
    void add_to(po::options_description& described) {
        described.add_options()
            ("precision", po::value(&precision)->default_value("auto"),
             "fp32|bf16|auto: auto is bf16 where the CPU has AVX512-BF16/AMX, else fp32")
            ("device", po::value(&device)->default_value("cpu"), "cpu|cuda|cuda:N (cuda needs a CUDA LibTorch build)");
    }
    InferenceOptions inference() const {
        InferenceOptions options;
        options.precision = parse_precision(precision);
        options.device = device;
        parse_device(device);  // a bad value fails here, before any model is loaded
        return options;
    }
};

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

}  // namespace

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

int explain(int argc, char** argv) {
    ExplainOptions options;
    std::string taps, statistic = "smoe", norm = "gauss", resize, mean, std_dev, method = "smoe", reduce = "abs-max";
    int64_t target_class = -1;
    bool json = false;
    po::options_description described("explain options");
    described.add_options()
        ("model", po::value(&options.model_path)->required(), "TorchScript model (.pt)")
        ("image", po::value(&options.image_path)->required(), "input image (any GDAL raster: GeoTIFF, PNG, JPEG)")
        ("out", po::value(&options.out_dir)->required(), "output folder")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("statistic", po::value(&statistic)->default_value("smoe"), statistic_choices().c_str())
        ("eps", po::value(&options.statistic_options.eps)->default_value(1e-6), "added to activations before logarithms")
        ("norm", po::value(&norm)->default_value("gauss"), "gauss|gamma|gamma-moments|range")
        ("weights", po::value(&options.weights)->default_value("equal"), "equal|ramp|prior|w1,w2,...")
        ("resize", po::value(&resize), "feed the network WxH instead of the native size")
        ("mean", po::value(&mean), "per-channel mean on [0,1] pixels (default ImageNet 0.485,0.456,0.406)")
        ("std", po::value(&std_dev), "per-channel std (default ImageNet 0.229,0.224,0.225)")
        ("threads", po::value(&options.threads)->default_value(0), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print a JSON summary on stdout");
    add_method_options(described, options.method, method, reduce, target_class);
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal explain --model M.pt --image IMG --out DIR [options]", described, argc,
               argv, variables)) {
        return 0;
    }
    checked_threads(options.threads);
    options.taps = parse_name_list(taps);
    options.statistic = parse_statistic(statistic);
    options.normalization = parse_normalization(norm);
    options.precision = precision.inference().precision;
    options.device = precision.device;
    if (!resize.empty()) options.resize = parse_size("--resize", resize);
    if (!mean.empty()) options.mean = parse_triplet("--mean", mean);
    if (!std_dev.empty()) options.std = parse_triplet("--std", std_dev);
    finish_method_options(options.method, method, reduce, target_class);

    const ExplainResult result = explain(options);
    if (json) {
        std::cout << result.to_json().dump(2) << "\n";
    } else {
        std::fprintf(stderr, "satsal explain: %lldx%lld, %zu taps, wrote %s, %s, %s, %s\n",
                     static_cast<long long>(result.width), static_cast<long long>(result.height),
                     result.taps.size(), result.saliency_tif.c_str(), result.lovi_png.c_str(),
                     result.overlay_png.c_str(), result.saliency_h5.c_str());
    }
    return 0;
}

int info(int argc, char** argv) {
    std::string model_path, taps;
    int threads = 0;
    bool build = false;
    po::options_description described("info options");
    described.add_options()
        ("model", po::value(&model_path), "TorchScript model (.pt)")
        ("build", po::bool_switch(&build), "what this satsal was built with (library versions, MPI)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("threads", po::value(&threads)->default_value(0), "LibTorch intra-op threads (0: all cores)");
    po::positional_options_description positional;
    positional.add("model", 1);
    po::variables_map variables;
    if (!parse("usage: satsal info MODEL [--taps a,b,c]\n       satsal info --build", described, argc, argv, variables,
               &positional)) {
        return 0;
    }
    if (build) {
        std::cout << versions_text() << "\nMPI: " << (hpc::mpi_built() ? "yes, " : "no, ") << hpc::mpi_library_version()
                  << "\n";
        if (model_path.empty()) return 0;
    }
    if (model_path.empty()) throw std::invalid_argument("satsal info: name a MODEL, or ask for --build (see --help)");
    set_torch_threads(checked_threads(threads));
    TappedModel model(model_path, parse_name_list(taps));
    std::cout << model.describe();
    return 0;
}

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

}  // namespace

int bench(int argc, char** argv) {
    const char* usage = "usage: satsal bench smoe|forward|fidelity|pipeline|memory|methods [options] (--help for each)\n";
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
    std::fputs(usage, stderr);
    return 2;
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

int seams(int argc, char** argv) {
    std::string model_path, image, taps, statistic = "smoe";
    int64_t tile_size = 256, margin = 64;
    int threads = 0, batch = 4;
    bool json = false;
    po::options_description described("seams options");
    described.add_options()
        ("model", po::value(&model_path)->required(), "TorchScript model (.pt)")
        ("image", po::value(&image)->required(), "input image or scene (any GDAL raster, first 3 bands)")
        ("taps", po::value(&taps), "comma-separated tap module names (default: auto-detect)")
        ("tile-size", po::value(&tile_size)->default_value(256), "tile core size (multiple of the deepest stride)")
        ("margin", po::value(&margin)->default_value(64), "context on each side (multiple of the deepest stride)")
        ("statistic", po::value(&statistic)->default_value("smoe"), statistic_choices().c_str())
        ("batch", po::value(&batch)->default_value(4), "tiles per forward pass")
        ("threads", po::value(&threads)->default_value(0), "LibTorch intra-op threads (0: all cores)")
        ("json", po::bool_switch(&json), "print JSON");
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal seams --model M.pt --image IMG [--tile-size 256] [--margin 64]", described, argc,
               argv, variables)) {
        return 0;
    }
    // The run config's limits: a tile of 0 or a negative margin has no meaning (and divided by zero).
    if (tile_size < kMinTileSize || tile_size > kMaxTileSize)
        throw std::invalid_argument("--tile-size " + std::to_string(tile_size) + ": expected an integer in " +
                                    std::to_string(kMinTileSize) + ".." + std::to_string(kMaxTileSize) + " (pixels)");
    if (margin < 0 || margin > std::min<int64_t>(tile_size, kMaxMargin))
        throw std::invalid_argument("--margin " + std::to_string(margin) + ": expected an integer in 0.." +
                                    std::to_string(std::min<int64_t>(tile_size, kMaxMargin)) +
                                    " (pixels, at most --tile-size)");
    if (batch < 1 || batch > kMaxBatchSize)
        throw std::invalid_argument("--batch " + std::to_string(batch) + ": expected an integer in 1.." +
                                    std::to_string(kMaxBatchSize));
    set_torch_threads(checked_threads(threads));
    const TapStatistic parsed{parse_statistic(statistic), {}};
    TappedModel model(model_path, parse_name_list(taps), parsed.needs_pre_activation(), precision.inference());
    RunConfig defaults;  // ImageNet mean/std, natural range of the data type
    const BandScaling scaling = plan_band_scaling(defaults, RasterReader(image));
    // Probe: the centre crop holding a 2 x 2 block of cores with `margin` of real context.
    const SeamProbe probe = read_seam_probe(image, scaling, seam_probe_side(tile_size, margin), model.deepest_stride());
    const SeamMeasurement result = seam_errors(model, probe, tile_size, margin, margin, parsed, batch);
    if (json) {
        nlohmann::ordered_json out;
        out["image"] = image;
        out["tile_size"] = tile_size;
        out["margin"] = margin;
        out["tiles_compared"] = result.tiles;
        out["probe"] = std::vector<int64_t>{probe.x0, probe.y0, probe.width, probe.height};
        nlohmann::ordered_json& layers = out["layers"] = nlohmann::ordered_json::array();
        for (std::size_t k = 0; k < result.errors.size(); ++k) {
            nlohmann::ordered_json entry;
            entry["layer"] = "L" + std::to_string(k + 1);
            entry["tap"] = model.taps()[k].name;
            entry["stride"] = model.taps()[k].stride;
            entry["max_seam_error"] = result.errors[k];
            layers.push_back(entry);
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::printf("seams: tile %lld, margin %lld, %lld tiles against one whole pass on a %lldx%lld crop of %s\n",
                    static_cast<long long>(tile_size), static_cast<long long>(margin),
                    static_cast<long long>(result.tiles), static_cast<long long>(probe.width),
                    static_cast<long long>(probe.height), image.c_str());
        for (std::size_t k = 0; k < result.errors.size(); ++k) {
            std::printf("  L%zu %-12s stride %3lld  max seam error %.3e\n", k + 1, model.taps()[k].name.c_str(),
                        static_cast<long long>(model.taps()[k].stride), result.errors[k]);
        }
    }
    return 0;
}

/// --angles: comma-separated whole degrees in [0, 360) (the COWC code checks multiples of 15).
std::vector<int> parse_angles(const std::string& text) {
    std::vector<int> out;
    for (const auto& item : parse_name_list(text)) {
        const bool digits = !item.empty() && item.size() <= 3 && item.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoi(item) >= 360) {
            throw std::invalid_argument("--angles: '" + printable(item) +
                                        "' is not a whole number of degrees in [0, 360); expected e.g. 0,15,30");
        }
        out.push_back(std::stoi(item));
    }
    if (out.empty()) throw std::invalid_argument("--angles: no angle given; expected e.g. 0,15,30");
    return out;
}

int make_scene(int argc, char** argv) {
    SyntheticSceneOptions options;
    std::string type = "byte", compression = "zstd", size = "4096x4096", nodata;
    po::options_description described("make-scene options");
    described.add_options()
        ("out", po::value(&options.path)->required(), "output GeoTIFF (or .vrt with --vrt)")
        ("size", po::value(&size)->default_value("4096x4096"), "WIDTHxHEIGHT in pixels")
        ("bands", po::value(&options.bands)->default_value(3), "3 (RGB) or 4 (blue, green, red, NIR)")
        ("type", po::value(&type)->default_value("byte"), "byte | uint16")
        ("seed", po::value(&options.seed)->default_value(1), "random seed (same seed, same pixels)")
        ("epsg", po::value(&options.epsg)->default_value(32633), "projected CRS in metres")
        ("pixel-size", po::value(&options.pixel_size)->default_value(0.15), "metres")
        ("nodata", po::value(&nodata), "nodata areas: corner, swath or corner,swath")
        ("nodata-value", po::value(&options.nodata_value)->default_value(0), "value of nodata pixels")
        ("compress", po::value(&compression)->default_value("zstd"), "zstd | deflate")
        ("block", po::value(&options.block_size)->default_value(512), "GeoTIFF tile size")
        ("vrt", po::bool_switch(&options.vrt), "write one tile and a VRT mosaic repeating it (any size in seconds)")
        ("vrt-tile", po::value(&options.vrt_tile_size)->default_value(2048), "side of the repeated tile");
    po::positional_options_description positional;
    positional.add("out", 1);
    po::variables_map variables;
    if (!parse("usage: satsal make-scene OUT.tif [--size 4096x4096] [--bands 3|4] [--type byte|uint16] [options]",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const auto dimensions = parse_size("--size", size);
    options.width = dimensions[0];
    options.height = dimensions[1];
    for (const auto& area : parse_name_list(nodata)) {
        if (area == "corner") {
            options.nodata_corner = true;
        } else if (area == "swath") {
            options.nodata_swath = true;
        } else {
            throw std::invalid_argument("--nodata '" + nodata + "': expected corner, swath or corner,swath");
        }
    }
    options.data_type = parse_scene_data_type(type);
    options.compression = parse_scene_compression(compression);
    const SyntheticSceneReport report = write_synthetic_scene(options);
    std::fprintf(stderr, "satsal make-scene: wrote %s (%lldx%lld, %.1f MB, %.1f s)\n", options.path.c_str(),
                 static_cast<long long>(options.width), static_cast<long long>(options.height),
                 static_cast<double>(report.bytes) / 1e6, report.seconds);
    return 0;
}

int make_cowc(int argc, char** argv) {
    cowc::SyntheticCowcOptions options;
    std::string angles = "0";
    bool once = false;
    po::options_description described("make-cowc options");
    described.add_options()
        ("root", po::value(&options.root)->required(), "output folder")
        ("site", po::value(&options.site)->default_value("Synthetic_SATSAL"), "site folder name")
        ("scene-size", po::value(&options.scene_width)->default_value(2000), "scene side in pixels (0.15 m)")
        ("train-scenes", po::value(&options.train_scenes)->default_value(4), "scenes for the training patches")
        ("test-scenes", po::value(&options.test_scenes)->default_value(1), "held-out scenes")
        ("seed", po::value(&options.seed)->default_value(1), "random seed (same seed, same bytes)")
        ("patch-stride", po::value(&options.patch_stride)->default_value(96), "stride of patch centres")
        ("angles", po::value(&angles)->default_value("0"), "patch rotations in degrees, multiples of 15")
        ("no-patches", "scenes and annotations only")
        ("no-geotiffs", "no georeferenced GeoTIFF copies of the scenes")
        ("bz2", po::bool_switch(&options.bz2_lists), "also write .bz2 list files")
        ("once", po::bool_switch(&once), "do nothing when ROOT/synthetic_scenes.csv already exists");
    po::positional_options_description positional;
    positional.add("root", 1);
    po::variables_map variables;
    if (!parse("usage: satsal make-cowc ROOT [--scene-size 2000] [--train-scenes 4] [--test-scenes 1] [options]",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    if (once && std::filesystem::exists(std::filesystem::path(options.root) / "synthetic_scenes.csv")) {
        std::fprintf(stderr, "satsal make-cowc: %s already holds a synthetic COWC set (--once)\n", options.root.c_str());
        return 0;
    }
    options.scene_height = options.scene_width;
    options.write_patches = variables.count("no-patches") == 0;
    options.write_geotiffs = variables.count("no-geotiffs") == 0;
    options.patch_angles.clear();
    options.patch_angles = parse_angles(angles);
    options.on_scene = [](const cowc::SyntheticCowcSceneInfo& scene, int index, int total) {
        std::fprintf(stderr, "satsal make-cowc: scene %d/%d %s (%s): %zu cars, %zu negatives, %zu patches\n",
                     index + 1, total, scene.name.c_str(), scene.split.c_str(), scene.cars, scene.negatives,
                     scene.patches);
    };
    const cowc::SyntheticCowcResult result = cowc::generate_synthetic_cowc(options);
    std::fprintf(stderr, "satsal make-cowc: wrote %zu scenes under %s\n", result.scenes.size(), options.root.c_str());
    return 0;
}

int cowc_patches(int argc, char** argv) {
    std::vector<std::string> scenes;
    std::string out_root, angles = "0";
    cowc::CountingPatchOptions options;
    bool bz2 = false;
    po::options_description described("cowc-patches options");
    described.add_options()
        ("scene", po::value(&scenes)->composing()->required(), "scene PNG with <scene>_Annotated_Cars.png beside it (repeatable)")
        ("out", po::value(&out_root)->required(), "patch set root")
        ("site", po::value(&options.site)->required(), "site name (folder and list prefix)")
        ("split", po::value(&options.split)->default_value("train"), "train | test | ...")
        ("stride", po::value(&options.stride)->default_value(96), "stride of patch centres in pixels")
        ("angles", po::value(&angles)->default_value("0"), "rotations in degrees, multiples of 15")
        ("bz2", po::bool_switch(&bz2), "write the list file bz2-compressed");
    po::variables_map variables;
    if (!parse("usage: satsal cowc-patches --scene S.png [--scene ...] --out DIR --site NAME [--split train]",
               described, argc, argv, variables)) {
        return 0;
    }
    options.angles.clear();
    options.angles = parse_angles(angles);
    const cowc::CountingPatchSetResult result = cowc::cut_counting_patch_set(scenes, out_root, options, bz2);
    std::fprintf(stderr, "satsal cowc-patches: %zu patches, list %s\n", result.entries.size(), result.list_path.c_str());
    return 0;
}

int train_count(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    bool print_config = false;
    po::options_description described("train-count options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "training config (see configs/cowc-train.ini)")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("print-config", po::bool_switch(&print_config), "print the resolved config and exit");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal train-count CONFIG [--set key=value ...] [--print-config]\n\nconfig keys:\n" +
                   counting::count_train_config_reference(),
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const counting::CountTrainOptions options = counting::load_count_train_config(config_path, overrides);
    if (print_config) {
        std::cout << counting::count_train_config_ini(options);
        return 0;
    }
    const counting::CountTrainResult result = counting::train_counting_model(options);
    std::cout << counting::count_train_report_json(options, result) << "\n";
    return result.finished ? 0 : 1;
}

int eval_count(int argc, char** argv) {
    counting::CountingEvalOptions options;
    bool json = false;
    po::options_description described("eval-count options");
    described.add_options()
        ("list", po::value(&options.list)->required(), "COWC counting list (plain or .bz2)")
        ("root", po::value(&options.root)->required(), "patch set root (list paths are relative to it)")
        ("model", po::value(&options.model)->required(), "TorchScript counting model")
        ("batch", po::value(&options.batch_size)->default_value(32), "patches per forward pass")
        ("threads", po::value(&options.threads)->default_value(0), "threads (0: all cores)")
        ("json", po::bool_switch(&json), "print JSON");
    PrecisionArguments precision;
    precision.add_to(described);
    po::variables_map variables;
    if (!parse("usage: satsal eval-count --list LIST --root DIR --model M.pt [--json]", described, argc, argv,
               variables)) {
        return 0;
    }
    checked_threads(options.threads);
    if (options.batch_size < 1 || options.batch_size > 4096)
        throw std::invalid_argument("--batch " + std::to_string(options.batch_size) + ": expected an integer in 1..4096");
    options.precision = precision.inference().precision;
    options.device = precision.device;
    const counting::CountingEvaluation evaluation = counting::evaluate_counting(options);
    if (json) {
        std::cout << counting::counting_evaluation_json(evaluation, options) << "\n";
    } else {
        std::cout << counting::counting_metrics_text(evaluation.metrics);
    }
    return 0;
}

}  // namespace satsal::cli
