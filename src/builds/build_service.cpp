#include "builds/build_service.h"

namespace strata::builds {
namespace {

// The event log's limit for a build log limit: what the builder keeps (that
// much step output plus its own step lines) grows by the "#n " prefix and
// the JSON wrapper of each line, so an honest build's log fits in twice the
// limit and 1 MiB; a builder that does not clip its output is cut there.
std::uint64_t event_log_limit(std::int64_t build_log_bytes) {
  if (build_log_bytes <= 0) return 0;
  return 2 * static_cast<std::uint64_t>(build_log_bytes) + (std::uint64_t{1} << 20);
}

}  // namespace

Result<std::unique_ptr<BuildService>> BuildService::open(BuildServiceOptions options, const auth::AuthService& auth) {
  std::unique_ptr<BuildService> service(new BuildService());
  auto store = BuildStore::open(options.manager.data_dir);
  if (!store) return std::unexpected(store.error());
  service->store_ = std::move(*store);
  service->logs_ = std::make_unique<EventLogs>(options.manager.data_dir,
                                               event_log_limit(options.manager.sandbox.limits.build_log_bytes));
  service->tokens_ = std::make_unique<BuildTokens>(auth.tokens(), auth.revocations(), auth.options().shared_namespaces);
  SecretStore secrets = options.secrets_dir.empty() ? SecretStore() : SecretStore(options.secrets_dir);
  auto manager = BuildManager::open(std::move(options.manager), *service->store_, *service->logs_,
                                    *service->tokens_, std::move(secrets));
  if (!manager) return std::unexpected(manager.error());
  service->manager_ = std::move(*manager);
  return service;
}

BuildService::~BuildService() {
  if (manager_) manager_->stop();
}

void BuildService::add_routes(http::Router& router) {
  add_build_routes(router, BuildApi{*manager_, *store_, *logs_});
}

bool BuildService::owned_by(std::string_view tenant, std::string_view id) const {
  if (tenant.empty() || !is_valid_build_id(id)) return false;
  auto build = store_->get(id);
  return build && build->tenant == tenant;
}

}  // namespace strata::builds
