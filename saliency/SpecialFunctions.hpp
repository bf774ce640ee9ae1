#pragma once
// Special functions the statistics and normalizations need, in double precision.
// ln Gamma, psi, psi' and P(a, x) come from Boost.Math (not std::lgamma: glibc's lgamma writes the
// global `signgam`, a data race when maps are normalized on several threads); the two differences
// below are written here because computing them from Boost's psi and psi' cancels for large x.
// Boost's domain errors arrive as std::domain_error, its overflows as std::overflow_error.
//
// Thread rules: all functions are pure and re-entrant.

namespace satsal {

/// ln Gamma(x) for x > 0 (Boost.Math lgamma).
double log_gamma(double x);
/// psi(x) = d/dx ln Gamma(x), x > 0 (Boost.Math digamma).
double digamma(double x);
/// psi'(x), x > 0 (Boost.Math trigamma).
double trigamma(double x);
/// ln(x) - psi(x) for x > 0, without the cancellation of computing both for large x
/// (it tends to 1/(2x)). The Gamma ML shape equation is ln(k) - psi(k) = s.
double log_minus_digamma(double x);
/// psi'(x) - 1/x for x > 0, without cancellation (tends to 1/(2x^2)).
double trigamma_minus_reciprocal(double x);

/// Standard normal density and distribution function.
double normal_pdf(double x);
double normal_cdf(double x);
/// Upper tail Q(x) = 1 - Phi(x) divided by phi(x) (Mills ratio), accurate for large x where
/// both underflow.
double normal_mills_ratio(double x);

/// Regularized lower incomplete gamma P(a, x) = gamma(a, x) / Gamma(a), a > 0, x >= 0
/// (x <= 0 gives 0, x = +inf gives 1), by Boost.Math gamma_p; non-decreasing in x (checked on
/// dense grids in the tests). Throws std::domain_error for a <= 0 or NaN arguments.
double regularized_gamma_p(double a, double x);

}  // namespace satsal
