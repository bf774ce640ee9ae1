// The satsal command itself (tools/Commands.cpp): exit codes and the messages a user sees on
// stderr for config errors, failing scenes in a batch and explain errors.
#include "test_support.hpp"

#include "io/OutputLock.hpp"
#include "io/SyntheticScene.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <regex>
#include <thread>

using namespace satsal::ptest;

namespace {

/// A config file naming the footprint model, the scenes and output_dir, plus `extra` lines.
std::string write_config(const TempDir& dir, const std::string& name, const std::vector<std::string>& scenes,
                         const std::vector<std::string>& extra, const std::string& model = footprint_model()) {
    std::string text = "# pipeline CLI test\nmodel = " + model + "\noutput_dir = " + dir.file("out") + "\n";
    for (const auto& line : extra) text += line + "\n";
    for (const auto& scene : scenes) text += "scene = " + scene + "\n";
    const std::string path = dir.file(name);
    write_text(path, text);
    return path;
}

}  // namespace

TEST_CASE("satsal run: config errors name the file, line and key; exit code is non-zero", "[pipeline][cli]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 96, 96, 3, GDT_Byte, texture_value);

    SECTION("unknown key") {
        // Line 4: the two lines of write_config, then this one.
        const std::string config = write_config(dir, "typo.ini", {scene}, {"tile_sise = 64"});
        REQUIRE(read_text(config).find("tile_sise") != std::string::npos);
        const CommandResult r = run_satsal("run " + quoted(config) + " --quiet", dir);
        INFO(r.err);
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.err, Catch::Contains(config + ":4") && Catch::Contains("unknown key 'tile_sise'"));
        CHECK(folder_entries(dir.file("out")).empty());
    }
    SECTION("tile_size not a multiple of the model's deepest stride") {
        const std::string config = write_config(dir, "tile.ini", {scene}, {"tile_size = 100", "margin = 32"});
        const CommandResult r = run_satsal("run " + quoted(config) + " --quiet", dir);
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.err, Catch::Contains("tile_size 100") && Catch::Contains("deepest stride 32"));
        CHECK(folder_entries(dir.file("out")).empty());
    }
    SECTION("a bad value through --set names the override") {
        const std::string config = write_config(dir, "ok.ini", {scene}, {"margin = 32"});
        const CommandResult r = run_satsal("run " + quoted(config) + " --set tile_size=abc --quiet", dir);
        INFO(r.err);
        CHECK(r.exit_code != 0);
        CHECK_THAT(r.err, Catch::Contains("--set tile_size=abc") && Catch::Contains("tile_size"));
    }
    SECTION("--print-config shows the resolved config and runs nothing") {
        const std::string config = write_config(dir, "ok.ini", {scene}, {"tile_size = 64", "margin = 32"});
        const CommandResult r = run_satsal("run " + quoted(config) + " --print-config --set batch_size=3", dir);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("tile_size = 64") && Catch::Contains("batch_size = 3") &&
                              Catch::Contains("scene = " + scene));
        CHECK(folder_entries(dir.file("out")).empty());
    }
}

TEST_CASE("satsal run: a batch with a failing scene finishes the others and exits 1", "[pipeline][cli]") {
    TempDir dir;
    const std::string good = dir.file("good.tif"), bad = dir.file("bad.tif");
    write_tiff(good, 128, 96, 4, GDT_UInt16, [](int b, int64_t x, int64_t y) { return 40.0 * texture_value(b, x, y); });
    write_tiff(bad, 128, 96, 3, GDT_Byte, texture_value);
    const std::vector<std::string> extra = {"tile_size = 64", "margin = 32", "bands = 4,3,2"};

    const CommandResult both = run_satsal("run " + quoted(write_config(dir, "both.ini", {bad, good}, extra)) + " --quiet", dir);
    INFO(both.err);
    CHECK(both.exit_code == 1);
    CHECK_THAT(both.err, Catch::Contains("scene failed: " + bad) && Catch::Contains("band 4") &&
                             Catch::Contains("1 of 2 scenes failed"));
    CHECK(fs::exists(dir.file("out/good/saliency.tif")));
    CHECK(fs::exists(dir.file("out/good/run.json")));
    CHECK(folder_entries(dir.file("out/bad")).empty());

    const std::string good_config = write_config(dir, "good.ini", {good}, extra);
    const CommandResult quiet = run_satsal("run " + quoted(good_config) + " --quiet", dir);
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.err.empty());
    // Without --quiet and without a terminal: plain progress lines, the last one complete.
    const CommandResult verbose = run_satsal("run " + quoted(good_config), dir);
    INFO(verbose.err);
    CHECK(verbose.exit_code == 0);
    CHECK_THAT(verbose.err, Catch::Contains("good.tif: 4/4 tiles (100%)") && Catch::Contains("tiles/s") &&
                                Catch::Contains(", done"));
}

TEST_CASE("satsal explain: --json summary on success, exit 1 and the reason on failure", "[pipeline][cli]") {
    TempDir dir;
    const std::string image = dir.file("image.png");
    write_png_rgb(image, 64, 64, texture_value);
    const std::string out = dir.file("explained");
    const CommandResult ok = run_satsal("explain --model " + quoted(tiny_resnet()) + " --image " + quoted(image) +
                                            " --out " + quoted(out) + " --threads 2 --json",
                                        dir);
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("\"saliency_h5\": \"" + out + "/saliency.h5\"") &&
                           Catch::Contains("\"input_size\": [") && Catch::Contains("\"forward\""));
    CHECK(fs::exists(out + "/saliency.h5"));

    const std::string missing = dir.file("missing.png"), out2 = dir.file("not_written");
    const CommandResult bad = run_satsal("explain --model " + quoted(tiny_resnet()) + " --image " + quoted(missing) +
                                             " --out " + quoted(out2),
                                         dir);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.err, Catch::StartsWith("satsal: error: ") && Catch::Contains(missing));
    CHECK_FALSE(fs::exists(out2));

    const CommandResult weights = run_satsal("explain --model " + quoted(tiny_resnet()) + " --image " + quoted(image) +
                                                 " --out " + quoted(out2) + " --weights 1,2",
                                             dir);
    CHECK(weights.exit_code == 1);
    CHECK_THAT(weights.err, Catch::Contains("give 2 values but the model has 5 taps"));
    CHECK_FALSE(fs::exists(out2));
}

TEST_CASE("satsal seams: per-layer errors, zero on the footprint model", "[pipeline][cli][seams]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 256, 256, 3, GDT_Byte, texture_value);
    const CommandResult r = run_satsal("seams --model " + quoted(footprint_model()) + " --image " + quoted(scene) +
                                           " --tile-size 64 --margin 32 --threads 2 --json",
                                       dir);
    INFO(r.err << r.out);
    CHECK(r.exit_code == 0);
    const std::regex error_entry(R"re("max_seam_error": ([-0-9.eE+]+))re");
    int layers = 0;
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), error_entry); it != std::sregex_iterator(); ++it) {
        ++layers;
        CHECK(std::stod((*it)[1]) <= 1e-6);
    }
    CHECK(layers == 5);
    CHECK_THAT(r.out, Catch::Contains("\"tiles_compared\": 4") && Catch::Contains("\"tap\": \"s32\""));
}

TEST_CASE("satsal run: a run killed while writing leaves no final-named file", "[pipeline][cli][kill]") {
    TempDir dir;
    satsal::SyntheticSceneOptions options;
    options.path = dir.file("big.tif");
    options.width = 1536;
    options.height = 1536;
    satsal::write_synthetic_scene(options);
    const std::string config = write_config(dir, "kill.ini", {options.path}, {"tile_size = 256", "margin = 32"});
    const std::string folder = dir.file("out/big");

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execl(SATSAL_BINARY, "satsal", "run", config.c_str(), "--quiet", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Wait until pass 2 writes its rasters inside the staging folder (beside the scene's folder,
    // which appears only when complete), then kill without warning.
    const std::string staging = dir.file("out/.satsal-staging-big-" + std::to_string(pid));
    bool writing = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!writing && std::chrono::steady_clock::now() < deadline) {
        for (const auto& name : folder_entries(staging)) writing = writing || name.rfind("saliency.tif", 0) == 0;
        if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(writing);
    INFO("the run must still have been running when it was killed");
    REQUIRE(WIFSIGNALED(status));
    // No scene folder at all; only the killed run's hidden staging folders and its lock file remain
    // in output_dir (nothing can remove them after SIGKILL; the lock died with the process).
    CHECK_FALSE(std::filesystem::exists(folder));
    const std::vector<std::string> left = folder_entries(dir.file("out"));
    INFO("left behind: " << join_names(left));
    for (const auto& name : left) CHECK(name.rfind(".satsal-", 0) == 0);
    CHECK(satsal::lock_is_free(dir.file("out/.satsal-lock")));

    // The next run into the folder removes the orphans (their lock is free) and succeeds.
    const pid_t again = ::fork();
    REQUIRE(again >= 0);
    if (again == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execl(SATSAL_BINARY, "satsal", "run", config.c_str(), "--quiet", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::waitpid(again, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const std::vector<std::string> after = folder_entries(dir.file("out"));
    INFO("after the rerun: " << join_names(after));
    CHECK(after == (std::vector<std::string>{"big", "collection.json"}));
}

TEST_CASE("tools/compare_outputs.sh: two runs are identical; a changed pixel and a missing file are listed",
          "[pipeline][cli][compare]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 160, 96, 3, GDT_Byte, texture_value);
    const std::string config = write_config(dir, "run.ini", {scene}, {"tile_size = 64", "margin = 32"});
    for (const char* out : {"a", "b"}) {
        const CommandResult run = run_satsal("run " + quoted(config) + " --set output_dir=" + quoted(dir.file(out)), dir);
        INFO(run.err);
        REQUIRE(run.exit_code == 0);
    }
    const std::string script = std::string(SATSAL_SOURCE_DIR) + "/tools/compare_outputs.sh";
    auto compare = [&](CommandResult& result) {
        const std::string out = dir.file("compare.out");
        const int status = std::system(("bash " + quoted(script) + " " + quoted(dir.file("a/scene")) + " " +
                                        quoted(dir.file("b/scene")) + " >" + quoted(out) + " 2>&1")
                                           .c_str());
        result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        result.out = read_text(out);
    };
    CommandResult same;
    compare(same);
    INFO(same.out);
    CHECK(same.exit_code == 0);
    CHECK_THAT(same.out, Catch::Contains("7 files identical in data"));  // item.json, lovi_legend.png too

    {  // One pixel of b's combined map changes; b loses its quicklook.
        GDALDatasetUniquePtr tiff(GDALDataset::Open(dir.file("b/scene/saliency.tif").c_str(), GDAL_OF_UPDATE | GDAL_OF_RASTER));
        REQUIRE(tiff);
        float value = 0;
        REQUIRE(tiff->GetRasterBand(1)->RasterIO(GF_Read, 70, 40, 1, 1, &value, 1, 1, GDT_Float32, 0, 0) == CE_None);
        value += 0.25f;
        REQUIRE(tiff->GetRasterBand(1)->RasterIO(GF_Write, 70, 40, 1, 1, &value, 1, 1, GDT_Float32, 0, 0) == CE_None);
    }
    fs::remove(dir.file("b/scene/quicklook.png"));
    CommandResult changed;
    compare(changed);
    INFO(changed.out);
    CHECK(changed.exit_code == 1);
    CHECK_THAT(changed.out, Catch::Contains("saliency.tif: pixel data differ") &&
                                Catch::Contains("A only: quicklook.png") &&
                                !Catch::Contains("lovi.tif") && !Catch::Contains("saliency.h5"));
}

TEST_CASE("satsal run: the command generates synthetic_cowc once before the scenes are checked; loading alone never does",
          "[pipeline][cli][config]") {
    TempDir dir;
    const std::string config = dir.file("demo.ini");
    write_text(config, "model = " + footprint_model() +
                           "\nsynthetic_cowc = demo\n"
                           "scene = demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif\n"
                           "annotations = demo/ground_truth_sets/Synthetic_SATSAL\n"
                           "output_dir = out\ntask = count\n");
    const CommandResult first = run_satsal("run " + quoted(config) + " --print-config", dir);
    INFO(first.err);
    CHECK(first.exit_code == 0);
    CHECK_THAT(first.err, Catch::Contains("generating the synthetic COWC demo scene under " + dir.file("demo")));
    CHECK_THAT(first.out, Catch::Contains("synthetic_cowc = " + dir.file("demo") + "\n") &&
                              Catch::Contains("scene = " + dir.file("demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif") + "\n"));
    REQUIRE(std::filesystem::exists(dir.file("demo/synthetic_scenes.csv")));
    const auto written = std::filesystem::last_write_time(dir.file("demo/synthetic_scenes.csv"));
    const CommandResult second = run_satsal("run " + quoted(config) + " --print-config", dir);
    CHECK(second.exit_code == 0);
    CHECK_THAT(second.err, !Catch::Contains("generating"));
    CHECK(std::filesystem::last_write_time(dir.file("demo/synthetic_scenes.csv")) == written);
    CHECK(second.out == first.out);
    CHECK_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST_CASE("satsal: numeric options out of range are refused with the option and the range", "[pipeline][cli][config]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 96, 96, 3, GDT_Byte, texture_value);
    const std::string config = write_config(dir, "ok.ini", {scene}, {"tile_size = 64", "margin = 32"});
    const CommandResult tile = run_satsal("run " + quoted(config) + " --set tile_size=65536", dir);
    CHECK(tile.exit_code != 0);
    CHECK_THAT(tile.err, Catch::Contains("--set tile_size=65536: tile_size: expected an integer in 16..8192 (pixels), got '65536'"));
    const CommandResult threads = run_satsal("run " + quoted(config) + " --set threads=99999", dir);
    CHECK(threads.exit_code != 0);
    CHECK_THAT(threads.err, Catch::Contains("threads: expected an integer in 0.."));
    const CommandResult margin = run_satsal("run " + quoted(config) + " --set margin=64 --set tile_size=32 --quiet", dir);
    CHECK(margin.exit_code != 0);
    CHECK_THAT(margin.err, Catch::Contains("margin: 64 is more than tile_size 32"));
    const CommandResult eval = run_satsal("eval-count --list x --root y --model z --threads -3", dir);
    CHECK(eval.exit_code != 0);
    CHECK_THAT(eval.err, Catch::Contains("--threads -3: expected an integer in 0.."));
    const CommandResult views = run_satsal("eval-count --list x --root y --model z --views 3", dir);
    CHECK(views.exit_code != 0);
    CHECK_THAT(views.err, Catch::Contains("--views 3: expected 1, 2, 4 or 8"));
    const CommandResult seams = run_satsal("seams --model " + quoted(footprint_model()) + " --image " + quoted(scene) +
                                               " --tile-size 0",
                                           dir);
    CHECK(seams.exit_code != 0);
    CHECK_THAT(seams.err, Catch::Contains("--tile-size 0: expected an integer in 16..8192 (pixels)"));
    const CommandResult seams_margin = run_satsal("seams --model " + quoted(footprint_model()) + " --image " +
                                                      quoted(scene) + " --margin -64",
                                                  dir);
    CHECK(seams_margin.exit_code != 0);
    CHECK_THAT(seams_margin.err, Catch::Contains("--margin -64: expected an integer in 0..256 (pixels, at most --tile-size)"));
}

TEST_CASE("satsal run: a counting run ends with counted, annotated and error per scene, and the folder",
          "[pipeline][cli][count]") {
    TempDir dir;
    const CommandResult made =
        run_satsal("make-cowc " + quoted(dir.file("cowc")) + " --scene-size 384 --train-scenes 1 --test-scenes 0", dir);
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    const std::string truth = dir.file("cowc/ground_truth_sets/Synthetic_SATSAL");
    std::string scene;
    for (const auto& name : folder_entries(truth)) {
        if (name.find("_Annotated_") == std::string::npos && name.size() > 4 && name.substr(name.size() - 4) == ".png") {
            scene = truth + "/" + name;
        }
    }
    REQUIRE_FALSE(scene.empty());
    const std::string model = std::string(SATSAL_SOURCE_DIR) + "/models/cowc-count-demo.pt";
    const std::string config = write_config(dir, "count.ini", {scene}, {"task = count", "annotations = " + truth}, model);
    for (const char* quiet : {"", " --quiet"}) {
        INFO("quiet: '" << quiet << "'");
        const CommandResult r = run_satsal("run " + quoted(config) + quiet, dir);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        // The figures are those of count-summary.json.
        const nlohmann::json summary = nlohmann::json::parse(read_text(dir.file("out/count-summary.json")));
        const nlohmann::json& entry = summary.at("scenes").at(0);
        const int64_t predicted = entry.at("predicted"), annotated = entry.at("true");
        REQUIRE(annotated > 0);
        char percent[32];
        std::snprintf(percent, sizeof percent, "%.1f%%", entry.at("percent_error").get<double>());
        const std::string stem = fs::path(scene).stem().string();
        const std::string line = "satsal: " + scene + ": counted " + std::to_string(predicted) + " cars, annotated " +
                                 std::to_string(annotated) + ", error " + percent + " -> " + dir.file("out/" + stem);
        CHECK(r.out == line + "\n");
    }
}
