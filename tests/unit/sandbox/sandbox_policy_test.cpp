#include "sandbox/sandbox_policy.h"

#include <gtest/gtest.h>

namespace strata::sandbox {
namespace {

TEST(SandboxPolicy, RoundTripsThroughBuildJson) {
  SandboxPolicy policy;
  policy.runtime = RuntimeKind::runsc;
  policy.runtime_path = "/usr/bin/runsc";
  policy.ids = {200000, 70000};
  policy.limits = {.pids = 100, .memory_bytes = 1 << 30, .cpus = 1.5, .disk_bytes = 2 << 20,
                   .step_log_bytes = 1000, .build_log_bytes = 5000};
  policy.network = {{"10.9.0.0/16"}, {"203.0.113.0/24", "bad.example"}, {"registry.example:5000"}};
  auto parsed = parse_sandbox_policy(sandbox_policy_json(policy));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, policy);
}

TEST(SandboxPolicy, AbsentFieldsAreTheDefaults) {
  auto parsed = parse_sandbox_policy("{}");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, SandboxPolicy{});
  EXPECT_EQ(parsed->limits.pids, 4096);
  EXPECT_NE(parsed->ids.host_start, 0u);
}

TEST(SandboxPolicy, RefusesBadFieldsNamingThem) {
  auto bad_limit = parse_sandbox_policy(R"({"limits":{"memory_bytes":-1}})");
  ASSERT_FALSE(bad_limit);
  EXPECT_EQ(bad_limit.error().code, "CONFIG_INVALID");
  EXPECT_NE(bad_limit.error().message.find("sandbox.limits.memory_bytes"), std::string::npos);
  EXPECT_FALSE(parse_sandbox_policy(R"({"runtime":"docker"})"));
  EXPECT_FALSE(parse_sandbox_policy(R"({"egress_allow":"10.0.0.0/8"})"));
  EXPECT_FALSE(parse_sandbox_policy(R"({"userns":{"host_start":0,"size":65536}})"));
  EXPECT_FALSE(parse_sandbox_policy("[]"));
}

TEST(IdRange, NeedsANonRootStartAndRoomForContainerIds) {
  auto range = parse_id_range("100000:65536");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->host_start, 100000u);
  EXPECT_EQ(range->size, 65536u);
  EXPECT_FALSE(parse_id_range("0:65536"));        // container root would be host root
  EXPECT_FALSE(parse_id_range("100000:1000"));    // too small for 0-65535
  EXPECT_FALSE(parse_id_range("4294967000:65536"));
  EXPECT_FALSE(parse_id_range("100000"));
  EXPECT_FALSE(parse_id_range("x:65536"));
}

TEST(ByteSize, ParsesBinaryUnits) {
  EXPECT_EQ(parse_byte_size("4096").value(), 4096);
  EXPECT_EQ(parse_byte_size("512m").value(), 512ll << 20);
  EXPECT_EQ(parse_byte_size("4g").value(), 4ll << 30);
  EXPECT_EQ(parse_byte_size("10GiB").value(), 10ll << 30);
  EXPECT_EQ(parse_byte_size("1.5G").value(), 3ll << 29);
  EXPECT_EQ(parse_byte_size("2 MB").value(), 2ll << 20);
  EXPECT_EQ(parse_byte_size("0").value(), 0);
  EXPECT_FALSE(parse_byte_size("-1g"));
  EXPECT_FALSE(parse_byte_size("4x"));
  EXPECT_FALSE(parse_byte_size(""));
  EXPECT_FALSE(parse_byte_size("g"));
}

TEST(ByteSize, FormatsLimitsAsPeopleWriteThem) {
  EXPECT_EQ(format_byte_size(10ll << 30), "10 GiB");
  EXPECT_EQ(format_byte_size(2ll << 20), "2 MiB");
  EXPECT_EQ(format_byte_size(3ll << 29), "1.5 GiB");
  EXPECT_EQ(format_byte_size(100), "100 bytes");
}

TEST(IdRange, BuildsRunningAtOnceGetRangesOfTheirOwn) {
  IdRange pool{1000000000, 3 * 65536};
  EXPECT_EQ(build_id_range(pool, 0), (IdRange{1000000000, 65536}));
  EXPECT_EQ(build_id_range(pool, 1), (IdRange{1000065536, 65536}));
  EXPECT_EQ(build_id_range(pool, 2), (IdRange{1000131072, 65536}));
  EXPECT_EQ(build_id_range(pool, 3), (IdRange{1000000000, 65536}));  // more workers than the pool holds
  EXPECT_EQ(build_id_range({5000, 65536 + 100}, 1), (IdRange{5000, 65536}));
  EXPECT_EQ(build_id_range(IdRange{}, 63).host_start + 65536u, IdRange{}.host_start + IdRange{}.size);
}

}  // namespace
}  // namespace strata::sandbox
