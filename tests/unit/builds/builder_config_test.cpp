// build.json as the manager writes it for `strata builder`: the cache fields
// (plan, mount scope) and the cache registry member, present only when the
// server has one and without empty credentials.
#include "builds/builder_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strata::builds {
namespace {

using nlohmann::json;

Build make_build(std::string scope, std::string key, bool admin) {
  BuildRequest request{.source_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, "src")};
  request.cache_scope = std::move(scope);
  request.global_cache_key = std::move(key);
  request.is_admin_build = admin;
  return Build{.id = "babcdefghijklmnopqrst", .tenant = "acme", .request = std::move(request)};
}

BuilderSetup make_setup() {
  return BuilderSetup{.context_dir = "/work/contexts/b1",
                      .dockerfile_text = "FROM scratch\n",
                      .registry_url = "http://127.0.0.1:8083",
                      .registry_token = "build-token",
                      .work_dir = "/work",
                      .result_path = "/work/builds/b1/result.json",
                      .secret_files = {}};
}

json config_of(const Build& build, const BuilderSetup& setup) { return json::parse(builder_config_json(build, setup)); }

TEST(BuilderConfig, WithoutCacheRegistryTheCacheIsOnOurRegistry) {
  json config = config_of(make_build("acme", "node", false), make_setup());
  EXPECT_FALSE(config.contains("cache_registry"));
  EXPECT_EQ(config["registry"], (json{{"url", "http://127.0.0.1:8083"}, {"token", "build-token"}}));
  EXPECT_EQ(config["cache_import"], (json{"cache/acme", "cache/global/node"}));
  EXPECT_EQ(config["cache_export"], "cache/acme");
  EXPECT_EQ(config["global_cache_key"], "node");
  EXPECT_EQ(config["is_admin_build"], false);
  EXPECT_EQ(config["cache_mount_scope"], "scope-acme");
}

TEST(BuilderConfig, CacheRegistryWithCredentials) {
  BuilderSetup setup = make_setup();
  setup.cache_registry = CacheRegistry{"http://127.0.0.1:5000", "cacheuser", "s3cret"};
  json config = config_of(make_build("acme", "node", false), setup);
  EXPECT_EQ(config["cache_registry"],
            (json{{"url", "http://127.0.0.1:5000"}, {"username", "cacheuser"}, {"password", "s3cret"}}));
  // The cache plan names the same repositories on the other registry.
  EXPECT_EQ(config["cache_import"], (json{"cache/acme", "cache/global/node"}));
  EXPECT_EQ(config["registry"]["url"], "http://127.0.0.1:8083");
}

TEST(BuilderConfig, AnonymousCacheRegistryHasOnlyItsUrl) {
  BuilderSetup setup = make_setup();
  setup.cache_registry = CacheRegistry{"https://cache.example.com", "", ""};
  json config = config_of(make_build("acme", "", false), setup);
  EXPECT_EQ(config["cache_registry"], (json{{"url", "https://cache.example.com"}}));
}

TEST(BuilderConfig, AdminBuildReadsAndWritesOnlyItsGlobalCache) {
  json config = config_of(make_build("team-a", "node", true), make_setup());
  EXPECT_EQ(config["cache_import"], (json{"cache/global/node"}));
  EXPECT_EQ(config["cache_export"], "cache/global/node");
  EXPECT_EQ(config["cache_mount_scope"], "global-node");
}

TEST(BuilderConfig, OperatorBuildWithoutScopeOrKeyHasNoCache) {
  json config = config_of(make_build("", "", false), make_setup());
  EXPECT_EQ(config["cache_import"], json::array());
  EXPECT_EQ(config["cache_export"], nullptr);
  EXPECT_EQ(config["global_cache_key"], nullptr);
  EXPECT_EQ(config["cache_mount_scope"], "operator");
}

}  // namespace
}  // namespace strata::builds
