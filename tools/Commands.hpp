#pragma once
// Subcommands of the satsal command line. Each takes the arguments after its name.
namespace satsal::cli {

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

}  // namespace satsal::cli
