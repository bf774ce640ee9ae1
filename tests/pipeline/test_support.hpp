#pragma once
// Helpers for the pipeline tests: temporary folders, rasters written and read with plain GDAL,
// HDF5 reads with the C API, and an independent implementation (in double) of what a run of the
// footprint fixture must produce: the taps of tests/fixtures/pipeline/footprint_net.pt (see
// tools/make_pipeline_fixtures.py), SMOE Scale, scene normalization, bilinear upsampling with
// half-pixel centres and the equal-weight combination. None of it calls satsal's own code for
// the quantities under test.
#include "io/GdalSupport.hpp"
#include "tests/satsal_command.hpp"

#include <gdal_priv.h>
#include <hdf5.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace satsal::ptest {

namespace fs = std::filesystem;

// ----------------------------------------------------------------------------------------------
// Files

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("satsal-pipeline-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string path() const { return path_.string(); }

private:
    fs::path path_;
};

inline std::string fixture(const std::string& name) { return std::string(SATSAL_FIXTURES_DIR) + "/" + name; }
inline std::string footprint_model() { return fixture("pipeline/footprint_net.pt"); }
inline std::string signed_model() { return fixture("pipeline/signed_net.pt"); }
inline std::string tiny_resnet() { return fixture("tiny_resnet.pt"); }

/// Names of the entries of a folder (files and folders, hidden ones too); empty when it is missing.
inline std::vector<std::string> folder_entries(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

inline std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// ----------------------------------------------------------------------------------------------
// Rasters with plain GDAL

inline std::array<double, 6> utm_transform(double origin_x = 400000.0, double origin_y = 5000000.0,
                                           double pixel = 0.15) {
    return {origin_x, pixel, 0.0, origin_y, 0.0, -pixel};
}

/// A deterministic, textured 8-bit value for band b at (x, y): smooth gradients plus a hash
/// pattern, so that every footprint differs.
inline double texture_value(int b, int64_t x, int64_t y) {
    const uint64_t h = (static_cast<uint64_t>(x) * 73856093u) ^ (static_cast<uint64_t>(y) * 19349663u) ^
                       (static_cast<uint64_t>(b + 1) * 83492791u);
    const double smooth = 60.0 * std::sin(0.031 * static_cast<double>(x) + 1.7 * b) +
                          50.0 * std::cos(0.023 * static_cast<double>(y) - 0.9 * b);
    return std::clamp(std::round(120.0 + smooth + static_cast<double>(h % 61) - 30.0), 1.0, 254.0);
}

/// Writes a Byte/UInt16 GeoTIFF (or, with epsg = 0, no georeferencing) with GDAL directly.
inline void write_tiff(const std::string& path, int width, int height, int bands, GDALDataType type,
                       const std::function<double(int, int64_t, int64_t)>& value, int epsg = 32633,
                       const std::array<double, 6>& transform = utm_transform(),
                       std::optional<double> nodata = std::nullopt) {
    GDALAllRegister();
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDatasetUniquePtr ds(driver->Create(path.c_str(), width, height, bands, type, nullptr));
    if (!ds) throw std::runtime_error("test setup: cannot create " + path);
    if (epsg) {
        std::array<double, 6> t = transform;
        ds->SetGeoTransform(t.data());
        OGRSpatialReference srs;
        srs.importFromEPSG(epsg);
        ds->SetSpatialRef(&srs);
    }
    std::vector<double> row(static_cast<std::size_t>(width));
    for (int b = 0; b < bands; ++b) {
        GDALRasterBand* band = ds->GetRasterBand(b + 1);
        if (nodata) band->SetNoDataValue(*nodata);
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x) row[static_cast<std::size_t>(x)] = value(b, x, y);
            if (band->RasterIO(GF_Write, 0, y, width, 1, row.data(), width, 1, GDT_Float64, 0, 0, nullptr) != CE_None)
                throw std::runtime_error("test setup: write failed " + path);
        }
    }
}

/// A 3-band 8-bit PNG (no georeferencing), written through a MEM dataset.
inline void write_png_rgb(const std::string& path, int width, int height,
                          const std::function<double(int, int64_t, int64_t)>& value) {
    GDALAllRegister();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDatasetUniquePtr ds(mem->Create("", width, height, 3, GDT_Byte, nullptr));
    std::vector<double> row(static_cast<std::size_t>(width));
    for (int b = 0; b < 3; ++b) {
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x) row[static_cast<std::size_t>(x)] = value(b, x, y);
            if (ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, y, width, 1, row.data(), width, 1, GDT_Float64, 0,
                                                   0, nullptr) != CE_None)
                throw std::runtime_error("test setup: MEM write failed for " + path);
        }
    }
    GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
    GDALDatasetUniquePtr out(png->CreateCopy(path.c_str(), ds.get(), FALSE, nullptr, nullptr, nullptr));
    if (!out) throw std::runtime_error("test setup: cannot write " + path);
}

/// A 4-band 8-bit PNG whose 4th band is alpha (RGBA, no georeferencing).
inline void write_png_rgba(const std::string& path, int width, int height,
                           const std::function<double(int, int64_t, int64_t)>& value) {
    GDALAllRegister();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    GDALDatasetUniquePtr ds(mem->Create("", width, height, 4, GDT_Byte, nullptr));
    ds->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
    std::vector<double> row(static_cast<std::size_t>(width));
    for (int b = 0; b < 4; ++b) {
        for (int y = 0; y < height; ++y) {
            for (int x = 0; x < width; ++x) row[static_cast<std::size_t>(x)] = value(b, x, y);
            if (ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, y, width, 1, row.data(), width, 1, GDT_Float64, 0,
                                                   0, nullptr) != CE_None)
                throw std::runtime_error("test setup: MEM write failed for " + path);
        }
    }
    GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
    GDALDatasetUniquePtr out(png->CreateCopy(path.c_str(), ds.get(), FALSE, nullptr, nullptr, nullptr));
    if (!out) throw std::runtime_error("test setup: cannot write " + path);
}

struct Raster {
    int width = 0, height = 0, bands = 0;
    std::vector<double> values;  // planar [bands][height][width]
    bool has_transform = false;
    std::array<double, 6> transform{0, 1, 0, 0, 0, 1};
    std::string wkt;
    std::optional<double> nodata;  // of band 1
    GDALDataType type = GDT_Unknown;
    int overviews = 0;          // of band 1
    int block_width = 0, block_height = 0;
    std::string compression;    // IMAGE_STRUCTURE COMPRESSION ("" when none)
    std::string layout;         // IMAGE_STRUCTURE LAYOUT ("COG" for Cloud Optimized GeoTIFFs)
    double at(int b, int64_t x, int64_t y) const {
        return values[static_cast<std::size_t>((static_cast<int64_t>(b) * height + y) * width + x)];
    }
};

inline Raster read_raster(const std::string& path) {
    GDALAllRegister();
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    if (!ds) throw std::runtime_error("test: cannot open " + path);
    Raster r;
    r.width = ds->GetRasterXSize();
    r.height = ds->GetRasterYSize();
    r.bands = ds->GetRasterCount();
    r.has_transform = ds->GetGeoTransform(r.transform.data()) == CE_None;
    if (const OGRSpatialReference* srs = ds->GetSpatialRef()) {
        char* wkt = nullptr;
        srs->exportToWkt(&wkt);
        r.wkt = wkt ? wkt : "";
        CPLFree(wkt);
    }
    r.type = ds->GetRasterBand(1)->GetRasterDataType();
    r.overviews = ds->GetRasterBand(1)->GetOverviewCount();
    ds->GetRasterBand(1)->GetBlockSize(&r.block_width, &r.block_height);
    if (const char* c = ds->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE")) r.compression = c;
    if (const char* l = ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE")) r.layout = l;
    int has_nodata = 0;
    const double nd = ds->GetRasterBand(1)->GetNoDataValue(&has_nodata);
    if (has_nodata) r.nodata = nd;
    r.values.resize(static_cast<std::size_t>(r.bands) * r.width * r.height);
    for (int b = 0; b < r.bands; ++b) {
        if (ds->GetRasterBand(b + 1)->RasterIO(GF_Read, 0, 0, r.width, r.height,
                                               r.values.data() + static_cast<std::size_t>(b) * r.width * r.height,
                                               r.width, r.height, GDT_Float64, 0, 0, nullptr) != CE_None)
            throw std::runtime_error("test: cannot read " + path);
    }
    return r;
}

inline bool same_crs_wkt(const std::string& a, const std::string& b) {
    if (a.empty() || b.empty()) return a.empty() && b.empty();
    OGRSpatialReference sa, sb;
    sa.importFromWkt(a.c_str());
    sb.importFromWkt(b.c_str());
    return sa.IsSame(&sb) != 0;
}

// ----------------------------------------------------------------------------------------------
// HDF5 reads

struct H5Array {
    std::vector<int64_t> dims;
    std::vector<double> values;
};

inline H5Array read_h5(const std::string& file, const std::string& dataset) {
    H5Array out;
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) throw std::runtime_error("test: cannot open HDF5 " + file);
    hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    if (ds < 0) {
        H5Fclose(f);
        throw std::runtime_error("test: no dataset " + dataset + " in " + file);
    }
    hid_t space = H5Dget_space(ds);
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> d(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space, d.data(), nullptr);
    out.dims.assign(d.begin(), d.end());
    std::size_t n = 1;
    for (hsize_t v : d) n *= static_cast<std::size_t>(v);
    out.values.resize(n);
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data());
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(f);
    return out;
}

inline bool h5_has_attribute(const std::string& file, const std::string& name) {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return false;
    const bool has = H5Aexists_by_name(f, "/", name.c_str(), H5P_DEFAULT) > 0;
    H5Fclose(f);
    return has;
}

inline std::string h5_string_attribute(const std::string& file, const std::string& name) {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t attr = H5Aopen_by_name(f, "/", name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        H5Fclose(f);
        throw std::runtime_error("test: no root attribute " + name + " in " + file);
    }
    hid_t type = H5Aget_type(attr);
    std::string out;
    if (H5Tget_class(type) != H5T_STRING) {
        out = "<not a string>";
    } else if (H5Tis_variable_str(type) > 0) {
        char* text = nullptr;
        H5Aread(attr, type, &text);
        out = text ? text : "";
        H5free_memory(text);
    } else {
        std::string buffer(H5Tget_size(type), '\0');
        H5Aread(attr, type, buffer.data());
        out = buffer.c_str();
    }
    H5Tclose(type);
    H5Aclose(attr);
    H5Fclose(f);
    return out;
}

inline std::vector<double> h5_numeric_attribute(const std::string& file, const std::string& name) {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t attr = H5Aopen_by_name(f, "/", name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        H5Fclose(f);
        throw std::runtime_error("test: no root attribute " + name + " in " + file);
    }
    hid_t space = H5Aget_space(attr);
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<double> values(static_cast<std::size_t>(n));
    H5Aread(attr, H5T_NATIVE_DOUBLE, values.data());
    H5Sclose(space);
    H5Aclose(attr);
    H5Fclose(f);
    return values;
}

// ----------------------------------------------------------------------------------------------
// The independent computation

/// A double grid, row-major.
struct Grid {
    int64_t width = 0, height = 0;
    std::vector<double> values;
    Grid() = default;
    Grid(int64_t w, int64_t h, double fill = 0.0) : width(w), height(h), values(static_cast<std::size_t>(w * h), fill) {}
    double& at(int64_t x, int64_t y) { return values[static_cast<std::size_t>(y * width + x)]; }
    double at(int64_t x, int64_t y) const { return values[static_cast<std::size_t>(y * width + x)]; }
};

/// numpy.pad(mode='reflect') index on an axis of n pixels.
inline int64_t mirror(int64_t i, int64_t n) {
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

/// SMOE Scale (paper Eq. 2) over one column of activations, in double.
inline double smoe_double(const std::vector<double>& column, double eps = 1e-6) {
    double mean = 0, mean_log = 0;
    for (double v : column) {
        mean += v + eps;
        mean_log += std::log2(v + eps);
    }
    mean /= static_cast<double>(column.size());
    mean_log /= static_cast<double>(column.size());
    return mean * (std::log2(mean) - mean_log);
}

/// ImageNet standardization on [0, 1] pixels.
constexpr std::array<double, 3> kMean{0.485, 0.456, 0.406};
constexpr std::array<double, 3> kStd{0.229, 0.224, 0.225};

/// The footprint model's pointwise features of one standardized RGB pixel (9 channels).
inline std::array<double, 9> footprint_features(const std::array<double, 3>& z) {
    std::array<double, 9> f{};
    for (int c = 0; c < 3; ++c) {
        const double v = z[static_cast<std::size_t>(c)];
        f[static_cast<std::size_t>(c)] = std::exp(v);
        f[static_cast<std::size_t>(3 + c)] = std::exp(-v);
        f[static_cast<std::size_t>(6 + c)] = 0.05 * (1.0 + v * v);
    }
    return f;
}

constexpr std::array<int64_t, 5> kFootprintStrides{2, 4, 8, 16, 32};

/// SMOE maps of the footprint model's five taps for the window [x0, x0 + w) x [y0, y0 + h) of a
/// reflect-padded 8-bit RGB scene (bands 1..3 of `scene`, scaled by 1/255), w and h multiples of 32.
/// Returns one grid per tap, (w / s) x (h / s).
inline std::vector<Grid> footprint_smoe(const Raster& scene, int64_t x0, int64_t y0, int64_t w, int64_t h) {
    // Level 0: the features at every window pixel.
    std::vector<std::vector<double>> level(9, std::vector<double>(static_cast<std::size_t>(w * h)));
    for (int64_t y = 0; y < h; ++y) {
        const int64_t sy = mirror(y0 + y, scene.height);
        for (int64_t x = 0; x < w; ++x) {
            const int64_t sx = mirror(x0 + x, scene.width);
            std::array<double, 3> z{};
            for (int c = 0; c < 3; ++c) {
                const double unit = std::clamp(scene.at(c, sx, sy) / 255.0, 0.0, 1.0);
                z[static_cast<std::size_t>(c)] = (unit - kMean[static_cast<std::size_t>(c)]) / kStd[static_cast<std::size_t>(c)];
            }
            const auto f = footprint_features(z);
            for (std::size_t c = 0; c < 9; ++c) level[c][static_cast<std::size_t>(y * w + x)] = f[c];
        }
    }
    std::vector<Grid> out;
    int64_t lw = w, lh = h;
    for (std::size_t k = 0; k < kFootprintStrides.size(); ++k) {
        const int64_t nw = lw / 2, nh = lh / 2;
        for (auto& channel : level) {
            std::vector<double> next(static_cast<std::size_t>(nw * nh));
            for (int64_t y = 0; y < nh; ++y)
                for (int64_t x = 0; x < nw; ++x) {
                    const auto i = [&](int64_t xx, int64_t yy) { return static_cast<std::size_t>(yy * lw + xx); };
                    next[static_cast<std::size_t>(y * nw + x)] =
                        0.25 * (channel[i(2 * x, 2 * y)] + channel[i(2 * x + 1, 2 * y)] +
                                channel[i(2 * x, 2 * y + 1)] + channel[i(2 * x + 1, 2 * y + 1)]);
                }
            channel.swap(next);
        }
        lw = nw;
        lh = nh;
        Grid smoe(lw, lh);
        std::vector<double> column(9);
        for (int64_t p = 0; p < lw * lh; ++p) {
            for (std::size_t c = 0; c < 9; ++c) column[c] = level[c][static_cast<std::size_t>(p)];
            smoe.values[static_cast<std::size_t>(p)] = smoe_double(column);
        }
        out.push_back(std::move(smoe));
    }
    return out;
}

inline int64_t ceil_div_i(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The scene's layer maps as a run stitches them: ceil(W / s) x ceil(H / s) per tap, every layer
/// pixel the footprint statistic of its own stride x stride block (reflected past the edges).
inline std::vector<Grid> scene_layers(const Raster& scene) {
    const int64_t w = ceil_div_i(scene.width, 32) * 32, h = ceil_div_i(scene.height, 32) * 32;
    std::vector<Grid> padded = footprint_smoe(scene, 0, 0, w, h);
    std::vector<Grid> out;
    for (std::size_t k = 0; k < padded.size(); ++k) {
        const int64_t s = kFootprintStrides[k];
        Grid g(ceil_div_i(scene.width, s), ceil_div_i(scene.height, s));
        for (int64_t y = 0; y < g.height; ++y)
            for (int64_t x = 0; x < g.width; ++x) g.at(x, y) = padded[k].at(x, y);
        out.push_back(std::move(g));
    }
    return out;
}

struct MeanStd {
    double mean = 0, std = 0;
};

inline MeanStd mean_std(const Grid& g) {
    double sum = 0;
    int64_t n = 0;
    for (double v : g.values)
        if (std::isfinite(v)) sum += v, ++n;
    const double mean = sum / static_cast<double>(n);
    double ss = 0;
    for (double v : g.values)
        if (std::isfinite(v)) ss += (v - mean) * (v - mean);
    return {mean, std::sqrt(ss / static_cast<double>(n))};
}

/// Normal CDF with the given statistics (the paper's default normalization).
inline Grid gauss_normalized(const Grid& g, const MeanStd& m) {
    Grid out(g.width, g.height);
    for (std::size_t i = 0; i < g.values.size(); ++i)
        out.values[i] = 0.5 * (1.0 + std::erf((g.values[i] - m.mean) / (m.std * std::sqrt(2.0))));
    return out;
}

/// Range normalization with the given extremes: (s - min) / (max - min).
inline Grid range_normalized(const Grid& g) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : g.values) lo = std::min(lo, v), hi = std::max(hi, v);
    Grid out(g.width, g.height);
    for (std::size_t i = 0; i < g.values.size(); ++i) out.values[i] = (g.values[i] - lo) / (hi - lo);
    return out;
}

/// Bilinear sample with half-pixel centres of a layer map at full-resolution pixel (x, y), the
/// layer being scale_x (scale_y) times coarser along x (y): align_corners = false, as
/// torch.nn.functional.interpolate: u = (x + 0.5) / scale - 0.5, clamped at 0, right and bottom
/// neighbours clamped at the edge.
inline double bilinear_at(const Grid& g, double scale_x, double scale_y, int64_t x, int64_t y) {
    auto axis = [](double u, int64_t n, int64_t& i0, int64_t& i1, double& frac) {
        u = std::max(0.0, u);
        i0 = std::min<int64_t>(static_cast<int64_t>(std::floor(u)), n - 1);
        i1 = std::min<int64_t>(i0 + 1, n - 1);
        frac = u - static_cast<double>(i0);
        if (i0 == n - 1) frac = 0.0;
    };
    int64_t x0, x1, y0, y1;
    double fx, fy;
    axis((static_cast<double>(x) + 0.5) / scale_x - 0.5, g.width, x0, x1, fx);
    axis((static_cast<double>(y) + 0.5) / scale_y - 0.5, g.height, y0, y1, fy);
    const double top = g.at(x0, y0) * (1 - fx) + g.at(x1, y0) * fx;
    const double bottom = g.at(x0, y1) * (1 - fx) + g.at(x1, y1) * fx;
    return top * (1 - fy) + bottom * fy;
}

/// The weighted combination (paper Eq. 3) of normalized layers of strides kFootprintStrides at
/// output pixel (x, y) of an output grid `output_scale` times coarser than the scene.
inline double combined_at(const std::vector<Grid>& normalized, int64_t output_scale, int64_t x, int64_t y,
                          const std::vector<double>& weights = {1, 1, 1, 1, 1}) {
    double sum = 0, total = 0;
    for (std::size_t k = 0; k < normalized.size(); ++k) {
        const double scale = static_cast<double>(kFootprintStrides[k]) / static_cast<double>(output_scale);
        sum += weights[k] * bilinear_at(normalized[k], scale, scale, x, y);
        total += weights[k];
    }
    return sum / total;
}

/// Largest |a - b| / (|b| + floor) over the values of an HDF5 [H, W] array against a grid.
struct Comparison {
    double worst = 0;
    int64_t worst_x = -1, worst_y = -1;
    double got = 0, want = 0;
    int64_t nonfinite = 0;
};

inline Comparison compare_relative(const H5Array& got, const Grid& want, double floor) {
    Comparison c;
    for (int64_t y = 0; y < want.height; ++y)
        for (int64_t x = 0; x < want.width; ++x) {
            const double a = got.values[static_cast<std::size_t>(y * want.width + x)];
            const double b = want.at(x, y);
            if (!std::isfinite(a)) {
                ++c.nonfinite;
                continue;
            }
            const double e = std::fabs(a - b) / (std::fabs(b) + floor);
            if (e > c.worst) c = {e, x, y, a, b, c.nonfinite};
        }
    return c;
}

// ----------------------------------------------------------------------------------------------
// The satsal command

using satsal::test::CommandResult;
using satsal::test::quoted;

/// Runs the built satsal binary with `arguments` (already shell-quoted), capturing both streams.
inline CommandResult run_satsal(const std::string& arguments, const TempDir& dir) {
    return satsal::test::run_satsal(arguments, dir.path());
}

}  // namespace satsal::ptest
