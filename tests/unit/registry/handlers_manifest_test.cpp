// Manifest, tags, catalog and referrers handlers, called directly on a
// Registry over a temporary data directory (no HTTP server).
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/message.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/blob_store.h"
#include "registry/handlers.h"
#include "registry/metadata_store.h"
#include "registry/registry.h"
#include "support/temp_dir.h"

namespace strata::registry {
namespace {

using nlohmann::json;
using oci::Digest;
using oci::DigestAlgorithm;
namespace media_type = oci::media_type;

// An in-memory request body, with or without a declared Content-Length.
class StringBody : public http::BodyReader {
 public:
  explicit StringBody(std::string data, bool declare_length = true)
      : data_(std::move(data)), declare_length_(declare_length) {}
  Result<std::size_t> read(char* buffer, std::size_t size) override {
    std::size_t n = std::min(size, data_.size() - offset_);
    data_.copy(buffer, n, offset_);
    offset_ += n;
    return n;
  }
  std::optional<std::uint64_t> content_length() const override {
    if (!declare_length_) return std::nullopt;
    return data_.size();
  }

 private:
  std::string data_;
  std::size_t offset_ = 0;
  bool declare_length_;
};

using Params = std::map<std::string, std::string>;
using Query = std::multimap<std::string, std::string>;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

std::string body_of(const http::Response& response) {
  if (auto* text = std::get_if<std::string>(&response.body)) return *text;
  auto& file = std::get<http::FileBody>(response.body);
  std::string out(file.length, '\0');
  auto n = ::pread(*file.fd, out.data(), out.size(), static_cast<off_t>(file.offset));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::string header(const http::Response& response, std::string_view name) {
  return std::string(response.headers.get(name).value_or(""));
}

std::string error_code(const http::Response& response) {
  return json::parse(body_of(response))["errors"][0]["code"];
}

struct Blob {
  std::string content;
  Digest digest;
};

Blob blob(std::string content) {
  auto digest = Digest::of(DigestAlgorithm::sha256, content);
  return {std::move(content), digest};
}

json descriptor(std::string_view type, const Blob& b) {
  return {{"mediaType", type}, {"digest", b.digest.str()}, {"size", b.content.size()}};
}

class ManifestHandlersTest : public ::testing::Test {
 protected:
  strata::testing::TempDir dir;
  std::unique_ptr<Registry> registry = Registry::open(dir.path()).value();

  http::Response call(http::Response (*handler)(Registry&, http::Request&), std::string method,
                      Params params, Query query = {}, const HeaderList& headers = {},
                      std::string body_bytes = {}, bool declare_length = true) {
    StringBody body(std::move(body_bytes), declare_length);
    http::Request request;
    request.method = std::move(method);
    request.params = std::move(params);
    request.query = std::move(query);
    for (auto& [k, v] : headers) request.headers.add(k, v);
    request.body = &body;
    return handler(*registry, request);
  }

  // Stores a blob and links it to `repo`, as a finished upload would.
  Blob push_blob(const std::string& repo, std::string content) {
    auto b = blob(std::move(content));
    EXPECT_TRUE(registry->blobs().put(b.content, b.digest));
    EXPECT_TRUE(registry->metadata().link_blob(repo, b.digest));
    return b;
  }

  // An OCI image manifest whose config and one layer are pushed to `repo`
  // (unless `push` is false); `seed` makes it distinct.
  json image(const std::string& repo, const std::string& seed, bool push = true) {
    auto config = blob("{\"config\":\"" + seed + "\"}");
    auto layer = blob("layer of " + seed);
    if (push) {
      push_blob(repo, config.content);
      push_blob(repo, layer.content);
    }
    return {{"schemaVersion", 2},
            {"mediaType", media_type::kOciManifest},
            {"config", descriptor(media_type::kOciConfig, config)},
            {"layers", json::array({descriptor(media_type::kOciLayerTarGzip, layer)})}};
  }

  http::Response put(const std::string& repo, const std::string& reference, std::string bytes,
                     std::string_view content_type = media_type::kOciManifest,
                     bool declare_length = true) {
    return call(put_manifest, "PUT", {{"name", repo}, {"reference", reference}}, {},
                {{"Content-Type", std::string(content_type)}}, std::move(bytes), declare_length);
  }

  // PUTs and returns the manifest's digest.
  std::string push(const std::string& repo, const std::string& reference, const json& manifest) {
    auto response = put(repo, reference, manifest.dump(), manifest["mediaType"].get<std::string>());
    EXPECT_EQ(response.status, 201) << body_of(response);
    return header(response, "Docker-Content-Digest");
  }

  http::Response get(const std::string& repo, const std::string& reference,
                     std::vector<std::string> accept = {}, std::string method = "GET") {
    HeaderList headers;
    for (auto& a : accept) headers.emplace_back("Accept", a);
    return call(get_manifest, std::move(method), {{"name", repo}, {"reference", reference}}, {},
                headers);
  }

  http::Response del(const std::string& repo, const std::string& reference) {
    return call(delete_manifest, "DELETE", {{"name", repo}, {"reference", reference}});
  }

  http::Response tags(const std::string& repo, Query query = {}) {
    return call(list_tags, "GET", {{"name", repo}}, std::move(query));
  }

  http::Response catalog(Query query = {}) { return call(get_catalog, "GET", {}, std::move(query)); }

  http::Response referrers(const std::string& repo, const std::string& subject, Query query = {}) {
    return call(get_referrers, "GET", {{"name", repo}, {"digest", subject}}, std::move(query));
  }
};

// ---- GET / HEAD / PUT ----

TEST_F(ManifestHandlersTest, PutByTagIsServedByTagAndDigest) {
  auto manifest = image("app/web", "a").dump();
  auto digest = Digest::of(DigestAlgorithm::sha256, manifest).str();

  auto put_response = put("app/web", "v1", manifest);
  EXPECT_EQ(put_response.status, 201) << body_of(put_response);
  EXPECT_EQ(header(put_response, "Location"), "/v2/app/web/manifests/" + digest);
  EXPECT_EQ(header(put_response, "Docker-Content-Digest"), digest);
  EXPECT_FALSE(put_response.headers.has("OCI-Subject"));

  for (const auto& reference : {std::string("v1"), digest}) {
    auto response = get("app/web", reference, {std::string(media_type::kOciManifest)});
    EXPECT_EQ(response.status, 200) << reference;
    EXPECT_EQ(body_of(response), manifest);
    EXPECT_EQ(header(response, "Content-Type"), media_type::kOciManifest);
    EXPECT_EQ(header(response, "Docker-Content-Digest"), digest);
  }
}

TEST_F(ManifestHandlersTest, HeadAnswersLengthTypeAndDigestWithoutBody) {
  auto manifest = image("app/web", "a").dump();
  auto digest = push("app/web", "v1", json::parse(manifest));
  auto response = get("app/web", "v1", {}, "HEAD");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Length"), std::to_string(manifest.size()));
  EXPECT_EQ(header(response, "Content-Type"), media_type::kOciManifest);
  EXPECT_EQ(header(response, "Docker-Content-Digest"), digest);
  EXPECT_EQ(body_of(response), "");
}

TEST_F(ManifestHandlersTest, UnknownTagAndDigestAreManifestUnknown) {
  push("app/web", "v1", image("app/web", "a"));
  auto by_tag = get("app/web", "nope");
  EXPECT_EQ(by_tag.status, 404);
  EXPECT_EQ(error_code(by_tag), "MANIFEST_UNKNOWN");
  auto by_digest = get("app/web", blob("other").digest.str());
  EXPECT_EQ(by_digest.status, 404);
  EXPECT_EQ(error_code(by_digest), "MANIFEST_UNKNOWN");
}

TEST_F(ManifestHandlersTest, AcceptListingStoredTypeAmongOthersServesIt) {
  push("app/web", "v1", image("app/web", "a"));
  // Several headers, comma lists, parameters and q-values.
  auto response = get("app/web", "v1",
                      {std::string(media_type::kDockerManifest) + ";q=0.9, " +
                           std::string(media_type::kOciIndex),
                       " " + std::string(media_type::kOciManifest) + " ;q=0.5"});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Type"), media_type::kOciManifest);
}

TEST_F(ManifestHandlersTest, WildcardOrMissingAcceptServesStoredManifest) {
  push("app/web", "v1", image("app/web", "a"));
  for (auto accept : std::vector<std::vector<std::string>>{{}, {"*/*"}, {"application/*"}, {""}}) {
    auto response = get("app/web", "v1", accept);
    EXPECT_EQ(response.status, 200) << (accept.empty() ? "(none)" : accept[0]);
    EXPECT_EQ(header(response, "Content-Type"), media_type::kOciManifest);
  }
}

TEST_F(ManifestHandlersTest, TagWhoseTypeIsNotAcceptedIsManifestUnknownNamingTheType) {
  push("app/web", "v1", image("app/web", "a"));
  auto response = get("app/web", "v1",
                      {std::string(media_type::kDockerManifest), "text/html, application/json"});
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(error_code(response), "MANIFEST_UNKNOWN");
  EXPECT_NE(body_of(response).find(media_type::kOciManifest), std::string::npos);
}

TEST_F(ManifestHandlersTest, DigestIsServedWhateverTheAccept) {
  auto digest = push("app/web", "v1", image("app/web", "a"));
  auto response = get("app/web", digest, {std::string(media_type::kDockerManifest)});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Type"), media_type::kOciManifest);
}

TEST_F(ManifestHandlersTest, ManifestWithMissingLayerIsManifestBlobUnknownAndNotStored) {
  auto manifest = image("app/web", "a", /*push=*/false);
  auto config = blob("{\"config\":\"a\"}");
  push_blob("app/web", config.content);  // the layer stays missing
  auto layer_digest = manifest["layers"][0]["digest"].get<std::string>();

  auto response = put("app/web", "v1", manifest.dump());
  EXPECT_EQ(response.status, 400);
  auto error = json::parse(body_of(response))["errors"][0];
  EXPECT_EQ(error["code"], "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(error["detail"], layer_digest);
  EXPECT_EQ(get("app/web", "v1").status, 404);
}

TEST_F(ManifestHandlersTest, BlobsOfAnotherRepositoryDoNotSatisfyAManifest) {
  auto manifest = image("owner/repo", "a");
  auto response = put("thief/repo", "v1", manifest.dump());
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(error_code(response), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(ManifestHandlersTest, IndexWithMissingChildIsManifestBlobUnknown) {
  auto present = image("app/multi", "amd64");
  auto present_bytes = present.dump();
  push("app/multi", Digest::of(DigestAlgorithm::sha256, present_bytes).str(), present);
  auto absent_bytes = image("app/multi", "arm64").dump();  // blobs pushed, manifest not
  json index = {{"schemaVersion", 2},
                {"mediaType", media_type::kOciIndex},
                {"manifests", json::array({descriptor(media_type::kOciManifest, blob(present_bytes)),
                                           descriptor(media_type::kOciManifest, blob(absent_bytes))})}};
  auto response = put("app/multi", "multi", index.dump(), media_type::kOciIndex);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(error_code(response), "MANIFEST_BLOB_UNKNOWN");

  push("app/multi", blob(absent_bytes).digest.str(), json::parse(absent_bytes));
  EXPECT_EQ(put("app/multi", "multi", index.dump(), media_type::kOciIndex).status, 201);
  auto served = get("app/multi", "multi", {std::string(media_type::kOciIndex)});
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(header(served, "Content-Type"), media_type::kOciIndex);
}

TEST_F(ManifestHandlersTest, PutByMismatchedDigestIsDigestInvalidAndNotStored) {
  auto manifest = image("app/web", "a").dump();
  auto wrong = blob("something else").digest.str();
  auto response = put("app/web", wrong, manifest);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(error_code(response), "DIGEST_INVALID");
  EXPECT_EQ(get("app/web", wrong).status, 404);
  EXPECT_EQ(get("app/web", Digest::of(DigestAlgorithm::sha256, manifest).str()).status, 404);
}

TEST_F(ManifestHandlersTest, PutBySha512DigestIsStoredUnderThatDigest) {
  auto manifest = image("app/web", "a").dump();
  auto digest = Digest::of(DigestAlgorithm::sha512, manifest).str();
  auto response = put("app/web", digest, manifest);
  EXPECT_EQ(response.status, 201) << body_of(response);
  EXPECT_EQ(header(response, "Docker-Content-Digest"), digest);
  auto served = get("app/web", digest);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(body_of(served), manifest);
}

TEST_F(ManifestHandlersTest, ManifestOverFourMebibytesIs413WhetherDeclaredOrStreamed) {
  auto manifest = image("app/web", "a");
  manifest["annotations"] = {{"padding", std::string(oci::kMaxManifestBytes, 'p')}};
  for (bool declared : {true, false}) {
    auto response = put("app/web", "v1", manifest.dump(), media_type::kOciManifest, declared);
    EXPECT_EQ(response.status, 413);
    EXPECT_EQ(error_code(response), "MANIFEST_INVALID");
    EXPECT_NE(body_of(response).find("4 MiB"), std::string::npos);
  }
  EXPECT_EQ(get("app/web", "v1").status, 404);
}

TEST_F(ManifestHandlersTest, GarbageIsManifestInvalid) {
  auto response = put("app/web", "v1", "not json");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(error_code(response), "MANIFEST_INVALID");
}

TEST_F(ManifestHandlersTest, ManifestWithSubjectAnswersOciSubject) {
  auto subject = push("app/web", "v1", image("app/web", "a"));
  auto sbom = image("app/web", "sbom");
  sbom["subject"] = {{"mediaType", media_type::kOciManifest},
                     {"digest", subject},
                     {"size", image("app/web", "a").dump().size()}};
  auto response = put("app/web", "sbom", sbom.dump());
  EXPECT_EQ(response.status, 201) << body_of(response);
  EXPECT_EQ(header(response, "OCI-Subject"), subject);
}

// ---- DELETE ----

TEST_F(ManifestHandlersTest, DeleteByTagRemovesOnlyThatTag) {
  auto manifest = image("app/web", "a");
  auto digest = push("app/web", "v1", manifest);
  push("app/web", "v2", manifest);
  EXPECT_EQ(del("app/web", "v1").status, 202);
  EXPECT_EQ(get("app/web", "v1").status, 404);
  EXPECT_EQ(get("app/web", "v2").status, 200);
  EXPECT_EQ(get("app/web", digest).status, 200);
}

TEST_F(ManifestHandlersTest, DeleteByDigestRemovesManifestAndItsTags) {
  auto manifest = image("app/web", "a");
  auto digest = push("app/web", "v1", manifest);
  push("app/web", "v2", manifest);
  EXPECT_EQ(del("app/web", digest).status, 202);
  EXPECT_EQ(get("app/web", digest).status, 404);
  EXPECT_EQ(get("app/web", "v1").status, 404);
  EXPECT_EQ(get("app/web", "v2").status, 404);
  auto again = del("app/web", digest);
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(error_code(again), "MANIFEST_UNKNOWN");
  EXPECT_EQ(del("app/web", "v1").status, 404);
}

// ---- tags/list ----

TEST_F(ManifestHandlersTest, TagsAreListedInOrderAndPagedWithLink) {
  auto manifest = image("app/web", "a");
  for (auto tag : {"t3", "t1", "t0", "t4", "t2"}) push("app/web", tag, manifest);

  auto all = tags("app/web");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(json::parse(body_of(all)),
            json({{"name", "app/web"}, {"tags", {"t0", "t1", "t2", "t3", "t4"}}}));
  EXPECT_FALSE(all.headers.has("Link"));

  auto first = tags("app/web", {{"n", "2"}});
  EXPECT_EQ(json::parse(body_of(first))["tags"], json({"t0", "t1"}));
  EXPECT_EQ(header(first, "Link"), "</v2/app/web/tags/list?n=2&last=t1>; rel=\"next\"");

  auto last_page = tags("app/web", {{"n", "2"}, {"last", "t3"}});
  EXPECT_EQ(json::parse(body_of(last_page))["tags"], json({"t4"}));
  EXPECT_FALSE(last_page.headers.has("Link"));

  auto exact = tags("app/web", {{"n", "5"}});
  EXPECT_EQ(json::parse(body_of(exact))["tags"].size(), 5u);
  EXPECT_FALSE(exact.headers.has("Link"));

  auto after = tags("app/web", {{"last", "t2"}});
  EXPECT_EQ(json::parse(body_of(after))["tags"], json({"t3", "t4"}));
}

TEST_F(ManifestHandlersTest, ZeroTagsRequestedIsAnEmptyListWithoutLink) {
  push("app/web", "v1", image("app/web", "a"));
  auto response = tags("app/web", {{"n", "0"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(body_of(response))["tags"], json::array());
  EXPECT_FALSE(response.headers.has("Link"));
}

TEST_F(ManifestHandlersTest, MalformedPageSizeIsPaginationNumberInvalid) {
  push("app/web", "v1", image("app/web", "a"));
  for (auto n : {"-1", "abc", "", "2x", "+3"}) {
    auto response = tags("app/web", {{"n", n}});
    EXPECT_EQ(response.status, 400) << n;
    EXPECT_EQ(error_code(response), "PAGINATION_NUMBER_INVALID") << n;
  }
  EXPECT_EQ(tags("app/web", {{"n", "99999999999999999999999"}}).status, 200);
}

TEST_F(ManifestHandlersTest, TagsOfUnknownRepositoryIsNameUnknown) {
  auto response = tags("never/pushed");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(error_code(response), "NAME_UNKNOWN");
}

// ---- _catalog ----

class CatalogTest : public ManifestHandlersTest {
 protected:
  void SetUp() override {
    for (auto repo : {"a", "b", "c/x", "d", "e"}) push_blob(repo, std::string("in ") + repo);
  }
  std::vector<std::string> names(const http::Response& response) {
    return json::parse(body_of(response))["repositories"];
  }
};

TEST_F(CatalogTest, ListsEveryRepositoryAndPagesWithEscapedLast) {
  EXPECT_EQ(names(catalog()), (std::vector<std::string>{"a", "b", "c/x", "d", "e"}));

  auto first = catalog({{"n", "3"}});
  EXPECT_EQ(names(first), (std::vector<std::string>{"a", "b", "c/x"}));
  EXPECT_EQ(header(first, "Link"), "</v2/_catalog?n=3&last=c%2Fx>; rel=\"next\"");

  auto second = catalog({{"n", "3"}, {"last", "c/x"}});
  EXPECT_EQ(names(second), (std::vector<std::string>{"d", "e"}));
  EXPECT_FALSE(second.headers.has("Link"));

  auto none = catalog({{"n", "0"}});
  EXPECT_TRUE(names(none).empty());
  EXPECT_FALSE(none.headers.has("Link"));
}

TEST_F(CatalogTest, PullFilterHidesRepositoriesAndPagesOverWhatIsVisible) {
  registry->set_pull_filter(
      [](const http::Request&, const std::string& repo) { return repo != "b" && repo != "d"; });
  EXPECT_EQ(names(catalog()), (std::vector<std::string>{"a", "c/x", "e"}));

  auto first = catalog({{"n", "2"}});
  EXPECT_EQ(names(first), (std::vector<std::string>{"a", "c/x"}));
  EXPECT_EQ(header(first, "Link"), "</v2/_catalog?n=2&last=c%2Fx>; rel=\"next\"");

  auto second = catalog({{"n", "2"}, {"last", "c/x"}});
  EXPECT_EQ(names(second), (std::vector<std::string>{"e"}));
  EXPECT_FALSE(second.headers.has("Link"));

  // The hidden "d" after "c/x" must not earn a Link to an empty page.
  registry->set_pull_filter([](const http::Request&, const std::string& repo) { return repo < "d"; });
  auto tail = catalog({{"n", "3"}});
  EXPECT_EQ(names(tail), (std::vector<std::string>{"a", "b", "c/x"}));
  EXPECT_FALSE(tail.headers.has("Link"));
}

// ---- referrers ----

class ReferrersTest : public ManifestHandlersTest {
 protected:
  static constexpr std::string_view kSbom = "application/spdx+json";
  static constexpr std::string_view kSig = "application/vnd.dev.cosign.artifact.sig.v1+json";
  std::string subject, sbom, sig;

  void SetUp() override {
    auto subject_manifest = image("app/web", "subject");
    subject = push("app/web", "v1", subject_manifest);
    json subject_descriptor = {{"mediaType", media_type::kOciManifest},
                               {"digest", subject},
                               {"size", subject_manifest.dump().size()}};
    auto sbom_manifest = image("app/web", "sbom");
    sbom_manifest["artifactType"] = kSbom;
    sbom_manifest["subject"] = subject_descriptor;
    sbom_manifest["annotations"] = {{"org.example.kind", "sbom"}};
    sbom = push("app/web", "sbom", sbom_manifest);
    auto sig_manifest = image("app/web", "sig");
    sig_manifest["artifactType"] = kSig;
    sig_manifest["subject"] = subject_descriptor;
    sig = push("app/web", "sig", sig_manifest);
  }

  // The response's index, checked for shape; descriptors keyed by digest.
  std::map<std::string, json> listed(const http::Response& response) {
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(header(response, "Content-Type"), media_type::kOciIndex);
    auto index = json::parse(body_of(response));
    EXPECT_EQ(index["schemaVersion"], 2);
    EXPECT_EQ(index["mediaType"], media_type::kOciIndex);
    std::map<std::string, json> out;
    for (auto& d : index["manifests"]) out[d["digest"]] = d;
    return out;
  }
};

TEST_F(ReferrersTest, ListsEveryReferrerWithTypeSizeAndAnnotations) {
  auto response = referrers("app/web", subject);
  auto found = listed(response);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[sbom]["artifactType"], kSbom);
  EXPECT_EQ(found[sbom]["mediaType"], media_type::kOciManifest);
  EXPECT_EQ(found[sbom]["size"].get<std::size_t>(), body_of(get("app/web", sbom)).size());
  EXPECT_EQ(found[sbom]["annotations"], json({{"org.example.kind", "sbom"}}));
  EXPECT_EQ(found[sig]["artifactType"], kSig);
  EXPECT_FALSE(found[sig].contains("annotations"));
  EXPECT_FALSE(response.headers.has("OCI-Filters-Applied"));
}

TEST_F(ReferrersTest, ArtifactTypeFilterIsAppliedAndAnnounced) {
  auto response = referrers("app/web", subject, {{"artifactType", std::string(kSbom)}});
  auto found = listed(response);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found.contains(sbom));
  EXPECT_EQ(header(response, "OCI-Filters-Applied"), "artifactType");
}

TEST_F(ReferrersTest, UnknownSubjectOrRepositoryIsAnEmptyIndex) {
  EXPECT_TRUE(listed(referrers("app/web", blob("nothing").digest.str())).empty());
  EXPECT_TRUE(listed(referrers("never/pushed", subject)).empty());
}

TEST_F(ReferrersTest, DeletedReferrerIsNoLongerListed) {
  EXPECT_EQ(del("app/web", sig).status, 202);
  auto found = listed(referrers("app/web", subject));
  EXPECT_EQ(found.size(), 1u);
  EXPECT_TRUE(found.contains(sbom));
}

}  // namespace
}  // namespace strata::registry
