#pragma once
// Squashing a raw statistic map into [0, 1] (paper Sec. 2.2).
#include "saliency/Map.hpp"

#include <string>

namespace satsal {

enum class Normalization {
    Gauss,  // normal CDF with the map's mean and standard deviation (the paper's default)
    Gamma,  // Gamma CDF (method-of-moments shape/scale) via a correct regularized lower incomplete gamma
    Range,  // (s - min) / (max - min)
};

/// Names: gauss, gamma, range. Throws std::invalid_argument naming the value and the choices.
Normalization parse_normalization(const std::string& name);
std::string normalization_name(Normalization normalization);

/// Summary of one map's values (or a whole scene's, accumulated), enough for every normalization.
struct MapMoments {
    double count = 0;
    double sum = 0;
    double sum_squares = 0;
    double min = 0;
    double max = 0;

    void add(double value);
    void merge(const MapMoments& other);
    double mean() const;
    double stddev() const;  // population standard deviation
};

MapMoments moments(const Map& map);

/// Normalize in place with the map's own statistics (per map and per image, as in the paper).
void normalize(Normalization normalization, Map& map);
/// Normalize in place with given statistics (e.g. accumulated over a whole scene).
void normalize_with(Normalization normalization, const MapMoments& stats, Map& map);

}  // namespace satsal
