// Seconds since the epoch as an RFC 3339 UTC timestamp
// ("2024-05-01T12:00:00Z"), the form the Docker token spec's issued_at and
// strata's API use. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

std::string rfc3339(std::int64_t seconds_since_epoch);

}  // namespace strata
