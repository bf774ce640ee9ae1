#include "pipeline/CountOutputs.hpp"

#include "io/AtomicFile.hpp"
#include "io/GeoTiffWriter.hpp"
#include "cowc/CountingLayout.hpp"
#include "pipeline/CountGeoPackage.hpp"
#include "pipeline/OutputStaging.hpp"
#include "pipeline/RunReport.hpp"
#include "pipeline/SceneRun.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <stdexcept>

namespace fs = std::filesystem;

namespace satsal {
namespace {

std::string annotation_path(const RunConfig& config, const std::string& scene) {
    const std::string file = scene_name(scene) + "_Annotated_Cars.png";
    if (!config.annotations.empty()) {
        if (fs::is_directory(config.annotations)) {
            const fs::path candidate = fs::path(config.annotations) / file;
            if (!fs::exists(candidate)) {
                throw std::runtime_error("annotations: " + candidate.string() + " does not exist (the folder " +
                                         config.annotations + " has no annotation for scene " + scene + ")");
            }
            return candidate.string();
        }
        return config.annotations;
    }
    const fs::path beside = fs::path(scene).parent_path() / file;
    return fs::exists(beside) ? beside.string() : std::string();
}

std::string format_number(const char* format, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

}  // namespace

std::optional<CarAnnotations> load_car_annotations(const RunConfig& config, const std::string& scene,
                                                   int64_t width, int64_t height) {
    const std::string path = annotation_path(config, scene);
    if (path.empty()) return std::nullopt;
    const cowc::RasterSize size = cowc::raster_size(path, "car annotation");
    if (size.width != width || size.height != height) {
        throw std::runtime_error(path + " is " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                                 " but the scene " + scene + " is " + std::to_string(width) + "x" +
                                 std::to_string(height));
    }
    return CarAnnotations{path, cowc::read_annotation_positions(path)};
}

void CarSaliency::merge(const CarSaliency& other) {
    if (inside_sum.empty()) {
        inside_sum.assign(other.inside_sum.size(), 0.0);
        elsewhere_sum.assign(other.elsewhere_sum.size(), 0.0);
    }
    for (std::size_t i = 0; i < inside_sum.size(); ++i) {
        inside_sum[i] += other.inside_sum[i];
        elsewhere_sum[i] += other.elsewhere_sum[i];
    }
    inside_pixels += other.inside_pixels;
    elsewhere_pixels += other.elsewhere_pixels;
}

CarSaliency measure_car_saliency(const cowc::ObjectPositions& cars, int64_t bx, int64_t by, const Map& combined,
                                 const std::vector<Map>& upsampled) {
    const int64_t bw = combined.width, bh = combined.height;
    // 0 = away from cars, 1 = between, 2 = car core.
    std::vector<uint8_t> label(static_cast<std::size_t>(bw * bh), 0);
    const int64_t clear = CarSaliency::kCarClearRadius;
    const auto dots = cars.positions_in_window(bx - clear, by - clear, bx + bw + clear, by + bh + clear);
    for (int pass = 1; pass <= 2; ++pass) {
        const int64_t radius = pass == 1 ? clear : CarSaliency::kCarCoreRadius;
        for (const auto& dot : dots) {
            for (int64_t y = std::max<int64_t>(by, dot.y - radius); y <= std::min(by + bh - 1, dot.y + radius); ++y) {
                for (int64_t x = std::max<int64_t>(bx, dot.x - radius); x <= std::min(bx + bw - 1, dot.x + radius); ++x) {
                    const int64_t dx = x - dot.x, dy = y - dot.y;
                    if (dx * dx + dy * dy <= radius * radius) {
                        label[static_cast<std::size_t>((y - by) * bw + (x - bx))] = static_cast<uint8_t>(pass);
                    }
                }
            }
        }
    }
    CarSaliency sums;
    sums.inside_sum.assign(upsampled.size() + 1, 0.0);
    sums.elsewhere_sum.assign(upsampled.size() + 1, 0.0);
    for (int64_t i = 0; i < bw * bh; ++i) {
        const float value = combined.values[static_cast<std::size_t>(i)];
        const uint8_t where = label[static_cast<std::size_t>(i)];
        if (std::isnan(value) || where == 1) continue;
        auto& sum = where == 2 ? sums.inside_sum : sums.elsewhere_sum;
        sum[0] += value;
        for (std::size_t k = 0; k < upsampled.size(); ++k) sum[k + 1] += upsampled[k].values[static_cast<std::size_t>(i)];
        (where == 2 ? sums.inside_pixels : sums.elsewhere_pixels) += 1;
    }
    return sums;
}

nlohmann::ordered_json CarSaliency::to_json(std::size_t cars, std::size_t layers) const {
    nlohmann::ordered_json json;
    json["definition"] = "mean saliency within " + std::to_string(kCarCoreRadius) +
                         " px of an annotated car centre divided by the mean farther than " +
                         std::to_string(kCarClearRadius) + " px from every car centre";
    json["cars"] = static_cast<int64_t>(cars);
    json["inside_pixels"] = inside_pixels;
    json["elsewhere_pixels"] = elsewhere_pixels;
    if (inside_pixels > 0 && elsewhere_pixels > 0) {
        auto ratio = [&](std::size_t i) {
            return (inside_sum[i] / static_cast<double>(inside_pixels)) /
                   (elsewhere_sum[i] / static_cast<double>(elsewhere_pixels));
        };
        json["combined_ratio"] = ratio(0);
        nlohmann::ordered_json layer_ratios = nlohmann::ordered_json::array();
        for (std::size_t k = 0; k < layers; ++k) layer_ratios.push_back(ratio(k + 1));
        json["layer_ratios"] = layer_ratios;
    }
    return json;
}

namespace {

/// counts.tif: pixels of g = gcd(window size, scene width, scene height) scene pixels, so the
/// raster covers exactly the scene (the last, clipped windows included) and window edges fall on
/// pixel edges; every pixel holds its window's count (NaN for nodata windows). Written one row
/// of windows at a time.
void write_count_raster(const std::string& path, const TileGrid& grid, const GeoReference& geo,
                        const std::vector<int>& counts) {
    const int64_t g = std::gcd(grid.tile_size(), std::gcd(grid.scene_width(), grid.scene_height()));
    const int64_t width = grid.scene_width() / g, height = grid.scene_height() / g;
    GeoTiffOptions options;
    options.compression = "ZSTD";
    options.compression_level = 1;
    options.nodata = std::nan("");
    options.overview_resampling = "NEAREST";  // counts stay counts in every overview
    options.band_descriptions = {"cars per window (" + std::to_string(grid.tile_size()) +
                                 " px ownership cores; each pixel holds its window's count)"};
    GeoTiffWriter tiff(path, static_cast<int>(width), static_cast<int>(height), 1, SampleType::Float32,
                       geo.scaled(static_cast<double>(g)), options);
    tiff.set_metadata("window_size_px", std::to_string(grid.tile_size()));
    tiff.set_metadata("pixel_size_px", std::to_string(g));
    std::vector<float> band;
    for (int64_t row = 0; row < grid.rows(); ++row) {
        const Window first = grid.tile(0, row).core;
        const int64_t y0 = first.y / g, rows = first.height / g;
        band.assign(static_cast<std::size_t>(width * rows), std::nanf(""));
        for (int64_t column = 0; column < grid.columns(); ++column) {
            const Tile tile = grid.tile(column, row);
            const int predicted = counts[static_cast<std::size_t>(tile.index)];
            if (predicted < 0) continue;
            for (int64_t y = 0; y < rows; ++y) {
                float* line = band.data() + y * width;
                std::fill(line + tile.core.x / g, line + tile.core.x_end() / g, static_cast<float>(predicted));
            }
        }
        tiff.write_window(1, 0, static_cast<int>(y0), static_cast<int>(width), static_cast<int>(rows), band.data());
    }
    tiff.finish();
}

}  // namespace

CountReport write_count_outputs(OutputStaging& staging, const TileGrid& grid, const GeoReference& geo,
                                const std::vector<int>& counts, const CarAnnotations* annotations) {
    const cowc::ObjectPositions* cars = annotations ? &annotations->cars : nullptr;
    std::string csv = "window,column,row,x0,y0,x1,y1,x_center,y_center,predicted" + std::string(cars ? ",true\n" : "\n");
    int64_t predicted_total = 0, true_total = 0, windows = 0, exact = 0;
    double absolute_error = 0;
    for (int64_t i = 0; i < grid.tile_count(); ++i) {
        const Tile tile = grid.tile(i);
        const int predicted = counts[static_cast<std::size_t>(i)];
        const int64_t truth =
            cars ? cars->count_in_window(tile.core.x, tile.core.y, tile.core.x_end(), tile.core.y_end()) : -1;
        if (predicted >= 0) predicted_total += predicted;
        if (cars) {
            true_total += truth;
            absolute_error += std::abs(static_cast<double>(std::max(predicted, 0)) - static_cast<double>(truth));
            exact += std::max(predicted, 0) == truth ? 1 : 0;
        }
        ++windows;
        // The core's centre in the scene's CRS (pixel coordinates without georeferencing).
        const double cx = static_cast<double>(tile.core.x) + 0.5 * static_cast<double>(tile.core.width);
        const double cy = static_cast<double>(tile.core.y) + 0.5 * static_cast<double>(tile.core.height);
        csv += std::to_string(i) + "," + std::to_string(tile.column) + "," + std::to_string(tile.row) + "," +
               std::to_string(tile.core.x) + "," + std::to_string(tile.core.y) + "," +
               std::to_string(tile.core.x_end()) + "," + std::to_string(tile.core.y_end()) + "," +
               format_number("%.12g", geo.x_at(cx, cy)) + "," + format_number("%.12g", geo.y_at(cx, cy)) + "," +
               (predicted >= 0 ? std::to_string(predicted) : std::string("nodata")) +
               (cars ? "," + std::to_string(truth) : std::string()) + "\n";
    }
    write_count_raster(staging.path("counts.tif"), grid, geo, counts);
    write_text_file(staging.path("counts.csv"), csv);
    write_count_geopackage(staging.path("counts.gpkg"), grid, geo, counts, cars);

    CountReport report;
    report.predicted_total = predicted_total;
    nlohmann::ordered_json& json = report.json;
    json["windows"] = "ownership cores: each window counts the cars whose centre lies in its own " +
                      std::to_string(grid.tile_size()) + " px core (pasted into the " +
                      std::to_string(counting::kInputSize) +
                      " px mean-colour canvas of the COWC counting layout); cores partition the scene, so "
                      "the scene total is the sum of the window counts";
    json["window_count"] = windows;
    json["predicted_total"] = predicted_total;
    if (cars) {
        report.true_total = true_total;
        json["annotations"] = annotations->path;
        json["true_total"] = true_total;
        json["error"] = predicted_total - true_total;
        json["percent_error"] = true_total > 0 ? 100.0 * std::abs(static_cast<double>(predicted_total - true_total)) /
                                                     static_cast<double>(true_total)
                                               : NAN;
        json["window_mean_absolute_error"] = absolute_error / static_cast<double>(windows);
        json["window_exact_fraction"] = static_cast<double>(exact) / static_cast<double>(windows);
    }
    return report;
}

void write_count_summary(const RunConfig& config, const std::vector<SceneOutcome>& outcomes) {
    std::string csv = "scene,predicted,true,error,percent_error\n";
    nlohmann::ordered_json json;
    nlohmann::ordered_json& scenes = json["scenes"] = nlohmann::ordered_json::array();
    double squares = 0, max_error = 0;
    int64_t scored = 0, predicted_sum = 0, true_sum = 0;
    for (const SceneOutcome& scene : outcomes) {
        nlohmann::ordered_json entry;
        entry["scene"] = scene.scene;
        entry["ok"] = scene.ok;
        if (!scene.ok) {
            csv += scene.scene + ",failed,,,\n";
            scenes.push_back(entry);
            continue;
        }
        entry["predicted"] = scene.count_predicted;
        std::string row = scene.scene + "," + std::to_string(scene.count_predicted);
        if (scene.count_true >= 0) {
            const double error = static_cast<double>(scene.count_predicted - scene.count_true);
            const double percent =
                scene.count_true > 0 ? 100.0 * std::abs(error) / static_cast<double>(scene.count_true) : NAN;
            entry["true"] = scene.count_true;
            entry["percent_error"] = percent;
            row += "," + std::to_string(scene.count_true) + "," +
                   std::to_string(scene.count_predicted - scene.count_true) + "," + format_number("%.4f", percent);
            if (std::isfinite(percent)) {
                squares += percent * percent;
                max_error = std::max(max_error, percent);
                ++scored;
            }
            predicted_sum += scene.count_predicted;
            true_sum += scene.count_true;
        } else {
            row += ",,,";
        }
        csv += row + "\n";
        scenes.push_back(entry);
    }
    if (scored > 0) {
        const double rms = std::sqrt(squares / static_cast<double>(scored));
        const double total = true_sum > 0 ? 100.0 * std::abs(static_cast<double>(true_sum - predicted_sum)) /
                                                static_cast<double>(true_sum)
                                          : NAN;
        json["rms_percent_error"] = rms;
        json["max_percent_error"] = max_error;
        json["total_percent_error"] = total;
        json["scenes_scored"] = scored;
        csv += "# rms_percent_error," + format_number("%.4f", rms) + "\n# max_percent_error," +
               format_number("%.4f", max_error) + "\n# total_percent_error," + format_number("%.4f", total) + "\n";
    }
    fs::create_directories(config.output_dir);
    write_text_file((fs::path(config.output_dir) / "counts.csv").string(), csv);
    write_text_file((fs::path(config.output_dir) / "count-summary.json").string(), json_file_text(json));
}

}  // namespace satsal
