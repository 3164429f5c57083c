#include "registry/blob_store.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

std::string pattern(std::size_t size, unsigned seed = 1) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 31 + seed * 7) % 251);
  return s;
}

class BlobStoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  BlobStore store = BlobStore::open(dir.path()).value();
};

TEST_F(BlobStoreTest, CommittedBlobIsReadableAtItsContentAddress) {
  std::string content = "hello, registry";
  Digest digest = Digest::of(DigestAlgorithm::sha256, content);
  auto writer = store.create_writer().value();
  ASSERT_TRUE(writer.write(content));
  auto info = writer.commit(digest);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->size, content.size());

  EXPECT_TRUE(std::filesystem::exists(dir.path() / "blobs/sha256" / digest.hex().substr(0, 2) /
                                      digest.hex()));
  EXPECT_EQ(store.read(digest, 1024).value(), content);
  auto file = store.open_blob(digest).value();
  EXPECT_EQ(file.size(), content.size());
  EXPECT_EQ(store.stat(digest).value().size, content.size());
  EXPECT_EQ(count_files(dir.path() / "tmp"), 0u);
}

TEST_F(BlobStoreTest, DigestMismatchLeavesNothingVisible) {
  auto writer = store.create_writer().value();
  ASSERT_TRUE(writer.write("actual content"));
  auto wrong = Digest::of(DigestAlgorithm::sha256, "claimed content");
  auto result = writer.commit(wrong);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "DIGEST_INVALID");
  EXPECT_EQ(store.stat(wrong).error().code, "BLOB_UNKNOWN");
  EXPECT_TRUE(store.list().value().empty());
  EXPECT_EQ(count_files(dir.path()), 0u);
}

TEST_F(BlobStoreTest, AbandonedWriterLeavesNoTemporaryFile) {
  {
    auto writer = store.create_writer().value();
    ASSERT_TRUE(writer.write(pattern(3 << 20)));
  }
  EXPECT_EQ(count_files(dir.path()), 0u);
}

TEST_F(BlobStoreTest, ConcurrentCommitsOfTheSameBlobAllSucceedAndStoreItOnce) {
  std::string content = pattern(3 << 20);
  Digest digest = Digest::of(DigestAlgorithm::sha256, content);
  constexpr int kClients = 16;
  std::vector<Result<BlobInfo>> results(kClients, fail("INTERNAL", "not run"));
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto writer = store.create_writer();
      if (!writer) {
        results[i] = std::unexpected(writer.error());
        return;
      }
      // Odd-sized pieces exercise the writer's buffering.
      for (std::size_t at = 0; at < content.size(); at += 100'003)
        if (auto r = writer->write(std::string_view(content).substr(at, 100'003)); !r) {
          results[i] = std::unexpected(r.error());
          return;
        }
      results[i] = writer->commit(digest);
    });
  }
  for (auto& t : clients) t.join();
  for (const auto& r : results) EXPECT_TRUE(r) << r.error().message;

  auto listed = store.list().value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].digest, digest);
  EXPECT_EQ(listed[0].size, content.size());
  EXPECT_EQ(count_files(dir.path()), 1u);
  EXPECT_EQ(store.read(digest, content.size()).value(), content);
}

TEST_F(BlobStoreTest, Sha512DigestIsVerifiedAndStoredUnderSha512) {
  std::string content = pattern(5 << 20);
  Digest digest = Digest::of(DigestAlgorithm::sha512, content);
  auto info = store.put(content, digest);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(std::filesystem::exists(store.path_of(digest)));
  EXPECT_NE(store.path_of(digest).string().find("/blobs/sha512/"), std::string::npos);

  auto wrong = Digest::of(DigestAlgorithm::sha512, "other");
  EXPECT_EQ(store.put(content, wrong).error().code, "DIGEST_INVALID");
}

TEST_F(BlobStoreTest, StreamedBlobIsHashedWhileWritten) {
  std::string content = pattern(20 << 20, 3);
  std::size_t offset = 0;
  ReadFn read = [&](char* buffer, std::size_t size) -> Result<std::size_t> {
    std::size_t n = std::min({size, content.size() - offset, std::size_t{65'521}});
    std::memcpy(buffer, content.data() + offset, n);
    offset += n;
    return n;
  };
  auto writer = store.create_writer().value();
  ASSERT_TRUE(writer.write_from(read));
  EXPECT_EQ(writer.size(), content.size());
  auto info = writer.commit(Digest::of(DigestAlgorithm::sha256, content));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(store.read(info->digest, content.size()).value(), content);
}

TEST_F(BlobStoreTest, ReadErrorKeepsTheBytesReceivedBeforeIt) {
  std::filesystem::path file = dir.path() / "partial";
  std::ofstream(file).close();
  auto writer = store.resume_writer(file, std::nullopt).value();
  int calls = 0;
  auto result = writer.write_from([&](char* buffer, std::size_t) -> Result<std::size_t> {
    if (calls++ == 0) {
      std::memcpy(buffer, "0123456789", 10);
      return 10;
    }
    return fail("IO", "client went away");
  });
  EXPECT_FALSE(result);
  EXPECT_EQ(writer.size(), 10u);
  ASSERT_TRUE(writer.suspend());
  EXPECT_EQ(std::filesystem::file_size(file), 10u);
}

TEST_F(BlobStoreTest, ResumedWriterContinuesTheHashAcrossSuspend) {
  std::string first = pattern(1500 * 1024, 1), second = pattern(700 * 1024, 2);
  std::filesystem::path file = dir.path() / "session-data";
  std::ofstream(file).close();

  auto writer = store.resume_writer(file, std::nullopt).value();
  ASSERT_TRUE(writer.write(first));
  auto hash = writer.suspend().value();
  EXPECT_EQ(std::filesystem::file_size(file), first.size());

  auto resumed = store.resume_writer(file, std::move(hash)).value();
  EXPECT_EQ(resumed.size(), first.size());
  ASSERT_TRUE(resumed.write(second));
  auto info = resumed.commit(Digest::of(DigestAlgorithm::sha256, first + second));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_FALSE(std::filesystem::exists(file));  // moved into the store, not copied
}

// Whole blocks may bypass the page cache; an odd-sized chunk must not make
// a later chunk land at the wrong offset or lose bytes.
TEST_F(BlobStoreTest, ChunksOfOddSizesAreStoredByteForByte) {
  std::string first = pattern((1 << 20) + 17, 4), second = pattern(3 << 20, 5),
              third = pattern(4096 * 3 + 1, 6);
  std::filesystem::path file = dir.path() / "session-data";
  std::ofstream(file).close();
  std::optional<oci::Digester> hash;
  for (const std::string* chunk : {&first, &second, &third}) {
    auto writer = store.resume_writer(file, std::move(hash)).value();
    ASSERT_TRUE(writer.write(*chunk));
    hash = writer.suspend().value();
  }
  std::string content = first + second + third;
  auto writer = store.resume_writer(file, std::move(hash)).value();
  auto info = writer.commit(Digest::of(DigestAlgorithm::sha256, content));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(store.read(info->digest, content.size()).value(), content);
}

TEST_F(BlobStoreTest, ResumeWithoutHashRehashesTheFile) {
  std::string first = "written before a restart", second = " and after it";
  std::filesystem::path file = dir.path() / "session-data";
  std::ofstream(file, std::ios::binary) << first;

  auto writer = store.resume_writer(file, std::nullopt).value();
  ASSERT_TRUE(writer.write(second));
  EXPECT_TRUE(writer.commit(Digest::of(DigestAlgorithm::sha256, first + second)));
}

TEST_F(BlobStoreTest, MismatchOnResumedFileLeavesTheFileForAnotherTry) {
  std::filesystem::path file = dir.path() / "session-data";
  std::ofstream(file, std::ios::binary) << "data";
  auto writer = store.resume_writer(file, std::nullopt).value();
  EXPECT_EQ(writer.commit(Digest::of(DigestAlgorithm::sha256, "other")).error().code,
            "DIGEST_INVALID");
  EXPECT_EQ(std::filesystem::file_size(file), 4u);
  auto retry = store.resume_writer(file, std::nullopt).value();
  EXPECT_TRUE(retry.commit(Digest::of(DigestAlgorithm::sha256, "data")));
}

TEST_F(BlobStoreTest, RemovedBlobIsUnknown) {
  Digest digest = store.put("x", Digest::of(DigestAlgorithm::sha256, "x")).value().digest;
  ASSERT_TRUE(store.remove(digest));
  EXPECT_EQ(store.open_blob(digest).error().code, "BLOB_UNKNOWN");
  EXPECT_EQ(store.remove(digest).error().code, "BLOB_UNKNOWN");
}

TEST_F(BlobStoreTest, ReadRefusesBlobsOverTheLimit) {
  Digest digest = store.put("0123456789", Digest::of(DigestAlgorithm::sha256, "0123456789"))
                      .value()
                      .digest;
  EXPECT_EQ(store.read(digest, 9).error().code, "SIZE_INVALID");
}

TEST_F(BlobStoreTest, RecommittingAnExistingBlobRefreshesItsModificationTime) {
  Digest digest = Digest::of(DigestAlgorithm::sha256, "same");
  ASSERT_TRUE(store.put("same", digest));
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, store.path_of(digest).c_str(), old_times, 0), 0);
  ASSERT_TRUE(store.put("same", digest));
  EXPECT_GT(store.stat(digest).value().modified, std::chrono::system_clock::from_time_t(1000));
}

}  // namespace
}  // namespace strata::registry
