#include "model/CountingTrainer.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <thread>

#include "model/CountingInference.hpp"
#include "model/CountingPatches.hpp"

namespace satsal::counting {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// SplitMix64: a tiny, well-mixed, platform-independent generator, so orders and augmentations are
// the same on every machine and standard library.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

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

/// A JSON string literal, escaped by nlohmann-json (bytes that are not UTF-8 become U+FFFD).
std::string json_string(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string number(double value) {
    if (!std::isfinite(value)) return "null";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", value);
    return buffer;
}

void check_options(const CountTrainOptions& o) {
    auto bad = [](const std::string& what) { throw std::invalid_argument("train-count: " + what); };
    if (o.list.empty() || o.root.empty() || o.init_model.empty() || o.output.empty())
        bad("list, root, init_model and output are required");
    if (o.classes < 2) bad("classes must be >= 2");
    if (o.epochs < 1) bad("epochs must be >= 1");
    if (o.batch_size < 2) bad("batch_size must be >= 2 (batch norm in training mode)");
    if (!(o.learning_rate > 0)) bad("learning_rate must be > 0");
    if (o.optimizer != "sgd" && o.optimizer != "adam") bad("optimizer must be sgd or adam, not '" + o.optimizer + "'");
    if (o.holdout_fraction < 0 || o.holdout_fraction >= 1) bad("holdout_fraction must be in [0, 1)");
    if (o.rotation_step != 0 && (o.rotation_step < 0 || o.rotation_step % 15 != 0 || 360 % o.rotation_step != 0))
        bad("rotation_step must be 0 or a multiple of 15 that divides 360");
    if (o.warmup_fraction < 0 || o.warmup_fraction >= 1) bad("warmup_fraction must be in [0, 1)");
    if (o.label_sigma < 0) bad("label_sigma must be >= 0");
}

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
};

struct ResumePoint {
    int epoch = 0;  // next epoch to run (0-based)
    int step = 0;   // next step inside it
};

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
    integer("classes", id.classes);
    integer("batch_size", id.batch_size);
    integer("epochs", id.epochs);
    integer("seed", id.seed);
    integer("train_patches", id.train_patches);
    integer("steps_per_epoch", id.steps_per_epoch);
    archive.write("optimizer_name", c10::IValue(id.optimizer));

    const std::string part = path + ".part";
    try {
        if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
        archive.save_to(part);
        fs::rename(part, path);
    } catch (const std::exception& e) {
        std::error_code ignored;
        fs::remove(part, ignored);
        throw std::runtime_error("cannot write checkpoint '" + path + "': " + e.what());
    }
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
    require("classes", id.classes);
    require("batch_size", id.batch_size);
    require("epochs", id.epochs);
    require("seed", id.seed);
    require("train_patches", id.train_patches);
    require("steps_per_epoch", id.steps_per_epoch);
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

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

void write_text_atomically(const std::string& path, const std::string& text, const char* what) {
    const std::string part = path + ".part";
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
    {
        std::ofstream out(part, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) {
            std::error_code ignored;
            fs::remove(part, ignored);
            throw std::runtime_error(std::string("cannot write ") + what + " '" + path + "'");
        }
    }
    fs::rename(part, path);
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

CountTrainResult train_counting_model(const CountTrainOptions& options) {
    check_options(options);
    std::ostream& log = options.log != nullptr ? *options.log : std::cerr;
    const int threads = options.threads > 0 ? options.threads
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    CountTrainResult result;

    int model_classes = 0;
    torch::jit::Module module = load_counting_model(options.init_model, model_classes);
    if (model_classes != options.classes) {
        throw std::runtime_error("init_model '" + options.init_model + "' has " + std::to_string(model_classes) +
                                 " count classes (logits) but classes = " + std::to_string(options.classes));
    }

    // --- data ------------------------------------------------------------------------------
    const auto load_start = Clock::now();
    const CountingPatchSet train_set = CountingPatchSet::load(options.list, options.root, options.classes, threads);
    CountingPatchSet test_set;
    std::vector<std::size_t> train_indices(train_set.size());
    std::iota(train_indices.begin(), train_indices.end(), std::size_t{0});
    std::vector<std::size_t> holdout_indices;
    const CountingPatchSet* holdout_set = nullptr;
    if (!options.test_list.empty()) {
        test_set = CountingPatchSet::load(options.test_list, options.test_root.empty() ? options.root : options.test_root,
                                          options.classes, threads);
        holdout_indices.resize(test_set.size());
        std::iota(holdout_indices.begin(), holdout_indices.end(), std::size_t{0});
        holdout_set = &test_set;
    } else if (options.holdout_fraction > 0) {
        // A seeded shuffle (epoch -1 is never a training epoch) picks the held-out patches.
        const std::vector<std::size_t> order = epoch_order(options.seed, -1, train_set.size());
        const auto held = static_cast<std::size_t>(
            std::max(1.0, std::round(options.holdout_fraction * static_cast<double>(train_set.size()))));
        holdout_indices.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min(held, order.size())));
        train_indices.assign(order.begin() + static_cast<std::ptrdiff_t>(holdout_indices.size()), order.end());
        std::sort(holdout_indices.begin(), holdout_indices.end());
        std::sort(train_indices.begin(), train_indices.end());
        holdout_set = &train_set;
    }
    result.load_seconds = seconds_since(load_start);
    result.train_patches = train_indices.size();
    result.holdout_patches = holdout_indices.size();
    result.has_holdout = !holdout_indices.empty();
    result.memory_bytes = train_set.memory_bytes() + test_set.memory_bytes();
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
    std::vector<at::Tensor> parameters;
    for (const at::Tensor& p : module.parameters(/*recurse=*/true)) {
        p.set_requires_grad(true);
        parameters.push_back(p);
    }
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (options.optimizer == "sgd") {
        optimizer = std::make_unique<torch::optim::SGD>(
            parameters,
            torch::optim::SGDOptions(options.learning_rate).momentum(options.momentum).weight_decay(options.weight_decay));
    } else {
        optimizer = std::make_unique<torch::optim::Adam>(
            parameters, torch::optim::AdamOptions(options.learning_rate).weight_decay(options.weight_decay));
    }

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
            predict_counts(module, *holdout_set, holdout_indices, std::max(options.batch_size, 32));
        std::vector<int> truth;
        truth.reserve(holdout_indices.size());
        for (const std::size_t i : holdout_indices) truth.push_back(holdout_set->count(i));
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
        double epoch_loss = 0, window_loss = 0;
        long long epoch_correct = 0, epoch_seen = 0, window_correct = 0, window_seen = 0;
        int epoch_steps = 0, window_steps = 0;
        auto window_start = Clock::now();
        for (int step = first_step; step < steps_per_epoch; ++step) {
            const std::size_t begin = static_cast<std::size_t>(step) * batch;
            const std::size_t end = std::min(train_indices.size(), begin + batch);
            std::vector<std::size_t> indices;
            std::vector<PatchTransform> transforms;
            std::vector<int64_t> labels;
            for (std::size_t position = begin; position < end; ++position) {
                const std::size_t index = train_indices[order[position]];
                indices.push_back(index);
                transforms.push_back(
                    sample_transform(options.seed, epoch, position, options.rotation_step, options.flip));
                labels.push_back(train_set.count(index));
            }
            const at::Tensor inputs = make_count_batch(train_set, indices, transforms);
            const at::Tensor targets = torch::tensor(labels, torch::kLong);
            const long long global_step = static_cast<long long>(epoch) * steps_per_epoch + step;
            const double lr = learning_rate_at(global_step, total_steps, options.learning_rate, options.warmup_fraction);
            set_learning_rate(*optimizer, lr);

            optimizer->zero_grad();
            const at::Tensor logits = module.forward({inputs}).toTensor();
            const at::Tensor loss = options.label_sigma > 0
                                        ? -(soft_targets(targets, options.classes, options.label_sigma) *
                                            torch::log_softmax(logits, 1))
                                               .sum(1)
                                               .mean()
                                        : torch::nn::functional::cross_entropy(logits, targets);
            loss.backward();
            optimizer->step();

            const double loss_value = loss.item<double>();
            if (!std::isfinite(loss_value)) {
                throw std::runtime_error("train-count: the loss became " + std::to_string(loss_value) + " at epoch " +
                                         std::to_string(epoch + 1) + " step " + std::to_string(step) +
                                         "; lower learning_rate (now " + std::to_string(options.learning_rate) + ")");
            }
            const long long correct = logits.detach().argmax(1).eq(targets).sum().item<int64_t>();
            const auto n = static_cast<long long>(indices.size());
            epoch_loss += loss_value;
            window_loss += loss_value;
            epoch_correct += correct;
            window_correct += correct;
            epoch_seen += n;
            window_seen += n;
            images_seen += n;
            ++epoch_steps;
            ++window_steps;
            steps_done_in_epoch = step + 1;
            ++result.steps_run;

            if (options.log_every > 0 && window_steps >= options.log_every) {
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
                              window_seen / std::max(window_seconds, 1e-9), window_loss / window_steps,
                              static_cast<double>(window_correct) / window_seen, lr, format_duration(eta).c_str());
                log << line << std::flush;
                window_loss = 0;
                window_correct = window_seen = 0;
                window_steps = 0;
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
        record.mean_loss = epoch_steps ? epoch_loss / epoch_steps : 0;
        record.train_accuracy = epoch_seen ? static_cast<double>(epoch_correct) / epoch_seen : 0;
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
            log << line;
            if (record.has_holdout) {
                std::snprintf(line, sizeof line, "; held-out MAE %.4f exact %.4f within-one %.4f (n=%lld)",
                              record.holdout.mean_absolute_error, record.holdout.exact_accuracy,
                              record.holdout.within_one_accuracy, record.holdout.n);
                log << line;
            }
            log << "\n" << std::flush;
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
    const std::string part = options.output + ".part";
    try {
        if (fs::path(options.output).has_parent_path()) fs::create_directories(fs::path(options.output).parent_path());
        module.save(part);
        fs::rename(part, options.output);
    } catch (const std::exception& e) {
        std::error_code ignored;
        fs::remove(part, ignored);
        throw std::runtime_error("cannot write trained model '" + options.output + "': " + e.what());
    }
    result.finished = true;
    {
        char line[512];
        std::snprintf(line, sizeof line, "[train-count] wrote '%s' (%lld steps in %s, %.1f img/s)",
                      options.output.c_str(), result.steps_run, format_duration(train_seconds).c_str(),
                      result.images_per_second);
        log << line;
        if (result.has_holdout) {
            std::snprintf(line, sizeof line, "; held-out MAE %.4f exact %.4f within-one %.4f",
                          result.holdout.mean_absolute_error, result.holdout.exact_accuracy,
                          result.holdout.within_one_accuracy);
            log << line;
        }
        log << "\n" << std::flush;
    }
    if (!options.report.empty()) {
        write_text_atomically(options.report, count_train_report_json(options, result) + "\n", "train-count report");
    }
    return result;
}

std::string count_train_report_json(const CountTrainOptions& o, const CountTrainResult& r) {
    std::ostringstream out;
    out << "{\n  \"options\": {\"list\": " << json_string(o.list) << ", \"root\": " << json_string(o.root)
        << ", \"test_list\": " << json_string(o.test_list) << ", \"init_model\": " << json_string(o.init_model)
        << ", \"output\": " << json_string(o.output) << ", \"classes\": " << o.classes << ", \"epochs\": " << o.epochs
        << ", \"batch_size\": " << o.batch_size << ", \"learning_rate\": " << number(o.learning_rate)
        << ", \"optimizer\": " << json_string(o.optimizer) << ", \"momentum\": " << number(o.momentum)
        << ", \"weight_decay\": " << number(o.weight_decay) << ", \"warmup_fraction\": " << number(o.warmup_fraction)
        << ", \"label_sigma\": " << number(o.label_sigma)
        << ", \"seed\": " << o.seed << ", \"threads\": " << o.threads
        << ", \"holdout_fraction\": " << number(o.holdout_fraction) << ", \"rotation_step\": " << o.rotation_step
        << ", \"flip\": " << (o.flip ? "true" : "false") << "},\n";
    out << "  \"train_patches\": " << r.train_patches << ", \"holdout_patches\": " << r.holdout_patches
        << ", \"memory_mb\": " << number(r.memory_bytes / 1048576.0) << ", \"load_seconds\": " << number(r.load_seconds)
        << ",\n  \"start_epoch\": " << r.start_epoch << ", \"completed_epochs\": " << r.completed_epochs
        << ", \"finished\": " << (r.finished ? "true" : "false") << ", \"steps_run\": " << r.steps_run
        << ", \"train_seconds\": " << number(r.train_seconds)
        << ", \"images_per_second\": " << number(r.images_per_second) << ",\n  \"history\": [";
    for (std::size_t i = 0; i < r.history.size(); ++i) {
        const CountEpochRecord& e = r.history[i];
        out << (i ? "," : "") << "\n    {\"epoch\": " << e.epoch << ", \"mean_loss\": " << number(e.mean_loss)
            << ", \"train_accuracy\": " << number(e.train_accuracy) << ", \"seconds\": " << number(e.seconds);
        if (e.has_holdout) {
            out << ", \"holdout_mae\": " << number(e.holdout.mean_absolute_error)
                << ", \"holdout_exact\": " << number(e.holdout.exact_accuracy)
                << ", \"holdout_within_one\": " << number(e.holdout.within_one_accuracy);
        }
        out << "}";
    }
    out << "\n  ],\n  \"holdout\": " << (r.has_holdout && r.finished ? counting_metrics_json(r.holdout) : "null")
        << "\n}";
    return out.str();
}

}  // namespace satsal::counting
