#include "saliency/SpecialFunctions.hpp"

#include <boost/math/policies/policy.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>

#include <cmath>
#include <cstddef>
#include <sstream>
#include <stdexcept>

namespace satsal {
namespace {

constexpr double kPi = 3.14159265358979323846;
// Boost's default policy evaluates double functions in long double (x87 on x86-64): 3-6 times
// slower for no gain a float map can see. Errors keep the defaults (they throw).
using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
// Below this argument the asymptotic series are shifted upwards by recurrence; at 10 the first
// omitted terms are below 1e-16 relative.
constexpr double kAsymptoticFrom = 10.0;

void require_positive(const char* function, double x) {
    if (!(x > 0.0)) {
        std::ostringstream message;
        message << function << " needs a positive argument, got " << x;
        throw std::domain_error(message.str());
    }
}

// sum_i c[i] * w^i, for the asymptotic series below.
template <std::size_t N>
double polynomial(const double (&c)[N], double w) {
    double result = 0.0;
    for (std::size_t i = N; i-- > 0;) result = result * w + c[i];
    return result;
}

// Asymptotic tail of ln(z) - psi(z) for z >= 10: 1/(2z) + sum_n B_2n / (2n z^2n).
double log_minus_digamma_asymptotic(double z) {
    static constexpr double c[] = {1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0,
                                   1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0};
    const double r2 = 1.0 / (z * z);
    return 0.5 / z + r2 * polynomial(c, r2);
}

// Asymptotic tail of psi'(z) - 1/z for z >= 10: 1/(2z^2) + sum_n B_2n / z^(2n+1).
double trigamma_tail_asymptotic(double z) {
    static constexpr double c[] = {1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0,
                                   5.0 / 66.0, -691.0 / 2730.0, 7.0 / 6.0};
    const double r = 1.0 / z;
    const double r2 = r * r;
    return 0.5 * r2 + r2 * r * polynomial(c, r2);
}

}  // namespace

double log_gamma(double x) {
    require_positive("log_gamma", x);
    return boost::math::lgamma(x, Policy());
}

double log_minus_digamma(double x) {
    require_positive("log_minus_digamma", x);
    // psi(x) = psi(x + n) - sum_{i<n} 1/(x + i)
    double reciprocal_sum = 0.0;
    double z = x;
    while (z < kAsymptoticFrom) {
        reciprocal_sum += 1.0 / z;
        z += 1.0;
    }
    if (z == x) return log_minus_digamma_asymptotic(z);
    return std::log(x / z) + log_minus_digamma_asymptotic(z) + reciprocal_sum;
}

double digamma(double x) {
    require_positive("digamma", x);
    return boost::math::digamma(x, Policy());
}

double trigamma_minus_reciprocal(double x) {
    require_positive("trigamma_minus_reciprocal", x);
    // psi'(x) = psi'(x + n) + sum_{i<n} 1/(x + i)^2
    double square_sum = 0.0;
    double z = x;
    while (z < kAsymptoticFrom) {
        square_sum += 1.0 / (z * z);
        z += 1.0;
    }
    if (z == x) return trigamma_tail_asymptotic(z);
    return square_sum + trigamma_tail_asymptotic(z) + (1.0 / z - 1.0 / x);
}

double trigamma(double x) {
    require_positive("trigamma", x);
    return boost::math::trigamma(x, Policy());
}

double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * kPi); }

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double normal_mills_ratio(double x) {
    if (x < 25.0) return 0.5 * std::erfc(x / std::sqrt(2.0)) / normal_pdf(x);
    // Q(x)/phi(x) = 1/(x + 1/(x + 2/(x + 3/(x + ...)))), evaluated from the bottom; for x >= 25
    // 60 levels are far more than double precision needs.
    double tail = x;
    for (int i = 60; i >= 1; --i) tail = x + i / tail;
    return 1.0 / tail;
}

double regularized_gamma_p(double a, double x) {
    if (std::isnan(a) || std::isnan(x) || !(a > 0.0)) {
        std::ostringstream message;
        message << "regularized_gamma_p needs a > 0 and x not NaN, got a = " << a << ", x = " << x;
        throw std::domain_error(message.str());
    }
    if (x <= 0.0) return 0.0;
    if (std::isinf(x)) return 1.0;
    return boost::math::gamma_p(a, x, Policy());
}

}  // namespace satsal
