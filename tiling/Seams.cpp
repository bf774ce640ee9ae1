#include "tiling/Seams.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace satsal {

double max_seam_error(const Map& tiled, const Map& whole) {
    if (tiled.width != whole.width || tiled.height != whole.height ||
        tiled.values.size() != whole.values.size()) {
        throw std::invalid_argument("seam error: tiled map is " + std::to_string(tiled.width) + " x " +
                                    std::to_string(tiled.height) + " but the whole-window map is " +
                                    std::to_string(whole.width) + " x " + std::to_string(whole.height));
    }
    double max_difference = 0.0;
    double max_magnitude = 0.0;
    for (size_t i = 0; i < whole.values.size(); ++i) {
        const double t = tiled.values[i];
        const double w = whole.values[i];
        if (!std::isfinite(t) || !std::isfinite(w)) {
            const int64_t x = static_cast<int64_t>(i) % whole.width;
            const int64_t y = static_cast<int64_t>(i) / whole.width;
            throw std::invalid_argument("seam error: pixel (" + std::to_string(x) + ", " +
                                        std::to_string(y) + ") is not finite (tiled " +
                                        std::to_string(t) + ", whole " + std::to_string(w) + ")");
        }
        max_difference = std::max(max_difference, std::abs(t - w));
        max_magnitude = std::max(max_magnitude, std::abs(w));
    }
    if (max_magnitude == 0.0) {
        return max_difference == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
    }
    return max_difference / max_magnitude;
}

double MarginMeasurement::worst() const {
    double worst = 0.0;
    for (double e : errors) worst = std::max(worst, e);
    return worst;
}

MarginChoice choose_margin(std::vector<int64_t> candidates,
                           const std::function<std::vector<double>(int64_t margin)>& seam_errors,
                           double tolerance) {
    if (candidates.empty()) {
        throw std::invalid_argument("margin = auto: no candidate margins given");
    }
    if (!(tolerance > 0.0) || !std::isfinite(tolerance)) {
        throw std::invalid_argument("seam_tolerance " + std::to_string(tolerance) +
                                    " must be a positive number");
    }
    if (!seam_errors) {
        throw std::invalid_argument("margin = auto: no seam error function given");
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    if (candidates.front() < 0) {
        throw std::invalid_argument("margin = auto: candidate margin " +
                                    std::to_string(candidates.front()) + " is negative");
    }
    MarginChoice choice;
    choice.tolerance = tolerance;
    for (int64_t margin : candidates) {
        MarginMeasurement measurement;
        measurement.margin = margin;
        measurement.errors = seam_errors(margin);
        if (measurement.errors.empty()) {
            throw std::invalid_argument("margin = auto: the seam error function returned no error for margin " +
                                        std::to_string(margin));
        }
        for (double e : measurement.errors) {
            if (std::isnan(e) || e < 0.0) {
                throw std::invalid_argument("margin = auto: seam error " + std::to_string(e) +
                                            " for margin " + std::to_string(margin) +
                                            " is not a non-negative number");
            }
        }
        const bool good = measurement.worst() <= tolerance;
        choice.measured.push_back(std::move(measurement));
        if (good) {
            choice.margin = margin;
            return choice;
        }
    }
    std::ostringstream message;
    message << "margin = auto: no candidate margin reaches seam_tolerance " << tolerance
            << " (worst layer error per margin:";
    for (const MarginMeasurement& m : choice.measured) message << ' ' << m.margin << " -> " << m.worst();
    message << "); add a larger margin candidate or raise seam_tolerance";
    throw std::runtime_error(message.str());
}

}  // namespace satsal
