// A tiny end-to-end `satsal evaluate` (configs/eval-tiny.ini): the three protocols run, every
// output is written, and the scores in the CSVs follow from the raw accuracies; split into tasks
// (prepare, every piece, merge) it gives the same numbers bit for bit, and the Slurm array script
// has one task per piece.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "eval/EvalConfig.hpp"
#include "eval/EvalTasks.hpp"
#include "eval/Evaluate.hpp"
#include "eval/Scores.hpp"

namespace fs = std::filesystem;
using namespace satsal::eval;

namespace {

std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream ss(line);
        std::string field;
        while (std::getline(ss, field, ',')) fields.push_back(field);
        rows.push_back(fields);
    }
    return rows;
}

}  // namespace

TEST_CASE("satsal evaluate: the tiny preset runs the three protocols end to end", "[eval][protocols]") {
    // Per process: other checkouts may run this test at the same time on the same machine.
    const std::string pid = std::to_string(::getpid());
    const fs::path out = fs::temp_directory_path() / ("satsal-test-eval-tiny-" + pid);
    fs::remove_all(out);
    const EvalOptions o = load_eval_config(SATSAL_SOURCE_DIR "/configs/eval-tiny.ini", {"output=" + out.string()});
    std::ostringstream log;
    EvalResult r = run_evaluation(o, log);
    INFO(log.str());

    CHECK(r.train_patches == 32);
    CHECK(r.test_patches == 16);
    // Layer level: 3 statistics x 2 taps x 2 modes x 1 seed.
    REQUIRE(r.layer.size() == 3 * 2 * 2);
    // Image level: 4 methods x 2 thresholds x 2 modes x 1 seed.
    REQUIRE(r.image.size() == 4 * 2 * 2);
    // ROAD: 4 methods x 2 orders x 2 thresholds.
    REQUIRE(r.road.size() == 4 * 2 * 2);
    for (const auto& x : r.layer) {
        CHECK(x.accuracy >= 0);
        CHECK(x.accuracy <= 1);
    }

    for (const char* file : {"layer.csv", "layer_scores.csv", "image.csv", "image_scores.csv", "road.csv",
                             "road_scores.csv", "summary.json", "report.md", "base-model.pt", "examples/example-0.png"})
        CHECK(fs::exists(out / file));

    // layer_scores.csv: D of smoe recomputed from layer.csv's accuracies (Eq. 8).
    std::map<std::string, double> acc;
    for (const auto& row : read_csv(out / "layer.csv")) {
        if (row[0] == "statistic") continue;
        acc[row[0] + row[1] + row[2]] = std::stod(row[4]);
    }
    const double d = difference_score({acc["randomL1roar"], acc["randomL5roar"]}, {acc["smoeL1roar"], acc["smoeL5roar"]},
                                      {acc["smoeL1kar"], acc["smoeL5kar"]}, {acc["randomL1kar"], acc["randomL5kar"]});
    bool found = false;
    for (const auto& row : read_csv(out / "layer_scores.csv"))
        if (row[0] == "smoe") {
            found = true;
            CHECK(std::stod(row[1]) == Approx(d).margin(1e-4));
            CHECK(std::stod(row[2]) == 0.0);  // one seed: no spread
        }
    CHECK(found);
    // The random baseline scores exactly 0 against itself.
    for (const auto& row : read_csv(out / "layer_scores.csv"))
        if (row[0] == "random") CHECK(std::stod(row[1]) == Approx(0.0).margin(1e-9));

    // image_scores.csv: KAR sum and ROAR sum from image.csv.
    double kar = 0, roar = 0;
    for (const auto& row : read_csv(out / "image.csv"))
        if (row[0] == "fastcam") (row[1] == "kar" ? kar : roar) += std::stod(row[4]);
    found = false;
    for (const auto& row : read_csv(out / "image_scores.csv"))
        if (row[0] == "fastcam") {
            found = true;
            CHECK(std::stod(row[1]) == Approx(kar).margin(1e-3));
            CHECK(std::stod(row[3]) == Approx(-roar).margin(1e-3));
        }
    CHECK(found);
    CHECK(read_csv(out / "road_scores.csv").size() == 1 + 4);

    // The same evaluation as tasks: prepare, each piece in turn (one through the command line),
    // merge. Same config but the output folder (the synthetic data shared).
    const fs::path split = fs::temp_directory_path() / ("satsal-test-eval-tiny-tasks-" + pid);
    fs::remove_all(split);
    const std::vector<std::string> overrides = {"output=" + split.string(), "data_root=" + (out / "data").string()};
    const EvalOptions t = load_eval_config(SATSAL_SOURCE_DIR "/configs/eval-tiny.ini", overrides);
    const std::vector<std::string> ids = evaluation_task_ids(t);
    // 3 statistics x 2 taps x 2 modes, 4 ROAD methods, 4 methods x 2 thresholds x 2 modes.
    REQUIRE(ids.size() == 12 + 4 + 16);
    CHECK(ids.front() == "layer-L1-smoe-kar");
    CHECK(ids[12] == "road-smoe-prior");
    CHECK(ids.back() == "image-random-90-roar");
    std::ostringstream task_log;
    CHECK_THROWS_WITH(run_task(t, 0, task_log), Catch::Contains("--prepare"));
    prepare_tasks(t, task_log);
    CHECK_THROWS_WITH(run_task(t, 32, task_log), Catch::Contains("this config has 32 tasks"));
    const std::string config_arguments = "'" SATSAL_SOURCE_DIR "/configs/eval-tiny.ini' --set 'output=" + split.string() +
                                         "' --set 'data_root=" + (out / "data").string() + "'";
    REQUIRE(std::system(("'" SATSAL_BINARY "' evaluate " + config_arguments + " --task 5 2>/dev/null").c_str()) == 0);
    CHECK(fs::exists(split / "tasks" / (ids[5] + ".json")));
    for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
        if (i == 20) {  // merging with a piece missing names it
            CHECK_THROWS_WITH(merge_tasks(t, task_log), Catch::Contains("12 of 32 tasks have no record") &&
                                                            Catch::Contains("20 (" + ids[20] + ")"));
        }
        run_task(t, i, task_log);  // task 5 is skipped: done by the command line
    }
    INFO(task_log.str());
    CHECK(missing_tasks(t).empty());
    const EvalResult m = merge_tasks(t, task_log);
    CHECK(m.base_accuracy == r.base_accuracy);
    CHECK(m.base_mae == r.base_mae);
    REQUIRE(m.layer.size() == r.layer.size());
    for (std::size_t i = 0; i < r.layer.size(); ++i) {
        CHECK(m.layer[i].statistic == r.layer[i].statistic);
        CHECK(m.layer[i].tap == r.layer[i].tap);
        CHECK(m.layer[i].mode == r.layer[i].mode);
        CHECK(m.layer[i].accuracy == r.layer[i].accuracy);
        CHECK(m.layer[i].mae == r.layer[i].mae);
    }
    REQUIRE(m.image.size() == r.image.size());
    for (std::size_t i = 0; i < r.image.size(); ++i) {
        CHECK(m.image[i].method == r.image[i].method);
        CHECK(m.image[i].threshold == r.image[i].threshold);
        CHECK(m.image[i].accuracy == r.image[i].accuracy);
        CHECK(m.image[i].mae == r.image[i].mae);
    }
    REQUIRE(m.road.size() == r.road.size());
    for (std::size_t i = 0; i < r.road.size(); ++i) {
        CHECK(m.road[i].method == r.road[i].method);
        CHECK(m.road[i].order == r.road[i].order);
        CHECK(m.road[i].accuracy == r.road[i].accuracy);
        CHECK(m.road[i].mae == r.road[i].mae);
    }
    auto text = [](const fs::path& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    for (const char* file : {"layer.csv", "layer_scores.csv", "image.csv", "image_scores.csv", "road.csv", "road_scores.csv"}) {
        INFO(file);
        CHECK(text(split / file) == text(out / file));
    }
    // A task of another config is refused.
    std::vector<std::string> changed = overrides;
    changed.push_back("retrain_epochs=2");
    CHECK_THROWS_WITH(merge_tasks(load_eval_config(SATSAL_SOURCE_DIR "/configs/eval-tiny.ini", changed), task_log),
                      Catch::Contains("written for another evaluation config"));

    // The Slurm array script: one task per piece, each running its own piece.
    const fs::path script = split / "job.sh";
    REQUIRE(std::system(("'" SATSAL_BINARY "' evaluate " + config_arguments + " --slurm --cpus-per-task 3 --time 4:00:00 --out '" +
                         script.string() + "' 2>/dev/null")
                            .c_str()) == 0);
    const std::string job = "\n" + text(script);
    CHECK(job.find("\n#SBATCH --array=0-31\n") != std::string::npos);
    CHECK(job.find("\n#SBATCH --cpus-per-task=3\n") != std::string::npos);
    CHECK(job.find("\n#SBATCH --time=4:00:00\n") != std::string::npos);
    CHECK(job.find("\n#SBATCH --requeue\n") != std::string::npos);
    CHECK(job.find("\ntask=\"$((SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN))\"\n") != std::string::npos);
    CHECK(job.find("' evaluate '" SATSAL_SOURCE_DIR "/configs/eval-tiny.ini' --task \"${task}\" --set "
                   "\"threads=${SLURM_CPUS_PER_TASK:-3}\" --set 'output=" + split.string() + "' --set 'data_root=" +
                   (out / "data").string() + "' &\n") != std::string::npos);
    fs::remove_all(split);
    fs::remove_all(out);
}
