#include "pipeline/RunGuards.hpp"

#include "io/PathPolicy.hpp"
#include "io/RunConfig.hpp"

#include <algorithm>
#include <map>

namespace satsal {

std::vector<std::string> scene_folder_problems(const std::vector<std::string>& scenes) {
    std::vector<std::string> problems(scenes.size());
    std::map<std::string, std::size_t> first_use;
    for (std::size_t i = 0; i < scenes.size(); ++i) {
        const std::string name = scene_name(scenes[i]);
        if (!is_safe_name_component(name)) {
            try {
                check_name_component(name, "the scene's output folder name (its file name without extension)");
            } catch (const std::exception& error) {
                problems[i] = error.what();
            }
            continue;
        }
        if (name == "counts.csv" || name == "count-summary.json" || name == "collection.json") {
            problems[i] = "the scene's output folder name '" + name +
                          "' is the name of a file the batch writes into output_dir; rename the scene";
            continue;
        }
        const auto [at, fresh] = first_use.emplace(name, i);
        if (!fresh) {
            problems[i] = "the scene has the same output folder name '" + printable(name) + "' as " +
                          scenes[at->second] + "; its outputs would replace that scene's; rename one of them";
        }
    }
    return problems;
}

int64_t capped_margin(int64_t margin, int64_t width, int64_t height, int64_t stride, std::string& note) {
    note.clear();
    const int64_t side = std::max(width, height);
    const int64_t cap = stride > 0 ? (side + stride - 1) / stride * stride : side;
    if (margin <= cap) return margin;
    note = "margin " + std::to_string(margin) + " is wider than the scene (" + std::to_string(width) + "x" +
           std::to_string(height) + "); capped at " + std::to_string(cap) +
           " (the larger side rounded up to the stride): more would only pad the padding";
    return cap;
}

}  // namespace satsal
