// `satsal evaluate CONFIG`: the saliency evaluation on COWC counting (eval/Evaluate.hpp), in one
// process or split into tasks (eval/EvalTasks.hpp) with an sbatch array script (hpc/SlurmScript).
#include "tools/Commands.hpp"

#include "eval/EvalConfig.hpp"
#include "eval/EvalTasks.hpp"
#include "eval/Evaluate.hpp"
#include "hpc/SlurmScript.hpp"
#include "io/AtomicFile.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace satsal::cli {
namespace {

// The sbatch array script: one task per piece of the evaluation.
int write_slurm_script(const std::string& config_path, const eval::EvalOptions& options,
                       const std::vector<std::string>& overrides, const po::variables_map& variables) {
    hpc::SlurmOptions s;
    s.command = "evaluate";
    s.config = fs::absolute(config_path).lexically_normal().string();
    std::error_code error;
    s.satsal = fs::read_symlink("/proc/self/exe", error).string();
    if (error) throw std::runtime_error("cannot find the satsal binary's path (/proc/self/exe): " + error.message());
    const std::string job_name = variables["job-name"].as<std::string>();
    s.job_name = job_name.empty() ? "satsal-" + fs::path(config_path).stem().string() : job_name;
    s.array_tasks = static_cast<int>(eval::evaluation_task_ids(options).size());
    s.cpus_per_task = variables["cpus-per-task"].as<int>();
    s.partition = variables["partition"].as<std::string>();
    s.time = variables["time"].as<std::string>();
    s.account = variables["account"].as<std::string>();
    s.log_folder = (fs::absolute(options.output) / "slurm-logs").lexically_normal().string();
    for (const std::string& set : overrides) {
        // Relative paths in --set resolve against the current folder: pass them on absolute.
        const auto equals = set.find('=');
        const std::string key = set.substr(0, equals), value = equals == std::string::npos ? "" : set.substr(equals + 1);
        const bool path_key = key == "output" || key == "init_model" || key == "list" || key == "test_list" ||
                              key == "root" || key == "data_root";
        s.overrides.push_back(path_key && !value.empty() ? key + "=" + fs::absolute(value).string() : set);
    }
    const std::string script = hpc::slurm_array_script(s);
    fs::create_directories(s.log_folder);
    const std::string out = variables["out"].as<std::string>();
    if (out.empty()) {
        std::cout << script;
    } else {
        write_text_file(out, script);
        fs::permissions(out, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
        std::fprintf(stderr,
                     "satsal evaluate: wrote %s: %d array tasks (one per piece; `--list-tasks` names them), logs in "
                     "%s\nrun `satsal evaluate %s --prepare` before `sbatch %s`, and `--merge` when every task is done\n",
                     out.c_str(), s.array_tasks, s.log_folder.c_str(), config_path.c_str(), out.c_str());
    }
    return 0;
}

}  // namespace

int evaluate(int argc, char** argv) {
    std::string config_path;
    std::vector<std::string> overrides;
    bool print_config = false, prepare = false, merge = false, list_tasks = false, slurm = false;
    int task = -1;
    po::options_description described("evaluate options");
    described.add_options()
        ("config", po::value(&config_path)->required(), "evaluation config (configs/eval-small.ini, eval-paper.ini)")
        ("set", po::value(&overrides)->composing(), "override a key: --set key=value (repeatable)")
        ("print-config", po::bool_switch(&print_config), "print the resolved config and exit")
        ("prepare", po::bool_switch(&prepare), "tasks: the data, base model and maps (OUTPUT/prepared/), once first")
        ("task", po::value(&task), "tasks: run piece I (0-based; see --list-tasks) -> OUTPUT/tasks/<piece>.json")
        ("merge", po::bool_switch(&merge), "tasks: merge every piece into the outputs of one run")
        ("list-tasks", po::bool_switch(&list_tasks), "print the pieces (index and id) and which have a record")
        ("slurm", po::bool_switch(&slurm), "write an sbatch array script, one task per piece")
        ("out,o", po::value<std::string>()->default_value(""), "--slurm: write the script here (default: standard output)")
        ("cpus-per-task", po::value<int>()->default_value(2), "--slurm: cores per task (satsal's threads)")
        ("partition", po::value<std::string>()->default_value(""), "--slurm: Slurm partition")
        ("time", po::value<std::string>()->default_value(""), "--slurm: time limit per allocation (requeued when it ends)")
        ("account", po::value<std::string>()->default_value(""), "--slurm: Slurm account")
        ("job-name", po::value<std::string>()->default_value(""), "--slurm: job name (default: satsal-<config name>)");
    po::positional_options_description positional;
    positional.add("config", 1);
    po::variables_map variables;
    if (!parse("usage: satsal evaluate CONFIG [--set key=value ...] [--print-config]\n"
               "       satsal evaluate CONFIG --slurm [--out job.sh] [--cpus-per-task C] [--partition P] [--time T] "
               "[--account A]\n"
               "       satsal evaluate CONFIG --prepare | --task I | --merge | --list-tasks\n\n"
               "KAR/ROAR at layer and image level and ROAD on COWC counting; writes CSVs, summary.json,\n"
               "report.md and plots under `output`. Split into tasks (a Slurm array): --prepare once, then\n"
               "--task I for every piece I (one per statistic, tap and mode; method, threshold and mode;\n"
               "ROAD method), then --merge: the same outputs as one process.\n\nconfig keys:\n" +
                   eval::eval_config_reference(),
               described, argc, argv, variables, &positional)) {
        return 0;
    }
    const int modes = int(print_config) + int(prepare) + int(merge) + int(list_tasks) + int(slurm) + int(variables.count("task") > 0);
    if (modes > 1)
        throw std::invalid_argument("satsal evaluate: give one of --print-config, --prepare, --task, --merge, --list-tasks, --slurm");
    const eval::EvalOptions options = eval::load_eval_config(config_path, overrides);
    if (print_config) {
        std::cout << eval::eval_config_ini(options);
        return 0;
    }
    if (slurm) return write_slurm_script(config_path, options, overrides, variables);
    if (list_tasks) {
        const std::vector<std::string> ids = eval::evaluation_task_ids(options);
        const std::vector<std::string> missing = eval::missing_tasks(options);
        for (std::size_t i = 0; i < ids.size(); ++i)
            std::cout << i << " " << ids[i]
                      << (std::find(missing.begin(), missing.end(), ids[i]) == missing.end() ? " done" : "") << "\n";
        return 0;
    }
    if (prepare) {
        eval::prepare_tasks(options, std::cerr);
        return 0;
    }
    if (variables.count("task")) {
        eval::run_task(options, task, std::cerr);
        return 0;
    }
    if (merge) {
        eval::merge_tasks(options, std::cerr);
        std::cout << "wrote " << options.output << "/report.md\n";
        return 0;
    }
    eval::run_evaluation(options, std::cerr);
    std::cout << "wrote " << options.output << "/report.md\n";
    return 0;
}

}  // namespace satsal::cli
