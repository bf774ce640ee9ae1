#pragma once
// Options of `satsal train-count CONFIG [--set key=value ...]` and their INI config file.
//
// The config is INI text read with Boost.Program_options: one `key = value` per line, `#` starts a
// comment, no sections. Keys (default in brackets):
//   list             training list file, plain or .bz2 (required)
//   root             patch set root the list's paths are relative to (required)
//   test_list        held-out list [none: hold out `holdout_fraction` of `list` instead]
//   test_root        root of test_list's patches [root]
//   init_model       TorchScript starting point, e.g. from tools/make_count_model.py (required)
//   output           trained TorchScript model to write (required)
//   checkpoint       resume file: written during training; when it exists the run continues from
//                    it (model, optimizer state, epoch and step) [none]
//   checkpoint_every also write the checkpoint every N steps inside an epoch; 0 = only at epoch
//                    ends [0]
//   report           JSON summary to write at the end (options, per-epoch history, held-out
//                    metrics, timings) [none]
//   classes          count classes K, counts 0..K-1; must equal the model's logits [65]
//   epochs [10]  batch_size [32]  learning_rate [0.05]  optimizer sgd|adam [sgd]
//   momentum (sgd) [0.9]  weight_decay [0.0001]  warmup_fraction (of all steps) [0.03]
//                    the learning rate rises linearly during warm-up, then follows a cosine to 0
//   label_sigma      0: plain cross-entropy on the count class; > 0: cross-entropy against a
//                    Gaussian over neighbouring counts (std label_sigma, in cars), which teaches
//                    that 6 is nearer 5 than 20 is; the arg-max target stays the true count [0]
//   seed             shuffling, augmentation and hold-out split [1]
//   threads          LibTorch intra-op threads and decoding threads; 0 = all cores [2]
//   holdout_fraction share of `list` held out when there is no test_list; 0 = none [0.1]
//   rotation_step    augmentation rotations in degrees: 0 (none) or a multiple of 15 that divides
//                    360 [90]. Steps that are not multiples of 90 cut the content's corners off
//                    (see cowc/CountingLayout.hpp), which can drop counted cars.
//   flip             random left-right flips [true]
//   log_every        progress line every N steps on the log stream; 0 = epoch lines only [20]
//
// Paths: a relative path in the file resolves against the config file's folder; one given with
// --set resolves against the current directory. After parsing every path is absolute. Files that
// must exist (list, root, test_list, test_root, init_model) are checked here.
// `key =` with an empty value restores the default.
//
// Errors throw CountConfigError, "<config>:<line>: key '<key>': <what was expected>" (or
// "--set key=value: ..." for overrides).
//
// Thread rules: plain values and pure functions.
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace satsal::counting {

class CountConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct CountTrainOptions {
    std::string list;
    std::string root;
    std::string test_list;
    std::string test_root;
    std::string init_model;
    std::string output;
    std::string checkpoint;
    int checkpoint_every = 0;
    std::string report;
    int classes = 65;
    int epochs = 10;
    int batch_size = 32;
    double learning_rate = 0.05;
    std::string optimizer = "sgd";
    double momentum = 0.9;
    double weight_decay = 1e-4;
    double warmup_fraction = 0.03;
    double label_sigma = 0;
    std::uint64_t seed = 1;
    int threads = 2;
    double holdout_fraction = 0.1;
    int rotation_step = 90;
    bool flip = true;
    int log_every = 20;

    // Not config keys: set by callers.
    /// > 0: stop after this many epochs in this call, with the checkpoint written, exactly as if
    /// the run had been killed there (tests of resume; a time-boxed run). 0 = train to `epochs`.
    int stop_after_epochs = 0;
    /// > 0: the same after this many optimizer steps in this call (the checkpoint then records the
    /// step inside the epoch).
    long long stop_after_steps = 0;
    /// Progress and epoch lines; nullptr = std::cerr.
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

}  // namespace satsal::counting
