#include "cowc/Annotations.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "cowc/Raster.hpp"
#include "io/AtomicFile.hpp"
#include "io/IoError.hpp"
#include "io/PngWriter.hpp"
#include "io/RasterReader.hpp"

namespace satsal::cowc {

ObjectPositions::ObjectPositions(int width, int height, std::vector<PixelPosition> positions)
    : width_(width), height_(height), positions_(std::move(positions)) {
    if (width < 0 || height < 0) throw std::invalid_argument("object positions: negative image size");
    for (const auto& p : positions_)
        if (p.x < 0 || p.y < 0 || p.x >= width || p.y >= height)
            throw std::invalid_argument("object at (" + std::to_string(p.x) + ", " + std::to_string(p.y) +
                                        ") lies outside the " + std::to_string(width) + " x " +
                                        std::to_string(height) + " image");
    std::sort(positions_.begin(), positions_.end());
    const auto dup = std::adjacent_find(positions_.begin(), positions_.end());
    if (dup != positions_.end())
        throw std::invalid_argument("two objects at the same pixel (" + std::to_string(dup->x) + ", " +
                                    std::to_string(dup->y) + "): an annotation image cannot tell them apart");
    row_start_.assign(static_cast<std::size_t>(height) + 1, 0);
    for (const auto& p : positions_) ++row_start_[static_cast<std::size_t>(p.y) + 1];
    for (std::size_t y = 1; y < row_start_.size(); ++y) row_start_[y] += row_start_[y - 1];
}

template <typename Visit>
void ObjectPositions::for_each_row_run(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Visit visit) const {
    x0 = std::max<int64_t>(x0, 0);
    y0 = std::max<int64_t>(y0, 0);
    x1 = std::min<int64_t>(x1, width_);
    y1 = std::min<int64_t>(y1, height_);
    if (x0 >= x1 || y0 >= y1) return;
    const auto before = [](const PixelPosition& p, int64_t x) { return p.x < x; };
    for (int64_t y = y0; y < y1; ++y) {
        const auto begin = positions_.begin() + row_start_[static_cast<std::size_t>(y)];
        const auto end = positions_.begin() + row_start_[static_cast<std::size_t>(y) + 1];
        if (begin == end) continue;
        const auto lo = std::lower_bound(begin, end, x0, before);
        visit(lo, std::lower_bound(lo, end, x1, before));
    }
}

int64_t ObjectPositions::count_in_window(int64_t x0, int64_t y0, int64_t x1, int64_t y1) const {
    int64_t n = 0;
    for_each_row_run(x0, y0, x1, y1, [&](Iterator lo, Iterator hi) { n += hi - lo; });
    return n;
}

std::vector<PixelPosition> ObjectPositions::positions_in_window(int64_t x0, int64_t y0, int64_t x1,
                                                                int64_t y1) const {
    std::vector<PixelPosition> out;
    for_each_row_run(x0, y0, x1, y1, [&](Iterator lo, Iterator hi) { out.insert(out.end(), lo, hi); });
    return out;
}

RasterSize raster_size(const std::string& path, const std::string& what) {
    const RasterReader raster = open_raster(path, what);
    return {raster.width(), raster.height()};
}

ObjectPositions read_annotation_positions(const std::string& path) {
    const std::string what = "COWC annotation";
    const RasterReader raster = open_raster(path, what);
    const int w = raster.width();
    const int h = raster.height();
    const int bands = raster.info().band_count();
    std::vector<int> band_map(static_cast<std::size_t>(bands));
    std::vector<bool> is_alpha(static_cast<std::size_t>(bands));
    bool has_colour = false;
    for (int b = 1; b <= bands; ++b) {
        band_map[static_cast<std::size_t>(b - 1)] = b;
        is_alpha[static_cast<std::size_t>(b - 1)] =
            raster.info().bands[static_cast<std::size_t>(b - 1)].color_interpretation == GCI_AlphaBand;
        has_colour = has_colour || !is_alpha[static_cast<std::size_t>(b - 1)];
    }
    if (!has_colour) throw IoError(what + " '" + path + "' has only an alpha band");

    const int strip = 256;
    // Pixel-interleaved strip: band b of pixel i is buffer[i * bands + b].
    std::vector<uint8_t> buffer(static_cast<std::size_t>(w) * strip * static_cast<std::size_t>(bands));
    std::vector<PixelPosition> found;
    // COWC marks each car by one pixel at its centre; centres of real cars are pixels apart. Marks
    // that touch (a car mask, an all-255 image) would be counted pixel by pixel as "cars".
    std::vector<uint8_t> previous_row(static_cast<std::size_t>(w), 0), this_row(static_cast<std::size_t>(w), 0);
    int64_t touching = 0;
    PixelPosition first_touch{-1, -1};
    for (int y0 = 0; y0 < h; y0 += strip) {
        const int rows = std::min(strip, h - y0);
        raster.read_window_bytes_into(band_map, 0, y0, w, rows, buffer.data());
        // Drop the strip from GDAL's block cache, which would otherwise keep the whole image.
        raster.release_cached_blocks();
        for (int r = 0; r < rows; ++r) {
            std::fill(this_row.begin(), this_row.end(), uint8_t{0});
            for (int x = 0; x < w; ++x) {
                const std::size_t i = static_cast<std::size_t>(r) * w + x;
                bool colour = false;
                bool alpha_ok = true;
                for (int b = 0; b < bands; ++b) {
                    const uint8_t v = buffer[i * static_cast<std::size_t>(bands) + static_cast<std::size_t>(b)];
                    if (is_alpha[static_cast<std::size_t>(b)]) alpha_ok = alpha_ok && v != 0;
                    else colour = colour || v != 0;
                }
                if (colour && alpha_ok) {
                    found.push_back({x, y0 + r});
                    this_row[static_cast<std::size_t>(x)] = 1;
                    if ((x > 0 && this_row[static_cast<std::size_t>(x - 1)]) || previous_row[static_cast<std::size_t>(x)]) {
                        if (touching++ == 0) first_touch = {x, y0 + r};
                    }
                }
            }
            std::swap(previous_row, this_row);
        }
    }
    // A few touching marks can be two cars side by side; more is a mask.
    if (touching > std::max<int64_t>(4, static_cast<int64_t>(found.size()) / 100)) {
        throw std::runtime_error(what + " '" + path + "': " + std::to_string(found.size()) + " marked pixels, " +
                                 std::to_string(touching) + " of them touching another (first at x " +
                                 std::to_string(first_touch.x) + ", y " + std::to_string(first_touch.y) +
                                 "); expected one non-zero pixel at the centre of each car, not a car mask or a "
                                 "filled image");
    }
    return ObjectPositions(w, h, std::move(found));
}

namespace {

// A read-only RGBA dataset whose rows are made on demand from a position list, so the PNG
// driver's CreateCopy can stream it without a full-size buffer.
class DotsDataset;

class DotsBand : public GDALRasterBand {
public:
    DotsBand(GDALDataset* ds, int band, const ObjectPositions& positions) : positions_(positions) {
        poDS = ds;
        nBand = band;
        eDataType = GDT_Byte;
        nRasterXSize = positions.width();
        nRasterYSize = positions.height();
        nBlockXSize = positions.width();
        nBlockYSize = 1;
    }
    CPLErr IReadBlock(int, int row, void* data) override {
        auto* out = static_cast<uint8_t*>(data);
        std::memset(out, 0, static_cast<std::size_t>(nBlockXSize));
        const uint8_t value = (nBand == 1 || nBand == 4) ? 255 : 0;
        if (value == 0) return CE_None;
        for (const auto& p : positions_.positions_in_window(0, row, positions_.width(), row + 1)) out[p.x] = value;
        return CE_None;
    }
    // Serves reads directly, bypassing GDAL's block cache: cached rows of a 13333 x 13333 image
    // would otherwise pile up to GDAL_CACHEMAX (hundreds of MB) while the PNG is written.
    CPLErr IRasterIO(GDALRWFlag rw, int x_off, int y_off, int x_size, int y_size, void* data, int buf_x,
                     int buf_y, GDALDataType buf_type, GSpacing pixel_space, GSpacing line_space,
                     GDALRasterIOExtraArg* extra) override {
        if (rw != GF_Read || buf_type != GDT_Byte || buf_x != x_size || buf_y != y_size)
            return GDALRasterBand::IRasterIO(rw, x_off, y_off, x_size, y_size, data, buf_x, buf_y, buf_type,
                                             pixel_space, line_space, extra);
        const uint8_t value = (nBand == 1 || nBand == 4) ? 255 : 0;
        auto* out = static_cast<uint8_t*>(data);
        for (int r = 0; r < y_size; ++r) {
            uint8_t* line = out + r * line_space;
            for (int c = 0; c < x_size; ++c) line[c * pixel_space] = 0;
            if (value == 0) continue;
            for (const auto& p : positions_.positions_in_window(x_off, y_off + r, x_off + x_size, y_off + r + 1))
                line[(p.x - x_off) * pixel_space] = value;
        }
        return CE_None;
    }
    GDALColorInterp GetColorInterpretation() override {
        switch (nBand) {
            case 1: return GCI_RedBand;
            case 2: return GCI_GreenBand;
            case 3: return GCI_BlueBand;
            default: return GCI_AlphaBand;
        }
    }

private:
    const ObjectPositions& positions_;
};

class DotsDataset : public GDALDataset {
public:
    explicit DotsDataset(const ObjectPositions& positions) {
        nRasterXSize = positions.width();
        nRasterYSize = positions.height();
        for (int b = 1; b <= 4; ++b) SetBand(b, new DotsBand(this, b, positions));
    }
};

}  // namespace

void write_annotation_png(const std::string& path, const ObjectPositions& positions) {
    if (positions.width() <= 0 || positions.height() <= 0)
        throw std::invalid_argument("COWC annotation '" + path + "': image size must be positive, got " +
                                    std::to_string(positions.width()) + " x " + std::to_string(positions.height()));
    create_parent_directory(path);
    DotsDataset source(positions);
    write_png_from(path, source);
}

SceneAnnotations read_scene_annotations(const std::string& scene_png, bool require_negatives) {
    SceneAnnotations a;
    a.paths = scene_paths(scene_png);
    const RasterSize scene = raster_size(a.paths.scene, "COWC scene");
    a.width = scene.width;
    a.height = scene.height;
    // Sizes come from the headers first, so a mismatch fails before any pixel is decoded.
    auto read_checked = [&](const std::string& annotation) {
        const RasterSize size = raster_size(annotation, "COWC annotation");
        if (size.width != scene.width || size.height != scene.height)
            throw IoError("COWC annotation '" + annotation + "' is " + std::to_string(size.width) + " x " +
                          std::to_string(size.height) + " pixels but its scene '" + a.paths.scene + "' is " +
                          std::to_string(scene.width) + " x " + std::to_string(scene.height) +
                          ": they must have the same size");
        return read_annotation_positions(annotation);
    };
    a.cars = read_checked(a.paths.cars);
    std::error_code ec;
    if (require_negatives || std::filesystem::exists(a.paths.negatives, ec)) {
        a.negatives = read_checked(a.paths.negatives);
        a.has_negatives = true;
    }
    return a;
}

}  // namespace satsal::cowc
