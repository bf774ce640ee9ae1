// GeoReference arithmetic, RasterReader (info, windows, masks, percentiles, errors), load_rgb01,
// write_png (zlib levels, from a dataset), byte reads, write_text_file and create_parent_directory.
#include "io/AtomicFile.hpp"
#include "io/IoError.hpp"
#include "io/PngWriter.hpp"
#include "io/RasterReader.hpp"
#include "test_raster_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

using namespace satsal;
using satsal::test::TempDir;

namespace {
// value(band, x, y) of the 3-band test scene: exact in float32 for these sizes.
double scene_value(int b, int x, int y) { return b * 10000.0 + y * 100.0 + x; }

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const IoError& e) {
        return e.what();
    }
    return "(no IoError thrown)";
}
}  // namespace

TEST_CASE("GeoReference: window and stride scaling move the grid as the pixels do", "[io][georef]") {
    const GeoReference geo = test::utm_scene_geo();
    REQUIRE(geo.georeferenced());

    const GeoReference win = geo.window(10, 20);
    CHECK(win.transform[0] == Approx(500000.0 + 10 * 0.15).epsilon(1e-15));
    CHECK(win.transform[3] == Approx(5000000.0 - 20 * 0.15).epsilon(1e-15));
    CHECK(win.transform[1] == 0.15);
    CHECK(win.transform[5] == -0.15);

    // Layer map of stride 8: pixel (0,0) covers input pixels [0,8)x[0,8), same origin.
    const GeoReference layer = geo.scaled(8);
    CHECK(layer.transform[0] == 500000.0);
    CHECK(layer.transform[3] == 5000000.0);
    CHECK(layer.transform[1] == Approx(1.2));
    CHECK(layer.transform[5] == Approx(-1.2));
    // Layer pixel (3, 2)'s corner is input pixel (24, 16)'s corner.
    CHECK(layer.x_at(3, 2) == Approx(geo.x_at(24, 16)));
    CHECK(layer.y_at(3, 2) == Approx(geo.y_at(24, 16)));
    CHECK_THROWS_AS(geo.scaled(0), IoError);

    CHECK(geo.crs_in_metres());
    REQUIRE(geo.pixel_area_m2().has_value());
    CHECK(*geo.pixel_area_m2() == Approx(0.0225));
    CHECK(*layer.pixel_area_m2() == Approx(0.0225 * 64));

    // Geographic CRS: no metres, no area.
    const GeoReference wgs84 = GeoReference::from_epsg(4326, {10.0, 1e-5, 0.0, 50.0, 0.0, -1e-5});
    CHECK_FALSE(wgs84.crs_in_metres());
    CHECK_FALSE(wgs84.pixel_area_m2().has_value());

    // US survey feet (NAD83 / California zone 3, EPSG:2227): 1 ftUS = 1200/3937 m.
    const GeoReference feet = GeoReference::from_epsg(2227, {6000000.0, 1.0, 0.0, 2000000.0, 0.0, -1.0});
    CHECK_FALSE(feet.crs_in_metres());
    REQUIRE(feet.pixel_area_m2().has_value());
    CHECK(*feet.pixel_area_m2() == Approx((1200.0 / 3937.0) * (1200.0 / 3937.0)).epsilon(1e-9));

    const GeoReference none;
    CHECK_FALSE(none.georeferenced());
    CHECK_FALSE(none.pixel_area_m2().has_value());
    CHECK(geo.same_as(test::utm_scene_geo()));
    CHECK_FALSE(geo.same_as(layer));
    CHECK_FALSE(geo.same_as(wgs84));
}

TEST_CASE("RasterReader: info, windows in any band order, georeference", "[io][reader]") {
    TempDir dir;
    const std::string path = dir.file("scene.tif");
    const GeoReference geo = test::utm_scene_geo();
    test::write_test_tiff(path, 90, 70, 3, GDT_UInt16, geo, scene_value, 0.0, 32);

    RasterReader reader(path);
    const RasterInfo& info = reader.info();
    CHECK(info.width == 90);
    CHECK(info.height == 70);
    REQUIRE(info.band_count() == 3);
    CHECK(info.driver == "GTiff");
    CHECK(info.bands[0].data_type == GDT_UInt16);
    CHECK(info.bands[0].data_type_name == "UInt16");
    REQUIRE(info.bands[2].nodata.has_value());
    CHECK(*info.bands[2].nodata == 0.0);
    CHECK(info.bands[0].mask_flags == GMF_NODATA);
    CHECK(info.bands[0].block_width == 32);
    CHECK(info.bands[0].block_height == 32);
    CHECK(info.georeference.same_as(geo));
    CHECK(info.georeference.transform == geo.transform);

    const int x0 = 5, y0 = 7, w = 4, h = 3;
    const std::vector<float> v = reader.read_window({3, 1}, x0, y0, w, h);
    REQUIRE(v.size() == 2u * w * h);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            CHECK(v[(0 * h + y) * w + x] == static_cast<float>(scene_value(3, x0 + x, y0 + y)));
            CHECK(v[(1 * h + y) * w + x] == static_cast<float>(scene_value(1, x0 + x, y0 + y)));
        }
    }
    // The last row and column are readable (no off-by-one at the edges).
    const std::vector<float> corner = reader.read_window({2}, 89, 69, 1, 1);
    CHECK(corner[0] == static_cast<float>(scene_value(2, 89, 69)));

    const std::string outside = error_of([&] { reader.read_window({1}, 88, 0, 4, 2); });
    CHECK_THAT(outside, Catch::Contains(path) && Catch::Contains("window x0=88 y0=0 4x2") &&
                            Catch::Contains("outside the raster (90x70)"));
    const std::string bad_band = error_of([&] { reader.read_window({4}, 0, 0, 1, 1); });
    CHECK_THAT(bad_band, Catch::Contains(path) && Catch::Contains("band 4 does not exist") &&
                             Catch::Contains("3 band(s)"));
}

TEST_CASE("RasterReader: validity from nodata values and from an alpha band", "[io][reader][mask]") {
    TempDir dir;
    SECTION("nodata per band: a pixel is invalid where any selected band is nodata (GDAL's per-band masks, QGIS)") {
        const std::string path = dir.file("nodata.tif");
        // Left 10 columns nodata (0) in all bands; pixel (20, 5) is 0 in band 1 only.
        test::write_test_tiff(path, 40, 12, 3, GDT_Byte, test::utm_scene_geo(),
                              [](int b, int x, int y) { return x < 10 ? 0.0 : (b == 1 && x == 20 && y == 5 ? 0.0 : 50.0); },
                              0.0);
        RasterReader reader(path);
        CHECK_FALSE(reader.all_valid({}));
        const std::vector<uint8_t> mask = reader.read_valid_mask({1, 2, 3}, 8, 0, 16, 12);
        for (int y = 0; y < 12; ++y) {
            for (int x = 0; x < 16; ++x) CHECK(mask[y * 16 + x] == (8 + x < 10 || (8 + x == 20 && y == 5) ? 0 : 1));
        }
        // The pixel that is 0 in band 1 only: nodata wherever band 1 is used, data without it.
        CHECK(reader.read_valid_mask({1}, 20, 5, 1, 1)[0] == 0);
        CHECK(reader.read_valid_mask({1, 2}, 20, 5, 1, 1)[0] == 0);
        CHECK(reader.read_valid_mask({2, 3}, 20, 5, 1, 1)[0] == 1);
        // GDAL's own per-band masks agree.
        auto ds = test::open_raster(path);
        uint8_t m1 = 1, m2 = 0;
        REQUIRE(ds->GetRasterBand(1)->GetMaskBand()->RasterIO(GF_Read, 20, 5, 1, 1, &m1, 1, 1, GDT_Byte, 0, 0, nullptr) == CE_None);
        REQUIRE(ds->GetRasterBand(2)->GetMaskBand()->RasterIO(GF_Read, 20, 5, 1, 1, &m2, 1, 1, GDT_Byte, 0, 0, nullptr) == CE_None);
        CHECK(m1 == 0);
        CHECK(m2 == 255);
    }
    SECTION("dataset-wide nodata (NODATA_VALUES): invalid only where every band matches, as GDAL's mask says") {
        const std::string path = dir.file("nodata_values.tif");
        test::write_test_tiff(path, 40, 12, 3, GDT_Byte, test::utm_scene_geo(),
                              [](int b, int x, int y) { return x < 10 ? 0.0 : (b == 1 && x == 20 && y == 5 ? 0.0 : 50.0); });
        {
            GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
            REQUIRE(ds);
            REQUIRE(ds->SetMetadataItem("NODATA_VALUES", "0 0 0") == CE_None);
        }
        RasterReader reader(path);
        CHECK((reader.info().bands[0].mask_flags & GMF_PER_DATASET) != 0);
        CHECK(reader.read_valid_mask({1, 2, 3}, 20, 5, 1, 1)[0] == 1);
        CHECK(reader.read_valid_mask({1, 2, 3}, 3, 5, 1, 1)[0] == 0);
    }
    SECTION("alpha band") {
        const std::string path = dir.file("alpha.tif");
        test::write_test_tiff(path, 16, 16, 4, GDT_Byte, GeoReference{},
                              [](int b, int x, int y) { return b == 4 ? (y < 4 ? 0.0 : 255.0) : 100.0; },
                              std::nullopt, 0, GCI_AlphaBand);
        RasterReader reader(path);
        CHECK(reader.info().bands[3].color_interpretation == GCI_AlphaBand);
        CHECK((reader.info().bands[0].mask_flags & GMF_ALPHA) != 0);
        const std::vector<uint8_t> mask = reader.read_valid_mask({1, 2, 3}, 0, 0, 16, 16);
        for (int y = 0; y < 16; ++y) CHECK(mask[y * 16 + 3] == (y < 4 ? 0 : 1));
    }
    SECTION("no nodata: everything valid without reading") {
        const std::string path = dir.file("plain.tif");
        test::write_test_tiff(path, 8, 8, 1, GDT_Byte, GeoReference{}, [](int, int, int) { return 0.0; });
        RasterReader reader(path);
        CHECK(reader.all_valid({1}));
        const std::vector<uint8_t> mask = reader.read_valid_mask({1}, 0, 0, 8, 8);
        CHECK(std::all_of(mask.begin(), mask.end(), [](uint8_t m) { return m == 1; }));
    }
}

TEST_CASE("RasterReader: approximate percentiles", "[io][reader][percentiles]") {
    TempDir dir;
    SECTION("exact on a small ramp (linear interpolation between order statistics)") {
        const std::string path = dir.file("ramp.tif");
        test::write_test_tiff(path, 1000, 1, 1, GDT_Float32, GeoReference{}, [](int, int x, int) { return x; });
        const auto [lo, hi] = RasterReader(path).approximate_percentiles(1, 2, 98);
        CHECK(lo == Approx(0.02 * 999));  // 19.98
        CHECK(hi == Approx(0.98 * 999));  // 979.02
    }
    SECTION("nodata values are excluded") {
        const std::string path = dir.file("ramp_nodata.tif");
        test::write_test_tiff(path, 1000, 1, 1, GDT_UInt16, GeoReference{}, [](int, int x, int) { return x; }, 0.0);
        const auto [lo, hi] = RasterReader(path).approximate_percentiles(1, 2, 98);
        CHECK(lo == Approx(1 + 0.02 * 998));
        CHECK(hi == Approx(1 + 0.98 * 998));
    }
    SECTION("large raster without overviews: sampled from blocks, close to the truth") {
        // 4096 x 1200, 128 px tiles, ramp in x: 5 MP > 4 * 1024^2, so whole blocks are sampled.
        const std::string path = dir.file("big_ramp.tif");
        test::write_test_tiff(path, 4096, 1200, 1, GDT_UInt16, GeoReference{}, [](int, int x, int) { return x; },
                              std::nullopt, 128);
        const auto [lo, hi] = RasterReader(path).approximate_percentiles(1, 2, 98);
        CHECK(lo == Approx(0.02 * 4095).margin(100));
        CHECK(hi == Approx(0.98 * 4095).margin(100));
        const auto [p0, p100] = RasterReader(path).approximate_percentiles(1, 0, 100);
        CHECK(p0 >= 0.0);
        CHECK(p100 <= 4095.0);
        CHECK(p100 - p0 > 0.9 * 4095);  // the strata span the scene
    }
    SECTION("served from the overview, not the full-resolution data") {
        // The overview holds 1s; the base is overwritten with 5s afterwards (GTiff does not refresh
        // overviews on write), so a full-resolution read would give 5.
        const std::string path = dir.file("ovr.tif");
        test::write_test_tiff(path, 2048, 2048, 1, GDT_Byte, GeoReference{}, [](int, int, int) { return 1.0; },
                              std::nullopt, 256);
        {
            GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
            const int level = 2;
            REQUIRE(ds->BuildOverviews("NEAREST", 1, &level, 0, nullptr, nullptr, nullptr, nullptr) == CE_None);
            std::vector<uint8_t> fives(2048 * 2048, 5);
            REQUIRE(ds->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 2048, 2048, fives.data(), 2048, 2048, GDT_Byte, 0,
                                                   0, nullptr) == CE_None);
        }
        RasterReader reader(path);
        CHECK(reader.read_window({1}, 0, 0, 1, 1)[0] == 5.0f);
        const auto [lo, hi] = reader.approximate_percentiles(1, 2, 98, 1024);
        CHECK(lo == 1.0);
        CHECK(hi == 1.0);
    }
    SECTION("a band without valid pixels is an error naming the file and band") {
        const std::string path = dir.file("all_nodata.tif");
        test::write_test_tiff(path, 10, 10, 1, GDT_Byte, GeoReference{}, [](int, int, int) { return 0.0; }, 0.0);
        CHECK_THAT(error_of([&] { RasterReader(path).approximate_percentiles(1, 2, 98); }),
                   Catch::Contains(path) && Catch::Contains("band 1 has no valid pixel"));
    }
}

TEST_CASE("RasterReader: errors name the path and the cause", "[io][reader][errors]") {
    TempDir dir;
    const std::string missing = dir.file("no_such_scene.tif");
    CHECK(error_of([&] { RasterReader r(missing); }) == "cannot open raster '" + missing + "': file does not exist");

    const std::string text = dir.file("notes.txt");
    std::ofstream(text) << "this is not an image\n";
    CHECK_THAT(error_of([&] { RasterReader r(text); }),
               Catch::StartsWith("'" + text + "' is not a raster GDAL can read"));

    CHECK_THAT(error_of([&] { RasterReader r(dir.path()); }), Catch::Contains("it is a directory"));
}

TEST_CASE("load_rgb01: gray, RGB, RGBA, UInt16, and the inputs it refuses", "[io][reader][rgb]") {
    TempDir dir;
    SECTION("gray Byte PNG is replicated to three channels, /255") {
        const std::string path = dir.file("gray.png");
        std::vector<uint8_t> px(6 * 4);
        for (int i = 0; i < 24; ++i) px[i] = static_cast<uint8_t>(i * 10);
        write_png(path, 6, 4, 1, px.data());
        const RgbImage img = load_rgb01(path);
        REQUIRE(img.width == 6);
        REQUIRE(img.height == 4);
        for (int c = 0; c < 3; ++c) {
            for (int i = 0; i < 24; ++i) CHECK(img.planar[c * 24 + i] == Approx(i * 10 / 255.0));
        }
        CHECK_FALSE(img.georeference.has_transform);
    }
    SECTION("palette PNG is expanded through its colour table") {
        const std::string path = dir.file("palette.png");
        GDALDatasetUniquePtr mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", 3, 1, 1, GDT_Byte, nullptr));
        GDALColorTable table;
        const GDALColorEntry black{0, 0, 0, 255}, orange{255, 102, 0, 255};
        table.SetColorEntry(0, &black);
        table.SetColorEntry(1, &orange);
        mem->GetRasterBand(1)->SetColorTable(&table);
        uint8_t idx[3] = {1, 0, 1};
        REQUIRE(mem->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, 3, 1, idx, 3, 1, GDT_Byte, 0, 0, nullptr) == CE_None);
        GDALDatasetUniquePtr png(GetGDALDriverManager()->GetDriverByName("PNG")->CreateCopy(path.c_str(), mem.get(),
                                                                                           FALSE, nullptr, nullptr, nullptr));
        png.reset();
        const RgbImage img = load_rgb01(path);
        const std::vector<float> expected{1.0f, 0.0f, 1.0f, 0.4f, 0.0f, 0.4f, 0.0f, 0.0f, 0.0f};
        REQUIRE(img.planar.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) CHECK(img.planar[i] == Approx(expected[i]));
    }
    SECTION("RGBA PNG: alpha dropped, channels kept in order") {
        const std::string path = dir.file("rgba.png");
        std::vector<uint8_t> px(5 * 3 * 4);
        for (int i = 0; i < 15; ++i) {
            px[i * 4 + 0] = 255;
            px[i * 4 + 1] = 51;
            px[i * 4 + 2] = 0;
            px[i * 4 + 3] = static_cast<uint8_t>(i);
        }
        write_png(path, 5, 3, 4, px.data());
        const RgbImage img = load_rgb01(path);
        CHECK(img.planar[0] == 1.0f);
        CHECK(img.planar[15 + 7] == Approx(0.2));
        CHECK(img.planar[30 + 14] == 0.0f);
        CHECK_THAT(img.source_description, Catch::Contains("alpha dropped"));
    }
    SECTION("UInt16 GeoTIFF: /65535, georeference kept") {
        const std::string path = dir.file("u16.tif");
        test::write_test_tiff(path, 4, 4, 3, GDT_UInt16, test::utm_scene_geo(),
                              [](int b, int, int) { return b == 1 ? 65535.0 : (b == 2 ? 13107.0 : 0.0); });
        const RgbImage img = load_rgb01(path);
        CHECK(img.planar[0] == 1.0f);
        CHECK(img.planar[16] == Approx(0.2));
        CHECK(img.planar[32] == 0.0f);
        CHECK(img.georeference.same_as(test::utm_scene_geo()));
    }
    SECTION("two bands are refused with what was expected") {
        const std::string path = dir.file("two.tif");
        test::write_test_tiff(path, 4, 4, 2, GDT_Byte, GeoReference{}, [](int, int, int) { return 1.0; });
        CHECK(error_of([&] { load_rgb01(path); }) ==
              "'" + path + "' has 2 bands: expected an image with 1 (gray), 3 (RGB) or 4 (RGBA) bands; "
                           "select 3 bands of a multispectral scene with a band list instead");
    }
    SECTION("four bands without alpha (multispectral) are refused") {
        const std::string path = dir.file("four.tif");
        test::write_test_tiff(path, 4, 4, 4, GDT_UInt16, GeoReference{}, [](int, int, int) { return 1.0; });
        CHECK_THAT(error_of([&] { load_rgb01(path); }), Catch::Contains("4 bands (the 4th is not an alpha band)"));
    }
    SECTION("Float32 outside [0,1] is refused") {
        const std::string path = dir.file("float.tif");
        test::write_test_tiff(path, 4, 4, 1, GDT_Float32, GeoReference{}, [](int, int x, int) { return x * 0.5; });
        CHECK_THAT(error_of([&] { load_rgb01(path); }), Catch::Contains(path) && Catch::Contains("expected values in [0,1]"));
    }
}

TEST_CASE("write_png: RGB round trip through a temporary name", "[io][png]") {
    TempDir dir;
    const std::string path = dir.file("lovi.png");
    std::vector<uint8_t> rgb(7 * 5 * 3);
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 37) % 256);
    write_png(path, 7, 5, 3, rgb.data());
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    RasterReader reader(path);
    CHECK(reader.info().driver == "PNG");
    REQUIRE(reader.info().band_count() == 3);
    const std::vector<float> planar = reader.read_window({1, 2, 3}, 0, 0, 7, 5);
    for (int c = 0; c < 3; ++c) {
        for (int p = 0; p < 35; ++p) CHECK(planar[c * 35 + p] == rgb[p * 3 + c]);
    }
    CHECK_THAT(error_of([&] { write_png(dir.file("missing/x.png"), 7, 5, 3, rgb.data()); }),
               Catch::Contains("directory '" + dir.file("missing") + "' does not exist"));
    CHECK_THROWS_AS(write_png(dir.file("bad.png"), 7, 5, 5, rgb.data()), IoError);
}

TEST_CASE("RasterReader: bytes, pixel-interleaved, clamped as GDAL converts", "[io][reader][bytes]") {
    TempDir dir;
    const std::string path = dir.file("wide.tif");
    // Band b of pixel (x, y) = (b - 2) * 150 + 10 * x + y: band 1 goes negative, band 3 above 255.
    const auto value = [](int b, int x, int y) { return (b - 2) * 150.0 + 10 * x + y; };
    test::write_test_tiff(path, 12, 6, 3, GDT_Int16, GeoReference{}, value);
    RasterReader reader(path);
    const int x0 = 2, y0 = 1, w = 9, h = 4;
    std::vector<uint8_t> bytes(3u * w * h);
    reader.read_window_bytes_into({3, 1, 2}, x0, y0, w, h, bytes.data());
    const int order[3] = {3, 1, 2};
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            for (int c = 0; c < 3; ++c) {
                const double v = std::clamp(value(order[c], x0 + x, y0 + y), 0.0, 255.0);
                CHECK(int(bytes[(static_cast<std::size_t>(y) * w + x) * 3 + c]) == int(v));
            }
        }
    }
    reader.release_cached_blocks();  // the reader stays usable
    uint8_t one = 0;
    reader.read_window_bytes_into({2}, 11, 5, 1, 1, &one);
    CHECK(int(one) == 115);
    CHECK_THAT(error_of([&] { reader.read_window_bytes_into({1}, 10, 0, 3, 1, bytes.data()); }),
               Catch::Contains(path) && Catch::Contains("outside the raster (12x6)"));
}

TEST_CASE("write_png: zlib level and streaming from a dataset", "[io][png]") {
    TempDir dir;
    std::vector<uint8_t> rgb(64 * 48 * 3);
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
    write_png(dir.file("default.png"), 64, 48, 3, rgb.data());
    write_png(dir.file("six.png"), 64, 48, 3, rgb.data(), 6);
    write_png(dir.file("one.png"), 64, 48, 3, rgb.data(), 1);
    const auto size = [](const std::string& p) { return std::filesystem::file_size(p); };
    // GDAL's default level is 6: the same bytes; level 1 compresses this noise less.
    CHECK(size(dir.file("default.png")) == size(dir.file("six.png")));
    CHECK(size(dir.file("one.png")) > size(dir.file("six.png")));
    CHECK_THAT(error_of([&] { write_png(dir.file("ten.png"), 64, 48, 3, rgb.data(), 10); }),
               Catch::Contains("zlib level must be 1..9"));

    RasterReader source(dir.file("one.png"));
    GDALDatasetUniquePtr dataset(GDALDataset::Open(dir.file("one.png").c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    REQUIRE(dataset);
    write_png_from(dir.file("copy.png"), *dataset, 9);
    CHECK_FALSE(std::filesystem::exists(dir.file("copy.png.partial")));
    RasterReader copy(dir.file("copy.png"));
    CHECK(copy.read_window({1, 2, 3}, 0, 0, 64, 48) == source.read_window({1, 2, 3}, 0, 0, 64, 48));
}

TEST_CASE("write_text_file and create_parent_directory", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("a/b/notes.txt");
    CHECK_THAT(error_of([&] { write_text_file(path, "x"); }), Catch::Contains("does not exist"));
    CHECK_FALSE(std::filesystem::exists(dir.file("a")));
    create_parent_directory(path);
    CHECK(std::filesystem::is_directory(dir.file("a/b")));
    const std::string text("line 1\nbytes \0\x01\xff\n", 17);
    write_text_file(path, text);
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    std::ifstream in(path, std::ios::binary);
    const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(back == text);
    std::filesystem::create_directories(dir.file("file_parent"));
    { std::ofstream(dir.file("file_parent/plain")) << "x"; }
    CHECK_THAT(error_of([&] { create_parent_directory(dir.file("file_parent/plain/child.txt")); }),
               Catch::Contains("cannot create the directory '" + dir.file("file_parent/plain") + "'"));
}
