#pragma once
// Helpers shared by the io raster/GeoTIFF/HDF5 tests: a temporary directory, and small GeoTIFFs
// written with plain GDAL calls (independent of the writers under test).
#include "io/GdalSupport.hpp"
#include "io/GeoReference.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>

namespace satsal::test {

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("satsal-io-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

/// UTM 33N, 0.15 m pixels, origin (500000, 5000000): what the tests call "the scene".
inline GeoReference utm_scene_geo() {
    return GeoReference::from_epsg(32633, {500000.0, 0.15, 0.0, 5000000.0, 0.0, -0.15});
}

/// Writes a GeoTIFF with GDAL directly: value(band, x, y) from `value`, optional nodata.
inline void write_test_tiff(const std::string& path, int width, int height, int bands, GDALDataType type,
                            const GeoReference& geo, const std::function<double(int, int, int)>& value,
                            std::optional<double> nodata = std::nullopt, int block = 0,
                            GDALColorInterp last_band_interp = GCI_Undefined) {
    ensure_gdal_registered();
    CPLStringList options;
    if (block > 0) {
        options.SetNameValue("TILED", "YES");
        options.SetNameValue("BLOCKXSIZE", std::to_string(block).c_str());
        options.SetNameValue("BLOCKYSIZE", std::to_string(block).c_str());
    }
    if (last_band_interp == GCI_AlphaBand) options.SetNameValue("ALPHA", "YES");
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), width, height, bands, type, options.List()));
    if (!ds) throw std::runtime_error("test setup: cannot create " + path);
    if (geo.has_transform) {
        double t[6];
        std::copy(geo.transform.begin(), geo.transform.end(), t);
        ds->SetGeoTransform(t);
    }
    if (geo.has_crs()) {
        OGRSpatialReference srs;
        srs.importFromWkt(geo.crs_wkt.c_str());
        ds->SetSpatialRef(&srs);
    }
    std::vector<double> row(static_cast<std::size_t>(width));
    for (int b = 1; b <= bands; ++b) {
        GDALRasterBand* band = ds->GetRasterBand(b);
        if (nodata) band->SetNoDataValue(*nodata);
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x) row[static_cast<std::size_t>(x)] = value(b, x, y);
            if (band->RasterIO(GF_Write, 0, y, width, 1, row.data(), width, 1, GDT_Float64, 0, 0, nullptr) != CE_None) {
                throw std::runtime_error("test setup: cannot write " + path);
            }
        }
    }
}

/// Opens a raster with GDAL directly (read-only) for checks.
inline GDALDatasetUniquePtr open_raster(const std::string& path) {
    ensure_gdal_registered();
    return GDALDatasetUniquePtr(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
}

}  // namespace satsal::test
