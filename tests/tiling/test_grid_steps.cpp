#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "tiling/GridSteps.hpp"

using namespace satsal;

TEST_CASE("grid steps: mean |step| across the grid lines over the mean elsewhere, per axis", "[tiling][seams]") {
    // 6 x 4 raster, grid 3: a vertical line between x = 2 and 3, a horizontal one between y = 2 and 3.
    // v = x + 10 * y, plus 5 for x >= 3: x steps are 1 elsewhere and 6 across the line; y steps
    // are 10 everywhere.
    const int64_t w = 6, h = 4;
    std::vector<float> values(static_cast<std::size_t>(w * h));
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) values[static_cast<std::size_t>(y * w + x)] = static_cast<float>(x + 10 * y + (x >= 3 ? 5 : 0));
    }
    GridStepAccumulator steps(w, 3);
    steps.add_rows(values.data(), 0, 1);          // strips of any height give the same sums
    steps.add_rows(values.data() + w, 1, 3);
    CHECK(steps.x().boundary_steps == 4);         // one per row
    CHECK(steps.x().elsewhere_steps == 16);
    CHECK(steps.x().boundary_mean() == 6.0);
    CHECK(steps.x().elsewhere_mean() == 1.0);
    CHECK(steps.x().ratio() == 6.0);
    CHECK(steps.y().boundary_steps == 6);         // the pairs of rows 2 and 3
    CHECK(steps.y().elsewhere_steps == 12);
    CHECK(steps.y().ratio() == 1.0);
    CHECK(steps.rows_seen() == 4);
}

TEST_CASE("grid steps: NaN pixels leave their steps out; a raster without a grid line has no ratio",
          "[tiling][seams]") {
    std::vector<float> values = {0, 1, 3, 6, NAN, 2, 0, 0};  // 4 x 2, grid 2
    GridStepAccumulator steps(4, 2);
    steps.add_rows(values.data(), 0, 2);
    // Row 0: steps 1 (elsewhere), 2 (boundary at x = 2), 3 (elsewhere); row 1: NaN pairs out, then 2 (boundary), 0.
    CHECK(steps.x().boundary_steps == 2);
    CHECK(steps.x().boundary_sum == 4.0);
    CHECK(steps.x().elsewhere_steps == 3);
    CHECK(steps.x().elsewhere_sum == 4.0);
    CHECK(steps.y().elsewhere_steps == 3);        // column 0 has NaN below
    CHECK(std::isnan(steps.y().ratio()));         // 2 rows: no horizontal grid line at y = 2
    CHECK_THROWS_WITH(steps.add_rows(values.data(), 1, 1), "grid steps: rows from 1 given after row 1 (rows must come in order)");
    CHECK_THROWS_WITH(GridStepAccumulator(4, 1), "grid steps: grid 1 px (expected >= 2)");
}
