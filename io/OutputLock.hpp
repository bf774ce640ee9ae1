#pragma once
// An exclusive advisory lock on an output folder, so that two satsal runs writing the same outputs
// fail clearly instead of interleaving their files.
//
// The lock is flock(LOCK_EX | LOCK_NB) on a lock file `<folder>/.satsal-lock[-<name>]` opened
// read-write. The kernel holds it for as long as the holder's open file lives and drops it when
// the process dies in any way (kill -9 included), so a lock is never stale: staleness of staging
// folders is judged by whether their lock can be taken, never by kill(pid, 0), which is wrong
// across PID namespaces (containers) and hosts.
//
// Limits: flock is advisory (only cooperating programs honour it). It works across processes,
// containers and PID namespaces on one kernel. On NFS, Linux implements flock with POSIX byte-range
// locks, so it works between hosts when the server supports locking (NFSv4, or NFSv3 with lockd);
// a mount with `nolock` makes locks local to each client. The holder's pid and host are written into
// the file only for the error message of a second run.
//
// The lock file is removed on release (while still locked); a run that opened it before the
// removal notices that it locked a removed file and tries again, so two holders never coexist.
//
// Thread rules: one owner; not shared between threads.
#include <string>

namespace satsal {

class OutputLock {
public:
    /// Takes the lock `<folder>/<lock_name>` without waiting; throws IoError naming the folder and
    /// the holder ("pid 1234 on host h since ...") when another run holds it. `folder` must exist.
    OutputLock(const std::string& folder, const std::string& lock_name, const std::string& purpose);
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

/// True when nobody holds the lock file `path` (or it does not exist): used to decide that a
/// staging folder's owner is gone. Never blocks.
bool lock_is_free(const std::string& path);

}  // namespace satsal
