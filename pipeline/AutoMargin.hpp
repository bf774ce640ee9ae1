#pragma once
// Stage: margin = auto. On the first scene of a run, the smallest margin (a multiple of the
// deepest stride, up to 8 strides and at most the tile size) whose seam error on a centre crop of
// the scene is within `seam_tolerance` on every layer; the largest candidate when the scene is
// too small for the probe. The choice and its measurements go to run.json (tiling.margin_choice).
//
// Thread rules: runs on the run's thread, using the run's model.
#include "pipeline/BandScaling.hpp"
#include "pipeline/RunEvents.hpp"
#include "pipeline/RunSetup.hpp"

#include <cstdint>
#include <string>

namespace satsal {

/// Decides setup.margin (and setup.margin_report) from `scene`; tells `events` what it chose.
int64_t choose_auto_margin(RunSetup& setup, const std::string& scene, const BandScaling& scaling,
                           const RunEvents& events);

}  // namespace satsal
