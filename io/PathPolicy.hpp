#pragma once
// One policy for every path satsal derives from user input (scene stems, COWC site/split/file
// names, list lines, output folders), so that a hostile or unlucky name cannot send outputs
// outside their folder, read outside a data root, or overwrite an input.
//
//  - A *name component* (a scene's output folder, a COWC site or split, a patch file name) is one
//    path element: not empty, not only dots (".", "..", "..."), no '/', '\\', NUL or control
//    characters, at most 255 bytes, and not starting with ".satsal" (satsal's own hidden files).
//  - A *relative path under a root* (a COWC list line) is made of such components; absolute paths
//    and ".." are refused before any file is opened. Symbolic links inside the root are followed
//    (data sets are often assembled from links); the lexical rule is what keeps `../../` out.
//  - Outputs never replace an input: an output file must not be the same file (device + inode) as
//    an input, and an output folder that satsal replaces as a whole must not hold an input.
//
// Errors are IoError naming the value (printable, shortened) and what was expected.
// Thread rules: free functions without shared state.
#include <string>
#include <vector>

namespace satsal {

/// Throws IoError "<what> '<name>': <reason>" unless `name` is a safe single path component.
void check_name_component(const std::string& name, const std::string& what);
/// True when check_name_component would accept `name`.
bool is_safe_name_component(const std::string& name);

/// `root/relative` after checking that every '/'-separated element of `relative` is a safe name
/// component (so the result cannot leave `root` lexically). IoError naming `what` otherwise.
std::string join_under_root(const std::string& root, const std::string& relative, const std::string& what);

/// True when `a` and `b` exist and are the same file (same device and inode, links followed).
bool same_file(const std::string& a, const std::string& b);

/// True when `path` exists and lies inside `folder` (or is `folder`), judged by device and inode
/// of `path`'s real ancestors, so symbolic links and "a/../b" spellings cannot hide it.
bool lies_inside(const std::string& path, const std::string& folder);

/// IoError when `output_file` is the same file as one of `inputs`, or when an existing
/// `replaced_folder` (empty: none) holds one of them. `inputs` that do not exist are ignored.
void refuse_overwriting_inputs(const std::vector<std::string>& inputs, const std::string& output_file,
                               const std::string& replaced_folder);

/// `text` for an error message: control and non-ASCII bytes as \xNN, at most `limit` bytes of
/// the original followed by "... (N bytes)" when longer.
std::string printable(const std::string& text, std::size_t limit = 80);

/// Why `path` cannot be opened as a regular input file, or "" when it can be: "does not exist",
/// "is a folder", "is a FIFO", "is a device", "is a socket", "is a symbolic link loop",
/// "permission denied", ... (so callers stop reporting every failure as "does not exist").
std::string input_file_problem(const std::string& path);

}  // namespace satsal
