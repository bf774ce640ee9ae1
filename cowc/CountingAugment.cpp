// Colour augmentation of counting batches (CountingTrainer.hpp, key colour_jitter).
#include <torch/torch.h>

#include "cowc/CountingLayout.hpp"
#include "cowc/CountingTrainer.hpp"
#include "cowc/SplitMix64.hpp"

namespace satsal::counting {

// Colour augmentation (CountingTrainer.hpp), in [0, 1] pixel units:
// x' = gain_c * (mean + contrast * (grey + saturation * (x - grey) - mean)) + brightness, drawn from
// (seed, epoch, position) like the geometric augmentation.
void jitter_count_colours(at::Tensor& inputs, std::uint64_t seed, int epoch, std::size_t first_position, double j) {
    const at::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
    const at::Tensor stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
    const int64_t lo = kCanvasOffset, hi = kCanvasOffset + kContentSize;
    at::Tensor region = inputs.index({torch::indexing::Slice(), torch::indexing::Slice(),
                                      torch::indexing::Slice(lo, hi), torch::indexing::Slice(lo, hi)});
    at::Tensor x = region * stdev + mean;
    for (int64_t i = 0; i < x.size(0); ++i) {
        std::uint64_t h = cowc::splitmix64(cowc::splitmix64(cowc::splitmix64(seed ^ 0xC0105ULL) ^ static_cast<std::uint64_t>(epoch)) ^ (first_position + i));
        auto draw = [&]() {  // uniform in [-1, 1)
            h = cowc::splitmix64(h);
            return static_cast<double>(h >> 11) * (2.0 / 9007199254740992.0) - 1.0;
        };
        const double brightness = 0.5 * j * draw(), contrast = 1 + j * draw(), saturation = 1 + j * draw();
        const float gains[3] = {static_cast<float>(1 + 0.25 * j * draw()), static_cast<float>(1 + 0.25 * j * draw()),
                                static_cast<float>(1 + 0.25 * j * draw())};
        at::Tensor s = x[i];
        const at::Tensor grey = (0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2]).unsqueeze(0);
        at::Tensor t = grey + saturation * (s - grey);
        const at::Tensor m = t.mean();
        t = m + contrast * (t - m);
        t = t * torch::tensor({gains[0], gains[1], gains[2]}).view({3, 1, 1}) + brightness;
        x[i].copy_(t.clamp(0, 1));
    }
    region.copy_((x - mean) / stdev);
}

}  // namespace satsal::counting
