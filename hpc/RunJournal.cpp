#include "hpc/RunJournal.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace satsal::hpc {
namespace {

constexpr const char* magic = "satsal-journal 1";

// Fingerprint values go on one line: escape backslash, newline and tab.
std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else out += c;
    }
    return out;
}

std::string unescape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            const char next = text[++i];
            out += next == 'n' ? '\n' : next == 't' ? '\t' : next;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string header_line(const Fingerprint& fingerprint) {
    std::string line = magic;
    for (const auto& [name, value] : fingerprint) line += "\t" + escape(name) + "\t" + escape(value);
    return line + "\n";
}

Fingerprint parse_header(const std::string& line, const std::string& path) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, '\t')) fields.push_back(field);
    if (fields.empty() || fields[0] != magic || fields.size() % 2 == 0) {
        throw std::runtime_error(path + " is not a satsal journal (its first line is not a '" + magic +
                                 "' header): remove it or choose another output folder");
    }
    Fingerprint out;
    for (size_t i = 1; i + 1 < fields.size(); i += 2) out.emplace_back(unescape(fields[i]), unescape(fields[i + 1]));
    return out;
}

std::string shorten(const std::string& value) {
    return value.size() > 48 ? value.substr(0, 45) + "..." : value;
}

void write_all(int fd, const std::string& text, const std::string& path) {
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error("cannot write the journal " + path + ": " + std::strerror(errno));
        written += static_cast<size_t>(n);
    }
    if (::fdatasync(fd) != 0) throw std::runtime_error("cannot sync the journal " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string fingerprint_difference(const Fingerprint& before, const Fingerprint& now) {
    std::map<std::string, std::string> old_values(before.begin(), before.end());
    std::map<std::string, std::string> new_values(now.begin(), now.end());
    std::string out;
    auto add = [&](const std::string& text) { out += (out.empty() ? "" : "; ") + text; };
    for (const auto& [name, value] : now) {
        const auto old = old_values.find(name);
        if (old == old_values.end()) add(name + " is new (" + shorten(value) + ")");
        else if (old->second != value) add(name + " changed (" + shorten(old->second) + " -> " + shorten(value) + ")");
    }
    for (const auto& [name, value] : before) {
        if (!new_values.count(name)) add(name + " is gone (was " + shorten(value) + ")");
    }
    return out;
}

RunJournal::RunJournal(std::string path, const Fingerprint& fingerprint, const std::string& restart_hint)
    : path_(std::move(path)) {
    std::ifstream in(path_, std::ios::binary);
    std::string header;
    if (in && (!std::getline(in, header) || in.eof())) {
        // Killed while the header was written: nothing was recorded, start again.
        in.close();
        if (::unlink(path_.c_str()) != 0) {
            throw std::runtime_error("cannot remove the unfinished journal " + path_ + ": " + std::strerror(errno));
        }
    }
    if (in.is_open()) {
        const Fingerprint before = parse_header(header, path_);
        const std::string difference = fingerprint_difference(before, fingerprint);
        if (!difference.empty()) {
            throw FingerprintMismatch("cannot resume from " + path_ + ": " + difference + ". " + restart_hint);
        }
        // Complete lines only: a line a kill cut short has no newline and is dropped.
        std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        size_t start = 0, valid_end = 0;
        for (size_t end; (end = rest.find('\n', start)) != std::string::npos; start = end + 1) {
            const std::string line = rest.substr(start, end - start);
            const auto space = line.find(' ');
            char* tail = nullptr;
            const std::string unit_text = line.substr(0, space);
            const long long unit = std::strtoll(unit_text.c_str(), &tail, 10);
            if (unit_text.empty() || *tail != '\0') {
                throw std::runtime_error("journal " + path_ + " is damaged at record " + std::to_string(done_.size() + 1) +
                                         " ('" + shorten(line) + "'): remove it or rerun with --restart");
            }
            done_[unit] = space == std::string::npos ? std::string() : line.substr(space + 1);
            valid_end = end + 1;
        }
        in.close();
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) throw std::runtime_error("cannot open the journal " + path_ + ": " + std::strerror(errno));
        const off_t keep = static_cast<off_t>(header.size() + 1 + valid_end);
        if (::ftruncate(fd_, keep) != 0 || ::lseek(fd_, keep, SEEK_SET) < 0) {
            throw std::runtime_error("cannot trim the journal " + path_ + ": " + std::strerror(errno));
        }
        return;
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot create the journal " + path_ + ": " + std::strerror(errno));
    write_all(fd_, header_line(fingerprint), path_);
}

RunJournal::~RunJournal() {
    if (fd_ >= 0) ::close(fd_);
}

void RunJournal::record(int64_t unit, const std::string& payload) {
    if (payload.find('\n') != std::string::npos) {
        throw std::invalid_argument("journal payload for unit " + std::to_string(unit) + " contains a newline");
    }
    const std::string line = std::to_string(unit) + (payload.empty() ? "" : " " + payload) + "\n";
    std::lock_guard<std::mutex> lock(mutex_);
    write_all(fd_, line, path_);
}

}  // namespace satsal::hpc
