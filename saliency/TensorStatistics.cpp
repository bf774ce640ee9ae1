#include "saliency/TensorStatistics.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

std::string sizes_text(const at::Tensor& tensor) {
    std::ostringstream text;
    for (int64_t d = 0; d < tensor.dim(); ++d) text << (d ? " x " : "") << tensor.size(d);
    return text.str();
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
