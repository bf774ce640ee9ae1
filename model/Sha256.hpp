#pragma once
// SHA-256 (FIPS 180-4), used to record which model file produced a result.
// Thread rule: a Sha256 object is not shared between threads; the free functions are thread-safe.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace satsal {

class Sha256 {
public:
    Sha256();
    // Feed bytes; may be called any number of times before hex_digest().
    void update(const void* data, std::size_t size);
    // Finishes the hash and returns 64 lowercase hex digits. The object must not be updated afterwards.
    std::string hex_digest();

private:
    void process_block(const std::uint8_t* block);

    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
    bool finished_ = false;
};

// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

// Hex SHA-256 of a file's contents; throws std::runtime_error naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace satsal
