#pragma once
// Scores of the saliency evaluation (satsal evaluate), from accuracies alone.
//
// Layer level (paper Sec. 3, Eqs. 8 and 9), with scores in [0, 1] per tap (layer) l = 1..L:
//   kappa_l  accuracy after KAR masking at the tap by the method's map,
//   rho_l    accuracy after ROAR masking by the method's map,
//   zk_l, zr_l  the same with a random map (the paper writes one z; KAR and ROAR masks of a random
//            map differ - 2.5% kept against 90% removed - so each term uses its own random score).
//   Difference score  D = sum_l (zr_l - rho_l) + sum_l (kappa_l - zk_l)                 (Eq. 8)
//   Information score I = sum_l rho_l log2(zr_l / rho_l) + sum_l zk_l log2(kappa_l / zk_l)  (Eq. 9)
// Eq. 9 survives only garbled in the paper's text ("-sum rho_p log2(z_p) - sum z_q log2(kappa_q)"
// with the fractions' numerators lost); our reading restores them as above: a relative-entropy
// form that is 0 when the method equals random and grows as ROAR falls below / KAR rises above
// random. Applied to the paper's own Table 4 (ImageNet, SMOE Scale) it gives 1.80 where Table 1
// prints 1.13, so the paper used some other form; no reading we tried reproduces Table 1.
// A zero score inside a log2 ratio makes the term undefined: we return NaN rather than guess.
//
// Image level (Hooker et al.; paper Table 2): with accuracies a_t at thresholds t,
//   KAR sum = sum_t kar_t,  ROAR sum = -sum_t roar_t,  total = KAR sum + ROAR sum.
// ROAD (Rong et al.): the area between the least-relevant-first and most-relevant-first curves
// over the removal fraction, by the trapezoid rule over the given thresholds (fractions in
// [0, 1]); larger is better for accuracy curves.
//
// Thread rules: pure functions.
#include <vector>

namespace satsal::eval {

/// Throws std::invalid_argument unless all four vectors have the same non-zero length.
double difference_score(const std::vector<double>& random_roar, const std::vector<double>& roar,
                        const std::vector<double>& kar, const std::vector<double>& random_kar);
double information_score(const std::vector<double>& random_roar, const std::vector<double>& roar,
                         const std::vector<double>& kar, const std::vector<double>& random_kar);

struct KarRoarSums {
    double kar = 0;
    double roar = 0;  ///< negative: minus the sum of the ROAR accuracies
    double total = 0;
};
KarRoarSums kar_roar_sums(const std::vector<double>& kar, const std::vector<double>& roar);

/// Trapezoid area of (upper - lower) over x (ascending, same length >= 2). Throws
/// std::invalid_argument otherwise.
double area_between(const std::vector<double>& x, const std::vector<double>& upper, const std::vector<double>& lower);

struct MeanSpread {
    double mean = 0;
    double std = 0;  ///< sample standard deviation (n - 1); 0 for one value
    double min = 0, max = 0;
    int n = 0;
};
MeanSpread mean_spread(const std::vector<double>& values);

}  // namespace satsal::eval
