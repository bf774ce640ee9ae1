// GeoTiffWriter: streaming windows, layout (tiles, compression, predictor, overviews, COG),
// georeferencing, nodata, descriptions, and nothing at the final name unless finish() succeeded.
#include "io/GeoTiffWriter.hpp"
#include "io/IoError.hpp"
#include "io/RasterReader.hpp"
#include "test_raster_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using namespace satsal;
using satsal::test::TempDir;

namespace {
float ramp(int x, int y) { return static_cast<float>(x) * 0.5f + static_cast<float>(y) * 1000.0f; }

std::string structure(GDALDataset& ds, const char* key) {
    const char* v = ds.GetMetadataItem(key, "IMAGE_STRUCTURE");
    return v != nullptr ? v : "";
}
}  // namespace

TEST_CASE("GeoTiffWriter::overview_factors halves until the smallest level is <= 256 px", "[io][geotiff]") {
    CHECK(GeoTiffWriter::overview_factors(256, 100).empty());
    CHECK(GeoTiffWriter::overview_factors(257, 10) == std::vector<int>{2});
    CHECK(GeoTiffWriter::overview_factors(1000, 700) == std::vector<int>{2, 4});
    CHECK(GeoTiffWriter::overview_factors(700, 1024) == std::vector<int>{2, 4});
    CHECK(GeoTiffWriter::overview_factors(30000, 30000) == std::vector<int>{2, 4, 8, 16, 32, 64, 128});
}

TEST_CASE("GeoTiffWriter: Float32 round trip, streamed in unaligned windows", "[io][geotiff]") {
    TempDir dir;
    const std::string path = dir.file("saliency.tif");
    const GeoReference geo = test::utm_scene_geo();
    const int W = 1000, H = 700;
    GeoTiffOptions opt;
    opt.nodata = -9999.0;
    opt.band_descriptions = {"combined saliency"};
    {
        GeoTiffWriter writer(path, W, H, 1, SampleType::Float32, geo, opt);
        CHECK(writer.temp_path() == path + ".partial");
        // 300 x 300 windows do not line up with the 512 blocks: blocks get written in pieces.
        for (int y0 = 0; y0 < H; y0 += 300) {
            for (int x0 = 0; x0 < W; x0 += 300) {
                const int w = std::min(300, W - x0), h = std::min(300, H - y0);
                std::vector<float> win(static_cast<std::size_t>(w * h));
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < w; ++x) win[y * w + x] = ramp(x0 + x, y0 + y);
                writer.write_window(1, x0, y0, w, h, win.data());
            }
        }
        CHECK(std::filesystem::exists(path + ".partial"));
        CHECK_FALSE(std::filesystem::exists(path));
        writer.finish();
        CHECK(writer.finished());
    }
    CHECK(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));

    RasterReader reader(path);
    CHECK(reader.info().georeference.transform == geo.transform);
    CHECK(same_crs(reader.info().georeference.crs_wkt, geo.crs_wkt));
    const std::vector<float> all = reader.read_window({1}, 0, 0, W, H);
    bool equal = true;
    for (int y = 0; y < H && equal; ++y)
        for (int x = 0; x < W && equal; ++x) equal = all[y * W + x] == ramp(x, y);
    CHECK(equal);

    auto ds = test::open_raster(path);
    GDALRasterBand* band = ds->GetRasterBand(1);
    int bx = 0, by = 0;
    band->GetBlockSize(&bx, &by);
    CHECK(bx == 512);
    CHECK(by == 512);
    CHECK(structure(*ds, "COMPRESSION") == "DEFLATE");
    CHECK(structure(*ds, "PREDICTOR") == "3");
    int has_nodata = 0;
    CHECK(band->GetNoDataValue(&has_nodata) == -9999.0);
    CHECK(has_nodata == 1);
    CHECK(std::string(band->GetDescription()) == "combined saliency");
    REQUIRE(band->GetOverviewCount() == 2);
    GDALRasterBand* ovr = band->GetOverview(0);
    CHECK(ovr->GetXSize() == 500);
    CHECK(ovr->GetYSize() == 350);
    CHECK(band->GetOverview(1)->GetXSize() == 250);
    // AVERAGE of the 2x2 block at (2,2)..(3,3) of a linear ramp is the value at its centre.
    float v = 0;
    REQUIRE(ovr->RasterIO(GF_Read, 1, 1, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr) == CE_None);
    CHECK(v == Approx((ramp(2, 2) + ramp(3, 3)) / 2));
    CHECK(structure(*ds, "LAYOUT") != "COG");
}

TEST_CASE("GeoTiffWriter: block-aligned windows stream their overviews (nodata excluded)", "[io][geotiff]") {
    TempDir dir;
    const std::string path = dir.file("streamed.tif");
    const int W = 1000, H = 700, B = 256;
    GeoTiffOptions opt;
    opt.block_size = B;
    opt.nodata = std::nan("");
    auto value = [](int x, int y) {
        return (x + y) % 97 == 0 ? std::nanf("") : static_cast<float>((x * 7 + y * 13) % 101);
    };
    {
        GeoTiffWriter writer(path, W, H, 1, SampleType::Float32, test::utm_scene_geo(), opt);
        for (int y0 = 0; y0 < H; y0 += B) {
            for (int x0 = 0; x0 < W; x0 += B) {
                const int w = std::min(B, W - x0), h = std::min(B, H - y0);
                std::vector<float> block(static_cast<std::size_t>(w * h));
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < w; ++x) block[static_cast<std::size_t>(y * w + x)] = value(x0 + x, y0 + y);
                writer.write_window(1, x0, y0, w, h, block.data());
            }
        }
        writer.finish();
    }
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER));
    REQUIRE(ds);
    GDALRasterBand* band = ds->GetRasterBand(1);
    REQUIRE(band->GetOverviewCount() == 2);
    for (int level = 0; level < 2; ++level) {
        const int f = 2 << level;
        GDALRasterBand* overview = band->GetOverview(level);
        const int ow = (W + f - 1) / f, oh = (H + f - 1) / f;
        REQUIRE(overview->GetXSize() == ow);
        REQUIRE(overview->GetYSize() == oh);
        std::vector<float> got(static_cast<std::size_t>(ow * oh));
        REQUIRE(overview->RasterIO(GF_Read, 0, 0, ow, oh, got.data(), ow, oh, GDT_Float32, 0, 0, nullptr) == CE_None);
        for (int oy = 0; oy < oh; oy += 7) {
            for (int ox = 0; ox < ow; ox += 5) {
                double sum = 0;
                int n = 0;
                for (int y = oy * f; y < std::min(H, oy * f + f); ++y)
                    for (int x = ox * f; x < std::min(W, ox * f + f); ++x)
                        if (!std::isnan(value(x, y))) sum += value(x, y), ++n;
                const float expected = n ? static_cast<float>(sum / n) : std::nanf("");
                const float actual = got[static_cast<std::size_t>(oy * ow + ox)];
                if (n == 0) {
                    CHECK(std::isnan(actual));
                } else {
                    CHECK(actual == Approx(expected).epsilon(1e-6));
                }
            }
        }
    }
}

TEST_CASE("GeoTiffWriter: RGB Byte from interleaved data, ZSTD, predictor 2", "[io][geotiff]") {
    TempDir dir;
    const std::string path = dir.file("lovi.tif");
    const int W = 40, H = 30;
    GeoTiffOptions opt;
    opt.compression = "zstd";
    opt.rgb = true;
    opt.block_size = 256;
    opt.band_descriptions = {"red", "green", "blue"};
    std::vector<uint8_t> rgb(static_cast<std::size_t>(W * H * 3));
    for (int p = 0; p < W * H; ++p) {
        rgb[p * 3 + 0] = static_cast<uint8_t>(p % 251);
        rgb[p * 3 + 1] = static_cast<uint8_t>(p % 13);
        rgb[p * 3 + 2] = 200;
    }
    GeoTiffWriter writer(path, W, H, 3, SampleType::Byte, test::utm_scene_geo(), opt);
    writer.write_window_interleaved(0, 0, W, 10, rgb.data());
    writer.write_window_interleaved(0, 10, W, 20, rgb.data() + W * 10 * 3);
    writer.finish();

    auto ds = test::open_raster(path);
    CHECK(structure(*ds, "COMPRESSION") == "ZSTD");
    CHECK(structure(*ds, "PREDICTOR") == "2");
    CHECK(ds->GetRasterBand(1)->GetColorInterpretation() == GCI_RedBand);
    CHECK(ds->GetRasterBand(3)->GetColorInterpretation() == GCI_BlueBand);
    CHECK(std::string(ds->GetRasterBand(2)->GetDescription()) == "green");
    CHECK(ds->GetRasterBand(1)->GetOverviewCount() == 0);  // 40 px needs none
    RasterReader reader(path);
    const std::vector<float> planar = reader.read_window({1, 2, 3}, 0, 0, W, H);
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < W * H; p += 7) CHECK(planar[c * W * H + p] == rgb[p * 3 + c]);
}

TEST_CASE("GeoTiffWriter: Cloud Optimized GeoTIFF keeps georeference, nodata, descriptions", "[io][geotiff][cog]") {
    TempDir dir;
    const std::string path = dir.file("saliency_cog.tif");
    const GeoReference geo = test::utm_scene_geo().window(512, 256);
    const int W = 600, H = 520;
    GeoTiffOptions opt;
    opt.cog = true;
    opt.block_size = 256;
    opt.nodata = -1.0;
    opt.band_descriptions = {"L3 raw"};
    GeoTiffWriter writer(path, W, H, 1, SampleType::Float32, geo, opt);
    CHECK(writer.temp_path() == path + ".uncog.partial");
    std::vector<float> planar(static_cast<std::size_t>(W * H));
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) planar[y * W + x] = ramp(x, y);
    writer.write_window_planar(0, 0, W, H, planar.data());
    writer.finish();
    CHECK_FALSE(std::filesystem::exists(path + ".uncog.partial"));
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));

    auto ds = test::open_raster(path);
    CHECK(structure(*ds, "LAYOUT") == "COG");
    CHECK(structure(*ds, "COMPRESSION") == "DEFLATE");
    CHECK(structure(*ds, "PREDICTOR") == "3");
    GDALRasterBand* band = ds->GetRasterBand(1);
    int bx = 0, by = 0;
    band->GetBlockSize(&bx, &by);
    CHECK(bx == 256);
    CHECK(band->GetOverviewCount() == 2);  // 600 -> 300 -> 150
    CHECK(band->GetNoDataValue() == -1.0);
    CHECK(std::string(band->GetDescription()) == "L3 raw");
    const GeoReference back = GeoReference::from_dataset(*ds);
    CHECK(back.transform == geo.transform);
    CHECK(same_crs(back.crs_wkt, geo.crs_wkt));
    float v = 0;
    REQUIRE(band->RasterIO(GF_Read, 599, 519, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr) == CE_None);
    CHECK(v == ramp(599, 519));
}

TEST_CASE("GeoTiffWriter: without georeferencing", "[io][geotiff]") {
    TempDir dir;
    const std::string path = dir.file("plain.tif");
    GeoTiffWriter writer(path, 20, 10, 1, SampleType::Float32, GeoReference{});
    std::vector<float> data(200, 0.25f);
    writer.write_window(1, 0, 0, 20, 10, data.data());
    writer.finish();
    RasterReader reader(path);
    CHECK_FALSE(reader.info().georeference.has_transform);
    CHECK_FALSE(reader.info().georeference.has_crs());
    CHECK(reader.read_window({1}, 19, 9, 1, 1)[0] == 0.25f);
}

TEST_CASE("GeoTiffWriter: an unfinished or failed writer leaves nothing behind", "[io][geotiff][atomic]") {
    TempDir dir;
    SECTION("destroyed before finish") {
        const std::string path = dir.file("killed.tif");
        {
            GeoTiffWriter writer(path, 64, 64, 1, SampleType::Float32, test::utm_scene_geo());
            std::vector<float> data(64 * 32, 1.0f);
            writer.write_window(1, 0, 0, 64, 32, data.data());
            CHECK(std::filesystem::exists(path + ".partial"));
        }
        CHECK_FALSE(std::filesystem::exists(path));
        CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    }
    SECTION("COG destroyed before finish") {
        const std::string path = dir.file("killed_cog.tif");
        {
            GeoTiffOptions opt;
            opt.cog = true;
            GeoTiffWriter writer(path, 64, 64, 1, SampleType::Byte, GeoReference{}, opt);
        }
        CHECK(std::filesystem::is_empty(dir.path()));
    }
    SECTION("an older finished file at the final name survives a failed rerun untouched") {
        const std::string path = dir.file("scene.tif");
        {
            GeoTiffWriter first(path, 8, 8, 1, SampleType::Byte, GeoReference{});
            std::vector<uint8_t> ones(64, 1);
            first.write_window(1, 0, 0, 8, 8, ones.data());
            first.finish();
        }
        { GeoTiffWriter second(path, 8, 8, 1, SampleType::Byte, GeoReference{}); }
        CHECK(RasterReader(path).read_window({1}, 7, 7, 1, 1)[0] == 1.0f);
        CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    }
    SECTION("errors name the file, band and window") {
        const std::string path = dir.file("small.tif");
        GeoTiffWriter writer(path, 10, 10, 2, SampleType::Float32, GeoReference{});
        std::vector<float> data(100, 0.0f);
        try {
            writer.write_window(1, 5, 5, 10, 2, data.data());
            FAIL("no exception");
        } catch (const IoError& e) {
            CHECK(std::string(e.what()) == "GeoTIFF '" + path + "': window x0=5 y0=5 10x2 is outside the raster (10x10)");
        }
        CHECK_THROWS_WITH(writer.write_window(3, 0, 0, 1, 1, data.data()),
                          "GeoTIFF '" + path + "': band 3 does not exist (2 bands)");
        CHECK_THROWS_WITH(GeoTiffWriter(dir.file("nodir/x.tif"), 4, 4, 1, SampleType::Byte, GeoReference{}),
                          "cannot write '" + dir.file("nodir/x.tif") + "': directory '" + dir.file("nodir") +
                              "' does not exist");
        // GDAL's own message reaches the exception when the file cannot be created.
        std::filesystem::create_directory(dir.file("blocked.tif.partial"));
        CHECK_THROWS_WITH(GeoTiffWriter(dir.file("blocked.tif"), 4, 4, 1, SampleType::Byte, GeoReference{}),
                          Catch::StartsWith("cannot create GeoTIFF '" + dir.file("blocked.tif") + "' (as '" +
                                            dir.file("blocked.tif.partial") + "') (GDAL: "));
        GeoTiffOptions bad;
        bad.compression = "JPEG";
        CHECK_THROWS_WITH(GeoTiffWriter(dir.file("j.tif"), 4, 4, 1, SampleType::Byte, GeoReference{}, bad),
                          Catch::Contains("compression must be DEFLATE, ZSTD, LZW or NONE, got 'JPEG'"));
    }
}

TEST_CASE("GeoTiffWriter: metadata items, exact embedded statistics (none for an all-nodata band), alpha band, COG",
          "[io][geotiff][metadata]") {
    TempDir dir;
    const int W = 300, H = 20;  // wider than 256: statistics come from the full resolution, not an overview
    for (bool cog : {false, true}) {
        INFO("cog " << cog);
        const std::string path = dir.file(cog ? "cog.tif" : "plain.tif");
        GeoTiffOptions opt;
        opt.nodata = std::nan("");
        opt.cog = cog;
        GeoTiffWriter writer(path, W, H, 2, SampleType::Float32, test::utm_scene_geo(), opt);
        std::vector<float> values(static_cast<std::size_t>(W * H)), empty(values.size(), NAN);
        double sum = 0, squares = 0;
        for (int i = 0; i < W * H; ++i) {
            values[i] = i % 7 == 0 ? NAN : static_cast<float>(i % 10);  // 0..9 with holes
        }
        int64_t count = 0;
        for (float v : values) {
            if (!std::isnan(v)) sum += v, squares += static_cast<double>(v) * v, ++count;
        }
        const double mean = sum / count, stddev = std::sqrt(squares / count - mean * mean);
        writer.write_window(1, 0, 0, W, H, values.data());
        writer.write_window(2, 0, 0, W, H, empty.data());
        writer.set_metadata("TIFFTAG_SOFTWARE", "satsal test");
        writer.set_metadata("statistic", "smoe");
        writer.set_metadata("tap", "layer1", 1);
        CHECK_THROWS_WITH(writer.set_metadata("x", "y", 3), Catch::Contains("band 3"));
        writer.finish();
        CHECK_THROWS_WITH(writer.set_metadata("late", "y"), Catch::Contains("after finish"));

        {
            auto ds = test::open_raster(path);
            CHECK(std::string(ds->GetMetadataItem("TIFFTAG_SOFTWARE") ?: "") == "satsal test");
            CHECK(std::string(ds->GetMetadataItem("statistic") ?: "") == "smoe");
            GDALRasterBand* band = ds->GetRasterBand(1);
            CHECK(std::string(band->GetMetadataItem("tap") ?: "") == "layer1");
            REQUIRE(band->GetMetadataItem("STATISTICS_MEAN") != nullptr);
            CHECK(std::stod(band->GetMetadataItem("STATISTICS_MINIMUM")) == 0.0);
            CHECK(std::stod(band->GetMetadataItem("STATISTICS_MAXIMUM")) == 9.0);
            CHECK(std::stod(band->GetMetadataItem("STATISTICS_MEAN")) == Approx(mean).epsilon(1e-9));
            CHECK(std::stod(band->GetMetadataItem("STATISTICS_STDDEV")) == Approx(stddev).epsilon(1e-6));
            CHECK(ds->GetRasterBand(2)->GetMetadataItem("STATISTICS_MEAN") == nullptr);
        }
        CHECK_FALSE(std::filesystem::exists(path + ".aux.xml"));
    }

    const std::string rgba = dir.file("rgba.tif");
    GeoTiffOptions opt;
    opt.rgb = true;
    opt.alpha = true;
    GeoTiffWriter writer(rgba, 4, 1, 4, SampleType::Byte, test::utm_scene_geo(), opt);
    const std::vector<uint8_t> pixels = {10, 20, 30, 255, 1, 2, 3, 0, 4, 5, 6, 255, 7, 8, 9, 0};
    writer.write_window_interleaved(0, 0, 4, 1, pixels.data());
    writer.finish();
    auto ds = test::open_raster(rgba);
    CHECK(ds->GetRasterBand(3)->GetColorInterpretation() == GCI_BlueBand);
    CHECK(ds->GetRasterBand(4)->GetColorInterpretation() == GCI_AlphaBand);
    CHECK(std::stod(ds->GetRasterBand(4)->GetMetadataItem("STATISTICS_MEAN")) == Approx(127.5));
    CHECK_THROWS_WITH(GeoTiffWriter(dir.file("bad.tif"), 4, 1, 3, SampleType::Byte, test::utm_scene_geo(), opt),
                      Catch::Contains("4 with alpha"));
}
