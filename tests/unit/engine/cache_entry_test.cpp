// Cache entry configs and manifests: what we write reads back; a manifest or
// config that is foreign, malformed or disagrees with itself or with the key
// it was looked up for is CACHE_ENTRY_INVALID.
#include "engine/cache/cache_entry.h"

#include <gtest/gtest.h>

#include "oci/media_types.h"

namespace strata::engine::cache {
namespace {

oci::Digest digest(std::string_view seed) { return oci::Digest::of(oci::DigestAlgorithm::sha256, seed); }

CacheEntry sample() {
  CacheEntry entry{digest("key"), digest("parent"), "RUN make", std::nullopt, "RUN /bin/sh -c make",
                   {"b1", "acme", false}};
  entry.layer = EntryLayer{{std::string(oci::media_type::kOciLayerTarGzip), digest("layer"), 1234}, digest("diff")};
  return entry;
}

oci::ParsedManifest manifest_of(const CacheEntry& entry, std::string_view config_type = kCacheConfigMediaType) {
  std::string config = cache_config_json(entry);
  oci::Descriptor config_blob{std::string(config_type), digest(config), static_cast<std::int64_t>(config.size())};
  auto parsed = oci::parse_manifest(oci::media_type::kOciManifest, entry_manifest_json(config_blob, entry));
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

TEST(CacheEntry, ConfigRoundTrips) {
  for (bool with_layer : {true, false}) {
    CacheEntry entry = sample();
    if (!with_layer) entry.layer.reset();
    entry.written_by = {"b2", std::nullopt, true};
    auto parsed = parse_cache_config(cache_config_json(entry));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->key, entry.key);
    EXPECT_EQ(parsed->parent, entry.parent);
    EXPECT_EQ(parsed->instruction, "RUN make");
    EXPECT_EQ(parsed->created_by, "RUN /bin/sh -c make");
    EXPECT_EQ(parsed->layer.has_value(), with_layer);
    if (with_layer) {
      EXPECT_EQ(parsed->layer->blob.digest, digest("layer"));
      EXPECT_EQ(parsed->layer->blob.size, 1234);
      EXPECT_EQ(parsed->layer->diff_id, digest("diff"));
    }
    EXPECT_TRUE(parsed->written_by.admin);
    EXPECT_FALSE(parsed->written_by.tenant);
    auto manifest = manifest_of(entry);
    EXPECT_TRUE(check_entry_manifest(manifest));
    EXPECT_TRUE(check_entry(manifest, *parsed, entry.key));
  }
}

TEST(CacheEntry, MalformedConfigsAreInvalid) {
  std::string good = cache_config_json(sample());
  auto without = [&](std::string_view member) {
    std::string text = good;
    auto at = text.find(std::string("\"") + std::string(member) + "\"");
    text.replace(at, member.size() + 2, "\"zz\"");
    return text;
  };
  for (const std::string& text : {std::string(""), std::string("[]"), std::string("{}"), std::string("not json"),
                                  good.substr(0, good.size() / 2), without("key"), without("schema"),
                                  without("diff_id"), without("written_by")}) {
    auto parsed = parse_cache_config(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, "CACHE_ENTRY_INVALID");
  }
  std::string bad_digest = good;
  bad_digest.replace(bad_digest.find("sha256:"), 7, "md5:");
  EXPECT_FALSE(parse_cache_config(bad_digest));
}

TEST(CacheEntry, ForeignManifestsAreRefused) {
  EXPECT_EQ(check_entry_manifest(manifest_of(sample(), oci::media_type::kOciConfig)).error().code,
            "CACHE_ENTRY_INVALID");
  auto two_layers = manifest_of(sample());
  two_layers.layers.push_back(two_layers.layers.front());
  EXPECT_FALSE(check_entry_manifest(two_layers));
}

TEST(CacheEntry, EntryMustMatchItsKeyAndManifest) {
  CacheEntry entry = sample();
  auto manifest = manifest_of(entry);
  EXPECT_FALSE(check_entry(manifest, entry, digest("another key")));

  auto wrong_layer = manifest;  // the manifest points at another blob than the config says
  wrong_layer.layers.front().digest = digest("other layer");
  EXPECT_FALSE(check_entry(wrong_layer, entry, entry.key));

  auto no_layer = manifest;
  no_layer.layers.clear();
  EXPECT_FALSE(check_entry(no_layer, entry, entry.key));
}

}  // namespace
}  // namespace strata::engine::cache
