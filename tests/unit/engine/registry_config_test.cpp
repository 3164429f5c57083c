#include "engine/remote/registry_config.h"

#include <gtest/gtest.h>

namespace strata::engine::remote {
namespace {

TEST(RegistryConfig, UnconfiguredRegistriesAreReachedOverHttpsAndDockerHubAtItsApiHost) {
  RegistryConfig config;
  EXPECT_EQ(config.endpoint_for("ghcr.io").base_url, "https://ghcr.io");
  EXPECT_EQ(config.endpoint_for("registry.example:5000").base_url, "https://registry.example:5000");
  EXPECT_EQ(config.endpoint_for("docker.io").base_url, "https://registry-1.docker.io");
  EXPECT_EQ(config.endpoint_for("127.example.com").base_url, "https://127.example.com");
}

TEST(RegistryConfig, LoopbackRegistriesSpeakPlainHttpLikeDockersDefault) {
  RegistryConfig config;
  EXPECT_EQ(config.endpoint_for("localhost:5000").base_url, "http://localhost:5000");
  EXPECT_EQ(config.endpoint_for("127.0.0.1:5000").base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(config.endpoint_for("127.1.2.3").base_url, "http://127.1.2.3");
  EXPECT_EQ(config.endpoint_for("[::1]:5000").base_url, "http://[::1]:5000");
}

TEST(RegistryConfig, ConfiguredEndpointWins) {
  RegistryConfig config;
  config.registries["127.0.0.1:5000"] = {"https://127.0.0.1:5000", true, Credentials::anonymous()};
  EXPECT_EQ(config.endpoint_for("127.0.0.1:5000").base_url, "https://127.0.0.1:5000");
}

}  // namespace
}  // namespace strata::engine::remote
