#pragma once
// Noisy linear imputation of ROAD (Rong et al. 2022, "A Consistent and Efficient Evaluation
// Strategy for Attribution Methods"): every removed pixel becomes the weighted mean of its 8
// neighbours (weight 1/6 for the 4-neighbours, 1/12 for the diagonals; neighbours outside the
// image are dropped and the weights of the others renormalised), all removed pixels of a channel
// solved jointly, then Gaussian noise added to the imputed pixels.
//
// The system per channel, one row per removed pixel i with neighbour set N(i) inside the image:
//     (sum_{j in N(i)} w_ij) x_i - sum_{j in N(i), removed} w_ij x_j = sum_{j in N(i), known} w_ij v_j
// The matrix is the same for every channel (it depends on the mask only), symmetric (w_ij = w_ji)
// and positive definite as long as at least one pixel is known (every connected group of removed
// pixels then touches a known one). It is factored once per image by a sparse Cholesky (Eigen's
// SimplicialLDLT with an approximate-minimum-degree ordering) and the channels are solved as the
// right-hand sides of that one factorisation. A direct solve costs the same whatever the mask's
// shape; conjugate gradients (this file's first version) needed hundreds of iterations on the
// large connected holes a smooth saliency map removes. The residual of every channel is measured
// after the solve and must be below `tolerance`.
//
// Thread rules: pure functions on caller-owned buffers.
#include <cstdint>
#include <vector>

namespace satsal::eval {

struct ImputationOptions {
    double tolerance = 1e-6;    ///< required ||A x - b|| / ||b|| of every channel after the solve
    double noise_sigma = 0.0;   ///< std of the Gaussian noise added to imputed pixels (per channel
                                ///< scaling with noise_scale)
    std::vector<float> noise_scale;  ///< per-channel multiplier of noise_sigma (empty = 1)
    std::uint64_t seed = 0;     ///< noise seed (SplitMix64 + Box-Muller: identical everywhere)
};

struct ImputationResult {
    double relative_residual = 0;  ///< max over channels of ||A x - b|| / ||b|| before the noise
    std::int64_t removed = 0;
};

/// Imputes in place the pixels with removed[p] != 0 of a planar image [channels][height * width].
/// Throws std::invalid_argument when every pixel is removed (nothing to impute from) or sizes are
/// bad; std::runtime_error when the factorisation fails or a residual is above the tolerance.
ImputationResult impute_linear(float* image, int channels, int height, int width, const std::uint8_t* removed,
                               const ImputationOptions& options = {});

/// ||A x - b|| / ||b|| of the imputation system for one channel of `image` (x = its removed
/// pixels, known pixels as they are): a check independent of the solver.
double imputation_residual(const float* channel, int height, int width, const std::uint8_t* removed);

}  // namespace satsal::eval
