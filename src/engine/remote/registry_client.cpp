// OCI distribution spec endpoints over http::Client, with RegistryAuth
// answering challenges. Every request goes through Impl::send.
#include "engine/remote/registry_client.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "engine/remote/auth_challenge.h"
#include "engine/remote/registry_auth.h"
#include "oci/media_types.h"

namespace strata::engine::remote {
namespace {

constexpr std::size_t kMaxErrorOrTagPage = 4 * 1024 * 1024;
// A registry that keeps sending "next" links is broken, not huge.
constexpr int kMaxTagPages = 10'000;

std::string all_manifest_types() {
  return std::string(oci::media_type::kOciManifest) + ", " + std::string(oci::media_type::kOciIndex) +
         ", " + std::string(oci::media_type::kDockerManifest) + ", " +
         std::string(oci::media_type::kDockerManifestList);
}

Scopes pull(std::string_view repository) { return {"repository:" + std::string(repository) + ":pull"}; }
Scopes push(std::string_view repository) {
  return {"repository:" + std::string(repository) + ":pull,push"};
}

// "type/subtype; charset=x" -> "type/subtype".
std::string bare_media_type(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return std::string(content_type);
}

// The registry's JSON error code, else one derived from the status.
Error registry_error(const http::ClientRequest& request, const http::ClientResponse& response,
                     std::string_view not_found_code) {
  std::string code;
  std::string message;
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object() && json.contains("errors") && json["errors"].is_array() && !json["errors"].empty()) {
    const auto& first = json["errors"][0];
    if (first.is_object()) {
      if (first.contains("code") && first["code"].is_string()) code = first["code"].get<std::string>();
      if (first.contains("message") && first["message"].is_string())
        message = first["message"].get<std::string>();
    }
  }
  // HEAD answers have no body; the challenge still tells a refused scope
  // (DENIED) from missing or bad credentials (UNAUTHORIZED).
  if (code.empty() && response.status == 401)
    for (auto value : response.headers.get_all("WWW-Authenticate"))
      for (const auto& challenge : parse_auth_challenges(value))
        if (auto error = challenge.params.find("error"); error != challenge.params.end()) {
          code = error->second == "insufficient_scope" ? "DENIED" : "UNAUTHORIZED";
          message = error->second;
        }
  if (code.empty()) {
    int status = response.status;
    code = status == 401   ? "UNAUTHORIZED"
           : status == 403 ? "DENIED"
           : status == 404 ? std::string(not_found_code)
           : status == 429 ? "TOOMANYREQUESTS"
           : status >= 500 ? "UNAVAILABLE"
                           : "UNSUPPORTED";
  }
  std::string text = request.method + " " + request.url + ": HTTP " + std::to_string(response.status);
  if (!message.empty()) text += ": " + message;
  return Error{std::move(code), std::move(text), response.body.substr(0, 1024)};
}

std::string origin_of(const std::string& url) {
  auto scheme_end = url.find("://");
  auto path = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  return url.substr(0, path);
}

// Location and Link targets may be absolute URLs or absolute paths.
std::string resolve_url(const std::string& base_url, std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) return std::string(target);
  if (!target.starts_with('/')) return base_url + "/" + std::string(target);
  return origin_of(base_url) + std::string(target);
}

// Link: </v2/a/tags/list?n=2&last=b>; rel="next"
std::optional<std::string> next_link(const http::ClientResponse& response) {
  for (auto value : response.headers.get_all("Link")) {
    if (value.find("rel=\"next\"") == std::string_view::npos && value.find("rel=next") == std::string_view::npos)
      continue;
    auto open = value.find('<');
    auto close = value.find('>', open);
    if (open != std::string_view::npos && close != std::string_view::npos)
      return std::string(value.substr(open + 1, close - open - 1));
  }
  return std::nullopt;
}

Result<void> check_digest(const oci::Digest& expected, std::string_view bytes, std::string_view what) {
  auto actual = oci::Digest::of(expected.algorithm(), bytes);
  if (actual != expected)
    return fail("DIGEST_INVALID", std::string(what) + " has digest " + actual.str() + ", expected " +
                                      expected.str());
  return {};
}

Result<oci::ParsedManifest> parse_fetched(const FetchedManifest& fetched) {
  // A generic Content-Type ("application/json") is no hint; the body decides.
  std::string_view hint;
  if (oci::manifest_kind(fetched.info.media_type)) hint = fetched.info.media_type;
  return oci::parse_manifest(hint, fetched.bytes);
}

}  // namespace

struct RegistryClient::Impl {
  RegistryEndpoint endpoint;
  http::Client client;
  RegistryAuth auth;

  Impl(RegistryEndpoint e, http::ClientOptions options)
      : endpoint(std::move(e)), client(std::move(options)),
        auth(client, endpoint.credentials, endpoint.insecure) {
    while (endpoint.base_url.ends_with('/')) endpoint.base_url.pop_back();
  }

  http::ClientRequest make(std::string method, std::string url) const {
    http::ClientRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.insecure = endpoint.insecure;
    return request;
  }
  std::string v2(std::string_view repository, std::string_view rest) const {
    return endpoint.base_url + "/v2/" + std::string(repository) + "/" + std::string(rest);
  }

  // Sends with authorization, retrying once after a challenge it can answer.
  // A streamed body cannot be sent twice: its 401 is final.
  Result<http::ClientResponse> send(http::ClientRequest& request, const Scopes& scopes,
                                    const http::BodySink* sink = nullptr,
                                    std::size_t body_limit = kMaxErrorOrTagPage) {
    bool replayable = !std::holds_alternative<http::StreamedBody>(request.body);
    for (int attempt = 0;; ++attempt) {
      if (auto authorized = auth.authorize(request, scopes); !authorized)
        return std::unexpected(authorized.error());
      auto response = sink ? client.request(request, *sink) : client.request(request, body_limit);
      if (!response || response->status != 401 || attempt > 0 || !replayable) return response;
      auto retry = auth.handle_challenge(*response, scopes);
      if (!retry) return std::unexpected(retry.error());
      if (!*retry) return response;
    }
  }
};

RegistryClient::RegistryClient(RegistryEndpoint endpoint, http::ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(endpoint), std::move(options))) {}

RegistryClient::~RegistryClient() = default;

Result<FetchedManifest> RegistryClient::get_manifest(std::string_view repository,
                                                     const oci::Reference& reference) {
  auto request = impl_->make("GET", impl_->v2(repository, "manifests/" + reference.str()));
  request.headers.set("Accept", all_manifest_types());
  auto response = impl_->send(request, pull(repository), nullptr, oci::kMaxManifestBytes);
  if (!response) {
    if (response.error().code == "TOO_LARGE")
      return fail("MANIFEST_TOO_LARGE", request.url + ": manifest is larger than " +
                                            std::to_string(oci::kMaxManifestBytes) + " bytes");
    return std::unexpected(response.error());
  }
  if (response->status != 200) return std::unexpected(registry_error(request, *response, "MANIFEST_UNKNOWN"));

  // Content is checked against the digest asked for, else against the one the
  // registry claims, so a tampering proxy cannot swap a base image.
  std::optional<oci::Digest> expected;
  if (reference.is_digest()) {
    expected = reference.digest();
  } else if (auto header = response->headers.get("Docker-Content-Digest")) {
    if (auto parsed = oci::Digest::parse(*header)) expected = *parsed;
  }
  auto digest = expected ? *expected : oci::Digest::of(oci::DigestAlgorithm::sha256, response->body);
  if (auto checked = check_digest(digest, response->body, request.url); !checked)
    return std::unexpected(checked.error());

  FetchedManifest fetched{
      ManifestInfo{digest, bare_media_type(response->headers.get("Content-Type").value_or("")),
                   static_cast<std::int64_t>(response->body.size())},
      std::move(response->body)};
  if (!oci::manifest_kind(fetched.info.media_type)) {
    auto parsed = parse_fetched(fetched);
    if (!parsed) return std::unexpected(parsed.error());
    fetched.info.media_type = parsed->media_type;
  }
  return fetched;
}

Result<ResolvedImage> RegistryClient::resolve(std::string_view repository, const oci::Reference& reference,
                                              const oci::Platform& platform) {
  auto fetched = get_manifest(repository, reference);
  if (!fetched) return std::unexpected(fetched.error());
  auto parsed = parse_fetched(*fetched);
  if (!parsed) return std::unexpected(parsed.error());

  std::optional<oci::Digest> index_digest;
  if (parsed->kind == oci::ManifestKind::index) {
    auto entry = select_platform(parsed->manifests, platform);
    if (!entry)
      return fail("MANIFEST_UNKNOWN", std::string(repository) + ":" + reference.str() + " has no image for " +
                                          platform.os + "/" + platform.architecture +
                                          (platform.variant.empty() ? "" : "/" + platform.variant));
    index_digest = fetched->info.digest;
    fetched = get_manifest(repository, oci::Reference(entry->digest));
    if (!fetched) return std::unexpected(fetched.error());
    parsed = parse_fetched(*fetched);
    if (!parsed) return std::unexpected(parsed.error());
    if (parsed->kind != oci::ManifestKind::image)
      return fail("MANIFEST_INVALID", std::string(repository) + "@" + entry->digest.str() +
                                          ": a platform entry of an index must be an image manifest");
  }
  return ResolvedImage{fetched->info.digest, fetched->info.media_type, std::move(fetched->bytes),
                       std::move(*parsed), index_digest};
}

Result<std::optional<ManifestInfo>> RegistryClient::head_manifest(std::string_view repository,
                                                                  const oci::Reference& reference,
                                                                  const std::vector<std::string>& accept) {
  auto request = impl_->make("HEAD", impl_->v2(repository, "manifests/" + reference.str()));
  std::string accepted;
  for (const auto& type : accept) accepted += (accepted.empty() ? "" : ", ") + type;
  request.headers.set("Accept", accepted.empty() ? all_manifest_types() : accepted);
  auto response = impl_->send(request, pull(repository));
  if (!response) return std::unexpected(response.error());
  if (response->status == 404) return std::nullopt;
  if (response->status != 200) return std::unexpected(registry_error(request, *response, "MANIFEST_UNKNOWN"));

  std::optional<oci::Digest> digest;
  if (auto header = response->headers.get("Docker-Content-Digest"))
    if (auto parsed = oci::Digest::parse(*header)) digest = *parsed;
  std::int64_t size = -1;
  if (auto length = response->headers.get("Content-Length"))
    std::from_chars(length->data(), length->data() + length->size(), size);
  if (!digest || size < 0) {
    // The header is optional in the spec: the GET tells everything.
    auto fetched = get_manifest(repository, reference);
    if (!fetched) return std::unexpected(fetched.error());
    return fetched->info;
  }
  return ManifestInfo{*digest, bare_media_type(response->headers.get("Content-Type").value_or("")),
                      size};
}

Result<oci::Digest> RegistryClient::push_manifest(std::string_view repository, const oci::Reference& reference,
                                                  std::string_view media_type, std::string_view bytes) {
  auto digest = reference.is_digest() ? reference.digest() : oci::Digest::of(oci::DigestAlgorithm::sha256, bytes);
  if (auto checked = check_digest(digest, bytes, "manifest"); !checked) return std::unexpected(checked.error());
  auto request = impl_->make("PUT", impl_->v2(repository, "manifests/" + reference.str()));
  request.headers.set("Content-Type", std::string(media_type));
  request.body = std::string(bytes);
  auto response = impl_->send(request, push(repository));
  if (!response) return std::unexpected(response.error());
  if (response->status != 201 && response->status != 200)
    return std::unexpected(registry_error(request, *response, "NAME_UNKNOWN"));
  return digest;
}

Result<std::uint64_t> RegistryClient::fetch_blob(std::string_view repository, const oci::Digest& digest,
                                                 const http::BodySink& sink) {
  auto request = impl_->make("GET", impl_->v2(repository, "blobs/" + digest.str()));
  request.follow_redirects = true;
  oci::Digester digester(digest.algorithm());
  http::BodySink hashing = [&](std::string_view chunk) -> Result<void> {
    digester.update(chunk);
    return sink(chunk);
  };
  auto response = impl_->send(request, pull(repository), &hashing);
  if (!response) return std::unexpected(response.error());
  if (response->status != 200) return std::unexpected(registry_error(request, *response, "BLOB_UNKNOWN"));
  auto size = digester.bytes();
  auto actual = digester.finish();
  if (actual != digest)
    return fail("DIGEST_INVALID", "blob " + digest.str() + " from " + std::string(repository) +
                                      " arrived with digest " + actual.str());
  return size;
}

Result<bool> RegistryClient::blob_exists(std::string_view repository, const oci::Digest& digest) {
  auto request = impl_->make("HEAD", impl_->v2(repository, "blobs/" + digest.str()));
  request.follow_redirects = true;
  auto response = impl_->send(request, pull(repository));
  if (!response) return std::unexpected(response.error());
  if (response->status == 200) return true;
  if (response->status == 404) return false;
  return std::unexpected(registry_error(request, *response, "BLOB_UNKNOWN"));
}

Result<bool> RegistryClient::mount_blob(std::string_view to_repository, const oci::Digest& digest,
                                        std::string_view from_repository) {
  auto request = impl_->make("POST", impl_->v2(to_repository, "blobs/uploads/?mount=" +
                                                                  http::percent_encode(digest.str()) + "&from=" +
                                                                  http::percent_encode(from_repository)));
  Scopes scopes = push(to_repository);
  scopes.push_back(pull(from_repository).front());
  auto response = impl_->send(request, scopes);
  if (!response) return std::unexpected(response.error());
  if (response->status == 201) return true;
  if (response->status != 202) return std::unexpected(registry_error(request, *response, "NAME_UNKNOWN"));
  // The registry opened an upload session instead; nobody will use it.
  if (auto location = response->headers.get("Location")) {
    auto cancel = impl_->make("DELETE", resolve_url(impl_->endpoint.base_url, *location));
    (void)impl_->send(cancel, scopes);
  }
  return false;
}

Result<void> RegistryClient::push_blob(std::string_view repository, const oci::Digest& digest,
                                       std::uint64_t size, const http::BodySource& source) {
  auto exists = blob_exists(repository, digest);
  if (!exists) return std::unexpected(exists.error());
  if (*exists) return {};

  auto start = impl_->make("POST", impl_->v2(repository, "blobs/uploads/"));
  auto session = impl_->send(start, push(repository));
  if (!session) return std::unexpected(session.error());
  if (session->status != 202) return std::unexpected(registry_error(start, *session, "NAME_UNKNOWN"));
  auto location = session->headers.get("Location");
  if (!location) return fail("UNSUPPORTED", start.url + ": upload session without a Location");

  std::string url = resolve_url(impl_->endpoint.base_url, *location);
  url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") +
         http::percent_encode(digest.str());
  auto upload = impl_->make("PUT", std::move(url));
  upload.headers.set("Content-Type", "application/octet-stream");
  upload.body = http::StreamedBody{[&source](char* buffer, std::size_t n) { return source(buffer, n); }, size};
  auto response = impl_->send(upload, push(repository));
  if (!response) return std::unexpected(response.error());
  if (response->status != 201) return std::unexpected(registry_error(upload, *response, "BLOB_UPLOAD_UNKNOWN"));
  return {};
}

Result<std::vector<std::string>> RegistryClient::list_tags(std::string_view repository) {
  std::vector<std::string> tags;
  std::string url = impl_->v2(repository, "tags/list");
  for (int page = 0; page < kMaxTagPages; ++page) {
    auto request = impl_->make("GET", url);
    auto response = impl_->send(request, pull(repository));
    if (!response) return std::unexpected(response.error());
    if (response->status != 200) return std::unexpected(registry_error(request, *response, "NAME_UNKNOWN"));
    auto json = nlohmann::json::parse(response->body, nullptr, false);
    if (!json.is_object()) return fail("UNSUPPORTED", request.url + ": tag list is not a JSON object");
    if (auto it = json.find("tags"); it != json.end() && it->is_array())
      for (const auto& tag : *it)
        if (tag.is_string()) tags.push_back(tag.get<std::string>());
    auto next = next_link(*response);
    if (!next) return tags;
    url = resolve_url(impl_->endpoint.base_url, *next);
  }
  return fail("UNSUPPORTED", std::string(repository) + ": tag list pagination does not end");
}

}  // namespace strata::engine::remote
