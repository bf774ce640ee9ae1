#pragma once
// Per-pixel channel statistics of an activation tensor (paper Sec. 2.1, Sec. 3, App. A.1).
// Every function here works on raw float memory so that it compiles without LibTorch;
// saliency/TensorStatistics.hpp adapts them to torch::Tensor [N, C, H, W].
//
// Layout: one image's tap is `channels` rows of `pixels` floats; row c starts at
// data + c * channel_stride (channel_stride == pixels for a contiguous C x H*W tap, larger when
// the caller hands over a range of pixels of a bigger tap).
//
// Thread rules: all functions are pure and re-entrant; they allocate only per-call buffers.
#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

enum class Statistic {
    Smoe,               // SMOE Scale (paper Eq. 2 / Eq. 15), the default
    Std,                // standard deviation over channels (population)
    Mean,
    Max,
    Shannon,            // Shannon entropy (bits) of the channel column normalized to sum 1
    LogNormalMean,      // exp(mu + s2/2) of ln(x + eps)
    LogNormalEntropy,   // mu + 0.5 ln(2 pi e s2) (nats) of ln(x + eps)
    TruncNormalMean,    // these three use the pre-activation (pre-ReLU) tensor
    TruncNormalStd,
    TruncNormalEntropy,
    GammaScale,         // full Gamma maximum-likelihood scale (Eqs. 10-13)
};

/// Names as used on the command line and in configs: smoe, std, mean, max, shannon,
/// lognormal-mean, lognormal-ent, truncnormal-mean, truncnormal-std, truncnormal-ent,
/// gamma-scale. Throws std::invalid_argument naming the value and the valid choices.
Statistic parse_statistic(const std::string& name);
std::string statistic_name(Statistic statistic);
/// Human-readable name used in error messages ("SMOE Scale", "Shannon entropy", ...).
std::string statistic_title(Statistic statistic);
std::vector<std::string> statistic_names();

/// True for the truncated-normal statistics, which read the pre-activation tensor.
bool statistic_uses_pre_activation(Statistic statistic);
/// True for statistics that are only defined on non-negative input (SMOE, Shannon, log-normal, gamma).
bool statistic_requires_non_negative(Statistic statistic);

struct StatisticOptions {
    /// Added to every value before logarithms (paper: 1e-6); also the floor of the standard
    /// deviations of the log-normal and truncated-normal fits (see Statistics.cpp). Statistics
    /// that take logarithms need eps >= 1.1754944e-38 (the smallest normal float).
    double eps = 1e-6;
};

/// How many values of a tap make it unusable: negative (x < 0; -0.0 is fine), NaN, +-infinite.
struct InvalidValueCounts {
    int64_t negative = 0;
    int64_t nan = 0;
    int64_t infinite = 0;
};
InvalidValueCounts count_invalid_values(const float* data, int64_t channels, int64_t pixels,
                                        int64_t channel_stride);
/// Throws std::domain_error when `counts` make the tap unusable for `statistic` (NaN and
/// infinities for every statistic, negatives for those that need non-negative input), e.g.
/// "SMOE Scale needs finite non-negative activations: found 3 negative values, 0 NaN and 0
/// infinite values in a [256 x 3136] tap". `shape` is the bracketed shape text ("256 x 3136").
void check_invalid_values(Statistic statistic, const InvalidValueCounts& counts,
                          const std::string& shape);

/// Reduce one image's tap over channels into out[pixels]. Throws std::domain_error when the
/// tap holds NaN or infinite values, or negative values for a statistic that needs
/// non-negative input (the message says which and how many); std::invalid_argument for
/// channels < 1 or a bad eps.
void reduce_channels(Statistic statistic, const float* data, int64_t channels, int64_t pixels,
                     int64_t channel_stride, float* out, const StatisticOptions& options = {});
/// Contiguous [channels, pixels] tap (channel_stride == pixels).
void reduce_channels(Statistic statistic, const float* chw, int64_t channels, int64_t pixels,
                     float* out, const StatisticOptions& options = {});

/// Element type of a tap in memory. BFloat16 is the upper 16 bits of a float32 (stored as uint16).
enum class TapElement { Float32, BFloat16 };

/// One image's tap (or a pixel range of it) in memory, in either layout: value (c, p) is element
/// c * channel_stride + p * pixel_stride from data.
///   rows (NCHW):            pixel_stride == 1, channel_stride >= pixels
///   columns (NHWC, channels-last): channel_stride == 1, pixel_stride >= channels
struct TapView {
    const void* data = nullptr;
    TapElement type = TapElement::Float32;
    int64_t channels = 0;
    int64_t pixels = 0;
    int64_t channel_stride = 0;
    int64_t pixel_stride = 1;
};
InvalidValueCounts count_invalid_values(const TapView& tap);

/// The fused SMOE Scale kernel (saliency/SmoeScale.cpp) on float32 or bfloat16 taps in either
/// layout, read in place (bfloat16 widens exactly to float32; the arithmetic is the float32
/// kernel's). Same contract as the float overloads below.
void smoe_scale(const TapView& tap, float* out, double eps = 1e-6);

/// The fused SMOE Scale kernel (saliency/SmoeScale.cpp): one pass over the channels with only
/// small per-pixel-chunk accumulators and the output; no full-size temporaries. Same contract
/// as reduce_channels. Exact up to float rounding (relative error ~1e-7 of the map's scale).
void smoe_scale(const float* data, int64_t channels, int64_t pixels, int64_t channel_stride,
                float* out, double eps = 1e-6);
void smoe_scale(const float* chw, int64_t channels, int64_t pixels, float* out, double eps = 1e-6);

/// One column (the `channels` values at one pixel) reduced in double precision. This is the
/// reference definition of every statistic; reduce_channels uses it for all but SMOE Scale.
/// No input validation.
double column_statistic(Statistic statistic, const double* column, int64_t channels,
                        const StatisticOptions& options = {});

}  // namespace satsal
