#include "model/Sha256.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace satsal {

void Sha256::Free::operator()(evp_md_ctx_st* context) const { EVP_MD_CTX_free(context); }

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256: OpenSSL's libcrypto could not start a digest");
    }
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
    if (!digest_.empty()) throw std::logic_error("Sha256::update called after hex_digest()");
    if (size > 0 && EVP_DigestUpdate(context_.get(), data, size) != 1) {
        throw std::runtime_error("SHA-256: OpenSSL's libcrypto failed to hash " + std::to_string(size) + " bytes");
    }
}

std::string Sha256::hex_digest() {
    if (digest_.empty()) {
        unsigned char bytes[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(context_.get(), bytes, &length) != 1 || length != 32) {
            throw std::runtime_error("SHA-256: OpenSSL's libcrypto failed to finish the digest");
        }
        static const char digits[] = "0123456789abcdef";
        digest_.reserve(64);
        for (unsigned int i = 0; i < length; ++i) {
            digest_.push_back(digits[bytes[i] >> 4]);
            digest_.push_back(digits[bytes[i] & 0xf]);
        }
    }
    return digest_;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 hash;
    hash.update(bytes.data(), bytes.size());
    return hash.hex_digest();
}

std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "' to compute its SHA-256");
    Sha256 hash;
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), std::streamsize(chunk.size()));
        hash.update(chunk.data(), std::size_t(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error("reading '" + path + "' failed while computing its SHA-256");
    return hash.hex_digest();
}

}  // namespace satsal
