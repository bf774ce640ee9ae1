#include "eval/Imputation.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

#include "cowc/SplitMix64.hpp"

namespace satsal::eval {
namespace {

constexpr int kDx[8] = {-1, 1, 0, 0, -1, 1, -1, 1};
constexpr int kDy[8] = {0, 0, -1, 1, -1, -1, 1, 1};
constexpr double kWeight[8] = {1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 12, 1.0 / 12, 1.0 / 12, 1.0 / 12};

// The sparse system over the removed pixels: diagonal, neighbour links and known contributions.
struct System {
    std::vector<std::int64_t> pixel;            // unknown k -> pixel index
    std::vector<double> diagonal;               // sum of in-image neighbour weights
    std::vector<std::int64_t> link_start;       // CSR over unknowns
    std::vector<std::int64_t> link_unknown;
    std::vector<double> link_weight;
    std::vector<std::int64_t> known_start;      // CSR: known neighbours
    std::vector<std::int64_t> known_pixel;
    std::vector<double> known_weight;
};

System build_system(int height, int width, const std::uint8_t* removed) {
    const std::int64_t n = static_cast<std::int64_t>(height) * width;
    std::vector<std::int64_t> unknown_of(static_cast<std::size_t>(n), -1);
    System s;
    for (std::int64_t p = 0; p < n; ++p)
        if (removed[p]) {
            unknown_of[static_cast<std::size_t>(p)] = static_cast<std::int64_t>(s.pixel.size());
            s.pixel.push_back(p);
        }
    s.link_start.push_back(0);
    s.known_start.push_back(0);
    for (const std::int64_t p : s.pixel) {
        const int y = static_cast<int>(p / width), x = static_cast<int>(p % width);
        double diagonal = 0;
        for (int k = 0; k < 8; ++k) {
            const int nx = x + kDx[k], ny = y + kDy[k];
            if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
            const std::int64_t q = static_cast<std::int64_t>(ny) * width + nx;
            diagonal += kWeight[k];
            if (removed[q]) {
                s.link_unknown.push_back(unknown_of[static_cast<std::size_t>(q)]);
                s.link_weight.push_back(kWeight[k]);
            } else {
                s.known_pixel.push_back(q);
                s.known_weight.push_back(kWeight[k]);
            }
        }
        s.diagonal.push_back(diagonal);
        s.link_start.push_back(static_cast<std::int64_t>(s.link_unknown.size()));
        s.known_start.push_back(static_cast<std::int64_t>(s.known_pixel.size()));
    }
    return s;
}

void multiply(const System& s, const std::vector<double>& x, std::vector<double>& out) {
    const std::size_t m = s.pixel.size();
    for (std::size_t k = 0; k < m; ++k) {
        double v = s.diagonal[k] * x[k];
        for (std::int64_t l = s.link_start[k]; l < s.link_start[k + 1]; ++l)
            v -= s.link_weight[static_cast<std::size_t>(l)] * x[static_cast<std::size_t>(s.link_unknown[static_cast<std::size_t>(l)])];
        out[k] = v;
    }
}

std::vector<double> right_hand_side(const System& s, const float* channel) {
    std::vector<double> b(s.pixel.size());
    for (std::size_t k = 0; k < s.pixel.size(); ++k) {
        double v = 0;
        for (std::int64_t l = s.known_start[k]; l < s.known_start[k + 1]; ++l)
            v += s.known_weight[static_cast<std::size_t>(l)] * channel[s.known_pixel[static_cast<std::size_t>(l)]];
        b[k] = v;
    }
    return b;
}

double norm(const std::vector<double>& v) {
    double sum = 0;
    for (const double x : v) sum += x * x;
    return std::sqrt(sum);
}

double gaussian(std::uint64_t seed, std::uint64_t index) {
    const std::uint64_t a = cowc::splitmix64(seed * 0x9E3779B97F4A7C15ULL + 2 * index);
    const std::uint64_t b = cowc::splitmix64(seed * 0x9E3779B97F4A7C15ULL + 2 * index + 1);
    const double u1 = (static_cast<double>(a >> 11) + 1.0) / 9007199254740993.0;  // (0, 1]
    const double u2 = static_cast<double>(b >> 11) / 9007199254740992.0;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace

ImputationResult impute_linear(float* image, int channels, int height, int width, const std::uint8_t* removed,
                               const ImputationOptions& options) {
    if (channels < 1 || height < 1 || width < 1)
        throw std::invalid_argument("impute_linear: empty image (" + std::to_string(channels) + " x " +
                                    std::to_string(height) + " x " + std::to_string(width) + ")");
    const std::int64_t n = static_cast<std::int64_t>(height) * width;
    const System s = build_system(height, width, removed);
    const std::size_t m = s.pixel.size();
    ImputationResult result;
    result.removed = static_cast<std::int64_t>(m);
    if (m == 0) return result;
    if (static_cast<std::int64_t>(m) == n)
        throw std::invalid_argument("impute_linear: every pixel is removed, nothing to impute from");

    // The matrix of the system (lower triangle: SimplicialLDLT reads that half) and the channels'
    // right-hand sides as the columns of B.
    using SparseMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
    std::vector<Eigen::Triplet<double, int>> entries;
    entries.reserve(m + s.link_unknown.size() / 2);
    for (std::size_t k = 0; k < m; ++k) {
        entries.emplace_back(static_cast<int>(k), static_cast<int>(k), s.diagonal[k]);
        for (std::int64_t l = s.link_start[k]; l < s.link_start[k + 1]; ++l) {
            const auto j = static_cast<std::size_t>(s.link_unknown[static_cast<std::size_t>(l)]);
            if (j > k) entries.emplace_back(static_cast<int>(j), static_cast<int>(k), -s.link_weight[static_cast<std::size_t>(l)]);
        }
    }
    SparseMatrix A(static_cast<int>(m), static_cast<int>(m));
    A.setFromTriplets(entries.begin(), entries.end());
    Eigen::SimplicialLDLT<SparseMatrix, Eigen::Lower, Eigen::AMDOrdering<int>> factor(A);
    if (factor.info() != Eigen::Success)
        throw std::runtime_error("impute_linear: the sparse factorisation of the " + std::to_string(m) +
                                 "-pixel system failed (matrix not positive definite?)");
    Eigen::MatrixXd B(static_cast<Eigen::Index>(m), channels);
    for (int c = 0; c < channels; ++c) {
        const std::vector<double> b = right_hand_side(s, image + static_cast<std::int64_t>(c) * n);
        for (std::size_t k = 0; k < m; ++k) B(static_cast<Eigen::Index>(k), c) = b[k];
    }
    const Eigen::MatrixXd X = factor.solve(B);
    if (factor.info() != Eigen::Success) throw std::runtime_error("impute_linear: the sparse solve failed");

    // The residual of each channel through this file's own product (not Eigen's matrix).
    std::vector<double> x(m), Ax(m), b(m);
    for (int c = 0; c < channels; ++c) {
        for (std::size_t k = 0; k < m; ++k) {
            x[k] = X(static_cast<Eigen::Index>(k), c);
            b[k] = B(static_cast<Eigen::Index>(k), c);
        }
        multiply(s, x, Ax);
        for (std::size_t k = 0; k < m; ++k) Ax[k] -= b[k];
        const double residual = norm(Ax) / std::max(norm(b), 1e-30);
        if (!(residual <= options.tolerance))
            throw std::runtime_error("impute_linear: the sparse solve left a relative residual of " +
                                     std::to_string(residual) + " (tolerance " + std::to_string(options.tolerance) + ")");
        result.relative_residual = std::max(result.relative_residual, residual);
        float* channel = image + static_cast<std::int64_t>(c) * n;
        const double scale = options.noise_sigma *
                             (options.noise_scale.empty() ? 1.0 : options.noise_scale.at(static_cast<std::size_t>(c)));
        for (std::size_t k = 0; k < m; ++k) {
            const double noise = scale > 0 ? scale * gaussian(options.seed, static_cast<std::uint64_t>(c) * n + s.pixel[k]) : 0.0;
            channel[s.pixel[k]] = static_cast<float>(x[k] + noise);
        }
    }
    return result;
}

double imputation_residual(const float* channel, int height, int width, const std::uint8_t* removed) {
    const System s = build_system(height, width, removed);
    if (s.pixel.empty()) return 0;
    const std::vector<double> b = right_hand_side(s, channel);
    std::vector<double> x(s.pixel.size()), Ax(s.pixel.size());
    for (std::size_t k = 0; k < s.pixel.size(); ++k) x[k] = channel[s.pixel[k]];
    multiply(s, x, Ax);
    for (std::size_t k = 0; k < Ax.size(); ++k) Ax[k] -= b[k];
    return norm(Ax) / std::max(norm(b), 1e-30);
}

}  // namespace satsal::eval
