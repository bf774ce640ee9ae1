// Counting metrics on hand-made predictions, independent of any model.
#include <catch2/catch.hpp>

#include <cmath>

#include "cowc/CountingMetrics.hpp"

using namespace satsal::counting;

TEST_CASE("counting metrics on a hand-computed case", "[counting][metrics]") {
    // errors: 0, +1, 0, -2, 0
    const CountingMetrics m = compute_counting_metrics({0, 1, 2, 3, 3}, {0, 2, 2, 1, 3});
    CHECK(m.n == 5);
    CHECK(m.exact_accuracy == Approx(3.0 / 5));
    CHECK(m.within_one_accuracy == Approx(4.0 / 5));
    CHECK(m.mean_absolute_error == Approx(3.0 / 5));
    CHECK(m.mean_error == Approx(-1.0 / 5));
    CHECK(m.rmse == Approx(std::sqrt(5.0 / 5)));
    CHECK(m.true_total == 9);
    CHECK(m.predicted_total == 8);
    CHECK(m.total_error == Approx(1.0 / 9));
    REQUIRE(m.per_count.size() == 4);
    CHECK(m.per_count[1].true_count == 1);
    CHECK(m.per_count[1].mean_predicted == Approx(2.0));
    CHECK(m.per_count[1].exact_rate == Approx(0.0));
    CHECK(m.per_count[3].true_count == 3);
    CHECK(m.per_count[3].n == 2);
    CHECK(m.per_count[3].mean_predicted == Approx(2.0));
    CHECK(m.per_count[3].exact_rate == Approx(0.5));
    CHECK(m.per_count[3].mean_absolute_error == Approx(1.0));

    const std::string json = counting_metrics_json(m);
    CHECK(json.find("\"n\": 5, \"exact_accuracy\": 0.6, \"within_one_accuracy\": 0.8, \"mean_absolute_error\": 0.6") !=
          std::string::npos);
    CHECK(json.find("{\"true_count\": 3, \"n\": 2, \"mean_predicted\": 2, \"exact_rate\": 0.5, "
                    "\"mean_absolute_error\": 1}") != std::string::npos);
    const std::string text = counting_metrics_text(m);
    CHECK(text.find("exact 0.6000  within-one 0.8000  MAE 0.6000") != std::string::npos);
}

TEST_CASE("counting metrics: perfect predictions and an all-zero set", "[counting][metrics]") {
    const CountingMetrics perfect = compute_counting_metrics({4, 7, 0}, {4, 7, 0});
    CHECK(perfect.exact_accuracy == 1.0);
    CHECK(perfect.mean_absolute_error == 0.0);
    CHECK(perfect.total_error == 0.0);
    const CountingMetrics zeros = compute_counting_metrics({0, 0}, {0, 0});
    CHECK(zeros.total_error == 0.0);
    const CountingMetrics over = compute_counting_metrics({0, 0}, {1, 0});
    CHECK(std::isinf(over.total_error));
    CHECK(counting_metrics_json(over).find("\"total_error\": null") != std::string::npos);
}

TEST_CASE("counting metrics reject mismatched or empty input", "[counting][metrics]") {
    CHECK_THROWS_WITH(compute_counting_metrics({1, 2}, {1}),
                      "compute_counting_metrics: 2 true counts but 1 predictions");
    CHECK_THROWS_WITH(compute_counting_metrics({}, {}), "compute_counting_metrics: no patches to score");
    CHECK_THROWS_WITH(compute_counting_metrics({1, -1}, {1, 0}),
                      "compute_counting_metrics: negative count at index 1 (true -1, predicted 0)");
}
