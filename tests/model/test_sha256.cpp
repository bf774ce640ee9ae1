// SHA-256 against the FIPS 180-2 / NIST example vectors.
#include "model/Sha256.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <fstream>
#include <string>

using satsal::Sha256;
using satsal::sha256_hex;

TEST_CASE("SHA-256 standard test vectors", "[sha256]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // 56 bytes: the padding needs a second block.
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 gives the same digest however the input is split", "[sha256]") {
    std::string message;
    for (int i = 0; i < 1000; ++i) message.push_back(char((i * 131) % 256));
    const std::string whole = sha256_hex(message);
    for (size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u}) {
        Sha256 hash;
        for (size_t at = 0; at < message.size(); at += piece) {
            hash.update(message.data() + at, std::min(piece, message.size() - at));
        }
        INFO("piece " << piece);
        CHECK(hash.hex_digest() == whole);
    }
}

TEST_CASE("SHA-256 of a file equals that of its bytes; a missing file is an error naming it", "[sha256]") {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("satsal_sha256_" + std::to_string(getpid()) + ".bin")).string();
    std::string content(70000, '\0');
    for (size_t i = 0; i < content.size(); ++i) content[i] = char(i % 251);
    std::ofstream(path, std::ios::binary) << content;
    CHECK(satsal::sha256_file(path) == sha256_hex(content));
    std::remove(path.c_str());
    CHECK_THROWS_WITH(satsal::sha256_file("/nonexistent/x.pt"), "cannot open '/nonexistent/x.pt' to compute its SHA-256");
}
