#include "cowc/CountingPatchSet.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "cowc/CountingList.hpp"
#include "cowc/PatchCutting.hpp"
#include "io/IoError.hpp"

namespace satsal::counting {

CountingPatchSet CountingPatchSet::load(const std::string& list_path, const std::string& root, int classes,
                                        int threads) {
    const std::vector<cowc::CountingListEntry> entries = cowc::read_counting_list(list_path);
    if (entries.empty()) throw IoError("counting list '" + list_path + "' names no patches");
    return load_entries(entries, list_path, root, classes, threads);
}

CountingPatchSet CountingPatchSet::load_entries(const std::vector<cowc::CountingListEntry>& entries,
                                                const std::string& list_path, const std::string& root,
                                                int classes, int threads) {
    if (classes < 2) throw std::invalid_argument("CountingPatchSet::load: classes must be >= 2");

    for (const auto& entry : entries) {
        if (entry.count < 0 || entry.count >= classes) {
            throw IoError("counting list '" + list_path + "': '" + entry.relative_path() + " " +
                          std::to_string(entry.count) + "': count " + std::to_string(entry.count) +
                          " is outside the model's " + std::to_string(classes) + " classes (0.." +
                          std::to_string(classes - 1) + ")");
        }
    }

    CountingPatchSet set;
    set.source_ = list_path;
    set.pixels_.resize(entries.size() * kPatchBytes);
    set.counts_.resize(entries.size());
    set.names_.resize(entries.size());

    const std::string prefix = root.empty() || root.back() == '/' ? root : root + "/";
    std::atomic<std::size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr first_error;
    auto worker = [&]() {
        for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= entries.size()) return;
            {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (first_error) return;
            }
            try {
                const std::string path = prefix + entries[i].relative_path();
                cowc::Rgb8Image image;
                try {
                    image = cowc::read_counting_patch(path);
                } catch (const std::exception& e) {
                    throw IoError(std::string(e.what()) + " (listed in '" + list_path + "' as '" +
                                  entries[i].relative_path() + " " + std::to_string(entries[i].count) + "')");
                }
                std::memcpy(set.pixels_.data() + i * kPatchBytes, image.pixels.data(), kPatchBytes);
                set.counts_[i] = entries[i].count;
                set.names_[i] = entries[i].relative_path();
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!first_error) first_error = std::current_exception();
                return;
            }
        }
    };
    const int workers = std::max(1, std::min<int>(threads, static_cast<int>(entries.size())));
    std::vector<std::thread> pool;
    for (int t = 1; t < workers; ++t) pool.emplace_back(worker);
    worker();
    for (auto& thread : pool) thread.join();
    if (first_error) std::rethrow_exception(first_error);
    return set;
}

void CountingPatchSet::add(const std::uint8_t* rgb, int count, std::string name) {
    if (count < 0) throw std::invalid_argument("CountingPatchSet::add: negative count for '" + name + "'");
    pixels_.insert(pixels_.end(), rgb, rgb + kPatchBytes);
    counts_.push_back(count);
    names_.push_back(std::move(name));
}

int CountingPatchSet::max_count() const {
    return counts_.empty() ? -1 : *std::max_element(counts_.begin(), counts_.end());
}

}  // namespace satsal::counting
