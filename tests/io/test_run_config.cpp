// Tests for io/RunConfig: typed values, defaults, path resolution, every error message, round trip.
#include "io/RunConfig.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using namespace satsal;

namespace {

// A fresh directory tree per test: <root>/configs/ for configs, <root>/data/ and <root>/models/ for
// the files they name. Removed at the end.
class Sandbox {
public:
    Sandbox() {
        static int counter = 0;
        root_ = fs::temp_directory_path() /
                ("satsal_run_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(root_);
        fs::create_directories(root_ / "configs");
        fs::create_directories(root_ / "data" / "scenes");
        fs::create_directories(root_ / "models");
        touch("models/net.pt");
        touch("data/scenes/a.tif");
        touch("data/scenes/b.TIFF");
        touch("data/scenes/c.png");
        touch("data/scenes/notes.txt");
        touch("data/other.jp2");
    }
    ~Sandbox() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    const fs::path& root() const { return root_; }
    std::string path(const std::string& relative) const { return (root_ / relative).lexically_normal().string(); }
    void touch(const std::string& relative) const { std::ofstream(root_ / relative) << "x"; }
    std::string write_config(const std::string& name, const std::string& text) const {
        const fs::path file = root_ / "configs" / name;
        std::ofstream(file) << text;
        return file.string();
    }

private:
    fs::path root_;
};

const std::string kMinimal =
    "model = ../models/net.pt\n"
    "scene = ../data/scenes/a.tif\n"
    "output_dir = ../out\n";

std::string load_error(const std::string& path, const std::vector<std::string>& overrides = {}) {
    try {
        load_run_config(path, overrides);
    } catch (const RunConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("a full config fills every typed field", "[run_config]") {
    Sandbox box;
    const std::string config = box.write_config("full.ini",
        "# every key\n"
        "model = ../models/net.pt\n"
        "taps = relu, layer1,layer2 ,layer3,layer4\n"
        "threads = 2\n"
        "batch_size = 8\n"
        "scene = ../data/scenes/a.tif\n"
        "scene = ../data/other.jp2   # a second scene\n"
        "output_dir = ../out\n"
        "bands = 3,2,1\n"
        "stretch = 2,98\n"
        "mean = 0.5,0.25,0.125\n"
        "std = 0.2, 0.3, 0.4\n"
        "tile_size = 256\n"
        "margin = 96\n"
        "seam_tolerance = 0.005\n"
        "pad = Mean\n"
        "statistic = gamma-scale\n"
        "norm = range\n"
        "weights = 0.18,0.15,0.37,0.40,0.72\n"
        "normalize = tile\n"
        "output_scale = 4\n"
        "write_layers = true\n"
        "cog = yes\n"
        "quiet = 1\n"
        "task = count\n"
        "annotations = ../data/scenes\n");
    const RunConfig c = load_run_config(config);
    CHECK(c.model == box.path("models/net.pt"));
    CHECK(c.taps == std::vector<std::string>{"relu", "layer1", "layer2", "layer3", "layer4"});
    CHECK(c.threads == 2);
    CHECK(c.batch_size == 8);
    CHECK(c.scenes == std::vector<std::string>{box.path("data/scenes/a.tif"), box.path("data/other.jp2")});
    CHECK(c.output_dir == box.path("out"));
    CHECK(c.bands == std::vector<int>{3, 2, 1});
    CHECK_FALSE(c.input_range.has_value());
    REQUIRE(c.stretch.has_value());
    CHECK(c.stretch->low == 2.0);
    CHECK(c.stretch->high == 98.0);
    CHECK(c.mean == std::vector<double>{0.5, 0.25, 0.125});
    CHECK(c.std == std::vector<double>{0.2, 0.3, 0.4});
    CHECK(c.tile_size == 256);
    REQUIRE(c.margin.has_value());
    CHECK(*c.margin == 96);
    CHECK(c.seam_tolerance == 0.005);
    CHECK(c.pad == PadMode::Mean);
    CHECK(c.statistic == "gamma-scale");
    CHECK(c.norm == "range");
    CHECK(c.weights == "0.18,0.15,0.37,0.4,0.72");
    CHECK(c.normalize == NormalizeScope::Tile);
    CHECK(c.output_scale == 4);
    CHECK(c.write_layers);
    CHECK(c.cog);
    CHECK(c.quiet);
    CHECK(c.task == RunTask::Count);
    CHECK(c.annotations == box.path("data/scenes"));
}

TEST_CASE("defaults of the optional keys", "[run_config]") {
    Sandbox box;
    const RunConfig c = load_run_config(box.write_config("min.ini", kMinimal));
    CHECK(c.taps.empty());
    CHECK(c.threads == 0);
    CHECK(c.batch_size == 4);
    CHECK(c.bands.empty());
    CHECK_FALSE(c.input_range.has_value());
    CHECK_FALSE(c.stretch.has_value());
    CHECK(c.mean == std::vector<double>{0.485, 0.456, 0.406});
    CHECK(c.std == std::vector<double>{0.229, 0.224, 0.225});
    CHECK(c.tile_size == 512);
    CHECK_FALSE(c.margin.has_value());  // auto
    CHECK(c.seam_tolerance == 0.01);
    CHECK(c.pad == PadMode::Reflect);
    CHECK(c.statistic == "smoe");
    CHECK(c.norm == "gauss");
    CHECK(c.weights == "equal");
    CHECK(c.normalize == NormalizeScope::Scene);
    CHECK(c.output_scale == 1);
    CHECK_FALSE(c.write_layers);
    CHECK_FALSE(c.cog);
    CHECK_FALSE(c.quiet);
    CHECK(c.task == RunTask::Saliency);
    CHECK(c.annotations.empty());
}

TEST_CASE("relative paths resolve against the config's directory, --set paths against the cwd",
          "[run_config]") {
    Sandbox box;
    const std::string config = box.write_config("paths.ini", kMinimal);
    const fs::path previous = fs::current_path();
    fs::current_path(box.root() / "data");  // somewhere else than the config's directory
    RunConfig from_file, overridden;
    try {
        from_file = load_run_config(config);
        overridden = load_run_config(config, {"scene=other.jp2", "output_dir=results"});
    } catch (...) {
        fs::current_path(previous);
        throw;
    }
    fs::current_path(previous);
    CHECK(from_file.model == box.path("models/net.pt"));
    CHECK(from_file.scenes == std::vector<std::string>{box.path("data/scenes/a.tif")});
    CHECK(from_file.output_dir == box.path("out"));
    CHECK(overridden.scenes == std::vector<std::string>{box.path("data/other.jp2")});
    CHECK(overridden.output_dir == box.path("data/results"));
}

TEST_CASE("parse_run_config reads text with Windows line ends and a byte order mark", "[run_config]") {
    Sandbox box;
    const std::string text = "\xEF\xBB\xBFmodel = models/net.pt\r\nscene = data/scenes/a.tif\r\n"
                             "output_dir = out\r\ntile_size = 256\r\n";
    const RunConfig c = parse_run_config(text, "inline", box.root().string());
    CHECK(c.model == box.path("models/net.pt"));
    CHECK(c.tile_size == 256);
    try {
        parse_run_config(text + "tile_sise = 1\r\n", "inline", box.root().string());
        FAIL("no error");
    } catch (const RunConfigError& e) {
        CHECK(std::string(e.what()) == "inline:5: unknown key 'tile_sise' (did you mean 'tile_size'?)");
    }
}

TEST_CASE("scene directories and globs expand to sorted raster files", "[run_config]") {
    Sandbox box;
    const std::string config = box.write_config("many.ini",
        "model = ../models/net.pt\n"
        "scene = ../data/scenes\n"      // a.tif, b.TIFF, c.png (not notes.txt)
        "scene = ../data/*.jp2\n"       // other.jp2
        "scene = ../data/scenes/a.tif\n"  // again: run once
        "output_dir = ../out\n");
    const RunConfig c = load_run_config(config);
    CHECK(c.scenes == std::vector<std::string>{box.path("data/scenes/a.tif"), box.path("data/scenes/b.TIFF"),
                                               box.path("data/scenes/c.png"), box.path("data/other.jp2")});
}

TEST_CASE("--set overrides keys after the file", "[run_config]") {
    Sandbox box;
    const std::string config = box.write_config("set.ini", kMinimal + "tile_size = 256\nstretch = 2,98\n");
    const RunConfig c = load_run_config(config, {"tile_size=1024", "margin=64", "stretch=", "input_range=0,4095",
                                                 "scene=" + box.path("data/scenes/c.png"),
                                                 "scene=" + box.path("data/other.jp2")});
    CHECK(c.tile_size == 1024);
    CHECK(c.margin == std::optional<int>(64));
    CHECK_FALSE(c.stretch.has_value());  // an empty value restores the default
    REQUIRE(c.input_range.has_value());
    CHECK(c.input_range->low == 0);
    CHECK(c.input_range->high == 4095);
    // --set scene replaces the file's scenes; several --set scene accumulate.
    CHECK(c.scenes == std::vector<std::string>{box.path("data/scenes/c.png"), box.path("data/other.jp2")});
}

TEST_CASE("unknown keys are reported with their line and a suggestion", "[run_config][errors]") {
    Sandbox box;
    const std::string config = box.write_config("typo.ini",
        "# comment\n"
        "model = ../models/net.pt\n"
        "\n"
        "scene = ../data/scenes/a.tif\n"
        "output_dir = ../out\n"
        "   # indented comment\n"
        "tile_sise = 512\n");
    CHECK(load_error(config) == config + ":7: unknown key 'tile_sise' (did you mean 'tile_size'?)");

    const std::string far = box.write_config("far.ini", kMinimal + "colour = red\n");
    CHECK(load_error(far) == far + ":4: unknown key 'colour'");

    const std::string section = box.write_config("section.ini", kMinimal + "[tiling]\ntile_size = 512\n");
    CHECK(load_error(section) == section + ":5: unknown key 'tiling.tile_size'");
}

TEST_CASE("bad values name the file, line, key and what was expected", "[run_config][errors]") {
    Sandbox box;
    const auto error_for = [&](const std::string& line) {
        return load_error(box.write_config("bad.ini", kMinimal + line + "\n"));
    };
    const std::string where = box.path("configs/bad.ini") + ":4: ";
    CHECK(error_for("tile_size = abc") == where + "bad value for 'tile_size': expected a positive integer (pixels), got 'abc'");
    CHECK(error_for("tile_size = 0") == where + "bad value for 'tile_size': expected a positive integer (pixels), got '0'");
    CHECK(error_for("tile_size = 12.5") == where + "bad value for 'tile_size': expected a positive integer (pixels), got '12.5'");
    CHECK(error_for("bands = 3,0,1") == where + "bad value for 'bands': expected positive band numbers separated by commas (e.g. 3,2,1), got '3,0,1'");
    CHECK(error_for("bands = 3,,1") == where + "bad value for 'bands': expected positive band numbers separated by commas (e.g. 3,2,1), got '3,,1'");
    CHECK(error_for("output_scale = 3") == where + "bad value for 'output_scale': expected a power of two (1, 2, 4, ...), got '3'");
    CHECK(error_for("input_range = 255,0") == where + "bad value for 'input_range': expected two numbers min,max with min < max (e.g. 0,255), got '255,0'");
    CHECK(error_for("input_range = 5,5") == where + "bad value for 'input_range': expected two numbers min,max with min < max (e.g. 0,255), got '5,5'");
    CHECK(error_for("stretch = 2,101") == where + "bad value for 'stretch': expected two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98), got '2,101'");
    CHECK(error_for("stretch = -1,98") == where + "bad value for 'stretch': expected two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98), got '-1,98'");
    CHECK(error_for("margin = -32") == where + "bad value for 'margin': expected a non-negative integer (pixels) or auto, got '-32'");
    CHECK(error_for("seam_tolerance = 0") == where + "bad value for 'seam_tolerance': expected a number in (0, 1] (e.g. 0.01), got '0'");
    CHECK(error_for("pad = mirror") == where + "bad value for 'pad': expected one of reflect, mean, zero, got 'mirror'");
    CHECK(error_for("statistic = entropy") == where + "bad value for 'statistic': expected one of smoe, std, mean, max, shannon, lognormal-mean, lognormal-ent, truncnormal-mean, truncnormal-std, truncnormal-ent, gamma-scale, got 'entropy'");
    CHECK(error_for("norm = cdf") == where + "bad value for 'norm': expected one of gauss, gamma, gamma-moments, range, got 'cdf'");
    CHECK(error_for("weights = 1,x,3") == where + "bad value for 'weights': expected equal, ramp, prior or non-negative numbers separated by commas, not all zero, got '1,x,3'");
    CHECK(error_for("weights = 0,0") == where + "bad value for 'weights': expected equal, ramp, prior or non-negative numbers separated by commas, not all zero, got '0,0'");
    CHECK(error_for("normalize = image") == where + "bad value for 'normalize': expected one of scene, tile, got 'image'");
    CHECK(error_for("cog = maybe") == where + "bad value for 'cog': expected true or false (also yes/no, on/off, 1/0), got 'maybe'");
    CHECK(error_for("batch_size = 0") == where + "bad value for 'batch_size': expected a positive integer, got '0'");
    CHECK(error_for("threads = -1") == where + "bad value for 'threads': expected a non-negative integer (0 = all cores), got '-1'");
    CHECK(error_for("task = detect") == where + "bad value for 'task': expected one of saliency, count, got 'detect'");
    CHECK(error_for("std = 0.2,0,0.2") == where + "bad value for 'std': expected positive numbers separated by commas, one per selected band, got '0.2,0,0.2'");
    CHECK(error_for("broken line") == where + "expected 'key = value', got 'broken line'");
    CHECK(error_for("tile_size = 256\ntile_size = 512") ==
          box.path("configs/bad.ini") + ":5: key 'tile_size' given twice (also on line 4); only scene may be repeated");
}

TEST_CASE("checks across keys", "[run_config][errors]") {
    Sandbox box;
    const std::string both = box.write_config("both.ini", kMinimal + "input_range = 0,255\nstretch = 2,98\n");
    CHECK(load_error(both) == both + ":5: stretch and input_range (" + both +
                                  ":4) are mutually exclusive; keep one (an empty value resets a key)");

    const std::string mean = box.write_config("mean.ini", kMinimal + "bands = 4,3,2,1\nmean = 0.1,0.2,0.3\n");
    CHECK(load_error(mean) == mean + ":5: mean has 3 values (" + mean + ":5) but bands (" + mean +
                                  ":4) selects 4; give one mean value per selected band");

    const std::string defaults = box.write_config("defaults.ini", kMinimal + "bands = 4,3,2,1\n");
    CHECK(load_error(defaults) == defaults + ":4: mean has 3 values (default) but bands (" + defaults +
                                      ":4) selects 4; give one mean value per selected band");

    const std::string counts = box.write_config("counts.ini", kMinimal + "mean = 0.5\n");
    CHECK(load_error(counts) == counts + ":4: mean (" + counts +
                                    ":4) has 1 values but std (default) has 3; give one value per channel in each");

    // One band for a gray model: both given with one value each.
    const RunConfig gray = load_run_config(box.write_config("gray.ini", kMinimal + "bands = 1\nmean = 0.45\nstd = 0.22\n"));
    CHECK(gray.bands == std::vector<int>{1});
}

TEST_CASE("missing keys and files", "[run_config][errors]") {
    Sandbox box;
    const std::string no_model = box.write_config("nomodel.ini", "scene = ../data/scenes/a.tif\noutput_dir = ../out\n");
    CHECK(load_error(no_model) == no_model + ": missing required key 'model'");
    const std::string no_scene = box.write_config("noscene.ini", "model = ../models/net.pt\noutput_dir = ../out\n");
    CHECK(load_error(no_scene) == no_scene + ": missing required key 'scene'");
    const std::string no_out = box.write_config("noout.ini", "model = ../models/net.pt\nscene = ../data/scenes/a.tif\n");
    CHECK(load_error(no_out) == no_out + ": missing required key 'output_dir'");

    const std::string model = box.write_config("model.ini",
        "model = ../models/missing.pt\nscene = ../data/scenes/a.tif\noutput_dir = ../out\n");
    CHECK(load_error(model) == model + ":1: model file '" + box.path("models/missing.pt") + "' does not exist");

    const std::string scene = box.write_config("scene.ini",
        "model = ../models/net.pt\nscene = ../data/scenes/a.tif\nscene = ../data/nope.tif\noutput_dir = ../out\n");
    CHECK(load_error(scene) == scene + ":3: scene file '" + box.path("data/nope.tif") + "' does not exist");

    const std::string glob = box.write_config("glob.ini",
        "model = ../models/net.pt\nscene = ../data/*.tiff\noutput_dir = ../out\n");
    CHECK(load_error(glob) == glob + ":2: scene pattern '" + box.path("data/*.tiff") + "' matches no file");

    fs::create_directories(box.root() / "empty");
    const std::string empty = box.write_config("empty.ini",
        "model = ../models/net.pt\nscene = ../empty\noutput_dir = ../out\n");
    CHECK(load_error(empty) == empty + ":2: scene directory '" + box.path("empty") +
                                   "' holds no raster (.tif .tiff .png .jp2 .vrt .img)");

    fs::create_directories(box.root() / "twin");
    box.touch("twin/a.png");
    const std::string twins = box.write_config("twins.ini",
        "model = ../models/net.pt\nscene = ../data/scenes/a.tif\nscene = ../twin/a.png\noutput_dir = ../out\n");
    CHECK(load_error(twins) == twins + ":3: scenes '" + box.path("data/scenes/a.tif") + "' (" + twins +
                                   ":2) and '" + box.path("twin/a.png") +
                                   "' have the same name 'a'; both would write to <output_dir>/a/");

    CHECK(load_error(box.path("configs/absent.ini")) == box.path("configs/absent.ini") + ": cannot open the config file");
}

TEST_CASE("--set errors name the assignment", "[run_config][errors]") {
    Sandbox box;
    const std::string config = box.write_config("ok.ini", kMinimal);
    CHECK(load_error(config, {"tile_size=abc"}) ==
          "--set tile_size=abc: bad value for 'tile_size': expected a positive integer (pixels), got 'abc'");
    CHECK(load_error(config, {"tile_sise=512"}) == "--set tile_sise=512: unknown key 'tile_sise' (did you mean 'tile_size'?)");
    CHECK(load_error(config, {"tile_size"}) == "--set tile_size: expected key=value");
    CHECK(load_error(config, {"model="}) == config + ": missing required key 'model'");
    CHECK(load_error(config, {"scene=nowhere/*.tif"}) ==
          "--set scene=nowhere/*.tif: scene pattern '" + (fs::current_path() / "nowhere/*.tif").string() +
              "' matches no file");
    CHECK(load_error(config, {"input_range=0,255", "stretch=2,98"}) ==
          "--set stretch=2,98: stretch and input_range (--set input_range=0,255) are mutually exclusive; keep one "
          "(an empty value resets a key)");
}

TEST_CASE("to_ini writes a config that reads back equal", "[run_config]") {
    Sandbox box;
    const std::string config = box.write_config("round.ini",
        "model = ../models/net.pt\n"
        "taps = relu,layer1\n"
        "scene = ../data/scenes\n"
        "output_dir = ../out\n"
        "bands = 4,3,2\n"
        "input_range = 0.5,4095.25\n"
        "mean = 0.1,0.2,0.30000000000000004\n"
        "std = 0.229,0.224,0.225\n"
        "margin = 64\n"
        "seam_tolerance = 0.003\n"
        "pad = zero\n"
        "weights = ramp\n"
        "output_scale = 2\n"
        "write_layers = on\n"
        "annotations = ../data/other.jp2\n");
    const RunConfig original = load_run_config(config);
    const std::string text = to_ini(original);
    const std::string copy = box.write_config("copy.ini", text);
    const RunConfig reread = load_run_config(copy);
    CHECK(reread == original);
    CHECK(to_ini(reread) == text);
    CHECK(reread.mean[2] == 0.30000000000000004);  // shortest round-trip formatting keeps every bit
    CHECK(text.find("scene = " + box.path("data/scenes/b.TIFF") + "\n") != std::string::npos);
    CHECK(text.find("margin = 64\n") != std::string::npos);

    // Defaults survive the round trip too (margin auto, no range, empty bands).
    const RunConfig minimal = load_run_config(box.write_config("min.ini", kMinimal));
    const RunConfig minimal_again = load_run_config(box.write_config("min-copy.ini", to_ini(minimal)));
    CHECK(minimal_again == minimal);
    CHECK(to_ini(minimal).find("margin = auto\n") != std::string::npos);
}

TEST_CASE("the key list and the reference agree", "[run_config]") {
    const auto keys = run_config_keys();
    CHECK(keys.size() == 28);
    const std::string reference = run_config_reference();
    for (const auto& key : keys) CHECK(reference.find("  " + key + " ") != std::string::npos);
    CHECK(scene_name("/data/12TVL240120.png") == "12TVL240120");
    CHECK(scene_name("/data/top_potsdam_2_10.5-x%20.tif") == "top_potsdam_2_10.5-x%20");
}

TEST_CASE("synthetic_cowc generates the demo set once, before the scenes are checked", "[run_config][cowc]") {
    Sandbox box;
    box.touch("models/net.pt");
    const std::string text =
        "model = ../models/net.pt\n"
        "synthetic_cowc = ../demo\n"
        "scene = ../demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif\n"
        "annotations = ../demo/ground_truth_sets/Synthetic_SATSAL\n"
        "output_dir = ../out\n";
    const std::string path = box.write_config("demo.ini", text);
    REQUIRE_FALSE(fs::exists(box.path("demo/synthetic_scenes.csv")));
    const RunConfig config = load_run_config(path);
    REQUIRE(config.scenes.size() == 1);
    CHECK(config.scenes[0] == box.path("demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif"));
    CHECK(config.synthetic_cowc == box.path("demo"));
    CHECK(fs::exists(box.path("demo/ground_truth_sets/Synthetic_SATSAL/syn-01.5%_t_Annotated_Cars.png")));
    // A second load finds the set and leaves it alone.
    const auto written = fs::last_write_time(box.path("demo/synthetic_scenes.csv"));
    CHECK(load_run_config(path) == config);
    CHECK(fs::last_write_time(box.path("demo/synthetic_scenes.csv")) == written);
    CHECK(load_run_config(box.write_config("again.ini", to_ini(config))) == config);
}

TEST_CASE("the shipped configs parse (inputs overridden, since they are generated)", "[run_config][configs]") {
    Sandbox box;
    const std::string configs = std::string(SATSAL_SOURCE_DIR) + "/configs/";
    const std::vector<std::string> inputs = {"model=" + box.path("models/net.pt"),
                                             "scene=" + box.path("data/scenes/a.tif")};
    const RunConfig rgb = load_run_config(configs + "resnet50-rgb.ini", inputs);
    CHECK(rgb.taps.size() == 5);
    CHECK(rgb.input_range == std::optional<ValueRange>(ValueRange{0, 255}));
    CHECK(rgb.normalize == NormalizeScope::Scene);
    CHECK(rgb.output_dir == (fs::path(SATSAL_SOURCE_DIR) / "out/resnet50-rgb").lexically_normal().string());

    const RunConfig multispectral = load_run_config(configs + "uint16-4band.ini", inputs);
    CHECK(multispectral.bands == std::vector<int>{3, 2, 1});
    CHECK(multispectral.stretch == std::optional<ValueRange>(ValueRange{2, 98}));
    CHECK_FALSE(multispectral.input_range.has_value());
    CHECK(multispectral.write_layers);

    const RunConfig tile = load_run_config(configs + "scene-vs-tile.ini", inputs);
    CHECK(tile.normalize == NormalizeScope::Tile);
    CHECK(tile.output_dir == (fs::path(SATSAL_SOURCE_DIR) / "out/scene-vs-tile").lexically_normal().string());

    // Without the overrides the only complaint is the missing generated model, named with its line.
    if (!fs::exists(fs::path(SATSAL_SOURCE_DIR) / "build/models/resnet50.pt"))
        CHECK(load_error(configs + "scene-vs-tile.ini") ==
              configs + "scene-vs-tile.ini:15: model file '" +
                  (fs::path(SATSAL_SOURCE_DIR) / "build/models/resnet50.pt").lexically_normal().string() +
                  "' does not exist");
}
