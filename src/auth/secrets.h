// Primitives for handling credentials: cryptographically random bytes,
// SHA-256 and constant-time comparison, all on OpenSSL. Thread-safe.
// random_bytes() aborts the process if the system RNG fails: continuing
// without randomness would mint guessable keys and token ids.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace strata::auth {

using Sha256 = std::array<unsigned char, 32>;

std::string random_bytes(std::size_t count);
Sha256 sha256(std::string_view data);
// True iff a and b are equal; time depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace strata::auth
