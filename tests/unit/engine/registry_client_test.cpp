// RegistryClient against CNCF Distribution's registry (Debian docker-registry,
// started by the test on a free 127.0.0.1 port) for the OCI operations, and
// against a small in-process registry for the token flow, Basic challenges
// and tag pagination, which Distribution 2.8 cannot be configured to show.
#include "engine/remote/registry_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/temp_dir.h"
#include "engine/remote/auth_challenge.h"
#include "http/server.h"
#include "oci/media_types.h"

extern char** environ;

namespace strata::engine::remote {
namespace {

namespace mt = oci::media_type;
using strata::testing::TempDir;

constexpr const char* kDistributionBinary = "/usr/bin/docker-registry";

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A server child process, sent SIGTERM and reaped with the object.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, const std::filesystem::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServerProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }

  // Polls `url` until it answers 200 (10 s at most).
  bool wait_ready(const std::string& url) {
    http::Client client;
    http::ClientRequest ping;
    ping.url = url;
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      auto response = client.request(ping, 4096);
      if (response && response->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

// Distribution's registry on a fresh storage directory.
class DistributionRegistry {
 public:
  explicit DistributionRegistry(const std::filesystem::path& dir)
      : storage_(dir / "storage"), url_("http://127.0.0.1:" + std::to_string(port_)),
        process_({kDistributionBinary, "serve", write_config(dir)}, dir / "registry.log") {}

  bool wait_ready() { return process_.wait_ready(url_ + "/v2/"); }
  const std::string& url() const { return url_; }
  // Where Distribution keeps a blob's bytes (its storage layout is stable).
  std::filesystem::path blob_file(const oci::Digest& digest) const {
    return storage_ / "docker/registry/v2/blobs/sha256" / digest.hex().substr(0, 2) / digest.hex() / "data";
  }

 private:
  std::string write_config(const std::filesystem::path& dir) const {
    auto config = (dir / "config.yml").string();
    std::ofstream(config) << "version: 0.1\n"
                             "log:\n  level: error\n"
                             "storage:\n  filesystem:\n    rootdirectory: "
                          << storage_.string()
                          << "\n  delete:\n    enabled: true\n"
                             "http:\n  addr: 127.0.0.1:"
                          << port_ << "\n  secret: unit-test\n";
    return config;
  }

  std::uint16_t port_ = free_port();
  std::filesystem::path storage_;
  std::string url_;
  ServerProcess process_;
};

struct Blob {
  std::string bytes;
  oci::Digest digest;
  explicit Blob(std::string content)
      : bytes(std::move(content)), digest(oci::Digest::of(oci::DigestAlgorithm::sha256, bytes)) {}
};

// A source that hands out `bytes` in small pieces, as a file reader would.
http::BodySource source_of(const std::string& bytes) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&bytes, offset](char* buffer, std::size_t size) -> Result<std::size_t> {
    std::size_t n = std::min({size, std::size_t{1000}, bytes.size() - *offset});
    std::memcpy(buffer, bytes.data() + *offset, n);
    *offset += n;
    return n;
  };
}

Blob config_for(const std::string& arch, const std::string& variant = {}) {
  nlohmann::json config = {{"architecture", arch},
                           {"os", "linux"},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  if (!variant.empty()) config["variant"] = variant;
  return Blob(config.dump());
}

std::string image_manifest(const Blob& config, const std::vector<const Blob*>& layers,
                           std::string_view media_type = mt::kOciManifest) {
  bool docker = media_type == mt::kDockerManifest;
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", media_type},
      {"config", {{"mediaType", docker ? mt::kDockerConfig : mt::kOciConfig},
                  {"digest", config.digest.str()},
                  {"size", config.bytes.size()}}},
      {"layers", nlohmann::json::array()}};
  for (const auto* layer : layers)
    manifest["layers"].push_back({{"mediaType", docker ? mt::kDockerLayerTarGzip : mt::kOciLayerTarGzip},
                                  {"digest", layer->digest.str()},
                                  {"size", layer->bytes.size()}});
  return manifest.dump();
}

struct IndexEntry {
  const Blob* manifest;
  std::string arch;
  std::string variant;
};

std::string index_manifest(const std::vector<IndexEntry>& entries, std::string_view media_type = mt::kOciIndex) {
  bool docker = media_type == mt::kDockerManifestList;
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", nlohmann::json::array()}};
  for (const auto& entry : entries) {
    nlohmann::json platform = {{"os", "linux"}, {"architecture", entry.arch}};
    if (!entry.variant.empty()) platform["variant"] = entry.variant;
    index["manifests"].push_back({{"mediaType", docker ? mt::kDockerManifest : mt::kOciManifest},
                                  {"digest", entry.manifest->digest.str()},
                                  {"size", entry.manifest->bytes.size()},
                                  {"platform", platform}});
  }
  return index.dump();
}

oci::Reference tag(std::string_view text) { return *oci::Reference::parse(text); }

class RegistryClientDistributionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kDistributionBinary, X_OK) != 0) return;
    dir_ = new TempDir();
    registry_ = new DistributionRegistry(dir_->path());
    if (!registry_->wait_ready()) TearDownTestSuite();
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!registry_) GTEST_SKIP() << kDistributionBinary << " is not installed or did not start";
    client_ = std::make_unique<RegistryClient>(
        RegistryEndpoint{registry_->url(), false, Credentials::anonymous()});
  }

  // Uploads the blobs and the manifest, returning the manifest's digest.
  oci::Digest push_image(std::string_view repo, const Blob& config, const std::vector<const Blob*>& layers,
                         const oci::Reference& reference, std::string_view media_type = mt::kOciManifest) {
    EXPECT_TRUE(client_->push_blob(repo, config.digest, config.bytes.size(), source_of(config.bytes)));
    for (const auto* layer : layers)
      EXPECT_TRUE(client_->push_blob(repo, layer->digest, layer->bytes.size(), source_of(layer->bytes)));
    auto digest = client_->push_manifest(repo, reference, media_type, image_manifest(config, layers, media_type));
    EXPECT_TRUE(digest) << (digest ? "" : digest.error().message);
    return digest ? *digest : config.digest;
  }

  static TempDir* dir_;
  static DistributionRegistry* registry_;
  std::unique_ptr<RegistryClient> client_;
};

TempDir* RegistryClientDistributionTest::dir_ = nullptr;
DistributionRegistry* RegistryClientDistributionTest::registry_ = nullptr;

TEST_F(RegistryClientDistributionTest, PushedBlobExistsAndStreamsBackWithItsDigestChecked) {
  Blob layer(std::string(300'000, 'x') + "end");
  ASSERT_FALSE(*client_->blob_exists("blobs/a", layer.digest));
  auto pushed = client_->push_blob("blobs/a", layer.digest, layer.bytes.size(), source_of(layer.bytes));
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_TRUE(*client_->blob_exists("blobs/a", layer.digest));

  std::string received;
  auto size = client_->fetch_blob("blobs/a", layer.digest, [&](std::string_view chunk) -> Result<void> {
    received.append(chunk);
    return {};
  });
  ASSERT_TRUE(size) << size.error().message;
  EXPECT_EQ(*size, layer.bytes.size());
  EXPECT_EQ(received, layer.bytes);
}

TEST_F(RegistryClientDistributionTest, PushingABlobAlreadyThereReadsNothing) {
  Blob layer("present once");
  ASSERT_TRUE(client_->push_blob("blobs/b", layer.digest, layer.bytes.size(), source_of(layer.bytes)));
  bool read = false;
  auto again = client_->push_blob("blobs/b", layer.digest, layer.bytes.size(),
                                  [&](char*, std::size_t) -> Result<std::size_t> {
                                    read = true;
                                    return 0;
                                  });
  EXPECT_TRUE(again);
  EXPECT_FALSE(read);
}

TEST_F(RegistryClientDistributionTest, PushWithWrongDigestIsRefusedByTheRegistry) {
  Blob layer("real content");
  Blob other("other content");
  auto pushed = client_->push_blob("blobs/c", other.digest, layer.bytes.size(), source_of(layer.bytes));
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().code, "DIGEST_INVALID") << pushed.error().message;
  EXPECT_FALSE(*client_->blob_exists("blobs/c", other.digest));
}

TEST_F(RegistryClientDistributionTest, FetchOfUnknownBlobFailsWithRegistryCode) {
  Blob missing("never pushed");
  auto fetched = client_->fetch_blob("blobs/a", missing.digest, [](std::string_view) -> Result<void> {
    ADD_FAILURE() << "an error body reached the sink";
    return {};
  });
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code, "BLOB_UNKNOWN");
  EXPECT_NE(fetched.error().message.find("HTTP 404"), std::string::npos) << fetched.error().message;
}

TEST_F(RegistryClientDistributionTest, CorruptedBlobFailsDigestCheckWhileStreaming) {
  Blob layer("content that storage will corrupt");
  ASSERT_TRUE(client_->push_blob("blobs/d", layer.digest, layer.bytes.size(), source_of(layer.bytes)));
  std::string corrupted = layer.bytes;
  corrupted[0] = 'C';
  std::ofstream(registry_->blob_file(layer.digest), std::ios::binary | std::ios::trunc) << corrupted;

  auto fetched = client_->fetch_blob("blobs/d", layer.digest, [](std::string_view) -> Result<void> { return {}; });
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code, "DIGEST_INVALID");
}

TEST_F(RegistryClientDistributionTest, MountLinksBlobIntoAnotherRepository) {
  Blob layer("shared layer");
  ASSERT_TRUE(client_->push_blob("cache/global/node", layer.digest, layer.bytes.size(), source_of(layer.bytes)));
  auto mounted = client_->mount_blob("cache/acme", layer.digest, "cache/global/node");
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_TRUE(*mounted);
  EXPECT_TRUE(*client_->blob_exists("cache/acme", layer.digest));
}

TEST_F(RegistryClientDistributionTest, MountFromRepositoryWithoutTheBlobReportsNotMounted) {
  Blob layer("only in one place");
  ASSERT_TRUE(client_->push_blob("mount/source", layer.digest, layer.bytes.size(), source_of(layer.bytes)));
  Blob absent("nowhere");
  auto mounted = client_->mount_blob("mount/target", absent.digest, "mount/source");
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_FALSE(*mounted);
  EXPECT_FALSE(*client_->blob_exists("mount/target", absent.digest));
}

TEST_F(RegistryClientDistributionTest, ResolveByTagReturnsTheImageManifest) {
  Blob config = config_for("amd64");
  Blob layer("layer of a single-platform image");
  auto digest = push_image("single/app", config, {&layer}, tag("v1"));

  auto image = client_->resolve("single/app", tag("v1"), {"linux", "amd64", ""});
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->digest, digest);
  EXPECT_EQ(image->media_type, mt::kOciManifest);
  EXPECT_EQ(oci::Digest::of(oci::DigestAlgorithm::sha256, image->bytes), digest);
  EXPECT_FALSE(image->index_digest);
  ASSERT_TRUE(image->manifest.config);
  EXPECT_EQ(image->manifest.config->digest, config.digest);
  ASSERT_EQ(image->manifest.layers.size(), 1u);
  EXPECT_EQ(image->manifest.layers[0].digest, layer.digest);
}

TEST_F(RegistryClientDistributionTest, ResolveSelectsThePlatformFromAnOciIndex) {
  Blob amd64_config = config_for("amd64");
  Blob arm64_config = config_for("arm64", "v8");
  Blob amd64_layer("amd64 layer");
  Blob arm64_layer("arm64 layer");
  auto amd64 = push_image("multi/app", amd64_config, {&amd64_layer}, tag("amd64"));
  auto arm64 = push_image("multi/app", arm64_config, {&arm64_layer}, tag("arm64"));
  Blob amd64_manifest(image_manifest(amd64_config, {&amd64_layer}));
  Blob arm64_manifest(image_manifest(arm64_config, {&arm64_layer}));
  auto index = index_manifest({{&amd64_manifest, "amd64", ""}, {&arm64_manifest, "arm64", "v8"}});
  auto index_digest = client_->push_manifest("multi/app", tag("latest"), mt::kOciIndex, index);
  ASSERT_TRUE(index_digest) << index_digest.error().message;

  auto on_arm = client_->resolve("multi/app", tag("latest"), {"linux", "aarch64", ""});
  ASSERT_TRUE(on_arm) << on_arm.error().message;
  EXPECT_EQ(on_arm->digest, arm64);
  EXPECT_EQ(on_arm->index_digest, *index_digest);
  EXPECT_EQ(on_arm->manifest.layers.at(0).digest, arm64_layer.digest);

  auto on_amd = client_->resolve("multi/app", oci::Reference(*index_digest), {"linux", "amd64", ""});
  ASSERT_TRUE(on_amd) << on_amd.error().message;
  EXPECT_EQ(on_amd->digest, amd64);

  auto on_s390x = client_->resolve("multi/app", tag("latest"), {"linux", "s390x", ""});
  ASSERT_FALSE(on_s390x);
  EXPECT_EQ(on_s390x.error().code, "MANIFEST_UNKNOWN");
}

TEST_F(RegistryClientDistributionTest, ResolveSelectsFromDockerManifestListWithDefaultArmVariant) {
  Blob arm_config = config_for("arm", "v7");
  Blob amd_config = config_for("amd64");
  Blob layer("docker layer");
  auto arm = push_image("docker/app", arm_config, {&layer}, tag("arm"), mt::kDockerManifest);
  auto amd = push_image("docker/app", amd_config, {&layer}, tag("amd"), mt::kDockerManifest);
  Blob arm_manifest(image_manifest(arm_config, {&layer}, mt::kDockerManifest));
  Blob amd_manifest(image_manifest(amd_config, {&layer}, mt::kDockerManifest));
  auto list = index_manifest({{&amd_manifest, "amd64", ""}, {&arm_manifest, "arm", "v7"}}, mt::kDockerManifestList);
  ASSERT_TRUE(client_->push_manifest("docker/app", tag("1"), mt::kDockerManifestList, list));

  auto image = client_->resolve("docker/app", tag("1"), {"linux", "arm", ""});
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->digest, arm);
  EXPECT_EQ(image->media_type, mt::kDockerManifest);
  EXPECT_NE(image->digest, amd);
}

TEST_F(RegistryClientDistributionTest, HeadManifestGivesDigestTypeAndSizeOrNothing) {
  Blob config = config_for("amd64");
  auto digest = push_image("head/app", config, {}, tag("sha256-abc"));
  auto info = client_->head_manifest("head/app", tag("sha256-abc"));
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_TRUE(*info);
  EXPECT_EQ((*info)->digest, digest);
  EXPECT_EQ((*info)->media_type, mt::kOciManifest);
  EXPECT_EQ((*info)->size, static_cast<std::int64_t>(image_manifest(config, {}).size()));

  auto missing = client_->head_manifest("head/app", tag("sha256-def"));
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(*missing);
}

TEST_F(RegistryClientDistributionTest, GetManifestByDigestReturnsTheBytesPushed) {
  Blob config = config_for("amd64");
  auto digest = push_image("get/app", config, {}, tag("t"));
  auto fetched = client_->get_manifest("get/app", oci::Reference(digest));
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->bytes, image_manifest(config, {}));
  EXPECT_EQ(fetched->info.digest, digest);
}

TEST_F(RegistryClientDistributionTest, PushManifestByDigestReference) {
  Blob config = config_for("amd64");
  ASSERT_TRUE(client_->push_blob("bydigest/app", config.digest, config.bytes.size(), source_of(config.bytes)));
  Blob manifest(image_manifest(config, {}));
  auto digest = client_->push_manifest("bydigest/app", oci::Reference(manifest.digest), mt::kOciManifest,
                                       manifest.bytes);
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(*digest, manifest.digest);
  EXPECT_TRUE(*client_->head_manifest("bydigest/app", oci::Reference(manifest.digest)));
}

TEST_F(RegistryClientDistributionTest, ManifestReferringToMissingBlobIsRefusedWithRegistryCode) {
  Blob config = config_for("amd64");  // never uploaded
  auto pushed = client_->push_manifest("broken/app", tag("x"), mt::kOciManifest, image_manifest(config, {}));
  ASSERT_FALSE(pushed);
  EXPECT_EQ(pushed.error().code, "MANIFEST_BLOB_UNKNOWN") << pushed.error().message;
}

TEST_F(RegistryClientDistributionTest, GetOfUnknownTagFailsWithManifestUnknown) {
  Blob config = config_for("amd64");
  push_image("unknown/app", config, {}, tag("present"));
  auto fetched = client_->get_manifest("unknown/app", tag("absent"));
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error().code, "MANIFEST_UNKNOWN");
  EXPECT_NE(fetched.error().message.find("HTTP 404"), std::string::npos);
}

TEST_F(RegistryClientDistributionTest, ListTagsReturnsEveryTag) {
  Blob config = config_for("amd64");
  for (auto name : {"b", "a", "c"}) push_image("tags/app", config, {}, tag(name));
  auto tags = client_->list_tags("tags/app");
  ASSERT_TRUE(tags) << tags.error().message;
  std::sort(tags->begin(), tags->end());
  EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b", "c"}));
}

// An in-process registry with Docker token auth or Basic auth, serving one
// paginated tag list. Counts token requests to show tokens are cached.
// One of each lives for the whole test program: http::Server's detached
// connection threads may still touch it after stop().
class FakeAuthRegistry {
 public:
  enum class Mode { token, basic };

  static FakeAuthRegistry& instance(Mode mode) {
    static auto* token = new FakeAuthRegistry(Mode::token);
    static auto* basic = new FakeAuthRegistry(Mode::basic);
    return mode == Mode::token ? *token : *basic;
  }
  const std::string& url() const { return url_; }
  int token_requests() const { return token_requests_.load(); }
  std::string last_token_query() const {
    std::lock_guard lock(mu_);
    return last_token_query_;
  }

 private:
  http::Response handle(http::Request& request) {
    if (request.path == "/token") return token(request);
    auto authorization = std::string(request.headers.get("Authorization").value_or(""));
    bool allowed = mode_ == Mode::token ? authorization == "Bearer good-token"
                                        : authorization == "Basic dTpw" /* u:p */ ||
                                              authorization == "Basic dG9rZW46Zml4ZWQ=" /* token:fixed */;
    if (!allowed) {
      auto response = http::Response::json(
          401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})");
      response.headers.set("WWW-Authenticate",
                           mode_ == Mode::token ? "Bearer realm=\"" + url_ +
                                                      "/token\",service=\"fake\",scope=\"repository:app:pull\""
                                                : std::string("Basic realm=\"fake\""));
      return response;
    }
    if (request.path != "/v2/app/tags/list")
      return http::Response::json(404, R"({"errors":[{"code":"NAME_UNKNOWN","message":"no such repo"}]})");
    if (!request.query_param("last")) {
      auto page = http::Response::json(200, R"({"name":"app","tags":["a","b"]})");
      page.headers.set("Link", "</v2/app/tags/list?n=2&last=b>; rel=\"next\"");
      return page;
    }
    return http::Response::json(200, R"({"name":"app","tags":["c"]})");
  }

  http::Response token(http::Request& request) {
    ++token_requests_;
    {
      std::lock_guard lock(mu_);
      last_token_query_ = request.target;
    }
    if (request.headers.get("Authorization").value_or("") != "Basic dTpw")
      return http::Response::json(401, R"({"details":"bad credentials"})");
    return http::Response::json(200, R"({"access_token":"good-token","expires_in":300})");
  }

  explicit FakeAuthRegistry(Mode mode)
      : mode_(mode), server_({"127.0.0.1", 0}, [this](http::Request& r) { return handle(r); }, metrics_) {
    EXPECT_TRUE(server_.listen());
    url_ = "http://127.0.0.1:" + std::to_string(server_.port());
    std::thread([this] { server_.run(); }).detach();
  }

  Mode mode_;
  http::Metrics metrics_;
  http::Server server_;
  std::string url_;
  std::atomic<int> token_requests_{0};
  mutable std::mutex mu_;
  std::string last_token_query_;
};

// Lists a repository's tags on the fake registry with a fresh client.
Result<std::vector<std::string>> tags_of(FakeAuthRegistry::Mode mode, Credentials credentials,
                                         std::string_view repository = "app") {
  RegistryClient client({FakeAuthRegistry::instance(mode).url(), false, std::move(credentials)});
  return client.list_tags(repository);
}

TEST(RegistryClientAuth, TokenFlowFetchesTokenOnceAndFollowsTagPagination) {
  auto& registry = FakeAuthRegistry::instance(FakeAuthRegistry::Mode::token);
  RegistryClient client({registry.url(), false, Credentials::basic("u", "p")});

  int tokens_before = registry.token_requests();
  auto tags = client.list_tags("app");
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(registry.token_requests(), tokens_before + 1);
  EXPECT_NE(registry.last_token_query().find("service=fake"), std::string::npos);
  EXPECT_NE(registry.last_token_query().find("scope=repository%3Aapp%3Apull"), std::string::npos);

  ASSERT_TRUE(client.list_tags("app"));
  EXPECT_EQ(registry.token_requests(), tokens_before + 1) << "the cached token was not reused";
}

TEST(RegistryClientAuth, RefusedCredentialsFailWithUnauthorized) {
  auto tags = tags_of(FakeAuthRegistry::Mode::token, Credentials::basic("u", "wrong"));
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().code, "UNAUTHORIZED");
}

TEST(RegistryClientAuth, AnonymousClientFacingBasicChallengeGetsUnauthorized) {
  auto tags = tags_of(FakeAuthRegistry::Mode::basic, Credentials::anonymous());
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().code, "UNAUTHORIZED");
  EXPECT_NE(tags.error().message.find("HTTP 401"), std::string::npos);
}

TEST(RegistryClientAuth, BasicChallengeIsAnsweredWithBasicCredentials) {
  auto tags = tags_of(FakeAuthRegistry::Mode::basic, Credentials::basic("u", "p"));
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(tags->size(), 3u);
}

TEST(RegistryClientAuth, FixedTokenTravelsAsBasicPasswordWhenBasicIsAsked) {
  auto tags = tags_of(FakeAuthRegistry::Mode::basic, Credentials::bearer("fixed"));
  ASSERT_TRUE(tags) << tags.error().message;
  EXPECT_EQ(tags->size(), 3u);
}

TEST(RegistryClientAuth, UnknownRepositoryCarriesRegistryCode) {
  auto tags = tags_of(FakeAuthRegistry::Mode::token, Credentials::basic("u", "p"), "other");
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().code, "NAME_UNKNOWN");
  EXPECT_NE(tags.error().message.find("no such repo"), std::string::npos);
}

// strata serve with its real token service. The binary is $STRATA_BIN, else
// the one built next to the tests; skipped when missing or without auth.
class RegistryClientStrataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = std::getenv("STRATA_BIN")
                  ? std::filesystem::path(std::getenv("STRATA_BIN"))
                  : std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "strata";
    if (::access(binary_.c_str(), X_OK) != 0) GTEST_SKIP() << binary_ << " is not built";
    data_ = dir_.path() / "data";
    auto port = free_port();
    url_ = "http://127.0.0.1:" + std::to_string(port);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{binary_.string(), "serve", "--listen", "127.0.0.1:" + std::to_string(port),
                                 "--data-dir", data_.string()},
        dir_.path() / "strata.log");
    ASSERT_TRUE(server_->wait_ready(url_ + "/healthz")) << "strata serve did not start";
    std::ifstream key_file(data_ / "operator.key");
    if (!std::getline(key_file, operator_key_)) GTEST_SKIP() << "this strata has no registry auth yet";
  }

  // `strata token registry` for exactly these grants.
  std::string mint_token(const std::vector<std::string>& access) {
    std::string command = binary_.string() + " token registry --ttl 10m --data-dir " + data_.string();
    for (const auto& grant : access) command += " --access " + grant;
    std::string token;
    if (FILE* out = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      while (auto n = std::fread(buffer, 1, sizeof buffer, out)) token.append(buffer, n);
      ::pclose(out);
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    return token;
  }

  RegistryClient client(Credentials credentials) {
    return RegistryClient({url_, false, std::move(credentials)});
  }

  TempDir dir_;
  std::filesystem::path binary_;
  std::filesystem::path data_;
  std::string url_;
  std::unique_ptr<ServerProcess> server_;
  std::string operator_key_;
};

TEST_F(RegistryClientStrataTest, OperatorKeyGoesThroughTokenFlowForPushMountAndResolve) {
  auto registry = client(Credentials::basic("operator", operator_key_));
  Blob config = config_for(host_platform().architecture);
  Blob layer("base layer");
  for (const Blob* blob : {&config, &layer}) {
    auto pushed = registry.push_blob("base/busybox", blob->digest, blob->bytes.size(), source_of(blob->bytes));
    ASSERT_TRUE(pushed) << pushed.error().message;
  }
  auto digest = registry.push_manifest("base/busybox", tag("1"), mt::kOciManifest, image_manifest(config, {&layer}));
  ASSERT_TRUE(digest) << digest.error().message;

  auto mounted = registry.mount_blob("builds/b1", layer.digest, "base/busybox");
  ASSERT_TRUE(mounted) << mounted.error().message;
  EXPECT_TRUE(*mounted);

  auto image = registry.resolve("base/busybox", tag("1"));
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->digest, *digest);
}

TEST_F(RegistryClientStrataTest, BuildTokenReachesOnlyItsRepositories) {
  auto token = mint_token({"repository:cache/acme:pull,push"});
  ASSERT_FALSE(token.empty());
  auto build = client(Credentials::bearer(token));
  Blob layer("tenant layer");
  auto own = build.push_blob("cache/acme", layer.digest, layer.bytes.size(), source_of(layer.bytes));
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_TRUE(*build.blob_exists("cache/acme", layer.digest));

  auto global = build.push_blob("cache/global/node", layer.digest, layer.bytes.size(), source_of(layer.bytes));
  ASSERT_FALSE(global);
  EXPECT_EQ(global.error().code, "DENIED") << global.error().message;
  EXPECT_NE(global.error().message.find("HTTP 401"), std::string::npos);
}

TEST_F(RegistryClientStrataTest, AnonymousClientIsRefusedAfterTheTokenFlow) {
  auto anonymous = client(Credentials::anonymous());
  auto tags = anonymous.list_tags("cache/acme");
  ASSERT_FALSE(tags);
  EXPECT_EQ(tags.error().code, "DENIED") << tags.error().message;
}

TEST(AuthChallenge, ParsesBearerParametersAndSeveralChallenges) {
  auto challenges = parse_auth_challenges(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/busybox:pull,push",error="insufficient_scope", Basic realm="x \"y\"")");
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(challenges[0].params.at("service"), "registry.docker.io");
  EXPECT_EQ(challenges[0].params.at("scope"), "repository:library/busybox:pull,push");
  EXPECT_EQ(challenges[0].params.at("error"), "insufficient_scope");
  EXPECT_EQ(challenges[1].scheme, "basic");
  EXPECT_EQ(challenges[1].params.at("realm"), "x \"y\"");
}

TEST(AuthChallenge, UnquotedValuesAndCaseAreNormalised) {
  auto challenges = parse_auth_challenges("BEARER Realm=http://h/token, Service=s");
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_EQ(challenges[0].scheme, "bearer");
  EXPECT_EQ(challenges[0].params.at("realm"), "http://h/token");
  EXPECT_EQ(challenges[0].params.at("service"), "s");
}

TEST(Platform, AliasesAndDefaultVariantsMatch) {
  std::vector<oci::Descriptor> entries;
  for (auto [arch, variant] : std::vector<std::pair<std::string, std::string>>{
           {"amd64", ""}, {"arm64", "v8"}, {"arm", "v7"}, {"arm", "v6"}}) {
    oci::Descriptor d{std::string(mt::kOciManifest), Blob(arch + variant).digest, 1, {}, {}, {}};
    d.platform = oci::Platform{"linux", arch, variant};
    entries.push_back(d);
  }
  EXPECT_EQ(select_platform(entries, {"linux", "x86_64", ""})->platform->architecture, "amd64");
  EXPECT_EQ(select_platform(entries, {"linux", "aarch64", ""})->platform->architecture, "arm64");
  EXPECT_EQ(select_platform(entries, {"linux", "arm", ""})->platform->variant, "v7");
  EXPECT_EQ(select_platform(entries, {"linux", "arm", "v6"})->platform->variant, "v6");
  EXPECT_FALSE(select_platform(entries, {"windows", "amd64", ""}));
}

}  // namespace
}  // namespace strata::engine::remote
