// Manifest validation on nlohmann-json. Each check names the offending field
// by its JSON path ("layers[2].size") so a client can see what to fix.
#include "oci/manifest.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "oci/media_types.h"

namespace strata::oci {
namespace {

using nlohmann::json;

std::unexpected<Error> invalid(const std::string& path, std::string_view problem) {
  return fail("MANIFEST_INVALID", path + ": " + std::string(problem));
}

std::string field_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// "type/subtype; param=x" -> "type/subtype", surrounding whitespace dropped.
std::string_view strip_parameters(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  auto first = content_type.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  auto last = content_type.find_last_not_of(" \t");
  return content_type.substr(first, last - first + 1);
}

bool is_schema1(std::string_view media_type) {
  return media_type == media_type::kDockerSchema1Manifest ||
         media_type == media_type::kDockerSchema1SignedManifest;
}

Result<std::optional<std::string>> optional_string(const json& object, std::string_view key,
                                                   const std::string& parent) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string()) return invalid(field_path(parent, key), "must be a string");
  return it->get<std::string>();
}

Result<std::string> required_string(const json& object, std::string_view key,
                                    const std::string& parent) {
  auto value = optional_string(object, key, parent);
  if (!value) return std::unexpected(value.error());
  if (!*value || (*value)->empty())
    return invalid(field_path(parent, key), "is required and must be a non-empty string");
  return std::move(**value);
}

Result<std::map<std::string, std::string>> annotations_of(const json& object,
                                                          const std::string& parent) {
  std::map<std::string, std::string> out;
  auto it = object.find("annotations");
  if (it == object.end() || it->is_null()) return out;
  auto path = field_path(parent, "annotations");
  if (!it->is_object()) return invalid(path, "must be an object of strings");
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) return invalid(path + "." + key, "annotation values must be strings");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

Result<std::optional<Platform>> platform_of(const json& object, const std::string& parent) {
  auto it = object.find("platform");
  if (it == object.end()) return std::nullopt;
  auto path = field_path(parent, "platform");
  if (!it->is_object()) return invalid(path, "must be an object");
  auto os = required_string(*it, "os", path);
  if (!os) return std::unexpected(os.error());
  auto architecture = required_string(*it, "architecture", path);
  if (!architecture) return std::unexpected(architecture.error());
  auto variant = optional_string(*it, "variant", path);
  if (!variant) return std::unexpected(variant.error());
  return Platform{std::move(*os), std::move(*architecture), variant->value_or("")};
}

Result<std::int64_t> size_of(const json& object, const std::string& parent) {
  auto path = field_path(parent, "size");
  auto it = object.find("size");
  if (it == object.end()) return invalid(path, "is required");
  // The parser stores every non-negative integer as unsigned; negative ones
  // and fractions have other types.
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    return it->get<std::int64_t>();
  return invalid(path, "must be a non-negative integer");
}

Result<Descriptor> descriptor_of(const json& value, const std::string& path) {
  if (!value.is_object()) return invalid(path, "must be a descriptor object");
  auto media_type = required_string(value, "mediaType", path);
  if (!media_type) return std::unexpected(media_type.error());
  auto digest_text = required_string(value, "digest", path);
  if (!digest_text) return std::unexpected(digest_text.error());
  auto digest = Digest::parse(*digest_text);
  if (!digest) return invalid(field_path(path, "digest"), digest.error().message);
  auto size = size_of(value, path);
  if (!size) return std::unexpected(size.error());
  auto artifact_type = optional_string(value, "artifactType", path);
  if (!artifact_type) return std::unexpected(artifact_type.error());
  auto annotations = annotations_of(value, path);
  if (!annotations) return std::unexpected(annotations.error());
  auto platform = platform_of(value, path);
  if (!platform) return std::unexpected(platform.error());
  return Descriptor{std::move(*media_type),    std::move(*digest),      *size,
                    std::move(*artifact_type), std::move(*annotations), std::move(*platform)};
}

Result<std::vector<Descriptor>> descriptor_list(const json& manifest, std::string_view key) {
  std::string path(key);
  auto it = manifest.find(key);
  if (it == manifest.end()) return invalid(path, "is required");
  if (!it->is_array()) return invalid(path, "must be an array of descriptors");
  std::vector<Descriptor> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto descriptor = descriptor_of((*it)[i], path + "[" + std::to_string(i) + "]");
    if (!descriptor) return std::unexpected(descriptor.error());
    out.push_back(std::move(*descriptor));
  }
  return out;
}

Result<std::string> resolve_media_type(const json& manifest, std::string_view content_type) {
  auto field = optional_string(manifest, "mediaType", "");
  if (!field) return std::unexpected(field.error());
  auto header = strip_parameters(content_type);
  if (*field && !header.empty() && **field != header)
    return fail("MANIFEST_INVALID", "manifest mediaType \"" + **field +
                                        "\" does not match Content-Type \"" + std::string(header) +
                                        "\"");
  std::string resolved = field->value_or(std::string(header));
  if (resolved.empty())
    return fail("MANIFEST_INVALID",
                "manifest media type unknown: set the Content-Type header or the mediaType field");
  if (is_schema1(resolved))
    return fail("MANIFEST_INVALID",
                "Docker schema 1 manifests are not supported; push schema 2 or OCI instead");
  if (!manifest_kind(resolved))
    return fail("MANIFEST_INVALID", "unsupported manifest media type \"" + resolved + "\"");
  return resolved;
}

Result<void> check_schema_version(const json& manifest) {
  auto it = manifest.find("schemaVersion");
  if (it == manifest.end()) return invalid("schemaVersion", "is required");
  if (*it == 1)
    return fail("MANIFEST_INVALID",
                "Docker schema 1 manifests are not supported; push schema 2 or OCI instead");
  if (!it->is_number_integer() || *it != 2) return invalid("schemaVersion", "must be 2");
  return {};
}

Result<void> parse_image_fields(const json& manifest, ParsedManifest& out) {
  auto config = manifest.find("config");
  if (config == manifest.end()) return invalid("config", "is required");
  auto descriptor = descriptor_of(*config, "config");
  if (!descriptor) return std::unexpected(descriptor.error());
  out.config = std::move(*descriptor);
  auto layers = descriptor_list(manifest, "layers");
  if (!layers) return std::unexpected(layers.error());
  out.layers = std::move(*layers);
  if (!out.artifact_type) out.artifact_type = out.config->media_type;
  return {};
}

Result<void> parse_index_fields(const json& manifest, ParsedManifest& out) {
  auto manifests = descriptor_list(manifest, "manifests");
  if (!manifests) return std::unexpected(manifests.error());
  out.manifests = std::move(*manifests);
  return {};
}

}  // namespace

std::optional<ManifestKind> manifest_kind(std::string_view media_type) {
  if (media_type == media_type::kOciManifest || media_type == media_type::kDockerManifest)
    return ManifestKind::image;
  if (media_type == media_type::kOciIndex || media_type == media_type::kDockerManifestList)
    return ManifestKind::index;
  return std::nullopt;
}

Result<ParsedManifest> parse_manifest(std::string_view content_type, std::string_view bytes) {
  if (bytes.size() > kMaxManifestBytes)
    return fail("MANIFEST_TOO_LARGE", "manifest is larger than the 4 MiB limit",
                std::to_string(bytes.size()) + " bytes");
  if (is_schema1(strip_parameters(content_type)))
    return fail("MANIFEST_INVALID",
                "Docker schema 1 manifests are not supported; push schema 2 or OCI instead");

  json manifest;
  try {
    manifest = json::parse(bytes.begin(), bytes.end());
  } catch (const json::parse_error& e) {
    return fail("MANIFEST_INVALID", "manifest is not valid JSON", e.what());
  }
  if (!manifest.is_object()) return fail("MANIFEST_INVALID", "manifest must be a JSON object");

  if (auto ok = check_schema_version(manifest); !ok) return std::unexpected(ok.error());
  auto media_type = resolve_media_type(manifest, content_type);
  if (!media_type) return std::unexpected(media_type.error());

  ParsedManifest out;
  out.media_type = std::move(*media_type);
  out.kind = *manifest_kind(out.media_type);

  auto artifact_type = optional_string(manifest, "artifactType", "");
  if (!artifact_type) return std::unexpected(artifact_type.error());
  out.artifact_type = std::move(*artifact_type);
  auto annotations = annotations_of(manifest, "");
  if (!annotations) return std::unexpected(annotations.error());
  out.annotations = std::move(*annotations);
  if (auto subject = manifest.find("subject"); subject != manifest.end()) {
    auto descriptor = descriptor_of(*subject, "subject");
    if (!descriptor) return std::unexpected(descriptor.error());
    out.subject = std::move(*descriptor);
  }

  auto fields = out.kind == ManifestKind::image ? parse_image_fields(manifest, out)
                                                : parse_index_fields(manifest, out);
  if (!fields) return std::unexpected(fields.error());
  return out;
}

}  // namespace strata::oci
