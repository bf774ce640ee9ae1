// `satsal run` whole-scene processing, through run_scenes with a RunConfig:
// tiled equals whole on the footprint model, every pixel owned once on odd sizes, georeferencing
// of every output, nodata tiles, UInt16 band selection, failures that leave no final-named file,
// scene against tile normalization.
#include "io/RunConfig.hpp"
#include "io/SyntheticScene.hpp"
#include "pipeline/SceneRun.hpp"
#include "saliency/Normalize.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace satsal;
using namespace satsal::ptest;

namespace {

const std::vector<std::string> kFinalNames = {"saliency.tif", "lovi.tif", "saliency.h5", "run.json", "quicklook.png"};

RunConfig make_config(const TempDir& dir, const std::string& model, const std::vector<std::string>& scenes,
                      const std::string& output_dir, const std::vector<std::string>& lines) {
    std::string text = "model = " + model + "\noutput_dir = " + output_dir + "\nthreads = 2\nquiet = true\n";
    for (const auto& scene : scenes) text += "scene = " + scene + "\n";
    for (const auto& line : lines) text += line + "\n";
    return parse_run_config(text, "test.ini", dir.path());
}

std::string scene_folder(const std::string& output_dir, const std::string& name) { return output_dir + "/" + name; }

/// A scene's run.json, parsed (a parse error fails the test).
nlohmann::json run_json(const std::string& folder) { return nlohmann::json::parse(read_text(folder + "/run.json")); }

/// Checks layers, normalized layers and the combined map of a footprint-model run against the
/// independent whole-image computation.
struct Expected {
    int64_t output_scale = 1;
    bool range = false;  // norm = range instead of gauss
    std::vector<double> weights = {1, 1, 1, 1, 1};
};

void check_against_whole_image(const std::string& h5, const Raster& input, const Expected& expected = {}) {
    const int64_t output_scale = expected.output_scale;
    const std::vector<Grid> want = scene_layers(input);
    std::vector<Grid> normalized;
    for (std::size_t k = 0; k < want.size(); ++k) {
        const int64_t s = kFootprintStrides[k];
        const std::string name = "L" + std::to_string(k + 1);
        INFO("layer " << name << " (stride " << s << ")");
        const H5Array raw = read_h5(h5, "/layers/" + name);
        REQUIRE(raw.dims == std::vector<int64_t>{ceil_div_i(input.height, s), ceil_div_i(input.width, s)});
        double layer_max = 0;
        for (double v : want[k].values) layer_max = std::max(layer_max, std::fabs(v));
        // Relative to each value; the floor keeps float cancellation near SMOE = 0 from counting.
        const Comparison c = compare_relative(raw, want[k], 1e-3 * layer_max);
        INFO("worst at (" << c.worst_x << ", " << c.worst_y << "): got " << c.got << ", want " << c.want);
        CHECK(c.nonfinite == 0);
        CHECK(c.worst <= 1e-5);

        normalized.push_back(expected.range ? range_normalized(want[k]) : gauss_normalized(want[k], mean_std(want[k])));
        const Comparison n = compare_relative(read_h5(h5, "/layers_normalized/" + name), normalized.back(), 1.0);
        INFO("normalized worst at (" << n.worst_x << ", " << n.worst_y << "): got " << n.got << ", want " << n.want);
        CHECK(n.nonfinite == 0);
        CHECK(n.worst <= 1e-5);
    }
    const int64_t out_w = ceil_div_i(input.width, output_scale), out_h = ceil_div_i(input.height, output_scale);
    const H5Array combined = read_h5(h5, "/combined");
    REQUIRE(combined.dims == std::vector<int64_t>{out_h, out_w});
    Grid want_combined(out_w, out_h);
    for (int64_t y = 0; y < out_h; ++y)
        for (int64_t x = 0; x < out_w; ++x) want_combined.at(x, y) = combined_at(normalized, output_scale, x, y, expected.weights);
    const Comparison c = compare_relative(combined, want_combined, 1.0);  // absolute, values in [0, 1]
    INFO("combined worst at (" << c.worst_x << ", " << c.worst_y << "): got " << c.got << ", want " << c.want);
    CHECK(c.nonfinite == 0);
    CHECK(c.worst <= 1e-5);
}

}  // namespace

TEST_CASE("run: footprint model, tiled layers and combined map equal one whole-image pass for any margin",
          "[pipeline][run][exact]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 300, 230, 3, GDT_Byte, texture_value);
    const Raster input = read_raster(scene);
    for (int margin : {0, 32, 64}) {
        INFO("margin " << margin);
        const std::string out = dir.file("out" + std::to_string(margin));
        const RunConfig config = make_config(dir, footprint_model(), {scene}, out,
                                             {"tile_size = 64", "margin = " + std::to_string(margin), "batch_size = 3"});
        const RunOutcome outcome = run_scenes(config);
        REQUIRE(outcome.scenes.size() == 1);
        INFO(outcome.scenes[0].error);
        REQUIRE(outcome.all_ok());
        CHECK(outcome.scenes[0].tiles_total == 5 * 4);
        CHECK(outcome.scenes[0].tiles_processed == 20);
        CHECK(outcome.scenes[0].tiles_skipped == 0);
        CHECK(outcome.scenes[0].margin == margin);
        const std::string folder = scene_folder(out, "scene");
        check_against_whole_image(folder + "/saliency.h5", input);
        // The root attributes of explain's layout.
        const std::string h5 = folder + "/saliency.h5";
        CHECK(h5_string_attribute(h5, "statistic") == "smoe");
        CHECK(h5_string_attribute(h5, "normalization") == "gauss");
        CHECK(h5_numeric_attribute(h5, "weights") == std::vector<double>{1, 1, 1, 1, 1});
        CHECK(h5_string_attribute(h5, "taps") == "s2,s4,s8,s16,s32");
        CHECK(h5_numeric_attribute(h5, "strides") == std::vector<double>{2, 4, 8, 16, 32});
        CHECK(h5_string_attribute(h5, "model_sha256").size() == 64);
        CHECK_FALSE(h5_string_attribute(h5, "satsal_version").empty());
        CHECK(h5_string_attribute(h5, "input") == scene);
        CHECK(folder_entries(folder) ==
              std::vector<std::string>{"lovi.qml", "lovi.tif", "quicklook.png", "run.json", "saliency.h5", "saliency.qml",
                                       "saliency.tif"});
        // run.json's per-layer statistics are the scene's, over every layer pixel.
        const nlohmann::json json = run_json(folder);
        const std::vector<Grid> layers = scene_layers(input);
        REQUIRE(json.at("layers").size() == layers.size());
        for (std::size_t k = 0; k < layers.size(); ++k) {
            const nlohmann::json& entry = json.at("layers").at(k);
            INFO("run.json layer L" << k + 1);
            CHECK(entry.at("name") == "L" + std::to_string(k + 1));
            CHECK(entry.at("stride") == kFootprintStrides[k]);
            const MeanStd want = mean_std(layers[k]);
            const auto [lo, hi] = std::minmax_element(layers[k].values.begin(), layers[k].values.end());
            CHECK(entry.at("valid_pixels").get<int64_t>() == static_cast<int64_t>(layers[k].values.size()));
            CHECK(entry.at("mean").get<double>() == Approx(want.mean).epsilon(1e-5));
            CHECK(entry.at("std").get<double>() == Approx(want.std).epsilon(1e-4));
            CHECK(entry.at("min").get<double>() == Approx(*lo).epsilon(1e-5));
            CHECK(entry.at("max").get<double>() == Approx(*hi).epsilon(1e-5));
        }

        // saliency.tif holds the same combined map as saliency.h5.
        const Raster tif = read_raster(folder + "/saliency.tif");
        const H5Array combined = read_h5(folder + "/saliency.h5", "/combined");
        REQUIRE(tif.width == 300);
        REQUIRE(tif.height == 230);
        CHECK(tif.type == GDT_Float32);
        CHECK(tif.values == combined.values);
        // lovi.tif holds saliency.h5's /lovi, plus an alpha band (test_saliency_product.cpp).
        const Raster lovi = read_raster(folder + "/lovi.tif");
        const H5Array lovi_h5 = read_h5(folder + "/saliency.h5", "/lovi");
        REQUIRE(lovi.bands == 4);
        REQUIRE(lovi_h5.dims == std::vector<int64_t>{3, 230, 300});
        bool same = true;
        for (int b = 0; b < 3; ++b)
            for (int y = 0; y < 230; ++y)
                for (int x = 0; x < 300; ++x)
                    same = same && lovi.at(b, x, y) == lovi_h5.values[static_cast<std::size_t>((b * 230 + y) * 300 + x)];
        CHECK(same);
    }
}

TEST_CASE("run: every pixel owned once on odd sizes and on a scene smaller than one tile",
          "[pipeline][run][ownership]") {
    struct Case {
        int width, height, tile, margin;
    };
    for (const Case c : {Case{1000, 777, 256, 32}, Case{250, 177, 64, 32}, Case{50, 40, 64, 32}, Case{20, 10, 64, 32},
                         Case{1, 33, 64, 0}}) {
        INFO("scene " << c.width << "x" << c.height << ", tile " << c.tile << ", margin " << c.margin);
        TempDir dir;
        const std::string scene = dir.file("odd.tif");
        write_tiff(scene, c.width, c.height, 3, GDT_Byte, texture_value);
        const std::string out = dir.file("out");
        const RunOutcome outcome = run_scenes(make_config(
            dir, footprint_model(), {scene}, out,
            {"tile_size = " + std::to_string(c.tile), "margin = " + std::to_string(c.margin), "batch_size = 4"}));
        REQUIRE(outcome.scenes.size() == 1);
        INFO(outcome.scenes[0].error);
        REQUIRE(outcome.all_ok());
        CHECK(outcome.scenes[0].tiles_total == ceil_div_i(c.width, c.tile) * ceil_div_i(c.height, c.tile));
        const std::string folder = scene_folder(out, "odd");
        for (const char* name : {"saliency.tif", "lovi.tif"}) {
            const Raster r = read_raster(folder + "/" + name);
            INFO(name);
            CHECK(r.width == c.width);
            CHECK(r.height == c.height);
            int64_t nan = 0;
            for (double v : r.values) nan += std::isnan(v) ? 1 : 0;
            CHECK(nan == 0);
        }
        if (c.width == 1000) {
            // Tiled, compressed, with internal overviews (README: outputs).
            const Raster r = read_raster(folder + "/saliency.tif");
            CHECK(r.block_width == 512);
            CHECK(r.block_height == 512);
            CHECK((r.compression == "DEFLATE" || r.compression == "ZSTD"));
            CHECK(r.overviews >= 1);
            const Raster quicklook = read_raster(folder + "/quicklook.png");
            CHECK(quicklook.width == 1000);
            CHECK(quicklook.height == 777);
        }
        // Layer grids are ceil(W / s) x ceil(H / s) and every layer pixel holds its own footprint's
        // value: a dropped tile would leave zeros, a doubled one a shifted copy.
        check_against_whole_image(folder + "/saliency.h5", read_raster(scene));
    }
}

TEST_CASE("run: outputs are georeferenced like the input, scaled by stride and output_scale",
          "[pipeline][run][georef]") {
    TempDir dir;
    const std::string scene = dir.file("geo.tif");
    const std::array<double, 6> input_transform = utm_transform(412345.6, 5123456.7, 0.15);
    write_tiff(scene, 300, 230, 3, GDT_Byte, texture_value, 32633, input_transform);
    const Raster input = read_raster(scene);
    REQUIRE(input.has_transform);
    const std::string out = dir.file("out");
    const RunOutcome outcome = run_scenes(make_config(
        dir, footprint_model(), {scene}, out,
        {"tile_size = 64", "margin = 32", "batch_size = 2", "output_scale = 2", "write_layers = true"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const std::string folder = scene_folder(out, "geo");

    auto scaled = [&](double f) {
        std::array<double, 6> t = input_transform;
        t[1] *= f;
        t[2] *= f;
        t[4] *= f;
        t[5] *= f;
        return t;
    };
    auto check_geo = [&](const Raster& r, const std::array<double, 6>& want, const std::string& what) {
        INFO(what);
        REQUIRE(r.has_transform);
        CHECK(same_crs_wkt(r.wkt, input.wkt));
        for (int i = 0; i < 6; ++i) {
            INFO("transform[" << i << "] = " << r.transform[static_cast<std::size_t>(i)]);
            CHECK(std::fabs(r.transform[static_cast<std::size_t>(i)] - want[static_cast<std::size_t>(i)]) <=
                  1e-6 * std::fabs(want[1]));
        }
    };
    const Raster saliency = read_raster(folder + "/saliency.tif");
    CHECK(saliency.width == 150);
    CHECK(saliency.height == 115);
    check_geo(saliency, scaled(2), "saliency.tif (output_scale 2)");
    const Raster lovi = read_raster(folder + "/lovi.tif");
    CHECK(lovi.width == 150);
    check_geo(lovi, scaled(2), "lovi.tif");
    for (std::size_t k = 0; k < kFootprintStrides.size(); ++k) {
        const int64_t s = kFootprintStrides[k];
        const std::string name = "L" + std::to_string(k + 1);
        const Raster layer = read_raster(folder + "/layer_" + name + ".tif");
        CHECK(layer.width == ceil_div_i(300, s));
        CHECK(layer.height == ceil_div_i(230, s));
        check_geo(layer, scaled(static_cast<double>(s)), "layer_" + name + ".tif");
        // The layer GeoTIFF holds the normalized layer map of saliency.h5.
        CHECK(layer.values == read_h5(folder + "/saliency.h5", "/layers_normalized/" + name).values);
    }
    // GDAL's netCDF driver sees saliency.h5 georeferenced the same way.
    GdalErrorCapture quiet;
    const std::string h5 = folder + "/saliency.h5";
    const Raster nc_combined = read_raster("NETCDF:\"" + h5 + "\":combined");
    CHECK(nc_combined.width == 150);
    check_geo(nc_combined, scaled(2), "NETCDF combined");
    const Raster nc_layer = read_raster("NETCDF:\"" + h5 + "\":/layers/L2");
    CHECK(nc_layer.width == ceil_div_i(300, 4));
    check_geo(nc_layer, scaled(4), "NETCDF /layers/L2");
    // The combined map at output_scale 2 samples the layers at half the resolution.
    Expected half;
    half.output_scale = 2;
    check_against_whole_image(h5, input, half);
    // Throughput in km2/h (the CRS is in metres): 300 x 230 pixels of 0.15 m, 1.5525e-3 km2, over
    // the run's seconds.
    const nlohmann::json json = run_json(folder);
    const double hours = json.at("seconds").at("total").get<double>() / 3600.0;
    CHECK(json.at("throughput").at("km2_per_hour").get<double>() * hours == Approx(300 * 230 * 0.15 * 0.15 / 1e6));
}

TEST_CASE("run: output_scale 4 on odd sizes, norm = range and weights = ramp", "[pipeline][run]") {
    TempDir dir;
    const std::string scene = dir.file("odd.tif");
    write_tiff(scene, 301, 229, 3, GDT_Byte, texture_value);
    const Raster input = read_raster(scene);
    const RunOutcome outcome = run_scenes(make_config(
        dir, footprint_model(), {scene}, dir.file("out"),
        {"tile_size = 64", "margin = 32", "output_scale = 4", "norm = range", "weights = ramp"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const std::string folder = scene_folder(dir.file("out"), "odd");
    const Raster saliency = read_raster(folder + "/saliency.tif");
    CHECK(saliency.width == 76);
    CHECK(saliency.height == 58);
    CHECK(h5_string_attribute(folder + "/saliency.h5", "normalization") == "range");
    CHECK(h5_numeric_attribute(folder + "/saliency.h5", "weights") == std::vector<double>{1, 2, 3, 4, 5});
    Expected expected;
    expected.output_scale = 4;
    expected.range = true;
    expected.weights = {1, 2, 3, 4, 5};
    check_against_whole_image(folder + "/saliency.h5", input, expected);
}

TEST_CASE("run: settings off the stride grid or a wrong weight count stop the run before any scene",
          "[pipeline][run][errors]") {
    TempDir dir;
    const std::string scene = dir.file("scene.tif");
    write_tiff(scene, 96, 96, 3, GDT_Byte, texture_value);
    const std::string out = dir.file("out");
    CHECK_THROWS_WITH(run_scenes(make_config(dir, footprint_model(), {scene}, out, {"tile_size = 80", "margin = 32"})),
                      "tile_size 80 is not a multiple of the model's deepest stride 32");
    CHECK_THROWS_WITH(run_scenes(make_config(dir, footprint_model(), {scene}, out, {"tile_size = 64", "margin = 40"})),
                      "margin 40 is not a multiple of the model's deepest stride 32");
    CHECK_THROWS_WITH(
        run_scenes(make_config(dir, footprint_model(), {scene}, out, {"tile_size = 64", "margin = 32", "weights = 1,2"})),
        Catch::Contains("give 2 values but the model has 5 taps"));
    CHECK(folder_entries(out).empty());
}

TEST_CASE("run: a PNG without georeferencing gives pixel-coordinate outputs", "[pipeline][run][georef]") {
    TempDir dir;
    const std::string scene = dir.file("plain.png");
    write_png_rgb(scene, 200, 150, texture_value);
    const std::string out = dir.file("out");
    // The library prints nothing: what a user should know arrives through RunEvents.
    std::vector<std::string> warnings, notes;
    std::vector<int64_t> done;
    std::vector<std::string> finished;
    RunEvents events;
    events.warning = [&](const std::string& text) { warnings.push_back(text); };
    events.note = [&](const std::string& text) { notes.push_back(text); };
    events.tiles = [&](const std::string& name, int64_t tiles_done, int64_t total) {
        CHECK(name == scene);
        CHECK(total == 12);  // 200 x 150 in 64 px cores: 4 x 3
        done.push_back(tiles_done);
    };
    events.scene_done = [&](const SceneOutcome& s) { finished.push_back(s.scene + (s.ok ? " ok" : " failed")); };
    const RunOutcome outcome =
        run_scenes(make_config(dir, footprint_model(), {scene}, out, {"tile_size = 64", "margin = 32"}), events);
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    CHECK(warnings == std::vector<std::string>{scene + " has no georeferencing; outputs use pixel coordinates"});
    CHECK(notes.empty());  // the margin was given
    CHECK(done == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    CHECK(finished == std::vector<std::string>{scene + " ok"});
    const std::string folder = scene_folder(out, "plain");
    const Raster saliency = read_raster(folder + "/saliency.tif");
    CHECK(saliency.width == 200);
    CHECK(saliency.height == 150);
    CHECK(saliency.wkt.empty());
    CHECK((!saliency.has_transform || saliency.transform == std::array<double, 6>{0, 1, 0, 0, 0, 1}));
    const nlohmann::json json = run_json(folder);
    CHECK(json.at("georeferenced") == false);
    CHECK_FALSE(json.at("throughput").contains("km2_per_hour"));
    check_against_whole_image(folder + "/saliency.h5", read_raster(scene));
}

TEST_CASE("run: all-nodata tiles are skipped and written as nodata", "[pipeline][run][nodata]") {
    TempDir dir;
    SyntheticSceneOptions options;
    options.path = dir.file("corner.tif");
    options.width = 320;
    options.height = 256;
    options.nodata_corner = true;
    options.block_size = 64;
    write_synthetic_scene(options);
    const int64_t W = 320, H = 256, tile = 32;
    // The corner triangle x/W + y/H < 1/4, in integers (SyntheticScene.hpp).
    auto nodata = [&](int64_t x, int64_t y) { return 4 * (x * H + y * W) < W * H; };
    int64_t expected_skipped = 0;
    for (int64_t ty = 0; ty < H; ty += tile)
        for (int64_t tx = 0; tx < W; tx += tile) expected_skipped += nodata(tx + tile - 1, ty + tile - 1) ? 1 : 0;
    REQUIRE(expected_skipped > 0);

    const std::string out = dir.file("out");
    const RunOutcome outcome =
        run_scenes(make_config(dir, footprint_model(), {options.path}, out, {"tile_size = 32", "margin = 32"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    CHECK(outcome.scenes[0].tiles_skipped == expected_skipped);
    CHECK(outcome.scenes[0].tiles_processed == (W / tile) * (H / tile) - expected_skipped);
    const std::string folder = scene_folder(out, "corner");
    CHECK(read_text(folder + "/run.json") == outcome.scenes[0].report.dump(2) + "\n");
    const nlohmann::json json = run_json(folder);
    CHECK(json.at("tiles").at("skipped_nodata") == expected_skipped);
    CHECK(json.at("tiles").at("processed") == (W / tile) * (H / tile) - expected_skipped);
    CHECK(json.at("tiles").at("total") == (W / tile) * (H / tile));

    const Raster saliency = read_raster(folder + "/saliency.tif");
    REQUIRE(saliency.nodata.has_value());
    CHECK(std::isnan(*saliency.nodata));
    const Raster lovi = read_raster(folder + "/lovi.tif");
    int64_t wrong_nan = 0, nonfinite_valid = 0, lovi_not_black = 0, nodata_pixels = 0;
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x) {
            const double v = saliency.at(0, x, y);
            if (nodata(x, y)) {
                ++nodata_pixels;
                wrong_nan += std::isnan(v) ? 0 : 1;
                for (int b = 0; b < 3; ++b) lovi_not_black += lovi.at(b, x, y) == 0 ? 0 : 1;
            } else {
                nonfinite_valid += std::isfinite(v) ? 0 : 1;
            }
        }
    CHECK(nodata_pixels > tile * tile);
    CHECK(wrong_nan == 0);
    CHECK(lovi_not_black == 0);
    CHECK(nonfinite_valid == 0);

    // Layer pixels: NaN exactly where the whole footprint is nodata; where the whole footprint is
    // valid, the footprint model's value on the scene itself.
    const Raster input = read_raster(options.path);
    const std::vector<Grid> want = scene_layers(input);
    for (std::size_t k = 0; k < 3; ++k) {
        const int64_t s = kFootprintStrides[k];
        INFO("layer L" << k + 1);
        const H5Array layer = read_h5(folder + "/saliency.h5", "/layers/L" + std::to_string(k + 1));
        const int64_t lw = ceil_div_i(W, s);
        int64_t nan_mismatch = 0, value_mismatch = 0;
        for (int64_t j = 0; j < ceil_div_i(H, s); ++j)
            for (int64_t i = 0; i < lw; ++i) {
                int64_t invalid = 0;
                for (int64_t y = j * s; y < (j + 1) * s; ++y)
                    for (int64_t x = i * s; x < (i + 1) * s; ++x) invalid += nodata(x, y) ? 1 : 0;
                const double v = layer.values[static_cast<std::size_t>(j * lw + i)];
                if ((invalid == s * s) != std::isnan(v)) ++nan_mismatch;
                if (invalid == 0 && std::fabs(v - want[k].at(i, j)) > 1e-5 * std::fabs(want[k].at(i, j)) + 1e-6)
                    ++value_mismatch;
            }
        CHECK(nan_mismatch == 0);
        CHECK(value_mismatch == 0);
    }
}

TEST_CASE("run: UInt16 4-band scene with bands 3,2,1 and stretch 2,98", "[pipeline][run][bands]") {
    TempDir dir;
    SyntheticSceneOptions options;
    options.path = dir.file("multi.tif");
    options.width = 192;
    options.height = 160;
    options.bands = 4;
    options.data_type = SceneDataType::UInt16;
    options.block_size = 64;
    write_synthetic_scene(options);
    const std::string out = dir.file("out");
    const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {options.path}, out,
                                                      {"tile_size = 64", "margin = 32", "bands = 3,2,1",
                                                       "stretch = 2,98"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const std::string folder = scene_folder(out, "multi");
    const nlohmann::json scaling = run_json(folder).at("band_scaling");
    CHECK(scaling.at("bands") == std::vector<int>{3, 2, 1});
    CHECK(scaling.at("rule") == "stretch");

    // The recorded stretch is the 2nd and 98th percentile of each selected band (linear
    // interpolation between order statistics; within one stored unit of other conventions).
    const Raster input = read_raster(options.path);
    REQUIRE(input.type == GDT_UInt16);
    const auto low = scaling.at("low").get<std::vector<double>>(), high = scaling.at("high").get<std::vector<double>>();
    REQUIRE(low.size() == 3);
    REQUIRE(high.size() == 3);
    const int bands[3] = {3, 2, 1};
    for (int i = 0; i < 3; ++i) {
        INFO("slot " << i << " = band " << bands[i]);
        std::vector<double> values(input.values.begin() + static_cast<std::ptrdiff_t>(bands[i] - 1) * 192 * 160,
                                   input.values.begin() + static_cast<std::ptrdiff_t>(bands[i]) * 192 * 160);
        std::sort(values.begin(), values.end());
        auto percentile = [&](double p) {
            const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
            const auto i0 = static_cast<std::size_t>(pos);
            const std::size_t i1 = std::min(i0 + 1, values.size() - 1);
            return values[i0] + (pos - static_cast<double>(i0)) * (values[i1] - values[i0]);
        };
        CHECK(low[static_cast<std::size_t>(i)] == Approx(percentile(2)).margin(1.0));
        CHECK(high[static_cast<std::size_t>(i)] == Approx(percentile(98)).margin(1.0));
        CHECK(high[static_cast<std::size_t>(i)] > low[static_cast<std::size_t>(i)] + 10);
    }
    const Raster saliency = read_raster(folder + "/saliency.tif");
    CHECK(saliency.width == 192);
    int64_t nonfinite = 0;
    for (double v : saliency.values) nonfinite += std::isfinite(v) ? 0 : 1;
    CHECK(nonfinite == 0);
}

TEST_CASE("run: a band the scene lacks fails that scene only, naming the band and the scene",
          "[pipeline][run][bands][errors]") {
    TempDir dir;
    SyntheticSceneOptions options;
    options.path = dir.file("good.tif");
    options.width = 128;
    options.height = 96;
    options.bands = 4;
    options.data_type = SceneDataType::UInt16;
    options.block_size = 64;
    write_synthetic_scene(options);
    const std::string bad = dir.file("bad.tif");
    write_tiff(bad, 128, 96, 3, GDT_Byte, texture_value);

    SECTION("band 5 of a 4-band scene") {
        const std::string out = dir.file("out5");
        const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {options.path}, out,
                                                          {"tile_size = 64", "margin = 32", "bands = 5,3,2"}));
        REQUIRE(outcome.scenes.size() == 1);
        CHECK_FALSE(outcome.scenes[0].ok);
        CHECK_FALSE(outcome.all_ok());
        CHECK_THAT(outcome.scenes[0].error, Catch::Contains(options.path) && Catch::Contains("band 5") &&
                                                Catch::Contains("4 bands"));
        CHECK(folder_entries(scene_folder(out, "good")).empty());
    }
    SECTION("one good and one bad scene in a batch") {
        const std::string out = dir.file("batch");
        const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {bad, options.path}, out,
                                                          {"tile_size = 64", "margin = 32", "bands = 4,3,2"}));
        REQUIRE(outcome.scenes.size() == 2);
        CHECK_FALSE(outcome.all_ok());
        CHECK(outcome.scenes[0].scene == bad);
        CHECK_FALSE(outcome.scenes[0].ok);
        CHECK_THAT(outcome.scenes[0].error, Catch::Contains(bad) && Catch::Contains("band 4"));
        CHECK(outcome.scenes[1].ok);
        CHECK(outcome.scenes[1].error.empty());
        for (const auto& name : kFinalNames) {
            INFO(name);
            CHECK(fs::exists(scene_folder(out, "good") + "/" + name));
            CHECK_FALSE(fs::exists(scene_folder(out, "bad") + "/" + name));
        }
        INFO("bad folder: " << join_names(folder_entries(scene_folder(out, "bad"))));
        CHECK(folder_entries(scene_folder(out, "bad")).empty());
    }
}

TEST_CASE("run: a failure mid-run leaves no final-named file and no staging folder", "[pipeline][run][errors]") {
    TempDir dir;
    // Dark everywhere but the bottom tile row: signed_net's taps (2 - x) turn negative only there,
    // so SMOE fails on a later batch, after earlier tiles went through every stage.
    const std::string scene = dir.file("late.tif");
    write_tiff(scene, 256, 192, 3, GDT_Byte, [](int, int64_t, int64_t y) { return y >= 128 ? 255.0 : 100.0; });
    const std::string out = dir.file("out");
    const RunOutcome outcome = run_scenes(make_config(dir, signed_model(), {scene}, out,
                                                      {"tile_size = 64", "margin = 32", "batch_size = 2"}));
    REQUIRE(outcome.scenes.size() == 1);
    CHECK_FALSE(outcome.scenes[0].ok);
    // Tile row 1's inputs reach 32 rows into the bright rows: batch {4, 5} is the first to fail.
    CHECK_THAT(outcome.scenes[0].error, Catch::Contains(scene) && Catch::Contains("tile 4 (column 0, row 1") &&
                                            Catch::Contains("negative"));
    const std::string folder = scene_folder(out, "late");
    INFO("left behind: " << join_names(folder_entries(folder)));
    CHECK(folder_entries(folder).empty());

    // A successful run of the same model leaves only final names (no staging folder).
    const std::string dark = dir.file("dark.tif");
    write_tiff(dark, 128, 128, 3, GDT_Byte, [](int, int64_t, int64_t) { return 100.0; });
    const RunOutcome ok = run_scenes(make_config(dir, signed_model(), {dark}, out, {"tile_size = 64", "margin = 32"}));
    REQUIRE(ok.all_ok());
    CHECK(read_raster(scene_folder(out, "dark") + "/saliency.tif").width == 128);
    // A second run over the same folder replaces the outputs.
    const RunOutcome again = run_scenes(
        make_config(dir, signed_model(), {dark}, out, {"tile_size = 64", "margin = 32", "output_scale = 2"}));
    REQUIRE(again.all_ok());
    CHECK(read_raster(scene_folder(out, "dark") + "/saliency.tif").width == 64);
    for (const auto& entry : folder_entries(scene_folder(out, "dark"))) {
        INFO(entry);
        CHECK(entry.rfind(".satsal-partial", 0) != 0);
    }
}

TEST_CASE("run: normalize = tile differs from scene; scene mode has no seam at tile boundaries",
          "[pipeline][run][normalize]") {
    TempDir dir;
    const std::string scene = dir.file("norm.tif");
    write_tiff(scene, 256, 192, 3, GDT_Byte, texture_value);
    const Raster input = read_raster(scene);
    const int64_t tile = 64, margin = 32;
    const std::string out_scene = dir.file("scene_mode"), out_tile = dir.file("tile_mode");
    const std::vector<std::string> common = {"tile_size = 64", "margin = 32", "batch_size = 3"};
    std::vector<std::string> scene_lines = common, tile_lines = common;
    scene_lines.push_back("normalize = scene");
    tile_lines.push_back("normalize = tile");
    const RunOutcome a = run_scenes(make_config(dir, footprint_model(), {scene}, out_scene, scene_lines));
    const RunOutcome b = run_scenes(make_config(dir, footprint_model(), {scene}, out_tile, tile_lines));
    REQUIRE(a.all_ok());
    REQUIRE(b.all_ok());
    const std::string ha = scene_folder(out_scene, "norm") + "/saliency.h5";
    const std::string hb = scene_folder(out_tile, "norm") + "/saliency.h5";
    CHECK(h5_string_attribute(ha, "normalize") == "scene");
    CHECK(h5_string_attribute(hb, "normalize") == "tile");

    const std::vector<Grid> whole = scene_layers(input);
    std::vector<Grid> normalized;
    for (std::size_t k = 0; k < whole.size(); ++k) {
        const std::string name = "L" + std::to_string(k + 1);
        INFO(name);
        normalized.push_back(gauss_normalized(whole[k], mean_std(whole[k])));
        // Raw maps do not depend on the normalization scope.
        CHECK(read_h5(ha, "/layers/" + name).values == read_h5(hb, "/layers/" + name).values);
        const H5Array na = read_h5(ha, "/layers_normalized/" + name), nb = read_h5(hb, "/layers_normalized/" + name);
        double diff = 0;
        for (std::size_t i = 0; i < na.values.size(); ++i) diff = std::max(diff, std::fabs(na.values[i] - nb.values[i]));
        CHECK(diff > 1e-3);

        // Tile mode: each tile's core is normalized with the statistics of that tile's whole
        // layer map (core and margin), as the paper does per image.
        const int64_t s = kFootprintStrides[k];
        const int64_t lw = ceil_div_i(256, s);
        double worst = 0;
        for (int64_t r = 0; r < 3; ++r)
            for (int64_t c = 0; c < 4; ++c) {
                const std::vector<Grid> tile_maps =
                    footprint_smoe(input, c * tile - margin, r * tile - margin, tile + 2 * margin, tile + 2 * margin);
                const Grid own = gauss_normalized(tile_maps[k], mean_std(tile_maps[k]));
                for (int64_t y = 0; y < tile / s; ++y)
                    for (int64_t x = 0; x < tile / s; ++x) {
                        const double got = nb.values[static_cast<std::size_t>((r * tile / s + y) * lw + c * tile / s + x)];
                        worst = std::max(worst, std::fabs(got - own.at(margin / s + x, margin / s + y)));
                    }
            }
        CHECK(worst <= 1e-5);
    }
    // Scene mode across the tile boundaries x = 64, 128, 192 and y = 64, 128: the combined map
    // equals the whole-image combination on both sides of every boundary.
    const H5Array combined = read_h5(ha, "/combined");
    double worst = 0;
    for (int64_t y = 0; y < 192; ++y)
        for (int64_t x : {62, 63, 64, 65, 126, 127, 128, 129, 191, 192}) {
            worst = std::max(worst, std::fabs(combined.values[static_cast<std::size_t>(y * 256 + x)] -
                                              combined_at(normalized, 1, x, y)));
        }
    for (int64_t y : {63, 64, 127, 128})
        for (int64_t x = 0; x < 256; ++x)
            worst = std::max(worst, std::fabs(combined.values[static_cast<std::size_t>(y * 256 + x)] -
                                              combined_at(normalized, 1, x, y)));
    CHECK(worst <= 1e-5);
}

TEST_CASE("run: margin = auto picks the smallest margin within the tolerance and says so", "[pipeline][run][margin]") {
    TempDir dir;
    SECTION("a scene large enough for the seam probe") {
        // Candidates are multiples of the stride 32 up to at most 128 here; the probe needs two
        // 64 px cores plus the largest candidate on each side (at most 384 pixels). The footprint
        // model has no seam, so the smallest candidate, 32, is enough.
        const std::string scene = dir.file("big.tif");
        write_tiff(scene, 400, 384, 3, GDT_Byte, texture_value);
        std::vector<std::string> notes;
        RunEvents events;
        events.note = [&](const std::string& text) { notes.push_back(text); };
        const RunOutcome outcome =
            run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"), {"tile_size = 64"}), events);
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        CHECK(outcome.scenes[0].margin == 32);
        REQUIRE(notes.size() == 1);
        CHECK_THAT(notes[0], Catch::StartsWith("margin = auto chose 32 px (worst layer seam error"));
        const nlohmann::json tiling = run_json(scene_folder(dir.file("out"), "big")).at("tiling");
        CHECK(tiling.at("margin_auto") == true);
        CHECK(tiling.at("margin") == 32);
        CHECK(tiling.at("margin_choice").at("chosen") == 32);
        CHECK(tiling.at("margin_choice").at("tolerance") == 0.01);
        // Only the smallest candidate was measured: it met the tolerance on every layer.
        REQUIRE(tiling.at("margin_choice").at("measured").size() == 1);
        CHECK(tiling.at("margin_choice").at("measured").at(0).at("margin") == 32);
        for (const auto& error : tiling.at("margin_choice").at("measured").at(0).at("errors")) CHECK(error <= 0.01);
    }
    SECTION("a scene too small for the probe takes the largest candidate") {
        const std::string scene = dir.file("small.tif");
        write_tiff(scene, 100, 90, 3, GDT_Byte, texture_value);
        const RunOutcome outcome =
            run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"), {"tile_size = 64"}));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        // Not the smallest candidate: without a measurement the largest is the safe choice.
        const int64_t margin = outcome.scenes[0].margin;
        CHECK(margin >= 64);
        CHECK(margin % 32 == 0);
        const nlohmann::json tiling = run_json(scene_folder(dir.file("out"), "small")).at("tiling");
        CHECK(tiling.at("margin") == margin);
        CHECK(tiling.at("margin_auto") == true);
        CHECK(tiling.at("margin_choice").at("chosen") == margin);
        CHECK(tiling.at("margin_choice").at("reason").get<std::string>().find("too small for a seam probe") !=
              std::string::npos);
        check_against_whole_image(scene_folder(dir.file("out"), "small") + "/saliency.h5", read_raster(scene));
    }
}

TEST_CASE("run: cog = true writes Cloud Optimized GeoTIFFs with the same values", "[pipeline][run][cog]") {
    TempDir dir;
    const std::string scene = dir.file("cog.tif");
    write_tiff(scene, 300, 230, 3, GDT_Byte, texture_value);
    const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"),
                                                      {"tile_size = 64", "margin = 32", "cog = true"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const std::string folder = scene_folder(dir.file("out"), "cog");
    for (const char* name : {"saliency.tif", "lovi.tif"}) {
        INFO(name);
        const Raster r = read_raster(folder + "/" + name);
        CHECK(r.layout == "COG");
        CHECK(r.width == 300);
    }
    CHECK(read_raster(folder + "/saliency.tif").values == read_h5(folder + "/saliency.h5", "/combined").values);
}

TEST_CASE("run: nodata with output_scale 2 on an odd size marks only all-nodata footprints", "[pipeline][run][nodata]") {
    TempDir dir;
    SyntheticSceneOptions options;
    options.path = dir.file("swath.tif");
    options.width = 257;
    options.height = 191;
    options.nodata_swath = true;
    options.block_size = 64;
    write_synthetic_scene(options);
    const int64_t W = 257, H = 191;
    // The swath |x/W - y/H| < 1/20, in integers (SyntheticScene.hpp).
    auto nodata = [&](int64_t x, int64_t y) { return 20 * std::llabs(x * H - y * W) < W * H; };
    const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {options.path}, dir.file("out"),
                                                      {"tile_size = 64", "margin = 32", "output_scale = 2"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const Raster saliency = read_raster(scene_folder(dir.file("out"), "swath") + "/saliency.tif");
    REQUIRE(saliency.width == 129);
    REQUIRE(saliency.height == 96);
    int64_t mismatches = 0, nan = 0;
    for (int64_t j = 0; j < 96; ++j)
        for (int64_t i = 0; i < 129; ++i) {
            bool all_nodata = true;
            for (int64_t y = 2 * j; y < std::min<int64_t>(2 * j + 2, H); ++y)
                for (int64_t x = 2 * i; x < std::min<int64_t>(2 * i + 2, W); ++x) all_nodata = all_nodata && nodata(x, y);
            const bool is_nan = std::isnan(saliency.at(0, i, j));
            nan += is_nan ? 1 : 0;
            mismatches += is_nan != all_nodata ? 1 : 0;
        }
    CHECK(nan > 100);
    CHECK(mismatches == 0);
}

TEST_CASE("run: gray, Float32 with input_range, and RGBA with a transparent half", "[pipeline][run][bands]") {
    TempDir dir;
    SECTION("a one-band scene feeds its band to all three channels") {
        const std::string scene = dir.file("gray.tif");
        write_tiff(scene, 160, 96, 1, GDT_Byte, texture_value);
        const RunOutcome outcome =
            run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"), {"tile_size = 64", "margin = 32"}));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        const Raster gray = read_raster(scene);
        Raster rgb = gray;
        rgb.bands = 3;
        rgb.values.clear();
        for (int b = 0; b < 3; ++b) rgb.values.insert(rgb.values.end(), gray.values.begin(), gray.values.end());
        check_against_whole_image(scene_folder(dir.file("out"), "gray") + "/saliency.h5", rgb);
    }
    SECTION("Float32 values scaled by input_range") {
        // Four times the 8-bit texture: input_range = 0,1020 brings back exactly value / 255.
        const std::string scene = dir.file("float.tif");
        write_tiff(scene, 160, 96, 3, GDT_Float32, [](int b, int64_t x, int64_t y) { return 4.0 * texture_value(b, x, y); });
        const RunOutcome outcome = run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"),
                                                          {"tile_size = 64", "margin = 32", "input_range = 0,1020"}));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        const nlohmann::json scaling = run_json(scene_folder(dir.file("out"), "float")).at("band_scaling");
        CHECK(scaling.at("high") == std::vector<double>{1020, 1020, 1020});
        CHECK(scaling.at("low") == std::vector<double>{0, 0, 0});
        CHECK(scaling.at("rule") == "input_range");
        Raster bytes = read_raster(scene);
        for (double& v : bytes.values) v /= 4.0;
        check_against_whole_image(scene_folder(dir.file("out"), "float") + "/saliency.h5", bytes);
    }
    SECTION("RGBA PNG: fully transparent tiles are skipped and written as nodata") {
        const std::string scene = dir.file("alpha.png");
        write_png_rgba(scene, 256, 192, [](int b, int64_t x, int64_t y) {
            return b == 3 ? (x < 128 ? 0.0 : 255.0) : texture_value(b, x, y);
        });
        const RunOutcome outcome =
            run_scenes(make_config(dir, footprint_model(), {scene}, dir.file("out"), {"tile_size = 64", "margin = 32"}));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        CHECK(outcome.scenes[0].tiles_skipped == 6);
        const Raster saliency = read_raster(scene_folder(dir.file("out"), "alpha") + "/saliency.tif");
        int64_t mismatches = 0;
        for (int64_t y = 0; y < 192; ++y)
            for (int64_t x = 0; x < 256; ++x) mismatches += std::isnan(saliency.at(0, x, y)) != (x < 128) ? 1 : 0;
        CHECK(mismatches == 0);
    }
}

TEST_CASE("run: the tiny torchvision-layout CNNs run whole scenes (auto taps, stride-1 taps, pre-activations)",
          "[pipeline][run][models]") {
    TempDir dir;
    const std::string scene = dir.file("cnn.tif");
    write_tiff(scene, 200, 150, 3, GDT_Byte, texture_value);
    struct Case {
        std::string model, statistic;
        std::vector<int64_t> strides;
    };
    for (const Case& c : {Case{tiny_resnet(), "smoe", {2, 4, 8, 16, 32}}, Case{fixture("tiny_vgg.pt"), "smoe", {1, 2, 4, 8, 16}},
                          Case{fixture("tiny_densenet.pt"), "smoe", {2, 4, 8, 16, 32}},
                          Case{tiny_resnet(), "truncnormal-mean", {2, 4, 8, 16, 32}}}) {
        INFO(c.model << " with " << c.statistic);
        const std::string out = dir.file("out_" + fs::path(c.model).stem().string() + "_" + c.statistic);
        const RunOutcome outcome = run_scenes(make_config(dir, c.model, {scene}, out,
                                                          {"tile_size = 64", "margin = 64", "batch_size = 4",
                                                           "statistic = " + c.statistic}));
        INFO(outcome.scenes.at(0).error);
        REQUIRE(outcome.all_ok());
        const std::string h5 = scene_folder(out, "cnn") + "/saliency.h5";
        CHECK(h5_numeric_attribute(h5, "strides") == std::vector<double>(c.strides.begin(), c.strides.end()));
        CHECK(h5_string_attribute(h5, "statistic") == c.statistic);
        for (std::size_t k = 0; k < c.strides.size(); ++k) {
            const H5Array layer = read_h5(h5, "/layers/L" + std::to_string(k + 1));
            INFO("L" << k + 1);
            CHECK(layer.dims == std::vector<int64_t>{ceil_div_i(150, c.strides[k]), ceil_div_i(200, c.strides[k])});
            int64_t nonfinite = 0;
            for (double v : layer.values) nonfinite += std::isfinite(v) ? 0 : 1;
            CHECK(nonfinite == 0);
        }
        const H5Array combined = read_h5(h5, "/combined");
        CHECK(combined.dims == std::vector<int64_t>{150, 200});
        const auto [lowest, highest] = std::minmax_element(combined.values.begin(), combined.values.end());
        CHECK(*lowest >= 0.0);
        CHECK(*highest <= 1.0);
        CHECK(*highest - *lowest > 0.1);
    }
}

TEST_CASE("run: norm = gamma fits each layer over the whole scene (nodata excluded), as on one map",
          "[pipeline][run][normalize][gamma]") {
    // The gamma fit needs sum ln(x - min + 2e-7) over the scene, i.e. the scene minimum first: a
    // second read of the raw layer grids after pass 1. Tiled scene statistics must give what
    // normalizing each whole raw layer (as saliency.h5 stores it) gives.
    TempDir dir;
    SyntheticSceneOptions options;
    options.path = dir.file("corner.tif");
    options.width = 320;
    options.height = 256;
    options.nodata_corner = true;
    options.block_size = 64;
    write_synthetic_scene(options);
    const std::string out = dir.file("out");
    const RunOutcome outcome = run_scenes(
        make_config(dir, footprint_model(), {options.path}, out, {"tile_size = 64", "margin = 32", "norm = gamma"}));
    INFO(outcome.scenes.at(0).error);
    REQUIRE(outcome.all_ok());
    const std::string h5 = scene_folder(out, "corner") + "/saliency.h5";
    CHECK(h5_string_attribute(h5, "normalization") == "gamma");
    for (int k = 1; k <= 5; ++k) {
        const std::string name = "L" + std::to_string(k);
        INFO("layer " << name);
        const H5Array raw = read_h5(h5, "/layers/" + name);
        const H5Array got = read_h5(h5, "/layers_normalized/" + name);
        REQUIRE(got.dims == raw.dims);
        Map map(raw.dims[1], raw.dims[0]);
        for (std::size_t i = 0; i < raw.values.size(); ++i) map.values[i] = static_cast<float>(raw.values[i]);
        normalize(Normalization::Gamma, map);
        int64_t nan_mismatch = 0, nan_count = 0;
        double worst = 0;
        for (std::size_t i = 0; i < map.values.size(); ++i) {
            nan_count += std::isnan(got.values[i]) ? 1 : 0;
            if (std::isnan(map.values[i]) != std::isnan(got.values[i])) ++nan_mismatch;
            else if (!std::isnan(map.values[i])) worst = std::max(worst, std::fabs(map.values[i] - got.values[i]));
        }
        if (k <= 3) CHECK(nan_count > 0);
        CHECK(nan_mismatch == 0);
        CHECK(worst < 1e-6);
    }
}
