#include "tiling/GridSteps.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace satsal {
namespace {

void add_step(AxisSteps& steps, float a, float b, bool boundary) {
    if (!std::isfinite(a) || !std::isfinite(b)) return;
    const double step = std::abs(static_cast<double>(b) - static_cast<double>(a));
    if (boundary) {
        steps.boundary_sum += step;
        ++steps.boundary_steps;
    } else {
        steps.elsewhere_sum += step;
        ++steps.elsewhere_steps;
    }
}

}  // namespace

double AxisSteps::boundary_mean() const {
    return boundary_steps > 0 ? boundary_sum / static_cast<double>(boundary_steps)
                              : std::numeric_limits<double>::quiet_NaN();
}

double AxisSteps::elsewhere_mean() const {
    return elsewhere_steps > 0 ? elsewhere_sum / static_cast<double>(elsewhere_steps)
                               : std::numeric_limits<double>::quiet_NaN();
}

double AxisSteps::ratio() const {
    const double elsewhere = elsewhere_mean();
    if (boundary_steps == 0 || elsewhere_steps == 0 || elsewhere == 0.0) return std::numeric_limits<double>::quiet_NaN();
    return boundary_mean() / elsewhere;
}

GridStepAccumulator::GridStepAccumulator(int64_t width, int64_t grid) : width_(width), grid_(grid) {
    if (width < 1) throw std::invalid_argument("grid steps: raster width " + std::to_string(width) + " (expected >= 1)");
    if (grid < 2) throw std::invalid_argument("grid steps: grid " + std::to_string(grid) + " px (expected >= 2)");
}

void GridStepAccumulator::add_rows(const float* values, int64_t y0, int64_t rows) {
    if (y0 != next_row_) {
        throw std::invalid_argument("grid steps: rows from " + std::to_string(y0) + " given after row " +
                                    std::to_string(next_row_ - 1) + " (rows must come in order)");
    }
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t y = y0 + r;
        const float* row = values + r * width_;
        for (int64_t x = 0; x + 1 < width_; ++x) add_step(x_, row[x], row[x + 1], (x + 1) % grid_ == 0);
        if (y > 0) {
            const bool boundary = y % grid_ == 0;
            for (int64_t x = 0; x < width_; ++x) add_step(y_, previous_[static_cast<std::size_t>(x)], row[x], boundary);
        }
        previous_.assign(row, row + width_);
    }
    next_row_ += rows;
}

}  // namespace satsal
