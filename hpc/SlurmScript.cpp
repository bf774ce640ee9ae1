#include "hpc/SlurmScript.hpp"

#include <filesystem>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace satsal::hpc {
namespace {

// A value pasted into a shell script in single quotes.
std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

// #SBATCH lines are parsed by sbatch, not by a shell: refuse what would break them.
void check_directive_value(const std::string& option, const std::string& value) {
    static const std::regex plain("[A-Za-z0-9_.,:+@%=-]+");
    if (!std::regex_match(value, plain)) {
        throw std::invalid_argument(option + " '" + value.substr(0, 60) +
                                    "': only letters, digits and _ . , : + @ % = - are accepted in a Slurm option");
    }
}

void check_no_newline(const std::string& option, const std::string& value) {
    if (value.find_first_of("\n\r") != std::string::npos) {
        throw std::invalid_argument(option + " must not contain a line break");
    }
}

}  // namespace

long parse_slurm_time(const std::string& text) {
    static const std::regex forms(R"((?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?)");
    std::smatch m;
    const std::string expected = "--time '" + text.substr(0, 40) +
                                 "': expected a Slurm time limit: minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S";
    if (text.size() > 20 || !std::regex_match(text, m, forms)) throw std::invalid_argument(expected);
    auto number = [&](int i) { return m[i].matched ? std::stol(m[i].str()) : 0L; };
    long seconds = 0;
    if (m[1].matched) {  // D-H[:M[:S]]
        seconds = number(1) * 86400 + number(2) * 3600 + number(3) * 60 + number(4);
    } else if (m[4].matched) {  // H:M:S
        seconds = number(2) * 3600 + number(3) * 60 + number(4);
    } else if (m[3].matched) {  // M:S
        seconds = number(2) * 60 + number(3);
    } else {  // M
        seconds = number(2) * 60;
    }
    if (seconds <= 0) throw std::invalid_argument(expected + " (above zero)");
    return seconds;
}

std::string slurm_array_script(const SlurmOptions& o) {
    if (o.array_tasks < 1 || o.array_tasks > 100000) {
        throw std::invalid_argument("--array " + std::to_string(o.array_tasks) + ": expected 1 to 100000 tasks");
    }
    if (o.cpus_per_task < 1 || o.cpus_per_task > 1024) {
        throw std::invalid_argument("--cpus-per-task " + std::to_string(o.cpus_per_task) + ": expected 1 to 1024");
    }
    for (const auto& [option, value] : {std::pair{"config", o.config}, std::pair{"satsal binary", o.satsal},
                                        std::pair{"log folder", o.log_folder}}) {
        check_no_newline(option, value);
        if (!std::filesystem::path(value).is_absolute()) {
            throw std::invalid_argument(std::string(option) + " '" + value + "' must be an absolute path (the job runs elsewhere)");
        }
    }
    if (o.log_folder.find('%') != std::string::npos) {
        throw std::invalid_argument("log folder '" + o.log_folder + "' must not contain '%' (Slurm expands it)");
    }
    check_directive_value("--job-name", o.job_name);
    if (!o.partition.empty()) check_directive_value("--partition", o.partition);
    if (!o.account.empty()) check_directive_value("--account", o.account);
    if (!o.time.empty()) {
        const long limit = parse_slurm_time(o.time);
        if (o.warn_seconds >= limit) {
            throw std::invalid_argument("--time " + o.time + " is not longer than the " + std::to_string(o.warn_seconds) +
                                        " s warning before the limit: ask for more time");
        }
    }
    for (const std::string& set : o.overrides) {
        check_no_newline("--set", set);
        if (set.find('=') == std::string::npos) {
            throw std::invalid_argument("--set '" + set.substr(0, 60) + "': expected key=value");
        }
    }
    if (o.command != "run" && o.command != "evaluate") {
        throw std::invalid_argument("slurm_array_script: unknown task command '" + o.command + "' (run or evaluate)");
    }
    const bool evaluate = o.command == "evaluate";
    if (o.log_folder.find_first_of(" \t'\"\\$`") != std::string::npos) {
        throw std::invalid_argument("log folder '" + o.log_folder +
                                    "' must not contain spaces, quotes, '\\', '$' or '`' (sbatch reads it unquoted)");
    }

    std::ostringstream s;
    s << "#!/bin/bash\n"
      << "# Written by `satsal " << (evaluate ? "evaluate --slurm" : "slurm") << "` for " << o.config << ".\n"
      << (evaluate ? "# First `satsal evaluate CONFIG --prepare` (data, base model, maps), then `sbatch THIS_FILE`\n"
                     "# (or `sbatch --dependency=afterok:PREPARE_JOB THIS_FILE` after a prepare job).\n"
                     "# Task i of the array runs `satsal evaluate CONFIG --task i` (one piece of the evaluation);\n"
                     "# when every task is done, `satsal evaluate CONFIG --merge` writes the outputs.\n"
                   : "# Submit with `sbatch THIS_FILE`. Task i of the array runs `satsal run CONFIG --shard i/N`;\n"
                     "# when every task is done, `satsal summarize OUTPUT_DIR` merges what the shards wrote.\n")
      << "# " << o.warn_seconds << " s before the time limit Slurm sends USR1: satsal "
      << (evaluate ? "is stopped and the\n# task is requeued; the next allocation redoes its piece (finished pieces are skipped).\n"
                   : "stops cleanly and the\n# task is requeued; the next allocation skips the scenes already finished.\n")
      << "#SBATCH --job-name=" << o.job_name << "\n"
      << "#SBATCH --array=0-" << (o.array_tasks - 1) << "\n"
      << "#SBATCH --ntasks=1\n"
      << "#SBATCH --cpus-per-task=" << o.cpus_per_task << "\n";
    if (!o.time.empty()) s << "#SBATCH --time=" << o.time << "\n";
    if (!o.partition.empty()) s << "#SBATCH --partition=" << o.partition << "\n";
    if (!o.account.empty()) s << "#SBATCH --account=" << o.account << "\n";
    s << "#SBATCH --output=" << o.log_folder << "/%x-%A_%a.log\n"
      << "#SBATCH --open-mode=append\n"
      << "#SBATCH --signal=B:USR1@" << o.warn_seconds << "\n"
      << "#SBATCH --requeue\n"
      << "set -u\n"
      << (evaluate ? "task=\"$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))\"\n"
                   : "shard=\"$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))/${SLURM_ARRAY_TASK_COUNT}\"\n")
      << "echo \"satsal-slurm: job ${SLURM_JOB_ID}, array task ${SLURM_ARRAY_TASK_ID}, "
      << (evaluate ? "piece ${task}" : "shard ${shard}") << ", host $(hostname), restart ${SLURM_RESTART_COUNT:-0}\"\n"
      << "on_time_limit() {\n"
      << "  echo \"satsal-slurm: time limit near: stopping satsal, requeueing job ${SLURM_JOB_ID}\"\n"
      << "  kill -TERM \"${child}\" 2>/dev/null\n"
      << "  wait \"${child}\"\n"
      << "  scontrol requeue \"${SLURM_JOB_ID}\"\n"
      << "  exit 0\n"
      << "}\n"
      << "trap on_time_limit USR1\n"
      << shell_quote(o.satsal) << (evaluate ? " evaluate " : " run ") << shell_quote(o.config)
      << (evaluate ? " --task \"${task}\"" : " --shard \"${shard}\"") << " --set \"threads=${SLURM_CPUS_PER_TASK:-"
      << o.cpus_per_task << "}\"";
    for (const std::string& set : o.overrides) s << " --set " << shell_quote(set);
    s << " &\n"
      << "child=$!\n"
      << "wait \"${child}\"\n"
      << "exit $?\n";
    return s.str();
}

}  // namespace satsal::hpc
