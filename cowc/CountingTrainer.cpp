#include "cowc/CountingTrainer.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <sstream>
#include <thread>
#include <utility>

#include "cowc/CountingInference.hpp"
#include "cowc/CountingPatchSet.hpp"
#include "cowc/SplitMix64.hpp"
#include "io/AtomicFile.hpp"
#include "io/IoError.hpp"

namespace satsal::counting {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Orders and augmentations are the same on every machine and standard library.
std::uint64_t mix(std::uint64_t x) { return cowc::splitmix64(x); }

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
    const long long s = std::llround(std::max(0.0, seconds));
    char buffer[32];
    if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    else std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
    return buffer;
}

// Options built in code get the config file's checks (types and ranges of every key).
void check_options(const CountTrainOptions& o) { count_train_config_schema().check(o, "train-count options"); }

// Parameters and buffers of the module, in its own (deterministic) order, with their names.
struct ModuleState {
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
    std::string joined_names() const {
        std::string out;
        for (const auto& name : names) out += name + "\n";
        return out;
    }
};

ModuleState module_state(const torch::jit::Module& module) {
    ModuleState state;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
        state.names.push_back("param:" + item.name);
        state.tensors.push_back(item.value);
    }
    for (const auto& item : module.named_buffers(/*recurse=*/true)) {
        state.names.push_back("buffer:" + item.name);
        state.tensors.push_back(item.value);
    }
    return state;
}

// The values a checkpoint must share with the run that resumes it.
struct RunIdentity {
    long long classes, batch_size, epochs, seed, train_patches, steps_per_epoch;
    std::string optimizer;

    /// The integer values under their checkpoint keys.
    std::vector<std::pair<const char*, long long>> integers() const {
        return {{"classes", classes}, {"batch_size", batch_size},       {"epochs", epochs},
                {"seed", seed},       {"train_patches", train_patches}, {"steps_per_epoch", steps_per_epoch}};
    }
};

struct ResumePoint {
    int epoch = 0;  // next epoch to run (0-based)
    int step = 0;   // next step inside it
};

// Checkpoints and the trained model are written under "<path>.part" and renamed (the report under
// "<path>.partial" by write_text_file), so a killed run never leaves a truncated file at the final
// name.
constexpr const char* kPartSuffix = ".part";

template <typename Save>
void save_atomically(const std::string& path, const char* what, Save save) {
    create_parent_directory(path);
    AtomicFile output(path, kPartSuffix);
    try {
        save(output.temp_path());
    } catch (const std::exception& e) {
        throw IoError(std::string("cannot write ") + what + " '" + path + "': " + e.what());
    }
    output.commit();
}

void save_checkpoint(const std::string& path, const torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                     const RunIdentity& id, const ResumePoint& next) {
    torch::serialize::OutputArchive archive;
    const ModuleState state = module_state(module);
    archive.write("state_names", c10::IValue(state.joined_names()));
    for (std::size_t i = 0; i < state.tensors.size(); ++i) {
        archive.write("state_" + std::to_string(i), state.tensors[i].detach().clone(), /*is_buffer=*/true);
    }
    torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    auto integer = [&](const char* key, long long value) { archive.write(key, torch::tensor(static_cast<int64_t>(value))); };
    integer("next_epoch", next.epoch);
    integer("next_step", next.step);
    for (const auto& [key, value] : id.integers()) integer(key, value);
    archive.write("optimizer_name", c10::IValue(id.optimizer));

    save_atomically(path, "checkpoint", [&](const std::string& temp) { archive.save_to(temp); });
}

ResumePoint load_checkpoint(const std::string& path, torch::jit::Module& module, torch::optim::Optimizer& optimizer,
                            const RunIdentity& id) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
    } catch (const c10::Error& e) {
        throw std::runtime_error("cannot read checkpoint '" + path + "': " + e.what_without_backtrace() +
                                 " (delete it to start afresh)");
    }
    auto integer = [&](const char* key) {
        at::Tensor value;
        archive.read(key, value);
        return static_cast<long long>(value.item<int64_t>());
    };
    auto require = [&](const char* key, long long expected) {
        const long long found = integer(key);
        if (found != expected) {
            throw std::runtime_error("checkpoint '" + path + "' was written with " + key + " = " +
                                     std::to_string(found) + ", this run has " + std::to_string(expected) +
                                     ": restore that setting or delete the checkpoint to start afresh");
        }
    };
    for (const auto& [key, value] : id.integers()) require(key, value);
    c10::IValue optimizer_name;
    archive.read("optimizer_name", optimizer_name);
    if (optimizer_name.toStringRef() != id.optimizer) {
        throw std::runtime_error("checkpoint '" + path + "' was written with optimizer = " +
                                 optimizer_name.toStringRef() + ", this run has " + id.optimizer +
                                 ": restore that setting or delete the checkpoint to start afresh");
    }

    const ModuleState state = module_state(module);
    c10::IValue names;
    archive.read("state_names", names);
    if (names.toStringRef() != state.joined_names()) {
        throw std::runtime_error("checkpoint '" + path + "' holds the parameters of another network than init_model");
    }
    {
        at::NoGradGuard no_grad;
        for (std::size_t i = 0; i < state.tensors.size(); ++i) {
            at::Tensor saved;
            archive.read("state_" + std::to_string(i), saved, /*is_buffer=*/true);
            if (!saved.sizes().equals(state.tensors[i].sizes())) {
                throw std::runtime_error("checkpoint '" + path + "': " + state.names[i] + " has shape " +
                                         c10::str(saved.sizes()) + ", the model " + c10::str(state.tensors[i].sizes()));
            }
            state.tensors[i].copy_(saved);
        }
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    ResumePoint next;
    next.epoch = static_cast<int>(integer("next_epoch"));
    next.step = static_cast<int>(integer("next_step"));
    return next;
}

// "; held-out MAE .. exact .. within-one .." for the log, with " (n=..)" when `with_n`.
std::string holdout_summary(const CountingMetrics& m, bool with_n) {
    char text[160];
    std::snprintf(text, sizeof text, "; held-out MAE %.4f exact %.4f within-one %.4f", m.mean_absolute_error,
                  m.exact_accuracy, m.within_one_accuracy);
    return with_n ? std::string(text) + " (n=" + std::to_string(m.n) + ")" : std::string(text);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace

at::Tensor soft_targets(const at::Tensor& counts, int classes, double sigma) {
    const at::Tensor k = torch::arange(classes, torch::kFloat).unsqueeze(0);
    const at::Tensor c = counts.to(torch::kFloat).unsqueeze(1);
    const at::Tensor weights = torch::exp(-(k - c).pow(2) / (2.0 * sigma * sigma));
    return weights / weights.sum(1, /*keepdim=*/true);
}

PatchTransform sample_transform(std::uint64_t seed, int epoch, std::size_t position, int rotation_step, bool flip) {
    const std::uint64_t h = mix(mix(mix(seed) ^ static_cast<std::uint64_t>(epoch)) ^ position);
    PatchTransform transform;
    if (rotation_step > 0) transform.rotation_degrees = static_cast<int>(h % (360 / rotation_step)) * rotation_step;
    transform.flip = flip && ((h >> 40) & 1U);
    return transform;
}

std::vector<std::size_t> epoch_order(std::uint64_t seed, int epoch, std::size_t count) {
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::uint64_t state = mix(seed ^ 0x5EEDULL) ^ mix(static_cast<std::uint64_t>(epoch) + 1);
    for (std::size_t i = count; i > 1; --i) {
        state = mix(state);
        std::swap(order[i - 1], order[state % i]);
    }
    return order;
}

double learning_rate_at(long long step, long long total_steps, double peak, double warmup_fraction) {
    const long long warmup = std::llround(warmup_fraction * static_cast<double>(total_steps));
    if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const long long span = std::max<long long>(1, total_steps - warmup);
    const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
    return peak * 0.5 * (1.0 + std::cos(M_PI * progress));
}

namespace {

// The patches a run trains on and scores with: the training set decoded once, the held-out
// patches either a test set of their own or a seeded part of the training list.
struct TrainingData {
    CountingPatchSet train_set;
    CountingPatchSet test_set;  // empty unless test_list is given
    std::vector<std::size_t> train_indices;
    std::vector<std::size_t> holdout_indices;
    const CountingPatchSet& holdout_set() const { return test_set.empty() ? train_set : test_set; }
};

TrainingData load_training_data(const CountTrainOptions& options, int threads) {
    TrainingData data;
    data.train_set = CountingPatchSet::load(options.list, options.root, options.classes, threads);
    data.train_indices.resize(data.train_set.size());
    std::iota(data.train_indices.begin(), data.train_indices.end(), std::size_t{0});
    if (!options.test_list.empty()) {
        data.test_set = CountingPatchSet::load(
            options.test_list, options.test_root.empty() ? options.root : options.test_root, options.classes, threads);
        data.holdout_indices.resize(data.test_set.size());
        std::iota(data.holdout_indices.begin(), data.holdout_indices.end(), std::size_t{0});
    } else if (options.holdout_fraction > 0) {
        // A seeded shuffle (epoch -1 is never a training epoch) picks the held-out patches.
        const std::vector<std::size_t> order = epoch_order(options.seed, -1, data.train_set.size());
        const auto held = static_cast<std::size_t>(
            std::max(1.0, std::round(options.holdout_fraction * static_cast<double>(data.train_set.size()))));
        data.holdout_indices.assign(order.begin(),
                                    order.begin() + static_cast<std::ptrdiff_t>(std::min(held, order.size())));
        data.train_indices.assign(order.begin() + static_cast<std::ptrdiff_t>(data.holdout_indices.size()),
                                  order.end());
        std::sort(data.holdout_indices.begin(), data.holdout_indices.end());
        std::sort(data.train_indices.begin(), data.train_indices.end());
    }
    return data;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::jit::Module& module, const CountTrainOptions& options) {
    std::vector<at::Tensor> parameters;
    for (const at::Tensor& p : module.parameters(/*recurse=*/true)) {
        p.set_requires_grad(true);
        parameters.push_back(p);
    }
    if (options.optimizer == "sgd") {
        return std::make_unique<torch::optim::SGD>(
            parameters,
            torch::optim::SGDOptions(options.learning_rate).momentum(options.momentum).weight_decay(options.weight_decay));
    }
    return std::make_unique<torch::optim::Adam>(
        parameters, torch::optim::AdamOptions(options.learning_rate).weight_decay(options.weight_decay));
}

struct StepOutcome {
    double loss = 0;
    long long correct = 0;  // arg-max == label in the batch
};

// Loss and accuracy summed over steps (an epoch, or the steps between two progress lines).
struct StepTally {
    double loss = 0;
    long long correct = 0;
    long long seen = 0;
    int steps = 0;
    void add(const StepOutcome& outcome, long long samples) {
        loss += outcome.loss;
        correct += outcome.correct;
        seen += samples;
        ++steps;
    }
    double mean_loss() const { return steps ? loss / steps : 0; }
    double accuracy() const { return seen ? static_cast<double>(correct) / seen : 0; }
};

// One optimizer step on the samples at positions [begin, end) of the epoch's order.
StepOutcome train_step(torch::jit::Module& module, torch::optim::Optimizer& optimizer, const TrainingData& data,
                       const std::vector<std::size_t>& order, std::size_t begin, std::size_t end, int epoch,
                       const CountTrainOptions& options) {
    std::vector<std::size_t> indices;
    std::vector<PatchTransform> transforms;
    std::vector<int64_t> labels;
    for (std::size_t position = begin; position < end; ++position) {
        const std::size_t index = data.train_indices[order[position]];
        indices.push_back(index);
        transforms.push_back(sample_transform(options.seed, epoch, position, options.rotation_step, options.flip));
        labels.push_back(data.train_set.count(index));
    }
    at::Tensor inputs = make_count_batch(data.train_set, indices, transforms);
    if (options.colour_jitter > 0) jitter_count_colours(inputs, options.seed, epoch, begin, options.colour_jitter);
    const at::Tensor targets = torch::tensor(labels, torch::kLong);

    optimizer.zero_grad();
    const at::Tensor logits = module.forward({inputs}).toTensor();
    const at::Tensor loss =
        options.label_sigma > 0
            ? -(soft_targets(targets, options.classes, options.label_sigma) * torch::log_softmax(logits, 1)).sum(1).mean()
            : torch::nn::functional::cross_entropy(logits, targets);
    loss.backward();
    optimizer.step();
    return {loss.item<double>(), logits.detach().argmax(1).eq(targets).sum().item<int64_t>()};
}

// Collects what the trainer writes with << and hands each complete line to options.on_log (or
// options.log when on_log is empty).
struct LineLog {
    const CountTrainOptions& options;
    std::string pending;

    template <class T>
    LineLog& operator<<(const T& value) {
        std::ostringstream text;
        text << value;
        pending += text.str();
        for (std::size_t end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
            const std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (options.on_log) {
                options.on_log(line);
            } else if (options.log != nullptr) {
                *options.log << line << '\n' << std::flush;
            }
        }
        return *this;
    }
    LineLog& operator<<(std::ostream& (*)(std::ostream&)) { return *this; }  // std::flush: lines go out whole
};

// Flush-to-zero and denormals-are-zero on this thread and on every intra-op worker. Training
// without it slowed down epoch after epoch (3m40s, then 8m11s by the 4th epoch of
// configs/cowc-train-v3.ini on an idle machine) as ever more weights, gradients and Adam moments
// became denormal numbers, which the CPU handles in microcode; values below 1.2e-38 changing to
// zero does not change what the network learns. at::parallel_for with grain 1 over `threads`
// items gives every OpenMP worker one item, so each worker sets its own MXCSR.
void flush_denormals(int threads) {
    at::globalContext().setFlushDenormal(true);
    at::parallel_for(0, threads, 1, [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
}

}  // namespace

CountTrainResult train_counting_model(const CountTrainOptions& options) {
    check_options(options);
    LineLog log{options, {}};
    const int threads = options.threads > 0 ? options.threads
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    flush_denormals(threads);
    CountTrainResult result;

    int model_classes = 0;
    torch::jit::Module module = load_counting_model(options.init_model, model_classes);
    if (model_classes != options.classes) {
        throw std::runtime_error("init_model '" + options.init_model + "' has " + std::to_string(model_classes) +
                                 " count classes (logits) but classes = " + std::to_string(options.classes));
    }

    // --- data ------------------------------------------------------------------------------
    const auto load_start = Clock::now();
    const TrainingData data = load_training_data(options, threads);
    const CountingPatchSet& train_set = data.train_set;
    const std::vector<std::size_t>& train_indices = data.train_indices;
    const std::vector<std::size_t>& holdout_indices = data.holdout_indices;
    result.load_seconds = seconds_since(load_start);
    result.train_patches = train_indices.size();
    result.holdout_patches = holdout_indices.size();
    result.has_holdout = !holdout_indices.empty();
    result.memory_bytes = train_set.memory_bytes() + data.test_set.memory_bytes();
    if (train_indices.size() < 2) {
        throw std::runtime_error("training list '" + options.list + "' leaves " + std::to_string(train_indices.size()) +
                                 " training patch(es) after the hold-out split; at least 2 are needed");
    }

    const auto batch = static_cast<std::size_t>(options.batch_size);
    // A last partial batch is kept when it has at least 2 samples (batch norm needs 2).
    const int steps_per_epoch = static_cast<int>(train_indices.size() / batch) +
                                (train_indices.size() % batch >= 2 ? 1 : 0);
    const long long total_steps = static_cast<long long>(steps_per_epoch) * options.epochs;
    {
        char line[512];
        std::snprintf(line, sizeof line,
                      "[train-count] %zu training patches, %zu held out (%s), %.1f MB decoded in %.1f s; "
                      "%d steps/epoch x %d epochs, batch %d, %s lr %g, %d threads\n",
                      result.train_patches, result.holdout_patches,
                      options.test_list.empty() ? "split from list" : "test_list", result.memory_bytes / 1048576.0,
                      result.load_seconds, steps_per_epoch, options.epochs, options.batch_size,
                      options.optimizer.c_str(), options.learning_rate, threads);
        log << line << std::flush;
    }

    // --- model and optimizer -----------------------------------------------------------------
    const std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(module, options);

    const RunIdentity identity{options.classes, options.batch_size, options.epochs,
                               static_cast<long long>(options.seed), static_cast<long long>(train_set.size()),
                               steps_per_epoch, options.optimizer};
    ResumePoint next;
    if (!options.checkpoint.empty() && fs::exists(options.checkpoint)) {
        next = load_checkpoint(options.checkpoint, module, *optimizer, identity);
        log << "[train-count] resuming from '" << options.checkpoint << "' at epoch " << next.epoch + 1 << ", step "
            << next.step << "\n";
    }
    result.start_epoch = next.epoch;
    result.start_step = next.step;

    auto score_holdout = [&]() {
        const std::vector<int> predicted =
            predict_counts(module, data.holdout_set(), holdout_indices, std::max(options.batch_size, 32));
        std::vector<int> truth;
        truth.reserve(holdout_indices.size());
        for (const std::size_t i : holdout_indices) truth.push_back(data.holdout_set().count(i));
        return compute_counting_metrics(truth, predicted);
    };

    // --- training ------------------------------------------------------------------------------
    double train_seconds = 0;
    long long images_seen = 0;
    int epochs_this_call = 0;
    bool stop_requested = false;
    int epoch = next.epoch;
    for (; epoch < options.epochs; ++epoch) {
        module.train();
        const std::vector<std::size_t> order = epoch_order(options.seed, epoch, train_indices.size());
        const int first_step = epoch == next.epoch ? next.step : 0;
        int steps_done_in_epoch = first_step;
        const auto epoch_start = Clock::now();
        StepTally epoch_tally, window_tally;
        auto window_start = Clock::now();
        for (int step = first_step; step < steps_per_epoch; ++step) {
            const std::size_t begin = static_cast<std::size_t>(step) * batch;
            const std::size_t end = std::min(train_indices.size(), begin + batch);
            const long long global_step = static_cast<long long>(epoch) * steps_per_epoch + step;
            const double lr = learning_rate_at(global_step, total_steps, options.learning_rate, options.warmup_fraction);
            set_learning_rate(*optimizer, lr);
            const StepOutcome outcome = train_step(module, *optimizer, data, order, begin, end, epoch, options);
            const double loss_value = outcome.loss;
            if (!std::isfinite(loss_value)) {
                throw std::runtime_error("train-count: the loss became " + std::to_string(loss_value) + " at epoch " +
                                         std::to_string(epoch + 1) + " step " + std::to_string(step) +
                                         "; lower learning_rate (now " + std::to_string(options.learning_rate) + ")");
            }
            const auto n = static_cast<long long>(end - begin);
            epoch_tally.add(outcome, n);
            window_tally.add(outcome, n);
            images_seen += n;
            steps_done_in_epoch = step + 1;
            ++result.steps_run;

            if (options.log_every > 0 && window_tally.steps >= options.log_every) {
                const double window_seconds = seconds_since(window_start);
                const double elapsed = train_seconds + seconds_since(epoch_start);
                const long long done = global_step + 1;
                const long long done_here = result.steps_run;
                const double eta = elapsed / static_cast<double>(done_here) * static_cast<double>(total_steps - done);
                char line[512];
                std::snprintf(line, sizeof line,
                              "[train-count] epoch %d/%d step %d/%d (%lld/%lld) %.1f img/s loss %.4f acc %.3f "
                              "lr %.4g eta %s\n",
                              epoch + 1, options.epochs, step + 1, steps_per_epoch, done, total_steps,
                              window_tally.seen / std::max(window_seconds, 1e-9), window_tally.mean_loss(),
                              window_tally.accuracy(), lr, format_duration(eta).c_str());
                log << line << std::flush;
                window_tally = StepTally{};
                window_start = Clock::now();
            }
            const bool stop_here = options.stop_after_steps > 0 && result.steps_run >= options.stop_after_steps;
            if (!options.checkpoint.empty() && step + 1 < steps_per_epoch &&
                (stop_here || (options.checkpoint_every > 0 && (global_step + 1) % options.checkpoint_every == 0))) {
                save_checkpoint(options.checkpoint, module, *optimizer, identity, ResumePoint{epoch, step + 1});
            }
            if (stop_here) {
                stop_requested = true;
                break;
            }
        }
        const double epoch_train_seconds = seconds_since(epoch_start);
        train_seconds += epoch_train_seconds;
        if (steps_done_in_epoch < steps_per_epoch) break;  // stopped inside the epoch (checkpoint written)

        CountEpochRecord record;
        record.epoch = epoch + 1;
        record.mean_loss = epoch_tally.mean_loss();
        record.train_accuracy = epoch_tally.accuracy();
        record.seconds = epoch_train_seconds;
        if (result.has_holdout) {
            record.has_holdout = true;
            record.holdout = score_holdout();
            module.train();
        }
        result.history.push_back(record);
        {
            char line[512];
            std::snprintf(line, sizeof line, "[train-count] epoch %d/%d done in %s: loss %.4f train acc %.3f",
                          epoch + 1, options.epochs, format_duration(epoch_train_seconds).c_str(), record.mean_loss,
                          record.train_accuracy);
            log << line << (record.has_holdout ? holdout_summary(record.holdout, true) : "") << "\n" << std::flush;
        }
        if (!options.checkpoint.empty()) {
            save_checkpoint(options.checkpoint, module, *optimizer, identity, ResumePoint{epoch + 1, 0});
        }
        ++epochs_this_call;
        if ((stop_requested || (options.stop_after_epochs > 0 && epochs_this_call >= options.stop_after_epochs)) &&
            epoch + 1 < options.epochs) {
            ++epoch;
            break;
        }
    }
    result.completed_epochs = epoch;
    if (stop_requested && epoch < options.epochs) {
        log << "[train-count] stopped after " << result.steps_run << " steps in epoch " << epoch + 1
            << "; run again to resume from '" << options.checkpoint << "'\n";
        return result;
    }
    result.train_seconds = train_seconds;
    result.images_per_second = images_seen / std::max(train_seconds, 1e-9);

    if (result.completed_epochs < options.epochs) {
        log << "[train-count] stopped after epoch " << result.completed_epochs << " of " << options.epochs
            << "; run again to resume from '" << options.checkpoint << "'\n";
        return result;
    }

    // --- output --------------------------------------------------------------------------------
    module.eval();
    if (result.has_holdout) {
        result.holdout = !result.history.empty() && result.history.back().has_holdout ? result.history.back().holdout
                                                                                       : score_holdout();
    }
    save_atomically(options.output, "trained model", [&](const std::string& temp) { module.save(temp); });
    result.finished = true;
    {
        char line[512];
        std::snprintf(line, sizeof line, "[train-count] wrote '%s' (%lld steps in %s, %.1f img/s)",
                      options.output.c_str(), result.steps_run, format_duration(train_seconds).c_str(),
                      result.images_per_second);
        log << line << (result.has_holdout ? holdout_summary(result.holdout, false) : "") << "\n" << std::flush;
    }
    if (!options.report.empty()) {
        create_parent_directory(options.report);
        write_text_file(options.report, count_train_report_json(options, result) + "\n");
    }
    return result;
}

}  // namespace satsal::counting
