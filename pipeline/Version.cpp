#include "pipeline/Version.hpp"

namespace satsal {
std::string satsal_version() { return SATSAL_VERSION; }
}  // namespace satsal
