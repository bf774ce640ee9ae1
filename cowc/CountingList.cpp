#include "cowc/CountingList.hpp"

#include "io/PathPolicy.hpp"

#include <bzlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "io/AtomicFile.hpp"
#include "io/IoError.hpp"

namespace satsal::cowc {
namespace {

// 256 MiB of list text is about six million lines, far more than any COWC split.
constexpr std::size_t kMaxListBytes = std::size_t{256} << 20;

bool looks_like_bzip2(const std::string& data) {
    return data.size() >= 4 && data.compare(0, 3, "BZh") == 0 && data[3] >= '1' && data[3] <= '9';
}

std::string read_whole_file(const std::string& path) {
    // A FIFO or /dev/zero would be read forever; a huge file would be held whole.
    const std::string problem = input_file_problem(path);
    if (problem == "does not exist") throw IoError("cannot open COWC list file '" + path + "'");
    if (!problem.empty()) throw IoError("COWC list file '" + path + "' " + problem);
    std::error_code size_error;
    const auto size = std::filesystem::file_size(path, size_error);
    if (!size_error && size > kMaxListBytes) {
        throw IoError("COWC list file '" + path + "' is " + std::to_string(size) + " bytes; at most " +
                                 std::to_string(kMaxListBytes) + " are read (about six million lines)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open COWC list file '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IoError("error while reading COWC list file '" + path + "'");
    return ss.str();
}

std::vector<std::string> split_whitespace(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        std::size_t j = i;
        while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

const char* bz_error_name(int code) {
    switch (code) {
        case BZ_DATA_ERROR: return "corrupt data (BZ_DATA_ERROR)";
        case BZ_DATA_ERROR_MAGIC: return "not bzip2 data (BZ_DATA_ERROR_MAGIC)";
        case BZ_MEM_ERROR: return "out of memory (BZ_MEM_ERROR)";
        case BZ_PARAM_ERROR: return "bad parameter (BZ_PARAM_ERROR)";
        case BZ_CONFIG_ERROR: return "libbz2 misconfigured (BZ_CONFIG_ERROR)";
        default: return "libbz2 error";
    }
}

}  // namespace

std::string bzip2_decompress(const std::string& compressed, const std::string& source) {
    return bzip2_decompress(compressed, source, kMaxListBytes);
}

std::string bzip2_decompress(const std::string& compressed, const std::string& source, std::size_t max_bytes) {
    std::string out;
    std::size_t consumed = 0;
    char buffer[1 << 16];
    // One iteration per bzip2 stream: concatenated streams are valid bzip2 files.
    while (consumed < compressed.size()) {
        bz_stream strm{};
        int rc = BZ2_bzDecompressInit(&strm, 0, 0);
        if (rc != BZ_OK) throw IoError("'" + source + "': cannot start bzip2 decompression: " + bz_error_name(rc));
        strm.next_in = const_cast<char*>(compressed.data() + consumed);
        strm.avail_in = static_cast<unsigned>(compressed.size() - consumed);
        do {
            strm.next_out = buffer;
            strm.avail_out = sizeof buffer;
            rc = BZ2_bzDecompress(&strm);
            if (rc != BZ_OK && rc != BZ_STREAM_END) {
                BZ2_bzDecompressEnd(&strm);
                throw IoError("'" + source + "': bzip2 decompression failed: " + bz_error_name(rc));
            }
            out.append(buffer, sizeof buffer - strm.avail_out);
            if (out.size() > max_bytes) {
                BZ2_bzDecompressEnd(&strm);
                throw IoError("'" + source + "': bzip2 data inflates to more than " +
                                         std::to_string(max_bytes) + " bytes (" + std::to_string(compressed.size()) +
                                         " compressed); refusing it as a list (a decompression bomb?)");
            }
            if (rc == BZ_OK && strm.avail_in == 0 && strm.avail_out != 0) {
                BZ2_bzDecompressEnd(&strm);
                throw IoError("'" + source + "': bzip2 data ends before the end of its stream (truncated file?)");
            }
        } while (rc != BZ_STREAM_END);
        consumed = compressed.size() - strm.avail_in;
        BZ2_bzDecompressEnd(&strm);
    }
    return out;
}

std::string bzip2_compress(const std::string& plain, const std::string& source) {
    bz_stream strm{};
    int rc = BZ2_bzCompressInit(&strm, 9, 0, 0);
    if (rc != BZ_OK) throw IoError("'" + source + "': cannot start bzip2 compression: " + bz_error_name(rc));
    strm.next_in = const_cast<char*>(plain.data());
    strm.avail_in = static_cast<unsigned>(plain.size());
    std::string out;
    char buffer[1 << 16];
    do {
        strm.next_out = buffer;
        strm.avail_out = sizeof buffer;
        rc = BZ2_bzCompress(&strm, BZ_FINISH);
        if (rc != BZ_FINISH_OK && rc != BZ_STREAM_END) {
            BZ2_bzCompressEnd(&strm);
            throw IoError("'" + source + "': bzip2 compression failed: " + bz_error_name(rc));
        }
        out.append(buffer, sizeof buffer - strm.avail_out);
    } while (rc != BZ_STREAM_END);
    BZ2_bzCompressEnd(&strm);
    return out;
}

std::vector<CountingListEntry> parse_counting_list(const std::string& text, const std::string& source) {
    std::vector<CountingListEntry> entries;
    std::size_t start = 0;
    int line_number = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto fields = split_whitespace(line);
        if (fields.empty()) continue;
        const std::string where = source + ":" + std::to_string(line_number) + ": ";
        if (fields.size() != 2)
            throw IoError(where + "expected '<Site>/<split>/<file>.png <count>' (2 fields), found " +
                          std::to_string(fields.size()) + " fields in '" + printable(line) + "'");
        CountingListEntry e;
        const std::string& path = fields[0];
        const auto s1 = path.find('/');
        const auto s2 = s1 == std::string::npos ? std::string::npos : path.find('/', s1 + 1);
        if (s1 == std::string::npos || s2 == std::string::npos || path.find('/', s2 + 1) != std::string::npos ||
            s1 == 0 || s2 == s1 + 1 || s2 + 1 == path.size())
            throw IoError(where + "expected the patch path '<Site>/<split>/<file>.png', found '" + printable(path) + "'");
        e.site = path.substr(0, s1);
        e.split = path.substr(s1 + 1, s2 - s1 - 1);
        e.file = path.substr(s2 + 1);
        // The path is joined under --root later: '..' or a hidden name must never get that far.
        for (const std::string* part : {&e.site, &e.split, &e.file}) {
            if (!is_safe_name_component(*part))
                throw IoError(where + "the patch path '" + printable(path) + "' has the element '" +
                                         printable(*part) + "', which is not a plain name (no '.', '..' or hidden "
                                         "satsal names): list paths must stay inside the patch set root");
        }
        const std::string& count = fields[1];
        bool digits = !count.empty() && count.size() <= 9;
        for (char c : count) digits = digits && std::isdigit(static_cast<unsigned char>(c));
        if (!digits)
            throw IoError(where + "expected a non-negative integer count, found '" + printable(count) + "'");
        e.count = std::stoi(count);
        try {
            e.name = parse_counting_patch_name(e.file);
        } catch (const std::invalid_argument& ex) {
            throw IoError(where + ex.what());
        }
        entries.push_back(std::move(e));
    }
    return entries;
}

std::vector<CountingListEntry> read_counting_list(const std::string& path) {
    std::string data = read_whole_file(path);
    if (looks_like_bzip2(data)) data = bzip2_decompress(data, path);
    return parse_counting_list(data, path);
}

std::string format_counting_list(const std::vector<CountingListEntry>& entries) {
    std::string out;
    for (const auto& e : entries) {
        if (e.site.empty() || e.split.empty() || e.file.empty() || e.count < 0)
            throw std::invalid_argument("COWC list entry '" + e.relative_path() + " " + std::to_string(e.count) +
                                        "': site, split and file must be non-empty and the count non-negative");
        out += e.relative_path();
        out += ' ';
        out += std::to_string(e.count);
        out += '\n';
    }
    return out;
}

void write_counting_list(const std::string& path, const std::vector<CountingListEntry>& entries) {
    std::string data = format_counting_list(entries);
    const bool bz2 = path.size() >= 4 && path.compare(path.size() - 4, 4, ".bz2") == 0;
    if (bz2) data = bzip2_compress(data, path);
    create_parent_directory(path);
    write_text_file(path, data);
}

}  // namespace satsal::cowc
