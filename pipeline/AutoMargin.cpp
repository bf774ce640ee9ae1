#include "pipeline/AutoMargin.hpp"

#include "io/RasterReader.hpp"
#include "pipeline/MethodPass.hpp"
#include "pipeline/Seams.hpp"
#include "tiling/Seams.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace satsal {
namespace {

std::string format(const char* pattern, double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, pattern, value);
    return buffer;
}

}  // namespace

int64_t choose_auto_margin(RunSetup& setup, const std::string& scene, const BandScaling& scaling,
                           const RunEvents& events) {
    const RunConfig& config = setup.config;
    const int64_t s = setup.deepest_stride;
    std::vector<int64_t> candidates;
    // Up to 8 strides (256 px for stride 32): ResNet-50 was measured below 1% at 128.
    for (int64_t m = s; m <= std::min<int64_t>(config.tile_size, 8 * s); m += s) candidates.push_back(m);
    const int64_t max_margin = candidates.back();
    const int64_t want = seam_probe_side(config.tile_size, max_margin);
    const RasterReader reader(scene);
    const int64_t probe_w = std::min<int64_t>(want, reader.width()) / s * s;
    const int64_t probe_h = std::min<int64_t>(want, reader.height()) / s * s;
    if (probe_w < config.tile_size + 2 * max_margin || probe_h < config.tile_size + 2 * max_margin) {
        // Too small a scene to measure seams between tiles at every candidate margin; a scene this
        // small has at most a few tiles, so take the largest candidate.
        setup.margin_report["chosen"] = max_margin;
        setup.margin_report["reason"] = "scene too small for a seam probe; the largest candidate margin was used";
        events.say_note("margin = auto: " + scene + " is too small for a seam probe; using margin " +
                        std::to_string(max_margin));
        return max_margin;
    }
    const SeamProbe probe = read_seam_probe(scene, scaling, want, s);
    // A gradient method's map needs context too: its seam error on the same probe is the last
    // entry of each candidate's errors (pipeline/MethodPass.hpp).
    std::optional<MethodSeamProbe> method_reference;
    // (Counting runs score the method per counting window, not on these tiles: no probe.)
    if (setup.method && !setup.counting) {
        method_reference = method_seam_reference(*setup.method, probe, config.tile_size, max_margin);
    }
    const MarginChoice choice = choose_margin(
        candidates,
        [&](int64_t margin) {
            std::vector<double> errors = seam_errors(*setup.model, probe, config.tile_size, margin, max_margin,
                                                     setup.statistic, std::max(1, config.batch_size))
                                             .errors;
            if (method_reference) {
                errors.push_back(method_seam_error(*setup.method, probe, *method_reference, margin,
                                                   std::max(1, config.batch_size)));
            }
            return errors;
        },
        config.seam_tolerance);
    nlohmann::ordered_json measured = nlohmann::ordered_json::array();
    for (const auto& m : choice.measured) {
        measured.push_back({{"margin", m.margin}, {"errors", m.errors}});
    }
    setup.margin_report["chosen"] = choice.margin;
    setup.margin_report["tolerance"] = config.seam_tolerance;
    setup.margin_report["probe"] = scene + " centre crop " + std::to_string(probe_w) + "x" + std::to_string(probe_h);
    setup.margin_report["measured"] = measured;
    if (method_reference) {
        setup.margin_report["method"] = setup.method->description() + ": its seam error is the last of each errors list "
                                        "(raw map x input pixels, class " + std::to_string(method_reference->target) +
                                        " for every tile; IG steps and SmoothGrad samples capped at " +
                                        std::to_string(kProbeIterations) + ")";
    }
    events.say_note("margin = auto chose " + std::to_string(choice.margin) + " px (worst layer seam error " +
                    format("%.2e", choice.measured.back().worst()) + " <= " + format("%.2e", config.seam_tolerance) +
                    ", probe " + std::to_string(probe_w) + "x" + std::to_string(probe_h) + " of " + scene + ")");
    return choice.margin;
}

}  // namespace satsal
