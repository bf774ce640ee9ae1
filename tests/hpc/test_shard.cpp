#include "hpc/Shard.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <set>

using satsal::hpc::parse_shard;
using satsal::hpc::Shard;
using satsal::hpc::shard_from_slurm_environment;
using satsal::hpc::shard_scenes;

namespace {

// Sets Slurm array variables for one test and clears them afterwards.
struct SlurmEnvironment {
    SlurmEnvironment(const char* id, const char* count, const char* min, const char* max) {
        set("SLURM_ARRAY_TASK_ID", id);
        set("SLURM_ARRAY_TASK_COUNT", count);
        set("SLURM_ARRAY_TASK_MIN", min);
        set("SLURM_ARRAY_TASK_MAX", max);
    }
    ~SlurmEnvironment() {
        for (const char* name : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                                 "SLURM_ARRAY_TASK_MAX"}) {
            unsetenv(name);
        }
    }
    static void set(const char* name, const char* value) {
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
};

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("parse_shard reads I/N and names the option and value when it is wrong", "[hpc]") {
    const Shard s = parse_shard("--shard", "2/5");
    CHECK(s.index == 2);
    CHECK(s.count == 5);
    CHECK(s.text() == "2/5");
    CHECK(message_of([] { parse_shard("--shard", "5/5"); }) ==
          "--shard '5/5': I must be below N (shards are numbered 0 to N-1)");
    CHECK(message_of([] { parse_shard("--shard", "0/0"); }) == "--shard '0/0': N must be between 1 and 1000000");
    CHECK(message_of([] { parse_shard("--shard", "-1/4"); }) ==
          "--shard '-1/4': expected I/N with whole numbers, e.g. 0/4");
    CHECK(message_of([] { parse_shard("--shard", "1"); }) == "--shard '1': expected I/N with whole numbers, e.g. 0/4");
    CHECK(message_of([] { parse_shard("--shard", "1/99999999999999999999"); }) ==
          "--shard '1/99999999999999999999': expected I/N with whole numbers, e.g. 0/4");
}

TEST_CASE("shards deal scenes round-robin and together cover each scene exactly once", "[hpc]") {
    const std::vector<std::string> scenes{"a", "b", "c", "d", "e", "f", "g"};
    CHECK(shard_scenes(scenes, {0, 3}) == std::vector<std::string>{"a", "d", "g"});
    CHECK(shard_scenes(scenes, {1, 3}) == std::vector<std::string>{"b", "e"});
    CHECK(shard_scenes(scenes, {2, 3}) == std::vector<std::string>{"c", "f"});
    for (int n : {1, 2, 5, 7, 10}) {
        std::multiset<std::string> seen;
        for (int i = 0; i < n; ++i) {
            for (const auto& scene : shard_scenes(scenes, {i, n})) seen.insert(scene);
        }
        CHECK(seen == std::multiset<std::string>(scenes.begin(), scenes.end()));
    }
    CHECK(shard_scenes(scenes, {8, 10}).empty());
}

TEST_CASE("the shard of a Slurm array task comes from SLURM_ARRAY_TASK_*", "[hpc]") {
    {
        SlurmEnvironment env(nullptr, nullptr, nullptr, nullptr);
        CHECK_FALSE(shard_from_slurm_environment().has_value());
    }
    {
        SlurmEnvironment env("7", "4", "5", "8");  // --array=5-8
        const auto shard = shard_from_slurm_environment();
        REQUIRE(shard.has_value());
        CHECK(shard->index == 2);
        CHECK(shard->count == 4);
    }
    {
        SlurmEnvironment env("4", "3", "0", "8");  // --array=0-8:4 leaves scenes out
        CHECK(message_of([] { shard_from_slurm_environment(); }).find("not a contiguous range") != std::string::npos);
    }
    {
        SlurmEnvironment env("x", "3", "0", "2");
        CHECK(message_of([] { shard_from_slurm_environment(); }).find("SLURM_ARRAY_TASK_ID='x'") != std::string::npos);
    }
}
