// io/AtomicFile: write-then-rename, the one mechanism every output file goes through.
#include "io/AtomicFile.hpp"
#include "io/GdalSupport.hpp"
#include "io/IoError.hpp"

#include <catch2/catch.hpp>
#include <cpl_vsi.h>

#include <string>

using namespace satsal;

namespace {

std::string read_vsi(const std::string& path) {
    VSILFILE* file = VSIFOpenL(path.c_str(), "rb");
    REQUIRE(file != nullptr);
    std::string text;
    char buffer[256];
    for (std::size_t n; (n = VSIFReadL(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
    VSIFCloseL(file);
    return text;
}

}  // namespace

TEST_CASE("write_text_file writes the whole text under the final name only", "[io][atomic]") {
    ensure_gdal_registered();
    const std::string path = "/vsimem/atomic/run.json";
    write_text_file(path, "{\"a\": 1}\n");
    CHECK(read_vsi(path) == "{\"a\": 1}\n");
    CHECK_FALSE(vsi_exists(path + ".partial"));
    // Replaces an older file.
    write_text_file(path, "second");
    CHECK(read_vsi(path) == "second");
    vsi_remove_quietly(path);
}

TEST_CASE("AtomicFile: an uncommitted file is removed; a missing folder is named", "[io][atomic]") {
    ensure_gdal_registered();
    const std::string path = "/vsimem/atomic/out.txt";
    {
        AtomicFile file(path);
        CHECK(file.temp_path() == path + ".partial");
        VSILFILE* handle = VSIFOpenL(file.temp_path().c_str(), "wb");
        REQUIRE(handle != nullptr);
        VSIFWriteL("x", 1, 1, handle);
        VSIFCloseL(handle);
        CHECK(vsi_exists(file.temp_path()));
    }  // destroyed before commit()
    CHECK_FALSE(vsi_exists(path + ".partial"));
    CHECK_FALSE(vsi_exists(path));
    CHECK_THROWS_AS(write_text_file("/nonexistent-satsal-folder/run.json", "x"), IoError);
    CHECK_THROWS_WITH(write_text_file("/nonexistent-satsal-folder/run.json", "x"),
                      Catch::Contains("directory '/nonexistent-satsal-folder' does not exist"));
}
