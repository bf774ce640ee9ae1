#pragma once
// Per-pixel channel statistics of an activation tensor (paper Sec. 2.1, Sec. 3, App. A.1).
// Every function here works on raw contiguous float memory so that it compiles without
// LibTorch; saliency/TensorStatistics.hpp adapts them to torch::Tensor [N, C, H, W].
//
// Thread rules: all functions are pure and re-entrant.
#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

enum class Statistic {
    Smoe,               // SMOE Scale (paper Eq. 2 / Eq. 15), the default
    Std,                // standard deviation over channels
    Mean,
    Max,
    Shannon,            // Shannon entropy of the channel column normalized to sum 1
    LogNormalMean,
    LogNormalEntropy,
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
std::vector<std::string> statistic_names();

/// True for the truncated-normal statistics, which read the pre-activation tensor.
bool statistic_uses_pre_activation(Statistic statistic);
/// True for statistics that are only defined on non-negative input (SMOE, Shannon, log-normal, gamma).
bool statistic_requires_non_negative(Statistic statistic);

struct StatisticOptions {
    double eps = 1e-6;  // added to every value before logarithms (paper: 1e-6)
};

/// Reduce one image's tap, contiguous [channels, pixels] (i.e. C x H*W), over channels into
/// out[pixels]. Throws std::domain_error when the statistic needs non-negative input and the
/// tensor holds a negative value or NaN (the message says which and how many).
void reduce_channels(Statistic statistic, const float* chw, int64_t channels, int64_t pixels,
                     float* out, const StatisticOptions& options = {});

/// The fused SMOE Scale kernel: one pass over the channels with only the `pixels`-sized
/// accumulators and output; no full-size temporaries. Same contract as reduce_channels.
void smoe_scale(const float* chw, int64_t channels, int64_t pixels, float* out, double eps = 1e-6);

}  // namespace satsal
