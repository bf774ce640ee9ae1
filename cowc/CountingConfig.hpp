#pragma once
// Options of `satsal train-count CONFIG [--set key=value ...]` and their INI config file.
//
// Every key is declared once in count_train_config_schema() (CountingConfig.cpp) with its type,
// range, default and help (`satsal train-count --help` lists them). The file syntax (comments,
// quotes, `key =` for the default, --set) is io/ConfigSchema.hpp's. Notes on some keys:
//   checkpoint       resume file: written during training; when it exists the run continues from
//                    it (model, optimizer state, epoch and step)
//   label_sigma      0: plain cross-entropy on the count class; > 0: cross-entropy against a
//                    Gaussian over neighbouring counts (std label_sigma, in cars), which teaches
//                    that 6 is nearer 5 than 20 is; the arg-max target stays the true count
//   warmup_fraction  the learning rate rises linearly during warm-up, then follows a cosine to 0
//   rotation_step    steps that are not multiples of 90 cut the content's corners off (see
//                    cowc/CountingLayout.hpp), which can drop counted cars.
//
// Paths: a relative path in the file resolves against the config file's folder; one given with
// --set resolves against the current directory. After parsing every path is absolute. Files that
// must exist (list, root, test_list, test_root, init_model) are checked here; nothing is created.
//
// Errors throw CountConfigError, "<config>:<line>: <key>: <what was expected>" (or
// "--set key=value: ..." for overrides).
//
// Thread rules: plain values and pure functions.
#include "io/ConfigSchema.hpp"

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace satsal::counting {

using CountConfigError = config::ConfigError;

struct CountTrainOptions {
    CountTrainOptions();  // every key at its default (count_train_config_schema())

    std::string list;
    std::string root;
    std::string test_list;
    std::string test_root;
    std::string init_model;
    std::string output;
    std::string checkpoint;
    int checkpoint_every;
    std::string report;
    int classes;
    int epochs;
    int batch_size;
    double learning_rate;
    std::string optimizer;  // sgd | adam
    double momentum;
    double weight_decay;
    double warmup_fraction;
    double label_sigma;
    std::uint64_t seed;
    int threads;
    double holdout_fraction;
    int rotation_step;
    bool flip;
    double colour_jitter;
    int log_every;

    // Not config keys: set by callers.
    /// > 0: stop after this many epochs in this call, with the checkpoint written, exactly as if
    /// the run had been killed there (tests of resume; a time-boxed run). 0 = train to `epochs`.
    int stop_after_epochs = 0;
    /// > 0: the same after this many optimizer steps in this call (the checkpoint then records the
    /// step inside the epoch).
    long long stop_after_steps = 0;
    /// Progress and epoch lines, one call per line without the newline. May be empty: the library
    /// prints nothing itself (tools/CowcCommands.cpp prints them on stderr).
    std::function<void(const std::string& line)> on_log;
    /// The same lines written to a stream (kept for callers that set it), used when on_log is
    /// empty; nullptr = no stream.
    std::ostream* log = nullptr;
};

/// Reads the config file, applies `key=value` overrides in order and validates. Throws
/// CountConfigError (see above).
CountTrainOptions load_count_train_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// The same for text in memory: `source` names it in messages and `base_dir` resolves its paths.
CountTrainOptions parse_count_train_config(const std::string& text, const std::string& source,
                                           const std::string& base_dir,
                                           const std::vector<std::string>& overrides = {});

/// The resolved options as INI text that parse_count_train_config reads back (for --print-config).
std::string count_train_config_ini(const CountTrainOptions& options);

/// One line per key with its default and meaning (for --help).
std::string count_train_config_reference();

/// Every key of a train-count config, declared once.
const config::Schema<CountTrainOptions>& count_train_config_schema();

}  // namespace satsal::counting
