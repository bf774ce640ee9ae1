#include "io/PathPolicy.hpp"

#include "io/IoError.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace satsal {
namespace {

std::string name_problem(const std::string& name) {
    if (name.empty()) return "is empty";
    if (name.find_first_not_of('.') == std::string::npos) return "is only dots (it would name the folder itself or its parent)";
    if (name.size() > 255) return "is longer than 255 bytes";
    for (const char c : name) {
        if (c == '/' || c == '\\') return "contains a path separator";
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
    }
    if (name.rfind(".satsal", 0) == 0) return "starts with '.satsal' (reserved for satsal's lock and staging files)";
    return "";
}

bool stat_of(const std::string& path, struct stat& st) { return !path.empty() && ::stat(path.c_str(), &st) == 0; }

}  // namespace

bool is_safe_name_component(const std::string& name) { return name_problem(name).empty(); }

void check_name_component(const std::string& name, const std::string& what) {
    const std::string problem = name_problem(name);
    if (!problem.empty()) {
        throw IoError(what + " '" + printable(name) + "' " + problem +
                      "; expected a plain file or folder name (no '/', not '.' or '..')");
    }
}

std::string join_under_root(const std::string& root, const std::string& relative, const std::string& what) {
    if (relative.empty() || relative.front() == '/') {
        throw IoError(what + " '" + printable(relative) + "' must be a relative path inside '" + printable(root) + "'");
    }
    std::size_t start = 0;
    while (start <= relative.size()) {
        std::size_t end = relative.find('/', start);
        if (end == std::string::npos) end = relative.size();
        const std::string element = relative.substr(start, end - start);
        const std::string problem = name_problem(element);
        if (!problem.empty()) {
            throw IoError(what + " '" + printable(relative) + "': element '" + printable(element) + "' " + problem +
                          "; list paths must stay inside '" + printable(root) + "' (no '..', no absolute paths)");
        }
        start = end + 1;
    }
    if (root.empty()) return relative;
    return root.back() == '/' ? root + relative : root + "/" + relative;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    return stat_of(a, sa) && stat_of(b, sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool lies_inside(const std::string& path, const std::string& folder) {
    struct stat target {};
    if (!stat_of(folder, target)) return false;
    std::error_code error;
    fs::path p = fs::canonical(path, error);  // real path: links and ".." resolved
    if (error) return false;
    for (;;) {
        struct stat st {};
        if (stat_of(p.string(), st) && st.st_dev == target.st_dev && st.st_ino == target.st_ino) return true;
        if (!p.has_relative_path()) return false;  // reached "/"
        p = p.parent_path();
    }
}

void refuse_overwriting_inputs(const std::vector<std::string>& inputs, const std::string& output_file,
                               const std::string& replaced_folder) {
    for (const std::string& input : inputs) {
        if (input.empty()) continue;
        if (!output_file.empty() && same_file(input, output_file)) {
            throw IoError("output '" + printable(output_file) + "' is the input '" + printable(input) +
                          "'; satsal never overwrites its inputs: choose another output folder");
        }
        if (!replaced_folder.empty() && lies_inside(input, replaced_folder)) {
            throw IoError("the output folder '" + printable(replaced_folder) + "' holds the input '" +
                          printable(input) +
                          "' and satsal replaces that folder as a whole when it finishes; choose another "
                          "output folder or move the input");
        }
    }
}

std::string printable(const std::string& text, std::size_t limit) {
    std::string out;
    const std::size_t shown = std::min(limit, text.size());
    for (std::size_t i = 0; i < shown; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
    return out;
}

std::string input_file_problem(const std::string& path) {
    if (path.empty()) return "is an empty path";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int error = errno;
        if (error == ENOENT) {
            struct stat link {};
            if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) return "is a broken symbolic link";
            return "does not exist";
        }
        if (error == ELOOP) return "is a symbolic link loop";
        if (error == EACCES) return "cannot be reached (permission denied)";
        if (error == ENOTDIR) return "does not exist (a part of the path is not a folder)";
        if (error == ENAMETOOLONG) return "is too long a path";
        return std::string("cannot be examined: ") + std::strerror(error);
    }
    if (S_ISDIR(st.st_mode)) return "is a folder, not a file";
    if (S_ISFIFO(st.st_mode)) return "is a FIFO (named pipe), not a regular file";
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "is a device, not a regular file";
    if (S_ISSOCK(st.st_mode)) return "is a socket, not a regular file";
    if (::access(path.c_str(), R_OK) != 0) return "is not readable (permission denied)";
    return "";
}

}  // namespace satsal
