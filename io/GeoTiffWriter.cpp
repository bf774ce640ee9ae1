#include "io/GeoTiffWriter.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <cpl_string.h>
#include <ogr_spatialref.h>

#include <algorithm>

namespace satsal {

namespace {

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

std::vector<int> GeoTiffWriter::overview_factors(int width, int height) {
    std::vector<int> factors;
    const long longer = std::max(width, height);
    for (long f = 2; (longer + f / 2 - 1) / (f / 2) > 256; f *= 2) {  // previous level still > 256 px
        factors.push_back(static_cast<int>(f));
    }
    return factors;
}

GeoTiffWriter::GeoTiffWriter(const std::string& final_path, int width, int height, int band_count,
                             SampleType type, const GeoReference& georeference, GeoTiffOptions options)
    : output_(final_path),
      width_(width),
      height_(height),
      band_count_(band_count),
      type_(type),
      options_(std::move(options)) {
    ensure_gdal_registered();
    const std::string where = "GeoTIFF '" + final_path + "'";
    if (width <= 0 || height <= 0 || band_count <= 0) {
        throw IoError(where + ": invalid size " + std::to_string(width) + "x" + std::to_string(height) + "x" +
                      std::to_string(band_count));
    }
    if (options_.block_size < 16 || options_.block_size % 16 != 0) {
        throw IoError(where + ": block_size must be a positive multiple of 16, got " +
                      std::to_string(options_.block_size));
    }
    const std::string compression = upper(options_.compression);
    if (compression != "DEFLATE" && compression != "ZSTD" && compression != "LZW" && compression != "NONE") {
        throw IoError(where + ": compression must be DEFLATE, ZSTD, LZW or NONE, got '" + options_.compression + "'");
    }
    options_.compression = compression;
    if (!options_.band_descriptions.empty() &&
        static_cast<int>(options_.band_descriptions.size()) != band_count) {
        throw IoError(where + ": " + std::to_string(options_.band_descriptions.size()) +
                      " band descriptions for " + std::to_string(band_count) + " bands");
    }

    CPLStringList create_options;
    create_options.SetNameValue("TILED", "YES");
    create_options.SetNameValue("BLOCKXSIZE", std::to_string(options_.block_size).c_str());
    create_options.SetNameValue("BLOCKYSIZE", std::to_string(options_.block_size).c_str());
    create_options.SetNameValue("COMPRESS", compression.c_str());
    if (compression != "NONE") create_options.SetNameValue("PREDICTOR", type == SampleType::Float32 ? "3" : "2");
    create_options.SetNameValue("BIGTIFF", "IF_SAFER");
    if (options_.compression_level > 0) {
        if (compression == "DEFLATE") create_options.SetNameValue("ZLEVEL", std::to_string(options_.compression_level).c_str());
        if (compression == "ZSTD") create_options.SetNameValue("ZSTD_LEVEL", std::to_string(options_.compression_level).c_str());
    }
    if (options_.rgb) {
        if (band_count != 3 || type != SampleType::Byte) throw IoError(where + ": rgb needs 3 Byte bands");
        create_options.SetNameValue("PHOTOMETRIC", "RGB");
    }

    std::string path = output_.temp_path();
    if (options_.cog) {
        staging_ = std::make_unique<AtomicFile>(final_path + ".uncog");
        path = staging_->temp_path();
    }
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
    if (driver == nullptr) throw IoError(where + ": GDAL has no GTiff driver");
    GdalErrorCapture errors;
    dataset_.reset(driver->Create(path.c_str(), width, height, band_count,
                                  type == SampleType::Float32 ? GDT_Float32 : GDT_Byte, create_options.List()));
    if (!dataset_) throw IoError("cannot create " + where + " (as '" + path + "')" + errors.suffix());

    if (georeference.has_transform) {
        double t[6];
        std::copy(georeference.transform.begin(), georeference.transform.end(), t);
        dataset_->SetGeoTransform(t);
    }
    if (georeference.has_crs()) {
        OGRSpatialReference srs;
        if (srs.importFromWkt(georeference.crs_wkt.c_str()) != OGRERR_NONE) {
            throw IoError(where + ": the CRS cannot be parsed" + errors.suffix());
        }
        dataset_->SetSpatialRef(&srs);
    }
    for (int b = 1; b <= band_count; ++b) {
        GDALRasterBand* band = dataset_->GetRasterBand(b);
        if (options_.nodata) band->SetNoDataValue(*options_.nodata);
        if (!options_.band_descriptions.empty()) band->SetDescription(options_.band_descriptions[b - 1].c_str());
    }
    if (errors.failed()) throw IoError("cannot set up " + where + errors.suffix());
}

GeoTiffWriter::~GeoTiffWriter() {
    if (!finished_) abandon();
}

void GeoTiffWriter::abandon() noexcept {
    if (dataset_) {
        GdalErrorCapture quiet;
        dataset_->MarkSuppressOnClose();  // no point flushing blocks into a file about to be deleted
        dataset_.reset();
    }
    if (staging_) staging_->discard();
    output_.discard();
}

const std::string& GeoTiffWriter::temp_path() const {
    return staging_ ? staging_->temp_path() : output_.temp_path();
}

void GeoTiffWriter::write(int band, int x0, int y0, int w, int h, const void* data, GDALDataType buffer_type,
                          int pixel_space_items, int band_space_items, const char* what) {
    const std::string where = "GeoTIFF '" + final_path() + "'";
    if (finished_ || !dataset_) throw IoError(where + ": write after finish() or after a failure");
    if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > width_ || y0 + h > height_) {
        throw IoError(where + ": " + describe_window(x0, y0, w, h) + " is outside the raster (" +
                      std::to_string(width_) + "x" + std::to_string(height_) + ")");
    }
    if (band != 0 && (band < 1 || band > band_count_)) {
        throw IoError(where + ": band " + std::to_string(band) + " does not exist (" +
                      std::to_string(band_count_) + " bands)");
    }
    const GSpacing item = GDALGetDataTypeSizeBytes(buffer_type);
    const GSpacing pixel_space = item * pixel_space_items;
    const GSpacing line_space = pixel_space * w;
    GdalErrorCapture errors;
    CPLErr err;
    if (band == 0) {
        const GSpacing band_space = item * band_space_items;
        err = dataset_->RasterIO(GF_Write, x0, y0, w, h, const_cast<void*>(data), w, h, buffer_type, band_count_,
                                 nullptr, pixel_space, line_space, band_space, nullptr);
    } else {
        err = dataset_->GetRasterBand(band)->RasterIO(GF_Write, x0, y0, w, h, const_cast<void*>(data), w, h,
                                                      buffer_type, pixel_space, line_space, nullptr);
    }
    if (err == CE_None && !errors.failed() && (band == 0 || band_count_ == 1) && x0 + w == width_ &&
        ((y0 + h) % options_.block_size == 0 || y0 + h == height_)) {
        // In raster order, a window that ends a block row at the right edge completes every dirty
        // block: write them out now so GDAL's block cache holds about one block row instead of
        // growing with the scene (up to GDAL_CACHEMAX). Out-of-order writers stay correct; a
        // block flushed early is merely re-encoded when completed.
        dataset_->FlushCache(false);
    }
    if (err != CE_None || errors.failed()) {
        const std::string band_text = band == 0 ? "all bands" : "band " + std::to_string(band);
        throw IoError("cannot write " + std::string(what) + " to " + where + ", " + band_text + ", " +
                      describe_window(x0, y0, w, h) + errors.suffix());
    }
}

void GeoTiffWriter::write_window(int band, int x0, int y0, int w, int h, const float* data) {
    if (band < 1) throw IoError("GeoTIFF '" + final_path() + "': band numbers start at 1");
    write(band, x0, y0, w, h, data, GDT_Float32, 1, 0, "Float32 data");
}

void GeoTiffWriter::write_window(int band, int x0, int y0, int w, int h, const uint8_t* data) {
    if (band < 1) throw IoError("GeoTIFF '" + final_path() + "': band numbers start at 1");
    write(band, x0, y0, w, h, data, GDT_Byte, 1, 0, "Byte data");
}

void GeoTiffWriter::write_window_planar(int x0, int y0, int w, int h, const float* data) {
    write(0, x0, y0, w, h, data, GDT_Float32, 1, w * h, "planar Float32 data");
}

void GeoTiffWriter::write_window_planar(int x0, int y0, int w, int h, const uint8_t* data) {
    write(0, x0, y0, w, h, data, GDT_Byte, 1, w * h, "planar Byte data");
}

void GeoTiffWriter::write_window_interleaved(int x0, int y0, int w, int h, const uint8_t* data) {
    write(0, x0, y0, w, h, data, GDT_Byte, band_count_, 1, "interleaved Byte data");
}

void GeoTiffWriter::finish() {
    if (finished_) return;
    const std::string where = "GeoTIFF '" + final_path() + "'";
    if (!dataset_) throw IoError(where + ": finish() after a failure");
    try {
        GdalErrorCapture errors;
        const std::vector<int> factors = overview_factors(width_, height_);
        if (options_.overviews && !options_.cog && !factors.empty()) {
            // Overview tiles as large as the main ones (GDAL's default is 128).
            CPLSetThreadLocalConfigOption("GDAL_TIFF_OVR_BLOCKSIZE", std::to_string(options_.block_size).c_str());
            const CPLErr err = GDALBuildOverviews(GDALDataset::ToHandle(dataset_.get()),
                                                  options_.overview_resampling.c_str(),
                                                  static_cast<int>(factors.size()), factors.data(), 0, nullptr,
                                                  nullptr, nullptr);
            CPLSetThreadLocalConfigOption("GDAL_TIFF_OVR_BLOCKSIZE", nullptr);
            if (err != CE_None || errors.failed()) {
                throw IoError("cannot build overviews (" + options_.overview_resampling + ") for " + where +
                              errors.suffix());
            }
        }
        dataset_->FlushCache(false);
        if (errors.failed()) throw IoError("cannot flush " + where + errors.suffix());
        dataset_.reset();  // GDALClose: writes the directory; errors surface through the capture
        if (errors.failed()) throw IoError("cannot close " + where + errors.suffix());

        if (options_.cog) {
            GDALDatasetUniquePtr staged(
                GDALDataset::Open(staging_->temp_path().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
            if (!staged) throw IoError("cannot reopen the staged " + where + errors.suffix());
            GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
            if (cog == nullptr) throw IoError(where + ": GDAL has no COG driver");
            CPLStringList cog_options;
            cog_options.SetNameValue("BLOCKSIZE", std::to_string(options_.block_size).c_str());
            cog_options.SetNameValue("COMPRESS", options_.compression.c_str());
            if (options_.compression != "NONE") cog_options.SetNameValue("PREDICTOR", "YES");
            cog_options.SetNameValue("BIGTIFF", "IF_SAFER");
            if (options_.compression_level > 0 && options_.compression != "LZW" && options_.compression != "NONE") {
                cog_options.SetNameValue("LEVEL", std::to_string(options_.compression_level).c_str());
            }
            cog_options.SetNameValue("RESAMPLING", options_.overview_resampling.c_str());
            if (options_.overviews && !factors.empty()) {
                // Same levels as the plain GeoTIFF (the COG default would stop at the block size).
                cog_options.SetNameValue("OVERVIEWS", "IGNORE_EXISTING");
                cog_options.SetNameValue("OVERVIEW_COUNT", std::to_string(factors.size()).c_str());
            } else {
                cog_options.SetNameValue("OVERVIEWS", "NONE");
            }
            GDALDatasetUniquePtr out(
                cog->CreateCopy(output_.temp_path().c_str(), staged.get(), FALSE, cog_options.List(), nullptr, nullptr));
            if (!out || errors.failed()) throw IoError("cannot write the Cloud Optimized " + where + errors.suffix());
            out.reset();
            staged.reset();
            if (errors.failed()) throw IoError("cannot close the Cloud Optimized " + where + errors.suffix());
            staging_->discard();
        }
        output_.commit();
        finished_ = true;
    } catch (...) {
        abandon();
        throw;
    }
}

}  // namespace satsal
