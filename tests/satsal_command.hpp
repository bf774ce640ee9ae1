#pragma once
// Running the built satsal binary from a test, with both streams captured. The test target defines
// SATSAL_BINARY (its CMake: target_compile_definitions(... SATSAL_BINARY="$<TARGET_FILE:satsal>")
// and add_dependencies(... satsal)).
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace satsal::test {

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// `text` in single quotes for the shell (test paths hold no single quote).
inline std::string quoted(const std::string& text) { return "'" + text + "'"; }

/// Runs SATSAL_BINARY with `arguments` (already shell-quoted); stdout and stderr pass through
/// cmd.stdout and cmd.stderr in `folder`.
inline CommandResult run_satsal(const std::string& arguments, const std::string& folder) {
    const std::string out = folder + "/cmd.stdout", err = folder + "/cmd.stderr";
    const std::string command = quoted(SATSAL_BINARY) + " " + arguments + " >" + quoted(out) + " 2>" + quoted(err);
    const int status = std::system(command.c_str());
    const auto read = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read(out);
    result.err = read(err);
    return result;
}

}  // namespace satsal::test
