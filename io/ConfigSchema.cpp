#include "io/ConfigSchema.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace satsal::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxConfigBytes = 16u << 20;

bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string interval_text(double low, double high, bool low_open, bool high_open) {
    return std::string(low_open ? "(" : "[") + format_double(low) + ", " + format_double(high) + (high_open ? ")" : "]");
}

// One line of a file, split into key and value by the rules of the header.
Assignment scan_line(const std::string& content, const Origin& origin) {
    const std::size_t equals = content.find('=');
    if (equals == std::string::npos) throw ConfigError(origin.where + ": expected 'key = value', got '" + shown(content) + "'");
    Assignment assignment;
    assignment.origin = origin;
    assignment.key = trim(content.substr(0, equals));
    if (assignment.key.empty())
        throw ConfigError(origin.where + ": missing key before '=' in '" + shown(content) + "'");
    std::string rest = content.substr(equals + 1);
    const std::size_t start = rest.find_first_not_of(" \t");
    if (start == std::string::npos) return assignment;  // empty value
    rest = rest.substr(start);
    if (rest.front() == '"') {
        const std::size_t close = rest.find('"', 1);
        if (close == std::string::npos)
            throw ConfigError(origin.where + ": " + assignment.key + ": the value's opening '\"' has no closing '\"'");
        assignment.value = rest.substr(1, close - 1);
        const std::string after = trim(rest.substr(close + 1));
        if (!after.empty() && after.front() != '#')
            throw ConfigError(origin.where + ": " + assignment.key + ": text after the closing '\"': '" + shown(after) +
                              "' (a comment starts with '#')");
        return assignment;
    }
    // A comment starts at a '#' preceded by whitespace; "run#3" keeps its '#'.
    std::size_t cut = std::string::npos;
    for (std::size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] == '#' && (rest[i - 1] == ' ' || rest[i - 1] == '\t')) {
            cut = i;
            break;
        }
    }
    if (rest.front() == '#') cut = 0;  // `key = # comment` is an empty value
    assignment.value = trim(rest.substr(0, cut));
    return assignment;
}

}  // namespace

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

std::string format_double(double value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
    return std::string(buffer, result.ptr);
}

std::string resolve_path(const std::string& text, const fs::path& base_dir) {
    fs::path path(text);
    if (path.is_relative()) path = base_dir / path;
    return fs::absolute(path).lexically_normal().string();
}

std::string shown(const std::string& value, std::size_t limit) {
    std::string out;
    std::size_t count = 0;
    for (const char ch : value) {
        if (count == limit) break;
        const auto c = static_cast<unsigned char>(ch);
        if (is_control(c)) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            out += escaped;
        } else {
            out += ch;
        }
        ++count;
    }
    if (count < value.size()) out += "... (" + std::to_string(value.size()) + " bytes)";
    return out;
}

void expected(const std::string& what, const std::string& text) {
    throw std::invalid_argument("expected " + what + ", got '" + shown(text) + "'");
}

std::vector<Assignment> scan_ini(const std::string& raw, const std::string& source, const fs::path& base_dir) {
    // Editors on Windows may start the file with a UTF-8 byte order mark; it is not part of the key.
    const std::string text = raw.rfind("\xEF\xBB\xBF", 0) == 0 ? raw.substr(3) : raw;
    std::vector<Assignment> assignments;
    std::size_t begin = 0;
    int number = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(begin, end - begin);
        begin = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const Origin origin{source + ":" + std::to_string(number), base_dir};
        for (std::size_t i = 0; i < line.size(); ++i) {
            const auto c = static_cast<unsigned char>(line[i]);
            if (is_control(c)) {
                char byte[8];
                std::snprintf(byte, sizeof byte, "0x%02x", c);
                throw ConfigError(origin.where + ": control character (byte " + byte + ") at column " +
                                  std::to_string(i + 1) + "; a config file is text, one 'key = value' per line");
            }
        }
        const std::string content = trim(line);
        if (content.empty() || content.front() == '#') continue;
        if (content.front() == '[')
            throw ConfigError(origin.where + ": sections are not used, found '" + shown(content) +
                              "'; write the keys without a section");
        assignments.push_back(scan_line(content, origin));
    }
    return assignments;
}

std::vector<Assignment> scan_overrides(const std::vector<std::string>& overrides) {
    std::vector<Assignment> assignments;
    for (const std::string& text : overrides) {
        Assignment assignment;
        assignment.origin = Origin{"--set " + shown(text, 200), fs::current_path()};
        assignment.from_command_line = true;
        const std::size_t equals = text.find('=');
        if (equals == std::string::npos) throw ConfigError(assignment.origin.where + ": expected key=value");
        assignment.key = trim(text.substr(0, equals));
        std::string value = trim(text.substr(equals + 1));
        for (const char c : value)
            if (is_control(static_cast<unsigned char>(c)))
                throw ConfigError(assignment.origin.where + ": the value holds a control character");
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        assignment.value = value;
        assignments.push_back(std::move(assignment));
    }
    return assignments;
}

std::string read_config_file(const std::string& path) {
    std::error_code error;
    if (fs::is_directory(path, error)) throw ConfigError(path + ": is a directory, expected a config file");
    std::ifstream file(path, std::ios::binary);
    if (!file) throw ConfigError(path + ": cannot open the config file");
    std::string text(kMaxConfigBytes + 1, '\0');
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (file.bad()) throw ConfigError(path + ": cannot read the config file");
    text.resize(static_cast<std::size_t>(file.gcount()));
    if (text.size() > kMaxConfigBytes)
        throw ConfigError(path + ": larger than 16 MiB; a config file is a few lines of text");
    return text;
}

fs::path config_folder(const std::string& path) { return fs::absolute(fs::path(path)).parent_path(); }

std::string ini_value(const std::string& key, const std::string& value) {
    for (const char c : value)
        if (is_control(static_cast<unsigned char>(c)))
            throw ConfigError("to_ini: " + key + " value '" + shown(value) +
                              "' holds a line break or control character, which an INI line cannot hold");
    const bool needs_quotes = value.find('#') != std::string::npos || (!value.empty() && (value.front() == '"' ||
                              trim(value) != value));
    if (!needs_quotes) return value;
    if (value.find('"') != std::string::npos)
        throw ConfigError("to_ini: " + key + " value '" + shown(value) +
                          "' holds both a '\"' and a '#' or surrounding spaces, which an INI line cannot hold");
    return "\"" + value + "\"";
}

ValueType<int> integer(long long low, long long high, const std::string& unit) {
    const std::string what = "an integer in " + std::to_string(low) + ".." + std::to_string(high) +
                             (unit.empty() ? "" : " (" + unit + ")");
    ValueType<int> type;
    type.parse = [=](const std::string& text, const Origin&) {
        long long value = 0;
        const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
        const char* end = text.data() + text.size();
        const auto result = std::from_chars(begin, end, value);
        if (begin == end || result.ec != std::errc() || result.ptr != end || value < low || value > high)
            expected(what, text);
        return static_cast<int>(value);
    };
    type.format = [](const int& value) { return std::to_string(value); };
    return type;
}

ValueType<std::uint64_t> unsigned_integer() {
    ValueType<std::uint64_t> type;
    type.parse = [](const std::string& text, const Origin&) {
        std::uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto result = std::from_chars(text.data(), end, value);
        if (text.empty() || result.ec != std::errc() || result.ptr != end)
            expected("an integer in 0..18446744073709551615", text);
        return value;
    };
    type.format = [](const std::uint64_t& value) { return std::to_string(value); };
    return type;
}

ValueType<double> real(double low, double high, bool low_open, bool high_open) {
    const std::string what = "a number in " + interval_text(low, high, low_open, high_open);
    ValueType<double> type;
    type.parse = [=](const std::string& text, const Origin&) {
        double value = 0;
        const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
        const char* end = text.data() + text.size();
        const auto result = std::from_chars(begin, end, value);
        if (begin == end || result.ec != std::errc() || result.ptr != end || !std::isfinite(value) ||
            value < low || value > high || (low_open && value == low) || (high_open && value == high))
            expected(what, text);
        return value;
    };
    type.format = [](const double& value) { return format_double(value); };
    return type;
}

ValueType<bool> boolean() {
    ValueType<bool> type;
    type.parse = [](const std::string& text, const Origin&) {
        const std::string v = lower(text);
        if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
        if (v == "false" || v == "no" || v == "off" || v == "0") return false;
        expected("true or false (also yes/no, on/off, 1/0)", text);
    };
    type.format = [](const bool& value) { return std::string(value ? "true" : "false"); };
    return type;
}

ValueType<std::string> path(const std::string& must_be) {
    ValueType<std::string> type;
    type.parse = [must_be](const std::string& text, const Origin& origin) -> std::string {
        if (text.empty()) return {};
        const std::string resolved = resolve_path(text, origin.base_dir);
        std::error_code error;
        if (must_be == "file" && !fs::is_regular_file(resolved, error))
            throw std::invalid_argument("file '" + shown(resolved, kShownPathLength) + "' does not exist");
        if (must_be == "folder" && !fs::is_directory(resolved, error))
            throw std::invalid_argument("folder '" + shown(resolved, kShownPathLength) + "' does not exist");
        return resolved;
    };
    type.format = [](const std::string& value) { return value; };
    return type;
}

ValueType<std::string> word(const std::vector<std::string>& names) {
    ValueType<std::string> type;
    type.parse = [names](const std::string& text, const Origin&) {
        const std::string v = lower(text);
        if (std::find(names.begin(), names.end(), v) == names.end()) expected("one of " + join(names, ", "), text);
        return v;
    };
    type.format = [](const std::string& value) { return value; };
    return type;
}

int max_threads() {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return std::min(256, 4 * cores);
}

namespace {
std::string thread_rule() {
    return "an integer in 0.." + std::to_string(max_threads()) +
           " (0 = all cores; at most 4 x the " + std::to_string(std::max(1u, std::thread::hardware_concurrency())) +
           " cores, at most 256)";
}
}  // namespace

int checked_thread_count(const std::string& option, long long value) {
    if (value < 0 || value > max_threads())
        throw std::invalid_argument(option + " " + std::to_string(value) + ": expected " + thread_rule());
    return static_cast<int>(value);
}

ValueType<int> thread_count() {
    ValueType<int> type;
    type.parse = [](const std::string& text, const Origin& origin) {
        try {
            return integer(0, max_threads()).parse(text, origin);
        } catch (const std::invalid_argument&) {
            expected(thread_rule(), text);
        }
    };
    type.format = [](const int& value) { return std::to_string(value); };
    return type;
}

std::string reference_lines(const std::vector<std::vector<std::string>>& rows) {
    std::size_t width = 0;
    for (const auto& row : rows) width = std::max(width, row[0].size());
    std::string out;
    for (const auto& row : rows)
        out += "  " + row[0] + std::string(width - row[0].size() + 2, ' ') + row[1] + " [default: " + row[2] + "]\n";
    return out;
}

std::string markdown_rows(const std::vector<std::vector<std::string>>& rows) {
    std::string out = "| key | default | meaning |\n|---|---|---|\n";
    for (const auto& row : rows) {
        std::string help = row[1];
        std::string escaped;
        for (const char c : help)
            escaped += c == '|' ? std::string("\\|") : c == '<' ? std::string("&lt;") : c == '>' ? std::string("&gt;")
                                                                                          : std::string(1, c);
        out += "| `" + row[0] + "` | " + row[2] + " | " + escaped + " |\n";
    }
    return out;
}

std::string closest_name(const std::string& name, const std::vector<std::string>& names) {
    std::string best;
    std::size_t best_distance = 3;  // suggest only close misspellings
    if (name.size() > 64) return best;
    for (const auto& candidate : names) {
        const std::size_t d = edit_distance(lower(name), candidate);
        if (d < best_distance) {
            best_distance = d;
            best = candidate;
        }
    }
    return best;
}

}  // namespace satsal::config
