#pragma once
// Seam metrics: how far a tiled computation is from the whole-window one, and picking a margin.
//
// Thread rules: max_seam_error is pure. choose_margin calls the error function serially, on the
// calling thread, in increasing margin order.
#include <cstdint>
#include <functional>
#include <vector>

#include "saliency/Map.hpp"

namespace satsal {

/// max |tiled - whole| / max |whole| over all pixels. When whole is all zero the result is 0 if
/// tiled is too and +infinity otherwise. Throws std::invalid_argument when the sizes differ or a
/// value is not finite (naming the pixel).
double max_seam_error(const Map& tiled, const Map& whole);

struct MarginMeasurement {
    int64_t margin = 0;
    /// One error per layer, as returned by the error function.
    std::vector<double> errors;
    double worst() const;
};

struct MarginChoice {
    int64_t margin = 0;
    double tolerance = 0.0;
    /// Every margin tried, in increasing order; the last one is the chosen one.
    std::vector<MarginMeasurement> measured;
};

/// Tries the candidate margins from the smallest up and returns the first whose every error is
/// <= tolerance; larger candidates are not measured (each measurement runs the model). The
/// function returns one seam error per layer for a margin. Throws std::invalid_argument on an
/// empty or negative candidate list, a tolerance that is not a positive number, or an error that
/// is NaN/negative; std::runtime_error listing every measured error when no candidate meets the
/// tolerance (a larger candidate or a looser seam_tolerance is needed).
MarginChoice choose_margin(std::vector<int64_t> candidates,
                           const std::function<std::vector<double>(int64_t margin)>& seam_errors,
                           double tolerance = 0.01);

}  // namespace satsal
