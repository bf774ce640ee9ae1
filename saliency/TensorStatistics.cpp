#include "saliency/TensorStatistics.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

std::string sizes_text(const at::Tensor& tensor) {
    std::ostringstream text;
    for (int64_t d = 0; d < tensor.dim(); ++d) text << (d ? " x " : "") << tensor.size(d);
    return text.str();
}

// SMOE Scale read in place from a float32 or bfloat16 tap, contiguous NCHW or channels-last:
// no converted copy of the tap. Empty for any other dtype or layout.
std::optional<at::Tensor> smoe_in_place(const at::Tensor& tap, const StatisticOptions& options) {
    const bool bf16 = tap.scalar_type() == at::kBFloat16;
    if (!bf16 && tap.scalar_type() != at::kFloat) return std::nullopt;
    const bool rows = tap.is_contiguous();
    if (!rows && !tap.is_contiguous(at::MemoryFormat::ChannelsLast)) return std::nullopt;
    const int64_t images = tap.size(0), channels = tap.size(1);
    const int64_t pixels = tap.size(2) * tap.size(3);
    if (channels < 1) return std::nullopt;  // the general path reports it
    at::Tensor output = at::empty({images, tap.size(2), tap.size(3)}, at::kFloat);
    if (images == 0 || pixels == 0) return output;

    // Work units of whole images split into pixel ranges of at least ~256 K values, so small taps
    // stay on one thread and a batch spreads over all intra-op threads.
    const int64_t wanted = std::max<int64_t>(1024, (262144 / channels + 1023) / 1024 * 1024);
    const int64_t range = std::min(pixels, wanted);
    const int64_t ranges_per_image = (pixels + range - 1) / range;
    const auto* base = static_cast<const char*>(tap.data_ptr());
    const int64_t element_size = bf16 ? 2 : 4;
    float* out = output.data_ptr<float>();
    at::parallel_for(0, images * ranges_per_image, 1, [&](int64_t begin, int64_t end) {
        for (int64_t unit = begin; unit < end; ++unit) {
            const int64_t n = unit / ranges_per_image;
            const int64_t p0 = (unit % ranges_per_image) * range;
            TapView view;
            view.type = bf16 ? TapElement::BFloat16 : TapElement::Float32;
            view.channels = channels;
            view.pixels = std::min(range, pixels - p0);
            view.channel_stride = rows ? pixels : 1;
            view.pixel_stride = rows ? 1 : channels;
            view.data = base + (n * channels * pixels + p0 * view.pixel_stride) * element_size;
            try {
                smoe_scale(view, out + n * pixels + p0, options.eps);
            } catch (const std::domain_error&) {
                // The kernel saw only its pixel range; report the whole tap.
                TapView whole = view;
                whole.data = base;
                whole.pixels = pixels;
                InvalidValueCounts counts;
                for (int64_t i = 0; i < images; ++i) {
                    whole.data = base + i * channels * pixels * element_size;
                    const InvalidValueCounts one = count_invalid_values(whole);
                    counts.negative += one.negative;
                    counts.nan += one.nan;
                    counts.infinite += one.infinite;
                }
                check_invalid_values(Statistic::Smoe, counts, sizes_text(tap));
                throw;
            }
        }
    });
    return output;
}

}  // namespace

at::Tensor channel_statistic(Statistic statistic, const at::Tensor& nchw,
                             const StatisticOptions& options) {
    if (nchw.dim() != 4) {
        throw std::invalid_argument(statistic_title(statistic) + " needs a tap [N, C, H, W], got [" +
                                    sizes_text(nchw) + "]");
    }
    if (!nchw.device().is_cpu()) {
        throw std::invalid_argument(statistic_title(statistic) + " runs on CPU tensors; the tap is on " +
                                    nchw.device().str());
    }
    if (statistic == Statistic::Smoe) {
        if (auto direct = smoe_in_place(nchw, options)) return *direct;
    }
    const at::Tensor input = nchw.to(at::kFloat).contiguous();
    const int64_t images = input.size(0);
    const int64_t channels = input.size(1);
    const int64_t pixels = input.size(2) * input.size(3);
    if (channels < 1) {
        throw std::invalid_argument(statistic_title(statistic) + " needs at least one channel, got [" +
                                    sizes_text(nchw) + "]");
    }
    at::Tensor output = at::empty({images, input.size(2), input.size(3)}, at::kFloat);
    if (images == 0 || pixels == 0) return output;

    // Work units of whole images split into pixel ranges of at least ~256 K floats (multiples of
    // the kernel's 1024-pixel chunk), so small taps stay on one thread.
    const int64_t wanted = std::max<int64_t>(1024, (262144 / channels + 1023) / 1024 * 1024);
    const int64_t range = std::min(pixels, wanted);
    const int64_t ranges_per_image = (pixels + range - 1) / range;
    const float* in = input.data_ptr<float>();
    float* out = output.data_ptr<float>();
    try {
        at::parallel_for(0, images * ranges_per_image, 1, [&](int64_t begin, int64_t end) {
            for (int64_t unit = begin; unit < end; ++unit) {
                const int64_t n = unit / ranges_per_image;
                const int64_t p0 = (unit % ranges_per_image) * range;
                const int64_t count = std::min(range, pixels - p0);
                reduce_channels(statistic, in + n * channels * pixels + p0, channels, count, pixels,
                                out + n * pixels + p0, options);
            }
        });
    } catch (const std::domain_error&) {
        // The kernels saw only their pixel range; report the whole tap.
        check_invalid_values(statistic,
                             count_invalid_values(in, images * channels, pixels, pixels),
                             sizes_text(input));
        throw;
    }
    return output;
}

Map map_from_tensor(const at::Tensor& hw) {
    if (hw.dim() != 2) {
        throw std::invalid_argument("map_from_tensor needs a 2-D tensor [H, W], got [" +
                                    sizes_text(hw) + "]");
    }
    const at::Tensor values = hw.to(at::kCPU).to(at::kFloat).contiguous();
    Map map(values.size(1), values.size(0));
    std::copy_n(values.data_ptr<float>(), map.size(), map.data());
    return map;
}

at::Tensor tensor_from_map(const Map& map) {
    at::Tensor tensor = at::empty({map.height, map.width}, at::kFloat);
    std::copy_n(map.data(), map.size(), tensor.data_ptr<float>());
    return tensor;
}

}  // namespace satsal
