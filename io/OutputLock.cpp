#include "io/OutputLock.hpp"

#include "io/IoError.hpp"
#include "io/PathPolicy.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace satsal {
namespace {

std::string read_holder(int fd) {
    char buffer[256] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text.empty() ? "another process" : printable(text, 200);
}

}  // namespace

OutputLock::OutputLock(const std::string& folder, const std::string& lock_name, const std::string& purpose)
    : path_(folder + "/" + lock_name) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            throw IoError("cannot create the lock file '" + path_ + "' for " + purpose + ": " + std::strerror(errno));
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            const std::string holder = error == EWOULDBLOCK ? read_holder(fd) : std::string();
            ::close(fd);
            if (error == EWOULDBLOCK) {
                throw IoError("'" + folder + "' is in use by another satsal run (" + holder + ", lock file '" +
                              path_ + "'); two runs must not write the same outputs: wait for it or choose "
                              "another output folder");
            }
            throw IoError("cannot lock '" + path_ + "' for " + purpose + ": " + std::strerror(error));
        }
        // The previous holder may have removed the file between our open and our flock: then we
        // hold a lock nobody else can see. Only a lock on the file the path names now counts.
        struct stat held {}, named {};
        if (::fstat(fd, &held) != 0 || ::stat(path_.c_str(), &named) != 0 || held.st_dev != named.st_dev ||
            held.st_ino != named.st_ino) {
            ::close(fd);
            continue;
        }
        char host[128] = {};
        ::gethostname(host, sizeof host - 1);
        char when[64] = {};
        const std::time_t now = std::time(nullptr);
        std::tm utc{};
        gmtime_r(&now, &utc);
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
        const std::string text = "pid " + std::to_string(::getpid()) + " on host " + host + " since " + when + "\n";
        if (::ftruncate(fd, 0) == 0) {
            (void)!::pwrite(fd, text.data(), text.size(), 0);
        }
        fd_ = fd;
        return;
    }
    throw IoError("cannot lock '" + path_ + "' for " + purpose + ": the lock file keeps being replaced");
}

OutputLock::~OutputLock() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());  // while still locked, see the header
    ::close(fd_);
}

bool lock_is_free(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT;
    const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);  // releases the probe's lock at once
    return free;
}

}  // namespace satsal
