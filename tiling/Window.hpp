#pragma once
// A pixel rectangle in some integer grid (scene pixels, a layer grid, a tile's layer map).
// Value type, header-only; thread-safe like any value.
#include <algorithm>
#include <cstdint>
#include <string>

namespace satsal {

/// Half-open rectangle [x, x + width) x [y, y + height). x and y may be negative (windows that
/// hang over the scene's top/left edge); width and height are never negative.
struct Window {
    int64_t x = 0;
    int64_t y = 0;
    int64_t width = 0;
    int64_t height = 0;

    int64_t x_end() const { return x + width; }
    int64_t y_end() const { return y + height; }
    bool empty() const { return width <= 0 || height <= 0; }
    int64_t area() const { return empty() ? 0 : width * height; }

    bool contains(const Window& other) const {
        return other.x >= x && other.y >= y && other.x_end() <= x_end() && other.y_end() <= y_end();
    }

    /// Overlap of two windows; an empty window (width or height 0) when they do not overlap.
    Window intersect(const Window& other) const {
        const int64_t x0 = std::max(x, other.x);
        const int64_t y0 = std::max(y, other.y);
        const int64_t x1 = std::min(x_end(), other.x_end());
        const int64_t y1 = std::min(y_end(), other.y_end());
        return Window{x0, y0, std::max<int64_t>(0, x1 - x0), std::max<int64_t>(0, y1 - y0)};
    }

    bool operator==(const Window& o) const {
        return x == o.x && y == o.y && width == o.width && height == o.height;
    }
    bool operator!=(const Window& o) const { return !(*this == o); }

    /// "x=..,y=..,w=..,h=.." for error messages.
    std::string to_string() const {
        return "x=" + std::to_string(x) + ",y=" + std::to_string(y) + ",w=" + std::to_string(width) +
               ",h=" + std::to_string(height);
    }
};

}  // namespace satsal
