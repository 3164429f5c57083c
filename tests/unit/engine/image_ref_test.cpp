// Image references as written after FROM, and where RegistryConfig sends them.
#include "engine/remote/image_ref.h"

#include <gtest/gtest.h>

#include "engine/remote/registry_config.h"

namespace strata::engine::remote {
// Readable gtest failures: print the fully qualified form.
void PrintTo(const ImageReference& image, std::ostream* out) { *out << image.str(); }

namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

ImageReference parsed(std::string_view text) {
  auto ref = ImageReference::parse(text);
  EXPECT_TRUE(ref) << text << ": " << (ref ? "" : ref.error().message);
  return ref ? *ref : ImageReference{};
}

RemoteImage located(const RegistryConfig& config, std::string_view text) {
  auto image = config.locate(parsed(text));
  EXPECT_TRUE(image) << text << ": " << (image ? "" : image.error().message);
  return image ? *image : RemoteImage{{}, {}, oci::Reference(oci::Digest::of(oci::DigestAlgorithm::sha256, ""))};
}

ImageReference ref(std::string domain, std::string repository, std::optional<std::string> tag,
                   std::optional<std::string> digest = std::nullopt) {
  return {std::move(domain), std::move(repository), std::move(tag),
          digest ? std::optional(*oci::Digest::parse(*digest)) : std::nullopt};
}

// "<base URL> <repository>:<reference>": where a located image is fetched.
std::string destination(const RemoteImage& image) {
  return image.endpoint.base_url + " " + image.repository + ":" + image.reference.str();
}

TEST(ImageReference, BareNameIsOfficialDockerHubImageAtLatest) {
  EXPECT_EQ(parsed("busybox"), ref("docker.io", "library/busybox", "latest"));
  EXPECT_EQ(parsed("busybox").str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(parsed("busybox").reference().str(), "latest");
}

TEST(ImageReference, TagIsKept) { EXPECT_EQ(parsed("busybox:1.36"), ref("docker.io", "library/busybox", "1.36")); }

TEST(ImageReference, MultiComponentDockerHubNameHasNoLibraryPrefix) {
  EXPECT_EQ(parsed("library/busybox"), ref("docker.io", "library/busybox", "latest"));
  EXPECT_EQ(parsed("bitnami/redis:7"), ref("docker.io", "bitnami/redis", "7"));
}

TEST(ImageReference, FullyQualifiedDockerHubNamesNormalise) {
  EXPECT_EQ(parsed("docker.io/library/busybox:latest"), parsed("busybox"));
  EXPECT_EQ(parsed("docker.io/busybox"), parsed("busybox"));
  EXPECT_EQ(parsed("index.docker.io/library/busybox"), parsed("busybox"));
}

TEST(ImageReference, HostWithPortIsADomain) {
  EXPECT_EQ(parsed("127.0.0.1:8083/base/busybox:1"), ref("127.0.0.1:8083", "base/busybox", "1"));
}

TEST(ImageReference, LocalhostIsADomainEvenWithoutDotOrPort) {
  EXPECT_EQ(parsed("localhost/x"), ref("localhost", "x", "latest"));
  EXPECT_EQ(parsed("localhost:5000/x"), ref("localhost:5000", "x", "latest"));
}

TEST(ImageReference, SingleComponentNameWithColonIsNameAndTag) {
  // Docker reads "localhost:5000" as the Hub image library/localhost, tag 5000.
  EXPECT_EQ(parsed("localhost:5000"), ref("docker.io", "library/localhost", "5000"));
}

TEST(ImageReference, DigestOnlyReferenceHasNoTag) {
  auto image = parsed("ghcr.io/a/b@" + kDigest);
  EXPECT_EQ(image, ref("ghcr.io", "a/b", std::nullopt, kDigest));
  EXPECT_EQ(image.reference().str(), kDigest);
}

TEST(ImageReference, TagAndDigestKeepBothAndDigestWins) {
  auto image = parsed("busybox:1.36@" + kDigest);
  EXPECT_EQ(image, ref("docker.io", "library/busybox", "1.36", kDigest));
  EXPECT_TRUE(image.reference().is_digest());
  EXPECT_EQ(image.str(), "docker.io/library/busybox:1.36@" + kDigest);
}

TEST(ImageReference, DeepPathsAndIpv6DomainsParse) {
  EXPECT_EQ(parsed("registry.example.com:443/team/sub/app:v1"),
            ref("registry.example.com:443", "team/sub/app", "v1"));
  EXPECT_EQ(parsed("[::1]:5000/app"), ref("[::1]:5000", "app", "latest"));
}

TEST(ImageReference, InvalidReferencesAreRefusedWithTheirCode) {
  struct Case {
    std::string text;
    std::string code;
  };
  for (const auto& c : std::vector<Case>{
           {"", "NAME_INVALID"},
           {"Busybox", "NAME_INVALID"},             // upper case is not a Hub name
           {"busybox:", "TAG_INVALID"},
           {"busybox:-x", "TAG_INVALID"},
           {"busybox:a/b", "NAME_INVALID"},          // ':' before the last '/' is no tag
           {"busybox@sha256:abc", "DIGEST_INVALID"},
           {"busybox@", "DIGEST_INVALID"},
           {"a//b", "NAME_INVALID"},
           {"example.com/", "NAME_INVALID"},
           {"example.com:port/x", "NAME_INVALID"},
           {"-bad.com/x", "NAME_INVALID"},
           {"example.com/UPPER", "NAME_INVALID"},
           {kHex, "NAME_INVALID"},                   // reads like an image id
           {"busy box", "NAME_INVALID"},
       }) {
    auto ref = ImageReference::parse(c.text);
    ASSERT_FALSE(ref) << "accepted \"" << c.text << "\"";
    EXPECT_EQ(ref.error().code, c.code) << c.text << ": " << ref.error().message;
  }
}

TEST(RegistryConfig, UnconfiguredDomainsUseHttpsAndDockerHubItsApiHost) {
  RegistryConfig config;
  auto hub = located(config, "busybox:1.36");
  EXPECT_EQ(destination(hub), "https://registry-1.docker.io library/busybox:1.36");
  EXPECT_FALSE(hub.endpoint.insecure);
  EXPECT_EQ(hub.endpoint.credentials.kind, Credentials::Kind::none);
  EXPECT_EQ(destination(located(config, "ghcr.io/a/b@" + kDigest)), "https://ghcr.io a/b:" + kDigest);
}

TEST(RegistryConfig, ConfiguredRegistryGivesItsUrlInsecureFlagAndCredentials) {
  RegistryConfig config;
  config.registries["127.0.0.1:8083"] = {"http://127.0.0.1:8083", false, Credentials::bearer("jwt")};
  config.registries["registry.lan:5000"] = {"https://registry.lan:5000", true, Credentials::basic("u", "p")};

  auto ours = located(config, "127.0.0.1:8083/base/busybox:1");
  EXPECT_EQ(destination(ours), "http://127.0.0.1:8083 base/busybox:1");
  EXPECT_EQ(ours.endpoint.credentials.kind, Credentials::Kind::bearer);
  EXPECT_EQ(ours.endpoint.credentials.secret, "jwt");

  auto lan = located(config, "registry.lan:5000/app");
  EXPECT_TRUE(lan.endpoint.insecure);
  EXPECT_EQ(lan.endpoint.credentials.username, "u");
}

TEST(RegistryConfig, MirrorMovesDomainIntoNamespaceOfAnotherRegistry) {
  RegistryConfig config;
  config.registries["127.0.0.1:8083"] = {"http://127.0.0.1:8083", false, Credentials::bearer("jwt")};
  config.mirrors["docker.io"] = "127.0.0.1:8083/mirror/docker.io";

  auto image = located(config, "busybox:1.36");
  EXPECT_EQ(destination(image), "http://127.0.0.1:8083 mirror/docker.io/library/busybox:1.36");
  EXPECT_EQ(image.endpoint.credentials.secret, "jwt");
  // Other domains are not mirrored.
  EXPECT_EQ(destination(located(config, "ghcr.io/a/b")), "https://ghcr.io a/b:latest");
}

TEST(RegistryConfig, MirrorWithoutNamespaceKeepsThePath) {
  RegistryConfig config;
  config.mirrors["docker.io"] = "mirror.lan";
  EXPECT_EQ(destination(located(config, "busybox")), "https://mirror.lan library/busybox:latest");
}

TEST(RegistryConfig, MirrorGivingAnInvalidRepositoryIsRefused) {
  RegistryConfig config;
  config.mirrors["docker.io"] = "127.0.0.1:8083/Mirror";
  auto image = config.locate(parsed("busybox"));
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, "NAME_INVALID");

  config.mirrors["docker.io"] = "/namespace";
  EXPECT_FALSE(config.locate(parsed("busybox")));
}

}  // namespace
}  // namespace strata::engine::remote
