// Tests for io/SyntheticScene: georeferencing, types, nodata areas, determinism, VRT mode.
#include "io/SyntheticScene.hpp"

#include <catch2/catch.hpp>

#include <cpl_vsi.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace satsal;

namespace {

GDALDatasetUniquePtr open_raster(const std::string& path) {
    GDALAllRegister();
    GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    REQUIRE(dataset);
    return dataset;
}

// Pixel-interleaved window of every band, as unsigned 16-bit values.
std::vector<uint16_t> read_window(GDALDataset& dataset, int x0, int y0, int width, int height) {
    const int bands = dataset.GetRasterCount();
    std::vector<uint16_t> values(static_cast<std::size_t>(width) * height * bands);
    const GSpacing pixel = static_cast<GSpacing>(bands) * 2;
    REQUIRE(dataset.RasterIO(GF_Read, x0, y0, width, height, values.data(), width, height, GDT_UInt16, bands,
                             nullptr, pixel, pixel * width, 2, nullptr) == CE_None);
    return values;
}

uint64_t fnv1a(const std::vector<uint16_t>& values) {
    uint64_t h = 1469598103934665603ull;
    for (uint16_t v : values) {
        h = (h ^ (v & 0xFF)) * 1099511628211ull;
        h = (h ^ (v >> 8)) * 1099511628211ull;
    }
    return h;
}

// The memory file system is process-wide; unique names keep the tests independent.
std::string memory_path(const std::string& name) { return "/vsimem/test_synthetic_scene/" + name; }

}  // namespace

TEST_CASE("a Byte RGB scene is georeferenced in UTM at 0.15 m with a nodata corner", "[synthetic]") {
    SyntheticSceneOptions options;
    options.path = memory_path("new/folder/byte.tif");  // folders are created
    options.width = 1000;
    options.height = 777;
    options.seed = 7;
    options.block_size = 256;
    options.nodata_corner = true;
    const SyntheticSceneReport report = write_synthetic_scene(options);
    CHECK(report.files == std::vector<std::string>{options.path});
    CHECK(report.bytes > 0);
    VSIStatBufL stat{};
    CHECK(VSIStatL((options.path + ".part").c_str(), &stat) != 0);  // no partial file left

    auto dataset = open_raster(options.path);
    CHECK(dataset->GetRasterXSize() == 1000);
    CHECK(dataset->GetRasterYSize() == 777);
    REQUIRE(dataset->GetRasterCount() == 3);
    CHECK(dataset->GetRasterBand(1)->GetRasterDataType() == GDT_Byte);
    int block_x = 0, block_y = 0;
    dataset->GetRasterBand(1)->GetBlockSize(&block_x, &block_y);
    CHECK(block_x == 256);
    CHECK(block_y == 256);
    CHECK(std::string(dataset->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE")) == "ZSTD");

    double transform[6] = {};
    REQUIRE(dataset->GetGeoTransform(transform) == CE_None);
    CHECK(transform[0] == 400000.0);
    CHECK(transform[1] == 0.15);
    CHECK(transform[2] == 0.0);
    CHECK(transform[3] == 5000000.0);
    CHECK(transform[4] == 0.0);
    CHECK(transform[5] == -0.15);
    const OGRSpatialReference* srs = dataset->GetSpatialRef();
    REQUIRE(srs != nullptr);
    CHECK(std::string(srs->GetAuthorityName(nullptr)) == "EPSG");
    CHECK(std::string(srs->GetAuthorityCode(nullptr)) == "32633");

    for (int band = 1; band <= 3; ++band) {
        int has_nodata = 0;
        CHECK(dataset->GetRasterBand(band)->GetNoDataValue(&has_nodata) == 0.0);
        CHECK(has_nodata == 1);
    }
    CHECK(std::string(dataset->GetRasterBand(3)->GetDescription()) == "blue");

    // Nodata exactly in the top-left triangle x/W + y/H < 1/4; valid pixels never hold 0.
    const auto pixels = read_window(*dataset, 0, 0, 1000, 777);
    int64_t nodata_pixels = 0, mismatches = 0;
    for (int y = 0; y < 777; ++y) {
        for (int x = 0; x < 1000; ++x) {
            const double u = x / 1000.0 + y / 777.0;
            const std::size_t i = (static_cast<std::size_t>(y) * 1000 + x) * 3;
            const bool all_zero = pixels[i] == 0 && pixels[i + 1] == 0 && pixels[i + 2] == 0;
            const bool any_zero = pixels[i] == 0 || pixels[i + 1] == 0 || pixels[i + 2] == 0;
            if (std::abs(u - 0.25) < 1e-9) continue;  // on the boundary: floating point cannot tell
            if (u < 0.25) {
                ++nodata_pixels;
                mismatches += all_zero ? 0 : 1;
            } else {
                mismatches += any_zero ? 1 : 0;
            }
        }
    }
    CHECK(mismatches == 0);
    // Area of the triangle: (W/4) * (H/4) / 2 = 250 * 194.25 / 2, about 24281 pixels.
    CHECK(nodata_pixels > 24000);
    CHECK(nodata_pixels < 24600);
    VSIRmdirRecursive("/vsimem/test_synthetic_scene");
}

TEST_CASE("a UInt16 4-band scene with a diagonal nodata swath and another CRS", "[synthetic]") {
    SyntheticSceneOptions options;
    options.path = memory_path("uint16.tif");
    options.width = 640;
    options.height = 480;
    options.bands = 4;
    options.data_type = SceneDataType::UInt16;
    options.epsg = 32612;  // UTM 12N (Utah)
    options.origin_x = 425000.5;
    options.origin_y = 4510000.25;
    options.nodata_swath = true;
    options.nodata_value = 65535;
    options.compression = SceneCompression::Deflate;
    write_synthetic_scene(options);

    auto dataset = open_raster(options.path);
    REQUIRE(dataset->GetRasterCount() == 4);
    CHECK(dataset->GetRasterBand(4)->GetRasterDataType() == GDT_UInt16);
    CHECK(std::string(dataset->GetRasterBand(1)->GetDescription()) == "blue");
    CHECK(std::string(dataset->GetRasterBand(3)->GetDescription()) == "red");
    CHECK(std::string(dataset->GetRasterBand(4)->GetDescription()) == "nir");
    CHECK(std::string(dataset->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE")) == "DEFLATE");
    CHECK(std::string(dataset->GetSpatialRef()->GetAuthorityCode(nullptr)) == "32612");
    double transform[6] = {};
    REQUIRE(dataset->GetGeoTransform(transform) == CE_None);
    CHECK(transform[0] == 425000.5);
    CHECK(transform[3] == 4510000.25);
    CHECK(transform[1] == 0.15);
    int has_nodata = 0;
    CHECK(dataset->GetRasterBand(2)->GetNoDataValue(&has_nodata) == 65535.0);
    CHECK(has_nodata == 1);

    const auto pixels = read_window(*dataset, 0, 0, 640, 480);
    int64_t mismatches = 0, above_byte = 0;
    uint16_t largest_valid = 0;
    for (int y = 0; y < 480; ++y) {
        for (int x = 0; x < 640; ++x) {
            const double d = std::abs(x / 640.0 - y / 480.0);
            if (std::abs(d - 0.05) < 1e-9) continue;
            const std::size_t i = (static_cast<std::size_t>(y) * 640 + x) * 4;
            for (int b = 0; b < 4; ++b) {
                const uint16_t v = pixels[i + b];
                if (d < 0.05) {
                    mismatches += v == 65535 ? 0 : 1;
                } else {
                    mismatches += (v == 65535 || v == 0) ? 1 : 0;
                    largest_valid = std::max(largest_valid, v);
                    above_byte += v > 255 ? 1 : 0;
                }
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(largest_valid <= 4095);    // 12-bit sensor range
    CHECK(above_byte > 100000);      // really uses the 16-bit range
    CHECK(synthetic_scene_is_nodata(options, 320, 240));
    CHECK_FALSE(synthetic_scene_is_nodata(options, 639, 0));
    VSIRmdirRecursive("/vsimem/test_synthetic_scene");
}

TEST_CASE("scenes are deterministic: same seed same pixels, another seed other pixels", "[synthetic]") {
    SyntheticSceneOptions options;
    options.width = 1100;
    options.height = 900;
    options.block_size = 512;
    options.seed = 42;
    options.path = memory_path("first.tif");
    write_synthetic_scene(options);
    options.path = memory_path("second.tif");
    options.block_size = 128;  // another block split must not change a pixel
    write_synthetic_scene(options);
    options.path = memory_path("other_seed.tif");
    options.seed = 43;
    write_synthetic_scene(options);

    auto first = open_raster(memory_path("first.tif"));
    auto second = open_raster(memory_path("second.tif"));
    auto other = open_raster(memory_path("other_seed.tif"));
    const auto window = read_window(*first, 300, 200, 700, 600);
    CHECK(fnv1a(window) == fnv1a(read_window(*second, 300, 200, 700, 600)));
    CHECK(fnv1a(window) != fnv1a(read_window(*other, 300, 200, 700, 600)));
    // GDAL's own checksum agrees band by band.
    for (int band = 1; band <= 3; ++band)
        CHECK(GDALChecksumImage(first->GetRasterBand(band), 0, 0, 1100, 900) ==
              GDALChecksumImage(second->GetRasterBand(band), 0, 0, 1100, 900));

    // The file holds exactly what render_synthetic_window computes for a window across blocks.
    options.seed = 42;
    CHECK(read_window(*first, 480, 490, 100, 60) == render_synthetic_window(options, 480, 490, 100, 60));
    VSIRmdirRecursive("/vsimem/test_synthetic_scene");
}

TEST_CASE("any window renders the same pixels as the block that contains it", "[synthetic]") {
    SyntheticSceneOptions options;
    options.seed = 9;
    options.bands = 4;
    const auto big = render_synthetic_window(options, 0, 0, 512, 512);
    const auto part = render_synthetic_window(options, 100, 200, 300, 250);
    int64_t differences = 0;
    for (int y = 0; y < 250; ++y)
        for (int x = 0; x < 300; ++x)
            for (int b = 0; b < 4; ++b)
                differences += big[((200 + y) * 512 + 100 + x) * 4 + b] != part[(y * 300 + x) * 4 + b];
    CHECK(differences == 0);
}

TEST_CASE("the scene has structure: roads, vegetation with high NIR, many distinct colours", "[synthetic]") {
    SyntheticSceneOptions options;
    options.seed = 3;
    options.bands = 4;
    const int size = 1920;  // 4 x 4 town cells
    const auto pixels = render_synthetic_window(options, 0, 0, size, size);
    int64_t vegetation = 0, dark = 0, bright = 0;
    for (std::size_t i = 0; i < pixels.size(); i += 4) {
        const int red = pixels[i + 2], nir = pixels[i + 3];  // 4-band order: blue, green, red, nir
        vegetation += nir > 1.5 * red;   // NDVI above 0.2
        dark += red < 60;
        bright += red > 200;
    }
    const double total = static_cast<double>(size) * size;
    CHECK(vegetation / total > 0.05);
    CHECK(vegetation / total < 0.80);
    CHECK(dark / total > 0.01);   // shadows, black cars, dark roofs
    CHECK(bright / total > 0.001);  // paint, white cars
    // Road pixels along the top edge of every cell are asphalt-gray (R ~ G ~ B).
    const std::size_t road = (static_cast<std::size_t>(30) * size + 250) * 4;
    CHECK(std::abs(int(pixels[road]) - int(pixels[road + 2])) < 20);
}

TEST_CASE("4-band scenes hold blue, green, red, nir: the same colours as the RGB scene, reordered",
          "[synthetic]") {
    SyntheticSceneOptions rgb;
    rgb.seed = 11;
    SyntheticSceneOptions bgrn = rgb;
    bgrn.bands = 4;
    const auto three = render_synthetic_window(rgb, 1000, 2000, 200, 150);
    const auto four = render_synthetic_window(bgrn, 1000, 2000, 200, 150);
    int64_t differences = 0;
    for (std::size_t p = 0; p < 200 * 150; ++p) {
        differences += three[p * 3 + 0] != four[p * 4 + 2];  // red
        differences += three[p * 3 + 1] != four[p * 4 + 1];  // green
        differences += three[p * 3 + 2] != four[p * 4 + 0];  // blue
    }
    CHECK(differences == 0);
}

TEST_CASE("the VRT mode repeats one rendered tile over the scene", "[synthetic]") {
    SyntheticSceneOptions options;
    options.path = memory_path("mosaic.vrt");
    options.width = 1000;
    options.height = 700;
    options.vrt = true;
    options.vrt_tile_size = 256;
    options.seed = 5;
    const SyntheticSceneReport report = write_synthetic_scene(options);
    REQUIRE(report.files.size() == 2);
    CHECK(report.files[0] == memory_path("mosaic_tile.tif"));
    CHECK(report.files[1] == options.path);

    auto mosaic = open_raster(options.path);
    CHECK(mosaic->GetRasterXSize() == 1000);
    CHECK(mosaic->GetRasterYSize() == 700);
    CHECK(std::string(mosaic->GetSpatialRef()->GetAuthorityCode(nullptr)) == "32633");
    double transform[6] = {};
    REQUIRE(mosaic->GetGeoTransform(transform) == CE_None);
    CHECK(transform[1] == 0.15);
    CHECK(transform[5] == -0.15);
    const auto tile = render_synthetic_window(options, 0, 0, 256, 256);
    const auto window = read_window(*mosaic, 768, 512, 232, 188);  // the last, partial tile
    int64_t differences = 0;
    for (int y = 0; y < 188; ++y)
        for (int x = 0; x < 232; ++x)
            for (int b = 0; b < 3; ++b) differences += window[(y * 232 + x) * 3 + b] != tile[(y * 256 + x) * 3 + b];
    CHECK(differences == 0);
    VSIRmdirRecursive("/vsimem/test_synthetic_scene");
}

TEST_CASE("bad options are rejected with a message naming them", "[synthetic]") {
    SyntheticSceneOptions options;
    options.path = memory_path("bad.tif");
    const auto message = [](const SyntheticSceneOptions& o) -> std::string {
        try {
            write_synthetic_scene(o);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "(no error)";
    };
    SyntheticSceneOptions bands = options;
    bands.bands = 5;
    CHECK(message(bands) == "make-scene: bands must be 3 (RGB) or 4 (RGB + NIR), got 5");
    SyntheticSceneOptions geographic = options;
    geographic.epsg = 4326;
    CHECK(message(geographic) ==
          "make-scene: EPSG:4326 is not a projected CRS; the pixel size is in metres (use UTM, e.g. 32633)");
    SyntheticSceneOptions vrt = options;
    vrt.vrt = true;
    vrt.nodata_corner = true;
    CHECK(message(vrt) == "make-scene: nodata areas are not available with --vrt");
    SyntheticSceneOptions nodata = options;
    nodata.nodata_value = 300;
    CHECK(message(nodata) == "make-scene: nodata value must be an integer in 0..255");
    SyntheticSceneOptions block = options;
    block.block_size = 100;
    CHECK(message(block) == "make-scene: block size must be a multiple of 16 (GeoTIFF tiles), got 100");
    CHECK(parse_scene_data_type("UInt16") == SceneDataType::UInt16);
    CHECK_THROWS_WITH(parse_scene_data_type("float32"), "make-scene: unknown data type 'float32'; expected byte or uint16");
}
