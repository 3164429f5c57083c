// cache_scope and global_cache_key: which names are refused (each way out of
// the namespace, upper case, bad separators) with a FIELD_INVALID naming the
// field, which are accepted, and the repository and mount-scope names they
// become.
#include "builds/cache_names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "builds/field_error.h"

namespace strata::builds {
namespace {

void expect_refused(const Result<void>& result, std::string_view field, std::string_view name,
                    std::string_view reason = "") {
  ASSERT_FALSE(result) << field << " \"" << name << "\" was accepted";
  EXPECT_EQ(result.error().code, kFieldInvalid);
  EXPECT_EQ(result.error().detail, field);
  EXPECT_TRUE(result.error().message.starts_with(std::string(field) + ": ")) << result.error().message;
  EXPECT_NE(result.error().message.find(reason), std::string::npos) << result.error().message;
}

// Names refused as both a scope and a key, and what the message says about them.
const std::vector<std::pair<std::string, std::string>> kRefusedNames = {
    {"", "empty"},
    {"../x", "'/'"},
    {"..", "letters and digits"},
    {"a/b", "'/'"},
    {"/ab", "'/'"},
    {"ab/", "'/'"},
    {"Node", "lower case"},
    {"NODE", "lower case"},
    {"a..b", "letters and digits"},
    {"a.", "letters and digits"},
    {".ab", "letters and digits"},
    {"-ab", "letters and digits"},
    {"ab-", "letters and digits"},
    {"_ab", "letters and digits"},
    {"a___b", "letters and digits"},
    {"a._b", "letters and digits"},
    {"a b", "letters and digits"},
    {"ab\n", "letters and digits"},
    {"a:b", "letters and digits"},
    {"a%2fb", "letters and digits"},
};

TEST(CacheScope, RefusesEveryNameThatIsNotOneLowercasePathComponent) {
  for (const auto& [name, reason] : kRefusedNames)
    expect_refused(validate_cache_scope(name), "cache_scope", name, reason);
}

TEST(CacheScope, GlobalIsReservedForTheGlobalCache) {
  expect_refused(validate_cache_scope("global"), "cache_scope", "global", "reserved");
}

TEST(CacheScope, LengthIsTwoToSixtyThree) {
  expect_refused(validate_cache_scope("a"), "cache_scope", "a", "2 to 63");
  expect_refused(validate_cache_scope(std::string(64, 'a')), "cache_scope", "64 x a", "2 to 63");
  EXPECT_TRUE(validate_cache_scope(std::string(63, 'a')));
}

TEST(CacheScope, AcceptsTenantIdsAndOtherComponents) {
  for (const char* scope : {"acme", "team-a", "a--b", "ab", "0x", "team.a", "team_a", "team__a", "global2", "globals"})
    EXPECT_TRUE(validate_cache_scope(scope)) << scope;
}

TEST(GlobalCacheKey, RefusesEveryNameThatIsNotOneLowercasePathComponent) {
  for (const auto& [name, reason] : kRefusedNames)
    expect_refused(validate_global_cache_key(name), "global_cache_key", name, reason);
}

TEST(GlobalCacheKey, LengthIsOneToSixtyFour) {
  EXPECT_TRUE(validate_global_cache_key("a"));
  EXPECT_TRUE(validate_global_cache_key(std::string(64, 'k')));
  expect_refused(validate_global_cache_key(std::string(65, 'k')), "global_cache_key", "65 x k", "1 to 64");
}

TEST(GlobalCacheKey, AcceptsComponentsIncludingGlobal) {
  for (const char* key : {"node", "node-20.x_base", "python3.12", "a__b", "a---b", "global"})
    EXPECT_TRUE(validate_global_cache_key(key)) << key;
}

TEST(CacheRepositories, NamesSitInsideTheirNamespace) {
  EXPECT_EQ(tenant_cache_repository("acme"), "cache/acme");
  EXPECT_EQ(global_cache_repository("node"), "cache/global/node");
  EXPECT_EQ(global_cache_repository("global"), "cache/global/global");
}

TEST(CacheRepositories, InvalidOrAbsentNamesGiveNoRepository) {
  for (const char* name : {"", "../global/node", "global", "Acme", "a/b", "a..b"})
    EXPECT_FALSE(tenant_cache_repository(name)) << name;
  for (const char* name : {"", "../acme", "Node", "node/x", "a."}) EXPECT_FALSE(global_cache_repository(name)) << name;
}

BuildRequest request_with(std::string scope, std::string key, bool admin) {
  BuildRequest request{.source_digest = oci::Digest::of(oci::DigestAlgorithm::sha256, "src")};
  request.cache_scope = std::move(scope);
  request.global_cache_key = std::move(key);
  request.is_admin_build = admin;
  return request;
}

TEST(CacheMountScope, AdminTenantAndOperatorBuildsNeverShare) {
  EXPECT_EQ(cache_mount_scope(request_with("", "node", true)), "global-node");
  EXPECT_EQ(cache_mount_scope(request_with("acme", "node", false)), "scope-acme");
  EXPECT_EQ(cache_mount_scope(request_with("", "node", false)), "operator");
  EXPECT_EQ(cache_mount_scope(request_with("", "", true)), "operator");
  // A tenant named like an admin build's mount scope gets a scope of its own.
  EXPECT_NE(cache_mount_scope(request_with("global-node", "", false)), cache_mount_scope(request_with("", "node", true)));
  EXPECT_NE(cache_mount_scope(request_with("operator", "", false)), cache_mount_scope(request_with("", "", false)));
}

}  // namespace
}  // namespace strata::builds
