#include "hpc/RunJournal.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using satsal::hpc::Fingerprint;
using satsal::hpc::FingerprintMismatch;
using satsal::hpc::fingerprint_difference;
using satsal::hpc::RunJournal;

namespace {

struct TempFolder {
    fs::path path;
    TempFolder() {
        path = fs::temp_directory_path() / ("satsal-journal-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempFolder() { fs::remove_all(path); }
};

const Fingerprint fingerprint{{"config key tile_size", "512"},
                              {"config key model", "/m/r50.pt"},
                              {"the model's sha256", "ab12"},
                              {"the input", "scene.tif, 1000 bytes\nmodified 5"}};

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a journal remembers finished units across reopening", "[hpc][journal]") {
    TempFolder temp;
    const std::string path = (temp.path / "journal").string();
    {
        RunJournal journal(path, fingerprint, "rerun with --restart");
        CHECK_FALSE(journal.resumed());
        journal.record(0, "m 1 2 3");
        journal.record(7, "");
        journal.record(3, "x");
    }
    RunJournal again(path, fingerprint, "rerun with --restart");
    CHECK(again.resumed());
    CHECK(again.done() == std::map<int64_t, std::string>{{0, "m 1 2 3"}, {3, "x"}, {7, ""}});
    again.record(9, "y");
    RunJournal third(path, fingerprint, "");
    CHECK(third.done().size() == 4);
}

TEST_CASE("a record cut short by a kill is dropped and trimmed away", "[hpc][journal]") {
    TempFolder temp;
    const std::string path = (temp.path / "journal").string();
    { RunJournal(path, fingerprint, "").record(1, "a"); }
    { std::ofstream(path, std::ios::app) << "2 half-writt"; }
    {
        RunJournal journal(path, fingerprint, "");
        CHECK(journal.done() == std::map<int64_t, std::string>{{1, "a"}});
        journal.record(2, "b");
    }
    const std::string text = read(path);
    CHECK(text.substr(text.find('\n') + 1) == "1 a\n2 b\n");
    // A header cut short: nothing was recorded, the journal starts again.
    { std::ofstream(path, std::ios::trunc) << "satsal-journal 1\tconfig"; }
    RunJournal fresh(path, fingerprint, "");
    CHECK_FALSE(fresh.resumed());
}

TEST_CASE("a changed run is refused, naming each change and how to start over", "[hpc][journal]") {
    TempFolder temp;
    const std::string path = (temp.path / "journal").string();
    { RunJournal(path, fingerprint, "").record(1, "a"); }
    Fingerprint changed = fingerprint;
    changed[0].second = "256";
    changed[2].second = "cd34";
    CHECK_THROWS_MATCHES(RunJournal(path, changed, "Start over with --restart."), FingerprintMismatch,
                         Catch::Message("cannot resume from " + path +
                                        ": config key tile_size changed (512 -> 256); the model's sha256 changed "
                                        "(ab12 -> cd34). Start over with --restart."));
    CHECK(fingerprint_difference(fingerprint, fingerprint).empty());
    Fingerprint fewer(fingerprint.begin(), fingerprint.end() - 1);
    fewer.emplace_back("satsal version", "0.2.0");
    CHECK(fingerprint_difference(fingerprint, fewer) ==
          "satsal version is new (0.2.0); the input is gone (was scene.tif, 1000 bytes\nmodified 5)");
}

TEST_CASE("a file that is not a journal is never overwritten", "[hpc][journal]") {
    TempFolder temp;
    const std::string path = (temp.path / "journal").string();
    { std::ofstream(path) << "my notes\nmore\n"; }
    CHECK_THROWS_WITH(RunJournal(path, fingerprint, ""), Catch::Contains("is not a satsal journal"));
    CHECK(read(path) == "my notes\nmore\n");
}

TEST_CASE("records from several threads all arrive whole", "[hpc][journal]") {
    TempFolder temp;
    const std::string path = (temp.path / "journal").string();
    {
        RunJournal journal(path, fingerprint, "");
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&journal, t] {
                for (int i = 0; i < 25; ++i) journal.record(t * 100 + i, std::string(50, static_cast<char>('a' + t)));
            });
        }
        for (auto& thread : threads) thread.join();
    }
    RunJournal again(path, fingerprint, "");
    REQUIRE(again.done().size() == 100);
    for (const auto& [unit, payload] : again.done()) CHECK(payload == std::string(50, static_cast<char>('a' + unit / 100)));
}
