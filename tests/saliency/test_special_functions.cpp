#include "saliency/SpecialFunctions.hpp"

#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/trigamma.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

using namespace satsal;

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kEulerGamma = 0.57721566490153286061;
}  // namespace

TEST_CASE("digamma and trigamma at known points", "[special]") {
    CHECK(digamma(1.0) == Approx(-kEulerGamma).epsilon(1e-13));
    CHECK(digamma(0.5) == Approx(-kEulerGamma - 2 * std::log(2.0)).epsilon(1e-13));
    CHECK(digamma(10.0) == Approx(-kEulerGamma + 7129.0 / 2520.0).epsilon(1e-13));  // H_9
    // psi(x) = -1/x - gamma + zeta(2) x - zeta(3) x^2 + zeta(4) x^3 - ... near 0
    CHECK(digamma(1e-3) == Approx(-1000.0 - kEulerGamma + kPi * kPi / 6 * 1e-3 - 1.2020569031595942e-6 +
                                 1.0823232337111382e-9).epsilon(1e-13));
    CHECK(trigamma(1.0) == Approx(kPi * kPi / 6).epsilon(1e-13));
    CHECK(trigamma(0.5) == Approx(kPi * kPi / 2).epsilon(1e-13));
    CHECK(trigamma(2.0) == Approx(kPi * kPi / 6 - 1).epsilon(1e-13));
    // recurrences across the asymptotic switch at 10
    for (double x : {0.3, 2.7, 9.5, 9.999, 10.0, 10.5, 123.4}) {
        CHECK(digamma(x + 1) == Approx(digamma(x) + 1 / x).epsilon(1e-13));
        CHECK(trigamma(x + 1) == Approx(trigamma(x) - 1 / (x * x)).epsilon(1e-12));
    }
    CHECK_THROWS_AS(digamma(0.0), std::domain_error);
}

TEST_CASE("ln(x) - digamma(x) and trigamma(x) - 1/x without cancellation", "[special]") {
    for (double x : {0.05, 1.0, 3.0, 9.9, 20.0}) {
        CHECK(log_minus_digamma(x) == Approx(std::log(x) - digamma(x)).epsilon(1e-12));
        CHECK(trigamma_minus_reciprocal(x) == Approx(trigamma(x) - 1 / x).epsilon(1e-11));
    }
    // Against Boost in long double (11 more bits, so the difference of Boost's psi and ln keeps
    // >= 13 digits up to x = 1e4), across the switch to the asymptotic series at 10.
    double worst_log = 0, worst_tri = 0;
    for (double x = 1e-4; x < 1e4; x *= 1.037) {
        const long double xl = x;
        const long double log_ref = std::log(xl) - boost::math::digamma(xl);
        const long double tri_ref = boost::math::trigamma(xl) - 1.0L / xl;
        worst_log = std::max(worst_log, static_cast<double>(std::fabs((log_minus_digamma(x) - log_ref) / log_ref)));
        worst_tri = std::max(worst_tri,
                             static_cast<double>(std::fabs((trigamma_minus_reciprocal(x) - tri_ref) / tri_ref)));
    }
    CHECK(worst_log < 1e-13);
    CHECK(worst_tri < 1e-13);
    // large x: 1/(2x) + 1/(12x^2) and 1/(2x^2) + 1/(6x^3) to full precision
    const double x = 1e7;
    CHECK(log_minus_digamma(x) == Approx(1 / (2 * x) + 1 / (12 * x * x)).epsilon(1e-14));
    CHECK(trigamma_minus_reciprocal(x) == Approx(1 / (2 * x * x) + 1 / (6 * x * x * x)).epsilon(1e-14));
}

TEST_CASE("log_gamma at known points", "[special]") {
    CHECK(log_gamma(1.0) == Approx(0.0).margin(1e-14));
    CHECK(log_gamma(0.5) == Approx(0.5 * std::log(kPi)).epsilon(1e-14));
    CHECK(log_gamma(5.0) == Approx(std::log(24.0)).epsilon(1e-14));
    CHECK(log_gamma(100.0) == Approx(359.13420536957539878).epsilon(1e-14));
    CHECK(log_gamma(1e-5) == Approx(11.512919692895824).epsilon(1e-12));
}

TEST_CASE("normal pdf, cdf and Mills ratio", "[special]") {
    CHECK(normal_pdf(0.0) == Approx(1 / std::sqrt(2 * kPi)).epsilon(1e-15));
    CHECK(normal_cdf(0.0) == 0.5);
    CHECK(normal_cdf(1.0) == Approx(0.8413447460685429).epsilon(1e-14));
    CHECK(normal_cdf(-3.0) == Approx(0.0013498980316300946).epsilon(1e-12));
    // Mills ratio on both sides of the switch at 25 (values from mpmath at 30 digits), and
    // ~ 1/x (1 - 1/x^2 + 3/x^4) far out
    CHECK(normal_mills_ratio(24.9) == Approx(0.0400961793040976136).epsilon(1e-13));
    CHECK(normal_mills_ratio(25.0) == Approx(0.0399363047695355925).epsilon(1e-13));
    CHECK(normal_mills_ratio(25.1) == Approx(0.0397776981122659268).epsilon(1e-13));
    CHECK(normal_mills_ratio(40.0) == Approx(0.0249844042057205711).epsilon(1e-13));
    const double x = 1000.0;
    CHECK(normal_mills_ratio(x) == Approx(1 / x * (1 - 1 / (x * x) + 3 / std::pow(x, 4))).epsilon(1e-14));
    CHECK(normal_mills_ratio(0.0) == Approx(std::sqrt(kPi / 2)).epsilon(1e-14));
}

TEST_CASE("regularized lower incomplete gamma at known values", "[special]") {
    for (double x : {1e-8, 0.01, 0.5, 1.0, 2.0, 3.7, 10.0, 30.0}) {
        INFO("x = " << x);
        CHECK(regularized_gamma_p(1.0, x) == Approx(-std::expm1(-x)).epsilon(1e-13));
        CHECK(regularized_gamma_p(0.5, x) == Approx(std::erf(std::sqrt(x))).epsilon(1e-13));
        // P(2, x) = 1 - (1 + x) e^-x
        CHECK(regularized_gamma_p(2.0, x) == Approx(1 - (1 + x) * std::exp(-x)).epsilon(1e-12).margin(1e-15));
    }
    // P(a, a) -> 1/2 for large a (mean of the gamma ~ median); P(100, 100) = 0.5132987982791...
    CHECK(regularized_gamma_p(100.0, 100.0) == Approx(0.51329879827914).epsilon(1e-12));
    CHECK(regularized_gamma_p(3.0, 0.0) == 0.0);
    CHECK(regularized_gamma_p(3.0, -1.0) == 0.0);
    CHECK(regularized_gamma_p(3.0, INFINITY) == 1.0);
    CHECK_THROWS_AS(regularized_gamma_p(0.0, 1.0), std::domain_error);
    CHECK_THROWS_AS(regularized_gamma_p(1.0, NAN), std::domain_error);
}

TEST_CASE("the Boost wrappers agree with Boost in long double", "[special]") {
    for (double x : {1e-6, 0.01, 0.3, 1.0, 4.5, 17.9, 18.0, 250.0, 1e5}) {
        INFO("x = " << x);
        const long double xl = x;
        CHECK(log_gamma(x) == Approx(static_cast<double>(boost::math::lgamma(xl))).epsilon(1e-14).margin(1e-15));
        CHECK(digamma(x) == Approx(static_cast<double>(boost::math::digamma(xl))).epsilon(1e-14).margin(1e-15));
        CHECK(trigamma(x) == Approx(static_cast<double>(boost::math::trigamma(xl))).epsilon(1e-14));
        for (double a : {1e-7, 0.33, 1.0, 4.88, 18.0}) {
            CHECK(regularized_gamma_p(a, x) ==
                  Approx(static_cast<double>(boost::math::gamma_p(static_cast<long double>(a), xl))).epsilon(1e-13));
        }
    }
    CHECK_THROWS_AS(log_gamma(-1.0), std::domain_error);
    CHECK_THROWS_AS(trigamma(0.0), std::domain_error);
}

TEST_CASE("regularized lower incomplete gamma is monotone in x, also for large x", "[special]") {
    // The 8-term truncated series of the public reference implementation turns down for large
    // x; a correct P(a, x) never does, and reaches 1.
    for (double a : {1e-7, 0.05, 0.5, 1.0, 2.5, 7.0, 18.0, 30.0, 250.0, 5000.0}) {
        double previous = 0.0;
        int decreases = 0;
        for (double x = 1e-6; x < 1e5; x *= 1.01) {
            const double p = regularized_gamma_p(a, x);
            if (p < previous) ++decreases;
            CHECK((p >= 0.0 && p <= 1.0));
            previous = p;
        }
        INFO("a = " << a);
        CHECK(decreases == 0);
        CHECK(previous == 1.0);
    }
}
