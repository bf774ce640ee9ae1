#include "io/RemoteInput.hpp"

#include "io/GdalSupport.hpp"
#include "io/PathPolicy.hpp"

#include <cpl_conv.h>
#include <cpl_http.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace fs = std::filesystem;

namespace satsal {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// URL schemes and the GDAL file system each becomes.
const std::vector<std::pair<std::string, std::string>>& url_schemes() {
    static const std::vector<std::pair<std::string, std::string>> schemes = {
        {"http://", "/vsicurl/"}, {"https://", "/vsicurl/"}, {"ftp://", "/vsicurl/"},
        {"s3://", "/vsis3/"},            {"gs://", "/vsigs/"},              {"az://", "/vsiaz/"}};
    return schemes;
}

// File systems that read a local (or chained) archive: /vsizip/a.zip/inner.
const std::vector<std::string>& archive_prefixes() {
    static const std::vector<std::string> prefixes = {"/vsizip/", "/vsitar/", "/vsigzip/", "/vsi7z/", "/vsirar/"};
    return prefixes;
}

const std::vector<std::string>& network_prefixes() {
    static const std::vector<std::string> prefixes = {
        "/vsicurl/", "/vsicurl?", "/vsis3/", "/vsigs/", "/vsiaz/", "/vsiadls/", "/vsioss/", "/vsiswift/",
        "/vsiwebhdfs/", "/vsihdfs/", "/vsicurl_streaming/", "/vsis3_streaming/", "/vsigs_streaming/",
        "/vsiaz_streaming/", "/vsioss_streaming/", "/vsiswift_streaming/"};
    return prefixes;
}

// "NETCDF:", "HDF5:", "GTIFF_DIR:": an upper-case driver prefix (a local "a:b.tif" is lower case
// or has no letters before the colon in practice; subdataset names are always upper case).
std::size_t driver_prefix_length(const std::string& spec) {
    if (spec.empty() || !std::isupper(static_cast<unsigned char>(spec[0]))) return 0;
    for (std::size_t i = 1; i < spec.size(); ++i) {
        const auto c = static_cast<unsigned char>(spec[i]);
        if (c == ':') return i + 1 < spec.size() ? i + 1 : 0;
        if (!std::isupper(c) && !std::isdigit(c) && c != '_') return 0;
    }
    return 0;
}

std::string local_absolute(const std::string& path, const fs::path& base_dir) {
    fs::path p(path);
    if (p.is_relative()) p = base_dir / p;
    return fs::absolute(p).lexically_normal().string();
}

std::string without_query(const std::string& name) {
    const std::size_t q = name.find('?');
    return q == std::string::npos ? name : name.substr(0, q);
}

std::string url_to_vsi(const std::string& url) {
    for (const auto& [scheme, vsi] : url_schemes()) {
        if (!starts_with(url, scheme)) continue;
        return vsi == "/vsicurl/" ? vsi + url : vsi + url.substr(scheme.size());
    }
    return url;
}

// "a/./b/../c" -> "a/c" for a path without its leading slash (of a URL after its host, or a /vsi name).
std::string normalize_slash_path(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = path.find('/', start);
        const std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (part != ".") {
            parts.push_back(part);
        }
        if (end == std::string::npos) break;
        start = end + 1;
    }
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
    return out;
}

// The href of a STAC asset as a dataset name, relative hrefs resolved against the item's location.
std::string resolve_href(const std::string& href, const std::string& item_location) {
    for (const auto& scheme : url_schemes())
        if (starts_with(href, scheme.first)) return url_to_vsi(href);
    if (starts_with(href, "/vsi")) return href;
    if (starts_with(href, "file://")) return href.substr(7);
    const std::string base = without_query(item_location);
    if (!starts_with(base, "/vsi")) {  // a local item
        const fs::path folder = fs::path(base).parent_path();
        return local_absolute(href, folder.empty() ? fs::current_path() : folder);
    }
    // A remote item: "/vsicurl/https://host/a/b/item.json".
    const std::size_t scheme = base.find("://");
    if (scheme != std::string::npos) {
        const std::size_t host_end = base.find('/', scheme + 3);
        const std::string root = base.substr(0, host_end == std::string::npos ? base.size() : host_end);
        if (!href.empty() && href[0] == '/') return root + href;  // host-absolute
        const std::string path = host_end == std::string::npos ? "/" : base.substr(host_end);
        const std::string folder = path.substr(0, path.rfind('/') + 1);
        return root + "/" + normalize_slash_path((folder + href).substr(1));
    }
    if (!href.empty() && href[0] == '/') return href;  // e.g. /vsis3/ item, absolute local href
    const std::string folder = base.substr(0, base.rfind('/') + 1);
    return "/" + normalize_slash_path((folder + href).substr(1));
}

// Name characters kept in a scene name derived from a URL; the rest become '_'.
std::string sanitized_name(const std::string& raw) {
    std::string name;
    for (const char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        name += (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+') ? ch : '_';
    }
    if (name.size() > 200) name.resize(200);
    if (name.empty() || name.find_first_not_of('.') == std::string::npos) return "scene";
    if (starts_with(name, ".satsal")) name = "_" + name;
    return name;
}

std::string stem_of_last_element(const std::string& path) {
    std::string p = without_query(path);
    while (!p.empty() && p.back() == '/') p.pop_back();
    std::string last = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
    if (ends_with(last, ".gz") && last.size() > 3) last.resize(last.size() - 3);  // /vsigzip/a.tif.gz -> a
    const std::size_t dot = last.rfind('.');
    return dot == std::string::npos || dot == 0 ? last : last.substr(0, dot);
}

bool has_glob_characters(const std::string& text) { return text.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> list_folder(const std::string& folder, const std::string& pattern,
                                     const std::vector<std::string>& extensions, const std::string& spec) {
    ensure_gdal_registered();
    GdalErrorCapture errors;
    const CPLStringList entries(VSIReadDir(folder.c_str()), TRUE);
    if (entries.List() == nullptr) {
        throw std::invalid_argument("cannot list the remote folder '" + scrub_credentials(folder) +
                                    "' for scene '" + scrub_credentials(spec) +
                                    "': GDAL cannot list it (an HTTP server must return an index page; "
                                    "object stores need list permission)" + scrub_credentials(errors.suffix()) +
                                    remote_failure_detail(folder));
    }
    std::vector<std::string> files;
    for (int i = 0; i < entries.size(); ++i) {
        const std::string entry = entries[i];
        if (entry.empty() || entry == "." || entry == "..") continue;
        if (!pattern.empty() && fnmatch(pattern.c_str(), entry.c_str(), 0) != 0) continue;
        std::string extension = entry.substr(entry.rfind('.') == std::string::npos ? entry.size() : entry.rfind('.'));
        std::transform(extension.begin(), extension.end(), extension.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (std::find(extensions.begin(), extensions.end(), extension) == extensions.end()) continue;
        files.push_back((folder.back() == '/' ? folder : folder + "/") + entry);
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
        throw std::invalid_argument("remote scene folder or pattern '" + scrub_credentials(spec) +
                                    "' lists no raster (extensions " + [&] {
                                        std::string joined;
                                        for (const auto& e : extensions) joined += (joined.empty() ? "" : " ") + e;
                                        return joined;
                                    }() + ")");
    return files;
}

}  // namespace

bool is_dataset_name(const std::string& spec) {
    if (starts_with(spec, "/vsi")) return true;
    for (const auto& scheme : url_schemes())
        if (starts_with(spec, scheme.first)) return true;
    return driver_prefix_length(spec) > 0 || starts_with(spec, kStacScenePrefix);
}

bool is_remote_name(const std::string& name) {
    for (const auto& prefix : network_prefixes())
        if (name.find(prefix) != std::string::npos) return true;
    for (const auto& scheme : url_schemes())
        if (name.find(scheme.first) != std::string::npos) return true;
    return false;
}

std::string resolve_scene_spec(const std::string& text, const fs::path& base_dir) {
    if (text.empty()) return text;
    for (const auto& scheme : url_schemes())
        if (starts_with(text, scheme.first)) return url_to_vsi(text);
    for (const auto& prefix : archive_prefixes()) {
        if (!starts_with(text, prefix)) continue;
        const std::string rest = text.substr(prefix.size());
        if (rest.empty() || rest[0] == '/' || rest[0] == '{') return text;  // absolute or chained
        return prefix + local_absolute(rest, base_dir);
    }
    if (starts_with(text, "/vsi")) return text;
    if (const std::size_t n = driver_prefix_length(text); n > 0) {
        // NETCDF:"rel/f.nc":var -> NETCDF:"/abs/rel/f.nc":var
        if (text.size() > n && text[n] == '"') {
            const std::size_t close = text.find('"', n + 1);
            if (close != std::string::npos) {
                const std::string file = text.substr(n + 1, close - n - 1);
                if (!file.empty() && file[0] != '/')
                    return text.substr(0, n + 1) + local_absolute(file, base_dir) + text.substr(close);
            }
        }
        return text;
    }
    return local_absolute(text, base_dir);
}

bool is_stac_item_spec(const std::string& spec) {
    std::string name = without_query(spec);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ends_with(name, ".json");
}

std::vector<std::string> expand_dataset_name(const std::string& spec, const std::string& asset,
                                             const std::vector<std::string>& extensions) {
    if (is_stac_item_spec(spec)) return {stac_item_scene(spec, asset)};
    if (!starts_with(spec, "/vsi")) return {spec};  // subdataset names: checked when opened
    if (spec.back() == '/') return list_folder(spec.substr(0, spec.size() - 1), "", extensions, spec);
    const std::string plain = without_query(spec);
    const std::size_t slash = plain.rfind('/');
    const std::string last = plain.substr(slash + 1);
    if (has_glob_characters(last) && spec.find('?') == std::string::npos)
        return list_folder(plain.substr(0, slash), last, extensions, spec);
    return {spec};
}

std::string stac_item_scene(const std::string& location, const std::string& asset) {
    ensure_gdal_registered();
    const std::string shown = scrub_credentials(location);
    GByte* bytes = nullptr;
    vsi_l_offset size = 0;
    GdalErrorCapture errors;
    constexpr vsi_l_offset kMaxItemBytes = 16 * 1024 * 1024;
    if (!VSIIngestFile(nullptr, location.c_str(), &bytes, &size, kMaxItemBytes)) {
        throw std::invalid_argument("cannot read the STAC item '" + shown + "'" + scrub_credentials(errors.suffix()) +
                                    remote_failure_detail(location));
    }
    const std::unique_ptr<GByte, decltype(&VSIFree)> owned(bytes, &VSIFree);
    nlohmann::json item;
    try {
        item = nlohmann::json::parse(reinterpret_cast<const char*>(bytes), reinterpret_cast<const char*>(bytes) + size);
    } catch (const nlohmann::json::exception& error) {
        throw std::invalid_argument("the STAC item '" + shown + "' is not JSON: " + error.what());
    }
    const auto fail = [&](const std::string& why) {
        throw std::invalid_argument("'" + shown + "' is not a STAC item GDAL inputs can be taken from: " + why);
    };
    if (!item.is_object() || item.value("type", std::string()) != "Feature")
        fail("expected a JSON object with \"type\": \"Feature\"");
    if (!item.contains("stac_version")) fail("it has no \"stac_version\"");
    if (!item.contains("id") || !item["id"].is_string() || item["id"].get<std::string>().empty())
        fail("it has no string \"id\"");
    if (!item.contains("assets") || !item["assets"].is_object() || item["assets"].empty()) fail("it has no \"assets\"");
    const auto& assets = item["assets"];
    std::string keys;
    for (const auto& entry : assets.items()) keys += (keys.empty() ? "" : ", ") + entry.key();
    std::string key = asset;
    if (key.empty()) {
        if (assets.size() != 1)
            throw std::invalid_argument("the STAC item '" + shown + "' has " + std::to_string(assets.size()) +
                                        " assets (" + keys + "); set the config key asset to one of them");
        key = assets.begin().key();
    }
    if (!assets.contains(key))
        throw std::invalid_argument("the STAC item '" + shown + "' has no asset '" + key + "' (config key asset); it has " + keys);
    const auto& entry = assets[key];
    if (!entry.is_object() || !entry.contains("href") || !entry["href"].is_string() ||
        entry["href"].get<std::string>().empty())
        fail("its asset '" + key + "' has no string \"href\"");
    const std::string id = sanitized_name(item["id"].get<std::string>());
    if (location.find('"') != std::string::npos) fail("its location holds a double quote");
    return std::string(kStacScenePrefix) + id + ":\"" + location + "\":" +
           resolve_href(entry["href"].get<std::string>(), location);
}

namespace {

// The parts of STAC_ITEM:<id>:"<location>":<dataset>; false when `scene` is not of that form.
bool split_stac_scene(const std::string& scene, std::string& location, std::string& dataset) {
    if (!starts_with(scene, kStacScenePrefix)) return false;
    const std::size_t colon = scene.find(':', std::string(kStacScenePrefix).size());
    if (colon == std::string::npos || colon + 1 >= scene.size() || scene[colon + 1] != '"') return false;
    const std::size_t close = scene.find('"', colon + 2);
    if (close == std::string::npos || close + 1 >= scene.size() || scene[close + 1] != ':') return false;
    location = scene.substr(colon + 2, close - colon - 2);
    dataset = scene.substr(close + 2);
    return true;
}

}  // namespace

std::string gdal_open_name(const std::string& scene) {
    std::string location, dataset;
    return split_stac_scene(scene, location, dataset) ? dataset : scene;
}

std::string stac_source_item(const std::string& scene) {
    std::string location, dataset;
    if (!split_stac_scene(scene, location, dataset)) return "";
    const std::string curl = "/vsicurl/";
    if (starts_with(location, curl) && (location.compare(curl.size(), 7, "http://") == 0 ||
                                        location.compare(curl.size(), 8, "https://") == 0))
        location = location.substr(curl.size());
    return scrub_credentials(location);
}

std::string dataset_scene_name(const std::string& name) {
    if (starts_with(name, kStacScenePrefix)) {
        const std::size_t begin = std::string(kStacScenePrefix).size();
        return sanitized_name(name.substr(begin, name.find(':', begin) - begin));
    }
    if (const std::size_t n = driver_prefix_length(name); n > 0 && !starts_with(name, "/vsi")) {
        const std::string rest = name.substr(n);
        if (!rest.empty() && rest[0] == '"') {
            const std::size_t close = rest.find('"', 1);
            if (close != std::string::npos) {
                std::string variable = rest.substr(close + 1);
                while (!variable.empty() && (variable[0] == ':' || variable[0] == '/')) variable.erase(0, 1);
                const std::string stem = stem_of_last_element(rest.substr(1, close - 1));
                return sanitized_name(variable.empty() ? stem : stem + "_" + variable);
            }
        }
        return sanitized_name(stem_of_last_element(rest));
    }
    return sanitized_name(stem_of_last_element(name));
}

std::string scrub_credentials(const std::string& text) {
    std::string out;
    bool in_url = false;
    const auto token_end = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == ')' || c == '>';
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (token_end(c)) in_url = false;
        if (text.compare(i, 4, "/vsi") == 0) in_url = true;
        if (text.compare(i, 3, "://") == 0) {
            in_url = true;
            out += "://";
            i += 2;
            // user:password@host -> <redacted>@host
            std::size_t j = i + 1;
            while (j < text.size() && text[j] != '/' && text[j] != '@' && !token_end(text[j])) ++j;
            if (j < text.size() && text[j] == '@') {
                out += "<redacted>";
                i = j - 1;
            }
            continue;
        }
        if (text.compare(i, 11, "?<redacted>") == 0 || text.compare(i, 10, "<redacted>") == 0) {  // scrubbed already
            const std::size_t n = c == '?' ? 11 : 10;
            out += text.substr(i, n);
            i += n - 1;
            continue;
        }
        if (in_url && c == '?') {
            out += "?<redacted>";
            while (i + 1 < text.size() && !token_end(text[i + 1])) ++i;
            continue;
        }
        out += c;
    }
    return out;
}

std::string remote_failure_detail(const std::string& name) {
    const std::size_t at = name.find("/vsicurl/");
    if (at == std::string::npos) return "";
    std::string url = name.substr(at + 9);
    if (!starts_with(url, "http://") && !starts_with(url, "https://")) return "";
    // An archive path continues after the remote file: /vsizip//vsicurl/http://h/a.zip/x.tif.
    if (name.compare(0, 4, "/vsi") == 0 && at > 0) {
        const std::size_t zip = url.find(".zip/");
        if (zip != std::string::npos) url = url.substr(0, zip + 4);
    }
    ensure_gdal_registered();
    GdalErrorCapture quiet;
    char** list = nullptr;
    list = CSLSetNameValue(list, "NO_BODY", "YES");
    list = CSLSetNameValue(list, "TIMEOUT", "20");
    CPLHTTPResult* result = CPLHTTPFetch(url.c_str(), list);
    CSLDestroy(list);
    std::string detail;
    if (result != nullptr) {
        const std::string error = result->pszErrBuf ? result->pszErrBuf : "";
        const std::size_t code = error.find("HTTP error code");
        if (code != std::string::npos) {
            const std::size_t colon = error.find(':', code);
            const int status = colon == std::string::npos ? 0 : std::atoi(error.c_str() + colon + 1);
            detail = " (HTTP status " + std::to_string(status) + " from " + scrub_credentials(url) + ")";
        } else if (result->nStatus != 0 || !error.empty()) {
            detail = " (no answer from " + scrub_credentials(url) + ": " + scrub_credentials(error) + ")";
        }
        CPLHTTPDestroyResult(result);
    }
    return detail;
}

void apply_remote_read_defaults() {
    static std::once_flag once;
    std::call_once(once, [] {
        const std::pair<const char*, const char*> defaults[] = {
            {"GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"},
            {"GDAL_HTTP_MULTIRANGE", "YES"},
            {"GDAL_HTTP_MERGE_CONSECUTIVE_RANGES", "YES"},
            {"CPL_VSIL_CURL_CACHE_SIZE", "134217728"},
            {"VSI_CACHE", "TRUE"},
            {"VSI_CACHE_SIZE", "67108864"},
            {"GDAL_HTTP_CONNECTTIMEOUT", "30"},
            {"GDAL_HTTP_LOW_SPEED_TIME", "60"},
            {"GDAL_HTTP_LOW_SPEED_LIMIT", "1"},
        };
        for (const auto& [key, value] : defaults)
            if (CPLGetConfigOption(key, nullptr) == nullptr) CPLSetConfigOption(key, value);
    });
}

void enable_network_statistics() {
    // Also for local scene names: a local VRT may mosaic remote files.
    if (CPLGetConfigOption("CPL_VSIL_NETWORK_STATS_ENABLED", nullptr) == nullptr)
        CPLSetConfigOption("CPL_VSIL_NETWORK_STATS_ENABLED", "YES");
}

void reset_network_statistics() { VSINetworkStatsReset(); }

NetworkStatistics network_statistics() {
    NetworkStatistics stats;
    char* text = VSINetworkStatsGetAsSerializedJSON(nullptr);
    if (text == nullptr) return stats;
    const std::unique_ptr<char, decltype(&VSIFree)> owned(text, &VSIFree);
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (!json.is_object() || !json.contains("methods") || !json["methods"].is_object()) return stats;
    for (const auto& method : json["methods"].items()) {
        const auto& m = method.value();
        if (!m.is_object()) continue;
        if (m.contains("downloaded_bytes") && m["downloaded_bytes"].is_number())
            stats.downloaded_bytes += m["downloaded_bytes"].get<int64_t>();
        if (m.contains("count") && m["count"].is_number()) stats.requests += m["count"].get<int64_t>();
    }
    return stats;
}

}  // namespace satsal
