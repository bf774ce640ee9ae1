#pragma once
// Progress of a scene run on stderr (fed by RunEvents::tiles): tiles done/total, tiles/s and ETA.
// A live bar redrawn in place on a TTY; periodic plain lines (every 10 s) when stderr is a file
// or pipe, as on a cluster.
//
// Thread rules: update() may be called from any thread (atomic counter; printing is serialized).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace satsal::cli {

class Progress {
public:
    Progress(std::string label, int64_t total);
    ~Progress();
    /// `done` of the total are finished.
    void update(int64_t done);
    /// Final line.
    void finish();

private:
    void print(bool final_line);

    std::string label_;
    int64_t total_;
    bool tty_;
    std::atomic<int64_t> done_{0};
    std::mutex print_mutex_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_print_;
    bool finished_ = false;
};

}  // namespace satsal::cli
