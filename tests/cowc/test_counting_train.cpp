// Training, checkpoint resume, batch-norm statistics and evaluation of the counting network on a
// tiny patch set drawn by the test (tests/fixtures/counting/count-tiny-init.pt: 4 classes,
// widths 4/8/8/8, made by tools/make_count_model.py --classes 4 --widths 4,8,8,8 --seed 7).
// LibTorch first: its glog-style CHECK macro must be replaced by Catch's, not the other way round.
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cowc/CountingEval.hpp"
#include "cowc/CountingInference.hpp"
#include "cowc/CountingTrainer.hpp"
#include "test_counting_support.hpp"
#include "tests/satsal_command.hpp"

using namespace satsal::counting;
using satsal::counting::test::TempDir;
using satsal::counting::test::write_patch_set;
using Json = nlohmann::ordered_json;

namespace {

const std::string kTinyModel = std::string(SATSAL_FIXTURES_DIR) + "/counting/count-tiny-init.pt";

// A TorchScript model with 4 classes that always says "2 cars"; returns its path.
// `satsal eval-count` on a list with the settings these tests use, plus `extra` options.
satsal::test::CommandResult run_eval_count(const std::string& list, const std::string& root, const std::string& model,
                                           const TempDir& dir, const std::string& extra) {
    using satsal::test::quoted;
    return satsal::test::run_satsal("eval-count --list " + quoted(list) + " --root " + quoted(root) + " --model " +
                                        quoted(model) + " --threads 1 --batch 3 --precision fp32 " + extra,
                                    dir.str());
}

std::string write_always_two_model(const TempDir& dir) {
    torch::jit::Module model("FakeCounter");
    model.define(R"(
def forward(self, x):
    logits = torch.zeros([x.size(0), 4])
    logits[:, 2] = 1.0
    return logits
)");
    const std::string path = dir / "fake.pt";
    model.save(path);
    return path;
}

CountTrainOptions tiny_options(const TempDir& dir, const std::string& list, std::ostream& log) {
    CountTrainOptions o;
    o.list = list;
    o.root = dir.str();
    o.init_model = kTinyModel;
    o.output = dir / "trained.pt";
    o.classes = 4;
    o.epochs = 4;
    o.batch_size = 8;
    o.learning_rate = 0.05;
    o.optimizer = "adam";
    o.weight_decay = 0;
    o.warmup_fraction = 0;
    o.threads = 1;  // bit-for-bit repeatable runs
    o.holdout_fraction = 0.2;
    o.log_every = 2;
    o.log = &log;
    return o;
}

double max_difference(const torch::jit::Module& a, const torch::jit::Module& b) {
    auto pa = a.named_parameters(true), pb = b.named_parameters(true);
    double worst = 0;
    auto ib = pb.begin();
    for (const auto& item : pa) {
        worst = std::max(worst, (item.value - (*ib).value).abs().max().item<double>());
        ++ib;
    }
    return worst;
}

}  // namespace

TEST_CASE("a tiny training run reduces the loss and writes a TorchScript model", "[counting][train]") {
    TempDir dir("train");
    const std::string list = write_patch_set(dir.str(), "train", "COWC_train_list_64_class.txt", 4, 5, 11);
    std::ostringstream log;
    CountTrainOptions o = tiny_options(dir, list, log);
    o.epochs = 10;
    o.batch_size = 4;
    const CountTrainResult r = train_counting_model(o);

    CHECK(r.finished);
    CHECK(r.train_patches == 16);  // 20 listed, 20% held out
    CHECK(r.holdout_patches == 4);
    CHECK(r.memory_bytes == 20u * 256 * 256 * 3);
    REQUIRE(r.history.size() == 10);
    CHECK(r.steps_run == 40);  // 4 steps of 4 per epoch
    INFO(log.str());
    CHECK(r.history.back().mean_loss < 0.8 * r.history.front().mean_loss);
    INFO("first epoch loss " << r.history.front().mean_loss << ", last " << r.history.back().mean_loss);
    CHECK(r.has_holdout);
    // The report (train-count's json) carries the same figures.
    const auto report = nlohmann::json::parse(count_train_report_json(o, r));
    CHECK(report["train_patches"] == 16);
    CHECK(report["options"]["epochs"] == 10);
    REQUIRE(report["history"].size() == 10);
    CHECK(report["history"][9]["mean_loss"].get<double>() == r.history.back().mean_loss);
    CHECK(report["holdout"]["n"] == 4);
    CHECK(r.holdout.n == 4);
    // Progress lines carry throughput, loss and running accuracy.
    CHECK(std::regex_search(log.str(), std::regex(R"(epoch 1/10 step 2/4 \(2/40\) [0-9.]+ img/s loss [0-9.]+ acc [0-9.]+)")));

    // The output is TorchScript in eval mode and yields logits for 4 classes.
    int classes = 0;
    torch::jit::Module trained = load_counting_model(o.output, classes);
    CHECK(classes == 4);
    CHECK_FALSE(trained.is_training());
}

TEST_CASE("training mode updates the batch-norm running statistics of the scripted model", "[counting][train]") {
    torch::jit::Module module = torch::jit::load(kTinyModel);
    const at::Tensor before = module.attr("bn1").toModule().attr("running_mean").toTensor().clone();
    CHECK(before.abs().max().item<double>() == 0.0);
    module.train();
    at::manual_seed(3);
    module.forward({at::rand({4, 3, 224, 224})});
    const at::Tensor after = module.attr("bn1").toModule().attr("running_mean").toTensor();
    CHECK(after.abs().max().item<double>() > 1e-4);
    // In eval mode the statistics stay put.
    module.eval();
    const at::Tensor frozen = after.clone();
    module.forward({at::rand({4, 3, 224, 224})});
    CHECK(module.attr("bn1").toModule().attr("running_mean").toTensor().equal(frozen));
}

TEST_CASE("a run stopped after an epoch resumes from its checkpoint and ends where an uninterrupted run ends",
          "[counting][train][checkpoint]") {
    TempDir dir("resume");
    const std::string list = write_patch_set(dir.str(), "train", "COWC_train_list_64_class.txt", 4, 5, 12);
    std::ostringstream log;

    CountTrainOptions straight = tiny_options(dir, list, log);
    straight.epochs = 3;
    straight.output = dir / "straight.pt";
    const CountTrainResult whole = train_counting_model(straight);
    REQUIRE(whole.finished);

    CountTrainOptions first = straight;
    first.output = dir / "resumed.pt";
    first.checkpoint = dir / "run.ckpt";
    first.stop_after_epochs = 1;
    const CountTrainResult part = train_counting_model(first);
    CHECK_FALSE(part.finished);
    CHECK(part.completed_epochs == 1);
    CHECK(std::filesystem::exists(first.checkpoint));
    CHECK_FALSE(std::filesystem::exists(first.output));

    CountTrainOptions second = first;
    second.stop_after_epochs = 0;
    const CountTrainResult rest = train_counting_model(second);
    CHECK(rest.start_epoch == 1);
    CHECK(rest.start_step == 0);
    CHECK(rest.finished);
    CHECK(rest.steps_run == 4);  // epochs 2 and 3 only
    REQUIRE(rest.history.size() == 2);
    CHECK(rest.history.front().epoch == 2);
    CHECK(log.str().find("resuming from '" + first.checkpoint + "' at epoch 2, step 0") != std::string::npos);

    const torch::jit::Module a = torch::jit::load(straight.output);
    const torch::jit::Module b = torch::jit::load(second.output);
    CHECK(max_difference(a, b) < 1e-5);
    // The same loss sequence: the resumed epochs saw the same batches with the same optimizer state.
    CHECK(rest.history.back().mean_loss == Approx(whole.history.back().mean_loss).epsilon(1e-4));

    SECTION("a checkpoint from a run with another batch size is refused, naming the key") {
        CountTrainOptions other = second;
        other.batch_size = 4;
        CHECK_THROWS_WITH(train_counting_model(other),
                          "checkpoint '" + first.checkpoint +
                              "' was written with batch_size = 8, this run has 4: restore that setting or delete "
                              "the checkpoint to start afresh");
    }
}

TEST_CASE("a run killed inside an epoch resumes at the step after its checkpoint", "[counting][train][checkpoint]") {
    TempDir dir("midepoch");
    const std::string list = write_patch_set(dir.str(), "train", "COWC_train_list_64_class.txt", 4, 5, 13);
    std::ostringstream log;
    CountTrainOptions straight = tiny_options(dir, list, log);
    straight.epochs = 2;
    straight.output = dir / "straight.pt";
    REQUIRE(train_counting_model(straight).finished);

    CountTrainOptions killed = straight;
    killed.output = dir / "resumed.pt";
    killed.checkpoint = dir / "mid.ckpt";
    killed.stop_after_steps = 3;  // 2 steps per epoch: stops after step 1 of epoch 2
    const CountTrainResult part = train_counting_model(killed);
    CHECK_FALSE(part.finished);
    CHECK(part.steps_run == 3);
    CHECK(part.completed_epochs == 1);

    killed.stop_after_steps = 0;
    const CountTrainResult rest = train_counting_model(killed);
    CHECK(rest.start_epoch == 1);
    CHECK(rest.start_step == 1);
    CHECK(rest.steps_run == 1);
    CHECK(rest.finished);
    CHECK(max_difference(torch::jit::load(straight.output), torch::jit::load(killed.output)) < 1e-5);

    // A finished run's checkpoint points past the last epoch: running again does no steps.
    const CountTrainResult again = train_counting_model(killed);
    CHECK(again.start_epoch == 2);
    CHECK(again.steps_run == 0);
    CHECK(again.finished);
}

TEST_CASE("init_model and classes must agree", "[counting][train]") {
    TempDir dir("classes");
    const std::string list = write_patch_set(dir.str(), "train", "list.txt", 3, 1, 1);
    std::ostringstream log;
    CountTrainOptions o = tiny_options(dir, list, log);
    o.classes = 65;
    CHECK_THROWS_WITH(train_counting_model(o), "init_model '" + kTinyModel +
                                                   "' has 4 count classes (logits) but classes = 65");
}

TEST_CASE("a count beyond the model's classes names the list and the patch", "[counting][train]") {
    TempDir dir("beyond");
    const std::string list = write_patch_set(dir.str(), "train", "list.txt", 5, 1, 1);
    std::ostringstream log;
    const CountTrainOptions o = tiny_options(dir, list, log);
    CHECK_THROWS_WITH(train_counting_model(o), "counting list '" + list +
                                                   "': 'Synth_Test/train/04.00100.00204.000.png 4': count 4 is "
                                                   "outside the model's 4 classes (0..3)");
}

TEST_CASE("shuffles, augmentations and the learning-rate schedule are pure functions", "[counting][train]") {
    CHECK(epoch_order(5, 2, 100) == epoch_order(5, 2, 100));
    CHECK(epoch_order(5, 2, 100) != epoch_order(5, 3, 100));
    auto sorted = epoch_order(5, 2, 100);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == i);

    int flips = 0;
    std::set<int> angles;
    for (std::size_t p = 0; p < 2000; ++p) {
        const PatchTransform t = sample_transform(9, 1, p, 15, true);
        CHECK(t.rotation_degrees % 15 == 0);
        angles.insert(t.rotation_degrees);
        flips += t.flip;
    }
    CHECK(angles.size() == 24);
    CHECK(flips > 900);
    CHECK(flips < 1100);
    CHECK(sample_transform(9, 1, 0, 0, false).is_identity());

    CHECK(learning_rate_at(0, 100, 0.1, 0.1) == Approx(0.01));
    CHECK(learning_rate_at(9, 100, 0.1, 0.1) == Approx(0.1));
    CHECK(learning_rate_at(10, 100, 0.1, 0.1) == Approx(0.1));
    CHECK(learning_rate_at(55, 100, 0.1, 0.1) == Approx(0.05));
    CHECK(learning_rate_at(100, 100, 0.1, 0.1) == Approx(0.0).margin(1e-12));
}

TEST_CASE("soft targets are a normalised Gaussian over counts centred on the true count", "[counting][train]") {
    const at::Tensor t = soft_targets(torch::tensor({2, 0}, torch::kLong), 5, 1.0);
    REQUIRE(t.sizes() == c10::IntArrayRef({2, 5}));
    const double e1 = std::exp(-0.5), e2 = std::exp(-2.0), e3 = std::exp(-4.5), e4 = std::exp(-8.0);
    const double z = 1 + 2 * e1 + 2 * e2;
    CHECK(t[0][2].item<double>() == Approx(1 / z));
    CHECK(t[0][1].item<double>() == Approx(e1 / z));
    CHECK(t[0][4].item<double>() == Approx(e2 / z));
    const double z0 = 1 + e1 + e2 + e3 + e4;
    CHECK(t[1][0].item<double>() == Approx(1 / z0));
    CHECK(t[1][3].item<double>() == Approx(e3 / z0));
    CHECK(t.sum(1)[1].item<double>() == Approx(1.0));
}

TEST_CASE("training with soft targets also reduces the loss", "[counting][train]") {
    TempDir dir("soft");
    const std::string list = write_patch_set(dir.str(), "train", "list.txt", 4, 5, 14);
    std::ostringstream log;
    CountTrainOptions o = tiny_options(dir, list, log);
    o.epochs = 10;
    o.batch_size = 4;
    o.label_sigma = 0.75;
    const CountTrainResult r = train_counting_model(o);
    INFO(log.str());
    CHECK(r.history.back().mean_loss < 0.85 * r.history.front().mean_loss);
}

TEST_CASE("evaluate_counting scores a model with known predictions", "[counting][eval]") {
    TempDir dir("eval");
    const std::string list = write_patch_set(dir.str(), "test", "COWC_test_list_64_class.txt", 4, 2, 21);
    const std::string model = write_always_two_model(dir);

    CountingEvalOptions options;
    options.model = model;
    options.list = list;
    options.root = dir.str();
    options.batch_size = 3;  // a partial last batch
    options.threads = 1;
    const CountingEvaluation e = evaluate_counting(options);
    CHECK(e.classes == 4);
    CHECK(e.truth == std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3});
    CHECK(e.predicted == std::vector<int>(8, 2));
    CHECK(e.metrics.exact_accuracy == Approx(0.25));
    CHECK(e.metrics.within_one_accuracy == Approx(0.75));
    CHECK(e.metrics.mean_absolute_error == Approx(1.0));  // |2-0| + |2-1| + 0 + |2-3| = 4 per 4
    const nlohmann::ordered_json json = counting_evaluation_json(e, options);
    CHECK(json.at("classes") == 4);
    CHECK(json.at("model") == model);
    CHECK(json.at("metrics").at("mean_absolute_error").get<double>() == 1.0);
    CHECK(json.at("metrics").at("exact_accuracy").get<double>() == 0.25);

    SECTION("a model whose output is not [1, K] logits is refused") {
        torch::jit::Module bad("Bad");
        bad.define("def forward(self, x):\n    return x\n");
        bad.save(dir / "bad.pt");
        options.model = dir / "bad.pt";
        CHECK_THROWS_WITH(evaluate_counting(options),
                          "counting model '" + options.model +
                              "': expected logits [1, K] (K >= 2 count classes) for a 1x3x224x224 input, got "
                              "[1, 3, 224, 224]");
    }
    SECTION("a missing patch names the file and the list") {
        std::filesystem::remove(dir / "Synth_Test/test/03.00101.00203.000.png");
        CHECK_THROWS_WITH(evaluate_counting(options),
                          Catch::Contains("Synth_Test/test/03.00101.00203.000.png") &&
                              Catch::Contains("(listed in '" + list + "' as 'Synth_Test/test/03.00101.00203.000.png 3')"));
    }
}

// The command end to end: the built binary's stdout parsed as JSON.
TEST_CASE("satsal eval-count --json prints the metrics of the patch set", "[counting][eval][cli]") {
    TempDir dir("eval_cli");
    // True counts 0, 1, 2, 3, 0, 1, 2, 3; the model predicts 2 for each.
    const std::string list = write_patch_set(dir.str(), "test", "list.txt", 4, 2, 21);
    const std::string model = write_always_two_model(dir);
    const auto run = run_eval_count(list, dir.str(), model, dir, "--json");
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    const Json json = Json::parse(run.out);

    std::vector<std::string> keys;
    for (const auto& item : json.items()) keys.push_back(item.key());
    CHECK(keys == std::vector<std::string>{"model", "list", "root", "classes", "precision", "precision_reason",
                                           "views", "seconds", "images_per_second", "metrics"});
    CHECK(json.at("views") == 1);
    CHECK(json.at("model") == model);
    CHECK(json.at("list") == list);
    CHECK(json.at("root") == dir.str());
    CHECK(json.at("classes") == 4);
    CHECK(json.at("precision") == "fp32");
    CHECK(json.at("seconds").get<double>() > 0);
    CHECK(json.at("images_per_second").get<double>() > 0);

    // By hand: errors +2, +1, 0, -1 twice over 8 patches.
    const Json& metrics = json.at("metrics");
    CHECK(metrics.at("n") == 8);
    CHECK(metrics.at("exact_accuracy").get<double>() == 0.25);
    CHECK(metrics.at("within_one_accuracy").get<double>() == 0.75);
    CHECK(metrics.at("mean_absolute_error").get<double>() == 1.0);
    CHECK(metrics.at("mean_error").get<double>() == 0.5);
    CHECK(metrics.at("rmse").get<double>() == std::sqrt(12.0 / 8));
    CHECK(metrics.at("true_total") == 12);
    CHECK(metrics.at("predicted_total") == 16);
    CHECK(metrics.at("total_error").get<double>() == 4.0 / 12);
    REQUIRE(metrics.at("per_count").size() == 4);
    const double exact_rate[] = {0, 0, 1, 0}, absolute_error[] = {2, 1, 0, 1};
    for (int count = 0; count < 4; ++count) {
        const Json& row = metrics.at("per_count")[static_cast<std::size_t>(count)];
        CHECK(row == Json{{"true_count", count},
                          {"n", 2},
                          {"mean_predicted", 2.0},
                          {"exact_rate", exact_rate[count]},
                          {"mean_absolute_error", absolute_error[count]}});
    }
    // The same object as the library's metrics of these counts.
    CHECK(metrics == counting_metrics_json(compute_counting_metrics({0, 1, 2, 3, 0, 1, 2, 3}, std::vector<int>(8, 2))));

    SECTION("--predictions: one CSV row per patch with its distribution; --views 8 of a constant model agrees") {
        for (const std::string views : {"1", "8"}) {
            const std::string csv = dir / ("predictions-" + views + ".csv");
            const auto with_csv = run_eval_count(list, dir.str(), model, dir, "--views " + views + " --predictions " +
                                                                                  satsal::test::quoted(csv));
            INFO(with_csv.err);
            REQUIRE(with_csv.exit_code == 0);
            CHECK_FALSE(std::filesystem::exists(csv + ".partial"));
            std::ifstream in(csv);
            std::string line;
            REQUIRE(std::getline(in, line));
            CHECK(line == "patch,true,predicted,p0,p1,p2,p3");
            // softmax of logits (0, 0, 1, 0): e / (3 + e) for 2 cars, 1 / (3 + e) for the others.
            std::ifstream listed(list);
            std::string entry;
            int rows = 0;
            while (std::getline(listed, entry) && !entry.empty()) {
                const std::string path = entry.substr(0, entry.find(' ')), count = entry.substr(entry.find(' ') + 1);
                REQUIRE(std::getline(in, line));
                CHECK(line == path + "," + count + ",2,0.174878,0.174878,0.475367,0.174878");
                ++rows;
            }
            CHECK(rows == 8);
            CHECK_FALSE(std::getline(in, line));
        }
    }
    SECTION("without --json: the text summary of the same figures") {
        const auto text = run_eval_count(list, dir.str(), model, dir, "");
        REQUIRE(text.exit_code == 0);
        CHECK_THAT(text.out, Catch::StartsWith("patches 8  exact 0.2500  within-one 0.7500  MAE 1.0000  bias +0.5000"));
    }
}

TEST_CASE("satsal eval-count --json writes a root that is not UTF-8 with U+FFFD", "[counting][eval][cli]") {
    TempDir dir("eval_cli_bytes");
    const std::string root = dir / "set-\xff";
    std::filesystem::create_directories(root);
    const std::string list = write_patch_set(root, "test", "list.txt", 4, 1, 5);
    const std::string model = write_always_two_model(dir);
    const auto run = run_eval_count(list, root, model, dir, "--json");
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    const Json json = Json::parse(run.out);
    CHECK(json.at("root") == dir / "set-\xEF\xBF\xBD");
    CHECK(json.at("metrics").at("n") == 4);
}

TEST_CASE("colour jitter changes the content square only, the same way for the same draw", "[counting][train]") {
    const at::Tensor batch = torch::rand({3, 3, 224, 224}) * 2 - 1;
    at::Tensor a = batch.clone(), b = batch.clone(), c = batch.clone();
    jitter_count_colours(a, 1, 0, 10, 0.2);
    jitter_count_colours(b, 1, 0, 10, 0.2);
    jitter_count_colours(c, 1, 1, 10, 0.2);
    CHECK(torch::equal(a, b));
    CHECK_FALSE(torch::equal(a, c));
    using torch::indexing::Slice;
    const auto frame = [](const at::Tensor& t) {
        return torch::cat({t.index({Slice(), Slice(), Slice(0, 16)}).flatten(), t.index({Slice(), Slice(), Slice(208, 224)}).flatten(),
                           t.index({Slice(), Slice(), Slice(16, 208), Slice(0, 16)}).flatten(),
                           t.index({Slice(), Slice(), Slice(16, 208), Slice(208, 224)}).flatten()});
    };
    CHECK(torch::equal(frame(a), frame(batch)));
    const at::Tensor inner = a.index({Slice(), Slice(), Slice(16, 208), Slice(16, 208)});
    const at::Tensor before = batch.index({Slice(), Slice(), Slice(16, 208), Slice(16, 208)});
    CHECK((inner - before).abs().max().item<double>() > 0.01);
    // The same sample position in a later batch gets the same draw: sample 1 of a batch starting at
    // position 10 is sample 0 of one starting at 11.
    at::Tensor d = batch.index({Slice(1, 2)}).clone();
    jitter_count_colours(d, 1, 0, 11, 0.2);
    CHECK(torch::allclose(d, a.index({Slice(1, 2)}), 1e-5, 1e-5));
    // Pixels stay in [0, 1] after undoing the normalisation.
    const at::Tensor pixels = inner * torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1}) +
                              torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
    CHECK(pixels.min().item<double>() >= -1e-5);
    CHECK(pixels.max().item<double>() <= 1 + 1e-5);
}

TEST_CASE("training reports through on_log, one line per call, and prints nothing itself", "[counting][train]") {
    TempDir dir("train-log");
    const std::string list = write_patch_set(dir.str(), "train", "COWC_train_list_64_class.txt", 4, 5, 11);
    std::ostringstream stream;
    CountTrainOptions o = tiny_options(dir, list, stream);
    o.epochs = 1;
    std::vector<std::string> lines;
    o.on_log = [&](const std::string& line) { lines.push_back(line); };
    REQUIRE(train_counting_model(o).finished);
    CHECK(stream.str().empty());  // on_log takes precedence over the stream
    REQUIRE(lines.size() >= 3);
    CHECK(lines.front().rfind("[train-count] 16 training patches, 4 held out", 0) == 0);
    CHECK(lines.back().rfind("[train-count] wrote '" + o.output + "'", 0) == 0);
    for (const auto& line : lines) CHECK(line.find('\n') == std::string::npos);
}
