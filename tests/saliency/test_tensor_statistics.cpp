// The torch adapters, and the torch-free math compared with torch's own operators.
#include "saliency/Combine.hpp"
#include "saliency/TensorStatistics.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace satsal;

namespace {

torch::Tensor relu_like(std::vector<int64_t> sizes, uint64_t seed) {
    torch::manual_seed(seed);
    // ~half exact zeros, values over several decades per channel
    const auto channel_scale = torch::pow(10.0, torch::rand({1, sizes[1], 1, 1}) * 4 - 2);
    return torch::relu(torch::randn(sizes)) * channel_scale;
}

double max_error_relative_to_max(const torch::Tensor& got, const torch::Tensor& want) {
    return ((got.to(torch::kDouble) - want).abs().max() / want.abs().max()).item<double>();
}

}  // namespace

TEST_CASE("channel_statistic SMOE Scale equals the formula written with torch ops", "[torch]") {
    at::set_num_threads(2);
    for (auto sizes : std::vector<std::vector<int64_t>>{{2, 64, 9, 11}, {3, 64, 112, 112}, {1, 2048, 7, 7}}) {
        const torch::Tensor x = relu_like(sizes, 1);
        const torch::Tensor v = x.to(torch::kDouble) + 1e-6;
        const torch::Tensor mean = v.mean(1);
        const torch::Tensor want = mean * (torch::log2(mean) - torch::log2(v).mean(1));
        const torch::Tensor got = channel_statistic(Statistic::Smoe, x);
        CHECK(got.sizes() == torch::IntArrayRef({sizes[0], sizes[2], sizes[3]}));
        CHECK(got.scalar_type() == torch::kFloat);
        CHECK(max_error_relative_to_max(got, want) < 1e-5);
    }
}

TEST_CASE("channel_statistic mean, std and max equal torch's reductions", "[torch]") {
    const torch::Tensor x = relu_like({2, 40, 13, 17}, 2);
    const torch::Tensor xd = x.to(torch::kDouble);
    CHECK(max_error_relative_to_max(channel_statistic(Statistic::Mean, x), xd.mean(1)) < 1e-6);
    CHECK(max_error_relative_to_max(channel_statistic(Statistic::Std, x), xd.std(1, /*unbiased=*/false)) < 1e-6);
    CHECK(torch::equal(channel_statistic(Statistic::Max, x), std::get<0>(x.max(1))));
}

TEST_CASE("channel_statistic accepts any layout and float dtype", "[torch]") {
    const torch::Tensor x = relu_like({2, 33, 20, 30}, 3);
    const torch::Tensor reference = channel_statistic(Statistic::Smoe, x);
    // channels-last is read in place by a kernel that sums in another order: equal to float rounding
    CHECK(max_error_relative_to_max(channel_statistic(Statistic::Smoe, x.contiguous(torch::MemoryFormat::ChannelsLast)),
                                    reference.to(torch::kDouble)) < 1e-6);
    CHECK(torch::equal(channel_statistic(Statistic::Smoe, x.transpose(2, 3).contiguous().transpose(2, 3)), reference));
    CHECK(torch::allclose(channel_statistic(Statistic::Smoe, x.to(torch::kDouble)), reference));
    // each image alone gives the same map as in the batch
    CHECK(torch::equal(channel_statistic(Statistic::Smoe, x.slice(0, 1, 2))[0], reference[1]));
    // the pre-activation statistics take negative values
    const torch::Tensor z = torch::randn({1, 16, 5, 5});
    const torch::Tensor t = channel_statistic(Statistic::TruncNormalMean, z);
    CHECK((t > 0).all().item<bool>());
}

TEST_CASE("channel_statistic SMOE reads bfloat16 taps in both layouts", "[torch]") {
    at::set_num_threads(2);
    for (auto sizes : std::vector<std::vector<int64_t>>{{8, 64, 28, 28}, {3, 256, 14, 14}, {2, 2048, 7, 7}, {2, 17, 5, 9}}) {
        const torch::Tensor bf16 = relu_like(sizes, 7).to(torch::kBFloat16);
        // the double formula on exactly the bf16 values
        const torch::Tensor v = bf16.to(torch::kDouble) + 1e-6;
        const torch::Tensor mean = v.mean(1);
        const torch::Tensor want = mean * (torch::log2(mean) - torch::log2(v).mean(1));
        const torch::Tensor rows = channel_statistic(Statistic::Smoe, bf16);
        const torch::Tensor columns = channel_statistic(Statistic::Smoe, bf16.contiguous(torch::MemoryFormat::ChannelsLast));
        CHECK(rows.scalar_type() == torch::kFloat);
        CHECK(max_error_relative_to_max(rows, want) < 1e-5);
        CHECK(max_error_relative_to_max(columns, want) < 1e-5);
    }
    // negative values are found in bf16 channels-last taps too, over the whole tap
    torch::Tensor x = relu_like({2, 32, 9, 9}, 8);
    x.index_put_({1, 5, 4, 3}, -0.5);
    CHECK_THROWS_WITH(channel_statistic(Statistic::Smoe, x.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast)),
                      "SMOE Scale needs finite non-negative activations: found 1 negative values, 0 NaN and 0 "
                      "infinite values in a [2 x 32 x 9 x 9] tap");
}

TEST_CASE("channel_statistic reports invalid values over the whole tap", "[torch]") {
    at::set_num_threads(2);
    torch::Tensor x = relu_like({3, 64, 112, 112}, 4);
    x.index_put_({1, 5, 100, 3}, -0.5);
    x.index_put_({2, 63, 111, 111}, std::nan(""));
    CHECK_THROWS_WITH(channel_statistic(Statistic::Smoe, x),
                      "SMOE Scale needs finite non-negative activations: found 1 negative values, 1 NaN and 0 "
                      "infinite values in a [3 x 64 x 112 x 112] tap");
    CHECK_THROWS_AS(channel_statistic(Statistic::Smoe, x), std::domain_error);
    CHECK_THROWS_WITH(channel_statistic(Statistic::Smoe, torch::ones({64, 7, 7})),
                      "SMOE Scale needs a tap [N, C, H, W], got [64 x 7 x 7]");
}

TEST_CASE("maps and tensors convert both ways", "[torch]") {
    const torch::Tensor hw = torch::arange(12, torch::kDouble).reshape({3, 4});
    const Map map = map_from_tensor(hw);
    CHECK(map.width == 4);
    CHECK(map.height == 3);
    CHECK(map.at(1, 2) == 9.0f);
    CHECK(torch::equal(tensor_from_map(map), hw.to(torch::kFloat)));
    // a non-contiguous view is copied in row-major order of its own shape
    const Map transposed = map_from_tensor(hw.t());
    CHECK(transposed.width == 3);
    CHECK(transposed.at(2, 1) == 9.0f);
    CHECK_THROWS_WITH(map_from_tensor(torch::ones({1, 3, 4})), "map_from_tensor needs a 2-D tensor [H, W], got [1 x 3 x 4]");
}

TEST_CASE("upsample_bilinear equals torch interpolate (bilinear, align_corners=false)", "[torch]") {
    namespace F = torch::nn::functional;
    struct Case { int64_t w, h, out_w, out_h; };
    for (const Case& c : {Case{7, 7, 224, 224}, Case{14, 9, 224, 144}, Case{5, 3, 17, 11}, Case{13, 9, 100, 77},
                          Case{10, 8, 4, 6}, Case{1, 1, 3, 3}, Case{6, 4, 6, 4}}) {
        const torch::Tensor source = torch::rand({c.h, c.w});
        const torch::Tensor want = F::interpolate(source.view({1, 1, c.h, c.w}),
                                                  F::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{c.out_h, c.out_w})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false))
                                       .view({c.out_h, c.out_w});
        const Map got = upsample_bilinear(map_from_tensor(source), c.out_w, c.out_h);
        INFO(c.w << " x " << c.h << " -> " << c.out_w << " x " << c.out_h);
        CHECK((tensor_from_map(got) - want).abs().max().item<float>() < 1e-6f);
    }
}

TEST_CASE("channel_statistic timing on ResNet-50 taps, batch 8", "[.bench][torch]") {
    const std::vector<std::vector<int64_t>> shapes = {
        {8, 64, 112, 112}, {8, 256, 56, 56}, {8, 512, 28, 28}, {8, 1024, 14, 14}, {8, 2048, 7, 7}};
    std::vector<torch::Tensor> taps;
    for (const auto& s : shapes) taps.push_back(relu_like(s, 5));
    auto median_ms = [&](auto&& fn) {
        fn();
        std::vector<double> times;
        for (int r = 0; r < 15; ++r) {
            const auto start = std::chrono::steady_clock::now();
            fn();
            times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        }
        std::sort(times.begin(), times.end());
        return times[times.size() / 2];
    };
    auto fused = [&] { for (const auto& t : taps) channel_statistic(Statistic::Smoe, t); };
    auto naive = [&] {
        for (const auto& t : taps) {
            const auto v = t + 1e-6;
            const auto m = v.mean(1);
            (m * (torch::log2(m) - torch::log2(v).mean(1))).sum();
        }
    };
    for (int threads : {1, 2}) {
        at::set_num_threads(threads);
        std::printf("%d thread(s): channel_statistic %.3f ms per image, naive ATen %.3f ms per image\n", threads,
                    median_ms(fused) / 8, median_ms(naive) / 8);
    }
}
