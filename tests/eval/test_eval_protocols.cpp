// A tiny end-to-end `satsal evaluate` (configs/eval-tiny.ini): the three protocols run, every
// output is written, and the scores in the CSVs follow from the raw accuracies.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "eval/EvalConfig.hpp"
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
    const fs::path out = fs::temp_directory_path() / "satsal-test-eval-tiny";
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
    fs::remove_all(out);
}
