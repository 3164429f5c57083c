#include "engine/build/source_roots.h"

#include <fmt/format.h>

namespace strata::engine::build {

Result<SourceRoot> SourceRoots::open(std::string_view from, int step) {
  if (from.empty()) return SourceRoot{session_.config.context_dir, true, std::nullopt};
  const std::vector<ImageLayer>* layers = nullptr;
  if (auto stage = dockerfile::find_stage(dockerfile_, from, current_)) {
    auto it = finished_.find(*stage);
    if (it == finished_.end())
      return fail("BUILD_INVALID", fmt::format("stage \"{}\" has not been built", std::string(from)));
    layers = &it->second.layers;
  } else {
    auto image = session_.images.pull(from, step);
    if (!image) return std::unexpected(image.error());
    layers = &(*image)->layers;
  }
  auto mount = session_.snapshots.prepare(*layers);
  if (!mount) return std::unexpected(mount.error());
  return SourceRoot{mount->merged, false, *mount};
}

Result<SourceIdentity> SourceRoots::identity(std::string_view from, int step) {
  if (from.empty()) return SourceIdentity{true, std::nullopt};
  if (auto stage = dockerfile::find_stage(dockerfile_, from, current_)) {
    auto it = finished_.find(*stage);
    if (it == finished_.end() || !it->second.cache_key) return SourceIdentity{};
    return SourceIdentity{false, "stage:" + it->second.cache_key->str()};
  }
  auto image = session_.images.pull(from, step);
  if (!image) return std::unexpected(image.error());
  return SourceIdentity{false, "image:" + (*image)->manifest_digest.str()};
}

void SourceRoots::close(const SourceRoot& source) {
  if (source.mount) (void)session_.snapshots.discard(*source.mount);
}

}  // namespace strata::engine::build
