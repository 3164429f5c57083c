// Header map, request helpers and response constructors.
#include "common/text.h"
#include "http/message.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace strata::http {
namespace {


}  // namespace

void Headers::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(entries_, [&](const auto& e) { return iequals(e.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : entries_)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : entries_)
    if (iequals(k, name)) out.emplace_back(v);
  return out;
}

Result<std::string> read_all(BodyReader& body, std::size_t limit) {
  std::string out;
  if (auto declared = body.content_length(); declared && *declared > limit)
    return fail("TOO_LARGE", "request body exceeds " + std::to_string(limit) + " bytes");
  char buf[64 * 1024];
  for (;;) {
    auto n = body.read(buf, sizeof buf);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return out;
    if (out.size() + *n > limit)
      return fail("TOO_LARGE", "request body exceeds " + std::to_string(limit) + " bytes");
    out.append(buf, *n);
  }
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

FileBody open_file_body(int fd, std::uint64_t offset, std::uint64_t length) {
  return FileBody{std::shared_ptr<int>(new int(fd),
                                       [](int* p) {
                                         ::close(*p);
                                         delete p;
                                       }),
                  offset, length};
}

}  // namespace strata::http
