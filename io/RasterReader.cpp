#include "io/RasterReader.hpp"

#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"
#include "io/PathPolicy.hpp"
#include "io/RemoteInput.hpp"

#include <cpl_vsi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace satsal {

namespace {

std::string band_list_text(const std::vector<int>& bands) {
    std::ostringstream s;
    for (std::size_t i = 0; i < bands.size(); ++i) s << (i ? "," : "") << bands[i];
    return s.str();
}

// Linear interpolation between order statistics (numpy's default "linear" method).
double percentile_of_sorted(const std::vector<float>& sorted, double pct) {
    const double pos = pct / 100.0 * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return sorted[lo] + frac * (static_cast<double>(sorted[hi]) - sorted[lo]);
}

// GDAL's words on a failure, scrubbed; for a network read also what the server answers now.
std::string failure_suffix(const GdalErrorCapture& errors, const std::string& scene) {
    const std::string path = gdal_open_name(scene);
    return scrub_credentials(errors.suffix()) + (is_remote_name(path) ? remote_failure_detail(path) : std::string());
}

}  // namespace

bool RasterInfo::has_invalid_pixels_possible() const {
    return std::any_of(bands.begin(), bands.end(),
                       [](const BandInfo& b) { return b.mask_flags != GMF_ALL_VALID; });
}

RasterReader::RasterReader(const std::string& scene) {
    ensure_gdal_registered();
    // A scene may be any GDAL dataset name (io/RemoteInput.hpp); messages show it scrubbed of
    // credentials, and GDAL opens the asset of a STAC scene.
    const std::string path = gdal_open_name(scene);
    const std::string shown = scrub_credentials(scene);
    info_.path = scene;
    if (path.rfind("/vsi", 0) != 0 && !is_dataset_name(path)) {
        // A FIFO or a device would block GDAL or feed it forever; say what the path is instead.
        const std::string problem = input_file_problem(path);
        if (!problem.empty() && problem != "does not exist" && problem != "is a folder, not a file") {
            throw IoError("cannot open raster '" + path + "': it " + problem);
        }
    }
    // Subdataset names (NETCDF:"f.nc":v) are no files: only GDAL's open can check them.
    if (path.rfind("/vsi", 0) == 0 || !is_dataset_name(path)) {
        VSIStatBufL st;
        GdalErrorCapture stat_errors;
        if (VSIStatL(path.c_str(), &st) != 0) {
            if (is_remote_name(path)) {
                throw IoError("cannot open raster '" + shown + "': GDAL cannot reach it" +
                              scrub_credentials(stat_errors.suffix()) + remote_failure_detail(path));
            }
            throw IoError("cannot open raster '" + shown + "': file does not exist");
        }
        if (VSI_ISDIR(st.st_mode)) {
            throw IoError("cannot open raster '" + shown + "': it is a directory, expected an image file");
        }
    }
    GdalErrorCapture errors;
    dataset_.reset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    if (!dataset_) {
        throw IoError("'" + shown + "' is not a raster GDAL can read" + scrub_credentials(errors.suffix()) +
                      (is_remote_name(path) ? remote_failure_detail(path) : std::string()));
    }
    if (dataset_->GetRasterCount() < 1) {
        throw IoError("'" + path + "' has no raster bands (it may be a container of subdatasets; "
                      "open one of them)");
    }
    info_.width = dataset_->GetRasterXSize();
    info_.height = dataset_->GetRasterYSize();
    info_.driver = dataset_->GetDriver() ? dataset_->GetDriver()->GetDescription() : "";
    info_.georeference = GeoReference::from_dataset(*dataset_);
    for (int b = 1; b <= dataset_->GetRasterCount(); ++b) {
        GDALRasterBand* band = dataset_->GetRasterBand(b);
        BandInfo bi;
        bi.data_type = band->GetRasterDataType();
        bi.data_type_name = GDALGetDataTypeName(bi.data_type);
        int has_nodata = 0;
        const double nodata = band->GetNoDataValue(&has_nodata);
        if (has_nodata) bi.nodata = nodata;
        bi.mask_flags = band->GetMaskFlags();
        band->GetBlockSize(&bi.block_width, &bi.block_height);
        bi.color_interpretation = band->GetColorInterpretation();
        bi.description = band->GetDescription();
        if (const char* nbits = band->GetMetadataItem("NBITS", "IMAGE_STRUCTURE")) bi.nbits = std::atoi(nbits);
        const GDALColorTable* table = band->GetColorTable();
        if (table != nullptr && table->GetPaletteInterpretation() == GPI_RGB) {
            for (int i = 0; i < table->GetColorEntryCount(); ++i) {
                const GDALColorEntry* e = table->GetColorEntry(i);
                bi.palette.push_back({static_cast<uint8_t>(e->c1), static_cast<uint8_t>(e->c2),
                                      static_cast<uint8_t>(e->c3)});
            }
        }
        info_.bands.push_back(bi);
    }
}

RasterReader::~RasterReader() = default;
RasterReader::RasterReader(RasterReader&&) noexcept = default;
RasterReader& RasterReader::operator=(RasterReader&&) noexcept = default;

void RasterReader::check_bands(const std::vector<int>& bands) const {
    for (int b : bands) {
        if (b < 1 || b > info_.band_count()) {
            throw IoError("'" + scrub_credentials(info_.path) + "': band " + std::to_string(b) + " does not exist (the file has " +
                          std::to_string(info_.band_count()) + " band(s), numbered from 1)");
        }
    }
}

void RasterReader::check_window(int x0, int y0, int w, int h) const {
    if (w <= 0 || h <= 0 || x0 < 0 || y0 < 0 || x0 + w > info_.width || y0 + h > info_.height) {
        throw IoError("'" + scrub_credentials(info_.path) + "': " + describe_window(x0, y0, w, h) + " is outside the raster (" +
                      std::to_string(info_.width) + "x" + std::to_string(info_.height) + ")");
    }
}

std::vector<float> RasterReader::read_window(const std::vector<int>& bands, int x0, int y0, int w, int h) const {
    std::vector<float> out(bands.size() * static_cast<std::size_t>(w) * static_cast<std::size_t>(std::max(h, 0)));
    read_window_into(bands, x0, y0, w, h, out.data());
    return out;
}

void RasterReader::read_window_into(const std::vector<int>& bands, int x0, int y0, int w, int h,
                                    float* out) const {
    if (bands.empty()) throw IoError("'" + scrub_credentials(info_.path) + "': read_window needs at least one band");
    check_bands(bands);
    check_window(x0, y0, w, h);
    GdalErrorCapture errors;
    const CPLErr err = dataset_->RasterIO(GF_Read, x0, y0, w, h, out, w, h, GDT_Float32,
                                          static_cast<int>(bands.size()), const_cast<int*>(bands.data()),
                                          0, 0, 0, nullptr);
    if (err != CE_None || errors.failed()) {
        throw IoError("cannot read '" + scrub_credentials(info_.path) + "' bands " + band_list_text(bands) + " " +
                      describe_window(x0, y0, w, h) + failure_suffix(errors, info_.path));
    }
}

void RasterReader::read_window_bytes_into(const std::vector<int>& bands, int x0, int y0, int w, int h,
                                          uint8_t* out) const {
    if (bands.empty()) throw IoError("'" + scrub_credentials(info_.path) + "': read_window_bytes_into needs at least one band");
    check_bands(bands);
    check_window(x0, y0, w, h);
    const auto count = static_cast<int>(bands.size());
    GdalErrorCapture errors;
    const CPLErr err = dataset_->RasterIO(GF_Read, x0, y0, w, h, out, w, h, GDT_Byte, count,
                                          const_cast<int*>(bands.data()), count,
                                          static_cast<GSpacing>(count) * w, 1, nullptr);
    if (err != CE_None || errors.failed()) {
        throw IoError("cannot read '" + scrub_credentials(info_.path) + "' bands " + band_list_text(bands) + " " +
                      describe_window(x0, y0, w, h) + failure_suffix(errors, info_.path));
    }
}

void RasterReader::release_cached_blocks() const { dataset_->FlushCache(false); }

bool RasterReader::all_valid(const std::vector<int>& bands) const {
    check_bands(bands);
    if (bands.empty()) return !info_.has_invalid_pixels_possible();
    return std::all_of(bands.begin(), bands.end(),
                       [&](int b) { return info_.bands[b - 1].mask_flags == GMF_ALL_VALID; });
}

std::vector<uint8_t> RasterReader::read_valid_mask(const std::vector<int>& bands_in, int x0, int y0, int w,
                                                   int h) const {
    check_window(x0, y0, w, h);
    std::vector<int> bands = bands_in;
    if (bands.empty()) {
        for (int b = 1; b <= info_.band_count(); ++b) bands.push_back(b);
    }
    check_bands(bands);
    const std::size_t n = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    if (all_valid(bands)) return std::vector<uint8_t>(n, 1);

    std::vector<uint8_t> valid(n, 1);
    std::vector<uint8_t> mask(n);
    bool per_dataset_done = false;
    for (int b : bands) {
        const int flags = info_.bands[b - 1].mask_flags;
        if (flags == GMF_ALL_VALID) continue;  // that band is valid everywhere
        // A per-dataset mask is the same for every band: read it once.
        if ((flags & GMF_PER_DATASET) != 0) {
            if (per_dataset_done) continue;
            per_dataset_done = true;
        }
        GDALRasterBand* mask_band = dataset_->GetRasterBand(b)->GetMaskBand();
        GdalErrorCapture errors;
        if (mask_band == nullptr ||
            mask_band->RasterIO(GF_Read, x0, y0, w, h, mask.data(), w, h, GDT_Byte, 0, 0, nullptr) != CE_None ||
            errors.failed()) {
            throw IoError("cannot read the validity mask of '" + scrub_credentials(info_.path) + "' band " + std::to_string(b) + " " +
                          describe_window(x0, y0, w, h) + failure_suffix(errors, info_.path));
        }
        for (std::size_t i = 0; i < n; ++i) valid[i] &= static_cast<uint8_t>(mask[i] != 0);
    }
    return valid;
}

std::pair<double, double> RasterReader::approximate_percentiles(int band, double lo_pct, double hi_pct,
                                                                int max_side) const {
    check_bands({band});
    if (!(lo_pct >= 0.0 && lo_pct <= hi_pct && hi_pct <= 100.0)) {
        throw IoError("'" + scrub_credentials(info_.path) + "': percentiles must satisfy 0 <= lo <= hi <= 100, got " +
                      std::to_string(lo_pct) + ", " + std::to_string(hi_pct));
    }
    if (max_side < 1) throw IoError("approximate_percentiles: max_side must be >= 1");
    GDALRasterBand* gband = dataset_->GetRasterBand(band);
    const bool has_mask = info_.bands[band - 1].mask_flags != GMF_ALL_VALID;
    GdalErrorCapture errors;
    std::vector<float> values;
    std::vector<uint8_t> mask;
    auto sample = [&](int x0, int y0, int w, int h, int bw, int bh) {
        // A buffer smaller than the window makes GDAL decimate (nearest), using overviews if present.
        const std::size_t offset = values.size();
        const std::size_t n = static_cast<std::size_t>(bw) * static_cast<std::size_t>(bh);
        values.resize(offset + n);
        mask.resize(offset + n, 255);
        CPLErr err = gband->RasterIO(GF_Read, x0, y0, w, h, values.data() + offset, bw, bh, GDT_Float32, 0, 0, nullptr);
        if (err == CE_None && has_mask) {
            err = gband->GetMaskBand()->RasterIO(GF_Read, x0, y0, w, h, mask.data() + offset, bw, bh, GDT_Byte, 0, 0,
                                                 nullptr);
        }
        if (err != CE_None || errors.failed()) {
            throw IoError("cannot sample '" + scrub_credentials(info_.path) + "' band " + std::to_string(band) + " for percentiles (" +
                          describe_window(x0, y0, w, h) + ")" + failure_suffix(errors, info_.path));
        }
    };
    const int width = info_.width;
    const int height = info_.height;
    const double budget = static_cast<double>(max_side) * max_side;  // samples wanted
    if (gband->GetOverviewCount() > 0 || static_cast<double>(width) * height <= 4.0 * budget) {
        // Overviews make a decimated read cheap; small rasters are cheap anyway.
        sample(0, 0, width, height, std::min(width, max_side), std::min(height, max_side));
    } else {
        // No overviews: a decimated read would still decode every block. Read whole blocks from a
        // 16 x 16 stratified grid instead (at most 256 blocks; 7% of a 30000^2 scene in 512 px tiles), the
        // block inside each stratum chosen by a low-discrepancy sequence so that different strata
        // sample different offsets.
        int block_w = info_.bands[band - 1].block_width;
        int block_h = info_.bands[band - 1].block_height;
        if (block_w <= 0 || block_w > 1024) block_w = std::min(width, 256);  // strips: 256-wide windows
        if (block_h <= 0 || block_h > 1024) block_h = std::min(height, 256);
        if (block_h < 16) block_h = std::min(height, 256);  // one-row strips: read 256 rows at once
        const int blocks_x = (width + block_w - 1) / block_w;
        const int blocks_y = (height + block_h - 1) / block_h;
        const int grid_x = std::min(16, blocks_x);
        const int grid_y = std::min(16, blocks_y);
        const double per_window = budget / (grid_x * grid_y);
        for (int sy = 0; sy < grid_y; ++sy) {
            for (int sx = 0; sx < grid_x; ++sx) {
                const int index = sy * grid_x + sx + 1;
                const double ux = std::fmod(index * 0.7548776662466927, 1.0);  // R2 sequence
                const double uy = std::fmod(index * 0.5698402909980532, 1.0);
                const int bx0 = sx * blocks_x / grid_x, bx1 = (sx + 1) * blocks_x / grid_x;
                const int by0 = sy * blocks_y / grid_y, by1 = (sy + 1) * blocks_y / grid_y;
                const int bx = bx0 + std::min(bx1 - bx0 - 1, static_cast<int>(ux * (bx1 - bx0)));
                const int by = by0 + std::min(by1 - by0 - 1, static_cast<int>(uy * (by1 - by0)));
                const int x0 = bx * block_w, y0 = by * block_h;
                const int w = std::min(block_w, width - x0), h = std::min(block_h, height - y0);
                const double shrink = std::min(1.0, std::sqrt(per_window / (static_cast<double>(w) * h)));
                sample(x0, y0, w, h, std::max(1, static_cast<int>(w * shrink)), std::max(1, static_cast<int>(h * shrink)));
            }
        }
    }
    const std::size_t n = values.size();
    std::vector<float> kept;
    kept.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (mask[i] != 0 && std::isfinite(values[i])) kept.push_back(values[i]);
    }
    if (kept.empty()) {
        throw IoError("'" + scrub_credentials(info_.path) + "' band " + std::to_string(band) +
                      " has no valid pixel in its sample: cannot compute percentiles");
    }
    std::sort(kept.begin(), kept.end());
    return {percentile_of_sorted(kept, lo_pct), percentile_of_sorted(kept, hi_pct)};
}

RgbImage load_rgb01(const std::string& path) {
    RasterReader reader(path);
    const RasterInfo& info = reader.info();
    const int nb = info.band_count();
    std::vector<int> bands;
    std::string layout;
    if (nb == 1) {
        bands = {1, 1, 1};
        layout = "gray replicated to RGB";
    } else if (nb == 3) {
        bands = {1, 2, 3};
        layout = "RGB";
    } else if (nb == 4 && info.bands[3].color_interpretation == GCI_AlphaBand) {
        bands = {1, 2, 3};
        layout = "RGBA, alpha dropped";
    } else {
        std::string what = std::to_string(nb) + " bands";
        if (nb == 4) what += " (the 4th is not an alpha band)";
        throw IoError("'" + path + "' has " + what +
                      ": expected an image with 1 (gray), 3 (RGB) or 4 (RGBA) bands; "
                      "select 3 bands of a multispectral scene with a band list instead");
    }
    const GDALDataType type = info.bands[0].data_type;
    for (int b : bands) {
        if (info.bands[b - 1].data_type != type) {
            throw IoError("'" + path + "' mixes band data types (" + info.bands[0].data_type_name + " and " +
                          info.bands[b - 1].data_type_name + "): expected one type for all bands");
        }
    }
    double divisor = 1.0;
    std::string scaling;
    if (type == GDT_Byte) {
        divisor = 255.0;
        scaling = "Byte / 255";
    } else if (type == GDT_UInt16) {
        // Drivers report NBITS (e.g. 12) when the file declares fewer significant bits.
        const int declared = info.bands[0].nbits;
        const int bits = (declared > 0 && declared < 16) ? declared : 16;
        divisor = static_cast<double>((1u << bits) - 1u);
        scaling = "UInt16 / " + std::to_string(static_cast<long>(divisor));
    } else if (type == GDT_Float32 || type == GDT_Float64) {
        scaling = std::string(GDALGetDataTypeName(type)) + " taken as is";
    } else {
        throw IoError("'" + path + "' has data type " + info.bands[0].data_type_name +
                      ": expected Byte, UInt16 or Float32 (in [0,1]) for a single image");
    }
    RgbImage img;
    img.width = info.width;
    img.height = info.height;
    img.georeference = info.georeference;
    img.source_description = layout + ", " + scaling;
    const auto& palette = info.bands[0].palette;
    if (nb == 1 && !palette.empty() && type == GDT_Byte) {
        const std::vector<float> index = reader.read_window({1}, 0, 0, info.width, info.height);
        const std::size_t n = index.size();
        img.planar.resize(3 * n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(index[i]);
            if (k >= palette.size()) {
                throw IoError("'" + path + "' uses palette index " + std::to_string(k) + " but its colour table has " +
                              std::to_string(palette.size()) + " entries");
            }
            for (std::size_t c = 0; c < 3; ++c) img.planar[c * n + i] = palette[k][c];
        }
        img.source_description = "palette expanded to RGB, Byte / 255";
    } else {
        img.planar = reader.read_window(bands, 0, 0, info.width, info.height);
    }
    const float inv = static_cast<float>(1.0 / divisor);
    for (float& v : img.planar) {
        v *= inv;
        if (!(v >= 0.0f && v <= 1.0f)) {
            throw IoError("'" + path + "' holds the value " + std::to_string(v) + " (" + scaling +
                          "): expected values in [0,1]; rescale the image first");
        }
    }
    return img;
}

}  // namespace satsal
