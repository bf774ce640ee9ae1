#pragma once
// Checks a scene run makes before any work, so that a hostile or unlucky input fails at once with
// a clear message instead of writing in the wrong place or exhausting memory.
//
// Thread rules: free functions without shared state.
#include <cstdint>
#include <string>
#include <vector>

namespace satsal {

/// Output folder names of the scenes (their stems) checked as a batch: each must be a safe path
/// component (io/PathPolicy: not "", ".", "..", "..."; `...tif` has the stem ".."), no two
/// scenes may share one, and none may take a name the batch writes itself (`counts.csv`,
/// `count-summary.json`). Returns one problem text per scene, "" when the scene may run.
std::vector<std::string> scene_folder_problems(const std::vector<std::string>& scenes);

/// The margin actually used for a scene of width x height: a margin wider than the scene's larger
/// side (rounded up to the stride) only adds padding around padding and grows every tile's input
/// quadratically (margin 4096 on a 512^2 scene took 14.7 GB), so it is capped there. `note`
/// receives the stated rule when the cap applies, "" otherwise.
int64_t capped_margin(int64_t margin, int64_t width, int64_t height, int64_t stride, std::string& note);

}  // namespace satsal
