#pragma once
// Makes a fully written staging folder appear under its final name in one step.
//
// `staged` and `target` must be in the same folder (same file system). When `target` does not
// exist, one rename. When it exists, renameat2(RENAME_EXCHANGE) swaps the two atomically and the
// old content (now at `staged`) is deleted; on file systems without the exchange (EINVAL), the old
// folder is first renamed to `old_aside`, so a kill in between leaves no folder, never a mixed one.
// Callers hold the folder's OutputLock and check first that `target` may be replaced.
//
// Thread rules: free function; one caller per target.
#include <string>

namespace satsal {

/// Throws IoError naming `what` and the reason when a rename fails.
void commit_folder(const std::string& staged, const std::string& target, const std::string& old_aside,
                   const std::string& what);

}  // namespace satsal
