#pragma once
// Text of LibTorch things for error messages, shared by model/ and methods/.
#include <ATen/core/Tensor.h>

#include <exception>
#include <string>

namespace satsal {

/// "[8, 3, 224, 224]".
std::string shape_string(at::IntArrayRef sizes);
/// A LibTorch error's message without its C++ backtrace (other exceptions: what()).
std::string torch_message(const std::exception& e);

}  // namespace satsal
