#pragma once
// Helpers for the counting tests: temporary folders and a tiny counting patch set drawn here
// (cars are bright 30 x 12 px rectangles on a textured gray content square), written in the COWC
// layout with the cowc/ writers.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cowc/CountingList.hpp"
#include "cowc/Names.hpp"
#include "cowc/Raster.hpp"
#include "cowc/CountingLayout.hpp"
#include "tests/cowc/test_support.hpp"

namespace satsal::counting::test {

using cowc_test::TempDir;

/// A 256 x 256 patch with `count` cars in its content square, margin in the COWC colour.
inline cowc::Rgb8Image draw_patch(int count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    cowc::Rgb8Image image(kPatchSize, kPatchSize, kMarginColour[0], kMarginColour[1], kMarginColour[2]);
    const int first = (kPatchSize - kContentSize) / 2;
    for (int y = first; y < first + kContentSize; ++y)
        for (int x = first; x < first + kContentSize; ++x) {
            const auto v = static_cast<std::uint8_t>(70 + rng() % 20);
            std::uint8_t* p = image.at(x, y);
            p[0] = p[1] = p[2] = v;
        }
    // Cars on a 4 x 8 grid of slots (48 x 24 px each) so they never overlap.
    std::vector<int> slots(32);
    for (int i = 0; i < 32; ++i) slots[i] = i;
    std::shuffle(slots.begin(), slots.end(), rng);
    for (int c = 0; c < count; ++c) {
        const int slot = slots[static_cast<std::size_t>(c)];
        const int x0 = first + (slot % 4) * 48 + 9, y0 = first + (slot / 4) * 24 + 6;
        const std::uint8_t colour[3] = {static_cast<std::uint8_t>(200 + rng() % 56),
                                        static_cast<std::uint8_t>(180 + rng() % 76),
                                        static_cast<std::uint8_t>(160 + rng() % 96)};
        for (int y = y0; y < y0 + 12; ++y)
            for (int x = x0; x < x0 + 30; ++x) {
                std::uint8_t* p = image.at(x, y);
                p[0] = colour[0];
                p[1] = colour[1];
                p[2] = colour[2];
            }
    }
    return image;
}

/// Writes `per_class` patches for every count 0..classes-1 under `<root>/Synth_Test/<split>/`
/// and the list `<root>/<list_name>`; returns the list path.
inline std::string write_patch_set(const std::string& root, const std::string& split, const std::string& list_name,
                                   int classes, int per_class, std::uint64_t seed) {
    std::vector<cowc::CountingListEntry> entries;
    for (int i = 0; i < per_class; ++i) {
        for (int count = 0; count < classes; ++count) {
            cowc::CountingListEntry entry;
            entry.site = "Synth_Test";
            entry.split = split;
            entry.count = count;
            entry.name = cowc::CountingPatchName{count, 100 + i, 200 + count, 0};
            entry.file = cowc::format_counting_patch_name(entry.name);
            cowc::write_png(root + "/" + entry.relative_path(), draw_patch(count, seed * 1000 + i * 64 + count));
            entries.push_back(entry);
        }
    }
    const std::string list = root + "/" + list_name;
    cowc::write_counting_list(list, entries);
    return list;
}

}  // namespace satsal::counting::test
