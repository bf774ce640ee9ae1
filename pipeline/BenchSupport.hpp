#pragma once
// Small helpers shared by the `satsal bench ...` measurements (Bench, MethodsBench): the median of
// a series of timings and the check that a benchmark's input size fits the model.
#include "pipeline/Timing.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace satsal {

// The median (the mean of the two middle values for an even count); values must not be empty.
inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

inline double elapsed_ms(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Throws std::invalid_argument when --size is below the model's deepest tap stride (the deepest tap
// would be empty).
inline void require_size_fits_model(int64_t size, int64_t deepest_stride) {
    if (size < deepest_stride) {
        throw std::invalid_argument("--size " + std::to_string(size) + " is smaller than the model's deepest stride " +
                                    std::to_string(deepest_stride));
    }
}

}  // namespace satsal
