// Reading the builder's result JSON back into the build record.
#include "builds/builder_result.h"

#include <gtest/gtest.h>

namespace strata::builds {
namespace {

std::string digest(std::string_view seed) { return oci::Digest::of(oci::DigestAlgorithm::sha256, seed).str(); }

TEST(BuilderResult, ReadyResultBecomesTheBuildResult) {
  std::string json = R"({"status":"ready","manifest_digest":")" + digest("m") + R"(","config_digest":")" +
                     digest("c") + R"(","image":"h/builds/b@x","layers":[{"digest":")" + digest("l") +
                     R"(","size":1}],"base_images":[{"ref":"h/base/busybox:1","digest":")" + digest("b") +
                     R"("}],"steps":[{"instruction":"RUN a","duration_ms":12,"cache":"hit-global"},)"
                     R"({"instruction":"FROM busybox","duration_ms":1},)"
                     R"({"instruction":"COPY . /","duration_ms":3,"cache":"miss"}],"duration_ms":99})";
  auto outcome = parse_builder_result(json, "strata 0.1.0");
  ASSERT_TRUE(outcome) << outcome.error().message;
  const auto& result = std::get<BuildResult>(*outcome);
  EXPECT_EQ(result.manifest_digest.str(), digest("m"));
  EXPECT_EQ(result.config_digest.str(), digest("c"));
  ASSERT_EQ(result.layer_digests.size(), 1u);
  EXPECT_EQ(result.layer_digests[0].str(), digest("l"));
  ASSERT_EQ(result.base_images.size(), 1u);
  EXPECT_EQ(result.base_images[0].reference, "h/base/busybox:1");
  EXPECT_EQ(result.engine_version, "strata 0.1.0");
  ASSERT_EQ(result.steps.size(), 2u);
  EXPECT_EQ(result.steps[0].outcome, CacheOutcome::hit_global);
  EXPECT_EQ(result.steps[0].duration, std::chrono::milliseconds(12));
  // FROM has no cache key, so it is not in the cache report.
  EXPECT_EQ(result.steps[1].instruction, "COPY . /");
  EXPECT_EQ(result.steps[1].outcome, CacheOutcome::miss);
}

TEST(BuilderResult, FailedResultCarriesTheError) {
  auto outcome = parse_builder_result(R"({"status":"failed","error":"timeout after 5s"})", "v");
  ASSERT_TRUE(outcome);
  EXPECT_EQ(std::get<BuilderFailure>(*outcome).error, "timeout after 5s");
}

TEST(BuilderResult, UnusableResultsAreRefused) {
  for (const char* json : {"", "[]", R"({"status":"done"})", R"({"status":"ready"})",
                           R"({"status":"ready","manifest_digest":"sha256:xyz","config_digest":"sha256:xyz"})"}) {
    auto outcome = parse_builder_result(json, "v");
    ASSERT_FALSE(outcome) << json;
    EXPECT_EQ(outcome.error().code, "RESULT_INVALID");
  }
  EXPECT_EQ(read_builder_result("/nonexistent/result.json", "v").error().code, "RESULT_INVALID");
}

}  // namespace
}  // namespace strata::builds
