#pragma once
// Subcommands of the satsal command line. Each takes the arguments after its name. One file per
// family: Commands.cpp (dispatch, shared options), RunCommands, ModelCommands (explain, info, seams),
// BenchCommands, CowcCommands (make-scene, make-cowc, cowc-patches, train-count, eval-count), HpcCommands.
#include <boost/program_options.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace satsal {
struct MethodOptions;
struct RunConfig;
struct RunEvents;
struct RunOutcome;
namespace hpc {
struct Shard;
}
}  // namespace satsal

namespace satsal::cli {

/// Parses argv (after the command name) into `variables`; prints `usage` and the options and
/// returns false when --help was given; po errors become std::invalid_argument.
bool parse(const std::string& usage, const boost::program_options::options_description& options, int argc,
           char** argv, boost::program_options::variables_map& variables,
           const boost::program_options::positional_options_description* positional = nullptr);

int dispatch(int argc, char** argv);

// Shared by the command families (tools/*Commands.cpp).
/// The statistic names, '|'-separated, for --statistic's help.
std::string statistic_choices();
/// --threads of the commands: the same bound as the configs' `threads` key.
int checked_threads(int threads);
/// A run config loaded in its two steps, with the `synthetic_cowc` demo set generated between
/// them: preparing inputs is the command's job, loading a config has no side effects.
RunConfig load_run_config_preparing_inputs(const std::string& path, const std::vector<std::string>& overrides);
/// --method and its parameters (explain; bench methods shares --steps/--samples/--noise).
void add_method_options(boost::program_options::options_description& described, MethodOptions& options,
                        std::string& method, std::string& reduce, int64_t& target_class);
void finish_method_options(MethodOptions& options, const std::string& method, const std::string& reduce,
                           int64_t target_class);

int explain(int argc, char** argv);
int info(int argc, char** argv);
int bench(int argc, char** argv);
int run(int argc, char** argv);
int seams(int argc, char** argv);
int make_scene(int argc, char** argv);
int make_cowc(int argc, char** argv);
int cowc_patches(int argc, char** argv);
int train_count(int argc, char** argv);
int eval_count(int argc, char** argv);
int slurm(int argc, char** argv);
int summarize(int argc, char** argv);
int evaluate(int argc, char** argv);

/// `satsal run` under mpirun/srun: ranks take scenes on demand, rank 0 writes the batch outputs.
int run_with_mpi(RunConfig config, const RunEvents& terminal, bool restart);
/// `satsal run --shard I/N`: this shard's scenes, then OUTPUT_DIR/satsal-shards/shard-I-of-N.json for
/// `satsal summarize` (no batch outputs: other shards are still running).
int run_shard(const RunConfig& config, const hpc::Shard& shard, const RunEvents& events, bool restart);
/// What a scene run reports, on stderr: progress, notes and the scene summary unless quiet;
/// warnings always; failures always; the count result line on stdout.
RunEvents terminal_events(bool quiet);
/// Prints how many scenes failed; the exit code of a finished run (0 or 1).
int report_outcome(const RunOutcome& outcome);
/// The exit code of a run stopped by SIGTERM/SIGINT: EX_TEMPFAIL, "try again" (it resumes).
constexpr int exit_interrupted = 75;

}  // namespace satsal::cli
