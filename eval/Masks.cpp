#include "eval/Masks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "cowc/SplitMix64.hpp"

namespace satsal::eval {

std::string mask_mode_name(MaskMode mode) { return mode == MaskMode::Keep ? "kar" : "roar"; }

std::vector<std::int64_t> salience_order(const float* map, std::int64_t n) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    // A strict weak order: NaN below every number, ties by index.
    std::stable_sort(order.begin(), order.end(), [map](std::int64_t a, std::int64_t b) {
        const float va = map[a], vb = map[b];
        const bool na = std::isnan(va), nb = std::isnan(vb);
        if (na != nb) return nb;  // the number before the NaN
        if (!na && va != vb) return va > vb;
        return a < b;
    });
    return order;
}

std::int64_t selected_count(double fraction, std::int64_t n) {
    if (!(fraction >= 0.0 && fraction <= 1.0))
        throw std::invalid_argument("mask fraction must be in [0, 1], got " + std::to_string(fraction));
    return std::min<std::int64_t>(n, std::llround(fraction * static_cast<double>(n)));
}

std::vector<std::uint8_t> salience_mask(const float* map, std::int64_t n, double fraction, MaskMode mode) {
    const std::int64_t count = selected_count(fraction, n);
    const std::vector<std::int64_t> order = salience_order(map, n);
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), mode == MaskMode::Keep ? 0 : 1);
    for (std::int64_t i = 0; i < count; ++i) keep[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = mode == MaskMode::Keep ? 1 : 0;
    return keep;
}

std::vector<std::uint8_t> road_removed(const float* map, std::int64_t n, double fraction, bool most_relevant_first) {
    const std::int64_t count = selected_count(fraction, n);
    const std::vector<std::int64_t> order = salience_order(map, n);
    std::vector<std::uint8_t> removed(static_cast<std::size_t>(n), 0);
    for (std::int64_t i = 0; i < count; ++i) {
        const std::size_t position = static_cast<std::size_t>(most_relevant_first ? i : n - 1 - i);
        removed[static_cast<std::size_t>(order[position])] = 1;
    }
    return removed;
}

std::vector<float> random_map(std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
    std::vector<float> values(static_cast<std::size_t>(n));
    // Counter-based SplitMix64: value i is a hash of (seed, stream, i).
    const std::uint64_t base = cowc::splitmix64(cowc::splitmix64(seed ^ 0xA11CE5EEDULL) ^ stream);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint64_t h = cowc::splitmix64(base + i * 0x9E3779B97F4A7C15ULL);
        values[i] = static_cast<float>(static_cast<double>(h >> 40) / static_cast<double>(1ULL << 24));
    }
    return values;
}

void replace_with_means(float* image, std::int64_t channels, std::int64_t n, const std::uint8_t* keep_mask,
                        const std::vector<float>& means) {
    if (static_cast<std::int64_t>(means.size()) != channels)
        throw std::invalid_argument("replace_with_means: " + std::to_string(means.size()) + " means for " +
                                    std::to_string(channels) + " channels");
    for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t p = 0; p < n; ++p)
            if (!keep_mask[p]) image[c * n + p] = means[static_cast<std::size_t>(c)];
}

}  // namespace satsal::eval
