#include "registry/metadata_store.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace strata::registry {
namespace {

using oci::Digest;
using oci::DigestAlgorithm;
using strata::testing::TempDir;

Digest digest_of(std::string_view s) { return Digest::of(DigestAlgorithm::sha256, s); }

class MetadataStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::unique_ptr<MetadataStore> store = MetadataStore::open(dir.path()).value();

  // An image manifest in `repo` referencing freshly linked config and layer.
  ManifestRecord image(std::string_view repo, std::string_view name) {
    Digest config = digest_of(std::string(name) + "-config");
    Digest layer = digest_of(std::string(name) + "-layer");
    EXPECT_TRUE(store->link_blob(repo, config));
    EXPECT_TRUE(store->link_blob(repo, layer));
    return ManifestRecord{digest_of(name), "application/vnd.oci.image.manifest.v1+json", 500, "",
                          std::nullopt, "", {config, layer}, {}};
  }
};

TEST_F(MetadataStoreTest, LinkedBlobIsVisibleOnlyInItsRepository) {
  Digest blob = digest_of("layer");
  ASSERT_TRUE(store->link_blob("tenant-a/app", blob));
  EXPECT_TRUE(store->is_blob_linked("tenant-a/app", blob).value());
  EXPECT_FALSE(store->is_blob_linked("tenant-b/app", blob).value());
  EXPECT_TRUE(store->repository_exists("tenant-a/app").value());
}

TEST_F(MetadataStoreTest, UnlinkedBlobIsNoLongerVisible) {
  Digest blob = digest_of("layer");
  ASSERT_TRUE(store->link_blob("r", blob));
  EXPECT_TRUE(store->unlink_blob("r", blob).value());
  EXPECT_FALSE(store->is_blob_linked("r", blob).value());
  EXPECT_FALSE(store->unlink_blob("r", blob).value());
}

TEST_F(MetadataStoreTest, ReposWithBlobListsEveryLinkingRepository) {
  Digest blob = digest_of("shared");
  for (const char* repo : {"cache/tenant", "cache/global/node", "other"})
    ASSERT_TRUE(store->link_blob(repo, blob));
  ASSERT_TRUE(store->link_blob("unrelated", digest_of("x")));
  EXPECT_EQ(store->repos_with_blob(blob).value(),
            (std::vector<std::string>{"cache/global/node", "cache/tenant", "other"}));
}

TEST_F(MetadataStoreTest, ManifestIsFoundByTagAndByDigest) {
  ManifestRecord m = image("app", "v1");
  ASSERT_TRUE(store->put_manifest("app", m, "latest"));

  auto by_tag = store->get_tagged_manifest("app", "latest").value();
  EXPECT_EQ(by_tag.digest, m.digest);
  EXPECT_EQ(by_tag.media_type, m.media_type);
  EXPECT_EQ(by_tag.size, 500u);
  EXPECT_EQ(store->get_manifest("app", m.digest).value().digest, m.digest);
  EXPECT_TRUE(store->manifest_exists("app", m.digest).value());
  // The manifest's own bytes are a blob of the repository.
  EXPECT_TRUE(store->is_blob_linked("app", m.digest).value());
  EXPECT_EQ(store->get_manifest("other", m.digest).error().code, "MANIFEST_UNKNOWN");
  EXPECT_EQ(store->get_tagged_manifest("app", "nope").error().code, "MANIFEST_UNKNOWN");
}

TEST_F(MetadataStoreTest, ManifestReferencingUnlinkedBlobIsRejectedAndNotStored) {
  ManifestRecord m = image("app", "v1");
  Digest foreign = digest_of("someone else's layer");
  ASSERT_TRUE(store->link_blob("other", foreign));
  m.blobs.push_back(foreign);

  auto result = store->put_manifest("app", m, "latest");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(result.error().detail, foreign.str());
  EXPECT_FALSE(store->manifest_exists("app", m.digest).value());
  EXPECT_FALSE(store->get_tagged_manifest("app", "latest"));
}

TEST_F(MetadataStoreTest, IndexRequiresItsChildManifestsInTheRepository) {
  ManifestRecord child = image("app", "amd64");
  ManifestRecord index{digest_of("index"), "application/vnd.oci.image.index.v1+json", 300, "",
                       std::nullopt, "", {}, {child.digest}};
  EXPECT_EQ(store->put_manifest("app", index).error().code, "MANIFEST_BLOB_UNKNOWN");
  ASSERT_TRUE(store->put_manifest("app", child));
  EXPECT_TRUE(store->put_manifest("app", index, "multi"));
}

TEST_F(MetadataStoreTest, RetaggingMovesTheTag) {
  ManifestRecord v1 = image("app", "v1"), v2 = image("app", "v2");
  ASSERT_TRUE(store->put_manifest("app", v1, "latest"));
  ASSERT_TRUE(store->put_manifest("app", v2, "latest"));
  EXPECT_EQ(store->get_tagged_manifest("app", "latest").value().digest, v2.digest);
  EXPECT_TRUE(store->manifest_exists("app", v1.digest).value());
}

TEST_F(MetadataStoreTest, DeletingAManifestDeletesTheTagsPointingAtIt) {
  ManifestRecord v1 = image("app", "v1"), v2 = image("app", "v2");
  ASSERT_TRUE(store->put_manifest("app", v1, "a"));
  ASSERT_TRUE(store->put_manifest("app", v1, "b"));
  ASSERT_TRUE(store->put_manifest("app", v2, "c"));

  EXPECT_EQ(store->delete_manifest("app", v1.digest).value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(store->manifest_exists("app", v1.digest).value());
  EXPECT_FALSE(store->is_blob_linked("app", v1.digest).value());
  EXPECT_EQ(store->list_tags("app", std::nullopt).value().items, (std::vector<std::string>{"c"}));
  EXPECT_EQ(store->delete_manifest("app", v1.digest).error().code, "MANIFEST_UNKNOWN");
}

TEST_F(MetadataStoreTest, DeletingATagKeepsTheManifest) {
  ManifestRecord v1 = image("app", "v1");
  ASSERT_TRUE(store->put_manifest("app", v1, "latest"));
  ASSERT_TRUE(store->delete_tag("app", "latest"));
  EXPECT_FALSE(store->get_tagged_manifest("app", "latest"));
  EXPECT_TRUE(store->manifest_exists("app", v1.digest).value());
  EXPECT_EQ(store->delete_tag("app", "latest").error().code, "MANIFEST_UNKNOWN");
}

TEST_F(MetadataStoreTest, TagsArePagedInLexicalOrder) {
  ManifestRecord m = image("app", "v1");
  for (const char* tag : {"b", "a", "c", "B", "a1", "1.0"}) ASSERT_TRUE(store->put_manifest("app", m, tag));

  auto all = store->list_tags("app", std::nullopt).value();
  EXPECT_EQ(all.items, (std::vector<std::string>{"1.0", "B", "a", "a1", "b", "c"}));
  EXPECT_FALSE(all.more);

  auto first = store->list_tags("app", 2).value();
  EXPECT_EQ(first.items, (std::vector<std::string>{"1.0", "B"}));
  EXPECT_TRUE(first.more);
  auto second = store->list_tags("app", 2, "B").value();
  EXPECT_EQ(second.items, (std::vector<std::string>{"a", "a1"}));
  EXPECT_TRUE(second.more);
  auto last = store->list_tags("app", 2, "a1").value();
  EXPECT_EQ(last.items, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(last.more);
}

TEST_F(MetadataStoreTest, TagsOfUnknownRepositoryIsNameUnknown) {
  EXPECT_EQ(store->list_tags("ghost", std::nullopt).error().code, "NAME_UNKNOWN");
  ASSERT_TRUE(store->link_blob("empty", digest_of("x")));
  EXPECT_TRUE(store->list_tags("empty", std::nullopt).value().items.empty());
}

TEST_F(MetadataStoreTest, CatalogIsPagedInLexicalOrder) {
  for (const char* repo : {"b/x", "a", "cache/global/node", "a/b/c/d"})
    ASSERT_TRUE(store->link_blob(repo, digest_of("x")));
  EXPECT_EQ(store->catalog(std::nullopt).value().items,
            (std::vector<std::string>{"a", "a/b/c/d", "b/x", "cache/global/node"}));
  auto first = store->catalog(3).value();
  EXPECT_EQ(first.items, (std::vector<std::string>{"a", "a/b/c/d", "b/x"}));
  EXPECT_TRUE(first.more);
  auto rest = store->catalog(3, "b/x").value();
  EXPECT_EQ(rest.items, (std::vector<std::string>{"cache/global/node"}));
  EXPECT_FALSE(rest.more);
}

TEST_F(MetadataStoreTest, ReferrersAreFilteredByArtifactType) {
  ManifestRecord subject = image("app", "v1");
  ASSERT_TRUE(store->put_manifest("app", subject, "v1"));
  auto referrer = [&](std::string_view name, std::string artifact_type) {
    ManifestRecord r = image("app", name);
    r.subject = subject.digest;
    r.artifact_type = std::move(artifact_type);
    r.annotations_json = R"({"org.example.name":")" + std::string(name) + "\"}";
    EXPECT_TRUE(store->put_manifest("app", r));
    return r;
  };
  ManifestRecord sig = referrer("sig", "application/vnd.example.signature");
  ManifestRecord sbom = referrer("sbom", "application/spdx+json");
  ManifestRecord elsewhere = image("other", "sig-elsewhere");
  elsewhere.subject = subject.digest;
  ASSERT_TRUE(store->put_manifest("other", elsewhere));

  auto all = store->referrers("app", subject.digest).value();
  ASSERT_EQ(all.size(), 2u);
  auto only_sboms = store->referrers("app", subject.digest, "application/spdx+json").value();
  ASSERT_EQ(only_sboms.size(), 1u);
  EXPECT_EQ(only_sboms[0].digest, sbom.digest);
  EXPECT_EQ(only_sboms[0].artifact_type, "application/spdx+json");
  EXPECT_EQ(only_sboms[0].annotations_json, R"({"org.example.name":"sbom"})");
  EXPECT_EQ(only_sboms[0].size, 500u);
  EXPECT_TRUE(store->referrers("app", subject.digest, "text/plain").value().empty());
  EXPECT_EQ(store->get_manifest("app", sig.digest).value().subject, subject.digest);
}

TEST_F(MetadataStoreTest, UploadRowsRoundTripAndCompleteLinksTheBlob) {
  auto created = Clock::now();
  ASSERT_TRUE(store->add_upload({"u1", "app", created}));
  auto found = store->find_upload("u1").value();
  EXPECT_EQ(found.repo, "app");
  EXPECT_EQ(store->uploads_created_before(created + std::chrono::seconds(1)).value().size(), 1u);
  EXPECT_TRUE(store->uploads_created_before(created - std::chrono::seconds(1)).value().empty());

  ASSERT_TRUE(store->complete_upload("u1", digest_of("blob")));
  EXPECT_EQ(store->find_upload("u1").error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_TRUE(store->is_blob_linked("app", digest_of("blob")).value());
  EXPECT_EQ(store->complete_upload("u1", digest_of("blob")).error().code, "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(MetadataStoreTest, DataSurvivesReopening) {
  ManifestRecord m = image("app", "v1");
  ASSERT_TRUE(store->put_manifest("app", m, "latest"));
  store.reset();
  store = MetadataStore::open(dir.path()).value();
  EXPECT_EQ(store->get_tagged_manifest("app", "latest").value().digest, m.digest);
}

TEST_F(MetadataStoreTest, BlobNeededByAManifestIsNotReleased) {
  ManifestRecord m = image("app", "v1");
  ASSERT_TRUE(store->put_manifest("app", m));
  Digest orphan = digest_of("orphan");
  ASSERT_TRUE(store->link_blob("app", orphan));
  auto later = Clock::now() + std::chrono::hours(1);

  EXPECT_FALSE(store->release_blob(m.blobs[0], later).value());
  EXPECT_FALSE(store->release_blob(orphan, Clock::now() - std::chrono::hours(1)).value());
  EXPECT_TRUE(store->release_blob(orphan, later).value());
  EXPECT_FALSE(store->is_blob_linked("app", orphan).value());
}

TEST_F(MetadataStoreTest, ManyThreadsReadAndWriteConcurrently) {
  constexpr int kThreads = 16, kOps = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string repo = "repo" + std::to_string(t % 4);
      for (int i = 0; i < kOps; ++i) {
        Digest d = digest_of(std::to_string(t) + "-" + std::to_string(i));
        if (!store->link_blob(repo, d)) ++failures;
        auto linked = store->is_blob_linked(repo, d);
        if (!linked || !*linked) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->catalog(std::nullopt).value().items.size(), 4u);
}

}  // namespace
}  // namespace strata::registry
