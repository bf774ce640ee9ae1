// The fused SMOE Scale kernel against a straightforward double-precision implementation.
#include "saliency/Statistics.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace satsal;

namespace {

// Post-ReLU-like activations: about half exact zeros, the rest spread over several decades.
std::vector<float> relu_like(int64_t channels, int64_t pixels, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> scale(-3.0f, 2.0f);
    std::vector<float> tap(static_cast<std::size_t>(channels * pixels));
    for (int64_t c = 0; c < channels; ++c) {
        const float channel_scale = std::pow(10.0f, scale(rng));
        for (int64_t p = 0; p < pixels; ++p) {
            tap[c * pixels + p] = std::max(0.0f, normal(rng)) * channel_scale;
        }
    }
    return tap;
}

std::vector<double> smoe_reference(const std::vector<float>& tap, int64_t channels, int64_t pixels,
                                   int64_t stride, double eps) {
    std::vector<double> out(static_cast<std::size_t>(pixels));
    for (int64_t p = 0; p < pixels; ++p) {
        double sum = 0, log_sum = 0;
        for (int64_t c = 0; c < channels; ++c) {
            const double v = static_cast<double>(tap[c * stride + p]) + eps;
            sum += v;
            log_sum += std::log2(v);
        }
        const double m = sum / channels;
        out[p] = m * (std::log2(m) - log_sum / channels);
    }
    return out;
}

double max_error_relative_to_max(const std::vector<float>& got, const std::vector<double>& want) {
    double error = 0, peak = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        error = std::max(error, std::fabs(got[i] - want[i]));
        peak = std::max(peak, std::fabs(want[i]));
    }
    return error / peak;
}

}  // namespace

TEST_CASE("fused SMOE kernel matches a double-precision reference", "[smoe]") {
    struct Shape { int64_t channels, pixels; };
    // chunk (1024) and fold (32) boundaries, tiny and odd sizes, ResNet-50-like shapes
    const Shape shapes[] = {{1, 1}, {1, 5000}, {3, 7}, {31, 1023}, {32, 1024}, {33, 1025},
                            {64, 12544}, {256, 3136}, {2048, 49}, {100, 2049}};
    for (const Shape& shape : shapes) {
        for (double eps : {1e-6, 1e-3}) {
            const std::vector<float> tap = relu_like(shape.channels, shape.pixels, 11u + shape.channels);
            std::vector<float> out(static_cast<std::size_t>(shape.pixels), -1.0f);
            smoe_scale(tap.data(), shape.channels, shape.pixels, out.data(), eps);
            const std::vector<double> want = smoe_reference(tap, shape.channels, shape.pixels, shape.pixels, eps);
            INFO(shape.channels << " x " << shape.pixels << ", eps " << eps);
            if (shape.channels == 1) {
                for (float value : out) CHECK(value == Approx(0.0).margin(1e-6));  // one channel: AM = GM
            } else {
                CHECK(max_error_relative_to_max(out, want) < 1e-5);
            }
            CHECK(*std::min_element(out.begin(), out.end()) >= 0.0f);
        }
    }
}

TEST_CASE("fused SMOE kernel on a pixel range of a larger tap (channel stride)", "[smoe]") {
    const int64_t channels = 70, pixels = 3000;
    const std::vector<float> tap = relu_like(channels, pixels, 5);
    const std::vector<double> want = smoe_reference(tap, channels, pixels, pixels, 1e-6);
    std::vector<float> out(pixels, -1.0f);
    // three ranges, the middle one not aligned to anything
    const int64_t cuts[] = {0, 1111, 2222, pixels};
    for (int r = 0; r < 3; ++r) {
        smoe_scale(tap.data() + cuts[r], channels, cuts[r + 1] - cuts[r], pixels, out.data() + cuts[r]);
    }
    CHECK(max_error_relative_to_max(out, want) < 1e-5);
    std::vector<float> whole(pixels);
    smoe_scale(tap.data(), channels, pixels, whole.data());
    CHECK(out == whole);  // independent of how the pixels are split
}

TEST_CASE("fused SMOE kernel detects invalid input and accepts -0.0", "[smoe]") {
    const int64_t channels = 40, pixels = 2500;
    std::vector<float> tap = relu_like(channels, pixels, 9);
    std::vector<float> out(pixels);

    std::vector<float> signed_zero = tap;
    signed_zero[17] = -0.0f;
    signed_zero[39 * pixels + 2499] = -0.0f;
    smoe_scale(signed_zero.data(), channels, pixels, out.data());
    CHECK(max_error_relative_to_max(out, smoe_reference(signed_zero, channels, pixels, pixels, 1e-6)) < 1e-5);

    std::vector<float> bad = tap;
    bad[3] = -1e-9f;  // negative even though x + eps > 0
    bad[2 * pixels + 2000] = -5.0f;
    bad[10 * pixels + 7] = std::numeric_limits<float>::quiet_NaN();
    bad[11 * pixels + 8] = -std::numeric_limits<float>::quiet_NaN();
    bad[12 * pixels + 9] = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(smoe_scale(bad.data(), channels, pixels, out.data()),
                      "SMOE Scale needs finite non-negative activations: found 2 negative values, 2 NaN "
                      "and 1 infinite values in a [40 x 2500] tap");
    std::vector<float> nan_only = tap;
    nan_only[pixels * channels - 1] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(smoe_scale(nan_only.data(), channels, pixels, out.data()),
                      "SMOE Scale needs finite non-negative activations: found 0 negative values, 1 NaN "
                      "and 0 infinite values in a [40 x 2500] tap");
}

TEST_CASE("fused SMOE kernel stays exact for values near the float limit", "[smoe]") {
    // Float partial sums of 32 channels overflow here; the kernel must notice and recompute.
    const int64_t channels = 64, pixels = 10;
    std::vector<float> tap(channels * pixels);
    for (int64_t i = 0; i < channels * pixels; ++i) tap[i] = (i % 3) ? 3e37f : 1e37f;
    std::vector<float> out(pixels);
    smoe_scale(tap.data(), channels, pixels, out.data());
    const std::vector<double> want = smoe_reference(tap, channels, pixels, pixels, 1e-6);
    for (int64_t p = 0; p < pixels; ++p) CHECK(out[p] == Approx(want[p]).epsilon(1e-6));
}

namespace {
// CPU time of this thread: the machine is shared, and wall time counts other processes' turns.
double thread_cpu_ms() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

template <typename Fn>
double median_ms(Fn&& fn, int runs) {
    fn();  // warm-up
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
        const double start = thread_cpu_ms();
        fn();
        times.push_back(thread_cpu_ms() - start);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}
}  // namespace

TEST_CASE("SMOE kernel timing on ResNet-50 224x224 taps", "[.bench][smoe]") {
    struct Shape { int64_t channels, side; };
    const Shape shapes[] = {{64, 112}, {256, 56}, {512, 28}, {1024, 14}, {2048, 7}};
    const int64_t batch = 8;
    std::vector<std::vector<float>> taps;  // [batch, C, H*W] each
    std::vector<std::vector<float>> outs;
    int64_t floats = 0;
    for (const Shape& s : shapes) {
        taps.push_back(relu_like(s.channels * batch, s.side * s.side, 3));
        outs.emplace_back(batch * s.side * s.side);
        floats += s.channels * s.side * s.side;
    }
    auto run_images = [&](int64_t images) {
        for (std::size_t k = 0; k < taps.size(); ++k) {
            const int64_t pixels = shapes[k].side * shapes[k].side;
            for (int64_t n = 0; n < images; ++n) {
                smoe_scale(taps[k].data() + n * shapes[k].channels * pixels, shapes[k].channels, pixels,
                           outs[k].data() + n * pixels);
            }
        }
    };
    auto run_naive = [&] {
        for (std::size_t k = 0; k < taps.size(); ++k) {
            const Shape& s = shapes[k];
            const int64_t pixels = s.side * s.side;
            std::vector<double> sum(pixels, 0.0), log_sum(pixels, 0.0);
            for (int64_t c = 0; c < s.channels; ++c)
                for (int64_t p = 0; p < pixels; ++p) {
                    const float v = taps[k][c * pixels + p] + 1e-6f;
                    sum[p] += v;
                    log_sum[p] += std::log2(v);
                }
            for (int64_t p = 0; p < pixels; ++p) {
                const double m = sum[p] / s.channels;
                outs[k][p] = static_cast<float>(m * (std::log2(m) - log_sum[p] / s.channels));
            }
        }
    };
    const double hot = median_ms([&] { run_images(1); }, 51);
    const double cold = median_ms([&] { run_images(batch); }, 11) / batch;
    const double naive = median_ms(run_naive, 5);
    std::printf("SMOE Scale on the 5 ResNet-50 taps of a 224x224 image (%lld floats), one thread, CPU time:\n"
                "  fused kernel, one image (taps in cache)        %.3f ms  (%.2f Gfloat/s)\n"
                "  fused kernel, batch of %lld (%lld MB, from DRAM)    %.3f ms per image\n"
                "  naive per-element log2, one image              %.3f ms\n",
                static_cast<long long>(floats), hot, floats / hot / 1e6, static_cast<long long>(batch),
                static_cast<long long>(floats * batch * 4 / 1000000), cold, naive);
    CHECK(hot < naive);
}

namespace {

// Round-to-nearest-even float32 -> bfloat16 bits (what torch's .to(bfloat16) does for finite values).
uint16_t to_bf16(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t bits) {
    const uint32_t wide = static_cast<uint32_t>(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
}

}  // namespace

TEST_CASE("SMOE kernel on bfloat16 and channels-last taps matches the double reference", "[smoe]") {
    struct Shape { int64_t channels, pixels; };
    // lane (16) and fold (32 x 16) boundaries in the channels-last kernel, ResNet-50-like shapes
    const Shape shapes[] = {{1, 3}, {5, 300}, {15, 257}, {16, 256}, {17, 255}, {64, 12544},
                            {256, 3136}, {513, 100}, {2048, 49}};
    for (const Shape& shape : shapes) {
        const int64_t channels = shape.channels, pixels = shape.pixels;
        // The reference sees exactly the values the kernel sees: the bf16-rounded tap.
        std::vector<float> rounded = relu_like(channels, pixels, 21u + static_cast<unsigned>(channels));
        std::vector<uint16_t> rows(rounded.size()), columns(rounded.size());
        std::vector<float> float_columns(rounded.size());
        for (int64_t c = 0; c < channels; ++c) {
            for (int64_t p = 0; p < pixels; ++p) {
                const uint16_t b = to_bf16(rounded[c * pixels + p]);
                rounded[c * pixels + p] = from_bf16(b);
                rows[c * pixels + p] = b;
                columns[p * channels + c] = b;
                float_columns[p * channels + c] = from_bf16(b);
            }
        }
        const std::vector<double> want = smoe_reference(rounded, channels, pixels, pixels, 1e-6);
        const TapView views[] = {
            {rows.data(), TapElement::BFloat16, channels, pixels, pixels, 1},
            {columns.data(), TapElement::BFloat16, channels, pixels, 1, channels},
            {float_columns.data(), TapElement::Float32, channels, pixels, 1, channels},
        };
        const char* names[] = {"bf16 rows", "bf16 channels-last", "float channels-last"};
        for (int v = 0; v < 3; ++v) {
            INFO(names[v] << ", " << channels << " x " << pixels);
            std::vector<float> out(static_cast<std::size_t>(pixels), -1.0f);
            smoe_scale(views[v], out.data());
            if (channels == 1) {
                for (float value : out) CHECK(value == Approx(0.0).margin(1e-6));
            } else {
                CHECK(max_error_relative_to_max(out, want) < 1e-5);
            }
            CHECK(*std::min_element(out.begin(), out.end()) >= 0.0f);
        }
    }
}

TEST_CASE("SMOE kernel on bfloat16 taps: Table 3 columns and invalid values", "[smoe]") {
    // Paper Table 3: columns of two alternating values (10 per column); every value is exact in bf16.
    struct Row { float a, b; double smoe; };
    const Row table[] = {{0.5f, 1.0f, 0.064}, {1.0f, 2.0f, 0.127}, {2.0f, 4.0f, 0.255}, {2.0f, 3.0f, 0.074},
                         {0.6125f, 1.8375f, 0.254}};
    for (const Row& row : table) {
        std::vector<uint16_t> column(10);
        for (int c = 0; c < 10; ++c) column[c] = to_bf16(c % 2 ? row.b : row.a);
        // 0.6125 and 1.8375 are not exact in bf16: compare those with the reference on the rounded values
        std::vector<float> rounded(10);
        for (int c = 0; c < 10; ++c) rounded[c] = from_bf16(column[c]);
        const double reference = smoe_reference(rounded, 10, 1, 1, 1e-6)[0];
        float out = -1.0f;
        smoe_scale(TapView{column.data(), TapElement::BFloat16, 10, 1, 1, 10}, &out);
        INFO(row.a << ", " << row.b);
        CHECK(out == Approx(reference).epsilon(1e-5));
        if (from_bf16(to_bf16(row.a)) == row.a && from_bf16(to_bf16(row.b)) == row.b) {
            CHECK(out == Approx(row.smoe).margin(0.0005));
        }
    }
    std::vector<uint16_t> tap(64 * 40, to_bf16(1.5f));
    tap[7 * 64 + 3] = to_bf16(-2.0f);
    std::vector<float> out(40);
    CHECK_THROWS_WITH(smoe_scale(TapView{tap.data(), TapElement::BFloat16, 64, 40, 1, 64}, out.data()),
                      "SMOE Scale needs finite non-negative activations: found 1 negative values, 0 NaN and 0 "
                      "infinite values in a [64 x 40] tap");
    CHECK_THROWS_AS(smoe_scale(TapView{tap.data(), TapElement::BFloat16, 64, 40, 2, 64}, out.data()),
                    std::invalid_argument);
}

TEST_CASE("SMOE kernel timing: float32 / bfloat16, rows / channels-last, ResNet-50 taps", "[.bench][smoe]") {
    struct Shape { int64_t channels, side; };
    const Shape shapes[] = {{64, 112}, {256, 56}, {512, 28}, {1024, 14}, {2048, 7}};
    const int64_t batch = 8;
    std::vector<std::vector<float>> rows32, columns32;
    std::vector<std::vector<uint16_t>> rows16, columns16;
    for (const Shape& s : shapes) {
        const int64_t pixels = s.side * s.side;
        const std::vector<float> one = relu_like(s.channels, pixels, 3);
        std::vector<float> r(batch * s.channels * pixels), c(r.size());
        std::vector<uint16_t> r16(r.size()), c16(r.size());
        for (int64_t n = 0; n < batch; ++n)
            for (int64_t ch = 0; ch < s.channels; ++ch)
                for (int64_t p = 0; p < pixels; ++p) {
                    const float v = one[ch * pixels + p];
                    r[(n * s.channels + ch) * pixels + p] = v;
                    c[(n * pixels + p) * s.channels + ch] = v;
                    r16[(n * s.channels + ch) * pixels + p] = to_bf16(v);
                    c16[(n * pixels + p) * s.channels + ch] = to_bf16(v);
                }
        rows32.push_back(std::move(r));
        columns32.push_back(std::move(c));
        rows16.push_back(std::move(r16));
        columns16.push_back(std::move(c16));
    }
    std::vector<float> out(batch * 112 * 112);
    const auto run = [&](bool bf16, bool channels_last) {
        for (std::size_t k = 0; k < 5; ++k) {
            const int64_t C = shapes[k].channels, P = shapes[k].side * shapes[k].side;
            for (int64_t n = 0; n < batch; ++n) {
                TapView view;
                view.type = bf16 ? TapElement::BFloat16 : TapElement::Float32;
                view.channels = C;
                view.pixels = P;
                view.channel_stride = channels_last ? 1 : P;
                view.pixel_stride = channels_last ? C : 1;
                const std::size_t offset = static_cast<std::size_t>(n * C * P);
                view.data = bf16 ? static_cast<const void*>((channels_last ? columns16[k] : rows16[k]).data() + offset)
                                 : static_cast<const void*>((channels_last ? columns32[k] : rows32[k]).data() + offset);
                smoe_scale(view, out.data() + n * P);
            }
        }
    };
    std::printf("SMOE Scale on the 5 ResNet-50 taps, batch %lld, one thread, CPU time per image:\n",
                static_cast<long long>(batch));
    for (const bool bf16 : {false, true}) {
        for (const bool channels_last : {false, true}) {
            const double ms = median_ms([&] { run(bf16, channels_last); }, 7) / batch;
            std::printf("  %-9s %-14s %.3f ms\n", bf16 ? "bfloat16" : "float32", channels_last ? "channels-last" : "rows (NCHW)",
                        ms);
        }
    }
}
