#pragma once
// Subcommands of the satsal command line. Each takes the arguments after its name.
#include <boost/program_options.hpp>

#include <string>

namespace satsal {
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

/// `satsal run` under mpirun/srun: ranks take scenes on demand, rank 0 writes the batch outputs.
int run_with_mpi(RunConfig config, const RunEvents& terminal, bool restart);
/// `satsal run --shard I/N`: this shard's scenes, then OUTPUT_DIR/satsal-shards/shard-I-of-N.json for
/// `satsal summarize` (no batch outputs: other shards are still running).
int run_shard(const RunConfig& config, const hpc::Shard& shard, const RunEvents& events, bool restart);
/// Prints how many scenes failed; the exit code of a finished run (0 or 1).
int report_outcome(const RunOutcome& outcome);
/// The exit code of a run stopped by SIGTERM/SIGINT: EX_TEMPFAIL, "try again" (it resumes).
constexpr int exit_interrupted = 75;

}  // namespace satsal::cli
