#include "io/GeoTiffWriter.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <cpl_string.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <limits>

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
        if (band_count != (options_.alpha ? 4 : 3) || type != SampleType::Byte) {
            throw IoError(where + ": rgb needs 3 Byte bands (4 with alpha)");
        }
        create_options.SetNameValue("PHOTOMETRIC", "RGB");
    }
    if (options_.alpha) {
        if (band_count < 2) throw IoError(where + ": an alpha band needs at least one other band");
        create_options.SetNameValue("ALPHA", "UNASSOCIATED");
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
    if (options_.alpha) dataset_->GetRasterBand(band_count)->SetColorInterpretation(GCI_AlphaBand);
    if (errors.failed()) throw IoError("cannot set up " + where + errors.suffix());
    // Overviews are written as the windows arrive (see write_overviews), from empty overview
    // levels created now: building them at the end makes GDAL hold chunks that grow with the
    // raster's width (about 40 MB more for an 8192 px wide Float32 raster).
    const std::vector<int> factors = overview_factors(width_, height_);
    if (options_.overviews && !options_.cog && !factors.empty()) {
        GdalErrorCapture errors;
        CPLSetThreadLocalConfigOption("GDAL_TIFF_OVR_BLOCKSIZE", std::to_string(options_.block_size).c_str());
        const CPLErr err = GDALBuildOverviews(GDALDataset::ToHandle(dataset_.get()), "NONE",
                                              static_cast<int>(factors.size()), factors.data(), 0, nullptr,
                                              nullptr, nullptr);
        CPLSetThreadLocalConfigOption("GDAL_TIFF_OVR_BLOCKSIZE", nullptr);
        streamed_overviews_ = err == CE_None && !errors.failed() &&
                              dataset_->GetRasterBand(1)->GetOverviewCount() == static_cast<int>(factors.size());
    }
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
    if (err == CE_None && !errors.failed() && streamed_overviews_) {
        write_overviews(band, x0, y0, w, h, data, buffer_type, pixel_space_items, band_space_items);
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

void GeoTiffWriter::write_overviews(int band, int x0, int y0, int w, int h, const void* data,
                                    GDALDataType buffer_type, int pixel_space_items, int band_space_items) {
    const std::vector<int> factors = overview_factors(width_, height_);
    const int first_band = band == 0 ? 1 : band;
    const int last_band = band == 0 ? band_count_ : band;
    for (std::size_t level = 0; level < factors.size(); ++level) {
        const int f = factors[level];
        // Only windows made of whole footprints of overview pixels can be reduced on their own;
        // anything else makes finish() rebuild the overviews from the full resolution.
        const bool aligned = x0 % f == 0 && y0 % f == 0 && ((x0 + w) % f == 0 || x0 + w == width_) &&
                             ((y0 + h) % f == 0 || y0 + h == height_);
        if (!aligned) {
            overviews_stale_ = true;
            return;
        }
        const int ow = (w + f - 1) / f, oh = (h + f - 1) / f;
        std::vector<float> reduced(static_cast<std::size_t>(ow) * static_cast<std::size_t>(oh));
        for (int b = first_band; b <= last_band; ++b) {
            const std::size_t band_offset = band == 0 ? static_cast<std::size_t>(b - 1) * band_space_items : 0;
            for (int oy = 0; oy < oh; ++oy) {
                for (int ox = 0; ox < ow; ++ox) {
                    double sum = 0;
                    int count = 0;
                    for (int y = oy * f; y < std::min(h, (oy + 1) * f); ++y) {
                        for (int x = ox * f; x < std::min(w, (ox + 1) * f); ++x) {
                            const std::size_t at = (static_cast<std::size_t>(y) * w + x) * pixel_space_items + band_offset;
                            const double v = buffer_type == GDT_Float32 ? static_cast<const float*>(data)[at]
                                                                        : static_cast<const uint8_t*>(data)[at];
                            if (std::isnan(v) || (options_.nodata && v == *options_.nodata)) continue;  // nodata
                            sum += v;
                            ++count;
                        }
                    }
                    reduced[static_cast<std::size_t>(oy) * ow + ox] =
                        count ? static_cast<float>(sum / count)
                              : static_cast<float>(options_.nodata.value_or(std::numeric_limits<double>::quiet_NaN()));
                }
            }
            GDALRasterBand* overview = dataset_->GetRasterBand(b)->GetOverview(static_cast<int>(level));
            if (overview == nullptr ||
                overview->RasterIO(GF_Write, x0 / f, y0 / f, ow, oh, reduced.data(), ow, oh, GDT_Float32, 0, 0,
                                   nullptr) != CE_None) {
                throw IoError("cannot write overview level " + std::to_string(f) + " of GeoTIFF '" + final_path() +
                              "', band " + std::to_string(b) + ", " + describe_window(x0, y0, w, h) + ": " +
                              CPLGetLastErrorMsg());
            }
        }
    }
}

void GeoTiffWriter::set_metadata(const std::string& name, const std::string& value, int band) {
    const std::string where = "GeoTIFF '" + final_path() + "'";
    if (!dataset_ || finished_) throw IoError(where + ": set_metadata('" + name + "') after finish or a failure");
    if (band < 0 || band > band_count_) throw IoError(where + ": set_metadata('" + name + "') on band " + std::to_string(band));
    GdalErrorCapture errors;
    GDALMajorObject* object = band == 0 ? static_cast<GDALMajorObject*>(dataset_.get()) : dataset_->GetRasterBand(band);
    if (object->SetMetadataItem(name.c_str(), value.c_str()) != CE_None || errors.failed()) {
        throw IoError(where + ": cannot set metadata item '" + name + "'" + errors.suffix());
    }
}

// Exact statistics of every band, stored by GDAL as STATISTICS_* band metadata inside the file
// (the dataset is in update mode). A band without a valid pixel gets none.
void GeoTiffWriter::embed_statistics() {
    for (int b = 1; b <= band_count_; ++b) {
        GdalErrorCapture errors;
        double minimum = 0, maximum = 0, mean = 0, deviation = 0;
        const CPLErr err =
            dataset_->GetRasterBand(b)->ComputeStatistics(FALSE, &minimum, &maximum, &mean, &deviation, nullptr, nullptr);
        if (err != CE_None && errors.message().find("no valid pixels") == std::string::npos) {
            throw IoError("cannot compute the statistics of band " + std::to_string(b) + " of GeoTIFF '" +
                          final_path() + "'" + errors.suffix());
        }
    }
}

void GeoTiffWriter::finish() {
    if (finished_) return;
    const std::string where = "GeoTIFF '" + final_path() + "'";
    if (!dataset_) throw IoError(where + ": finish() after a failure");
    try {
        GdalErrorCapture errors;
        if (options_.statistics) embed_statistics();
        const std::vector<int> factors = overview_factors(width_, height_);
        if (options_.overviews && !options_.cog && !factors.empty() && (!streamed_overviews_ || overviews_stale_)) {
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
