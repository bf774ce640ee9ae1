// Tests for io/RunConfig: typed values, defaults, path resolution, every error message, round trip.
#include "io/RunConfig.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using namespace satsal;

namespace {

// The help text of the `scene` key, as the schema declares it.
std::string scene_help() {
    for (const auto& key : satsal::run_config_schema().keys()) {
        if (key.name == "scene") return key.help;
    }
    return "(no scene key)";
}

}  // namespace

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
    CHECK(c.statistic == Statistic::GammaScale);
    CHECK(c.norm == Normalization::Range);
    CHECK(c.weights.preset == WeightSpec::Preset::List);
    CHECK(c.weights.values == std::vector<double>{0.18, 0.15, 0.37, 0.40, 0.72});
    CHECK(weight_spec_text(c.weights) == "0.18,0.15,0.37,0.4,0.72");
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
    CHECK(c.statistic == Statistic::Smoe);
    CHECK(c.norm == Normalization::Gauss);
    CHECK(c.weights.preset == WeightSpec::Preset::Equal);
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

    // The last word is the command line's, whatever the file says; quotes around a --set value go.
    const RunConfig quoted = load_run_config(config, {"tile_size=512", "tile_size = 128", "pad=\"zero\"",
                                                      "output_dir=\"/tmp/x #1\""});
    CHECK(quoted.tile_size == 128);
    CHECK(quoted.pad == PadMode::Zero);
    CHECK(quoted.output_dir == "/tmp/x #1");
    // An empty --set value restores the default over the file's value.
    CHECK(load_run_config(config, {"tile_size="}).tile_size == 512);
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
    CHECK(load_error(far) == far + ":4: unknown key 'colour' (satsal run --help lists the keys)");

    const std::string section = box.write_config("section.ini", kMinimal + "[tiling]\ntile_size = 512\n");
    CHECK(load_error(section) == section + ":4: sections are not used, found '[tiling]'; write the keys without a section");
}

TEST_CASE("bad values name the file, line, key and what was expected", "[run_config][errors]") {
    Sandbox box;
    const auto error_for = [&](const std::string& line) {
        return load_error(box.write_config("bad.ini", kMinimal + line + "\n"));
    };
    const std::string where = box.path("configs/bad.ini") + ":4: ";
    CHECK(error_for("tile_size = abc") == where + "tile_size: expected an integer in 16..8192 (pixels), got 'abc'");
    CHECK(error_for("tile_size = 0") == where + "tile_size: expected an integer in 16..8192 (pixels), got '0'");
    CHECK(error_for("tile_size = 12.5") == where + "tile_size: expected an integer in 16..8192 (pixels), got '12.5'");
    CHECK(error_for("bands = 3,0,1") == where + "bands: expected band numbers 1..65535 separated by commas, at most 64 (e.g. 3,2,1), got '3,0,1'");
    CHECK(error_for("bands = 3,,1") == where + "bands: expected band numbers 1..65535 separated by commas, at most 64 (e.g. 3,2,1), got '3,,1'");
    CHECK(error_for("output_scale = 3") == where + "output_scale: expected a power of two 1, 2, 4, ... up to 256, got '3'");
    CHECK(error_for("input_range = 255,0") == where + "input_range: expected two numbers min,max with min < max (e.g. 0,255), got '255,0'");
    CHECK(error_for("input_range = 5,5") == where + "input_range: expected two numbers min,max with min < max (e.g. 0,255), got '5,5'");
    CHECK(error_for("input_range = 0,inf") == where + "input_range: expected two numbers min,max with min < max (e.g. 0,255), got '0,inf'");
    CHECK(error_for("stretch = 2,101") == where + "stretch: expected two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98), got '2,101'");
    CHECK(error_for("stretch = -1,98") == where + "stretch: expected two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98), got '-1,98'");
    CHECK(error_for("stretch = nan,98") == where + "stretch: expected two percentiles low,high with 0 <= low < high <= 100 (e.g. 2,98), got 'nan,98'");
    CHECK(error_for("margin = -32") == where + "margin: expected auto or an integer in 0..4096 (pixels), got '-32'");
    CHECK(error_for("seam_tolerance = 0") == where + "seam_tolerance: expected a number in (0, 1], got '0'");
    CHECK(error_for("pad = mirror") == where + "pad: expected one of reflect, mean, zero, got 'mirror'");
    CHECK(error_for("statistic = entropy") == where + "statistic: expected one of smoe, std, mean, max, shannon, lognormal-mean, lognormal-ent, truncnormal-mean, truncnormal-std, truncnormal-ent, gamma-scale, got 'entropy'");
    CHECK(error_for("norm = cdf") == where + "norm: expected one of gauss, gamma, gamma-moments, range, got 'cdf'");
    CHECK(error_for("weights = 1,x,3") == where + "weights: expected equal, ramp, prior or non-negative numbers separated by commas, not all zero, got '1,x,3'");
    CHECK(error_for("weights = 0,0") == where + "weights: expected equal, ramp, prior or non-negative numbers separated by commas, not all zero, got '0,0'");
    CHECK(error_for("normalize = image") == where + "normalize: expected one of scene, tile, got 'image'");
    CHECK(error_for("cog = maybe") == where + "cog: expected true or false (also yes/no, on/off, 1/0), got 'maybe'");
    CHECK(error_for("batch_size = 0") == where + "batch_size: expected an integer in 1..256, got '0'");
    CHECK(error_for("task = detect") == where + "task: expected one of saliency, count, got 'detect'");
    CHECK(error_for("std = 0.2,0,0.2") == where + "std: expected positive numbers separated by commas, one per selected band, got '0.2,0,0.2'");
    CHECK(error_for("broken line") == where + "expected 'key = value', got 'broken line'");
    CHECK(error_for("= 5") == where + "missing key before '=' in '= 5'");
    CHECK(error_for("tile_size = 256\ntile_size = 512") ==
          box.path("configs/bad.ini") + ":5: tile_size: given twice (first at " + box.path("configs/bad.ini") +
              ":4); only scene may be repeated");
}

TEST_CASE("numeric options have ranges: every range error names the key and the bounds", "[run_config][errors]") {
    Sandbox box;
    const auto error_for = [&](const std::string& line) {
        return load_error(box.write_config("range.ini", kMinimal + line + "\n"));
    };
    const std::string where = box.path("configs/range.ini") + ":4: ";
    // tile_size 65536 used to end in std::bad_alloc; now a range error before anything is allocated.
    CHECK(error_for("tile_size = 65536") == where + "tile_size: expected an integer in 16..8192 (pixels), got '65536'");
    CHECK(error_for("tile_size = 8") == where + "tile_size: expected an integer in 16..8192 (pixels), got '8'");
    CHECK(error_for("tile_size = 99999999999999999999") ==
          where + "tile_size: expected an integer in 16..8192 (pixels), got '99999999999999999999'");
    CHECK(load_run_config(box.write_config("edges.ini", kMinimal + "tile_size = 8192\nmargin = 4096\n")).tile_size == 8192);
    CHECK(load_run_config(box.write_config("small.ini", kMinimal + "tile_size = 16\nmargin = 0\n")).margin == 0);

    CHECK(error_for("batch_size = 257") == where + "batch_size: expected an integer in 1..256, got '257'");
    CHECK(error_for("output_scale = 512") == where + "output_scale: expected a power of two 1, 2, 4, ... up to 256, got '512'");
    CHECK(error_for("output_scale = 0") == where + "output_scale: expected a power of two 1, 2, 4, ... up to 256, got '0'");
    CHECK(error_for("seam_tolerance = 1.5") == where + "seam_tolerance: expected a number in (0, 1], got '1.5'");
    CHECK(error_for("seam_tolerance = nan") == where + "seam_tolerance: expected a number in (0, 1], got 'nan'");
    CHECK(error_for("margin = 4097") == where + "margin: expected auto or an integer in 0..4096 (pixels), got '4097'");

    // threads: 0..4 x cores, never above 256 (2000 threads made a run 100x slower; 99999 never progressed).
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const int limit = std::min(256, 4 * static_cast<int>(cores));
    CHECK(config::max_threads() == limit);
    const std::string rule = "an integer in 0.." + std::to_string(limit) + " (0 = all cores; at most 4 x the " +
                             std::to_string(cores) + " cores, at most 256)";
    CHECK(error_for("threads = -1") == where + "threads: expected " + rule + ", got '-1'");
    CHECK(error_for("threads = 99999") == where + "threads: expected " + rule + ", got '99999'");
    CHECK(error_for("threads = " + std::to_string(limit + 1)) ==
          where + "threads: expected " + rule + ", got '" + std::to_string(limit + 1) + "'");
    CHECK(load_run_config(box.write_config("threads.ini", kMinimal + "threads = " + std::to_string(limit) + "\n")).threads == limit);
    CHECK(config::checked_thread_count("--threads", 0) == 0);
    CHECK_THROWS_WITH(config::checked_thread_count("--threads", -3), "--threads -3: expected " + rule);

    // margin against tile_size: at most one core of context on each side.
    const std::string wide = box.write_config("wide.ini", kMinimal + "tile_size = 256\nmargin = 512\n");
    CHECK(load_error(wide) == wide + ":5: margin: 512 is more than tile_size 256 (" + wide +
                                  ":4); the context on each side is at most one core wide");
    const std::string wide_default = box.write_config("wide2.ini", kMinimal + "margin = 4096\n");
    CHECK(load_error(wide_default) == wide_default + ":4: margin: 4096 is more than tile_size 512 (default); "
                                                     "the context on each side is at most one core wide");
    // The scene-size part (a margin larger than the scene) is capped where the scene is opened
    // (pipeline/, capped_margin).
}

TEST_CASE("'#' starts a comment only at line start or after whitespace; quoted values are literal",
          "[run_config][syntax]") {
    Sandbox box;
    const std::string config = box.write_config("hash.ini",
        "model = ../models/net.pt\n"
        "scene = ../data/scenes/a.tif\n"
        "output_dir = ../out/run#3\n"
        "taps = relu,layer1 # a comment after a space\n"
        "annotations = \"../data/scenes\"   # quoted, then a comment\n");
    const RunConfig c = load_run_config(config);
    CHECK(c.output_dir == box.path("out/run#3"));
    CHECK(c.taps == std::vector<std::string>{"relu", "layer1"});
    CHECK(c.annotations == box.path("data/scenes"));

    // A quoted value keeps '#', spaces and everything else between the quotes.
    const RunConfig quoted = load_run_config(box.write_config("quoted.ini",
        kMinimal + "synthetic_cowc = \" ../demo #1 \"\n"));
    CHECK(quoted.synthetic_cowc == (box.root() / "configs" / " ../demo #1 ").lexically_normal().string());
    CHECK_FALSE(fs::exists(box.root() / "configs" / " ../demo #1 "));

    // `key = # comment` is an empty value (the default); a tab before '#' starts a comment too.
    const RunConfig tabbed = load_run_config(box.write_config("tab.ini", kMinimal + "tile_size = 256\t# core\nmargin = # auto\n"));
    CHECK(tabbed.tile_size == 256);
    CHECK_FALSE(tabbed.margin.has_value());

    const std::string open = box.write_config("open.ini", kMinimal + "output_dir = \"/data/run\n");
    CHECK(load_error(open) == open + ":4: output_dir: the value's opening '\"' has no closing '\"'");
    const std::string after = box.write_config("after.ini", kMinimal + "pad = \"zero\" mean\n");
    CHECK(load_error(after) == after + ":4: pad: text after the closing '\"': 'mean' (a comment starts with '#')");
    // "run#3" without quotes is a value, not a key typo: unknown values still name it whole.
    CHECK(load_error(box.write_config("hashbad.ini", kMinimal + "pad = zero#x\n")) ==
          box.path("configs/hashbad.ini") + ":4: pad: expected one of reflect, mean, zero, got 'zero#x'");
}

TEST_CASE("binary garbage and overlong values are reported, not echoed raw", "[run_config][errors]") {
    Sandbox box;
    const std::string garbage = box.write_config("garbage.ini", kMinimal + std::string("pad = ze\0ro\x01\n", 13));
    CHECK(load_error(garbage) == garbage + ":4: control character (byte 0x00) at column 9; a config file is text, "
                                           "one 'key = value' per line");
    const std::string bell = box.write_config("bell.ini", "\x7f\x45LF\n");
    CHECK(load_error(bell) == bell + ":1: control character (byte 0x7f) at column 1; a config file is text, "
                                     "one 'key = value' per line");

    // A 10 MB value: the message shows 80 characters and the length.
    const std::string huge(10'000'000, 'x');
    const std::string overlong = box.write_config("long.ini", kMinimal + "pad = " + huge + "\n");
    const std::string message = load_error(overlong);
    CHECK(message == overlong + ":4: pad: expected one of reflect, mean, zero, got '" + std::string(80, 'x') +
                         "... (10000000 bytes)'");
    CHECK(load_error(box.write_config("longkey.ini", kMinimal + huge + " = 1\n")) ==
          box.path("configs/longkey.ini") + ":4: unknown key '" + std::string(80, 'x') +
              "... (10000000 bytes)' (satsal run --help lists the keys)");
    CHECK(load_error(box.write_config("ok.ini", kMinimal), {"pad=" + huge}) ==
          "--set pad=" + std::string(196, 'x') + "... (10000004 bytes): pad: expected one of reflect, mean, zero, got '" +
              std::string(80, 'x') + "... (10000000 bytes)'");
    CHECK(load_error(box.write_config("ok.ini", kMinimal), {std::string("pad=\x01")}) ==
          "--set pad=\\x01: the value holds a control character");

    // Files over 16 MiB (or /dev/zero) are refused before they are parsed.
    const std::string big = box.write_config("big.ini", std::string((16u << 20) + 1, '#'));
    CHECK(load_error(big) == big + ": larger than 16 MiB; a config file is a few lines of text");
    if (fs::exists("/dev/zero"))
        CHECK(load_error("/dev/zero") == "/dev/zero: larger than 16 MiB; a config file is a few lines of text");
    CHECK(load_error(box.path("configs")) == box.path("configs") + ": is a directory, expected a config file");
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
    CHECK(load_error(no_model) == no_model + ": missing required key 'model' (TorchScript model file (.pt))");
    const std::string no_scene = box.write_config("noscene.ini", "model = ../models/net.pt\noutput_dir = ../out\n");
    CHECK_THAT(load_error(no_scene), Catch::StartsWith(no_scene + ": missing required key 'scene' (scene raster"));
    const std::string no_out = box.write_config("noout.ini", "model = ../models/net.pt\nscene = ../data/scenes/a.tif\n");
    CHECK(load_error(no_out) == no_out + ": missing required key 'output_dir' (outputs go to <output_dir>/<scene name>/)");

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
          "--set tile_size=abc: tile_size: expected an integer in 16..8192 (pixels), got 'abc'");
    CHECK(load_error(config, {"tile_sise=512"}) == "--set tile_sise=512: unknown key 'tile_sise' (did you mean 'tile_size'?)");
    CHECK(load_error(config, {"tile_size"}) == "--set tile_size: expected key=value");
    CHECK(load_error(config, {"model="}) == config + ": missing required key 'model' (TorchScript model file (.pt))");
    CHECK(load_error(config, {"scene="}) == config + ": missing required key 'scene' (" +
                                                scene_help() + ")");
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

    // Values with '#' or surrounding spaces are written quoted and read back the same.
    fs::create_directories(box.root() / " odd #dir");
    box.touch(" odd #dir/scene#1.tif");
    const RunConfig odd = load_run_config(box.write_config("odd.ini",
        "model = ../models/net.pt\nscene = \"../ odd #dir/scene#1.tif\"\noutput_dir = ../out #2/ \n"));
    CHECK(odd.scenes == std::vector<std::string>{box.path(" odd #dir/scene#1.tif")});
    CHECK(odd.output_dir == box.path("out"));  // unquoted: the comment " #2/" is cut
    RunConfig odd_out = odd;
    odd_out.output_dir = box.path("out #2") + " ";
    const std::string odd_text = to_ini(odd_out);
    CHECK(odd_text.find("output_dir = \"" + box.path("out #2") + " \"\n") != std::string::npos);
    CHECK(load_run_config(box.write_config("odd-copy.ini", odd_text)) == odd_out);
    odd_out.output_dir = "/tmp/a\"b #c";
    CHECK_THROWS_WITH(to_ini(odd_out), Catch::StartsWith("to_ini: output_dir value '/tmp/a\"b #c' holds both"));

    // Defaults survive the round trip too (margin auto, no range, empty bands).
    const RunConfig minimal = load_run_config(box.write_config("min.ini", kMinimal));
    const RunConfig minimal_again = load_run_config(box.write_config("min-copy.ini", to_ini(minimal)));
    CHECK(minimal_again == minimal);
    CHECK(to_ini(minimal).find("margin = auto\n") != std::string::npos);
}

TEST_CASE("the key list and the reference agree", "[run_config]") {
    const auto keys = run_config_keys();
    CHECK(keys.size() == 41);
    const std::string reference = run_config_reference();
    for (const auto& key : keys) CHECK(reference.find("  " + key + " ") != std::string::npos);
    CHECK_THAT(reference, Catch::Contains("tile_size       tile core size in pixels, 16..8192, a multiple of the "
                                          "model's deepest stride [default: 512]"));
    // The README's config table is the schema's (regenerate with the text below when a key changes).
    std::ifstream readme(std::string(SATSAL_SOURCE_DIR) + "/README.md");
    const std::string text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
    INFO(run_config_schema().markdown_table());
    CHECK(text.find(run_config_schema().markdown_table()) != std::string::npos);
    CHECK(scene_name("/data/12TVL240120.png") == "12TVL240120");
    CHECK(scene_name("/data/top_potsdam_2_10.5-x%20.tif") == "top_potsdam_2_10.5-x%20");
}

TEST_CASE("loading a config creates no file: synthetic_cowc is left to the run command", "[run_config][cowc]") {
    Sandbox box;
    const std::string text =
        "model = ../models/net.pt\n"
        "synthetic_cowc = ../demo\n"
        "scene = ../demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif\n"
        "annotations = ../demo/ground_truth_sets/Synthetic_SATSAL\n"
        "output_dir = ../out\n";
    const std::string path = box.write_config("demo.ini", text);
    const auto listing = [&] {
        std::vector<std::string> files;
        for (const auto& entry : fs::recursive_directory_iterator(box.root())) files.push_back(entry.path().string());
        std::sort(files.begin(), files.end());
        return files;
    };
    const std::vector<std::string> before = listing();

    // Step 1 reads the values, step 2 checks the files: the demo set does not exist, so it fails.
    const ParsedRunConfig parsed = read_run_config(path);
    CHECK(parsed.config.synthetic_cowc == box.path("demo"));
    CHECK(parsed.config.scenes == std::vector<std::string>{box.path("demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif")});
    CHECK(load_error(path) == path + ":4: annotations '" + box.path("demo/ground_truth_sets/Synthetic_SATSAL") +
                                  "' do not exist");
    // --print-config's text, an output_dir that does not exist yet: nothing is created either.
    const RunConfig minimal = load_run_config(box.write_config("min.ini", kMinimal));
    to_ini(minimal);
    CHECK_FALSE(fs::exists(box.path("out")));
    CHECK_FALSE(fs::exists(box.path("demo")));
    std::vector<std::string> after = listing();
    after.erase(std::remove(after.begin(), after.end(), box.path("configs/min.ini")), after.end());
    CHECK(after == before);

    // Once the set exists (here: the files it names), step 2 passes.
    fs::create_directories(box.root() / "demo/geotiff/Synthetic_SATSAL");
    fs::create_directories(box.root() / "demo/ground_truth_sets/Synthetic_SATSAL");
    box.touch("demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif");
    const RunConfig config = resolve_run_config(parsed);
    CHECK(config.scenes == std::vector<std::string>{box.path("demo/geotiff/Synthetic_SATSAL/syn-01.5%_t.tif")});
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
