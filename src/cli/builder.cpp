// `strata builder --config build.json`: builds one Dockerfile and pushes the
// image (notes/builder-contract.md). The untrusted side of the build service:
// it holds only the registry token in build.json and never opens the
// server's data dir. Log on stderr; result JSON to result_path (or as the
// last stdout line). Exit 0 ready, 1 build failed or cancelled, 2 bad config.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "engine/build/build_config.h"
#include "engine/build/build_log.h"
#include "engine/build/build_result.h"
#include "engine/build/cancellation.h"
#include "engine/build/solver.h"
#include "engine/build/work_dir.h"

namespace strata::cli {
namespace {

namespace build = engine::build;

constexpr int kFailed = 1;
constexpr int kBadConfig = 2;

Result<build::BuildConfig> read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("CONFIG_INVALID", "cannot read build config " + path);
  std::stringstream text;
  text << in.rdbuf();
  return build::parse_build_config(text.str());
}

// Written next to the target and renamed, so a reader never sees half a result.
bool write_result(const build::BuildConfig& config, const std::string& json) {
  if (!config.result_path) {
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    return true;
  }
  std::string partial = config.result_path->string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << json << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(partial.c_str(), config.result_path->c_str()) == 0;
}

int run_builder(const std::string& config_path) {
  auto config = read_config(config_path);
  if (!config) {
    std::fprintf(stderr, "strata builder: %s\n", config.error().message.c_str());
    return kBadConfig;
  }
  // Before any thread starts: the watcher takes SIGTERM/SIGINT for the build.
  build::Cancellation cancel(config->timeout);
  const auto& limits = config->sandbox.limits;
  build::BuildLog log(stderr, {limits.step_log_bytes, limits.build_log_bytes});
  auto result = build::solve(*config, log, cancel);
  // The result is reported first; deleting the build's files can take a while.
  struct ReapAtExit {
    std::filesystem::path root;
    ~ReapAtExit() { build::reap_trash(root); }
  } reap{config->work_dir};
  if (!result) {
    const Error& error = result.error();
    std::fprintf(stderr, "ERROR: %s\n", error.message.c_str());
    if (!error.detail.empty()) std::fprintf(stderr, "%s\n", error.detail.c_str());
    if (!write_result(*config, build::failure_json(error)))
      std::fprintf(stderr, "strata builder: cannot write %s\n", config->result_path->c_str());
    return kFailed;
  }
  if (!write_result(*config, build::result_json(*result))) {
    std::fprintf(stderr, "strata builder: cannot write %s\n", config->result_path->c_str());
    return kFailed;
  }
  return 0;
}

}  // namespace

void add_builder_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("builder", "Build one Dockerfile described by build.json and push the image");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path, "build.json (see the builder contract)")->required();
  cmd->callback([config_path] { set_exit_code(run_builder(*config_path)); });
}

}  // namespace strata::cli
