#include "model/TorchText.hpp"

#include <c10/util/Exception.h>

#include <sstream>

namespace satsal {

std::string shape_string(at::IntArrayRef sizes) {
    std::ostringstream out;
    out << "[";
    for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
    out << "]";
    return out.str();
}

std::string torch_message(const std::exception& e) {
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
    return e.what();
}

}  // namespace satsal
