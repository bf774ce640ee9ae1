#pragma once
// SHA-256 (FIPS 180-4), used to record which model file produced a result. Computed by OpenSSL's
// libcrypto, which uses the CPU's SHA extensions where present: hashing a 100 MB ResNet-50 took
// 0.8 s of every model load with a portable C++ loop, about 0.1 s with libcrypto.
// Thread rule: a Sha256 object is not shared between threads; the free functions are thread-safe.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace satsal {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    // Feed bytes; may be called any number of times before hex_digest().
    void update(const void* data, std::size_t size);
    // Finishes the hash and returns 64 lowercase hex digits. The object must not be updated afterwards.
    std::string hex_digest();

private:
    struct Free {
        void operator()(evp_md_ctx_st* context) const;
    };
    std::unique_ptr<evp_md_ctx_st, Free> context_;
    std::string digest_;  // set by hex_digest()
};

// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

// Hex SHA-256 of a file's contents; throws std::runtime_error naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace satsal
