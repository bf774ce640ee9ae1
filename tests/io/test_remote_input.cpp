// Tests for io/RemoteInput and the dataset-name side of io/RunConfig (issue 15): which scene
// values are local paths, how dataset names resolve, scene names of URLs and STAC items, scrubbing
// of credentials, scene_list files. The HTTP cases run end to end in tests/io/remote.sh.
#include "io/RemoteInput.hpp"
#include "io/RunConfig.hpp"

#include <catch2/catch.hpp>
#include <cpl_vsi.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

namespace fs = std::filesystem;
using namespace satsal;

namespace {

class Folder {
public:
    Folder() {
        static int counter = 0;
        root_ = fs::temp_directory_path() /
                ("satsal_remote_input_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    ~Folder() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    std::string write(const std::string& relative, const std::string& text) const {
        const fs::path path = root_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
        return path.string();
    }
    std::string path(const std::string& relative) const { return (root_ / relative).string(); }

private:
    fs::path root_;
};

std::string error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const std::exception& error) {
        return error.what();
    }
    return "(no error)";
}

const char* kItem = R"({"type": "Feature", "stac_version": "1.0.0", "id": "S2A_T33_2026/11 29..",
  "assets": {"visual": {"href": "../cogs/tci.tif"}, "B04": {"href": "https://example.org/b/B04.tif?sig=abc"},
             "local": {"href": "/data/x.tif"}}})";

}  // namespace

TEST_CASE("dataset names are told from local paths", "[remote]") {
    for (const char* name : {"/vsicurl/http://h/a.tif", "/vsis3/bucket/k.tif", "/vsizip/a.zip/b.tif", "https://h/a.tif",
                             "s3://bucket/k.tif", "NETCDF:\"f.nc\":sst", "HDF5:\"f.h5\"://g/d", "GTIFF_DIR:2:f.tif"})
        CHECK(is_dataset_name(name));
    for (const char* name : {"a.tif", "/data/a.tif", "scenes/*.tif", "dir:with/colon.tif", "Netcdf:x", "C:"})
        CHECK_FALSE(is_dataset_name(name));
    CHECK(is_remote_name("/vsizip//vsicurl/http://h/a.zip/b.tif"));
    CHECK(is_remote_name("/vsis3/b/k.tif"));
    CHECK_FALSE(is_remote_name("/vsizip//data/a.zip/b.tif"));
    CHECK_FALSE(is_remote_name("NETCDF:\"/d/f.nc\":sst"));
}

TEST_CASE("scene values resolve: local paths against the config, dataset names kept", "[remote]") {
    const fs::path base = "/cfg/dir";
    // The `//` of a URL survives (it was collapsed to http:/ before issue 15).
    CHECK(resolve_scene_spec("/vsicurl/http://127.0.0.1:8765/aero_utm.tif", base) ==
          "/vsicurl/http://127.0.0.1:8765/aero_utm.tif");
    CHECK(resolve_scene_spec("https://h.org/a/b.tif?x=1", base) == "/vsicurl/https://h.org/a/b.tif?x=1");
    CHECK(resolve_scene_spec("s3://bucket/a/b.tif", base) == "/vsis3/bucket/a/b.tif");
    CHECK(resolve_scene_spec("gs://bucket/b.tif", base) == "/vsigs/bucket/b.tif");
    CHECK(resolve_scene_spec("az://container/b.tif", base) == "/vsiaz/container/b.tif");
    CHECK(resolve_scene_spec("/vsizip/../zips/a.zip/x.tif", base) == "/vsizip//cfg/zips/a.zip/x.tif");
    CHECK(resolve_scene_spec("/vsizip//abs/a.zip/x.tif", base) == "/vsizip//abs/a.zip/x.tif");
    CHECK(resolve_scene_spec("/vsitar/t.tar/x.tif", base) == "/vsitar//cfg/dir/t.tar/x.tif");
    CHECK(resolve_scene_spec("NETCDF:\"sub/f.nc\":sst", base) == "NETCDF:\"/cfg/dir/sub/f.nc\":sst");
    CHECK(resolve_scene_spec("NETCDF:\"/abs/f.nc\":sst", base) == "NETCDF:\"/abs/f.nc\":sst");
    CHECK(resolve_scene_spec("../a//b.tif", base) == "/cfg/a/b.tif");
}

TEST_CASE("scene names of dataset names are safe stems", "[remote]") {
    CHECK(dataset_scene_name("/vsicurl/https://h.org/a/b/T33_TCI.tif?X-Amz-Signature=1/2") == "T33_TCI");
    CHECK(dataset_scene_name("/vsis3/bucket/scenes/x.y.tif") == "x.y");
    CHECK(dataset_scene_name("/vsizip//d/a.zip/inner/scene 1.tif") == "scene_1");
    CHECK(dataset_scene_name("NETCDF:\"/d/f.nc\":sst") == "f_sst");
    CHECK(dataset_scene_name("/vsigzip//d/a.tif.gz") == "a");
    CHECK(dataset_scene_name("HDF5:\"/d/g.h5\"://grp/data") == "g_grp_data");
    CHECK(dataset_scene_name("/vsicurl/http://h/..") == "scene");
    CHECK(dataset_scene_name("/vsicurl/http://h/.satsal-x.tif") == "_.satsal-x");
    CHECK(dataset_scene_name("STAC_ITEM:S2A_1:\"/vsicurl/http://h/i.json\":/vsicurl/http://h/tci.tif") == "S2A_1");
    CHECK(scene_name("/vsicurl/http://h/p/a.tif") == "a");
    CHECK(scene_name("/data/a.b-c%d.tif") == "a.b-c%d");  // local names unchanged
}

TEST_CASE("credentials are scrubbed from what is shown", "[remote]") {
    CHECK(scrub_credentials("/vsicurl/https://h.org/a.tif?X-Amz-Signature=SECRET&b=2") ==
          "/vsicurl/https://h.org/a.tif?<redacted>");
    CHECK(scrub_credentials("cannot read '/vsicurl/https://u:pw@h.org/a.tif?sig=S' bands 1 (GDAL: x)") ==
          "cannot read '/vsicurl/https://<redacted>@h.org/a.tif?<redacted>' bands 1 (GDAL: x)");
    CHECK(scrub_credentials("what? plain text: no url") == "what? plain text: no url");
    // Scrubbing twice changes nothing (messages are scrubbed where made and again where shown).
    const std::string once = scrub_credentials("'/vsicurl/https://u:p@h/a.tif?sig=S' and /vsicurl/http://h/b.tif?x");
    CHECK(scrub_credentials(once) == once);
    CHECK(once == "'/vsicurl/https://<redacted>@h/a.tif?<redacted>' and /vsicurl/http://h/b.tif?<redacted>");
    CHECK(scrub_credentials("scene = /vsis3/b/k.tif\nmodel = /m.pt\n") == "scene = /vsis3/b/k.tif\nmodel = /m.pt\n");
}

TEST_CASE("STAC items: the asset's href, relative to the item, named by the item id", "[remote]") {
    Folder folder;
    const std::string item = folder.write("items/item.json", kItem);
    const std::string prefix = "STAC_ITEM:S2A_T33_2026_11_29..:\"" + item + "\":";
    CHECK(stac_item_scene(item, "visual") == prefix + folder.path("cogs/tci.tif"));
    CHECK(stac_item_scene(item, "B04") == prefix + "/vsicurl/https://example.org/b/B04.tif?sig=abc");
    CHECK(stac_item_scene(item, "local") == prefix + "/data/x.tif");
    CHECK(stac_source_item(stac_item_scene(item, "B04")) == item);
    CHECK(stac_source_item("/vsicurl/http://h/a.tif").empty());
    CHECK(gdal_open_name(stac_item_scene(item, "visual")) == folder.path("cogs/tci.tif"));
    CHECK(scene_name(stac_item_scene(item, "visual")) == "S2A_T33_2026_11_29..");
    CHECK(error_of([&] { stac_item_scene(item, "red"); }) ==
          "the STAC item '" + item + "' has no asset 'red' (config key asset); it has B04, local, visual");
    CHECK(error_of([&] { stac_item_scene(item, ""); }) ==
          "the STAC item '" + item + "' has 3 assets (B04, local, visual); set the config key asset to one of them");
    const std::string collection = folder.write("c.json", R"({"type": "Collection", "id": "c"})");
    CHECK(error_of([&] { stac_item_scene(collection, "visual"); }) ==
          "'" + collection + "' is not a STAC item GDAL inputs can be taken from: expected a JSON object with \"type\": \"Feature\"");
    const std::string broken = folder.write("b.json", "{\"type\": ");
    CHECK_THAT(error_of([&] { stac_item_scene(broken, "visual"); }),
               Catch::StartsWith("the STAC item '" + broken + "' is not JSON: "));
}

TEST_CASE("STAC hrefs of remote items resolve against the item URL", "[remote]") {
    // Served from memory through GDAL's /vsimem/ file system, which resolves like a remote path.
    Folder folder;
    const std::string local_item = folder.write("item.json", kItem);
    std::ifstream in(local_item);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    VSILFILE* f = VSIFOpenL("/vsimem/stac/items/x/item.json", "wb");
    REQUIRE(f != nullptr);
    VSIFWriteL(text.data(), 1, text.size(), f);
    VSIFCloseL(f);
    CHECK(stac_item_scene("/vsimem/stac/items/x/item.json", "visual") ==
          "STAC_ITEM:S2A_T33_2026_11_29..:\"/vsimem/stac/items/x/item.json\":/vsimem/stac/items/cogs/tci.tif");
    CHECK(stac_source_item("STAC_ITEM:a:\"/vsicurl/https://h/i/item.json?sig=1\":/vsicurl/https://h/t.tif") ==
          "https://h/i/item.json?<redacted>");
    VSIUnlink("/vsimem/stac/items/x/item.json");
}

TEST_CASE("scene_list adds scenes after the scene keys; dataset names kept as written", "[remote][run_config]") {
    Folder folder;
    folder.write("models/net.pt", "x");
    folder.write("data/a.tif", "x");
    folder.write("data/b.tif", "x");
    folder.write("lists/scenes.txt",
                 "# archive\n../data/b.tif\n\n   /vsicurl/http://127.0.0.1:9/c.tif  \nNETCDF:\"../data/f.nc\":sst\n"
                 "https://h.org/d.tif?sig=1\n");
    const std::string config = folder.write("configs/run.ini",
                                            "model = ../models/net.pt\nscene = ../data/a.tif\noutput_dir = ../out\n"
                                            "scene_list = ../lists/scenes.txt\n");
    const RunConfig c = load_run_config(config);
    REQUIRE(c.scenes.size() == 5);
    CHECK(c.scenes[0] == folder.path("data/a.tif"));
    CHECK(c.scenes[1] == folder.path("data/b.tif"));
    CHECK(c.scenes[2] == "/vsicurl/http://127.0.0.1:9/c.tif");
    CHECK(c.scenes[3] == "NETCDF:\"" + folder.path("data/f.nc") + "\":sst");
    CHECK(c.scenes[4] == "/vsicurl/https://h.org/d.tif?sig=1");

    // scene_list alone is enough; without scene and scene_list the scene key is missing.
    const std::string only_list = folder.write("configs/list.ini",
                                               "model = ../models/net.pt\noutput_dir = ../out\nscene_list = ../lists/scenes.txt\n");
    CHECK(load_run_config(only_list).scenes.size() == 4);
    const std::string neither = folder.write("configs/none.ini", "model = ../models/net.pt\noutput_dir = ../out\n");
    CHECK_THAT(error_of([&] { load_run_config(neither); }),
               Catch::StartsWith(neither + ": missing required key 'scene' ("));

    // Errors name the list line.
    folder.write("lists/bad.txt", "../data/a.tif\n../data/missing.tif\n");
    const std::string bad = folder.write("configs/bad.ini",
                                         "model = ../models/net.pt\noutput_dir = ../out\nscene_list = ../lists/bad.txt\n");
    CHECK(error_of([&] { load_run_config(bad); }) == "scene_list " + folder.path("lists/bad.txt") + ":2: scene file '" +
                                                        folder.path("data/missing.tif") + "' does not exist");
    folder.write("lists/empty.txt", "# nothing\n\n");
    const std::string empty = folder.write("configs/empty.ini",
                                           "model = ../models/net.pt\noutput_dir = ../out\nscene_list = ../lists/empty.txt\n");
    CHECK(error_of([&] { load_run_config(empty); }) ==
          empty + ":3: scene_list '" + folder.path("lists/empty.txt") + "' names no scene (only blank or # lines)");
    // Two remote scenes with the same stem would share an output folder.
    const std::string twins = folder.write("configs/twins.ini",
                                           "model = ../models/net.pt\noutput_dir = ../out\n"
                                           "scene = https://h.org/1/x.tif?sig=S\nscene = https://h.org/2/x.tif\n");
    CHECK(error_of([&] { load_run_config(twins); }) ==
          twins + ":4: scenes '/vsicurl/https://h.org/1/x.tif?<redacted>' (" + twins +
              ":3) and '/vsicurl/https://h.org/2/x.tif' have the same name 'x'; both would write to <output_dir>/x/");
}
