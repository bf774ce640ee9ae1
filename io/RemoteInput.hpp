#pragma once
// Scenes that are not plain local files: any GDAL dataset name (issue 15).
//
// A `scene` value is either a *local path* (resolved against the config's folder, expanded when it
// names a folder or a glob) or a *dataset name* handed to GDAL as written:
//   - a virtual file system path: /vsicurl/, /vsis3/, /vsigs/, /vsiaz/, /vsizip/, /vsitar/, ...;
//   - a URL, turned into one: http(s)://... -> /vsicurl/http(s)://..., s3://b/k -> /vsis3/b/k,
//     gs://b/k -> /vsigs/b/k, az://c/k -> /vsiaz/c/k;
//   - a subdataset name with an upper-case driver prefix: NETCDF:"f.nc":var, HDF5:"f.h5"://d,
//     GTIFF_DIR:2:f.tif, ...;
//   - a STAC Item (a local `.json` file or a `.json` URL) with the `asset` key: the asset's href.
// Local-path rules reach into dataset names only where a local file is named: the archive in
// /vsizip/rel.zip/x.tif and the quoted file in NETCDF:"rel.nc":v resolve against the config's
// folder; nothing else of a dataset name is touched (no `//` collapsing, no globbing). A remote
// folder (a name ending in '/') or a glob in a remote name's last element is expanded only
// through VSIReadDir, and is an error when GDAL cannot list it.
//
// Credentials come only from GDAL's configuration options and environment variables
// (AWS_*, GOOGLE_*, AZURE_*, GDAL_HTTP_*). Whatever satsal prints or writes shows a dataset name
// through scrub_credentials(): query strings (signed URLs, SAS tokens) and user:password@ parts
// of URLs are replaced by "<redacted>".
//
// Thread rules: free functions; apply_remote_read_defaults() and the network statistics touch
// GDAL's process-wide configuration and counters (call them from the run's thread, between scenes).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace satsal {

/// The prefix of a resolved STAC scene: STAC_ITEM:<id>:"<item location>":<asset dataset name>. The
/// item id names the scene's output folder, the item location is where outputs link back to, the
/// rest is what GDAL opens.
constexpr const char* kStacScenePrefix = "STAC_ITEM:";

/// True when `spec` (as written in a config) is a dataset name, not a local path (see above).
bool is_dataset_name(const std::string& spec);
/// True when GDAL reads `name` over the network (a network file system anywhere in the name,
/// e.g. /vsizip//vsicurl/http://...).
bool is_remote_name(const std::string& name);

/// A `scene` value resolved: local paths absolute and lexically normal against `base_dir`;
/// URLs as /vsi names; local files inside dataset names resolved; the rest as written.
std::string resolve_scene_spec(const std::string& text, const std::filesystem::path& base_dir);

/// The dataset names a resolved dataset-name spec stands for: a STAC item becomes its asset
/// (`asset` = the asset key, empty = the item's only asset); a remote folder or a glob in the last
/// element is listed with VSIReadDir (files with one of `extensions`, sorted); any other name is
/// returned as is (checked when the scene is opened, so that a list of thousands of URLs costs no
/// request at load time). Throws std::invalid_argument with a message naming the spec.
std::vector<std::string> expand_dataset_name(const std::string& spec, const std::string& asset,
                                             const std::vector<std::string>& extensions);

/// True when `spec` names a STAC item: a name or path ending in ".json" (before any query).
bool is_stac_item_spec(const std::string& spec);
/// STAC_ITEM:<id>:"<location>":<dataset name of the asset> for the item at `location` (a local path or a
/// dataset name GDAL can read, e.g. /vsicurl/https://.../item.json). Relative hrefs resolve
/// against the item's location; http(s)/s3/gs hrefs become /vsi names. std::invalid_argument
/// naming the item when it is not a STAC item, has no such asset, or its id is not a safe name.
std::string stac_item_scene(const std::string& location, const std::string& asset);

/// What GDAL opens for a scene (strips the STAC_ITEM prefix).
std::string gdal_open_name(const std::string& scene);
/// The STAC item a STAC scene came from, as a link target: an http(s) URL without /vsicurl/ (and
/// scrubbed), or the local path / other dataset name; "" for other scenes.
std::string stac_source_item(const std::string& scene);

/// The output folder name of a dataset-name scene: the STAC item id; else the stem of the last
/// path element of the URL or path (query dropped), with a subdataset's variable appended
/// (NETCDF:"a.nc":sst -> a_sst); characters other than letters, digits and ._-+ become '_'; never
/// empty, never only dots, no slashes.
std::string dataset_scene_name(const std::string& name);

/// `text` with URL query strings and user:password@ parts replaced by <redacted>.
std::string scrub_credentials(const std::string& text);

/// For a failed open or read of `name`: " (HTTP status 404 from http://host/x.tif)" when `name`
/// is a /vsicurl/ URL and the server answers with an error status, " (no answer from ...: <curl
/// message>)" when it does not answer, else "" (scrubbed).
std::string remote_failure_detail(const std::string& name);

/// Sets GDAL's remote-reading options that the user did not set (environment or --config):
/// GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR (no directory listing per open), GDAL_HTTP_MULTIRANGE=YES
/// and GDAL_HTTP_MERGE_CONSECUTIVE_RANGES=YES (fewer, larger range requests),
/// CPL_VSIL_CURL_CACHE_SIZE=128 MB (the tile rows a scene's reader threads share), VSI_CACHE=TRUE
/// with VSI_CACHE_SIZE=64 MB, GDAL_HTTP_CONNECTTIMEOUT=30 and GDAL_HTTP_LOW_SPEED_TIME=60 with
/// GDAL_HTTP_LOW_SPEED_LIMIT=1 (a stalled server fails the read instead of hanging the run).
/// Once per process.
void apply_remote_read_defaults();

/// Bytes and requests GDAL's network file systems made since the last reset (all threads of the
/// process; GDAL counts HTTP GETs and their downloaded bytes).
struct NetworkStatistics {
    int64_t downloaded_bytes = 0;
    int64_t requests = 0;
};
/// Turns GDAL's network statistics on (CPL_VSIL_NETWORK_STATS_ENABLED) unless the user set it.
void enable_network_statistics();
void reset_network_statistics();
NetworkStatistics network_statistics();

}  // namespace satsal
