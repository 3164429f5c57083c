// `strata gc`: mark and sweep of registry storage (see registry/gc.h).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "registry/gc.h"

namespace strata::cli {
namespace {

struct GcCommandOptions {
  std::string data_dir = "strata-data";
  bool dry_run = false;
  long grace_seconds = 3600;
  long upload_max_age_seconds = 86400;
  long cache_max_age_seconds = 0;  // 0: keep build-cache entries
};

int run_gc(const GcCommandOptions& options) {
  registry::GcOptions gc;
  gc.dry_run = options.dry_run;
  gc.grace = std::chrono::seconds(options.grace_seconds);
  gc.upload_max_age = std::chrono::seconds(options.upload_max_age_seconds);
  if (options.cache_max_age_seconds > 0) gc.cache_max_age = std::chrono::seconds(options.cache_max_age_seconds);
  auto report = registry::collect(options.data_dir, gc);
  if (!report) {
    std::fprintf(stderr, "gc failed: %s\n", report.error().message.c_str());
    return 1;
  }
  const char* verb = report->dry_run ? "would delete" : "deleted";
  for (const auto& entry : report->cache_entries) std::printf("%s cache entry %s\n", verb, entry.c_str());
  for (const auto& blob : report->blobs)
    std::printf("%s blob %s (%llu bytes)\n", verb, blob.digest.str().c_str(),
                static_cast<unsigned long long>(blob.size));
  for (const auto& uuid : report->uploads) std::printf("%s upload %s\n", verb, uuid.c_str());
  for (const auto& path : report->temporaries) std::printf("%s temporary %s\n", verb, path.c_str());
  std::printf("%s %zu blobs, %zu uploads, %zu temporaries, %llu bytes; kept %zu blobs\n", verb,
              report->blobs.size(), report->uploads.size(), report->temporaries.size(),
              static_cast<unsigned long long>(report->bytes_freed), report->blobs_kept);
  return 0;
}

}  // namespace

void add_gc_command(CLI::App& app) {
  auto options = std::make_shared<GcCommandOptions>();
  auto* cmd = app.add_subcommand("gc", "Delete blobs no manifest references and stale uploads");
  cmd->add_option("--data-dir", options->data_dir, "data directory of the registry")
      ->envname("STRATA_DATA_DIR")
      ->capture_default_str();
  cmd->add_flag("--dry-run", options->dry_run, "print what would be deleted, delete nothing");
  cmd->add_option("--grace-seconds", options->grace_seconds,
                  "never delete blobs linked or written more recently than this")
      ->capture_default_str();
  cmd->add_option("--upload-max-age-seconds", options->upload_max_age_seconds,
                  "delete upload sessions older than this")
      ->capture_default_str();
  cmd->add_option("--cache-max-age-seconds", options->cache_max_age_seconds,
                  "delete build-cache entries (cache/**) no build pushed or used for this long; 0 keeps them")
      ->capture_default_str();
  cmd->callback([options] { set_exit_code(run_gc(*options)); });
}

}  // namespace strata::cli
