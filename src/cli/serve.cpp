// `strata serve`: the registry, its token endpoint, the key API and the
// build API on one listener. Every option has an environment equivalent
// (STRATA_LISTEN, STRATA_DATA_DIR, STRATA_LOG_LEVEL, the STRATA_TOKEN_* of
// auth_flags.h, STRATA_SHARED_NAMESPACES, STRATA_ANONYMOUS_PULL,
// STRATA_PUBLIC_URL, and for builds STRATA_MAX_CONCURRENT_BUILDS,
// STRATA_SECRETS_DIR, STRATA_BUILDER_WORK_DIR, STRATA_RETRY_INTERRUPTED,
// STRATA_MAX_SOURCE_BYTES, STRATA_REGISTRY_HOST, STRATA_CACHE_REGISTRY,
// STRATA_CACHE_REGISTRY_USERNAME, STRATA_CACHE_REGISTRY_PASSWORD, and the
// sandbox flags of sandbox_flags.h) and an
// embedded default, so it runs with no setup: the first start creates the
// signing keys and a bootstrap operator key in the data directory. Registry
// authorization cannot be switched off. The OpenAPI description is served at
// GET /openapi.yaml. It does not start when the OCI runtime for RUN steps
// (--runtime, --runtime-path) is not installed.
#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>

#include "auth/auth_service.h"
#include "auth/authorization_guard.h"
#include "auth/caller.h"
#include "auth/keys_api.h"
#include "auth/revocation_api.h"
#include "auth/token_endpoint.h"
#include "builds/build_service.h"
#include "builds/cache_registry.h"
#include "cli/auth_flags.h"
#include "cli/commands.h"
#include "cli/openapi.h"
#include "cli/sandbox_flags.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "registry/registry.h"
#include "sandbox/runtime_binary.h"

namespace strata::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8083";
  std::string data_dir = "strata-data";
  std::string log_level = "info";
  TokenKeyFlags keys;
  std::vector<std::string> shared_namespaces = auth::default_shared_namespaces();
  std::vector<std::string> anonymous_pull;
  std::string public_url;  // empty: http://<bound host:port>
  std::size_t max_concurrent_builds = 2;
  std::string secrets_dir;       // empty: no build secrets
  std::string builder_work_dir;  // empty: <data-dir>/builder
  bool retry_interrupted = false;
  std::uint64_t max_source_bytes = std::uint64_t{1} << 30;
  std::string registry_host;  // empty: the bound host:port
  std::string cache_registry;  // empty: cache repositories on this registry
  std::string cache_registry_username;
  std::string cache_registry_password;  // a secret: never logged
  SandboxFlags sandbox;
};

// The engine version recorded in every build's provenance.
constexpr std::string_view kEngineVersion = "strata 0.1.0";

// Routes outside the registry: liveness, metrics and the API description.
void add_service_routes(http::Router& router, http::Metrics& metrics) {
  router.add({"GET", "/healthz", "healthz", http::Action::none,
              [](http::Request&) { return http::Response::text(200, "ok\n"); }});
  router.add({"GET", "/metrics", "metrics", http::Action::none, [&metrics](http::Request&) {
                return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4");
              }});
  router.add({"GET", "/openapi.yaml", "openapi", http::Action::none, [](http::Request&) {
                return http::Response::text(200, std::string(openapi_yaml()), "application/yaml");
              }});
}

Result<std::unique_ptr<auth::AuthService>> open_auth(const ServeOptions& options) {
  auto auth_options = auth_options_from(options.keys);
  if (!auth_options) return std::unexpected(auth_options.error());
  auth_options->shared_namespaces = options.shared_namespaces;
  auth_options->anonymous_pull = options.anonymous_pull;
  auto auth = auth::AuthService::open(options.data_dir, std::move(*auth_options));
  if (!auth) return auth;
  auto bootstrap = (*auth)->api_keys().ensure_bootstrap_operator();
  if (!bootstrap) return std::unexpected(bootstrap.error());
  if (*bootstrap) spdlog::info("bootstrap operator API key written to {}", std::filesystem::absolute(**bootstrap).string());
  return auth;
}

std::string host_port(const std::string& host, std::uint16_t port) {
  bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Where clients reach this server, for the token realm.
std::string public_url(const ServeOptions& options, const std::string& host, std::uint16_t port) {
  if (!options.public_url.empty()) return options.public_url;
  return "http://" + host_port(host, port);
}

// Builders run on this machine: they reach the registry on loopback when the
// server listens on every address.
std::string local_registry_url(const std::string& host, std::uint16_t port) {
  bool any = host.empty() || host == "0.0.0.0" || host == "::";
  return "http://" + host_port(any ? "127.0.0.1" : host, port);
}

// The cache registry options, checked before anything starts; unset gives
// none. Messages name the options, not their values, so no password shows.
Result<std::optional<builds::CacheRegistry>> cache_registry(const ServeOptions& options) {
  bool has_credentials = !options.cache_registry_username.empty() || !options.cache_registry_password.empty();
  if (options.cache_registry.empty()) {
    if (has_credentials)
      return fail("CONFIG_INVALID", "--cache-registry-username/--cache-registry-password need --cache-registry");
    return std::nullopt;
  }
  auto url = builds::normalize_registry_url(options.cache_registry);
  if (!url) return fail(url.error().code, "--cache-registry: " + url.error().message);
  if (options.cache_registry_username.empty() != options.cache_registry_password.empty())
    return fail("CONFIG_INVALID", "--cache-registry-username and --cache-registry-password go together");
  return builds::CacheRegistry{std::move(*url), options.cache_registry_username, options.cache_registry_password};
}

builds::BuildServiceOptions build_options(const ServeOptions& options,
                                          std::optional<builds::CacheRegistry> cache_registry,
                                          sandbox::SandboxPolicy sandbox) {
  auto data_dir = std::filesystem::absolute(options.data_dir);
  builds::BuildServiceOptions build;
  build.manager.data_dir = data_dir;
  build.manager.work_dir = options.builder_work_dir.empty() ? data_dir / "builder"
                                                            : std::filesystem::absolute(options.builder_work_dir);
  build.manager.max_concurrent = options.max_concurrent_builds;
  build.manager.retry_interrupted = options.retry_interrupted;
  build.manager.source_limits.max_content_bytes = options.max_source_bytes;
  build.manager.engine_version = kEngineVersion;
  build.manager.cache_registry = std::move(cache_registry);
  build.manager.sandbox = std::move(sandbox);
  if (!options.secrets_dir.empty()) build.secrets_dir = std::filesystem::absolute(options.secrets_dir);
  return build;
}

// Blocks SIGINT/SIGTERM in every thread and stops the server when one comes.
std::thread stop_on_signal(http::Server& server) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set, &server] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.stop();
  });
}

int serve(const ServeOptions& options) {
  auto level = spdlog::level::from_str(options.log_level);
  spdlog::set_level(level);
  std::signal(SIGPIPE, SIG_IGN);

  auto address = http::parse_listen_address(options.listen);
  if (!address) {
    spdlog::error("{}: {}", address.error().message, address.error().detail);
    return 2;
  }
  auto cache = cache_registry(options);
  if (!cache) {
    spdlog::error("{}", cache.error().message);
    return 2;
  }
  auto sandbox = sandbox_policy_from(options.sandbox);
  if (!sandbox) {
    spdlog::error("{}", sandbox.error().message);
    return 2;
  }
  // Builders then run exactly the binary checked here, whatever their PATH.
  auto runtime = sandbox::find_runtime_binary(sandbox->runtime, sandbox->runtime_path);
  if (!runtime) {
    spdlog::error("{}", runtime.error().message);
    return 2;
  }
  sandbox->runtime_path = runtime->string();
  spdlog::info("RUN steps run with {} ({})", sandbox::runtime_name(sandbox->runtime), sandbox->runtime_path);
  if (*cache)
    spdlog::info("build cache repositories on {}{}", (*cache)->url,
                 (*cache)->username.empty() ? "" : " as " + (*cache)->username);
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}", options.data_dir, ec.message());
    return 1;
  }
  auto registry = registry::Registry::open(options.data_dir);
  if (!registry) {
    spdlog::error("cannot open registry storage in {}: {}", options.data_dir, registry.error().message);
    return 1;
  }

  auto auth = open_auth(options);
  if (!auth) {
    spdlog::error("cannot set up authentication in {}: {}", options.data_dir, auth.error().message);
    return 1;
  }
  auto builds = builds::BuildService::open(build_options(options, std::move(*cache), std::move(*sandbox)), **auth);
  if (!builds) {
    spdlog::error("cannot open the build service in {}: {}", options.data_dir, builds.error().message);
    return 1;
  }
  (*auth)->set_build_ownership([&service = **builds](std::string_view tenant, std::string_view id) {
    return service.owned_by(tenant, id);
  });
  // The catalog and mounts see only what the caller's token may pull.
  (*registry)->set_pull_filter([](const http::Request& request, const std::string& repository) {
    const auto* access = auth::registry_caller(request);
    return access && access->grants.may_pull(repository);
  });

  http::Metrics metrics;
  http::Router router;
  add_service_routes(router, metrics);
  auth::add_token_routes(router, **auth);
  auth::add_key_routes(router, **auth);
  auth::add_revocation_routes(router, **auth);
  (*builds)->add_routes(router);
  (*registry)->add_routes(router);
  http::Dispatcher dispatcher(router);

  http::Server server({address->first, address->second}, std::ref(dispatcher), metrics);
  if (auto listening = server.listen(); !listening) {
    spdlog::error("{}", listening.error().message);
    return 1;
  }
  // Guards go in once the port is bound, because the realm names it; no
  // request is served before run().
  dispatcher.add_guard(registry::Registry::validation_guard());
  dispatcher.add_guard(auth::authorization_guard(**auth, public_url(options, address->first, server.port()), metrics));
  std::string registry_host = options.registry_host.empty() ? host_port(address->first, server.port())
                                                              : options.registry_host;
  if (auto started = (*builds)->start(local_registry_url(address->first, server.port()), registry_host); !started) {
    spdlog::error("cannot start the build service: {}", started.error().message);
    return 1;
  }
  auto signals = stop_on_signal(server);
  spdlog::info("strata serving on {}:{} (data in {})", address->first, server.port(),
               std::filesystem::absolute(options.data_dir).string());
  server.run();
  signals.join();
  (*builds)->stop();
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Run the registry server");
  cmd->add_option("--listen", options->listen, "host:port to listen on")->envname("STRATA_LISTEN")->capture_default_str();
  cmd->add_option("--data-dir", options->data_dir, "directory for blobs and metadata")
      ->envname("STRATA_DATA_DIR")
      ->capture_default_str();
  cmd->add_option("--log-level", options->log_level, "trace|debug|info|warn|error")
      ->envname("STRATA_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  add_token_key_flags(*cmd, options->keys);
  cmd->add_option("--shared-namespace", options->shared_namespaces,
                  "repository pattern every tenant may pull (repeatable)")
      ->envname("STRATA_SHARED_NAMESPACES")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--anonymous-pull", options->anonymous_pull,
                  "repository pattern anyone may pull without credentials (repeatable)")
      ->envname("STRATA_ANONYMOUS_PULL")
      ->delimiter(',');
  cmd->add_option("--public-url", options->public_url,
                  "base URL clients reach the server at, for the token realm (default http://<listen address>)")
      ->envname("STRATA_PUBLIC_URL");
  cmd->add_option("--max-concurrent-builds", options->max_concurrent_builds, "builds that run at once")
      ->envname("STRATA_MAX_CONCURRENT_BUILDS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--secrets-dir", options->secrets_dir,
                  "directory of build secrets, one file per secret id (default: no secrets)")
      ->envname("STRATA_SECRETS_DIR");
  cmd->add_option("--builder-work-dir", options->builder_work_dir,
                  "where builds unpack contexts and builders keep snapshots (default <data-dir>/builder)")
      ->envname("STRATA_BUILDER_WORK_DIR");
  cmd->add_flag("--retry-interrupted", options->retry_interrupted,
                "queue builds interrupted by a server restart once more instead of failing them")
      ->envname("STRATA_RETRY_INTERRUPTED");
  cmd->add_option("--max-source-bytes", options->max_source_bytes,
                  "largest build context accepted, uncompressed (and as uploaded)")
      ->envname("STRATA_MAX_SOURCE_BYTES")
      ->capture_default_str();
  cmd->add_option("--registry-host", options->registry_host,
                  "registry host[:port] used in build image references (default the listen address)")
      ->envname("STRATA_REGISTRY_HOST");
  cmd->add_option("--cache-registry", options->cache_registry,
                  "base URL (http:// or https://) of the registry that holds the build cache repositories "
                  "(default this server's registry)")
      ->envname("STRATA_CACHE_REGISTRY");
  cmd->add_option("--cache-registry-username", options->cache_registry_username,
                  "user name for --cache-registry (basic auth)")
      ->envname("STRATA_CACHE_REGISTRY_USERNAME");
  cmd->add_option("--cache-registry-password", options->cache_registry_password,
                  "password for --cache-registry (prefer the environment variable: arguments are visible to ps)")
      ->envname("STRATA_CACHE_REGISTRY_PASSWORD");
  add_sandbox_flags(*cmd, options->sandbox);
  cmd->callback([options] { set_exit_code(serve(*options)); });
}

}  // namespace strata::cli
