// build.json as the builder reads it: the secrets it may mount, with the
// environment variable a secret's content goes into.
#include "engine/build/build_config.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::engine::build {
namespace {

// A minimal valid build.json with `secrets` as given (JSON text).
std::string config_with_secrets(const std::string& secrets) {
  return R"({"id": "b1", "context_dir": "/ctx", "registry": {"url": "http://127.0.0.1:8083", "token": "t"},
             "output": {"repository": "builds/b1"}, "secrets": )" +
         secrets + "}";
}

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

}  // namespace
}  // namespace strata::engine::build
