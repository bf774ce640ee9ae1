// Hdf5Writer: the plain layout scripts rely on, streamed windows, attributes, and netCDF-4/CF
// georeferencing checked through GDAL's netCDF driver against the GeoTIFF writer's output.
#include "io/GeoTiffWriter.hpp"
#include "io/Hdf5Writer.hpp"
#include "io/IoError.hpp"
#include "test_raster_support.hpp"

#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cmath>
#include <filesystem>

using namespace satsal;
using satsal::test::TempDir;

namespace {

constexpr int W = 96;
constexpr int H = 64;
const std::vector<int> kStrides = {2, 4, 8};

float combined_value(int x, int y) { return static_cast<float>(y * 1000 + x) / 100000.0f; }
float layer_value(int k, int x, int y) { return static_cast<float>(k * 100000 + y * 1000 + x); }

// Writes the satsal layout the way a whole-scene run does: combined and lovi streamed in
// windows, layers whole.
void write_layout(const std::string& path, const GeoReference& geo) {
    Hdf5Writer writer(path);
    writer.define_grid("", W, H, geo);
    writer.create_float_map("combined", "");
    writer.create_byte_image("lovi", "", 3);
    for (int y0 = 0; y0 < H; y0 += 40) {  // 40-row windows: not aligned with anything
        const int h = std::min(40, H - y0);
        for (int x0 = 0; x0 < W; x0 += 50) {
            const int w = std::min(50, W - x0);
            std::vector<float> win(static_cast<std::size_t>(w * h));
            std::vector<uint8_t> rgb(static_cast<std::size_t>(w * h * 3));
            for (int y = 0; y < h; ++y) {
                for (int x = 0; x < w; ++x) {
                    win[y * w + x] = combined_value(x0 + x, y0 + y);
                    for (int c = 0; c < 3; ++c) rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>((x0 + x + c * 50) % 256);
                }
            }
            writer.write_window("combined", x0, y0, w, h, win.data());
            writer.write_window("/lovi", x0, y0, w, h, rgb.data());
        }
    }
    for (std::size_t i = 0; i < kStrides.size(); ++i) {
        const int s = kStrides[i];
        const int k = static_cast<int>(i) + 1;
        const std::string grid = "L" + std::to_string(k);
        writer.define_grid(grid, W / s, H / s, geo.scaled(s));
        Map raw(W / s, H / s);
        for (int y = 0; y < raw.height; ++y)
            for (int x = 0; x < raw.width; ++x) raw.at(x, y) = layer_value(k, x, y);
        writer.write_map("/layers/" + grid, grid, raw);
        for (float& v : raw.values) v = v / 1e6f;
        writer.write_map("/layers_normalized/" + grid, grid, raw);
    }
    writer.set_attribute("/", "statistic", std::string("smoe"));
    writer.set_attribute("/", "normalization", std::string("gauss"));
    writer.set_attribute("/", "taps", std::string("relu,layer1,layer2"));
    writer.set_attribute("/", "weights", std::vector<double>{1.0, 2.0, 3.0});
    writer.set_attribute("/", "strides", std::vector<int64_t>{2, 4, 8});
    writer.set_attribute("/", "model_sha256", std::string(64, 'a'));
    writer.set_attribute("/", "satsal_version", std::string("0.1.0"));
    writer.set_attribute("/", "input", std::string("scene.tif"));
    writer.set_attribute("/combined", "long_name", std::string("combined SMOE saliency"));
    writer.finish();
}

std::string read_string_attribute(hid_t file, const char* object, const char* name) {
    hid_t obj = H5Oopen(file, object, H5P_DEFAULT);
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = H5Aget_type(attr);
    std::string out;
    if (H5Tis_variable_str(type) > 0) {
        char* text = nullptr;
        H5Aread(attr, type, &text);  // the file type: HDF5 does not convert UTF-8 to ASCII
        out = text != nullptr ? text : "";
        H5free_memory(text);
    } else {
        std::string buf(H5Tget_size(type), '\0');
        H5Aread(attr, type, buf.data());
        out = buf.c_str();
    }
    H5Tclose(type);
    H5Aclose(attr);
    H5Oclose(obj);
    return out;
}

std::vector<int64_t> dims_of(hid_t file, const char* path) {
    hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> d(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, d.data(), nullptr);
    H5Sclose(space);
    H5Dclose(ds);
    return std::vector<int64_t>(d.begin(), d.end());
}

void check_transform_close(const GeoReference& got, const GeoReference& want) {
    const double pixel = std::fabs(want.transform[1]);
    for (int i = 0; i < 6; ++i) {
        INFO("transform[" << i << "]");
        CHECK(got.transform[i] == Approx(want.transform[i]).margin(1e-9 * pixel));
    }
}

}  // namespace

TEST_CASE("Hdf5Writer: plain layout, values and attributes as h5py sees them", "[io][hdf5]") {
    TempDir dir;
    const std::string path = dir.file("saliency.h5");
    write_layout(path, test::utm_scene_geo());
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    CHECK_FALSE(std::filesystem::exists(path + ".partial.cf.nc"));

    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    CHECK(dims_of(file, "/combined") == std::vector<int64_t>{H, W});
    CHECK(dims_of(file, "/lovi") == std::vector<int64_t>{3, H, W});  // band-first
    CHECK(dims_of(file, "/layers/L1") == std::vector<int64_t>{H / 2, W / 2});
    CHECK(dims_of(file, "/layers/L3") == std::vector<int64_t>{H / 8, W / 8});
    CHECK(dims_of(file, "/layers_normalized/L2") == std::vector<int64_t>{H / 4, W / 4});

    // Whole /combined back, every value.
    std::vector<float> combined(static_cast<std::size_t>(W * H));
    hid_t ds = H5Dopen2(file, "/combined", H5P_DEFAULT);
    REQUIRE(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, combined.data()) >= 0);
    H5Dclose(ds);
    bool equal = true;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) equal = equal && combined[y * W + x] == combined_value(x, y);
    CHECK(equal);

    std::vector<uint8_t> lovi(static_cast<std::size_t>(W * H * 3));
    ds = H5Dopen2(file, "/lovi", H5P_DEFAULT);
    REQUIRE(H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, lovi.data()) >= 0);
    H5Dclose(ds);
    CHECK(lovi[(2 * H + 10) * W + 70] == (70 + 100) % 256);  // band 3, row 10, column 70
    CHECK(lovi[(0 * H + 63) * W + 95] == 95);

    CHECK(read_string_attribute(file, "/", "statistic") == "smoe");
    CHECK(read_string_attribute(file, "/", "taps") == "relu,layer1,layer2");
    CHECK(read_string_attribute(file, "/", "input") == "scene.tif");
    CHECK(read_string_attribute(file, "/combined", "grid_mapping") == "crs");
    CHECK(read_string_attribute(file, "/layers/L2", "grid_mapping") == "crs_L2");
    hid_t attr = H5Aopen_by_name(file, "/", "strides", H5P_DEFAULT, H5P_DEFAULT);
    std::vector<int64_t> strides(3);
    H5Aread(attr, H5T_NATIVE_INT64, strides.data());
    H5Aclose(attr);
    CHECK(strides == std::vector<int64_t>{2, 4, 8});
    attr = H5Aopen_by_name(file, "/", "weights", H5P_DEFAULT, H5P_DEFAULT);
    std::vector<double> weights(3);
    H5Aread(attr, H5T_NATIVE_DOUBLE, weights.data());
    H5Aclose(attr);
    CHECK(weights == std::vector<double>{1.0, 2.0, 3.0});
    H5Fclose(file);
}

TEST_CASE("Hdf5Writer: GDAL's netCDF driver sees the GeoTIFF's CRS and geotransform, layers scaled by stride",
          "[io][hdf5][netcdf]") {
    TempDir dir;
    const GeoReference geo = test::utm_scene_geo().window(320, 640);
    const std::string h5 = dir.file("saliency.h5");
    write_layout(h5, geo);

    const std::string tif = dir.file("saliency.tif");
    GeoTiffWriter tiff(tif, W, H, 1, SampleType::Float32, geo);
    std::vector<float> zeros(static_cast<std::size_t>(W * H), 0.0f);
    tiff.write_window(1, 0, 0, W, H, zeros.data());
    tiff.finish();
    auto tif_ds = test::open_raster(tif);
    const GeoReference tif_geo = GeoReference::from_dataset(*tif_ds);

    auto combined = test::open_raster("NETCDF:\"" + h5 + "\":combined");
    REQUIRE(combined);
    CHECK(combined->GetRasterXSize() == W);
    CHECK(combined->GetRasterYSize() == H);
    const GeoReference nc_geo = GeoReference::from_dataset(*combined);
    REQUIRE(nc_geo.has_transform);
    CHECK(same_crs(nc_geo.crs_wkt, tif_geo.crs_wkt));
    check_transform_close(nc_geo, tif_geo);
    // Row 0 is the top row (north-up), as in the GeoTIFF.
    float v = 0;
    REQUIRE(combined->GetRasterBand(1)->RasterIO(GF_Read, 7, 0, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr) == CE_None);
    CHECK(v == combined_value(7, 0));
    REQUIRE(combined->GetRasterBand(1)->RasterIO(GF_Read, 95, 63, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr) == CE_None);
    CHECK(v == combined_value(95, 63));
    const char* statistic = combined->GetMetadataItem("NC_GLOBAL#statistic");
    REQUIRE(statistic != nullptr);
    CHECK(std::string(statistic) == "smoe");

    for (std::size_t i = 0; i < kStrides.size(); ++i) {
        const int k = static_cast<int>(i) + 1;
        for (const std::string group : {"/layers/L", "/layers_normalized/L"}) {
            const std::string name = "NETCDF:\"" + h5 + "\":" + group + std::to_string(k);
            INFO(name);
            auto layer = test::open_raster(name);
            REQUIRE(layer);
            CHECK(layer->GetRasterXSize() == W / kStrides[i]);
            const GeoReference lg = GeoReference::from_dataset(*layer);
            REQUIRE(lg.has_transform);
            CHECK(same_crs(lg.crs_wkt, tif_geo.crs_wkt));
            check_transform_close(lg, tif_geo.scaled(kStrides[i]));
            REQUIRE(layer->GetRasterBand(1)->RasterIO(GF_Read, 2, 1, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr) == CE_None);
            CHECK(v == (group == "/layers/L" ? layer_value(k, 2, 1) : layer_value(k, 2, 1) / 1e6f));
        }
    }
}

TEST_CASE("Hdf5Writer: the plain .h5 path opens georeferenced in GDAL's HDF5 driver (ODIM /where corners)",
          "[io][hdf5][gdal]") {
    // GDAL 3.6 gives a .h5 to its HDF5 driver (the netCDF driver takes .nc names only), which
    // reads no CF: the /where corners are what georeference its subdatasets (at least 100 rows
    // and 30 columns: smaller ones stay in pixels, a GDAL 3.6 rule).
    TempDir dir;
    const GeoReference geo = test::utm_scene_geo().window(320, 640);
    const std::string h5 = dir.file("saliency.h5");
    {
        Hdf5Writer writer(h5);
        writer.define_grid("", 240, 200, geo);
        writer.create_float_map("combined", "");
        writer.create_byte_image("lovi", "", 3);
        std::vector<uint8_t> rgb(240 * 200 * 3);
        for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i % 3 == 1 ? 200 : i % 3);
        writer.write_window("lovi", 0, 0, 240, 200, rgb.data());
        writer.define_grid("L1", 120, 100, geo.scaled(2));
        writer.create_float_map("/layers/L1", "L1");
        writer.define_grid("L2", 60, 50, geo.scaled(4));
        writer.create_float_map("/layers/L2", "L2");
        writer.finish();
    }
    auto root = test::open_raster(h5);
    REQUIRE(root);
    CHECK(std::string(root->GetDriver()->GetDescription()) == "HDF5");
    const CPLStringList subdatasets(CSLDuplicate(root->GetMetadata("SUBDATASETS")));
    CHECK(subdatasets.FetchNameValue("SUBDATASET_1_NAME") == "HDF5:\"" + h5 + "\"://combined");
    OGRSpatialReference utm;
    utm.importFromEPSG(32633);
    auto check_geo = [&](const std::string& name, const GeoReference& want, int bands) {
        INFO(name);
        auto ds = test::open_raster(name);
        REQUIRE(ds);
        CHECK(ds->GetRasterCount() == bands);
        const OGRSpatialReference* srs = ds->GetSpatialRef();
        REQUIRE(srs != nullptr);
        CHECK(srs->IsSame(&utm));
        std::array<double, 6> t{};
        REQUIRE(ds->GetGeoTransform(t.data()) == CE_None);
        for (int i = 0; i < 6; ++i) CHECK(t[i] == Approx(want.transform[i]).margin(1e-6));
        return ds;
    };
    check_geo("HDF5:\"" + h5 + "\"://combined", geo, 1);
    auto lovi = check_geo("HDF5:\"" + h5 + "\"://lovi", geo, 3);  // [3, H, W]: three bands
    uint8_t green = 0;
    REQUIRE(lovi->GetRasterBand(2)->RasterIO(GF_Read, 17, 9, 1, 1, &green, 1, 1, GDT_Byte, 0, 0, nullptr) == CE_None);
    CHECK(green == 200);
    check_geo("HDF5:\"" + h5 + "\"://layers/L1", geo.scaled(2), 1);
    auto small = test::open_raster("HDF5:\"" + h5 + "\"://layers/L2");  // 50 rows: below GDAL's limit
    REQUIRE(small);
    std::array<double, 6> t{};
    CHECK(small->GetGeoTransform(t.data()) != CE_None);
}

TEST_CASE("Hdf5Writer: without georeferencing the plain layout stays, with no crs", "[io][hdf5]") {
    TempDir dir;
    const std::string path = dir.file("plain.h5");
    write_layout(path, GeoReference{});
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    CHECK(H5Lexists(file, "/crs", H5P_DEFAULT) == 0);
    CHECK(H5Lexists(file, "/x", H5P_DEFAULT) == 0);
    CHECK(dims_of(file, "/combined") == std::vector<int64_t>{H, W});
    CHECK(dims_of(file, "/layers/L3") == std::vector<int64_t>{H / 8, W / 8});
    CHECK(H5Aexists_by_name(file, "/combined", "grid_mapping", H5P_DEFAULT) == 0);
    H5Fclose(file);
    GdalErrorCapture quiet;  // GDAL warns that phony dimensions are not X/Y axes: expected here
    auto nc = test::open_raster("NETCDF:\"" + path + "\":combined");
    REQUIRE(nc);
    CHECK_FALSE(GeoReference::from_dataset(*nc).has_transform);
}

TEST_CASE("Hdf5Writer: failures leave no file and name the object and window", "[io][hdf5][atomic]") {
    TempDir dir;
    const std::string path = dir.file("failed.h5");
    {
        Hdf5Writer writer(path);
        writer.define_grid("", 10, 8, test::utm_scene_geo());
        writer.create_float_map("combined", "");
        std::vector<float> data(100, 0.0f);
        CHECK_THROWS_WITH(writer.write_window("combined", 5, 0, 6, 2, data.data()),
                          "HDF5 '" + path + "' object '/combined' window x0=5 y0=0 6x2: outside the dataset (10x8)");
        CHECK_THROWS_WITH(writer.write_window("/layers/L9", 0, 0, 1, 1, data.data()),
                          "HDF5 '" + path + "' object '/layers/L9' was not created");
        CHECK_THROWS_WITH(writer.create_float_map("/layers/L1", "L1"),
                          "HDF5 '" + path + "': grid 'L1' was not defined (define_grid first)");
        CHECK_THROWS_WITH(writer.define_grid("L1", 5, 4, GeoReference::from_epsg(4326, {0, 1, 0, 0, 0, -1})),
                          Catch::Contains("different CRS"));
        CHECK(std::filesystem::exists(path + ".partial"));
    }
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".partial"));
    CHECK(std::filesystem::is_empty(dir.path()));

    // HDF5's own error stack reaches the message.
    std::filesystem::create_directory(dir.file("blocked.h5.partial"));
    CHECK_THROWS_WITH(Hdf5Writer(dir.file("blocked.h5")),
                      Catch::StartsWith("cannot create HDF5 file '" + dir.file("blocked.h5.partial") + "' (HDF5: ") &&
                          Catch::Contains("unable to"));
    CHECK_THROWS_WITH(Hdf5Writer(dir.file("none/x.h5")),
                      "cannot write '" + dir.file("none/x.h5") + "': directory '" + dir.file("none") + "' does not exist");
}
