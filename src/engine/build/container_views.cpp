#include "engine/build/container_views.h"

namespace strata::engine::build {
namespace fs = std::filesystem;

Result<ContainerViews> ContainerViews::open(const WorkDir& work, const snapshot::Snapshotter& snapshotter,
                                            sandbox::IdRange ids) {
  auto mapping = exec::IdMapping::create(ids);
  if (!mapping) return std::unexpected(mapping.error());
  std::vector<exec::IdMappedView> views;
  snapshot::MappedAccess access{.views = {}, .root_uid = ids.host_start, .root_gid = ids.host_start};
  const std::pair<fs::path, const char*> sources[] = {
      {snapshotter.root() / "layers", "layers"}, {snapshotter.root() / "empty", "empty"}, {snapshotter.mounts(), "mounts"}};
  for (const auto& [source, name] : sources) {
    auto view = exec::IdMappedView::mount(source, work.views() / name, *mapping);
    if (!view) return std::unexpected(view.error());
    access.views.push_back({source, view->view()});
    views.push_back(std::move(*view));
  }
  return ContainerViews(std::move(*mapping), std::move(views), std::move(access));
}

}  // namespace strata::engine::build
