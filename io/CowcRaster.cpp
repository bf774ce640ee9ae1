#include "io/CowcRaster.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <cpl_conv.h>
#include <cpl_error.h>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "io/CowcRasterDetail.hpp"

namespace satsal::cowc {

RgbImage::RgbImage(int w, int h, uint8_t r, uint8_t g, uint8_t b)
    : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3) {
    for (std::size_t i = 0; i < pixels.size(); i += 3) {
        pixels[i] = r;
        pixels[i + 1] = g;
        pixels[i + 2] = b;
    }
}

void ensure_gdal_registered() {
    static std::once_flag once;
    std::call_once(once, [] { GDALAllRegister(); });
}

namespace detail {

QuietGdalErrors::QuietGdalErrors() {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
}
QuietGdalErrors::~QuietGdalErrors() { CPLPopErrorHandler(); }
std::string QuietGdalErrors::message() const {
    const char* msg = CPLGetLastErrorMsg();
    return (msg && *msg) ? std::string(msg) : std::string("no message from GDAL");
}
bool QuietGdalErrors::failed() const { return CPLGetLastErrorType() >= CE_Failure; }

GDALDatasetUniquePtr open_raster(const std::string& path, const std::string& what) {
    ensure_gdal_registered();
    QuietGdalErrors quiet;
    GDALDatasetUniquePtr ds(GDALDataset::FromHandle(
        GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
    if (!ds) throw std::runtime_error("cannot open " + what + " '" + path + "': " + quiet.message());
    return ds;
}

void make_parent_folder(const std::string& path, const std::string& what) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw std::runtime_error("cannot create the folder of " + what + " '" + path + "': " + ec.message());
}

void copy_with_driver(GDALDataset& source, const char* driver_name, const std::string& path,
                      const std::string& what, char** options) {
    ensure_gdal_registered();
    make_parent_folder(path, what);
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
    if (!driver) throw std::runtime_error(std::string("GDAL has no ") + driver_name + " driver (needed for " + what + ")");
    // Written under a temporary name and renamed when complete: a full disk or a kill never
    // leaves a truncated file at the final name.
    const std::string temp = path + ".partial";
    struct TempRemover {
        const std::string& temp;
        bool keep = false;
        ~TempRemover() {
            if (!keep) VSIUnlink(temp.c_str());
        }
    } remover{temp};
    QuietGdalErrors quiet;
    GDALDatasetUniquePtr out(driver->CreateCopy(temp.c_str(), &source, FALSE, options, nullptr, nullptr));
    if (!out) throw std::runtime_error("cannot write " + what + " '" + path + "': " + quiet.message());
    out->FlushCache(false);
    if (quiet.failed()) throw std::runtime_error("error while writing " + what + " '" + path + "': " + quiet.message());
    out.reset();
    if (quiet.failed()) throw std::runtime_error("error while closing " + what + " '" + path + "': " + quiet.message());
    VSIUnlink((temp + ".aux.xml").c_str());
    if (VSIRename(temp.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("cannot move the finished " + what + " into place at '" + path + "': " +
                                 std::strerror(errno));
    }
    remover.keep = true;
}

GDALDatasetUniquePtr memory_rgb(const RgbImage& image) {
    ensure_gdal_registered();
    GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
    if (!mem) throw std::runtime_error("GDAL has no MEM driver");
    GDALDatasetUniquePtr ds(mem->Create("", image.width, image.height, 3, GDT_Byte, nullptr));
    if (!ds) throw std::runtime_error("cannot create an in-memory " + std::to_string(image.width) + " x " +
                                     std::to_string(image.height) + " RGB raster");
    int bands[3] = {1, 2, 3};
    if (ds->RasterIO(GF_Write, 0, 0, image.width, image.height, const_cast<uint8_t*>(image.pixels.data()),
                     image.width, image.height, GDT_Byte, 3, bands, 3, static_cast<GSpacing>(image.width) * 3, 1,
                     nullptr) != CE_None)
        throw std::runtime_error("cannot fill an in-memory RGB raster");
    return ds;
}

ColourBands colour_bands(GDALDataset& ds, const std::string& path, const std::string& what) {
    ColourBands cb;
    for (int b = 1; b <= ds.GetRasterCount(); ++b) {
        if (ds.GetRasterBand(b)->GetColorInterpretation() == GCI_AlphaBand) cb.alpha = b;
        else cb.colour.push_back(b);
    }
    // COWC imagery is 8-bit; reading another type as Byte would clamp it (a 16-bit scene became 255
    // everywhere), so it is refused with the conversion that makes it usable.
    for (int b = 1; b <= ds.GetRasterCount(); ++b) {
        const GDALDataType type = ds.GetRasterBand(b)->GetRasterDataType();
        if (type != GDT_Byte) {
            throw std::runtime_error(what + " '" + path + "': band " + std::to_string(b) + " is " +
                                     GDALGetDataTypeName(type) +
                                     "; expected 8-bit (Byte) RGB, RGBA or gray like the COWC PNGs; convert it first, "
                                     "e.g. gdal_translate -ot Byte -scale IN OUT.png");
        }
    }
    if (cb.colour.size() >= 3) cb.colour.resize(3);
    else if (cb.colour.size() == 1) cb.colour.assign(3, cb.colour[0]);
    else
        throw std::runtime_error(what + " '" + path + "': expected RGB, RGBA or gray, found " +
                                 std::to_string(ds.GetRasterCount()) + " bands with " +
                                 std::to_string(cb.colour.size()) + " colour bands");
    return cb;
}

void read_rgb_rows(GDALDataset& ds, const ColourBands& cb, int y0, int rows, uint8_t* dst,
                   const std::string& path, const std::string& what) {
    const int w = ds.GetRasterXSize();
    QuietGdalErrors quiet;
    CPLErr err = CE_None;
    if (cb.colour[0] == cb.colour[1]) {
        // Gray: read once, replicate (a band map naming one band three times is not portable).
        std::vector<uint8_t> gray(static_cast<std::size_t>(w) * rows);
        err = ds.GetRasterBand(cb.colour[0])->RasterIO(GF_Read, 0, y0, w, rows, gray.data(), w, rows, GDT_Byte, 0, 0,
                                                      nullptr);
        for (std::size_t i = 0; i < gray.size(); ++i) dst[i * 3] = dst[i * 3 + 1] = dst[i * 3 + 2] = gray[i];
    } else {
        int bands[3] = {cb.colour[0], cb.colour[1], cb.colour[2]};
        err = ds.RasterIO(GF_Read, 0, y0, w, rows, dst, w, rows, GDT_Byte, 3, bands, 3, static_cast<GSpacing>(w) * 3, 1,
                          nullptr);
    }
    if (err != CE_None)
        throw std::runtime_error("cannot read rows " + std::to_string(y0) + ".." + std::to_string(y0 + rows - 1) +
                                 " of " + what + " '" + path + "': " + quiet.message());
}

}  // namespace detail

void write_png(const std::string& path, const RgbImage& image, int zlevel) {
    if (zlevel < 1 || zlevel > 9)
        throw std::invalid_argument("PNG '" + path + "': zlib level must be 1..9, got " + std::to_string(zlevel));
    auto mem = detail::memory_rgb(image);
    CPLStringList options;
    options.SetNameValue("ZLEVEL", std::to_string(zlevel).c_str());
    detail::copy_with_driver(*mem, "PNG", path, "PNG image", options.List());
}

RgbImage read_rgb(const std::string& path, const std::string& what) {
    auto ds = detail::open_raster(path, what);
    const auto cb = detail::colour_bands(*ds, path, what);
    RgbImage image;
    image.width = ds->GetRasterXSize();
    image.height = ds->GetRasterYSize();
    image.pixels.resize(static_cast<std::size_t>(image.width) * image.height * 3);
    detail::read_rgb_rows(*ds, cb, 0, image.height, image.pixels.data(), path, what);
    return image;
}

void write_geotiff(const std::string& path, const RgbImage& image, const GeoReference& geo) {
    auto mem = detail::memory_rgb(image);
    double transform[6] = {geo.origin_x, geo.pixel_size, 0.0, geo.origin_y, 0.0, -geo.pixel_size};
    mem->SetGeoTransform(transform);
    OGRSpatialReference srs;
    if (srs.importFromEPSG(geo.epsg) != OGRERR_NONE)
        throw std::runtime_error("GeoTIFF '" + path + "': unknown EPSG code " + std::to_string(geo.epsg));
    mem->SetSpatialRef(&srs);
    CPLStringList options;
    options.SetNameValue("TILED", "YES");
    options.SetNameValue("COMPRESS", "DEFLATE");
    options.SetNameValue("PREDICTOR", "2");
    options.SetNameValue("PHOTOMETRIC", "RGB");
    detail::copy_with_driver(*mem, "GTiff", path, "GeoTIFF", options.List());
}

struct SceneRowReader::Handle {
    GDALDatasetUniquePtr ds;
    detail::ColourBands bands;
};

SceneRowReader::SceneRowReader(const std::string& path) : path_(path), handle_(std::make_unique<Handle>()) {
    handle_->ds = detail::open_raster(path, "COWC scene");
    handle_->bands = detail::colour_bands(*handle_->ds, path, "COWC scene");
    width_ = handle_->ds->GetRasterXSize();
    height_ = handle_->ds->GetRasterYSize();
}

SceneRowReader::~SceneRowReader() = default;

void SceneRowReader::read_rows(int y0, int y1, uint8_t* dst) {
    if (y1 <= y0) return;
    detail::read_rgb_rows(*handle_->ds, handle_->bands, y0, y1 - y0, dst, path_, "COWC scene");
    // We keep our own copy of the rows; GDAL's cached blocks would otherwise accumulate over the
    // whole scene (up to GDAL_CACHEMAX).
    handle_->ds->FlushCache(false);
}

void SceneRowReader::ensure_rows(int y0, int y1) {
    y0 = std::clamp(y0, 0, height_);
    y1 = std::clamp(y1, y0, height_);
    const int held_end = first_row_ + held_rows_;
    if (y0 >= first_row_ && y1 <= held_end) return;
    if (y0 < first_row_)
        throw std::logic_error("SceneRowReader on '" + path_ + "': rows requested out of order (row " +
                               std::to_string(y0) + " after row " + std::to_string(first_row_) + ")");
    // Read ahead so that a run of neighbouring requests costs one GDAL call.
    const int read_ahead = 256;
    const int new_end = std::min(height_, std::max(y1, y0 + read_ahead));
    const std::size_t row_bytes = static_cast<std::size_t>(width_) * 3;
    const int keep_from = std::max(y0, first_row_);
    const int kept = std::max(0, held_end - keep_from);
    if (kept > 0)
        std::memmove(buffer_.data(), buffer_.data() + static_cast<std::size_t>(keep_from - first_row_) * row_bytes,
                     static_cast<std::size_t>(kept) * row_bytes);
    buffer_.resize(static_cast<std::size_t>(new_end - y0) * row_bytes);
    const int read_from = y0 + kept;
    read_rows(read_from, new_end, buffer_.data() + static_cast<std::size_t>(kept) * row_bytes);
    first_row_ = y0;
    held_rows_ = new_end - y0;
}

const uint8_t* SceneRowReader::row(int y) const {
    if (y < first_row_ || y >= first_row_ + held_rows_)
        throw std::logic_error("SceneRowReader on '" + path_ + "': row " + std::to_string(y) + " is not held");
    return buffer_.data() + static_cast<std::size_t>(y - first_row_) * width_ * 3;
}

}  // namespace satsal::cowc
