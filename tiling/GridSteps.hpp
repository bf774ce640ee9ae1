#pragma once
// Seams on a regular grid of a finished raster: is the step between neighbouring pixels larger
// where it crosses a grid line (e.g. the 192 px windows of a counting run) than elsewhere?
//
// For every pair of horizontally neighbouring pixels (x, y), (x + 1, y) with both values finite,
// |v(x + 1, y) - v(x, y)| is a boundary step in x when x + 1 is a multiple of `grid` (the pair
// straddles a vertical grid line), else an elsewhere step; likewise in y with vertical neighbours.
// The ratio per axis is mean(boundary steps) / mean(elsewhere steps): about 1 when the grid leaves
// no trace, well above 1 when the grid lines show. The raster is fed in row strips, so a scene of
// any size is measured with one row of memory besides the strip.
//
// Thread rules: one accumulator belongs to one thread; add_rows is called in row order.
#include <cstdint>
#include <vector>

namespace satsal {

struct AxisSteps {
    double boundary_sum = 0, elsewhere_sum = 0;
    int64_t boundary_steps = 0, elsewhere_steps = 0;

    double boundary_mean() const;
    double elsewhere_mean() const;
    /// boundary_mean / elsewhere_mean; NaN when either side has no step (a raster smaller than two
    /// grid cells along the axis) or the elsewhere mean is 0.
    double ratio() const;
};

class GridStepAccumulator {
public:
    /// Throws std::invalid_argument when width < 1 or grid < 2.
    GridStepAccumulator(int64_t width, int64_t grid);

    /// Rows [y0, y0 + rows) of the raster, row-major `rows` x width. y0 must continue where the last
    /// call ended (std::invalid_argument otherwise).
    void add_rows(const float* values, int64_t y0, int64_t rows);

    const AxisSteps& x() const { return x_; }
    const AxisSteps& y() const { return y_; }
    int64_t rows_seen() const { return next_row_; }

private:
    int64_t width_;
    int64_t grid_;
    int64_t next_row_ = 0;
    std::vector<float> previous_;  // the last row added
    AxisSteps x_, y_;
};

}  // namespace satsal
