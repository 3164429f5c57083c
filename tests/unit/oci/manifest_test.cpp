#include "oci/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "oci/media_types.h"

namespace strata::oci {
namespace {

using nlohmann::json;
namespace mt = media_type;

std::string digest_of(std::string_view content) {
  return Digest::of(DigestAlgorithm::sha256, content).str();
}

json descriptor(std::string_view media_type, std::string_view content, std::int64_t size = 10) {
  return {{"mediaType", media_type}, {"digest", digest_of(content)}, {"size", size}};
}

json oci_image() {
  return {
      {"schemaVersion", 2},
      {"mediaType", mt::kOciManifest},
      {"config", descriptor(mt::kOciConfig, "config")},
      {"layers",
       {descriptor(mt::kOciLayerTarGzip, "layer0"), descriptor(mt::kOciLayerTarZstd, "layer1")}},
      {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}}};
}

json oci_index() {
  json amd64 = descriptor(mt::kOciManifest, "amd64");
  amd64["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  json arm = descriptor(mt::kOciManifest, "arm");
  arm["platform"] = {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}};
  return {{"schemaVersion", 2}, {"mediaType", mt::kOciIndex}, {"manifests", {amd64, arm}}};
}

Result<ParsedManifest> parse(std::string_view content_type, const json& manifest) {
  return parse_manifest(content_type, manifest.dump());
}

// Expects MANIFEST_INVALID whose message mentions `needle`.
void expect_invalid(const json& manifest, std::string_view needle,
                    std::string_view content_type = "") {
  auto r = parse(content_type, manifest);
  ASSERT_FALSE(r.has_value()) << manifest.dump();
  EXPECT_EQ(r.error().code, "MANIFEST_INVALID");
  EXPECT_NE(r.error().message.find(needle), std::string::npos)
      << "message: " << r.error().message << " lacks: " << needle;
}

TEST(ParseManifest, OciImageManifest) {
  auto r = parse(mt::kOciManifest, oci_image());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->media_type, mt::kOciManifest);
  EXPECT_EQ(r->kind, ManifestKind::image);
  ASSERT_TRUE(r->config.has_value());
  EXPECT_EQ(r->config->media_type, mt::kOciConfig);
  EXPECT_EQ(r->config->digest.str(), digest_of("config"));
  EXPECT_EQ(r->config->size, 10);
  ASSERT_EQ(r->layers.size(), 2u);
  EXPECT_EQ(r->layers[1].media_type, mt::kOciLayerTarZstd);
  EXPECT_EQ(r->layers[1].digest.str(), digest_of("layer1"));
  EXPECT_TRUE(r->manifests.empty());
  EXPECT_FALSE(r->subject.has_value());
  EXPECT_EQ(r->artifact_type, std::string(mt::kOciConfig));
  EXPECT_EQ(r->annotations.at("org.opencontainers.image.created"), "2024-01-01T00:00:00Z");
}

TEST(ParseManifest, OciIndexWithPlatforms) {
  auto r = parse(mt::kOciIndex, oci_index());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->kind, ManifestKind::index);
  EXPECT_FALSE(r->config.has_value());
  EXPECT_FALSE(r->artifact_type.has_value());
  ASSERT_EQ(r->manifests.size(), 2u);
  ASSERT_TRUE(r->manifests[0].platform.has_value());
  EXPECT_EQ(r->manifests[0].platform->os, "linux");
  EXPECT_EQ(r->manifests[0].platform->architecture, "amd64");
  EXPECT_EQ(r->manifests[0].platform->variant, "");
  EXPECT_EQ(r->manifests[1].platform->variant, "v7");
}

TEST(ParseManifest, DockerSchema2Manifest) {
  json m = {{"schemaVersion", 2},
            {"mediaType", mt::kDockerManifest},
            {"config", descriptor(mt::kDockerConfig, "cfg", 1469)},
            {"layers", {descriptor(mt::kDockerLayerTarGzip, "l", 977)}}};
  auto r = parse(mt::kDockerManifest, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->kind, ManifestKind::image);
  EXPECT_EQ(r->media_type, mt::kDockerManifest);
  EXPECT_EQ(r->layers.at(0).size, 977);
  EXPECT_EQ(r->artifact_type, std::string(mt::kDockerConfig));
}

TEST(ParseManifest, DockerManifestList) {
  json child = descriptor(mt::kDockerManifest, "child");
  child["platform"] = {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}};
  json m = {{"schemaVersion", 2}, {"mediaType", mt::kDockerManifestList}, {"manifests", {child}}};
  auto r = parse(mt::kDockerManifestList, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->kind, ManifestKind::index);
  EXPECT_EQ(r->manifests.at(0).platform->architecture, "arm64");
}

TEST(ParseManifest, ArtifactWithSubjectAndArtifactType) {
  json m = oci_image();
  m["artifactType"] = "application/vnd.example.sbom+json";
  m["config"] = descriptor(mt::kOciEmpty, "{}", 2);
  m["subject"] = descriptor(mt::kOciManifest, "the image", 1234);
  auto r = parse(mt::kOciManifest, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->artifact_type, "application/vnd.example.sbom+json");
  ASSERT_TRUE(r->subject.has_value());
  EXPECT_EQ(r->subject->digest.str(), digest_of("the image"));
  EXPECT_EQ(r->subject->size, 1234);
}

TEST(ParseManifest, IndexWithSubjectAndArtifactType) {
  json m = oci_index();
  m["artifactType"] = "application/vnd.example.bundle";
  m["subject"] = descriptor(mt::kOciIndex, "parent");
  auto r = parse(mt::kOciIndex, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->artifact_type, "application/vnd.example.bundle");
  EXPECT_EQ(r->subject->media_type, mt::kOciIndex);
}

TEST(ParseManifest, DescriptorArtifactTypeAndAnnotationsAreKept) {
  json m = oci_index();
  m["manifests"][0]["artifactType"] = "application/vnd.example.sig";
  m["manifests"][0]["annotations"] = {{"k", "v"}};
  auto r = parse(mt::kOciIndex, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->manifests[0].artifact_type, "application/vnd.example.sig");
  EXPECT_EQ(r->manifests[0].annotations.at("k"), "v");
}

TEST(ParseManifest, MediaTypeFromContentTypeWhenFieldAbsent) {
  json m = oci_image();
  m.erase("mediaType");
  auto r = parse("application/vnd.oci.image.manifest.v1+json; charset=utf-8", m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->media_type, mt::kOciManifest);
}

TEST(ParseManifest, MediaTypeFromFieldWhenContentTypeAbsent) {
  auto r = parse("", oci_index());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->media_type, mt::kOciIndex);
}

TEST(ParseManifest, RejectsMediaTypeConflictingWithContentType) {
  expect_invalid(oci_image(), "does not match Content-Type", mt::kDockerManifest);
  expect_invalid(oci_index(), "does not match Content-Type", mt::kOciManifest);
}

TEST(ParseManifest, RejectsUnknownOrMissingMediaType) {
  json m = oci_image();
  m["mediaType"] = "application/vnd.example.thing";
  expect_invalid(m, "unsupported manifest media type");
  m.erase("mediaType");
  expect_invalid(m, "unsupported manifest media type", "application/json");
  expect_invalid(m, "media type unknown");
}

TEST(ParseManifest, RejectsSchema1) {
  json schema1 = {
      {"schemaVersion", 1}, {"name", "a"}, {"tag", "latest"}, {"fsLayers", json::array()}};
  expect_invalid(schema1, "schema 1", mt::kDockerSchema1SignedManifest);
  expect_invalid(schema1, "schema 1");
  expect_invalid(oci_image(), "schema 1", mt::kDockerSchema1Manifest);
}

TEST(ParseManifest, RejectsWrongSchemaVersion) {
  json m = oci_image();
  m["schemaVersion"] = 3;
  expect_invalid(m, "schemaVersion");
  m["schemaVersion"] = "2";
  expect_invalid(m, "schemaVersion");
  m.erase("schemaVersion");
  expect_invalid(m, "schemaVersion: is required");
}

TEST(ParseManifest, RejectsMissingRequiredFields) {
  json m = oci_image();
  m.erase("config");
  expect_invalid(m, "config: is required");
  m = oci_image();
  m.erase("layers");
  expect_invalid(m, "layers: is required");
  m = oci_index();
  m.erase("manifests");
  expect_invalid(m, "manifests: is required");
  m = oci_image();
  m["layers"][1].erase("digest");
  expect_invalid(m, "layers[1].digest");
  m = oci_image();
  m["config"].erase("mediaType");
  expect_invalid(m, "config.mediaType");
  m = oci_image();
  m["layers"][0].erase("size");
  expect_invalid(m, "layers[0].size: is required");
  m = oci_index();
  m["manifests"][1]["platform"].erase("architecture");
  expect_invalid(m, "manifests[1].platform.architecture");
}

TEST(ParseManifest, RejectsWrongTypes) {
  json m = oci_image();
  m["layers"] = descriptor(mt::kOciLayerTar, "x");
  expect_invalid(m, "layers: must be an array");
  m = oci_image();
  m["config"] = "sha256:abc";
  expect_invalid(m, "config: must be a descriptor object");
  m = oci_image();
  m["layers"][0]["mediaType"] = 5;
  expect_invalid(m, "layers[0].mediaType: must be a string");
  m = oci_image();
  m["annotations"] = {{"k", 1}};
  expect_invalid(m, "annotations.k");
  m = oci_image();
  m["artifactType"] = json::array();
  expect_invalid(m, "artifactType: must be a string");
  m = oci_image();
  m["subject"] = 7;
  expect_invalid(m, "subject: must be a descriptor object");
  m = oci_index();
  m["manifests"][0]["platform"] = "linux/amd64";
  expect_invalid(m, "manifests[0].platform: must be an object");
  m = oci_image();
  m["mediaType"] = json::object();
  expect_invalid(m, "mediaType: must be a string");
}

TEST(ParseManifest, RejectsBadSizes) {
  for (json size :
       {json(-1), json(1.5), json("10"), json(nullptr), json(18446744073709551615ull)}) {
    json m = oci_image();
    m["layers"][0]["size"] = size;
    expect_invalid(m, "layers[0].size: must be a non-negative integer");
  }
  json zero = oci_image();
  zero["layers"][0]["size"] = 0;
  EXPECT_TRUE(parse(mt::kOciManifest, zero).has_value());
}

TEST(ParseManifest, RejectsBadDigests) {
  for (std::string digest :
       {std::string("sha256:abc"), std::string("md5:900150983cd24fb0d6963f7d28e17f72"),
        digest_of("x").substr(7), "sha256:" + std::string(64, 'A')}) {
    json m = oci_image();
    m["layers"][1]["digest"] = digest;
    expect_invalid(m, "layers[1].digest");
  }
}

TEST(ParseManifest, AcceptsSha512Digests) {
  json m = oci_image();
  m["layers"][0]["digest"] = Digest::of(DigestAlgorithm::sha512, "layer").str();
  auto r = parse(mt::kOciManifest, m);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->layers[0].digest.algorithm(), DigestAlgorithm::sha512);
}

TEST(ParseManifest, RejectsManifestOver4MiBWithDistinctCode) {
  json m = oci_image();
  m["annotations"]["padding"] = std::string(kMaxManifestBytes, 'x');
  auto r = parse(mt::kOciManifest, m);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "MANIFEST_TOO_LARGE");
  EXPECT_NE(r.error().message.find("4 MiB"), std::string::npos);
}

TEST(ParseManifest, AcceptsManifestOfExactly4MiB) {
  json m = oci_image();
  m["annotations"]["padding"] = "";
  std::size_t base = m.dump().size();
  m["annotations"]["padding"] = std::string(kMaxManifestBytes - base, 'x');
  ASSERT_EQ(m.dump().size(), kMaxManifestBytes);
  EXPECT_TRUE(parse(mt::kOciManifest, m).has_value());
}

TEST(ParseManifest, RejectsGarbageAndNonObjectJson) {
  for (std::string_view body : {"", "not json", "{\"schemaVersion\": 2", "{}}", "\xff\xfe"}) {
    auto r = parse_manifest(mt::kOciManifest, body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code, "MANIFEST_INVALID");
    EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos) << body;
  }
  expect_invalid(json::array({oci_image()}), "JSON object", mt::kOciManifest);
  expect_invalid(json("manifest"), "JSON object", mt::kOciManifest);
}

TEST(ManifestKind, ClassifiesManifestMediaTypes) {
  EXPECT_EQ(manifest_kind(mt::kOciManifest), ManifestKind::image);
  EXPECT_EQ(manifest_kind(mt::kDockerManifest), ManifestKind::image);
  EXPECT_EQ(manifest_kind(mt::kOciIndex), ManifestKind::index);
  EXPECT_EQ(manifest_kind(mt::kDockerManifestList), ManifestKind::index);
  EXPECT_FALSE(manifest_kind(mt::kOciConfig).has_value());
  EXPECT_FALSE(manifest_kind(mt::kDockerSchema1SignedManifest).has_value());
}

}  // namespace
}  // namespace strata::oci
