// The fused SMOE Scale kernel (declared in saliency/Statistics.hpp).
//
//   SMOE = m * (log2(m) - (1/C) sum_c log2(x_c + eps)),   m = (1/C) sum_c (x_c + eps)
//
// Cost is what matters here: one call per tap per image, on ~2.3 M floats for a 224x224
// ResNet-50 image, against a forward pass of ~40 ms. A log2 per element is far too slow, so
// the sum of logarithms is computed exactly (up to float rounding) from the bits:
//   v = x + eps > 0 is 2^e * f with f in [1, 2), so sum log2(v) = sum e + log2(prod f).
// The integer exponents go into an int32 sum; the mantissas are multiplied in a float
// accumulator (a product of 32 values in [1, 2) stays below 2^32), whose own exponent is moved
// into the integer sum every 32 channels. One log2 per pixel remains, at the end.
//
// The pixels are processed in chunks of kChunk so that the accumulators (48 KB, in L1/L2) stay
// close while the channels stream past, four rows at a time; long row segments (16 KB) keep the
// hardware prefetchers streaming when the tap comes from DRAM (measured: 4096-pixel chunks beat
// 1024 by ~12% on batch-8 taps, and 16384 by ~10%). The loops are branch-free so that GCC
// vectorizes them with baseline SSE2 (check with -fopt-info-vec-optimized).
//
// Invalid input costs nothing extra on the fast path: an OR over the raw bits catches any sign
// bit, and NaN/inf reach the per-pixel sums, hence the outputs. Only then is the tap scanned
// again to count what was found (and -0.0, which is harmless, is let through).
#include "saliency/Statistics.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace satsal {
namespace {

constexpr int64_t kChunk = 4096;  // pixels per chunk
constexpr int64_t kFold = 32;     // channels between renormalizations of the mantissa product

// The hot loops are compiled three times, for baseline x86-64 (SSE2), AVX2 and AVX-512, and the
// loader picks one at start-up (GCC function multi-versioning): more lanes where the CPU has
// them, and still a portable binary. The loop bodies are templates over the element type
// (float32 or bfloat16), force-inlined into the cloned entry points so each clone gets its own
// vectorization.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SATSAL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SATSAL_VECTOR_CLONES
#endif
#if defined(__GNUC__)
#define SATSAL_INLINE inline __attribute__((always_inline))
#else
#define SATSAL_INLINE inline
#endif

inline uint32_t bits_of(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

inline float float_of(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

// Element loads: float32 as is; bfloat16 is the upper half of a float32, so widening is a shift
// (exact).
SATSAL_INLINE float load(const float* p, int64_t i) { return p[i]; }
SATSAL_INLINE float load(const uint16_t* p, int64_t i) { return float_of(static_cast<uint32_t>(p[i]) << 16); }

// Adds one channel's row of n pixels to the chunk accumulators; returns the OR of the raw bits.
template <typename T>
SATSAL_INLINE uint32_t accumulate_row_t(const T* __restrict row, int64_t n, float eps, float* __restrict sum,
                                        int32_t* __restrict exponent_sum, float* __restrict mantissa_product) {
    uint32_t or_bits = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float x = load(row, i);
        or_bits |= bits_of(x);
        sum[i] += x;
        const uint32_t v = bits_of(x + eps);
        exponent_sum[i] += static_cast<int32_t>(v >> 23);  // biased by 127, removed in fold
        mantissa_product[i] *= float_of((v & 0x007FFFFFu) | 0x3F800000u);
    }
    return or_bits;
}

// The same for four rows at once: the accumulators are loaded and stored once per four
// channels, which is what bounds the single-row loop (three stores per element).
template <typename T>
SATSAL_INLINE uint32_t accumulate_four_rows_t(const T* __restrict r0, const T* __restrict r1,
                                              const T* __restrict r2, const T* __restrict r3, int64_t n,
                                              float eps, float* __restrict sum, int32_t* __restrict exponent_sum,
                                              float* __restrict mantissa_product) {
    uint32_t or_bits = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float x0 = load(r0, i), x1 = load(r1, i), x2 = load(r2, i), x3 = load(r3, i);
        or_bits |= bits_of(x0) | bits_of(x1) | bits_of(x2) | bits_of(x3);
        sum[i] += (x0 + x1) + (x2 + x3);
        const uint32_t v0 = bits_of(x0 + eps), v1 = bits_of(x1 + eps);
        const uint32_t v2 = bits_of(x2 + eps), v3 = bits_of(x3 + eps);
        exponent_sum[i] += static_cast<int32_t>((v0 >> 23) + (v1 >> 23) + (v2 >> 23) + (v3 >> 23));
        // four mantissas in [1, 2) multiply to less than 16: no overflow before the fold
        const float m01 = float_of((v0 & 0x007FFFFFu) | 0x3F800000u) *
                          float_of((v1 & 0x007FFFFFu) | 0x3F800000u);
        const float m23 = float_of((v2 & 0x007FFFFFu) | 0x3F800000u) *
                          float_of((v3 & 0x007FFFFFu) | 0x3F800000u);
        mantissa_product[i] *= m01 * m23;
    }
    return or_bits;
}

SATSAL_VECTOR_CLONES
uint32_t accumulate_row(const float* row, int64_t n, float eps, float* sum, int32_t* exponent_sum,
                        float* mantissa_product) {
    return accumulate_row_t(row, n, eps, sum, exponent_sum, mantissa_product);
}
SATSAL_VECTOR_CLONES
uint32_t accumulate_row(const uint16_t* row, int64_t n, float eps, float* sum, int32_t* exponent_sum,
                        float* mantissa_product) {
    return accumulate_row_t(row, n, eps, sum, exponent_sum, mantissa_product);
}
SATSAL_VECTOR_CLONES
uint32_t accumulate_four_rows(const float* r0, const float* r1, const float* r2, const float* r3, int64_t n,
                              float eps, float* sum, int32_t* exponent_sum, float* mantissa_product) {
    return accumulate_four_rows_t(r0, r1, r2, r3, n, eps, sum, exponent_sum, mantissa_product);
}
SATSAL_VECTOR_CLONES
uint32_t accumulate_four_rows(const uint16_t* r0, const uint16_t* r1, const uint16_t* r2, const uint16_t* r3,
                              int64_t n, float eps, float* sum, int32_t* exponent_sum, float* mantissa_product) {
    return accumulate_four_rows_t(r0, r1, r2, r3, n, eps, sum, exponent_sum, mantissa_product);
}

// Channels-last (NHWC): the channels of one pixel are contiguous, so the lanes run over channels
// (kLanes at a time) and are reduced per pixel at the end. Writes, per pixel, the float sum (in
// double), the exponent sum (unbiased) and the mantissa product in [1, 2).
constexpr int kLanes = 16;

template <typename T>
SATSAL_INLINE uint32_t accumulate_pixels_t(const T* __restrict data, int64_t channels, int64_t pixel_stride,
                                           int64_t n, float eps, double* __restrict total,
                                           int32_t* __restrict exponent_total, float* __restrict mantissa_total) {
    uint32_t or_bits = 0;
    const int64_t blocks = channels / kLanes;
    for (int64_t p = 0; p < n; ++p) {
        const T* column = data + p * pixel_stride;
        float sum[kLanes], mantissa[kLanes];
        int32_t exponent[kLanes];
        uint32_t lane_or[kLanes];
        for (int l = 0; l < kLanes; ++l) {
            sum[l] = 0.0f;
            mantissa[l] = 1.0f;
            exponent[l] = 0;
            lane_or[l] = 0;
        }
        double pixel_total = 0.0;
        int32_t pixel_exponent = 0;
        int64_t block = 0;
        while (block < blocks) {
            const int64_t end = std::min(blocks, block + kFold);
            for (; block < end; ++block) {
                const T* values = column + block * kLanes;
                for (int l = 0; l < kLanes; ++l) {
                    const float x = load(values, l);
                    lane_or[l] |= bits_of(x);
                    sum[l] += x;
                    const uint32_t v = bits_of(x + eps);
                    exponent[l] += static_cast<int32_t>(v >> 23) - 127;
                    mantissa[l] *= float_of((v & 0x007FFFFFu) | 0x3F800000u);
                }
            }
            // fold: a product of <= 32 mantissas is < 2^32; the float partial sums go to double
            // (a tree over the lanes, so it vectorizes)
            for (int l = 0; l < kLanes; ++l) {
                const uint32_t m = bits_of(mantissa[l]);
                exponent[l] += static_cast<int32_t>(m >> 23) - 127;
                mantissa[l] = float_of((m & 0x007FFFFFu) | 0x3F800000u);
            }
            for (int half = kLanes / 2; half >= 1; half /= 2) {
                for (int l = 0; l < half; ++l) sum[l] += sum[l + half];
            }
            pixel_total += static_cast<double>(sum[0]);
            for (int l = 0; l < kLanes; ++l) sum[l] = 0.0f;
        }
        // Remaining channels (fewer than kLanes) go to the first lanes.
        for (int64_t c = blocks * kLanes, l = 0; c < channels; ++c, ++l) {
            const float x = load(column, c);
            lane_or[l] |= bits_of(x);
            pixel_total += static_cast<double>(x);
            const uint32_t v = bits_of(x + eps);
            exponent[l] += static_cast<int32_t>(v >> 23) - 127;
            mantissa[l] *= float_of((v & 0x007FFFFFu) | 0x3F800000u);  // in [1, 4) now
        }
        // Lanes into one product, pairwise (a tree, so it vectorizes): two values in [1, 4) multiply
        // to less than 16, and every level folds back to [1, 2).
        for (int half = kLanes / 2; half >= 1; half /= 2) {
            for (int l = 0; l < half; ++l) {
                const uint32_t m = bits_of(mantissa[l] * mantissa[l + half]);
                exponent[l] += exponent[l + half] + static_cast<int32_t>(m >> 23) - 127;
                mantissa[l] = float_of((m & 0x007FFFFFu) | 0x3F800000u);
                lane_or[l] |= lane_or[l + half];
            }
        }
        // the first level of the tree multiplies two lanes that may both be in [1, 4): < 16, fine
        or_bits |= lane_or[0];
        pixel_exponent = exponent[0];
        const float product = mantissa[0];
        total[p] = pixel_total;
        exponent_total[p] = pixel_exponent;
        mantissa_total[p] = product;
    }
    return or_bits;
}

SATSAL_VECTOR_CLONES
uint32_t accumulate_pixels(const float* data, int64_t channels, int64_t pixel_stride, int64_t n, float eps,
                           double* total, int32_t* exponent_total, float* mantissa_total) {
    return accumulate_pixels_t(data, channels, pixel_stride, n, eps, total, exponent_total, mantissa_total);
}
SATSAL_VECTOR_CLONES
uint32_t accumulate_pixels(const uint16_t* data, int64_t channels, int64_t pixel_stride, int64_t n, float eps,
                           double* total, int32_t* exponent_total, float* mantissa_total) {
    return accumulate_pixels_t(data, channels, pixel_stride, n, eps, total, exponent_total, mantissa_total);
}

// Moves the float partial sums into double and the mantissa product's exponent into the
// integer sum (also removing the bias of the `rows` exponents added since the last fold).
SATSAL_VECTOR_CLONES
void fold(int64_t n, int32_t rows, float* __restrict sum, double* __restrict total,
          int32_t* __restrict exponent_sum, float* __restrict mantissa_product) {
    const int32_t bias = 127 * rows;
    for (int64_t i = 0; i < n; ++i) {
        total[i] += static_cast<double>(sum[i]);
        sum[i] = 0.0f;
        const uint32_t p = bits_of(mantissa_product[i]);
        exponent_sum[i] += static_cast<int32_t>(p >> 23) - 127 - bias;
        mantissa_product[i] = float_of((p & 0x007FFFFFu) | 0x3F800000u);
    }
}

std::string shape_text(int64_t channels, int64_t pixels) {
    std::ostringstream text;
    text << channels << " x " << pixels;
    return text.str();
}

// log2 of a positive, finite, normal double, in a form GCC vectorizes (std::log2 is a libm call per
// pixel, and two of them per pixel were ~30% of the kernel on the 64-channel first tap). With
// x = 2^e * m, m in [sqrt(1/2), sqrt(2)): log2(m) = (2 / ln 2) atanh(s), s = (m - 1) / (m + 1),
// |s| <= 0.1716, and the atanh series to s^21 leaves a relative error below 1e-16 (the next term
// is s^23 / 23 < 6e-20). Non-finite x gives a finite but meaningless value: callers check their
// result's inputs (see finish_pixels).
SATSAL_INLINE double log2_positive(double x) {
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    int32_t exponent = static_cast<int32_t>(bits >> 52) - 1023;
    const uint64_t mantissa_bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double m;
    std::memcpy(&m, &mantissa_bits, sizeof m);
    const int32_t high = m > 1.4142135623730951;
    m *= 1.0 - 0.5 * high;  // halves m in [sqrt(2), 2)
    exponent += high;
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double series = 1.0 / 21;
    series = series * s2 + 1.0 / 19;
    series = series * s2 + 1.0 / 17;
    series = series * s2 + 1.0 / 15;
    series = series * s2 + 1.0 / 13;
    series = series * s2 + 1.0 / 11;
    series = series * s2 + 1.0 / 9;
    series = series * s2 + 1.0 / 7;
    series = series * s2 + 1.0 / 5;
    series = series * s2 + 1.0 / 3;
    series = series * s2 + 1.0;
    constexpr double two_over_ln2 = 2.8853900817779268;  // 2 / ln(2)
    return static_cast<double>(exponent) + two_over_ln2 * s * series;
}

// SMOE from the per-pixel sums: mean from the float total, mean log2 from the exponent sum and the
// mantissa product in [1, 2). Returns false if an output is not finite. Branch-free and without
// libm calls, so it vectorizes (cloned like the accumulation loops).
SATSAL_INLINE bool finish_pixels_t(int64_t n, double inverse_channels, double eps, const double* __restrict total,
                                   const int32_t* __restrict exponent_sum,
                                   const float* __restrict mantissa_product, float* __restrict out) {
    int32_t non_finite = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double mean = total[i] * inverse_channels + eps;
        const double mean_log =
            (static_cast<double>(exponent_sum[i]) + log2_positive(mantissa_product[i])) * inverse_channels;
        const double smoe = mean * (log2_positive(mean) - mean_log);
        // mean is the only input that can be non-finite (a float partial sum that overflowed, or
        // NaN/inf in the tap); log2_positive does not propagate it, so test it here.
        non_finite |= !(std::fabs(mean) <= DBL_MAX);
        // Never negative in exact arithmetic (AM >= GM); rounding may dip below 0 when all
        // channels are equal.
        out[i] = std::max(static_cast<float>(smoe), 0.0f);  // (a max in float vectorizes, in double not)
    }
    return non_finite == 0;
}

SATSAL_VECTOR_CLONES
bool finish_pixels(int64_t n, double inverse_channels, double eps, const double* total, const int32_t* exponent_sum,
                   const float* mantissa_product, float* out) {
    return finish_pixels_t(n, inverse_channels, eps, total, exponent_sum, mantissa_product, out);
}

// Channel-major rows (NCHW): chunks of pixels, channels streaming past the chunk accumulators.
template <typename T>
void smoe_rows(const T* data, int64_t channels, int64_t pixels, int64_t channel_stride, float* out,
               double eps, uint32_t& or_bits, bool& non_finite_output) {
    const float eps_f = static_cast<float>(eps);
    const int64_t chunk = std::min(kChunk, std::max<int64_t>(pixels, 1));
    std::vector<float> sum(chunk), mantissa_product(chunk);
    std::vector<int32_t> exponent_sum(chunk);
    std::vector<double> total(chunk);
    const double inverse_channels = 1.0 / static_cast<double>(channels);
    for (int64_t p0 = 0; p0 < pixels; p0 += chunk) {
        const int64_t n = std::min(chunk, pixels - p0);
        std::fill_n(sum.data(), n, 0.0f);
        std::fill_n(mantissa_product.data(), n, 1.0f);
        std::fill_n(exponent_sum.data(), n, 0);
        std::fill_n(total.data(), n, 0.0);
        for (int64_t c0 = 0; c0 < channels; c0 += kFold) {
            const int64_t c1 = std::min(channels, c0 + kFold);
            int64_t c = c0;
            for (; c + 4 <= c1; c += 4) {
                const T* row = data + c * channel_stride + p0;
                or_bits |= accumulate_four_rows(row, row + channel_stride, row + 2 * channel_stride,
                                                row + 3 * channel_stride, n, eps_f, sum.data(),
                                                exponent_sum.data(), mantissa_product.data());
            }
            for (; c < c1; ++c) {
                or_bits |= accumulate_row(data + c * channel_stride + p0, n, eps_f, sum.data(),
                                          exponent_sum.data(), mantissa_product.data());
            }
            fold(n, static_cast<int32_t>(c1 - c0), sum.data(), total.data(), exponent_sum.data(),
                 mantissa_product.data());
        }
        non_finite_output |= !finish_pixels(n, inverse_channels, eps, total.data(), exponent_sum.data(),
                                            mantissa_product.data(), out + p0);
    }
}

// Pixel-major columns (NHWC, channels-last).
template <typename T>
void smoe_columns(const T* data, int64_t channels, int64_t pixels, int64_t pixel_stride, float* out,
                  double eps, uint32_t& or_bits, bool& non_finite_output) {
    constexpr int64_t kPixelChunk = 256;
    const float eps_f = static_cast<float>(eps);
    double total[kPixelChunk];
    int32_t exponent_sum[kPixelChunk];
    float mantissa_product[kPixelChunk];
    const double inverse_channels = 1.0 / static_cast<double>(channels);
    for (int64_t p0 = 0; p0 < pixels; p0 += kPixelChunk) {
        const int64_t n = std::min(kPixelChunk, pixels - p0);
        or_bits |= accumulate_pixels(data + p0 * pixel_stride, channels, pixel_stride, n, eps_f, total,
                                     exponent_sum, mantissa_product);
        non_finite_output |=
            !finish_pixels(n, inverse_channels, eps, total, exponent_sum, mantissa_product, out + p0);
    }
}

template <typename T>
double value_at(const TapView& tap, int64_t c, int64_t p) {
    return load(static_cast<const T*>(tap.data), c * tap.channel_stride + p * tap.pixel_stride);
}

double value_at(const TapView& tap, int64_t c, int64_t p) {
    return tap.type == TapElement::BFloat16 ? value_at<uint16_t>(tap, c, p) : value_at<float>(tap, c, p);
}

}  // namespace

InvalidValueCounts count_invalid_values(const TapView& tap) {
    InvalidValueCounts counts;
    for (int64_t c = 0; c < tap.channels; ++c) {
        for (int64_t p = 0; p < tap.pixels; ++p) {
            const double x = value_at(tap, c, p);
            if (std::isnan(x)) ++counts.nan;
            else if (std::isinf(x)) ++counts.infinite;
            else if (x < 0) ++counts.negative;
        }
    }
    return counts;
}

void smoe_scale(const TapView& tap, float* out, double eps) {
    // (one channel: any channel stride is fine)
    const bool rows = tap.pixel_stride == 1 && (tap.channels == 1 || tap.channel_stride >= tap.pixels);
    const bool columns = tap.channel_stride == 1 && tap.pixel_stride >= tap.channels;
    if (tap.data == nullptr || tap.channels < 1 || tap.pixels < 0 || !(rows || columns)) {
        std::ostringstream message;
        message << "SMOE Scale: bad tap layout (channels " << tap.channels << ", pixels " << tap.pixels
                << ", channel stride " << tap.channel_stride << ", pixel stride " << tap.pixel_stride
                << "); expected rows of pixels (pixel stride 1) or channels-last columns (channel stride 1)";
        throw std::invalid_argument(message.str());
    }
    const float eps_f = static_cast<float>(eps);
    if (!std::isfinite(eps) || !(eps_f >= FLT_MIN)) {
        std::ostringstream message;
        message << "SMOE Scale needs a finite eps >= " << FLT_MIN
                << " (the smallest normal float), got " << eps;
        throw std::invalid_argument(message.str());
    }
    uint32_t or_bits = 0;
    bool non_finite_output = false;
    if (tap.type == TapElement::BFloat16) {
        const auto* data = static_cast<const uint16_t*>(tap.data);
        if (rows) smoe_rows(data, tap.channels, tap.pixels, tap.channel_stride, out, eps, or_bits, non_finite_output);
        else smoe_columns(data, tap.channels, tap.pixels, tap.pixel_stride, out, eps, or_bits, non_finite_output);
    } else {
        const auto* data = static_cast<const float*>(tap.data);
        if (rows) smoe_rows(data, tap.channels, tap.pixels, tap.channel_stride, out, eps, or_bits, non_finite_output);
        else smoe_columns(data, tap.channels, tap.pixels, tap.pixel_stride, out, eps, or_bits, non_finite_output);
    }

    if ((or_bits & 0x80000000u) == 0 && !non_finite_output) return;
    // Slow path: find out what was wrong.
    check_invalid_values(Statistic::Smoe, count_invalid_values(tap), shape_text(tap.channels, tap.pixels));
    // Only -0.0 (harmless) or float overflow of a partial sum (values near FLT_MAX) got here:
    // recompute the tap with the double-precision reference (rare, so no effort to be fast).
    if (!non_finite_output) return;
    StatisticOptions options;
    options.eps = eps;
    std::vector<double> column(static_cast<std::size_t>(tap.channels));
    for (int64_t p = 0; p < tap.pixels; ++p) {
        for (int64_t c = 0; c < tap.channels; ++c) column[c] = value_at(tap, c, p);
        out[p] = static_cast<float>(column_statistic(Statistic::Smoe, column.data(), tap.channels, options));
    }
}

void smoe_scale(const float* data, int64_t channels, int64_t pixels, int64_t channel_stride,
                float* out, double eps) {
    smoe_scale(TapView{data, TapElement::Float32, channels, pixels, channel_stride, 1}, out, eps);
}

void smoe_scale(const float* chw, int64_t channels, int64_t pixels, float* out, double eps) {
    smoe_scale(chw, channels, pixels, pixels, out, eps);
}

}  // namespace satsal
