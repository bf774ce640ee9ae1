#include "tools/Progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace satsal::cli {

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
    if (!finished_ && tty_) std::fputc('\n', stderr);  // leave the bar's line
}

void Progress::update(int64_t done) {
    done_ = done;
    const auto now = std::chrono::steady_clock::now();
    const auto interval = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    std::unique_lock<std::mutex> lock(print_mutex_, std::try_to_lock);
    if (!lock.owns_lock() || now - last_print_ < interval) return;
    last_print_ = now;
    print(false);
}

void Progress::finish() {
    if (finished_) return;
    std::lock_guard<std::mutex> lock(print_mutex_);
    print(true);
    finished_ = true;
}

void Progress::print(bool final_line) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int64_t done = done_.load();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
    if (tty_) {
        constexpr int width = 30;
        const int filled = static_cast<int>(fraction * width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.append(static_cast<std::size_t>(width - filled), '.');
        std::fprintf(stderr, "\r%s [%s] %lld/%lld tiles  %.2f tiles/s  ETA %.0f s   %s", label_.c_str(),
                     bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), rate,
                     eta, final_line ? "\n" : "");
    } else {
        std::fprintf(stderr, "%s: %lld/%lld tiles (%.0f%%), %.2f tiles/s, ETA %.0f s%s\n",
                     label_.c_str(), static_cast<long long>(done), static_cast<long long>(total_),
                     100.0 * fraction, rate, eta, final_line ? ", done" : "");
    }
    std::fflush(stderr);
}

}  // namespace satsal::cli
