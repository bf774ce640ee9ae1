#pragma once
// SplitMix64 (Steele, Lea and Flood; the seeding generator of xoshiro): tiny, well mixed and
// identical on every platform and standard library (std:: distributions are not), so synthetic
// scenes, shuffles and augmentations are functions of their seeds alone.
//
// Thread rules: a pure function.
#include <cstdint>

namespace satsal::cowc {

/// One SplitMix64 step from state x: the output for the state after adding the golden gamma.
inline std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

}  // namespace satsal::cowc
