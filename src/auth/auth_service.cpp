#include "auth/auth_service.h"

#include <algorithm>
#include <cctype>

#include "auth/key_files.h"
#include "auth/scope.h"

namespace strata::auth {
namespace {

// Pull on each pattern, validated by the scope grammar so a typo in a flag
// is an error at start rather than a pattern that silently matches nothing.
Result<GrantSet> pull_grants(std::span<const std::string> patterns) {
  std::vector<Scope> scopes;
  for (const auto& pattern : patterns) {
    auto scope = parse_scope("repository:" + pattern + ":pull");
    if (!scope) return std::unexpected(scope.error());
    scopes.push_back(std::move(*scope));
  }
  return GrantSet::from_scopes(scopes);
}

Result<Key> load_hs256_key(const std::filesystem::path& data_dir, const AuthOptions& options) {
  if (!options.token_secret.empty()) return hs256_key_from_secret(options.token_secret);
  return load_or_create_hs256_key(data_dir / "token.secret");
}

Result<KeySet> load_keys(const std::filesystem::path& data_dir, const AuthOptions& options,
                         std::string& signing_kid) {
  auto hs = load_hs256_key(data_dir, options);
  if (!hs) return std::unexpected(hs.error());
  auto es = load_or_create_es256_key(data_dir / "token-es256.pem");
  if (!es) return std::unexpected(es.error());
  signing_kid = options.signing == JwsAlgorithm::HS256 ? hs->kid() : es->kid();
  std::string hs_kid = hs->kid();
  KeySet keys;
  if (auto ok = keys.add(std::move(*hs)); !ok) return std::unexpected(ok.error());
  if (auto ok = keys.add(std::move(*es)); !ok) return std::unexpected(ok.error());
  // Older issuers sharing the secret send no kid.
  if (auto ok = keys.set_default_kid(hs_kid); !ok) return std::unexpected(ok.error());
  return keys;
}

}  // namespace

AuthService::~AuthService() = default;

Result<std::unique_ptr<AuthService>> AuthService::open(const std::filesystem::path& data_dir,
                                                       AuthOptions options) {
  if (auto shared = pull_grants(options.shared_namespaces); !shared) return std::unexpected(shared.error());
  auto anonymous = pull_grants(options.anonymous_pull);
  if (!anonymous) return std::unexpected(anonymous.error());
  if (options.registry_token_ttl.count() < 60)
    return fail("TTL_INVALID", "registry tokens must live at least 60 seconds");

  std::unique_ptr<AuthService> service(new AuthService());
  auto revocations = RevocationList::open(data_dir);
  if (!revocations) return std::unexpected(revocations.error());
  service->revocations_ = std::move(*revocations);
  auto api_keys = ApiKeyStore::open(data_dir);
  if (!api_keys) return std::unexpected(api_keys.error());
  service->api_keys_ = std::move(*api_keys);

  std::string signing_kid;
  auto keys = load_keys(data_dir, options, signing_kid);
  if (!keys) return std::unexpected(keys.error());
  TokenServiceOptions token_options;
  token_options.issuer = options.issuer;
  auto tokens = TokenService::create(std::move(*keys), signing_kid, *service->revocations_,
                                     std::move(token_options));
  if (!tokens) return std::unexpected(tokens.error());
  service->tokens_ = std::move(*tokens);
  service->anonymous_ = std::move(*anonymous);
  service->options_ = std::move(options);
  return service;
}

GrantSet AuthService::policy_for(const Principal& principal) const {
  return auth::policy_for(principal, options_.shared_namespaces);
}

GrantSet AuthService::policy_for(const Principal& principal, std::span<const Scope> requested) const {
  std::vector<std::string> own_builds;
  constexpr std::string_view kBuilds = "builds/";
  if (principal.role == Role::tenant && build_ownership_)
    for (const auto& scope : requested)
      if (scope.type == "repository" && scope.name.starts_with(kBuilds) &&
          build_ownership_(principal.tenant, std::string_view(scope.name).substr(kBuilds.size())))
        own_builds.push_back(scope.name.substr(kBuilds.size()));
  return auth::policy_for(principal, options_.shared_namespaces, own_builds);
}

Result<JwsAlgorithm> parse_signing_algorithm(std::string_view name) {
  std::string lower(name);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "hs256") return JwsAlgorithm::HS256;
  if (lower == "es256") return JwsAlgorithm::ES256;
  return fail("KEY_INVALID", "token signing must be hs256 or es256, not \"" + std::string(name) + "\"");
}

}  // namespace strata::auth
