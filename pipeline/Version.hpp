#pragma once
#include <string>

namespace satsal {
/// The project version from CMake (project(satsal VERSION ...)).
std::string satsal_version();
}  // namespace satsal
