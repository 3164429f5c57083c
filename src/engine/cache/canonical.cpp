#include "engine/cache/canonical.h"

#include <nlohmann/json.hpp>

namespace strata::engine::cache {
namespace {

using nlohmann::json;
namespace df = dockerfile;

json heredocs_json(const std::vector<df::Heredoc>& heredocs) {
  json list = json::array();
  for (const auto& h : heredocs)
    list.push_back({h.marker, h.name, h.content, h.expand, h.strip_tabs, h.fd});
  return list;
}

json optional_number(const std::optional<unsigned>& value) { return value ? json(*value) : json(nullptr); }

json mount_json(const df::Mount& m) {
  return {static_cast<int>(m.type), m.target, m.source, m.from, m.id, m.env, m.required, m.read_only,
          static_cast<int>(m.sharing), optional_number(m.mode), optional_number(m.uid), optional_number(m.gid)};
}

std::string dump(const json& doc) { return doc.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string canonical_run(const df::RunCommand& run) {
  json mounts = json::array();
  for (const auto& m : run.mounts) mounts.push_back(mount_json(m));
  const auto& line = run.command;
  return dump({"RUN", line.exec ? json(*line.exec) : json(nullptr), line.shell, heredocs_json(line.heredocs),
               static_cast<int>(run.network), std::move(mounts)});
}

std::string canonical_copy(const df::CopyCommand& copy) {
  return dump({copy.is_add ? "ADD" : "COPY", copy.sources, heredocs_json(copy.inline_sources), copy.dest, copy.from,
               copy.chown, copy.chmod, copy.link, copy.checksum});
}

}  // namespace strata::engine::cache
