#include "engine/cache/cache_entry.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/image/image_manifest.h"
#include "oci/media_types.h"

namespace strata::engine::cache {
namespace {

using nlohmann::json;

constexpr int kSchema = 1;

std::unexpected<Error> invalid(std::string_view why) { return fail("CACHE_ENTRY_INVALID", std::string(why)); }

// Members of the wrong type or missing throw json::exception, caught below.
oci::Digest digest_member(const json& object, const char* name) {
  auto digest = oci::Digest::parse(object.at(name).get<std::string>());
  if (!digest) throw std::invalid_argument(fmt::format("{}: {}", name, digest.error().message));
  return *digest;
}

bool same_blob(const oci::Descriptor& a, const oci::Descriptor& b) {
  return a.media_type == b.media_type && a.digest == b.digest && a.size == b.size;
}

}  // namespace

std::string cache_config_json(const CacheEntry& entry) {
  json layer = nullptr;
  if (entry.layer)
    layer = {{"mediaType", entry.layer->blob.media_type},
             {"digest", entry.layer->blob.digest.str()},
             {"size", entry.layer->blob.size},
             {"diff_id", entry.layer->diff_id.str()}};
  const auto& writer = entry.written_by;
  json doc = {{"schema", kSchema},
              {"key", entry.key.str()},
              {"parent", entry.parent.str()},
              {"instruction", entry.instruction},
              {"layer", std::move(layer)},
              {"history", {{"created_by", entry.created_by}, {"empty_layer", !entry.layer}}},
              {"written_by",
               {{"build", writer.build},
                {"tenant", writer.tenant ? json(*writer.tenant) : json(nullptr)},
                {"admin", writer.admin}}}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<CacheEntry> parse_cache_config(std::string_view text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return invalid("config is not a JSON object");
  try {
    if (doc.at("schema").get<int>() != kSchema)
      return invalid(fmt::format("unknown schema {}", doc.at("schema").dump()));
    oci::Digest key = digest_member(doc, "key");
    oci::Digest parent = digest_member(doc, "parent");
    std::string instruction = doc.at("instruction").get<std::string>();
    std::string created_by = doc.at("history").at("created_by").get<std::string>();
    CacheEntry entry{std::move(key), std::move(parent), std::move(instruction), std::nullopt, std::move(created_by),
                     {}};
    const json& layer = doc.at("layer");
    if (!layer.is_null()) {
      std::int64_t size = layer.at("size").get<std::int64_t>();
      if (size < 0) return invalid("layer size is negative");
      // Named first: g++ 12 destroys a braced initializer's finished members
      // twice when a later one throws.
      std::string media_type = layer.at("mediaType").get<std::string>();
      oci::Digest blob = digest_member(layer, "digest");
      oci::Digest diff_id = digest_member(layer, "diff_id");
      entry.layer = EntryLayer{{std::move(media_type), std::move(blob), size}, std::move(diff_id)};
    }
    if (doc.at("history").at("empty_layer").get<bool>() != !entry.layer)
      return invalid("history.empty_layer disagrees with layer");
    const json& writer = doc.at("written_by");
    entry.written_by.build = writer.at("build").get<std::string>();
    if (!writer.at("tenant").is_null()) entry.written_by.tenant = writer.at("tenant").get<std::string>();
    entry.written_by.admin = writer.at("admin").get<bool>();
    return entry;
  } catch (const std::exception& e) {
    return invalid(fmt::format("config: {}", e.what()));
  }
}

std::string entry_manifest_json(const oci::Descriptor& config, const CacheEntry& entry) {
  std::vector<oci::Descriptor> layers;
  if (entry.layer) layers.push_back(entry.layer->blob);
  return image::image_manifest_json(config, layers);
}

Result<void> check_entry_manifest(const oci::ParsedManifest& manifest) {
  if (manifest.media_type != oci::media_type::kOciManifest)
    return invalid(fmt::format("manifest type {} is not an OCI image manifest", manifest.media_type));
  if (!manifest.config || manifest.config->media_type != kCacheConfigMediaType)
    return invalid(fmt::format("config type {} is not {}", manifest.config ? manifest.config->media_type : "(none)",
                               kCacheConfigMediaType));
  if (manifest.layers.size() > 1) return invalid(fmt::format("{} layers, at most 1 expected", manifest.layers.size()));
  return {};
}

Result<void> check_entry(const oci::ParsedManifest& manifest, const CacheEntry& entry, const oci::Digest& key) {
  if (entry.key != key) return invalid(fmt::format("entry is for key {}", entry.key.str()));
  if (manifest.layers.empty() != !entry.layer) return invalid("manifest and config disagree on the layer");
  if (entry.layer && !same_blob(manifest.layers.front(), entry.layer->blob))
    return invalid(fmt::format("manifest layer {} is not the config's {}", manifest.layers.front().digest.str(),
                               entry.layer->blob.digest.str()));
  return {};
}

}  // namespace strata::engine::cache
