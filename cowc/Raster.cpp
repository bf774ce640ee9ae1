#include "cowc/Raster.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "io/AtomicFile.hpp"
#include "io/GeoTiffWriter.hpp"
#include "io/IoError.hpp"
#include "io/PngWriter.hpp"
#include "io/RasterReader.hpp"

namespace satsal::cowc {

Rgb8Image::Rgb8Image(int w, int h, uint8_t r, uint8_t g, uint8_t b)
    : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3) {
    for (std::size_t i = 0; i < pixels.size(); i += 3) {
        pixels[i] = r;
        pixels[i + 1] = g;
        pixels[i + 2] = b;
    }
}

RasterReader open_raster(const std::string& path, const std::string& what) {
    try {
        return RasterReader(path);
    } catch (const IoError& e) {
        throw IoError("cannot open " + what + " '" + path + "': " + e.what());
    }
}

ColourBands colour_bands(const RasterInfo& info, const std::string& what) {
    ColourBands cb;
    for (int b = 1; b <= info.band_count(); ++b) {
        if (info.bands[static_cast<std::size_t>(b - 1)].color_interpretation == GCI_AlphaBand) cb.alpha = b;
        else cb.colour.push_back(b);
    }
    // COWC imagery is 8-bit; reading another type as Byte would clamp it (a 16-bit scene became 255
    // everywhere), so it is refused with the conversion that makes it usable.
    for (const BandInfo& band : info.bands) {
        if (band.data_type != GDT_Byte) {
            throw IoError(what + " '" + info.path + "': a band is " + band.data_type_name +
                          "; expected 8-bit (Byte) RGB, RGBA or gray like the COWC PNGs; convert it first, "
                          "e.g. gdal_translate -ot Byte -scale IN OUT.png");
        }
    }
    if (cb.colour.size() >= 3) cb.colour.resize(3);
    else if (cb.colour.size() == 1) cb.colour.assign(3, cb.colour[0]);
    else
        throw IoError(what + " '" + info.path + "': expected RGB, RGBA or gray, found " +
                      std::to_string(info.band_count()) + " bands with " + std::to_string(cb.colour.size()) +
                      " colour bands");
    return cb;
}

void read_rgb_rows(const RasterReader& raster, const ColourBands& cb, int y0, int rows, uint8_t* dst) {
    const int w = raster.width();
    if (cb.gray()) {
        // Gray: read once, replicate (a band map naming one band three times is not portable).
        std::vector<uint8_t> gray(static_cast<std::size_t>(w) * rows);
        raster.read_window_bytes_into({cb.colour[0]}, 0, y0, w, rows, gray.data());
        for (std::size_t i = 0; i < gray.size(); ++i) dst[i * 3] = dst[i * 3 + 1] = dst[i * 3 + 2] = gray[i];
    } else {
        raster.read_window_bytes_into(cb.colour, 0, y0, w, rows, dst);
    }
}

void write_png(const std::string& path, const Rgb8Image& image, int zlevel) {
    if (zlevel < 1 || zlevel > 9)
        throw std::invalid_argument("PNG '" + path + "': zlib level must be 1..9, got " + std::to_string(zlevel));
    create_parent_directory(path);
    satsal::write_png(path, image.width, image.height, 3, image.pixels.data(), zlevel);
}

Rgb8Image read_rgb(const RasterReader& raster, const ColourBands& bands) {
    Rgb8Image image;
    image.width = raster.width();
    image.height = raster.height();
    image.pixels.resize(static_cast<std::size_t>(image.width) * image.height * 3);
    read_rgb_rows(raster, bands, 0, image.height, image.pixels.data());
    return image;
}

Rgb8Image read_rgb(const std::string& path, const std::string& what) {
    const RasterReader raster = open_raster(path, what);
    return read_rgb(raster, colour_bands(raster.info(), what));
}

void write_geotiff(const std::string& path, const Rgb8Image& image, const GeoReference& geo) {
    create_parent_directory(path);
    GeoTiffOptions options;
    options.block_size = 256;
    options.compression = "DEFLATE";
    options.overviews = false;
    options.rgb = true;
    GeoTiffWriter writer(path, image.width, image.height, 3, SampleType::Byte, geo, options);
    writer.write_window_interleaved(0, 0, image.width, image.height, image.pixels.data());
    writer.finish();
}

struct SceneRowReader::Handle {
    RasterReader raster;
    ColourBands bands;
};

SceneRowReader::SceneRowReader(const std::string& path)
    : path_(path), handle_(new Handle{open_raster(path, "COWC scene"), {}}) {
    handle_->bands = colour_bands(handle_->raster.info(), "COWC scene");
    width_ = handle_->raster.width();
    height_ = handle_->raster.height();
}

SceneRowReader::~SceneRowReader() = default;

void SceneRowReader::read_rows(int y0, int y1, uint8_t* dst) {
    if (y1 <= y0) return;
    read_rgb_rows(handle_->raster, handle_->bands, y0, y1 - y0, dst);
    // We keep our own copy of the rows; GDAL's cached blocks would otherwise accumulate over the
    // whole scene (up to GDAL_CACHEMAX).
    handle_->raster.release_cached_blocks();
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
