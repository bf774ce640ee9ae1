#pragma once
// COWC scene annotations: `<scene>_Annotated_Cars.png` and `<scene>_Annotated_Negatives.png`
// mark each object with one non-zero pixel at its centre. This file reads them into position
// lists, counts objects in windows, and writes annotation images back.
//
// A pixel marks an object when any colour band is non-zero and, if the image has an alpha band,
// alpha is non-zero too (COWC's own files are RGBA, red 255 and alpha 255 at each car).
// Reading goes in strips of rows, so a 13333 x 13333 annotation costs a few strips of memory
// plus 8 bytes per object, never a full-size array.
//
// Thread rules: ObjectPositions is immutable after construction and safe to share between
// threads for reading. The free functions open their own GDAL handles (safe from any thread).
#include <cstdint>
#include <string>
#include <vector>

#include "cowc/Names.hpp"

namespace satsal::cowc {

/// A pixel position in scene coordinates (column x, row y, origin at the top-left pixel).
struct PixelPosition {
    int x = 0;
    int y = 0;
    bool operator==(const PixelPosition& o) const { return x == o.x && y == o.y; }
    bool operator<(const PixelPosition& o) const { return y != o.y ? y < o.y : x < o.x; }
};

/// Object positions of one annotation image, sorted by (y, x), with a per-row index so that a
/// window count costs O(rows * log(objects in a row)).
class ObjectPositions {
public:
    ObjectPositions() = default;
    /// Throws std::invalid_argument when a position is outside [0,width) x [0,height) or two
    /// objects share a pixel (an annotation image could not tell them apart).
    ObjectPositions(int width, int height, std::vector<PixelPosition> positions);

    int width() const { return width_; }
    int height() const { return height_; }
    std::size_t size() const { return positions_.size(); }
    /// Sorted by (y, x).
    const std::vector<PixelPosition>& positions() const { return positions_; }

    /// Objects with x0 <= x < x1 and y0 <= y < y1 (half-open; bounds may lie outside the image).
    int64_t count_in_window(int64_t x0, int64_t y0, int64_t x1, int64_t y1) const;
    /// The objects of that window, sorted by (y, x).
    std::vector<PixelPosition> positions_in_window(int64_t x0, int64_t y0, int64_t x1, int64_t y1) const;

private:
    using Iterator = std::vector<PixelPosition>::const_iterator;
    /// Calls visit(first, last) with each row's objects inside the window (clamped to the image).
    template <typename Visit>
    void for_each_row_run(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Visit visit) const;

    int width_ = 0;
    int height_ = 0;
    std::vector<PixelPosition> positions_;
    std::vector<int64_t> row_start_;  // positions of row y are [row_start_[y], row_start_[y+1])
};

/// Reads an annotation image. Throws IoError naming the file when it cannot be read.
ObjectPositions read_annotation_positions(const std::string& path);

/// Writes an RGBA annotation PNG of positions.width() x positions.height(): (255,0,0,255) at each
/// object, (0,0,0,0) elsewhere. Rows are produced on demand, so memory stays small for large
/// scenes. Creates the parent folder; throws IoError naming the file on failure.
void write_annotation_png(const std::string& path, const ObjectPositions& positions);

struct RasterSize {
    int width = 0;
    int height = 0;
};

/// Width and height of any raster GDAL can open (header only). Throws naming the file.
RasterSize raster_size(const std::string& path, const std::string& what);

/// A scene with its annotations.
struct SceneAnnotations {
    ScenePaths paths;
    int width = 0;
    int height = 0;
    ObjectPositions cars;
    ObjectPositions negatives;  ///< empty when not required and the file is absent
    bool has_negatives = false;
};

/// Reads `<scene>_Annotated_Cars.png` (and `_Annotated_Negatives.png`) beside `scene_png` and checks
/// that each has the scene's size; a different size is an error naming both files and both sizes.
/// With require_negatives = false a missing negatives file is allowed (has_negatives = false).
SceneAnnotations read_scene_annotations(const std::string& scene_png, bool require_negatives = true);

}  // namespace satsal::cowc
