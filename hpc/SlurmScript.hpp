#pragma once
// `satsal slurm CONFIG`: a ready sbatch script for a batch of scenes.
//
// An array job: task i runs `satsal run CONFIG --shard i/N` (hpc/Shard.hpp), so N tasks cover the
// config's scenes with no shared state. The script asks Slurm for a warning signal before the time
// limit (--signal=B:USR1@SECONDS), forwards it to satsal as SIGTERM (satsal stops cleanly) and
// requeues the task (--requeue), so a batch longer than one allocation finishes over several; a
// requeued task skips the scenes it already finished (their outputs are complete and match).
#include <string>
#include <vector>

namespace satsal::hpc {

struct SlurmOptions {
    std::string config;      // absolute path of the run config
    std::string satsal;      // absolute path of the satsal binary
    std::string job_name;    // default: satsal-<config stem>
    int array_tasks = 1;     // array size N
    int cpus_per_task = 2;   // --cpus-per-task, also satsal's threads
    std::string partition;   // empty: the cluster's default
    std::string time;        // empty: the partition's default; else a Slurm time (minutes, [D-]HH:MM[:SS], ...)
    std::string account;     // empty: the user's default
    std::string log_folder;  // where task logs go (absolute)
    int warn_seconds = 120;  // USR1 this long before the limit
    std::vector<std::string> overrides;  // extra `--set key=value` for satsal run
    // What a task runs: "run" (`satsal run CONFIG --shard i/N`, a batch's scenes) or "evaluate"
    // (`satsal evaluate CONFIG --task i`, piece i of an evaluation, eval/EvalTasks.hpp).
    std::string command = "run";
};

/// Slurm's time formats: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S". Returns the limit in
/// seconds; throws std::invalid_argument naming the value and the accepted forms.
long parse_slurm_time(const std::string& text);

/// The sbatch script text. Throws std::invalid_argument for options Slurm would refuse or that
/// could not work (no tasks, a warning longer than the time limit, a value with a newline...).
std::string slurm_array_script(const SlurmOptions& options);

}  // namespace satsal::hpc
