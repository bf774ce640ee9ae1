#pragma once
// How a run reports to whoever started it. The library never prints: progress, notes and warnings
// go to these callbacks, and tools/ decides what reaches the terminal (GDAL's GDALProgressFunc in
// spirit). Every callback may be left empty.
//
// Thread rules: `tiles` is called from the pass-1 stitch stage, one call at a time but not
// necessarily on the thread that called run_scenes; the others are called on that thread.
#include <cstdint>
#include <functional>
#include <string>

namespace satsal {

struct SceneOutcome;

struct RunEvents {
    /// Pass-1 progress of `scene`: `done` of `total` tiles written (done == total once, at the end).
    std::function<void(const std::string& scene, int64_t done, int64_t total)> tiles;
    /// Information a user may want (the margin margin = auto chose, ...).
    std::function<void(const std::string& text)> note;
    /// Something is off but the run goes on (no georeferencing, a constant band, ...).
    std::function<void(const std::string& text)> warning;
    /// A scene finished, successfully (outcome.ok) or not (outcome.error).
    std::function<void(const SceneOutcome& outcome)> scene_done;

    void say_note(const std::string& text) const {
        if (note) note(text);
    }
    void say_warning(const std::string& text) const {
        if (warning) warning(text);
    }
};

}  // namespace satsal
