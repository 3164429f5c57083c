// The image config model: what a build inherits from its base image's
// config, how metadata instructions change it (Docker's rules), and that its
// JSON is deterministic.
#include "engine/image/image_config.h"

#include <gtest/gtest.h>

#include "engine/dockerfile/instructions.h"
#include "engine/dockerfile/parser.h"
#include "engine/image/image_manifest.h"
#include "engine/image/metadata.h"

namespace strata::engine::image {
namespace {

namespace df = dockerfile;

const char* kBaseConfig = R"({
  "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
  "docker_version": "24.0.0",
  "config": {
    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
    "Cmd": ["sh"], "WorkingDir": "/srv", "User": "daemon",
    "Labels": {"org.example.base": "yes"},
    "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
    "StopSignal": "SIGQUIT", "ArgsEscaped": true,
    "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000, "Retries": 3}
  },
  "rootfs": {"type": "layers", "diff_ids": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},
  "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "ADD rootfs.tar /"},
              {"created_by": "CMD [\"sh\"]", "empty_layer": true}]
})";

ImageConfig base() {
  auto parsed = parse_image_config(kBaseConfig);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

// The commands of a Dockerfile's only stage, expanded with no variables.
std::vector<df::Command> commands(const std::string& text) {
  auto tree = df::parse("FROM scratch\n" + text);
  EXPECT_TRUE(tree) << tree.error().message;
  auto dockerfile = df::load(*tree);
  EXPECT_TRUE(dockerfile) << dockerfile.error().message;
  std::vector<df::Command> out;
  for (auto instruction : dockerfile->stages[0].instructions) {
    EXPECT_TRUE(df::expand_variables(instruction, {}, '\\', "Dockerfile"));
    out.push_back(instruction.command);
  }
  return out;
}

ContainerConfig apply_all(ContainerConfig config, const std::string& text) {
  StageMetadata stage;
  for (const auto& command : commands(text)) apply_metadata(config, stage, command);
  return config;
}

TEST(ImageConfigTest, BaseConfigFieldsAreReadAndInherited) {
  ImageConfig image = base();
  EXPECT_EQ(image.architecture, "amd64");
  EXPECT_EQ(image.config.env_value("LANG"), "C.UTF-8");
  EXPECT_EQ(image.config.cmd, (std::vector<std::string>{"sh"}));
  EXPECT_EQ(image.config.working_dir, "/srv");
  EXPECT_EQ(image.config.user, "daemon");
  EXPECT_EQ(image.config.labels.at("org.example.base"), "yes");
  EXPECT_TRUE(image.config.exposed_ports.contains("8080/tcp"));
  EXPECT_TRUE(image.config.volumes.contains("/data"));
  EXPECT_EQ(image.config.stop_signal, "SIGQUIT");
  ASSERT_TRUE(image.config.healthcheck);
  EXPECT_EQ(image.config.healthcheck->interval, 30000000000);
  EXPECT_EQ(image.diff_ids.size(), 1u);
  ASSERT_EQ(image.history.size(), 2u);
  EXPECT_TRUE(image.history[1].empty_layer);

  ContainerConfig child = apply_all(image.config, "ENV LANG=en_US.UTF-8 EXTRA=1\nLABEL org.example.child=yes\n");
  EXPECT_EQ(child.env, (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=en_US.UTF-8", "EXTRA=1"}));
  EXPECT_EQ(child.labels.size(), 2u);
  EXPECT_EQ(child.cmd, image.config.cmd);
  EXPECT_EQ(child.user, "daemon");
}

TEST(ImageConfigTest, EntrypointResetsInheritedCmd) {
  ContainerConfig config = apply_all(base().config, "ENTRYPOINT [\"/app\"]\n");
  EXPECT_EQ(config.entrypoint, (std::vector<std::string>{"/app"}));
  EXPECT_FALSE(config.cmd);
}

TEST(ImageConfigTest, EntrypointKeepsCmdSetInTheSameStage) {
  ContainerConfig config = apply_all(base().config, "CMD [\"--help\"]\nENTRYPOINT /app\n");
  EXPECT_EQ(config.cmd, (std::vector<std::string>{"--help"}));
  EXPECT_EQ(config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "/app"}));
}

TEST(ImageConfigTest, ShellFormsRunThroughTheStageShell) {
  ContainerConfig config =
      apply_all({}, "SHELL [\"/bin/bash\", \"-ec\"]\nCMD echo hi\nHEALTHCHECK --retries=2 CMD curl -f localhost\n");
  EXPECT_EQ(config.cmd, (std::vector<std::string>{"/bin/bash", "-ec", "echo hi"}));
  ASSERT_TRUE(config.healthcheck);
  EXPECT_EQ(config.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "curl -f localhost"}));
  EXPECT_EQ(config.healthcheck->retries, 2);
  EXPECT_EQ(config.shell, (std::vector<std::string>{"/bin/bash", "-ec"}));
}

TEST(ImageConfigTest, WorkdirResolvesAgainstThePreviousOne) {
  ContainerConfig config = apply_all({}, "WORKDIR /a\nWORKDIR b/./c\nWORKDIR ../d\n");
  EXPECT_EQ(config.working_dir, "/a/b/d");
  EXPECT_EQ(resolve_workdir("", "x"), "/x");
  EXPECT_EQ(resolve_workdir("/a", "/../.."), "/");
}

TEST(ImageConfigTest, ExposeNormalisesProtocolsAndRanges) {
  ContainerConfig config = apply_all({}, "EXPOSE 80 53/UDP 9000-9002\n");
  EXPECT_EQ(config.exposed_ports,
            (std::set<std::string>{"53/udp", "80/tcp", "9000/tcp", "9001/tcp", "9002/tcp"}));
}

TEST(ImageConfigTest, OnbuildUserStopsignalAndVolumesAreRecorded) {
  ContainerConfig config = apply_all({}, "ONBUILD RUN make\nUSER 1000:1000\nSTOPSIGNAL SIGTERM\nVOLUME [\"/v\"]\n");
  EXPECT_EQ(config.on_build, (std::vector<std::string>{"RUN make"}));
  EXPECT_EQ(config.user, "1000:1000");
  EXPECT_EQ(config.stop_signal, "SIGTERM");
  EXPECT_TRUE(config.volumes.contains("/v"));
}

TEST(ImageConfigTest, HistoryAndLayersSurviveSerialization) {
  ImageConfig image = base();
  image.history.push_back({"2024-02-01T00:00:00Z", "RUN /bin/sh -c make", "", "", false});
  image.history.push_back({"2024-02-01T00:00:00Z", "ENV A=b", "", "", true});
  auto reparsed = parse_image_config(serialize_image_config(image));
  ASSERT_TRUE(reparsed) << reparsed.error().message;
  EXPECT_EQ(*reparsed, image);
}

TEST(ImageConfigTest, SerializationIsDeterministicWithSortedKeysAndNoUnknownFields) {
  std::string json = serialize_image_config(base());
  EXPECT_EQ(json, serialize_image_config(*parse_image_config(json)));
  EXPECT_EQ(json.find("docker_version"), std::string::npos);
  EXPECT_EQ(json.find("ArgsEscaped"), std::string::npos);
  EXPECT_LT(json.find("\"architecture\""), json.find("\"config\""));
  EXPECT_LT(json.find("\"Cmd\""), json.find("\"Env\""));
  EXPECT_LT(json.find("\"config\""), json.find("\"rootfs\""));
  EXPECT_NE(json.find(R"("ExposedPorts":{"8080/tcp":{}})"), std::string::npos);
}

TEST(ImageConfigTest, TimestampComesFromSourceDateEpoch) {
  EXPECT_EQ(image_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(image_timestamp(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(image_timestamp(std::nullopt).size(), 20u);
}

TEST(ImageConfigTest, MalformedConfigNamesTheField) {
  auto parsed = parse_image_config(R"({"config": {"Env": "PATH=/bin"}})");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, "IMAGE_CONFIG_INVALID");
  EXPECT_NE(parsed.error().message.find("Env"), std::string::npos);
  EXPECT_FALSE(parse_image_config("[]"));
  EXPECT_FALSE(parse_image_config(R"({"rootfs": {"diff_ids": ["md5:x"]}})"));
}

TEST(ImageManifestTest, ManifestListsConfigAndLayersInOrder) {
  auto digest = [](char c) { return *oci::Digest::parse("sha256:" + std::string(64, c)); };
  std::string manifest = image_manifest_json({"application/vnd.oci.image.config.v1+json", digest('a'), 10},
                                             {{"application/vnd.oci.image.layer.v1.tar+gzip", digest('b'), 20},
                                              {"application/vnd.oci.image.layer.v1.tar+gzip", digest('c'), 30}});
  EXPECT_EQ(manifest,
            R"({"config":{"digest":"sha256:)" + std::string(64, 'a') +
                R"(","mediaType":"application/vnd.oci.image.config.v1+json","size":10},"layers":[)"
                R"({"digest":"sha256:)" + std::string(64, 'b') +
                R"(","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":20},)"
                R"({"digest":"sha256:)" + std::string(64, 'c') +
                R"(","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":30}],)"
                R"("mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2})");
}

}  // namespace
}  // namespace strata::engine::image
