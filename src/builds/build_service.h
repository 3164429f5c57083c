// Everything `serve` needs for builds, opened from one data directory like
// auth::AuthService: the store (<data>/builds.db), the event logs
// (<data>/builds/<id>/, each limited to twice the sandbox's build log limit
// and 1 MiB), the token minter, the secret store and the manager,
// wired in the order their lifetimes need. open() does not start builds;
// start() recovers and starts the workers (call it once the registry the
// builders push to is listening); stop() or the destructor ends them.
// Thread-safe once open() returned. Errors: those of the parts.
#pragma once

#include <filesystem>
#include <memory>

#include "auth/auth_service.h"
#include "builds/api.h"
#include "builds/build_store.h"
#include "builds/build_token.h"
#include "builds/event_log.h"
#include "builds/manager.h"
#include "common/error.h"

namespace strata::builds {

struct BuildServiceOptions {
  ManagerOptions manager;                  // data_dir there is the service's data dir
  std::filesystem::path secrets_dir;       // empty: no secrets
};

class BuildService {
 public:
  // `auth` must outlive the service.
  static Result<std::unique_ptr<BuildService>> open(BuildServiceOptions options, const auth::AuthService& auth);
  ~BuildService();

  // `registry_url`: how builders reach the registry; `registry_host`: the
  // host[:port] image references name. Both known once the server listens.
  Result<void> start(std::string registry_url, std::string registry_host) {
    return manager_->start(std::move(registry_url), std::move(registry_host));
  }
  void stop() { manager_->stop(); }
  void add_routes(http::Router& router);
  // Whether build `id` belongs to `tenant` (for the token endpoint: a tenant
  // may pull its own builds/<id>).
  bool owned_by(std::string_view tenant, std::string_view id) const;

 private:
  BuildService() = default;

  std::unique_ptr<BuildStore> store_;
  std::unique_ptr<EventLogs> logs_;
  std::unique_ptr<BuildTokens> tokens_;
  std::unique_ptr<BuildManager> manager_;  // uses the three above; declared after them
};

}  // namespace strata::builds
