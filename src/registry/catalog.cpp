// GET /v2/_catalog: repository names in byte order, paged with `n`, `last`
// and a `Link` header (see pagination.h), listing only repositories the
// caller may pull (Registry::may_pull). Pages are cut from the filtered
// list, so a page holds `n` visible names whenever that many follow `last`,
// and the Link header appears only when another visible name exists.
// Errors: PAGINATION_NUMBER_INVALID (400) for a malformed `n`.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/pagination.h"
#include "registry/registry.h"

namespace strata::registry {
namespace {

// Rows read from storage per query while filtering: bounds memory for a
// large `n` without a query per repository.
constexpr std::size_t kBatch = 1000;

// The visible repositories after `request.last`, at most `request.limit`,
// and whether another visible one follows them.
Result<Page> visible_repositories(Registry& registry, const http::Request& http_request,
                                  const PageRequest& request) {
  Page out;
  if (request.limit == 0) return out;  // n=0: an empty list, never a Link
  std::string cursor = request.last;
  // Reading one row beyond the page answers "is a Link due?" in the same
  // query when nothing is filtered out.
  std::optional<std::size_t> batch;
  if (request.limit) batch = std::min(*request.limit, kBatch) + 1;
  for (;;) {
    auto page = registry.metadata().catalog(batch, cursor);
    if (!page) return std::unexpected(page.error());
    if (page->items.empty()) return out;
    std::string next_cursor = page->items.back();
    for (auto& repo : page->items) {
      if (!registry.may_pull(http_request, repo)) continue;
      if (request.limit && out.items.size() == *request.limit) {
        out.more = true;
        return out;
      }
      out.items.push_back(std::move(repo));
    }
    if (!page->more) return out;
    cursor = std::move(next_cursor);
  }
}

}  // namespace

http::Response get_catalog(Registry& registry, http::Request& request) {
  auto page_request = parse_page_request(request);
  if (!page_request) return error_response(page_request.error());
  auto page = visible_repositories(registry, request, *page_request);
  if (!page) return error_response(page.error());

  nlohmann::json body = {{"repositories", page->items}};
  auto response = http::Response::json(200, body.dump());
  if (!page->items.empty())
    add_next_link(response, "/v2/_catalog", *page_request, page->more, page->items.back());
  return response;
}

}  // namespace strata::registry
