// Tests for the pieces of io/ConfigSchema that every config (run, train-count, evaluate) loads
// through: load_config_file (paths relative to the file's folder, messages naming the file and
// line), Schema::load_text and the unsigned_integer (seed) value type.
#include "io/ConfigSchema.hpp"
#include "test_raster_support.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace satsal;

namespace {

struct TinyConfig {
    std::uint64_t seed = 0;
    std::string data;
};

const config::Schema<TinyConfig>& tiny_schema() {
    static const config::Schema<TinyConfig> schema = [] {
        config::Schema<TinyConfig> s("tiny");
        s.add("seed", &TinyConfig::seed, config::unsigned_integer(), "1", "a seed");
        s.add("data", &TinyConfig::data, config::path(), "", "a path", {true, ""});
        return s;
    }();
    return schema;
}

// What a config's parse_*_config looks like: text, its name, its folder, --set overrides.
TinyConfig parse_tiny(const std::string& text, const std::string& source, const std::string& base_dir,
                      const std::vector<std::string>& overrides) {
    return tiny_schema().load_text(text, source, base_dir, overrides).config;
}

std::string parse_error(const std::string& text, const std::vector<std::string>& overrides = {}) {
    try {
        parse_tiny(text, "t.ini", "/base", overrides);
    } catch (const config::ConfigError& error) {
        return error.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("load_config_file resolves the file's relative paths against its folder", "[config][schema]") {
    const satsal::test::TempDir folder;
    fs::create_directories(folder.file("configs"));
    const auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(folder.file(name)) << text;
        return folder.file(name);
    };
    const std::string file = write("configs/a.ini", "data = ../data/x.txt\nseed = 7\n");
    const TinyConfig loaded = config::load_config_file(file, {}, parse_tiny);
    CHECK(loaded.data == folder.file("data/x.txt"));
    CHECK(loaded.seed == 7);
    CHECK(config::config_folder(file) == fs::path(folder.file("configs")));

    // A relative path given on the command line resolves against the current folder.
    const TinyConfig overridden = config::load_config_file(file, {"data=y.txt"}, parse_tiny);
    CHECK(overridden.data == (fs::current_path() / "y.txt").string());

    // Messages name the file as it was given, the line and the key.
    const std::string bad = write("configs/bad.ini", "data = x\n\nseed = -1\n");
    CHECK_THROWS_WITH(config::load_config_file(bad, {}, parse_tiny),
                      bad + ":3: seed: expected an integer in 0..18446744073709551615, got '-1'");
    CHECK_THROWS_WITH(config::load_config_file(folder.file("configs/absent.ini"), {}, parse_tiny),
                      folder.file("configs/absent.ini") + ": cannot open the config file");
    CHECK_THROWS_WITH(config::load_config_file(folder.file("configs"), {}, parse_tiny),
                      folder.file("configs") + ": is a directory, expected a config file");
}

TEST_CASE("Schema::load_text reads INI text and --set overrides in order", "[config][schema]") {
    const TinyConfig c = parse_tiny("data = d\nseed = 5\n", "t.ini", "/base", {"seed=6"});
    CHECK(c.seed == 6);
    CHECK(c.data == "/base/d");
    CHECK(parse_error("seed = 5\n") == "t.ini: missing required key 'data' (a path)");
    CHECK(parse_error("data = d\n", {"seed=x"}) ==
          "--set seed=x: seed: expected an integer in 0..18446744073709551615, got 'x'");
    CHECK(parse_error("data = d\nsed = 1\n") == "t.ini:2: unknown key 'sed' (did you mean 'seed'?)");
}

TEST_CASE("unsigned_integer takes 0..2^64-1 in digits only", "[config][schema]") {
    const config::ValueType<std::uint64_t> type = config::unsigned_integer();
    CHECK(type.parse("0", {}) == 0);
    CHECK(type.parse("18446744073709551615", {}) == UINT64_MAX);
    CHECK(type.format(UINT64_MAX) == "18446744073709551615");
    for (const std::string text : {"", "-1", "+1", "18446744073709551616", "1.5", "12 ", "0x10"})
        CHECK_THROWS_WITH(type.parse(text, {}),
                          "expected an integer in 0..18446744073709551615, got '" + text + "'");
}
