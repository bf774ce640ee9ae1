#pragma once
// One typed schema for the INI config files of `satsal run`, `satsal train-count` and `satsal evaluate`.
//
// Each key is declared once, in the spirit of PDAL's `args.add(name, help, member, default)`:
//     schema.add("tile_size", &RunConfig::tile_size, integer(16, 8192, "pixels"), "512", "tile core ...");
// The value type carries the parser, the range check and the formatter, so parsing, defaults,
// `--print-config` (to_ini), equality, `--help` and the README table all follow from that line.
// Checks across keys (stretch against input_range, margin against tile_size, ...) stay with the
// config that owns them, after Schema::load.
//
// File syntax (the same for every config):
//   - one `key = value` per line; blank lines and lines whose first non-blank character is `#`
//     are comments; no [sections]; a UTF-8 byte order mark and CR LF line ends are accepted.
//   - `#` starts a trailing comment only after whitespace: `output_dir = /data/run#3` keeps the
//     `#`, `tile_size = 512  # core` does not.
//   - a value in double quotes is taken literally without the quotes (`output_dir = "/a b #1"`);
//     after the closing quote only whitespace or a comment may follow. A quoted value cannot hold
//     a double quote.
//   - `key =` (empty value) restores the key's default; for a repeatable key it clears the list.
//   - a key may appear once, except repeatable keys (`scene`).
//   - control characters (NUL, other bytes below 0x20 but tab, DEL) are refused: a config is text.
//   - a config file is at most 16 MiB.
// `--set key=value` assigns after the file; its value is taken as is (trimmed; surrounding double
// quotes are removed), without comment processing. The first `--set` of a repeatable key replaces
// the file's list, further ones add to it.
//
// Errors throw ConfigError whose message starts with where the value came from:
//   "configs/x.ini:7: tile_size: expected an integer in 16..8192 (pixels), got '65536'"
//   "--set tile_size=abc: tile_size: expected an integer in 16..8192 (pixels), got 'abc'"
// Values are echoed at most 80 characters long with control bytes escaped (\x00).
//
// Thread rules: a Schema is immutable after construction and may be shared; load() and to_ini()
// are re-entrant.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace satsal::config {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Where an assignment came from ("configs/x.ini:7" or "--set tile_size=abc") and the folder its
/// relative paths resolve against.
struct Origin {
    std::string where;
    std::filesystem::path base_dir;
};

/// One `key = value` of a file or of --set, value already unquoted and trimmed.
struct Assignment {
    std::string key;
    std::string value;
    Origin origin;
    bool from_command_line = false;
};

/// The assignments of INI text in file order (syntax rules above). `source` names the text in
/// messages ("source:LINE: ..."), `base_dir` is where its relative paths resolve.
std::vector<Assignment> scan_ini(const std::string& text, const std::string& source,
                                 const std::filesystem::path& base_dir);
/// `key=value` strings of --set; relative paths resolve against the current folder.
std::vector<Assignment> scan_overrides(const std::vector<std::string>& overrides);
/// The bytes of a config file: refuses directories, unreadable files and files over 16 MiB.
std::string read_config_file(const std::string& path);
/// The folder a config file's relative paths resolve against: the file's own, made absolute.
std::filesystem::path config_folder(const std::string& path);

/// Reads the config file at `path` and returns `parse(text, source, base_dir, overrides)` with the
/// file's path as the source of messages and config_folder(path) as the base of relative paths:
/// every config's load_*_config is this over its parse_*_config (which tests call on text).
template <class Parse>
auto load_config_file(const std::string& path, const std::vector<std::string>& overrides, const Parse& parse) {
    return parse(read_config_file(path), path, config_folder(path).string(), overrides);
}

/// A value as shown in messages: control bytes as \xNN, cut after `limit` characters
/// ("... (N bytes)"). Paths are shown up to kShownPathLength.
constexpr std::size_t kShownPathLength = 4096;
std::string shown(const std::string& value, std::size_t limit = 80);
/// The INI text that reads back as `value`: quoted when it has a `#`, surrounding whitespace or a
/// leading quote. Throws ConfigError naming `key` for values no INI line can hold (line breaks,
/// control characters, a double quote in a value that needs quoting).
std::string ini_value(const std::string& key, const std::string& value);

std::string trim(const std::string& text);
std::string lower(std::string text);
std::string join(const std::vector<std::string>& items, const std::string& separator);
/// Shortest text that reads back to the same double.
std::string format_double(double value);
/// `text` resolved against `base_dir` when relative; absolute and lexically normal.
std::string resolve_path(const std::string& text, const std::filesystem::path& base_dir);

/// Throws std::invalid_argument("expected <what>, got '<shown text>'"); value parsers use it.
[[noreturn]] void expected(const std::string& what, const std::string& text);

/// How one key's text becomes a typed value and back. `parse` throws std::invalid_argument with
/// the words after "key: " (usually via expected()); it must accept the key's default text.
template <class V>
struct ValueType {
    std::function<V(const std::string& text, const Origin& origin)> parse;
    std::function<std::string(const V& value)> format;
};

// ---- value types shared by the configs --------------------------------------------------------

/// An integer in [low, high]; `unit` is added to the message ("an integer in 16..8192 (pixels)").
ValueType<int> integer(long long low, long long high, const std::string& unit = "");
/// An integer in 0..18446744073709551615 (seeds), digits only.
ValueType<std::uint64_t> unsigned_integer();
/// A finite number in the interval; open ends exclude the bound ("a number in (0, 1]").
ValueType<double> real(double low, double high, bool low_open = false, bool high_open = false);
/// true/false, yes/no, on/off, 1/0 (any case).
ValueType<bool> boolean();
/// A path resolved against the origin's folder; empty text is the empty path. With `must_be`
/// "file" or "folder" the path must exist as that.
ValueType<std::string> path(const std::string& must_be = "");
/// One of `names` (any case), stored as the lower-case name.
ValueType<std::string> word(const std::vector<std::string>& names);
/// LibTorch/worker threads: 0 (all cores) up to max_threads().
ValueType<int> thread_count();

/// The largest thread count a config or option accepts: 4 x the machine's cores, at most 256.
/// More only oversubscribes the cores (2000 threads made a run 100x slower).
int max_threads();
/// `value` when it is a valid thread count (0..max_threads()), else std::invalid_argument naming
/// `option` ("--threads -3: expected ...").
int checked_thread_count(const std::string& option, long long value);

/// One of the names, mapped to an enum value.
template <class E>
ValueType<E> enumeration(std::vector<std::pair<std::string, E>> names) {
    ValueType<E> type;
    type.parse = [names](const std::string& text, const Origin&) {
        const std::string key = lower(text);
        for (const auto& [name, value] : names)
            if (name == key) return value;
        std::vector<std::string> choices;
        for (const auto& entry : names) choices.push_back(entry.first);
        expected("one of " + join(choices, ", "), text);
    };
    type.format = [names](const E& value) {
        for (const auto& [name, entry] : names)
            if (entry == value) return name;
        return std::string();
    };
    return type;
}

// ---- the schema ---------------------------------------------------------------------------------

/// Every key of one config type, in the order --print-config and --help list them.
template <class Config>
class Schema {
public:
    struct Key {
        std::string name;
        std::string help;
        std::string default_text;   // parsed to set the default ("" for required keys)
        std::string shown_default;  // for --help and the README ("(required)", "ImageNet", ...)
        bool required = false;
        bool repeatable = false;
        std::function<void(Config&, const std::string&, const Origin&)> set;
        std::function<void(Config&)> clear;  // repeatable keys: empty the list
        std::function<std::vector<std::string>(const Config&)> values;
        std::function<bool(const Config&, const Config&)> same;
    };

    /// What a load produced: the config and where each key's value came from (keys at their
    /// default have no entry; a repeatable key has one origin per item).
    struct Loaded {
        Config config;
        std::map<std::string, std::vector<Origin>> origins;
        std::string source;

        bool given(const std::string& key) const { return origins.count(key) > 0; }
        const Origin& origin(const std::string& key) const { return origins.at(key).back(); }
        /// "where: message" for the key's last assignment, or "source: message" at its default.
        [[noreturn]] void fail(const std::string& key, const std::string& message) const {
            throw ConfigError((given(key) ? origin(key).where : source) + ": " + message);
        }
    };

    struct Options {
        bool required = false;
        std::string shown_default;  // default: default_text, or "(none)" when empty
    };

    Schema(std::string command) : command_(std::move(command)) {}

    /// One key filling `member`, parsed with `type`; `default_text` is parsed for the default.
    template <class V>
    Schema& add(const char* name, V Config::*member, ValueType<V> type, std::string default_text,
                std::string help, Options options = {}) {
        Key key = make_key(name, std::move(default_text), std::move(help), options);
        key.set = [member, type, name](Config& config, const std::string& text, const Origin& origin) {
            config.*member = parse_value(name, type, text, origin);
        };
        key.values = [member, type](const Config& config) {
            return std::vector<std::string>{type.format(config.*member)};
        };
        key.same = [member](const Config& a, const Config& b) { return a.*member == b.*member; };
        keys_.push_back(std::move(key));
        return *this;
    }

    /// A repeatable key: every assignment adds one item to `member`.
    template <class V>
    Schema& add_list(const char* name, std::vector<V> Config::*member, ValueType<V> type, std::string help,
                     Options options = {}) {
        Key key = make_key(name, "", std::move(help), options);
        key.repeatable = true;
        key.set = [member, type, name](Config& config, const std::string& text, const Origin& origin) {
            (config.*member).push_back(parse_value(name, type, text, origin));
        };
        key.clear = [member](Config& config) { (config.*member).clear(); };
        key.values = [member, type](const Config& config) {
            std::vector<std::string> out;
            for (const V& item : config.*member) out.push_back(type.format(item));
            return out;
        };
        key.same = [member](const Config& a, const Config& b) { return a.*member == b.*member; };
        keys_.push_back(std::move(key));
        return *this;
    }

    /// load() of INI text (scan_ini: `source` names it in messages, `base_dir` resolves its paths)
    /// and of `key=value` overrides (scan_overrides).
    Loaded load_text(const std::string& text, const std::string& source, const std::filesystem::path& base_dir,
                     const std::vector<std::string>& overrides) const {
        return load(scan_ini(text, source, base_dir), scan_overrides(overrides), source);
    }

    const std::vector<Key>& keys() const { return keys_; }
    const std::string& command() const { return command_; }

    /// Sets every key to its default (constructors of the config types call this).
    void apply_defaults(Config& config) const {
        for (const Key& key : keys_) {
            if (key.repeatable) key.clear(config);
            else key.set(config, key.default_text, Origin{"default of " + key.name, {}});
        }
    }

    /// Applies the file's assignments, then the overrides, and checks required keys.
    Loaded load(const std::vector<Assignment>& file, const std::vector<Assignment>& overrides,
                const std::string& source) const {
        Loaded loaded{Config{}, {}, source};
        std::map<std::string, const Assignment*> first_in_file;
        for (const Assignment& assignment : file) {
            const Key& key = find(assignment);
            if (!key.repeatable) {
                const auto [it, inserted] = first_in_file.emplace(key.name, &assignment);
                if (!inserted) {
                    std::vector<std::string> repeatable;
                    for (const Key& other : keys_)
                        if (other.repeatable) repeatable.push_back(other.name);
                    throw ConfigError(assignment.origin.where + ": " + key.name + ": given twice (first at " +
                                      it->second->origin.where + ")" +
                                      (repeatable.empty() ? "" : "; only " + join(repeatable, ", ") + " may be repeated"));
                }
            }
            assign(loaded, key, assignment);
        }
        std::map<std::string, bool> replaced;
        for (const Assignment& assignment : overrides) {
            const Key& key = find(assignment);
            if (key.repeatable && !replaced[key.name]) {
                replaced[key.name] = true;
                key.clear(loaded.config);
                loaded.origins.erase(key.name);
            }
            assign(loaded, key, assignment);
        }
        for (const Key& key : keys_)
            if (key.required && !loaded.given(key.name))
                throw ConfigError(source + ": missing required key '" + key.name + "' (" + key.help + ")");
        return loaded;
    }

    /// One `key = value` line per value, in schema order. `write_default(key, config)` true writes
    /// `key =` (the default) instead of the value.
    std::string to_ini(const Config& config,
                       const std::function<bool(const std::string&, const Config&)>& write_default = {}) const {
        std::string out;
        for (const Key& key : keys_) {
            if (write_default && write_default(key.name, config)) {
                out += key.name + " = \n";
                continue;
            }
            for (const std::string& value : key.values(config)) {
                const std::string text = ini_value(key.name, value);
                out += key.name + " = " + text + "\n";
            }
        }
        return out;
    }

    /// Checks a config built in code (not loaded) against the same types and ranges: every key's
    /// value is formatted and parsed again. Throws ConfigError "<where>: key: ...".
    void check(const Config& config, const std::string& where) const {
        Config copy = config;
        for (const Key& key : keys_) {
            const std::vector<std::string> values = key.values(config);
            if (key.required && (values.empty() || values.front().empty()))
                throw ConfigError(where + ": missing required key '" + key.name + "' (" + key.help + ")");
            if (key.repeatable) key.clear(copy);
            for (const std::string& value : values) key.set(copy, value, Origin{where, "/"});
        }
    }

    bool equal(const Config& a, const Config& b) const {
        for (const Key& key : keys_)
            if (!key.same(a, b)) return false;
        return true;
    }

    /// "  name  help [default: x]" lines for --help.
    std::string reference() const;
    /// The README's table: "| `name` | default | help |" rows under a header.
    std::string markdown_table() const;
    /// " (did you mean 'tile_size'?)" for a close misspelling, else "".
    std::string did_you_mean(const std::string& name) const;

private:
    static Key make_key(const char* name, std::string default_text, std::string help, const Options& options) {
        Key key;
        key.name = name;
        key.help = std::move(help);
        key.required = options.required;
        key.shown_default = !options.shown_default.empty() ? options.shown_default
                            : options.required         ? "(required)"
                            : default_text.empty()     ? "(none)"
                                                       : default_text;
        key.default_text = std::move(default_text);
        return key;
    }

    template <class V>
    static V parse_value(const char* name, const ValueType<V>& type, const std::string& text, const Origin& origin) {
        try {
            return type.parse(text, origin);
        } catch (const std::invalid_argument& problem) {
            throw ConfigError(origin.where + ": " + name + ": " + problem.what());
        }
    }

    const Key& find(const Assignment& assignment) const {
        for (const Key& key : keys_)
            if (key.name == assignment.key) return key;
        const std::string hint = did_you_mean(assignment.key);
        throw ConfigError(assignment.origin.where + ": unknown key '" + shown(assignment.key) + "'" +
                          (hint.empty() ? " (satsal " + command_ + " --help lists the keys)" : hint));
    }

    void assign(Loaded& loaded, const Key& key, const Assignment& assignment) const {
        if (assignment.value.empty()) {  // the default; for a list, no items
            if (key.repeatable) key.clear(loaded.config);
            else key.set(loaded.config, key.default_text, assignment.origin);
            loaded.origins.erase(key.name);
            return;
        }
        key.set(loaded.config, assignment.value, assignment.origin);
        auto& origins = loaded.origins[key.name];
        if (!key.repeatable) origins.clear();
        origins.push_back(assignment.origin);
    }

    std::string command_;
    std::vector<Key> keys_;
};

// Non-template helpers of Schema<Config>::reference etc.
std::string reference_lines(const std::vector<std::vector<std::string>>& rows);  // name, help, default
std::string markdown_rows(const std::vector<std::vector<std::string>>& rows);
std::string closest_name(const std::string& name, const std::vector<std::string>& names);

template <class Config>
std::string Schema<Config>::reference() const {
    std::vector<std::vector<std::string>> rows;
    for (const Key& key : keys_) rows.push_back({key.name, key.help, key.shown_default});
    return reference_lines(rows);
}

template <class Config>
std::string Schema<Config>::markdown_table() const {
    std::vector<std::vector<std::string>> rows;
    for (const Key& key : keys_) rows.push_back({key.name, key.help, key.shown_default});
    return markdown_rows(rows);
}

template <class Config>
std::string Schema<Config>::did_you_mean(const std::string& name) const {
    std::vector<std::string> names;
    for (const Key& key : keys_) names.push_back(key.name);
    const std::string best = closest_name(name, names);
    return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

}  // namespace satsal::config
