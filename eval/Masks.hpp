#pragma once
// Pixel masks of the KAR / ROAR / ROAD protocols (satsal evaluate), the random baseline map and
// per-channel-mean replacement. No LibTorch: plain float buffers, so the mechanics are testable
// on hand-made cases.
//
// Ranking: pixels are ordered by map value, most salient first; equal values are ordered by pixel
// index (the lower index counts as more salient), so a mask is a function of the map alone and a
// constant map keeps the first pixels in row-major order. NaN counts as the least salient value.
// The number of pixels a fraction f of n selects is round(f * n) (halves away from zero).
//
// Thread rules: pure functions.
#include <cstdint>
#include <string>
#include <vector>

namespace satsal::eval {

/// KAR keeps the most salient share and blanks the rest; ROAR removes the most salient share.
enum class MaskMode { Keep, Remove };
std::string mask_mode_name(MaskMode mode);  // "kar" | "roar"

/// Pixel indices 0..n-1 ordered most salient first (ties: lower index first).
std::vector<std::int64_t> salience_order(const float* map, std::int64_t n);

/// round(fraction * n); throws std::invalid_argument for a fraction outside [0, 1] or NaN.
std::int64_t selected_count(double fraction, std::int64_t n);

/// 1 = pixel kept, 0 = pixel blanked. Keep: the round(fraction * n) most salient pixels are kept.
/// Remove: the round(fraction * n) most salient are blanked and the rest kept.
std::vector<std::uint8_t> salience_mask(const float* map, std::int64_t n, double fraction, MaskMode mode);

/// The removal mask of ROAD: 1 = removed. most_relevant_first: the round(fraction * n) most
/// salient pixels; otherwise the round(fraction * n) least salient.
std::vector<std::uint8_t> road_removed(const float* map, std::int64_t n, double fraction, bool most_relevant_first);

/// A random saliency map: n values uniform in [0, 1), a function of (seed, stream) alone
/// (SplitMix64), so the random baseline is reproducible per image and per tap.
std::vector<float> random_map(std::int64_t n, std::uint64_t seed, std::uint64_t stream);

/// Replaces the blanked pixels (mask 0) of a planar image [channels][n] with means[c].
void replace_with_means(float* image, std::int64_t channels, std::int64_t n, const std::uint8_t* keep_mask,
                        const std::vector<float>& means);

}  // namespace satsal::eval
