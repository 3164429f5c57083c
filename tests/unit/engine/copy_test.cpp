// COPY/ADD done natively: Dockerfile source and destination rules,
// .dockerignore, ownership and modes, links, confinement to the root, ADD's
// archives, URLs and heredoc files. Runs as root (ownership is asserted).
#include "engine/fs/copy.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/dockerfile/dockerignore.h"
#include "http/server.h"
#include "support/temp_dir.h"

namespace strata::engine::fs {
namespace {

namespace sfs = std::filesystem;
using strata::testing::TempDir;

void write_file(const sfs::path& path, std::string_view content, mode_t mode = 0644) {
  sfs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string read_file(const sfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct stat lstat_of(const sfs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

void expect_failure(const Result<void>& result, std::string_view code) {
  ASSERT_FALSE(result) << "expected " << code;
  EXPECT_EQ(result.error().code, code) << result.error().message;
}

void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

class CopyTest : public ::testing::Test {
 protected:
  // COPY <patterns> <dest> from the context.
  Result<void> copy(std::vector<std::string> patterns, const std::string& dest, CopyOptions options = {}) {
    CopySource source{context_.path(), true, ignore_ ? &*ignore_ : nullptr, std::move(patterns), {}};
    return copy_into(rootfs_.path(), dest, source, options);
  }
  Result<void> add(std::vector<std::string> patterns, const std::string& dest, CopyOptions options = {}) {
    options.add = true;
    return copy(std::move(patterns), dest, options);
  }
  void ignore(std::string_view rules) {
    auto parsed = dockerfile::IgnoreRules::parse(rules);
    ASSERT_TRUE(parsed) << parsed.error().message;
    ignore_ = std::move(*parsed);
  }
  sfs::path ctx(const std::string& rel) const { return context_.path() / rel; }
  sfs::path image(const std::string& rel) const { return rootfs_.path() / rel; }

  TempDir context_;
  TempDir rootfs_;
  std::optional<dockerfile::IgnoreRules> ignore_;
};

TEST_F(CopyTest, DirectorySourceCopiesItsContentsNotItself) {
  write_file(ctx("dir/a"), "A");
  write_file(ctx("dir/sub/b"), "B");
  ASSERT_TRUE(copy({"dir/"}, "/dst/"));
  EXPECT_EQ(read_file(image("dst/a")), "A");
  EXPECT_EQ(read_file(image("dst/sub/b")), "B");
  EXPECT_FALSE(sfs::exists(image("dst/dir")));
  // Without the slashes the same.
  ASSERT_TRUE(copy({"dir"}, "/other"));
  EXPECT_EQ(read_file(image("other/sub/b")), "B");
}

TEST_F(CopyTest, GlobCopiesEveryMatchIntoTheDirectory) {
  write_file(ctx("a.txt"), "a");
  write_file(ctx("b.txt"), "b");
  write_file(ctx("c.md"), "c");
  write_file(ctx("d/e.txt"), "e");
  ASSERT_TRUE(copy({"*.txt"}, "/dst/"));
  EXPECT_TRUE(sfs::exists(image("dst/a.txt")));
  EXPECT_TRUE(sfs::exists(image("dst/b.txt")));
  EXPECT_FALSE(sfs::exists(image("dst/c.md")));
  EXPECT_FALSE(sfs::exists(image("dst/e.txt")));  // '*' does not cross '/'
  ASSERT_TRUE(copy({"?/[a-e].txt"}, "/nested/"));
  EXPECT_EQ(read_file(image("nested/e.txt")), "e");
}

TEST_F(CopyTest, FileToDestinationWithoutSlashTakesThatName) {
  write_file(ctx("a.txt"), "content");
  ASSERT_TRUE(copy({"a.txt"}, "/opt/renamed"));
  EXPECT_TRUE(S_ISREG(lstat_of(image("opt/renamed")).st_mode));
  EXPECT_EQ(read_file(image("opt/renamed")), "content");
}

TEST_F(CopyTest, FileToDestinationWithSlashGoesInside) {
  write_file(ctx("a.txt"), "content");
  ASSERT_TRUE(copy({"a.txt"}, "/opt/dir/"));
  EXPECT_EQ(read_file(image("opt/dir/a.txt")), "content");
  // `COPY a.txt .` with WORKDIR /work arrives joined as "/work/.".
  ASSERT_TRUE(copy({"a.txt"}, "/work/."));
  EXPECT_EQ(read_file(image("work/a.txt")), "content");
}

TEST_F(CopyTest, FileToExistingDirectoryWithoutSlashGoesInside) {
  write_file(ctx("a.txt"), "content");
  sfs::create_directories(image("etc"));
  ASSERT_TRUE(copy({"a.txt"}, "/etc"));
  EXPECT_EQ(read_file(image("etc/a.txt")), "content");
}

TEST_F(CopyTest, SeveralSourcesNeedADestinationEndingInSlash) {
  write_file(ctx("a.txt"), "a");
  write_file(ctx("b.txt"), "b");
  expect_failure(copy({"a.txt", "b.txt"}, "/dst"), "COPY_INVALID");
  expect_failure(copy({"*.txt"}, "/dst"), "COPY_INVALID");
  EXPECT_FALSE(sfs::exists(image("dst")));
  ASSERT_TRUE(copy({"a.txt", "b.txt"}, "/dst/"));
  EXPECT_TRUE(sfs::exists(image("dst/b.txt")));
}

TEST_F(CopyTest, MissingSourceFailsNamingThePatternAndWritesNothing) {
  write_file(ctx("a.txt"), "a");
  auto missing = copy({"a.txt", "nope.txt"}, "/dst/");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "COPY_SOURCE_MISSING");
  EXPECT_NE(missing.error().message.find("nope.txt"), std::string::npos);
  EXPECT_FALSE(sfs::exists(image("dst")));
  auto no_match = copy({"*.none"}, "/dst/");
  ASSERT_FALSE(no_match);
  EXPECT_EQ(no_match.error().code, "COPY_SOURCE_MISSING");
  EXPECT_NE(no_match.error().message.find("*.none"), std::string::npos);
}

TEST_F(CopyTest, DockerignoredFilesDoNotExist) {
  for (auto name : {"app.py", "debug.log", "keep.log", "secrets/key", "build/out.o", "build/keep/me"})
    write_file(ctx(name), name);
  ignore("# comment\n*.log\n!keep.log\nsecrets\nbuild\n!build/keep\n");

  ASSERT_TRUE(copy({"."}, "/app/"));
  EXPECT_TRUE(sfs::exists(image("app/app.py")));
  EXPECT_FALSE(sfs::exists(image("app/debug.log")));
  EXPECT_TRUE(sfs::exists(image("app/keep.log")));
  EXPECT_FALSE(sfs::exists(image("app/secrets")));
  EXPECT_FALSE(sfs::exists(image("app/build/out.o")));
  EXPECT_EQ(read_file(image("app/build/keep/me")), "build/keep/me");

  ASSERT_TRUE(copy({"*.log"}, "/logs/"));
  EXPECT_TRUE(sfs::exists(image("logs/keep.log")));
  EXPECT_FALSE(sfs::exists(image("logs/debug.log")));

  expect_failure(copy({"secrets/key"}, "/k"), "COPY_SOURCE_MISSING");
  expect_failure(copy({"secrets"}, "/s/"), "COPY_SOURCE_MISSING");
}

TEST_F(CopyTest, ChownOwnsCopiedFilesAndTheParentsThisCopyCreated) {
  write_file(ctx("dir/a"), "a");
  sfs::create_directories(image("existing"));
  CopyOptions options;
  options.chown = Owner{1000, 1001};
  ASSERT_TRUE(copy({"dir"}, "/existing/new/deep/", options));
  EXPECT_EQ(lstat_of(image("existing")).st_uid, 0u);
  for (auto rel : {"existing/new", "existing/new/deep", "existing/new/deep/a"}) {
    auto st = lstat_of(image(rel));
    EXPECT_EQ(st.st_uid, 1000u) << rel;
    EXPECT_EQ(st.st_gid, 1001u) << rel;
  }
  EXPECT_EQ(lstat_of(image("existing/new")).st_mode & 07777, 0755u);
}

TEST_F(CopyTest, ContextFilesBecomeRootOwned) {
  write_file(ctx("dir/a"), "a");
  ASSERT_EQ(::chown(ctx("dir").c_str(), 1234, 1234), 0);
  ASSERT_EQ(::chown(ctx("dir/a").c_str(), 1234, 1234), 0);
  ASSERT_TRUE(copy({"dir"}, "/d/"));
  auto st = lstat_of(image("d/a"));
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);
}

TEST_F(CopyTest, CopyFromAStageKeepsOwnersUnlessChowned) {
  TempDir stage;
  write_file(stage.path() / "app/bin", "elf", 0755);
  ASSERT_EQ(::chown((stage.path() / "app/bin").c_str(), 1234, 5678), 0);
  CopySource source{stage.path(), false, nullptr, {"/app/bin"}, {}};
  ASSERT_TRUE(copy_into(rootfs_.path(), "/usr/local/bin/", source, {}));
  auto st = lstat_of(image("usr/local/bin/bin"));
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  CopyOptions chowned;
  chowned.chown = Owner{7, 8};
  ASSERT_TRUE(copy_into(rootfs_.path(), "/other", source, chowned));
  EXPECT_EQ(lstat_of(image("other")).st_uid, 7u);
}

TEST_F(CopyTest, ChmodOverridesFileAndDirectoryModes) {
  write_file(ctx("dir/a"), "a", 0600);
  CopyOptions options;
  options.chmod = 0751;
  ASSERT_TRUE(copy({"dir"}, "/d/", options));
  EXPECT_EQ(lstat_of(image("d/a")).st_mode & 07777, 0751u);
  ASSERT_TRUE(copy({"."}, "/all/", options));
  EXPECT_EQ(lstat_of(image("all/dir")).st_mode & 07777, 0751u);
}

TEST_F(CopyTest, ModesSpecialBitsAndTimesArePreserved) {
  write_file(ctx("t/suid"), "x", 04755);
  sfs::create_directories(ctx("t/shared"));
  ASSERT_EQ(::chmod(ctx("t/shared").c_str(), 02775), 0);
  sfs::create_directories(ctx("t/tmp"));
  ASSERT_EQ(::chmod(ctx("t/tmp").c_str(), 01777), 0);
  timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, ctx("t/suid").c_str(), old_times, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, ctx("t/shared").c_str(), old_times, 0), 0);
  ASSERT_TRUE(copy({"t"}, "/t/"));
  EXPECT_EQ(lstat_of(image("t/suid")).st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(image("t/shared")).st_mode & 07777, 02775u);
  EXPECT_EQ(lstat_of(image("t/tmp")).st_mode & 07777, 01777u);
  EXPECT_EQ(lstat_of(image("t/suid")).st_mtim.tv_sec, 1000000000);
  EXPECT_EQ(lstat_of(image("t/shared")).st_mtim.tv_sec, 1000000000);
}

TEST_F(CopyTest, SymlinksInsideADirectoryAreCopiedAsSymlinks) {
  write_file(ctx("dir/target"), "t");
  sfs::create_symlink("target", ctx("dir/rel"));
  sfs::create_symlink("/etc/passwd", ctx("dir/abs"));
  ASSERT_TRUE(copy({"dir"}, "/d/"));
  EXPECT_TRUE(S_ISLNK(lstat_of(image("d/rel")).st_mode));
  EXPECT_EQ(sfs::read_symlink(image("d/rel")), "target");
  EXPECT_EQ(sfs::read_symlink(image("d/abs")), "/etc/passwd");
}

TEST_F(CopyTest, SymlinkGivenAsSourceIsFollowedWithinTheContext) {
  write_file(ctx("real/file"), "real");
  sfs::create_symlink("real/file", ctx("link"));
  ASSERT_TRUE(copy({"link"}, "/d/"));
  EXPECT_TRUE(S_ISREG(lstat_of(image("d/link")).st_mode));
  EXPECT_EQ(read_file(image("d/link")), "real");

  // An absolute target resolves against the context root, never the host.
  sfs::create_symlink("/etc/hostname", ctx("host"));
  expect_failure(copy({"host"}, "/h"), "COPY_SOURCE_MISSING");
}

TEST_F(CopyTest, HardLinksAmongCopiedFilesStayHardLinks) {
  write_file(ctx("dir/a"), "shared");
  sfs::create_directories(ctx("dir/sub"));
  sfs::create_hard_link(ctx("dir/a"), ctx("dir/sub/b"));
  ASSERT_TRUE(copy({"dir"}, "/d/"));
  auto a = lstat_of(image("d/a"));
  auto b = lstat_of(image("d/sub/b"));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
}

TEST_F(CopyTest, DestinationSymlinksResolveInsideTheRoot) {
  write_file(ctx("a.txt"), "a");
  sfs::create_directories(image("usr"));
  sfs::create_symlink("/usr", image("link"));
  ASSERT_TRUE(copy({"a.txt"}, "/link/x"));
  EXPECT_EQ(read_file(image("usr/x")), "a");

  TempDir outside;
  std::string climb = "../../../../../../../../.." + outside.path().string();
  sfs::create_symlink(climb, image("evil"));
  ASSERT_TRUE(copy({"a.txt"}, "/evil/x"));
  EXPECT_FALSE(sfs::exists(outside.path() / "x"));
  EXPECT_EQ(read_file(image(outside.path().relative_path().string() + "/x")), "a");
}

TEST_F(CopyTest, DirectoryCopyEntersSymlinkedDirectoriesOfTheImage) {
  write_file(ctx("overlay/lib/libx.so"), "so");
  sfs::create_directories(image("usr/lib"));
  sfs::create_symlink("usr/lib", image("lib"));
  ASSERT_TRUE(copy({"overlay"}, "/"));
  EXPECT_TRUE(S_ISLNK(lstat_of(image("lib")).st_mode));
  EXPECT_EQ(read_file(image("usr/lib/libx.so")), "so");
}

TEST_F(CopyTest, SourcesCannotLeaveTheContext) {
  write_file(ctx("a.txt"), "a");
  expect_failure(copy({"../a.txt"}, "/x"), "COPY_INVALID");
  expect_failure(copy({"sub/../../x"}, "/x"), "COPY_INVALID");
  // An absolute source is relative to the context root.
  ASSERT_TRUE(copy({"/a.txt"}, "/x"));
  EXPECT_EQ(read_file(image("x")), "a");
}

TEST_F(CopyTest, CopyDoesNotAcceptUrls) {
  expect_failure(copy({"http://127.0.0.1:1/file"}, "/x"), "COPY_INVALID");
}

class AddArchiveTest : public CopyTest {
 protected:
  // A tree with an owner, a mode, a symlink and a hard link, packed by tar.
  void pack(const std::string& name, const std::string& flags) {
    TempDir tree;
    write_file(tree.path() / "top/file", "archived", 0640);
    sfs::create_symlink("file", tree.path() / "top/link");
    sfs::create_hard_link(tree.path() / "top/file", tree.path() / "top/hard");
    run("tar -C " + tree.path().string() + " --owner=1234 --group=4321 --numeric-owner " + flags +
        " -cf " + ctx(name).string() + " .");
  }
};

TEST_F(AddArchiveTest, LocalTarIsExtractedWithItsOwnersModesAndLinks) {
  pack("plain.tar", "");
  ASSERT_TRUE(add({"plain.tar"}, "/dst"));
  auto st = lstat_of(image("dst/top/file"));
  EXPECT_EQ(read_file(image("dst/top/file")), "archived");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 4321u);
  EXPECT_EQ(sfs::read_symlink(image("dst/top/link")), "file");
  EXPECT_EQ(lstat_of(image("dst/top/hard")).st_ino, st.st_ino);
  EXPECT_FALSE(sfs::exists(image("dst/plain.tar")));
}

TEST_F(AddArchiveTest, CompressedTarsAreRecognisedByContentNotName) {
  pack("a.tgz", "-z");
  pack("b.data", "-j");
  pack("c", "-J");
  pack("d.tar.zst", "--zstd");
  for (auto name : {"a.tgz", "b.data", "c", "d.tar.zst"}) {
    ASSERT_TRUE(add({name}, std::string("/out/") + name + "/"));
    EXPECT_EQ(read_file(image(std::string("out/") + name + "/top/file")), "archived") << name;
  }
}

TEST_F(AddArchiveTest, ChownOverridesArchiveOwners) {
  pack("a.tar.gz", "-z");
  CopyOptions options;
  options.chown = Owner{55, 66};
  ASSERT_TRUE(add({"a.tar.gz"}, "/dst/", options));
  EXPECT_EQ(lstat_of(image("dst/top/file")).st_uid, 55u);
  EXPECT_EQ(lstat_of(image("dst/top")).st_gid, 66u);
}

TEST_F(AddArchiveTest, NonArchivesAndCopyAreCopiedAsFiles) {
  write_file(ctx("notes.txt"), "hello");
  run("gzip -k " + ctx("notes.txt").string());
  ASSERT_TRUE(add({"notes.txt.gz"}, "/dst/"));
  EXPECT_TRUE(S_ISREG(lstat_of(image("dst/notes.txt.gz")).st_mode));
  pack("plain.tar", "");
  ASSERT_TRUE(copy({"plain.tar"}, "/copied/"));
  EXPECT_TRUE(S_ISREG(lstat_of(image("copied/plain.tar")).st_mode));
}

TEST_F(AddArchiveTest, ArchiveEntriesCannotClimbOutOfTheDestination) {
  run("python3 -c \"import io, tarfile; t = tarfile.open('" + ctx("evil.tar").string() +
      "', 'w'); i = tarfile.TarInfo('../../escape'); i.size = 1; t.addfile(i, io.BytesIO(b'x')); t.close()\"");
  expect_failure(add({"evil.tar"}, "/dst/"), "COPY_INVALID");
}

// Serves fixed files over HTTP on 127.0.0.1. One lives for the whole test
// program: http::Server's detached connection threads may outlive stop().
class FileServer {
 public:
  static FileServer& instance() {
    static auto* server = new FileServer();
    return *server;
  }
  std::string url(std::string_view path) const { return url_ + std::string(path); }

 private:
  FileServer() : server_({"127.0.0.1", 0}, [](http::Request& r) { return handle(r); }, metrics_) {
    EXPECT_TRUE(server_.listen());
    url_ = "http://127.0.0.1:" + std::to_string(server_.port());
    std::thread([this] { server_.run(); }).detach();
  }
  static http::Response handle(http::Request& request) {
    if (request.path == "/files/tool.sh" || request.path == "/files/") {
      auto response = http::Response::text(200, "#!/bin/sh\necho downloaded\n");
      response.headers.set("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT");
      return response;
    }
    return http::Response::text(404, "not found");
  }

  http::Metrics metrics_;
  http::Server server_;
  std::string url_;
};

TEST_F(CopyTest, AddDownloadsAUrlAsA0600FileNamedFromItsPath) {
  auto& server = FileServer::instance();
  ASSERT_TRUE(add({server.url("/files/tool.sh?version=1")}, "/opt/"));
  auto st = lstat_of(image("opt/tool.sh"));
  EXPECT_EQ(read_file(image("opt/tool.sh")), "#!/bin/sh\necho downloaded\n");
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1445412480);  // Last-Modified

  ASSERT_TRUE(add({server.url("/files/tool.sh")}, "/bin/renamed"));
  EXPECT_TRUE(S_ISREG(lstat_of(image("bin/renamed")).st_mode));

  expect_failure(add({server.url("/files/none")}, "/opt/"), "COPY_DOWNLOAD_FAILED");
  EXPECT_FALSE(sfs::exists(image("opt/none")));

  expect_failure(add({server.url("/files/")}, "/opt/"), "COPY_INVALID");
}

TEST_F(CopyTest, AddOfAUrlInAnIsolatedBuildIsRefusedWithoutFetching) {
  auto& server = FileServer::instance();
  CopyOptions isolated;
  isolated.allow_network = false;
  auto refused = add({server.url("/files/tool.sh")}, "/opt/", isolated);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "COPY_INVALID");
  EXPECT_NE(refused.error().message.find("network_mode egress"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(sfs::exists(image("opt/tool.sh")));
}

TEST_F(CopyTest, HeredocFilesAreWrittenFromTheirContent) {
  CopySource one{context_.path(), true, nullptr, {}, {{"EOF", "echo hi\n"}}};
  CopyOptions options;
  options.source_date_epoch = 1700000000;
  ASSERT_TRUE(copy_into(rootfs_.path(), "/app/x.sh", one, options));
  EXPECT_EQ(read_file(image("app/x.sh")), "echo hi\n");
  EXPECT_EQ(lstat_of(image("app/x.sh")).st_mode & 07777, 0644u);
  EXPECT_EQ(lstat_of(image("app/x.sh")).st_mtim.tv_sec, 1700000000);

  CopySource two{context_.path(), true, nullptr, {}, {{"A", "a"}, {"B", "b"}}};
  options.chmod = 0755;
  ASSERT_TRUE(copy_into(rootfs_.path(), "/dir/", two, options));
  EXPECT_EQ(read_file(image("dir/B")), "b");
  EXPECT_EQ(lstat_of(image("dir/A")).st_mode & 07777, 0755u);
}

}  // namespace
}  // namespace strata::engine::fs
