#include "registry/gc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "registry/upload_store.h"
#include "support/temp_dir.h"

namespace strata::registry {
namespace {

using oci::Digest;
using oci::DigestAlgorithm;
using strata::testing::TempDir;

class GcTest : public ::testing::Test {
 protected:
  TempDir dir;
  BlobStore blobs = BlobStore::open(dir.path()).value();
  std::unique_ptr<MetadataStore> metadata = MetadataStore::open(dir.path()).value();

  // Stores `content` as a blob linked to `repo`, as a finished push does.
  Digest push_blob(std::string_view repo, std::string_view content) {
    Digest d = Digest::of(DigestAlgorithm::sha256, content);
    EXPECT_TRUE(blobs.put(content, d));
    EXPECT_TRUE(metadata->link_blob(repo, d));
    return d;
  }

  // Pushes config + layer + manifest; returns the manifest record.
  ManifestRecord push_image(std::string_view repo, std::string_view name) {
    Digest config = push_blob(repo, std::string(name) + " config");
    Digest layer = push_blob(repo, std::string(name) + " layer");
    std::string body = std::string(name) + " manifest";
    Digest digest = Digest::of(DigestAlgorithm::sha256, body);
    EXPECT_TRUE(blobs.put(body, digest));
    ManifestRecord m{digest, "application/vnd.oci.image.manifest.v1+json", body.size(), "",
                     std::nullopt, "", {config, layer}, {}};
    EXPECT_TRUE(metadata->put_manifest(repo, m, "latest"));
    return m;
  }

  static GcOptions later(bool dry_run) {
    GcOptions options;
    options.dry_run = dry_run;
    options.now = Clock::now() + std::chrono::hours(2);  // everything is past the grace period
    return options;
  }

  static bool reported(const GcReport& report, const Digest& d) {
    return std::ranges::any_of(report.blobs, [&](const BlobInfo& b) { return b.digest == d; });
  }
};

TEST_F(GcTest, KeepsEverythingAManifestNeedsAndRemovesUnreferencedOldBlobs) {
  ManifestRecord image = push_image("app", "v1");
  std::string orphan_content = "layer of a push that never got a manifest";
  Digest orphan = push_blob("app", orphan_content);

  auto report = collect(dir.path(), later(false));
  ASSERT_TRUE(report) << report.error().message;

  EXPECT_EQ(report->blobs.size(), 1u);
  EXPECT_TRUE(reported(*report, orphan));
  EXPECT_EQ(report->bytes_freed, orphan_content.size());
  EXPECT_EQ(blobs.stat(orphan).error().code, "BLOB_UNKNOWN");
  EXPECT_FALSE(metadata->is_blob_linked("app", orphan).value());
  for (const Digest& kept : {image.digest, image.blobs[0], image.blobs[1]}) {
    EXPECT_TRUE(blobs.stat(kept)) << kept.str();
    EXPECT_TRUE(metadata->is_blob_linked("app", kept).value());
  }
  EXPECT_EQ(report->blobs_kept, 3u);
}

TEST_F(GcTest, DryRunReportsButDeletesNothing) {
  push_image("app", "v1");
  Digest orphan = push_blob("app", "unreferenced");
  auto uploads = UploadStore::open(dir.path(), blobs, *metadata).value();
  std::string uuid = uploads->create("app").value();

  GcOptions options = later(true);
  options.upload_max_age = std::chrono::hours(1);
  auto report = collect(dir.path(), options);
  ASSERT_TRUE(report) << report.error().message;

  EXPECT_TRUE(report->dry_run);
  EXPECT_TRUE(reported(*report, orphan));
  EXPECT_EQ(report->uploads, std::vector<std::string>{uuid});
  EXPECT_GT(report->bytes_freed, 0u);
  EXPECT_TRUE(blobs.stat(orphan));
  EXPECT_TRUE(metadata->is_blob_linked("app", orphan).value());
  EXPECT_TRUE(uploads->status(uuid, "app"));
}

TEST_F(GcTest, BlobsYoungerThanTheGracePeriodSurvive) {
  Digest fresh = push_blob("app", "pushed a moment ago, manifest still to come");
  auto report = collect(dir.path(), GcOptions{});
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->blobs.empty());
  EXPECT_TRUE(blobs.stat(fresh));
}

TEST_F(GcTest, DeletingAManifestLetsGcReclaimWhatOnlyItUsed) {
  ManifestRecord v1 = push_image("app", "v1");
  ManifestRecord v2 = push_image("app", "v2");
  ASSERT_TRUE(metadata->delete_manifest("app", v1.digest));

  auto report = collect(dir.path(), later(false));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->blobs.size(), 3u);
  for (const Digest& gone : {v1.digest, v1.blobs[0], v1.blobs[1]}) EXPECT_FALSE(blobs.stat(gone));
  for (const Digest& kept : {v2.digest, v2.blobs[0], v2.blobs[1]}) EXPECT_TRUE(blobs.stat(kept));
}

TEST_F(GcTest, IndexKeepsItsChildManifests) {
  ManifestRecord child = push_image("app", "amd64");
  ASSERT_TRUE(metadata->delete_tag("app", "latest"));
  std::string body = "index";
  ManifestRecord index{Digest::of(DigestAlgorithm::sha256, body),
                       "application/vnd.oci.image.index.v1+json", body.size(), "", std::nullopt,
                       "", {}, {child.digest}};
  ASSERT_TRUE(blobs.put(body, index.digest));
  ASSERT_TRUE(metadata->put_manifest("app", index, "multi"));

  auto report = collect(dir.path(), later(false));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->blobs.empty());
  EXPECT_TRUE(blobs.stat(child.digest));
}

TEST_F(GcTest, StaleUploadsAreDeleted) {
  auto uploads = UploadStore::open(dir.path(), blobs, *metadata).value();
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "half a layer"));

  GcOptions options;
  options.now = Clock::now() + std::chrono::hours(25);
  auto report = collect(dir.path(), options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->uploads, std::vector<std::string>{uuid});
  EXPECT_EQ(report->bytes_freed, 12u);
  EXPECT_EQ(uploads->status(uuid, "app").error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / uuid));
}

}  // namespace
TEST_F(GcTest, ExpiredBuildCacheEntriesGoWithTheBlobsOnlyTheyHeld) {
  ManifestRecord stale = push_image("cache/acme", "stale step");
  ManifestRecord used = push_image("cache/global/node", "used step");
  ManifestRecord app = push_image("app", "old image");
  Clock::time_point cutoff = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // A build that hit this entry re-tagged it after the cutoff.
  ASSERT_TRUE(metadata->put_manifest("cache/global/node", used, "latest"));

  GcOptions options;
  options.cache_max_age = std::chrono::hours(1);
  options.now = cutoff + std::chrono::hours(1);  // also past the grace period for everything pushed above
  auto report = collect(dir.path(), options);
  ASSERT_TRUE(report) << report.error().message;

  EXPECT_EQ(report->cache_entries, std::vector<std::string>{"cache/acme@" + stale.digest.str()});
  EXPECT_FALSE(metadata->manifest_exists("cache/acme", stale.digest).value());
  for (const Digest& gone : stale.blobs) EXPECT_EQ(blobs.stat(gone).error().code, "BLOB_UNKNOWN") << gone.str();
  EXPECT_TRUE(metadata->manifest_exists("cache/global/node", used.digest).value());
  EXPECT_TRUE(metadata->manifest_exists("app", app.digest).value());  // only cache/ entries expire
  for (const Digest& kept : {used.blobs[0], used.blobs[1], app.blobs[0], app.blobs[1]})
    EXPECT_TRUE(blobs.stat(kept)) << kept.str();
}

TEST_F(GcTest, WithoutACacheMaxAgeCacheEntriesStay) {
  ManifestRecord entry = push_image("cache/acme", "step");
  auto report = collect(dir.path(), later(false));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->cache_entries.empty());
  EXPECT_TRUE(metadata->manifest_exists("cache/acme", entry.digest).value());
}

}  // namespace strata::registry
