#pragma once
// Wall-clock helpers shared by the pipeline's reports and benchmarks.
#include <chrono>

namespace satsal {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace satsal
