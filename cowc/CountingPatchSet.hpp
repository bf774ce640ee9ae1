#pragma once
// A COWC counting patch set decoded into memory: every listed 256 x 256 RGB patch as uint8
// (196,608 bytes each: 10,000 patches take about 1.9 GB), with its count label. Training and
// evaluation index into it; held-out splits are index lists, not copies.
//
// Thread rules: load() decodes with its own worker threads (one GDAL handle per file, never
// shared). A loaded set is immutable apart from add(); concurrent readers are safe, add() is not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cowc/CountingList.hpp"
#include "cowc/CountingLayout.hpp"

namespace satsal::counting {

class CountingPatchSet {
public:
    static constexpr std::size_t kPatchBytes = static_cast<std::size_t>(kPatchSize) * kPatchSize * 3;

    /// Reads the list file (plain or .bz2; cowc/CountingList.hpp) and decodes every patch it names,
    /// relative to `root`, with `threads` decoding threads (>= 1). Throws IoError naming
    /// the list and the patch for an unreadable or mis-sized patch, and for a count outside
    /// 0..classes-1 (the model could not express it).
    static CountingPatchSet load(const std::string& list_path, const std::string& root, int classes, int threads);

    /// The same for entries already read from `list_path` (a chunk of a large list, say).
    static CountingPatchSet load_entries(const std::vector<cowc::CountingListEntry>& entries,
                                         const std::string& list_path, const std::string& root, int classes,
                                         int threads);

    /// Appends one 256 x 256 interleaved RGB patch (copied). `name` appears in messages.
    void add(const std::uint8_t* rgb, int count, std::string name);

    std::size_t size() const { return counts_.size(); }
    bool empty() const { return counts_.empty(); }
    int count(std::size_t i) const { return counts_.at(i); }
    const std::vector<int>& counts() const { return counts_; }
    const std::uint8_t* pixels(std::size_t i) const { return pixels_.data() + i * kPatchBytes; }
    const std::string& name(std::size_t i) const { return names_.at(i); }
    /// Bytes held by the decoded pixels.
    std::size_t memory_bytes() const { return pixels_.size(); }
    /// The list file this set came from ("" when built with add()).
    const std::string& source() const { return source_; }
    /// Largest count label, -1 when empty.
    int max_count() const;

private:
    std::vector<std::uint8_t> pixels_;
    std::vector<int> counts_;
    std::vector<std::string> names_;
    std::string source_;
};

}  // namespace satsal::counting
