#pragma once
// COWC counting patch list files (`COWC_train_list_64_class.txt`, `COWC_test_list_64_class.txt`),
// plain text or bzip2-compressed (`.bz2`, detected by content, not by name). One line per patch:
//
//     <Site>/<split>/<file>.png <count>
//
// separated by white space. Blank lines are skipped and a trailing '\r' (CRLF files) is
// ignored; anything else that does not match is an error naming the file and the 1-based line.
//
// Thread rules: free functions; each call opens its own file. Safe from any thread as long as two
// threads do not write the same path.
#include <string>
#include <vector>

#include "cowc/Names.hpp"

namespace satsal::cowc {

/// One line of a counting list.
struct CountingListEntry {
    std::string site;        ///< e.g. `Toronto_ISPRS`
    std::string split;       ///< e.g. `train` or `test`
    std::string file;        ///< e.g. `03.01234.00567.000.png`
    int count = 0;           ///< the label given on the line (the class index)
    CountingPatchName name;  ///< fields parsed from `file`; name.count is the count in the name

    /// `<site>/<split>/<file>`, relative to the patch set root.
    std::string relative_path() const { return site + "/" + split + "/" + file; }
};

/// Reads a list file (plain or bzip2). Throws IoError `<path>:<line>: <what was
/// expected>` for a malformed line, or naming the file when it cannot be read or decompressed.
std::vector<CountingListEntry> read_counting_list(const std::string& path);

/// Parses list text already in memory; `source` names it in error messages.
std::vector<CountingListEntry> parse_counting_list(const std::string& text, const std::string& source);

/// Formats the list text, one `<site>/<split>/<file> <count>` line per entry, '\n' endings.
std::string format_counting_list(const std::vector<CountingListEntry>& entries);

/// Writes a list file; bzip2-compressed when `path` ends in `.bz2`, plain otherwise.
/// Creates the parent folder and writes through `<path>.partial` (renamed when complete). Throws
/// IoError naming the file on failure.
void write_counting_list(const std::string& path, const std::vector<CountingListEntry>& entries);

/// bzip2 helpers used by the list reader/writer (exposed for tests and other COWC tools).
/// decompress accepts concatenated bzip2 streams (as written by pbzip2); `source` names the data
/// in errors.
/// At most 256 MiB of output (the list reader's limit); more throws naming `source`.
std::string bzip2_decompress(const std::string& compressed, const std::string& source);
std::string bzip2_decompress(const std::string& compressed, const std::string& source, std::size_t max_bytes);
std::string bzip2_compress(const std::string& plain, const std::string& source);

}  // namespace satsal::cowc
