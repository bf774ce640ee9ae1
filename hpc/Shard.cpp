#include "hpc/Shard.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace satsal::hpc {
namespace {

constexpr long max_shards = 1000000;

bool parse_long(const std::string& text, long& value) {
    if (text.empty() || text.size() > 18) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    errno = 0;
    value = std::strtol(text.c_str(), nullptr, 10);
    return errno == 0;
}

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

}  // namespace

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& option, const std::string& text) {
    const std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
    const auto slash = text.find('/');
    long index = 0, count = 0;
    if (slash == std::string::npos || !parse_long(text.substr(0, slash), index) ||
        !parse_long(text.substr(slash + 1), count)) {
        throw std::invalid_argument(option + " '" + shown + "': expected I/N with whole numbers, e.g. 0/4");
    }
    if (count < 1 || count > max_shards) {
        throw std::invalid_argument(option + " '" + shown + "': N must be between 1 and " +
                                    std::to_string(max_shards));
    }
    if (index >= count) {
        throw std::invalid_argument(option + " '" + shown + "': I must be below N (shards are numbered 0 to N-1)");
    }
    return Shard{static_cast<int>(index), static_cast<int>(count)};
}

std::optional<Shard> shard_from_slurm_environment() {
    const auto id = environment("SLURM_ARRAY_TASK_ID");
    if (!id) return std::nullopt;
    const auto count_text = environment("SLURM_ARRAY_TASK_COUNT");
    const auto min_text = environment("SLURM_ARRAY_TASK_MIN");
    long task = 0, count = 0, min = 0;
    if (!parse_long(*id, task) || !count_text || !parse_long(*count_text, count) || !min_text ||
        !parse_long(*min_text, min)) {
        throw std::invalid_argument("Slurm array variables SLURM_ARRAY_TASK_ID='" + *id + "', SLURM_ARRAY_TASK_COUNT='" +
                                    count_text.value_or("(unset)") + "', SLURM_ARRAY_TASK_MIN='" +
                                    min_text.value_or("(unset)") + "': expected whole numbers");
    }
    const auto max_text = environment("SLURM_ARRAY_TASK_MAX");
    long max = 0;
    if (max_text && parse_long(*max_text, max) && max - min + 1 != count) {
        throw std::invalid_argument("Slurm array " + *min_text + "-" + *max_text + " holds " + *count_text +
                                    " tasks, not a contiguous range: submit it as --array=0-(N-1) (a step or a "
                                    "list such as 1,3,7 would leave scenes out), or pass --shard I/N explicitly");
    }
    if (count < 1 || task < min || task - min >= count) {
        throw std::invalid_argument(
            "Slurm array task " + *id + " is not within SLURM_ARRAY_TASK_MIN=" + *min_text + " .. MIN + SLURM_ARRAY_TASK_COUNT-1 (" +
            *count_text + " tasks): submit the array as --array=0-(N-1) (a step, e.g. 0-9:2, is not supported), "
            "or pass --shard I/N explicitly");
    }
    return Shard{static_cast<int>(task - min), static_cast<int>(count)};
}

std::vector<std::string> shard_scenes(const std::vector<std::string>& scenes, const Shard& shard) {
    std::vector<std::string> out;
    for (size_t i = static_cast<size_t>(shard.index); i < scenes.size(); i += static_cast<size_t>(shard.count)) {
        out.push_back(scenes[i]);
    }
    return out;
}

}  // namespace satsal::hpc
