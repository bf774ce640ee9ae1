// io/PathPolicy, io/OutputLock, io/FolderCommit: the mechanisms behind the hostile-input rules.
#include "io/FolderCommit.hpp"
#include "io/IoError.hpp"
#include "io/OutputLock.hpp"
#include "io/PathPolicy.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace fs = std::filesystem;
using namespace satsal;

namespace {

struct Scratch {
    fs::path dir;
    Scratch() {
        char pattern[] = "/tmp/satsal-paths-XXXXXX";
        dir = ::mkdtemp(pattern);
    }
    ~Scratch() {
        std::error_code error;
        fs::remove_all(dir, error);
    }
    std::string file(const std::string& name, const std::string& text = "x") const {
        const fs::path p = dir / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
    std::string path(const std::string& name) const { return (dir / name).string(); }
};

std::string message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const std::exception& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("path policy: name components", "[io][paths]") {
    for (const char* good : {"scene", "syn-01.5%_t", ".hidden", "a..b", "12TVL240120"}) {
        INFO(good);
        CHECK(is_safe_name_component(good));
    }
    for (const char* bad : {"", ".", "..", "...", "a/b", "a\\b", ".satsal-lock", "tab\there"}) {
        INFO(bad);
        CHECK_FALSE(is_safe_name_component(bad));
    }
    CHECK_FALSE(is_safe_name_component(std::string(256, 'a')));
    CHECK_THAT(message_of([] { check_name_component("..", "COWC site"); }),
               Catch::Contains("COWC site '..' is only dots"));
}

TEST_CASE("path policy: relative paths stay under their root", "[io][paths]") {
    CHECK(join_under_root("/data/cowc", "Site/train/a.png", "entry") == "/data/cowc/Site/train/a.png");
    CHECK(join_under_root("/data/cowc/", "Site/train/a.png", "entry") == "/data/cowc/Site/train/a.png");
    CHECK_THAT(message_of([] { join_under_root("/r", "../../etc/passwd", "entry"); }),
               Catch::Contains("element '..'") && Catch::Contains("stay inside '/r'"));
    CHECK_THROWS_AS(join_under_root("/r", "/etc/passwd", "entry"), IoError);
    CHECK_THROWS_AS(join_under_root("/r", "Site//a.png", "entry"), IoError);
    CHECK_THROWS_AS(join_under_root("/r", "Site/./a.png", "entry"), IoError);
}

TEST_CASE("path policy: same file and inside a folder, through links", "[io][paths]") {
    Scratch s;
    const std::string input = s.file("out/scene/scene.tif");
    fs::create_symlink(s.path("out"), s.path("link"));
    CHECK(same_file(input, s.path("link/scene/scene.tif")));
    CHECK_FALSE(same_file(input, s.file("other.tif")));
    CHECK(lies_inside(s.path("link/scene/scene.tif"), s.path("out/scene")));
    CHECK(lies_inside(s.path("out/scene/../scene/scene.tif"), s.path("out")));
    CHECK_FALSE(lies_inside(s.path("other.tif"), s.path("out")));
    CHECK_THAT(message_of([&] { refuse_overwriting_inputs({input}, "", s.path("out/scene")); }),
               Catch::Contains("holds the input"));
    CHECK_THAT(message_of([&] { refuse_overwriting_inputs({input}, s.path("link/scene/scene.tif"), ""); }),
               Catch::Contains("is the input"));
    CHECK(message_of([&] { refuse_overwriting_inputs({input, "/no/such/file"}, s.path("x.tif"), s.path("elsewhere")); })
              .empty());
}

TEST_CASE("path policy: printable and input problems", "[io][paths]") {
    CHECK(printable(std::string("a\x01\xff", 3)) == "a\\x01\\xff");
    CHECK(printable(std::string(100, 'z'), 10) == std::string(10, 'z') + "... (100 bytes)");
    Scratch s;
    CHECK(input_file_problem(s.file("ok.txt")).empty());
    CHECK(input_file_problem(s.path("missing")) == "does not exist");
    CHECK(input_file_problem(s.dir.string()) == "is a folder, not a file");
    REQUIRE(::mkfifo(s.path("fifo").c_str(), 0600) == 0);
    CHECK(input_file_problem(s.path("fifo")) == "is a FIFO (named pipe), not a regular file");
    CHECK(input_file_problem("/dev/zero") == "is a device, not a regular file");
    fs::create_symlink(s.path("loop_b"), s.path("loop_a"));
    fs::create_symlink(s.path("loop_a"), s.path("loop_b"));
    CHECK(input_file_problem(s.path("loop_a")) == "is a symbolic link loop");
    fs::create_symlink(s.path("nothing"), s.path("dangling"));
    CHECK(input_file_problem(s.path("dangling")) == "is a broken symbolic link");
}

TEST_CASE("output lock: exclusive, named holder, removed on release", "[io][paths][lock]") {
    Scratch s;
    const std::string lock_path = s.path(".satsal-lock");
    {
        OutputLock first(s.dir.string(), ".satsal-lock", "test");
        CHECK(fs::exists(lock_path));
        CHECK_FALSE(lock_is_free(lock_path));
        // flock locks belong to open files, so even this process cannot take it twice.
        const std::string message = message_of([&] { OutputLock second(s.dir.string(), ".satsal-lock", "test"); });
        CHECK_THAT(message, Catch::Contains("in use by another satsal run") &&
                                Catch::Contains("pid " + std::to_string(::getpid())));
    }
    CHECK_FALSE(fs::exists(lock_path));
    CHECK(lock_is_free(lock_path));
    OutputLock again(s.dir.string(), ".satsal-lock", "test");
    CHECK_FALSE(lock_is_free(lock_path));
}

TEST_CASE("folder commit: new folder, and a swap that leaves no old files", "[io][paths]") {
    Scratch s;
    s.file("stage1/a.txt", "new-a");
    commit_folder(s.path("stage1"), s.path("out"), s.path("old"), "test");
    CHECK_FALSE(fs::exists(s.path("stage1")));
    CHECK(fs::exists(s.path("out/a.txt")));

    s.file("out/stale_layer.tif");
    s.file("stage2/b.txt", "new-b");
    commit_folder(s.path("stage2"), s.path("out"), s.path("old"), "test");
    CHECK(fs::exists(s.path("out/b.txt")));
    CHECK_FALSE(fs::exists(s.path("out/a.txt")));
    CHECK_FALSE(fs::exists(s.path("out/stale_layer.tif")));
    CHECK_FALSE(fs::exists(s.path("stage2")));
    CHECK_FALSE(fs::exists(s.path("old")));
}
