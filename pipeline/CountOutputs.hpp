#pragma once
// Stage: the outputs of COWC car counting runs (task = count) and of annotated scenes.
//
//   annotation lookup    the car annotation PNG of a scene (config `annotations`, or beside it)
//   car saliency         pass 2 measures the saliency near annotated car centres against the
//                        saliency away from cars (run.json saliency_on_cars)
//   count outputs        counts.tif (exactly the scene: pixels of gcd(window, width, height) scene
//                        pixels, each holding its window's count), counts.csv (one row per window,
//                        pixel bounds and the centre in the scene's CRS), counts.gpkg (window
//                        polygons and annotated cars, CountGeoPackage.hpp) and the run.json
//                        `counting` section
//   count summary        <output_dir>/counts.csv and count-summary.json over every scene
//
// Thread rules: measure_car_saliency may run on many threads at once (one OutputBlock each);
// everything else runs on the run's thread.
#include "cowc/Annotations.hpp"
#include "io/GeoReference.hpp"
#include "io/RunConfig.hpp"
#include "saliency/Map.hpp"
#include "tiling/TileGrid.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace satsal {

class OutputStaging;
struct SceneOutcome;

/// The annotated cars of a scene and where they came from.
struct CarAnnotations {
    std::string path;
    cowc::ObjectPositions cars;
};

/// The scene's annotation: `annotations` names the PNG itself or a folder holding
/// `<scene name>_Annotated_Cars.png`; without it, a PNG scene's own annotation beside it is used
/// when present. Throws when a named annotation is missing or its size differs from the scene's.
std::optional<CarAnnotations> load_car_annotations(const RunConfig& config, const std::string& scene,
                                                   int64_t width, int64_t height);

/// Does the saliency look at cars? Sums of the combined map ([0]) and of each upsampled layer
/// ([k + 1]) within kCarCoreRadius px of an annotated car centre and farther than
/// kCarClearRadius px from every centre (the pixels between count as neither).
struct CarSaliency {
    static constexpr int64_t kCarCoreRadius = 6;    // inside a car of any orientation (~12 px wide at 15 cm)
    static constexpr int64_t kCarClearRadius = 20;
    std::vector<double> inside_sum, elsewhere_sum;
    int64_t inside_pixels = 0, elsewhere_pixels = 0;

    void merge(const CarSaliency& other);
    /// run.json's saliency_on_cars section.
    nlohmann::ordered_json to_json(std::size_t cars, std::size_t layers) const;
};

/// The sums of one output block (origin x0, y0; `combined` and `upsampled` of the block's size).
CarSaliency measure_car_saliency(const cowc::ObjectPositions& cars, int64_t x0, int64_t y0, const Map& combined,
                                 const std::vector<Map>& upsampled);

struct CountReport {
    nlohmann::ordered_json json;  // run.json's counting section
    int64_t predicted_total = 0;
    int64_t true_total = -1;      // -1 without annotations
};

/// counts.tif, counts.csv and counts.gpkg in the staging folder; `counts` per window (tile index), -1 for
/// nodata windows.
CountReport write_count_outputs(OutputStaging& staging, const TileGrid& grid, const GeoReference& geo,
                                const std::vector<int>& counts, const CarAnnotations* annotations);

/// <output_dir>/counts.csv (one row per scene, then the summary) and count-summary.json: per-scene
/// percent error |predicted - true| / true, its RMS over scenes, the max, and the total error
/// |sum true - sum predicted| / sum true.
void write_count_summary(const RunConfig& config, const std::vector<SceneOutcome>& scenes);

}  // namespace satsal
