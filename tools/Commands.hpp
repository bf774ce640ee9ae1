#pragma once
// Subcommands of the satsal command line. Each takes the arguments after its name.
#include <boost/program_options.hpp>

#include <string>

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

}  // namespace satsal::cli
