// `satsal explain`: the documented outputs and HDF5 layout,
// raw layer maps against SMOE computed here in double from the model's own taps, georeferencing,
// and errors that leave no output behind.
#include "model/TappedModel.hpp"
#include "pipeline/Explain.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <torch/script.h>

using namespace satsal;
using namespace satsal::ptest;

namespace {

ExplainOptions options_for(const std::string& model, const std::string& image, const std::string& out) {
    ExplainOptions options;
    options.model_path = model;
    options.image_path = image;
    options.out_dir = out;
    options.threads = 2;
    return options;
}

/// SHA-256 of a file by coreutils' sha256sum (independent of satsal's implementation).
std::string sha256sum(const std::string& path) {
    const std::string command = "sha256sum '" + path + "'";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return "";
    char buffer[128] = {};
    const std::size_t n = std::fread(buffer, 1, 64, pipe);
    ::pclose(pipe);
    return std::string(buffer, n);
}

}  // namespace

TEST_CASE("explain: outputs, HDF5 layout and raw layers against an independent SMOE", "[pipeline][explain]") {
    TempDir dir;
    const std::string image = dir.file("image.tif");
    write_tiff(image, 96, 96, 3, GDT_Byte, texture_value, 32633, utm_transform(401234.5, 5012345.6, 0.15));
    const std::string out = dir.file("out");
    const ExplainResult result = explain(options_for(tiny_resnet(), image, out));

    CHECK(folder_entries(out) == std::vector<std::string>{"lovi.png", "overlay.png", "saliency.h5", "saliency.tif"});
    CHECK(result.saliency_h5 == out + "/saliency.h5");
    CHECK(result.width == 96);
    CHECK(result.height == 96);
    REQUIRE(result.taps.size() == 5);
    const std::vector<std::string> names = {"relu", "layer1", "layer2", "layer3", "layer4"};
    for (std::size_t k = 0; k < 5; ++k) {
        CHECK(result.taps[k].name == names[k]);
        CHECK(result.taps[k].stride == kFootprintStrides[k]);
        CHECK(result.taps[k].width == 96 / kFootprintStrides[k]);
    }

    // Root attributes.
    const std::string h5 = result.saliency_h5;
    CHECK(h5_string_attribute(h5, "statistic") == "smoe");
    CHECK(h5_string_attribute(h5, "normalization") == "gauss");
    CHECK(h5_numeric_attribute(h5, "weights") == std::vector<double>{1, 1, 1, 1, 1});
    CHECK(h5_string_attribute(h5, "taps") == "relu,layer1,layer2,layer3,layer4");
    CHECK(h5_numeric_attribute(h5, "strides") == std::vector<double>{2, 4, 8, 16, 32});
    CHECK(h5_string_attribute(h5, "model_sha256") == sha256sum(tiny_resnet()));
    CHECK_FALSE(h5_string_attribute(h5, "satsal_version").empty());
    CHECK(h5_string_attribute(h5, "input") == image);

    // The model's own taps on the image standardized here, and SMOE in double.
    const Raster input = read_raster(image);
    torch::Tensor batch = torch::empty({1, 3, 96, 96});
    float* data = batch.data_ptr<float>();
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 96; ++y)
            for (int x = 0; x < 96; ++x)
                data[(c * 96 + y) * 96 + x] = static_cast<float>(
                    (input.at(c, x, y) / 255.0 - kMean[static_cast<std::size_t>(c)]) / kStd[static_cast<std::size_t>(c)]);
    TappedModel model(tiny_resnet());
    const ForwardResult forward = model.forward(batch);
    REQUIRE(forward.taps.size() == 5);
    std::vector<Grid> normalized;
    for (std::size_t k = 0; k < 5; ++k) {
        const std::string name = "L" + std::to_string(k + 1);
        INFO(name);
        const torch::Tensor tap = forward.taps[k].contiguous().to(torch::kFloat32);
        const int64_t channels = tap.size(1), h = tap.size(2), w = tap.size(3);
        const float* values = tap.data_ptr<float>();
        Grid want(w, h);
        std::vector<double> column(static_cast<std::size_t>(channels));
        double layer_max = 0;
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                for (int64_t c = 0; c < channels; ++c) column[static_cast<std::size_t>(c)] = values[(c * h + y) * w + x];
                want.at(x, y) = smoe_double(column);
                layer_max = std::max(layer_max, want.at(x, y));
            }
        const H5Array raw = read_h5(h5, "/layers/" + name);
        REQUIRE(raw.dims == std::vector<int64_t>{h, w});
        const Comparison c = compare_relative(raw, want, 1e-6 * layer_max);
        INFO("worst at (" << c.worst_x << ", " << c.worst_y << "): got " << c.got << ", want " << c.want);
        CHECK(c.nonfinite == 0);
        CHECK(c.worst <= 1e-4);

        normalized.push_back(gauss_normalized(want, mean_std(want)));
        const Comparison n = compare_relative(read_h5(h5, "/layers_normalized/" + name), normalized.back(), 1.0);
        CHECK(n.worst <= 1e-4);
    }
    // /combined: upsampled (half-pixel centres, scale = stride) and averaged with equal weights.
    const H5Array combined = read_h5(h5, "/combined");
    REQUIRE(combined.dims == std::vector<int64_t>{96, 96});
    Grid want_combined(96, 96);
    for (int64_t y = 0; y < 96; ++y)
        for (int64_t x = 0; x < 96; ++x) want_combined.at(x, y) = combined_at(normalized, 1, x, y);
    CHECK(compare_relative(combined, want_combined, 1.0).worst <= 1e-4);
    const auto [lowest, highest] = std::minmax_element(combined.values.begin(), combined.values.end());
    CHECK(*lowest >= 0.0);
    CHECK(*highest <= 1.0);

    // /lovi is band-first [3, H, W] and lovi.png shows it.
    const H5Array lovi = read_h5(h5, "/lovi");
    REQUIRE(lovi.dims == std::vector<int64_t>{3, 96, 96});
    const Raster lovi_png = read_raster(out + "/lovi.png");
    REQUIRE(lovi_png.bands == 3);
    bool same = true;
    for (int b = 0; b < 3; ++b)
        for (int y = 0; y < 96; ++y)
            for (int x = 0; x < 96; ++x)
                same = same && lovi_png.at(b, x, y) == lovi.values[static_cast<std::size_t>((b * 96 + y) * 96 + x)];
    CHECK(same);

    // saliency.tif: the combined map, georeferenced like the input.
    const Raster tif = read_raster(out + "/saliency.tif");
    CHECK(tif.values == combined.values);
    REQUIRE(tif.has_transform);
    CHECK(tif.transform == input.transform);
    CHECK(same_crs_wkt(tif.wkt, input.wkt));
    CHECK_FALSE(tif.wkt.empty());
}

TEST_CASE("explain: bad input fails with a clear message and leaves no output", "[pipeline][explain][errors]") {
    TempDir dir;
    const std::string image = dir.file("image.png");
    write_png_rgb(image, 64, 64, texture_value);
    const std::string out = dir.file("out");
    ExplainOptions options = options_for(tiny_resnet(), image, out);

    SECTION("missing image") {
        options.image_path = dir.file("missing.tif");
        CHECK_THROWS_WITH(explain(options), Catch::Contains(options.image_path) && Catch::Contains("does not exist"));
    }
    SECTION("a text file as image") {
        options.image_path = dir.file("notes.tif");
        write_text(options.image_path, "not an image\n");
        GdalErrorCapture quiet;
        CHECK_THROWS_WITH(explain(options), Catch::Contains(options.image_path) && Catch::Contains("not a raster"));
    }
    SECTION("a model file that is not TorchScript") {
        options.model_path = fixture("tiny_resnet_state_dict.pt");
        CHECK_THROWS_WITH(explain(options),
                          Catch::Contains(options.model_path) && Catch::Contains("is not a TorchScript module"));
    }
    SECTION("a tap name the model lacks") {
        options.taps = {"relu", "layer9"};
        CHECK_THROWS_WITH(explain(options), Catch::Contains("layer9"));
    }
    SECTION("wrong weight count") {
        options.weights = "1,2,3";
        CHECK_THROWS_WITH(explain(options), Catch::Contains("give 3 values but the model has 5 taps"));
    }
    SECTION("an image smaller than the deepest stride") {
        options.image_path = dir.file("small.png");
        write_png_rgb(options.image_path, 16, 40, texture_value);
        CHECK_THROWS_WITH(explain(options), Catch::Contains(options.image_path) && Catch::Contains("16x40") &&
                                                Catch::Contains("smaller than the model's deepest stride 32"));
    }
    SECTION("negative activations where SMOE needs non-negative ones") {
        options.model_path = signed_model();
        options.image_path = dir.file("bright.png");
        write_png_rgb(options.image_path, 64, 64, [](int, int64_t, int64_t) { return 255.0; });
        CHECK_THROWS_WITH(explain(options), Catch::Contains("tap 's2'") && Catch::Contains("negative"));
    }
    INFO("left in the output folder: " << join_names(folder_entries(out)));
    CHECK(folder_entries(out).empty());
}

TEST_CASE("explain: sizes off the stride grid upsample to the input size; --resize scales the georeference",
          "[pipeline][explain]") {
    TempDir dir;
    const std::string image = dir.file("odd.tif");
    const std::array<double, 6> transform = utm_transform(401234.5, 5012345.6, 0.15);
    write_tiff(image, 100, 70, 3, GDT_Byte, texture_value, 32633, transform);

    SECTION("native 100 x 70: layer maps of the network's own sizes, combined at 100 x 70") {
        const ExplainResult result = explain(options_for(tiny_resnet(), image, dir.file("out")));
        REQUIRE(result.taps.size() == 5);
        const std::string h5 = result.saliency_h5;
        std::vector<Grid> normalized;
        for (std::size_t k = 0; k < 5; ++k) {
            const H5Array raw = read_h5(h5, "/layers/L" + std::to_string(k + 1));
            CHECK(raw.dims == std::vector<int64_t>{result.taps[k].height, result.taps[k].width});
            Grid g(raw.dims[1], raw.dims[0]);
            g.values = raw.values;
            normalized.push_back(gauss_normalized(g, mean_std(g)));
        }
        // Conv arithmetic of tiny_resnet on 100 x 70: 50x35, 25x18, 13x9, 7x5, 4x3.
        CHECK(result.taps[4].width == 4);
        CHECK(result.taps[4].height == 3);
        const H5Array combined = read_h5(h5, "/combined");
        REQUIRE(combined.dims == std::vector<int64_t>{70, 100});
        double worst = 0;
        for (int64_t y = 0; y < 70; ++y)
            for (int64_t x = 0; x < 100; ++x) {
                double sum = 0;
                for (const Grid& g : normalized)
                    sum += bilinear_at(g, 100.0 / static_cast<double>(g.width), 70.0 / static_cast<double>(g.height), x, y);
                worst = std::max(worst, std::fabs(combined.values[static_cast<std::size_t>(y * 100 + x)] - sum / 5.0));
            }
        CHECK(worst <= 1e-5);
    }
    SECTION("--resize 64x48") {
        ExplainOptions options = options_for(tiny_resnet(), image, dir.file("out"));
        options.resize = std::array<int64_t, 2>{64, 48};
        const ExplainResult result = explain(options);
        CHECK(result.width == 64);
        CHECK(result.height == 48);
        const Raster tif = read_raster(result.saliency_tif);
        CHECK(tif.width == 64);
        CHECK(tif.height == 48);
        REQUIRE(tif.has_transform);
        CHECK(tif.transform[0] == Approx(transform[0]));
        CHECK(tif.transform[3] == Approx(transform[3]));
        CHECK(tif.transform[1] == Approx(0.15 * 100.0 / 64.0));
        CHECK(tif.transform[5] == Approx(-0.15 * 70.0 / 48.0));
        CHECK(h5_numeric_attribute(result.saliency_h5, "strides") == std::vector<double>{2, 4, 8, 16, 32});
    }
}
