#include "io/FolderCommit.hpp"

#include "io/IoError.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2 (glibc >= 2.28)

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace satsal {

void commit_folder(const std::string& staged, const std::string& target, const std::string& old_aside,
                   const std::string& what) {
    std::error_code error;
    if (!fs::exists(fs::symlink_status(target, error))) {
        if (::rename(staged.c_str(), target.c_str()) != 0) {
            throw IoError(what + ": cannot move the finished outputs into place: " + std::strerror(errno));
        }
        return;
    }
    if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
        fs::remove_all(staged, error);  // now the earlier content
        return;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        throw IoError(what + ": cannot swap the finished outputs into place: " + std::strerror(errno));
    }
    if (::rename(target.c_str(), old_aside.c_str()) != 0) {
        throw IoError(what + ": cannot move the earlier outputs aside: " + std::strerror(errno));
    }
    if (::rename(staged.c_str(), target.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        (void)::rename(old_aside.c_str(), target.c_str());
        throw IoError(what + ": cannot move the finished outputs into place: " + reason);
    }
    fs::remove_all(old_aside, error);
}

}  // namespace satsal
