#include "builds/field_error.h"

#include <fmt/format.h>

namespace strata::builds {

std::unexpected<Error> field_error(std::string_view field, std::string_view what) {
  return fail(std::string(kFieldInvalid), fmt::format("{}: {}", field, what), std::string(field));
}

std::unexpected<Error> forbidden(std::string_view field, std::string_view what) {
  return fail(std::string(kForbidden), std::string(what), std::string(field));
}

}  // namespace strata::builds
