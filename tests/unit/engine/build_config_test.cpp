// build.json as the builder reads it: the secrets it may mount, with the
// environment variable a secret's content goes into, and the build cache's
// repositories and registry.
#include "engine/build/build_config.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::engine::build {
namespace {

// A minimal valid build.json with `member` (a JSON member's text) added.
std::string config_with(const std::string& member) {
  return R"({"id": "b1", "context_dir": "/ctx", "registry": {"url": "http://127.0.0.1:8083", "token": "t"},
             "output": {"repository": "builds/b1"}, )" +
         member + "}";
}

std::string config_with_secrets(const std::string& secrets) { return config_with(R"("secrets": )" + secrets); }

TEST(BuildConfigTest, SecretWithEnvVarKeepsItsVariableName) {
  auto config = parse_build_config(config_with_secrets(
      R"([{"id": "npmrc", "path": "/secrets/npmrc", "env_var": "NPM_TOKEN"}, {"id": "key", "path": "/secrets/key"}])"));
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->secrets.size(), 2u);
  EXPECT_EQ(config->secrets[0].id, "npmrc");
  EXPECT_EQ(config->secrets[0].path, "/secrets/npmrc");
  EXPECT_EQ(config->secrets[0].env_var, "NPM_TOKEN");
  EXPECT_EQ(config->secrets[1].id, "key");
  EXPECT_EQ(config->secrets[1].env_var, "");
}

TEST(BuildConfigTest, SecretEnvVarThatIsNotAVariableNameIsRejected) {
  for (const char* env_var : {R"("")", R"("A=B")", "42"}) {
    auto config = parse_build_config(
        config_with_secrets(std::string(R"([{"id": "npmrc", "path": "/secrets/npmrc", "env_var": )") + env_var + "}]"));
    ASSERT_FALSE(config) << env_var;
    EXPECT_EQ(config.error().code, "CONFIG_INVALID") << env_var;
    EXPECT_NE(config.error().message.find("env_var"), std::string::npos) << config.error().message;
  }
}

TEST(BuildConfigTest, CacheRepositoriesAreOnOurRegistryByDefault) {
  auto config = parse_build_config(config_with(
      R"("cache_import": ["cache/acme", "cache/global/node"], "cache_export": "cache/acme", "is_admin_build": false)"));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->cache.import, (std::vector<std::string>{"cache/acme", "cache/global/node"}));
  EXPECT_EQ(config->cache.export_to, "cache/acme");
  EXPECT_FALSE(config->cache.is_admin_build);
  EXPECT_EQ(config->cache_endpoint().base_url, "http://127.0.0.1:8083");
  EXPECT_EQ(config->cache_endpoint().credentials.kind, remote::Credentials::Kind::bearer);
}

TEST(BuildConfigTest, CacheRegistryCanBeAnotherRegistry) {
  auto config = parse_build_config(config_with(
      R"("cache_export": "cache/global/node", "cache_registry": {"url": "http://127.0.0.1:5000/", "username": "u", "password": "p"})"));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->cache_endpoint().base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(config->cache_endpoint().credentials.kind, remote::Credentials::Kind::basic);
}

TEST(BuildConfigTest, BadCacheSettingsAreRejected) {
  for (const char* member : {R"("cache_import": "cache/acme")", R"("cache_import": ["Cache/Acme"])",
                             R"("cache_import": ["../x"])", R"("cache_export": "cache//acme")",
                             R"("cache_export": 3)", R"("is_admin_build": "yes")", R"("cache_registry": "x")",
                             R"("cache_registry": {"url": "ftp://x"})", R"("cache_registry": {})"}) {
    auto config = parse_build_config(config_with(member));
    ASSERT_FALSE(config) << member;
    EXPECT_EQ(config.error().code, "CONFIG_INVALID") << member;
  }
}

}  // namespace
}  // namespace strata::engine::build
