// Pagination of the registry's listings (tags/list and _catalog): the `n` and
// `last` query parameters and the RFC 5988 `Link: <...>; rel="next"` header
// that points at the following page. One home for both listings, so they
// page identically.
//
// Rules (distribution-spec v1.1, "Listing Tags"):
//   - `n` is a non-negative decimal integer; anything else is
//     PAGINATION_NUMBER_INVALID (400). Without `n` the listing is unbounded.
//   - `n=0` answers an empty list and never a Link header.
//   - `last` excludes itself: the page starts after it.
//   - A Link header is sent only when `n` was given and more entries follow.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "http/message.h"

namespace strata::registry {

struct PageRequest {
  std::optional<std::size_t> limit;  // `n`; nullopt: everything
  std::string last;                  // `last`; empty: from the start
};

// Reads `n` and `last` from the request's query.
Result<PageRequest> parse_page_request(const http::Request& request);

// Sets `Link: <path?n=..&last=..>; rel="next"` on `response` when the page
// was bounded (n > 0) and `more` entries follow `last_item`, the final entry
// of this page. `path` is the listing's path, e.g. "/v2/a/b/tags/list".
void add_next_link(http::Response& response, std::string_view path, const PageRequest& request,
                   bool more, std::string_view last_item);

}  // namespace strata::registry
