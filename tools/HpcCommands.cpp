// `satsal slurm`: cluster job scripts (hpc/).
#include "tools/Commands.hpp"

#include "hpc/SlurmScript.hpp"
#include "io/AtomicFile.hpp"
#include "io/RunConfig.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace satsal::cli {
namespace {

std::string this_executable() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (error) throw std::runtime_error("cannot find the satsal binary's path (/proc/self/exe): " + error.message());
    return self.string();
}

}  // namespace

int slurm(int argc, char** argv) {
    std::string config_path, out, partition, time, account, job_name;
    std::vector<std::string> overrides;
    int array = 0, cpus = 2;
    po::options_description described("slurm options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "run config (its scenes are split over the array)")
        ("array", po::value(&array), "array tasks N (default: one per scene, at most 1000)")
        ("cpus-per-task", po::value(&cpus)->default_value(2), "cores per task (satsal's threads)")
        ("partition", po::value(&partition), "Slurm partition (default: the cluster's)")
        ("time", po::value(&time), "time limit per allocation, e.g. 2:00:00 (a task is requeued when it ends)")
        ("account", po::value(&account), "Slurm account")
        ("job-name", po::value(&job_name), "job name (default: satsal-<config name>)")
        ("set", po::value(&overrides)->composing(), "override a config key in every task: --set key=value")
        ("out,o", po::value(&out), "write the script here (default: standard output)");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal slurm CONFIG [--array N] [--cpus-per-task C] [--partition P] [--time T] "
               "[--account A] [--set key=value ...] [--out job.sh]\n\n"
               "Writes an sbatch script: a job array whose task i runs `satsal run CONFIG --shard i/N`,\n"
               "requeued with a warning signal before its time limit; `satsal summarize OUTPUT_DIR`\n"
               "merges the shards' results when all tasks are done.",
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    // Loading validates the config and resolves its scenes now, not on the cluster.
    const RunConfig config = load_run_config(config_path, overrides);
    const int scenes = static_cast<int>(config.scenes.size());
    if (!variables.count("array")) array = std::min(scenes, 1000);
    if (array > scenes) {
        std::fprintf(stderr, "satsal slurm: --array %d is more than the %d scenes of %s: %d tasks would have nothing to do\n",
                     array, scenes, config_path.c_str(), array - scenes);
        return 2;
    }
    hpc::SlurmOptions options;
    options.config = fs::absolute(config_path).lexically_normal().string();
    options.satsal = this_executable();
    options.job_name = job_name.empty() ? "satsal-" + fs::path(config_path).stem().string() : job_name;
    options.array_tasks = array;
    options.cpus_per_task = cpus;
    options.partition = partition;
    options.time = time;
    options.account = account;
    options.log_folder = (fs::absolute(config.output_dir) / "slurm-logs").lexically_normal().string();
    for (const std::string& set : overrides) {
        // Relative paths in --set resolve against the current folder: pass them on absolute.
        const auto equals = set.find('=');
        const std::string key = set.substr(0, equals), value = set.substr(equals + 1);
        const bool path_key = key == "model" || key == "scene" || key == "output_dir" || key == "annotations";
        options.overrides.push_back(path_key && !value.empty() ? key + "=" + fs::absolute(value).string() : set);
    }
    const std::string script = hpc::slurm_array_script(options);
    fs::create_directories(options.log_folder);
    if (out.empty()) {
        std::cout << script;
    } else {
        AtomicFile file(out);
        {
            std::ofstream stream(file.temp_path());
            stream << script;
            if (!stream.flush()) throw std::runtime_error("cannot write " + file.temp_path());
        }
        file.commit();
        fs::permissions(out, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
        std::fprintf(stderr, "satsal slurm: wrote %s: %d array tasks over %d scenes, logs in %s\n", out.c_str(), array,
                     scenes, options.log_folder.c_str());
    }
    return 0;
}

}  // namespace satsal::cli
