#include "engine/cache/step_key.h"

#include <fmt/format.h>

namespace strata::engine::cache {
namespace {

// Bumped whenever what a key covers changes, so old entries stop matching.
constexpr std::string_view kVersion = "strata-step-cache-v1";

class KeyHasher {
 public:
  explicit KeyHasher(std::string_view kind) {
    field("version", kVersion);
    field("kind", kind);
  }

  void field(std::string_view name, std::string_view value) {
    digester_.update(name);
    digester_.update(std::string_view("\0", 1));
    digester_.update(fmt::format("{}", value.size()));
    digester_.update(std::string_view("\0", 1));
    digester_.update(value);
  }

  void list(std::string_view name, const std::vector<std::string>& values) {
    field(name, fmt::format("{}", values.size()));
    for (const auto& value : values) field(name, value);
  }

  oci::Digest finish() { return digester_.finish(); }

 private:
  oci::Digester digester_{oci::DigestAlgorithm::sha256};
};

}  // namespace

oci::Digest base_key(const oci::Digest& manifest_digest) {
  KeyHasher hasher("base");
  hasher.field("manifest", manifest_digest.str());
  return hasher.finish();
}

oci::Digest scratch_key(std::string_view platform) {
  KeyHasher hasher("scratch");
  hasher.field("platform", platform);
  return hasher.finish();
}

oci::Digest step_key(const oci::Digest& previous, const StepInputs& inputs) {
  KeyHasher hasher("step");
  hasher.field("previous", previous.str());
  hasher.field("instruction", inputs.instruction);
  hasher.list("environment", inputs.environment);
  hasher.field("user", inputs.user);
  hasher.field("workdir", inputs.workdir);
  hasher.list("shell", inputs.shell);
  hasher.field("network", inputs.network);
  hasher.field("sources", fmt::format("{}", inputs.sources.size()));
  for (const auto& [what, digest] : inputs.sources) {
    hasher.field("source", what);
    hasher.field("digest", digest);
  }
  hasher.list("secrets", inputs.secrets);
  hasher.list("cache_mounts", inputs.cache_mounts);
  return hasher.finish();
}

oci::Digest fold_key(const oci::Digest& previous, std::string_view instruction) {
  KeyHasher hasher("metadata");
  hasher.field("previous", previous.str());
  hasher.field("instruction", instruction);
  return hasher.finish();
}

std::string cache_tag(const oci::Digest& key) { return fmt::format("{}-{}", key.algorithm_name(), key.hex()); }

}  // namespace strata::engine::cache
