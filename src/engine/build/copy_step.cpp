#include "engine/build/copy_step.h"

#include <charconv>

#include <fmt/format.h>

#include "engine/fs/copy.h"
#include "engine/fs/user.h"
#include "engine/image/metadata.h"

namespace strata::engine::build {
namespace {

namespace df = dockerfile;

// The destination as an absolute image path; a trailing '/' (or "." for
// the WORKDIR itself) still says "into this directory".
std::string absolute_dest(const std::string& working_dir, const std::string& dest) {
  bool into_dir = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
  std::string path = image::resolve_workdir(working_dir, dest);
  if (into_dir && path != "/") path += '/';
  return path;
}

// ADD <url> is fetched by the builder on the host, so it follows the egress
// steps' address rules, checked on every address the URL's host resolves to
// (and on every redirect).
http::ConnectCheck egress_connect_check(const sandbox::AddressPolicy& addresses) {
  return [&addresses](const http::ConnectTarget& target) -> Result<void> {
    auto address = sandbox::IpAddress::parse(target.address);
    if (address && addresses.allows(*address)) return {};
    return fail("EGRESS_NOT_ALLOWED", fmt::format("ADD: {} is not allowed by the build's egress policy", target.host));
  };
}

Result<fs::CopyOptions> copy_options(const snapshot::Mount& mount, const df::CopyCommand& copy,
                                     const BuildConfig& config) {
  fs::CopyOptions options;
  options.add = copy.is_add;
  options.source_date_epoch = config.source_date_epoch;
  // The fetch runs on the builder host: an isolated build must not reach
  // the network through ADD any more than through RUN.
  options.allow_network = config.network_mode == NetworkMode::egress;
  if (!copy.checksum.empty()) return fail("COPY_INVALID", "ADD --checksum is not supported");
  if (!copy.chown.empty()) {
    auto owner = fs::resolve_user(mount.merged, copy.chown);
    if (!owner) return std::unexpected(owner.error());
    options.chown = owner->owner;
  }
  if (!copy.chmod.empty()) {
    std::uint32_t mode = 0;
    auto [end, ec] = std::from_chars(copy.chmod.data(), copy.chmod.data() + copy.chmod.size(), mode, 8);
    if (ec != std::errc() || end != copy.chmod.data() + copy.chmod.size() || mode > 07777)
      return fail("COPY_INVALID", fmt::format("--chmod={} is not an octal mode", copy.chmod));
    options.chmod = mode;
  }
  return options;
}

Result<void> copy_files(BuildSession& session, SourceRoots& sources, const StageState& stage,
                        const df::CopyCommand& copy, const snapshot::Mount& mount, int step) {
  auto options = copy_options(mount, copy, session.config);
  if (!options) return std::unexpected(options.error());
  options->url_connect_check = egress_connect_check(session.addresses);
  auto source = sources.open(copy.from, step);
  if (!source) return std::unexpected(source.error());
  fs::CopySource from{source->root, source->is_context, source->is_context ? &session.ignore : nullptr,
                      copy.sources, {}};
  for (const auto& heredoc : copy.inline_sources) from.inline_files.push_back({heredoc.name, heredoc.content});
  auto copied = fs::copy_into(mount.merged, absolute_dest(stage.image.config.working_dir, copy.dest), from, *options);
  sources.close(*source);
  return copied;
}

}  // namespace

Result<std::optional<ImageLayer>> copy_step(BuildSession& session, SourceRoots& sources, const StageState& stage,
                                            const df::CopyCommand& copy, int step) {
  auto mount = session.snapshots.prepare(stage.layers);
  if (!mount) return std::unexpected(mount.error());
  if (auto copied = copy_files(session, sources, stage, copy, *mount, step); !copied) {
    (void)session.snapshots.discard(*mount);
    return std::unexpected(copied.error());
  }
  return session.snapshots.commit(*mount);
}

}  // namespace strata::engine::build
