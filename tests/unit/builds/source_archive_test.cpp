#include "builds/source_archive.h"
#include "builds/context_space.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <clocale>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace strata::builds {
namespace {

namespace fs = std::filesystem;

enum class Compression { none, gzip, zstd };

struct Entry {
  std::string name;
  unsigned type = AE_IFREG;
  std::string content;
  std::string symlink;   // target, for AE_IFLNK
  std::string hardlink;  // target, for hard links
  mode_t perm = 0644;
  std::uint64_t zeros = 0;  // extra zero bytes after content, written in chunks
};

Entry file(std::string name, std::string content, mode_t perm = 0644) {
  return Entry{std::move(name), AE_IFREG, std::move(content), {}, {}, perm};
}
Entry dir(std::string name, mode_t perm = 0755) { return Entry{std::move(name), AE_IFDIR, {}, {}, {}, perm}; }
Entry symlink(std::string name, std::string target) {
  return Entry{std::move(name), AE_IFLNK, {}, std::move(target), {}, 0777};
}
Entry hardlink(std::string name, std::string target) {
  return Entry{std::move(name), AE_IFREG, {}, {}, std::move(target), 0644};
}
Entry special(std::string name, unsigned type) { return Entry{std::move(name), type, {}, {}, {}, 0644}; }

fs::path write_archive(const fs::path& path, const std::vector<Entry>& entries,
                       Compression compression = Compression::none) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == Compression::gzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::zstd) archive_write_add_filter_zstd(a);
  EXPECT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.perm);
    archive_entry_set_uid(entry, 4242);
    archive_entry_set_gid(entry, 4242);
    archive_entry_set_mtime(entry, 1700000000, 0);
    if (!e.symlink.empty()) archive_entry_set_symlink(entry, e.symlink.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(entry, e.hardlink.c_str());
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(entry, makedev(1, 3));
    bool has_content = e.type == AE_IFREG && e.hardlink.empty();
    archive_entry_set_size(entry, has_content ? static_cast<la_int64_t>(e.content.size() + e.zeros) : 0);
    EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (has_content) {
      archive_write_data(a, e.content.data(), e.content.size());
      std::string chunk(1 << 20, '\0');
      for (std::uint64_t left = e.zeros; left > 0;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        archive_write_data(a, chunk.data(), n);
        left -= n;
      }
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return path;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t mode_of(const fs::path& path) {
  struct stat st{};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class SourceArchive : public ::testing::Test {
 protected:
  fs::path archive(const std::vector<Entry>& entries, Compression compression = Compression::none) {
    return write_archive(tmp_.path() / ("source" + std::to_string(++count_)), entries, compression);
  }
  fs::path context() const { return tmp_.path() / "context"; }

  // Extraction must fail with `code`, name `needle` in its message, and leave nothing behind.
  void expect_refused(const std::vector<Entry>& entries, const std::string& code, const std::string& needle,
                      const SourceLimits& limits = {}) {
    auto result = extract_source_archive(archive(entries), context(), limits);
    ASSERT_FALSE(result.has_value()) << needle;
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_NE(result.error().message.find(needle), std::string::npos)
        << "message '" << result.error().message << "' should mention " << needle;
    EXPECT_FALSE(fs::exists(context())) << needle;
  }

  strata::testing::TempDir tmp_;
  int count_ = 0;
};

const std::vector<Entry> kGoodContext = {
    dir("./"),
    file("Dockerfile", "FROM scratch\nCOPY app /app\n"),
    dir("app/"),
    file("app/run.sh", "#!/bin/sh\necho hi\n", 0755),
    symlink("app/current", "run.sh"),
    symlink("app/top", "../Dockerfile"),
    hardlink("app/same", "app/run.sh"),
    file("./nested//dirs/created/implicitly.txt", "x"),
};

TEST_F(SourceArchive, ExtractsGoodContextInEveryCompression) {
  for (auto compression : {Compression::none, Compression::gzip, Compression::zstd}) {
    const auto& entries = kGoodContext;
    fs::path source = archive(entries, compression);
    auto extracted = extract_source_archive(source, context());
    ASSERT_TRUE(extracted.has_value()) << extracted.error().message;
    EXPECT_EQ(read_text(context() / "Dockerfile"), "FROM scratch\nCOPY app /app\n");
    EXPECT_EQ(read_text(context() / "app/run.sh"), "#!/bin/sh\necho hi\n");
    EXPECT_EQ(mode_of(context() / "app/run.sh"), 0755u);
    EXPECT_EQ(fs::read_symlink(context() / "app/current"), "run.sh");
    EXPECT_EQ(read_text(context() / "app/top"), "FROM scratch\nCOPY app /app\n");
    EXPECT_TRUE(fs::equivalent(context() / "app/same", context() / "app/run.sh"));
    EXPECT_EQ(read_text(context() / "nested/dirs/created/implicitly.txt"), "x");
    EXPECT_EQ(extracted->entries, entries.size());
    EXPECT_EQ(extracted->content_bytes, 27u + 18u + 1u);
    EXPECT_EQ(extracted->archive_bytes, fs::file_size(source));
    EXPECT_EQ(extracted->digest, oci::Digest::of(oci::DigestAlgorithm::sha256, read_text(source)));
    fs::remove_all(context());
  }
}

// Non-ASCII names travel in pax headers as UTF-8 (Go's archive/tar, used by
// the docker CLI, and Python's tarfile do the same) and must survive the
// server's C locale.
TEST_F(SourceArchive, KeepsUtf8Names) {
  // libarchive's pax writer needs a UTF-8 locale to write such names; the
  // extraction then runs in the C locale, as the server does.
  ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
  fs::path source = archive({file("caf\xc3\xa9/na\xc3\xafve.txt", "u")});
  std::setlocale(LC_CTYPE, "C");
  auto extracted = extract_source_archive(source, context());
  ASSERT_TRUE(extracted) << extracted.error().message;
  EXPECT_EQ(read_text(context() / "caf\xc3\xa9/na\xc3\xafve.txt"), "u");
}

TEST_F(SourceArchive, FilesBelongToTheExtractingUser) {
  ASSERT_TRUE(extract_source_archive(archive({file("f", "x")}), context()));
  struct stat st{};
  ASSERT_EQ(::stat((context() / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::getuid());
  EXPECT_EQ(st.st_gid, ::getgid());
}

TEST_F(SourceArchive, StripsSetuidAndSetgidAndKeepsDirectoriesWritable) {
  auto extracted = extract_source_archive(
      archive({file("suid", "x", 04755), file("sgid", "x", 02711), dir("shared", 03775), dir("locked", 0500),
               file("locked/inside", "y", 0400)}),
      context());
  ASSERT_TRUE(extracted.has_value()) << extracted.error().message;
  EXPECT_EQ(mode_of(context() / "suid"), 0755u);
  EXPECT_EQ(mode_of(context() / "sgid"), 0711u);
  EXPECT_EQ(mode_of(context() / "shared"), 01775u);  // sticky kept
  EXPECT_EQ(mode_of(context() / "locked"), 0700u);
  EXPECT_EQ(mode_of(context() / "locked/inside"), 0400u);
}

TEST_F(SourceArchive, RefusesPathTraversal) {
  expect_refused({file("ok", "fine"), file("../x", "evil")}, "SOURCE_INVALID", "'../x'");
  expect_refused({file("a/../../x", "evil")}, "SOURCE_INVALID", "'a/../../x'");
  expect_refused({file("a/..", "evil")}, "SOURCE_INVALID", "contains '..'");
  expect_refused({file("/abs", "evil")}, "SOURCE_INVALID", "'/abs': name is an absolute path");
  expect_refused({file("/", "evil")}, "SOURCE_INVALID", "absolute");
}

TEST_F(SourceArchive, RefusesSymlinksLeavingTheContext) {
  expect_refused({symlink("passwd", "/etc/passwd")}, "SOURCE_INVALID", "'passwd': symlink to absolute path");
  expect_refused({symlink("a", "../../x")}, "SOURCE_INVALID", "'a': symlink to '../../x' points outside");
  expect_refused({symlink("a/b/up", "../../..")}, "SOURCE_INVALID", "'a/b/up'");
  expect_refused({symlink("a/b/up", "x/../../../../y")}, "SOURCE_INVALID", "outside");
  expect_refused({symlink("empty", "")}, "SOURCE_INVALID", "empty target");
  // Climbing to the root, or within it, is fine.
  ASSERT_TRUE(extract_source_archive(archive({symlink("a/b/root", "../.."), symlink("dot", ".")}), context()));
}

TEST_F(SourceArchive, RefusesHardLinksOutsideOrNotYetExtracted) {
  expect_refused({hardlink("h", "../outside")}, "SOURCE_INVALID", "'h': hard link target contains '..'");
  expect_refused({hardlink("h", "/etc/shadow")}, "SOURCE_INVALID", "'h': hard link target is an absolute");
  expect_refused({hardlink("h", "later"), file("later", "x")}, "SOURCE_INVALID",
                 "'h': hard link to 'later', which is not a file earlier");
  expect_refused({dir("d/"), hardlink("h", "d")}, "SOURCE_INVALID", "not a file earlier");
  expect_refused({symlink("s", "f"), file("f", "x"), hardlink("h", "s")}, "SOURCE_INVALID", "not a file earlier");
}

TEST_F(SourceArchive, RefusesDevicesFifosAndSockets) {
  expect_refused({file("ok", "x"), special("dev/null", AE_IFCHR)}, "SOURCE_INVALID",
                 "'dev/null': device files are not allowed");
  expect_refused({special("disk", AE_IFBLK)}, "SOURCE_INVALID", "'disk': device files");
  expect_refused({special("pipe", AE_IFIFO)}, "SOURCE_INVALID", "'pipe': fifos are not allowed");
}

TEST_F(SourceArchive, RefusesEntriesUnderNonDirectoriesAndRepeatedNames) {
  expect_refused({file("a", "x"), file("a/b", "y")}, "SOURCE_INVALID", "parent 'a' is not a directory");
  expect_refused({dir("sub/"), symlink("link", "sub"), file("link/x", "y")}, "SOURCE_INVALID",
                 "parent 'link' is not a directory");
  expect_refused({file("f", "1"), file("./f", "2")}, "SOURCE_INVALID", "'./f': appears more than once");
  expect_refused({file("a/b", "1"), file("a", "2")}, "SOURCE_INVALID", "'a': appears more than once");
  ASSERT_TRUE(extract_source_archive(archive({file("a/b", "1"), dir("a/"), dir("a")}), context()));
}

TEST_F(SourceArchive, RefusesOverlongNames) {
  SourceLimits limits;
  limits.max_path_bytes = 50;
  limits.max_name_bytes = 20;
  expect_refused({file(std::string(30, 'd') + "/f", "x")}, "SOURCE_INVALID", "component longer than 20", limits);
  expect_refused({file("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z", "x")}, "SOURCE_INVALID",
                 "longer than 50 bytes", limits);
  expect_refused({symlink("l", std::string(60, 'x'))}, "SOURCE_INVALID", "symlink target is too long", limits);
}

TEST_F(SourceArchive, RefusesMoreEntriesThanTheLimit) {
  SourceLimits limits;
  limits.max_entries = 50;
  std::vector<Entry> entries;
  for (int i = 0; i < 50; ++i) entries.push_back(file("f" + std::to_string(i), "x"));
  ASSERT_TRUE(extract_source_archive(archive(entries), context(), limits));
  fs::remove_all(context());
  entries.push_back(file("one-too-many", "x"));
  expect_refused(entries, "TOO_LARGE", "more than 50 entries", limits);
}

TEST_F(SourceArchive, StopsGzipBombAtTheContentLimit) {
  SourceLimits limits;
  limits.max_content_bytes = 1 << 20;
  fs::path bomb = archive({file("Dockerfile", "FROM scratch\n"), Entry{"zeros", AE_IFREG, {}, {}, {}, 0644, 64 << 20}},
                          Compression::gzip);
  ASSERT_LT(fs::file_size(bomb), 200u * 1024);
  auto result = extract_source_archive(bomb, context(), limits);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "TOO_LARGE");
  EXPECT_NE(result.error().message.find("'zeros'"), std::string::npos) << result.error().message;
  EXPECT_FALSE(fs::exists(context()));
}

TEST_F(SourceArchive, CountsContentAcrossAllFiles) {
  SourceLimits limits;
  limits.max_content_bytes = 1000;
  std::vector<Entry> entries;
  for (int i = 0; i < 5; ++i) entries.push_back(file("part" + std::to_string(i), std::string(300, 'p')));
  expect_refused(entries, "TOO_LARGE", "'part3'", limits);
  entries.pop_back();
  entries.pop_back();
  entries.push_back(file("exact", std::string(100, 'e')));
  auto fits = extract_source_archive(archive(entries), context(), limits);
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(fits->content_bytes, 1000u);
}

TEST_F(SourceArchive, RefusesWhatIsNotATarArchive) {
  fs::path junk = tmp_.path() / "junk";
  std::ofstream(junk) << std::string(4096, 'j');
  auto result = extract_source_archive(junk, context());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "SOURCE_INVALID");
  EXPECT_NE(result.error().message.find("not a tar archive"), std::string::npos) << result.error().message;
  EXPECT_FALSE(fs::exists(context()));
}

TEST_F(SourceArchive, EmptyTarGivesEmptyContextButEmptyFileIsNoTar) {
  auto empty = extract_source_archive(archive({}), context());
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(fs::is_empty(context()));
  fs::path zero = tmp_.path() / "zero";
  std::ofstream{zero};
  auto result = extract_source_archive(zero, tmp_.path() / "other");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "SOURCE_INVALID");
}

TEST_F(SourceArchive, RefusesTruncatedCompressedArchive) {
  fs::path whole = archive({file("a", std::string(200000, 'a')), file("b", "b")}, Compression::gzip);
  std::string bytes = read_text(whole);
  fs::path cut = tmp_.path() / "cut.tar.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto result = extract_source_archive(cut, context());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "SOURCE_INVALID") << result.error().message;
  EXPECT_FALSE(fs::exists(context()));
}

TEST_F(SourceArchive, DestinationMustBeNew) {
  fs::create_directory(context());
  std::ofstream(context() / "keep") << "mine";
  auto result = extract_source_archive(archive({file("f", "x")}), context());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "IO");
  EXPECT_EQ(read_text(context() / "keep"), "mine");
}

class Dockerfile : public SourceArchive {
 protected:
  void SetUp() override {
    auto extracted = extract_source_archive(
        archive({file("Dockerfile", "FROM a\n"), file("docker/prod.Dockerfile", "FROM b\n"),
                 symlink("linked", "docker/prod.Dockerfile"), dir("docker/dir/")}),
        context());
    ASSERT_TRUE(extracted) << extracted.error().message;
  }

  void expect_refused_path(std::string_view path, const std::string& code, const std::string& needle,
                           std::size_t max = kMaxDockerfileBytes) {
    auto text = find_dockerfile(context(), path, max);
    ASSERT_FALSE(text) << path;
    EXPECT_EQ(text.error().code, code) << path;
    EXPECT_NE(text.error().message.find(needle), std::string::npos) << text.error().message;
  }
};

TEST_F(Dockerfile, FoundByDefaultPathOrGivenPath) {
  EXPECT_EQ(find_dockerfile(context(), "").value_or(""), "FROM a\n");
  EXPECT_EQ(find_dockerfile(context(), "Dockerfile").value_or(""), "FROM a\n");
  EXPECT_EQ(find_dockerfile(context(), "docker/prod.Dockerfile").value_or(""), "FROM b\n");
  EXPECT_EQ(find_dockerfile(context(), "./docker/../linked").value_or(""), "FROM b\n");
}

TEST_F(Dockerfile, CannotEscapeTheContext) {
  std::ofstream(tmp_.path() / "outside") << "FROM secret\n";
  expect_refused_path("../outside", "SOURCE_INVALID", "leads out of the build context");
  expect_refused_path("docker/../../outside", "SOURCE_INVALID", "leads out");
  expect_refused_path("/etc/passwd", "SOURCE_INVALID", "must be relative");
  // Links planted in the extracted tree after the fact are not followed out either.
  fs::create_symlink("../outside", context() / "relative-escape");
  fs::create_symlink(tmp_.path() / "outside", context() / "absolute-escape");
  expect_refused_path("relative-escape", "SOURCE_INVALID", "leads out");
  expect_refused_path("absolute-escape", "SOURCE_INVALID", "leads out");
}

TEST_F(Dockerfile, MustBeAnExistingSmallRegularFile) {
  expect_refused_path("missing", "SOURCE_INVALID", "no Dockerfile at 'missing'");
  expect_refused_path("Dockerfile/x", "SOURCE_INVALID", "no Dockerfile");
  expect_refused_path("docker/dir", "SOURCE_INVALID", "not a regular file");
  ASSERT_EQ(::mkfifo((context() / "fifo").c_str(), 0644), 0);
  expect_refused_path("fifo", "SOURCE_INVALID", "not a regular file");
  expect_refused_path("Dockerfile", "TOO_LARGE", "larger than 6 bytes", 6);
  EXPECT_EQ(find_dockerfile(context(), "Dockerfile", 7).value_or(""), "FROM a\n");
}

// The context space (context_space.h): a tmpfs of its own, so a context that
// does not fit is NO_SPACE (the API's 503), not an I/O fault, and never a
// silently truncated file. Needs root.
TEST_F(SourceArchive, FullDestinationIsNoSpace) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  fs::path space = tmp_.path() / "space";
  auto mounted = prepare_context_space(space, 64 * 1024);
  ASSERT_TRUE(mounted) << mounted.error().message;
  ASSERT_TRUE(*mounted);
  auto result = extract_source_archive(archive({file("big", std::string(1 << 20, 'x'))}), space / "context");
  release_context_space(space);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, "NO_SPACE") << result.error().message;
}

}  // namespace
}  // namespace strata::builds
