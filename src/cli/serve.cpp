// `strata serve`: the registry (and later the build API) on one listener.
// Every option has an environment equivalent (STRATA_LISTEN, STRATA_DATA_DIR,
// STRATA_LOG_LEVEL) and an embedded default, so it runs with no setup.
#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <thread>

#include "cli/commands.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "registry/registry.h"

namespace strata::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8083";
  std::string data_dir = "strata-data";
  std::string log_level = "info";
};

// Routes outside the registry: liveness and metrics.
void add_service_routes(http::Router& router, http::Metrics& metrics) {
  router.add({"GET", "/healthz", "healthz", http::Action::none,
              [](http::Request&) { return http::Response::text(200, "ok\n"); }});
  router.add({"GET", "/metrics", "metrics", http::Action::none, [&metrics](http::Request&) {
                return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4");
              }});
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

  http::Metrics metrics;
  http::Router router;
  add_service_routes(router, metrics);
  (*registry)->add_routes(router);
  http::Dispatcher dispatcher(router);
  dispatcher.add_guard(registry::Registry::validation_guard());

  http::Server server({address->first, address->second}, std::ref(dispatcher), metrics);
  if (auto listening = server.listen(); !listening) {
    spdlog::error("{}", listening.error().message);
    return 1;
  }
  auto signals = stop_on_signal(server);
  spdlog::info("strata serving on {}:{} (data in {})", address->first, server.port(),
               std::filesystem::absolute(options.data_dir).string());
  server.run();
  signals.join();
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
  cmd->callback([options] { set_exit_code(serve(*options)); });
}

}  // namespace strata::cli
