#include "registry/upload_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace strata::registry {
namespace {

using oci::Digest;
using oci::DigestAlgorithm;
using strata::testing::count_files;
using strata::testing::TempDir;

Digest sha256(std::string_view s) { return Digest::of(DigestAlgorithm::sha256, s); }

class UploadStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::optional<BlobStore> blobs;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<UploadStore> uploads;

  UploadStoreTest() { start(); }

  // Builds the stores from disk, as a server (re)start does.
  void start() {
    uploads.reset();
    metadata.reset();
    blobs = BlobStore::open(dir.path()).value();
    metadata = MetadataStore::open(dir.path()).value();
    uploads = UploadStore::open(dir.path(), *blobs, *metadata).value();
  }
};

TEST_F(UploadStoreTest, ChunkedUploadBecomesABlobLinkedToItsRepository) {
  std::string uuid = uploads->create("app").value();
  EXPECT_EQ(uploads->append(uuid, "app", 0, "hello, ").value(), 7u);
  EXPECT_EQ(uploads->append(uuid, "app", 7, "world").value(), 12u);
  EXPECT_EQ(uploads->status(uuid, "app").value().offset, 12u);

  Digest digest = sha256("hello, world");
  auto blob = uploads->finish(uuid, "app", digest);
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(blob->size, 12u);
  EXPECT_EQ(blobs->read(digest, 100).value(), "hello, world");
  EXPECT_TRUE(metadata->is_blob_linked("app", digest).value());
  EXPECT_EQ(uploads->status(uuid, "app").error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(count_files(dir.path() / "uploads"), 0u);
}

TEST_F(UploadStoreTest, ChunkAtTheWrongOffsetIsRangeInvalid) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "abc"));
  EXPECT_EQ(uploads->append(uuid, "app", 5, "def").error().code, "RANGE_INVALID");
  EXPECT_EQ(uploads->append(uuid, "app", 0, "def").error().code, "RANGE_INVALID");
  EXPECT_EQ(uploads->status(uuid, "app").value().offset, 3u);
  EXPECT_EQ(uploads->append(uuid, "app", 3, "def").value(), 6u);
  EXPECT_TRUE(uploads->finish(uuid, "app", sha256("abcdef")));
}

TEST_F(UploadStoreTest, AppendWithoutStartContinuesAtTheCurrentOffset) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", std::nullopt, "abc"));
  EXPECT_EQ(uploads->append(uuid, "app", std::nullopt, "def").value(), 6u);
  EXPECT_TRUE(uploads->finish(uuid, "app", sha256("abcdef")));
}

TEST_F(UploadStoreTest, SessionIsUnknownThroughAnotherRepository) {
  std::string uuid = uploads->create("tenant-a/app").value();
  ASSERT_TRUE(uploads->append(uuid, "tenant-a/app", 0, "secret"));
  for (auto code : {uploads->status(uuid, "tenant-b/app").error().code,
                    uploads->append(uuid, "tenant-b/app", 6, "x").error().code,
                    uploads->finish(uuid, "tenant-b/app", sha256("secret")).error().code,
                    uploads->cancel(uuid, "tenant-b/app").error().code})
    EXPECT_EQ(code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(uploads->status(uuid, "tenant-a/app").value().offset, 6u);
  EXPECT_FALSE(metadata->is_blob_linked("tenant-b/app", sha256("secret")).value());
}

TEST_F(UploadStoreTest, MalformedUuidIsUnknownUpload) {
  for (std::string uuid : {"../../registry.db", "", "ABCDEF00-0000-4000-8000-000000000000"})
    EXPECT_EQ(uploads->status(uuid, "app").error().code, "BLOB_UPLOAD_UNKNOWN") << uuid;
}

TEST_F(UploadStoreTest, UploadResumesAfterRestartWithTheHashRecomputed) {
  std::string first(3 << 20, 'a'), second(2 << 20, 'b');
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, first));

  start();  // no in-memory state survives

  EXPECT_EQ(uploads->status(uuid, "app").value().offset, first.size());
  ASSERT_TRUE(uploads->append(uuid, "app", first.size(), second));
  auto blob = uploads->finish(uuid, "app", sha256(first + second));
  ASSERT_TRUE(blob) << blob.error().message;
  EXPECT_EQ(blob->size, first.size() + second.size());
}

TEST_F(UploadStoreTest, DigestMismatchKeepsTheSessionOpen) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "data"));
  EXPECT_EQ(uploads->finish(uuid, "app", sha256("other")).error().code, "DIGEST_INVALID");
  EXPECT_FALSE(blobs->stat(sha256("other")));
  EXPECT_EQ(uploads->status(uuid, "app").value().offset, 4u);
  ASSERT_TRUE(uploads->append(uuid, "app", 4, "more"));
  EXPECT_TRUE(uploads->finish(uuid, "app", sha256("datamore")));
}

TEST_F(UploadStoreTest, Sha512UploadIsVerified) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "content"));
  EXPECT_TRUE(uploads->finish(uuid, "app", Digest::of(DigestAlgorithm::sha512, "content")));
}

TEST_F(UploadStoreTest, BytesBeforeAClientDisconnectAreKept) {
  std::string uuid = uploads->create("app").value();
  int calls = 0;
  auto result = uploads->append(uuid, "app", 0, [&](char* buffer, std::size_t) -> Result<std::size_t> {
    if (calls++ == 0) {
      std::memcpy(buffer, "0123456789", 10);
      return 10;
    }
    return fail("IO", "client went away");
  });
  EXPECT_FALSE(result);
  EXPECT_EQ(uploads->status(uuid, "app").value().offset, 10u);
  ASSERT_TRUE(uploads->append(uuid, "app", 10, "ab"));
  EXPECT_TRUE(uploads->finish(uuid, "app", sha256("0123456789ab")));
}

TEST_F(UploadStoreTest, CancelledSessionIsGone) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "abc"));
  ASSERT_TRUE(uploads->cancel(uuid, "app"));
  EXPECT_EQ(uploads->status(uuid, "app").error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(uploads->append(uuid, "app", 3, "d").error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / uuid));
}

TEST_F(UploadStoreTest, ConcurrentRequestsOnOneSessionDoNotInterleave) {
  constexpr int kWriters = 8;
  constexpr std::size_t kChunk = 3 << 20;  // several internal buffers per chunk
  std::string uuid = uploads->create("app").value();
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i)
    writers.emplace_back([&, i] {
      EXPECT_TRUE(uploads->append(uuid, "app", std::nullopt, std::string(kChunk, char('A' + i))));
    });
  for (auto& t : writers) t.join();

  std::string data;
  {
    std::ifstream in(dir.path() / "uploads" / uuid / "data", std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(data.size(), kWriters * kChunk);
  for (std::size_t at = 0; at < data.size(); at += kChunk)
    EXPECT_EQ(data.find_first_not_of(data[at], at), at + kChunk == data.size() ? std::string::npos : at + kChunk);
  EXPECT_TRUE(uploads->finish(uuid, "app", sha256(data)));
}

TEST_F(UploadStoreTest, StaleListsSessionsCreatedBeforeTheCutoff) {
  std::string uuid = uploads->create("app").value();
  ASSERT_TRUE(uploads->append(uuid, "app", 0, "abc"));
  EXPECT_TRUE(uploads->stale(Clock::now() - std::chrono::hours(1)).value().empty());
  auto stale = uploads->stale(Clock::now() + std::chrono::hours(1)).value();
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].uuid, uuid);
  EXPECT_EQ(stale[0].repo, "app");
  EXPECT_EQ(stale[0].size, 3u);
  ASSERT_TRUE(uploads->discard(uuid));
  EXPECT_TRUE(uploads->stale(Clock::now() + std::chrono::hours(1)).value().empty());
}

}  // namespace
}  // namespace strata::registry
