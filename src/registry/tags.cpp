// GET /v2/<name>/tags/list: the repository's tags in byte order, paged with
// `n`, `last` and a `Link` header (see pagination.h).
// Errors: NAME_UNKNOWN (404) for a repository never written to,
// PAGINATION_NUMBER_INVALID (400) for a malformed `n`.
#include <nlohmann/json.hpp>

#include "registry/errors.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/pagination.h"
#include "registry/registry.h"

namespace strata::registry {

http::Response list_tags(Registry& registry, http::Request& request) {
  const auto& name = request.param("name");
  auto page_request = parse_page_request(request);
  if (!page_request) return error_response(page_request.error());
  auto page = registry.metadata().list_tags(name, page_request->limit, page_request->last);
  if (!page) return error_response(page.error());

  nlohmann::json body = {{"name", name}, {"tags", page->items}};
  auto response = http::Response::json(200, body.dump());
  if (!page->items.empty())
    add_next_link(response, "/v2/" + name + "/tags/list", *page_request, page->more,
                  page->items.back());
  return response;
}

}  // namespace strata::registry
