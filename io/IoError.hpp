#pragma once
// The one exception type io/ throws. Messages name the file and, where it applies, the band,
// the window and the library's own message, so a user can act on them without a debugger.
#include <stdexcept>
#include <string>

namespace satsal {

class IoError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace satsal
