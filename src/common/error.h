// Error values returned across module lines (never thrown): a machine-readable
// code and a message a user can act on. Registry code uses the distribution
// spec's codes (BLOB_UNKNOWN, DENIED, ...) so handlers can map them to HTTP.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace strata {

struct Error {
  std::string code;     // e.g. "BLOB_UNKNOWN", "DIGEST_INVALID", "IO", "INTERNAL"
  std::string message;  // human-readable, actionable
  std::string detail;   // optional extra context (may be empty)
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return fail("CODE", "message");` inside Result-returning code.
inline std::unexpected<Error> fail(std::string code, std::string message,
                                   std::string detail = {}) {
  return std::unexpected<Error>(
      Error{std::move(code), std::move(message), std::move(detail)});
}

}  // namespace strata
