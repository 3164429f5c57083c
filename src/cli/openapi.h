// docs/openapi.yaml, compiled into the binary (CMake generates the
// definition from the file), so `strata serve` answers GET /openapi.yaml with
// no files beside it. Pure; thread-safe.
#pragma once

#include <string_view>

namespace strata::cli {

std::string_view openapi_yaml();

}  // namespace strata::cli
