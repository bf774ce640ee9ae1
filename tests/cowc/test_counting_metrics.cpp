// Counting metrics on hand-made predictions, independent of any model.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

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

    // The JSON text, parsed back: every key in its place with the computed value (doubles
    // round-trip exactly), per_count one object per true count.
    const nlohmann::ordered_json json = nlohmann::ordered_json::parse(counting_metrics_json(m).dump());
    std::vector<std::string> keys;
    for (const auto& item : json.items()) keys.push_back(item.key());
    CHECK(keys == std::vector<std::string>{"n", "exact_accuracy", "within_one_accuracy", "mean_absolute_error",
                                           "mean_error", "rmse", "true_total", "predicted_total", "total_error",
                                           "per_count"});
    CHECK(json.at("n") == 5);
    CHECK(json.at("exact_accuracy").get<double>() == 3.0 / 5);
    CHECK(json.at("within_one_accuracy").get<double>() == 4.0 / 5);
    CHECK(json.at("mean_absolute_error").get<double>() == 3.0 / 5);
    CHECK(json.at("mean_error").get<double>() == -1.0 / 5);
    CHECK(json.at("rmse").get<double>() == 1.0);
    CHECK(json.at("true_total") == 9);
    CHECK(json.at("predicted_total") == 8);
    CHECK(json.at("total_error").get<double>() == 1.0 / 9);
    REQUIRE(json.at("per_count").size() == 4);
    CHECK(json.at("per_count")[3] == nlohmann::ordered_json{{"true_count", 3},
                                                            {"n", 2},
                                                            {"mean_predicted", 2.0},
                                                            {"exact_rate", 0.5},
                                                            {"mean_absolute_error", 1.0}});
    CHECK(json.at("per_count")[0].at("true_count") == 0);
    CHECK(json.at("per_count")[1].at("mean_predicted").get<double>() == 2.0);
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
    // JSON has no infinity: the text holds null there, and still parses.
    const std::string text = counting_metrics_json(over).dump();
    CHECK(text.find("\"total_error\":null") != std::string::npos);
    CHECK(nlohmann::json::parse(text).at("total_error").is_null());
}

TEST_CASE("counting metrics reject mismatched or empty input", "[counting][metrics]") {
    CHECK_THROWS_WITH(compute_counting_metrics({1, 2}, {1}),
                      "compute_counting_metrics: 2 true counts but 1 predictions");
    CHECK_THROWS_WITH(compute_counting_metrics({}, {}), "compute_counting_metrics: no patches to score");
    CHECK_THROWS_WITH(compute_counting_metrics({1, -1}, {1, 0}),
                      "compute_counting_metrics: negative count at index 1 (true -1, predicted 0)");
}
