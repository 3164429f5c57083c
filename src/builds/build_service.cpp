#include "builds/build_service.h"

namespace strata::builds {

Result<std::unique_ptr<BuildService>> BuildService::open(BuildServiceOptions options, const auth::AuthService& auth) {
  std::unique_ptr<BuildService> service(new BuildService());
  auto store = BuildStore::open(options.manager.data_dir);
  if (!store) return std::unexpected(store.error());
  service->store_ = std::move(*store);
  service->logs_ = std::make_unique<EventLogs>(options.manager.data_dir);
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
