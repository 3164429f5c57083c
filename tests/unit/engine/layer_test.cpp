// Layer writer and reader: deterministic OCI layer tars from overlay upper
// dirs, both compressions, diff-ids, whiteouts in both apply modes, and
// refusal of tarballs that try to write outside the unpack root.
// Runs as root (device nodes, trusted.* xattrs, ownership).
#include "support/temp_dir.h"
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "engine/layer/layer_reader.h"
#include "engine/layer/layer_writer.h"
#include "oci/digest.h"

namespace strata::engine::layer {
namespace {

namespace fs = std::filesystem;

using strata::testing::TempDir;

void write_file(const fs::path& path, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> xattr(const fs::path& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

// security.capability v2 granting cap_net_raw (13), effective.
std::string net_raw_capability() {
  std::uint32_t words[5] = {0x02000001, 1u << 13, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

// Sets every mtime below root (children before parents) to `seconds`.
void set_all_mtimes(const fs::path& root, time_t seconds) {
  std::vector<fs::path> paths;
  for (auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path());
  paths.push_back(root);
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    timespec t[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, it->c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << *it;
  }
}

// An upper dir with one of everything a RUN step can leave behind.
void make_rich_upper(const fs::path& upper, time_t mtime = 1'600'000'000) {
  write_file(upper / "bin/tool", "#!/bin/sh\necho tool\n", 0755);
  ASSERT_EQ(::chmod((upper / "bin/tool").c_str(), 04755), 0);
  auto cap = net_raw_capability();
  ASSERT_EQ(::setxattr((upper / "bin/tool").c_str(), "security.capability", cap.data(), cap.size(), 0), 0);
  write_file(upper / "etc/config", "key=value\n");
  ASSERT_EQ(::chown((upper / "etc/config").c_str(), 1000, 1001), 0);
  fs::create_symlink("config", upper / "etc/link");
  fs::create_hard_link(upper / "etc/config", upper / "etc/hard");
  fs::create_directories(upper / "run");
  ASSERT_EQ(::mkfifo((upper / "run/fifo").c_str(), 0600), 0);
  fs::create_directories(upper / "dev");
  ASSERT_EQ(::mknod((upper / "dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod((upper / "gone").c_str(), S_IFCHR, makedev(0, 0)), 0);
  write_file(upper / "opq/new", "fresh\n");
  ASSERT_EQ(::setxattr((upper / "opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_EQ(::chmod((upper / "opq").c_str(), 01777), 0);
  set_all_mtimes(upper, mtime);
}

struct TarItem {
  std::string name;
  mode_t type = 0;
  mode_t perm = 0;
  la_int64_t uid = 0, gid = 0, size = 0;
  time_t mtime = 0;
  std::string symlink, hardlink, uname, gname;
  std::map<std::string, std::string> xattrs;
};

// Reads a layer blob back with libarchive's own decompressors.
std::vector<TarItem> list_tar(const fs::path& blob) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  std::vector<TarItem> items;
  EXPECT_EQ(archive_read_open_filename(a, blob.c_str(), 65536), ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarItem item;
    item.name = archive_entry_pathname(e);
    item.type = archive_entry_filetype(e);
    item.perm = archive_entry_perm(e);
    item.uid = archive_entry_uid(e);
    item.gid = archive_entry_gid(e);
    item.size = archive_entry_size(e);
    item.mtime = archive_entry_mtime(e);
    if (auto s = archive_entry_symlink(e)) item.symlink = s;
    if (auto s = archive_entry_hardlink(e)) item.hardlink = s;
    if (auto s = archive_entry_uname(e)) item.uname = s;
    if (auto s = archive_entry_gname(e)) item.gname = s;
    archive_entry_xattr_reset(e);
    const char* k;
    const void* v;
    size_t n;
    while (archive_entry_xattr_next(e, &k, &v, &n) == ARCHIVE_OK)
      item.xattrs[k] = std::string(static_cast<const char*>(v), n);
    items.push_back(item);
  }
  archive_read_free(a);
  return items;
}

// The uncompressed stream of a blob, decompressed by libarchive (not by the
// code under test).
std::string decompress(const fs::path& blob) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  std::string out;
  EXPECT_EQ(archive_read_open_filename(a, blob.c_str(), 65536), ARCHIVE_OK);
  archive_entry* e;
  if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  archive_read_free(a);
  return out;
}

// What a filesystem comparison looks at, per path.
std::map<std::string, std::string> describe_tree(const fs::path& root) {
  std::map<std::string, std::string> tree;
  std::map<std::pair<dev_t, ino_t>, std::string> first_of_inode;
  for (auto& entry : fs::recursive_directory_iterator(root)) {
    struct stat st;
    ::lstat(entry.path().c_str(), &st);
    std::string rel = fs::relative(entry.path(), root).string();
    std::ostringstream d;
    d << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) d << " data=" << read_file(entry.path());
    if (S_ISLNK(st.st_mode)) d << " -> " << fs::read_symlink(entry.path()).string();
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) d << " dev=" << major(st.st_rdev) << "," << minor(st.st_rdev);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
      d << " inode-of=" << first_of_inode.try_emplace({st.st_dev, st.st_ino}, rel).first->second;
    if (auto cap = xattr(entry.path(), "security.capability")) d << " cap=" << cap->size();
    if (auto opq = xattr(entry.path(), "trusted.overlay.opaque")) d << " opaque=" << *opq;
    tree[rel] = d.str();
  }
  return tree;
}

oci::Digest sha256_of_file(const fs::path& path) {
  return oci::Digest::of(oci::DigestAlgorithm::sha256, read_file(path));
}

LayerInfo write_ok(const fs::path& upper, const fs::path& blob, LayerWriteOptions options = {}) {
  auto info = write_layer(upper, blob, options);
  EXPECT_TRUE(info.has_value()) << (info ? "" : info.error().message + " " + info.error().detail);
  EXPECT_TRUE(info && info->has_value()) << "layer unexpectedly empty";
  return **info;
}

AppliedLayer apply_ok(const fs::path& blob, const fs::path& target, ApplyMode mode) {
  auto applied = apply_layer(blob, target, {.mode = mode, .expected_diff_id = std::nullopt});
  EXPECT_TRUE(applied.has_value()) << (applied ? "" : applied.error().message + " " + applied.error().detail);
  return *applied;
}

LayerWriteOptions compressed(LayerCompression compression) {
  LayerWriteOptions options;
  options.compression = compression;
  return options;
}

LayerWriteOptions clamped_to(std::int64_t epoch) {
  LayerWriteOptions options;
  options.source_date_epoch = epoch;
  return options;
}

class LayerCompressionTest : public ::testing::TestWithParam<LayerCompression> {};

TEST_P(LayerCompressionTest, WritingTheSameUpperDirTwiceGivesTheSameBlob) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper");
  auto first = write_ok(tmp.path() / "upper", tmp.path() / "one", compressed(GetParam()));
  auto second = write_ok(tmp.path() / "upper", tmp.path() / "two", compressed(GetParam()));
  EXPECT_EQ(first.digest, second.digest);
  EXPECT_EQ(first.diff_id, second.diff_id);
  EXPECT_EQ(read_file(tmp.path() / "one"), read_file(tmp.path() / "two"));
}

TEST_P(LayerCompressionTest, DigestSizeAndDiffIdDescribeTheBlobAndItsUncompressedTar) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper");
  auto blob = tmp.path() / "blob";
  auto info = write_ok(tmp.path() / "upper", blob, compressed(GetParam()));
  EXPECT_EQ(info.digest, sha256_of_file(blob));
  EXPECT_EQ(info.size, fs::file_size(blob));
  EXPECT_EQ(info.media_type, media_type_of(GetParam()));
  std::string tar = decompress(blob);
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_EQ(info.diff_id, oci::Digest::of(oci::DigestAlgorithm::sha256, tar));
  EXPECT_FALSE(fs::exists(blob.string() + ".partial"));
}

TEST_P(LayerCompressionTest, FlattenedUnpackReproducesTheUpperDir) {
  TempDir tmp;
  auto upper = tmp.path() / "upper";
  make_rich_upper(upper);
  auto info = write_ok(upper, tmp.path() / "blob", compressed(GetParam()));
  fs::create_directories(tmp.path() / "rootfs");
  auto applied = apply_ok(tmp.path() / "blob", tmp.path() / "rootfs", ApplyMode::flatten);
  EXPECT_EQ(applied.diff_id, info.diff_id);
  EXPECT_EQ(applied.compression, GetParam());

  auto expected = describe_tree(upper);
  expected.erase("gone");          // a whiteout over nothing leaves nothing
  expected["opq"] = describe_tree(tmp.path() / "rootfs")["opq"];  // checked below
  EXPECT_EQ(describe_tree(tmp.path() / "rootfs"), expected);

  struct stat st;
  ASSERT_EQ(::lstat((tmp.path() / "rootfs/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(xattr(tmp.path() / "rootfs/bin/tool", "security.capability"), net_raw_capability());
  ASSERT_EQ(::lstat((tmp.path() / "rootfs/opq").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  EXPECT_EQ(st.st_mtime, 1'600'000'000);
  EXPECT_FALSE(xattr(tmp.path() / "rootfs/opq", "trusted.overlay.opaque"));
}

INSTANTIATE_TEST_SUITE_P(Compressions, LayerCompressionTest,
                         ::testing::Values(LayerCompression::gzip, LayerCompression::zstd,
                                           LayerCompression::none));

TEST(LayerWriterTest, SourceDateEpochMakesDifferentMtimesGiveTheSameLayer) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "a", 2'000'000'000);
  make_rich_upper(tmp.path() / "b", 1'900'000'000);
  auto clamped = clamped_to(1'700'000'000);
  auto a = write_ok(tmp.path() / "a", tmp.path() / "a.blob", clamped);
  auto b = write_ok(tmp.path() / "b", tmp.path() / "b.blob", clamped);
  EXPECT_EQ(a.digest, b.digest);
  for (const auto& item : list_tar(tmp.path() / "a.blob"))
    EXPECT_LE(item.mtime, 1'700'000'000) << item.name;

  auto a_raw = write_ok(tmp.path() / "a", tmp.path() / "a.raw");
  auto b_raw = write_ok(tmp.path() / "b", tmp.path() / "b.raw");
  EXPECT_NE(a_raw.digest, b_raw.digest);
}

TEST(LayerWriterTest, SourceDateEpochKeepsOlderMtimes) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper", 1'000'000'000);
  write_ok(tmp.path() / "upper", tmp.path() / "blob", clamped_to(1'700'000'000));
  for (const auto& item : list_tar(tmp.path() / "blob")) {
    if (item.name.ends_with(".wh..wh..opq") || item.name == ".wh.gone") continue;
    EXPECT_EQ(item.mtime, 1'000'000'000) << item.name;
  }
}

TEST(LayerWriterTest, TarEntriesAreSortedAndCarryWhiteoutsLinksAndAttributes) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper");
  write_ok(tmp.path() / "upper", tmp.path() / "blob");
  auto items = list_tar(tmp.path() / "blob");
  std::vector<std::string> names;
  std::map<std::string, TarItem> by_name;
  for (const auto& item : items) {
    std::string name = item.name;
    if (name.ends_with('/')) name.pop_back();
    names.push_back(name);
    by_name[name] = item;
  }
  EXPECT_EQ(names, (std::vector<std::string>{".wh.gone", "bin", "bin/tool", "dev", "dev/null", "etc",
                                             "etc/config", "etc/hard", "etc/link", "opq",
                                             "opq/.wh..wh..opq", "opq/new", "run", "run/fifo"}));
  for (const auto& item : items) {
    EXPECT_EQ(item.uname, "") << item.name;
    EXPECT_EQ(item.gname, "") << item.name;
    EXPECT_FALSE(item.xattrs.contains("trusted.overlay.opaque")) << item.name;
  }
  EXPECT_EQ(by_name[".wh.gone"].type, AE_IFREG);
  EXPECT_EQ(by_name[".wh.gone"].size, 0);
  EXPECT_EQ(by_name["opq/.wh..wh..opq"].type, AE_IFREG);
  EXPECT_EQ(by_name["bin/tool"].perm, 04755u);
  EXPECT_EQ(by_name["bin/tool"].xattrs["security.capability"], net_raw_capability());
  EXPECT_EQ(by_name["etc/config"].uid, 1000);
  EXPECT_EQ(by_name["etc/config"].gid, 1001);
  EXPECT_EQ(by_name["etc/config"].size, 10);
  EXPECT_EQ(by_name["etc/hard"].hardlink, "etc/config");
  EXPECT_EQ(by_name["etc/link"].type, AE_IFLNK);
  EXPECT_EQ(by_name["etc/link"].symlink, "config");
  EXPECT_EQ(by_name["run/fifo"].type, AE_IFIFO);
  EXPECT_EQ(by_name["dev/null"].type, AE_IFCHR);
  EXPECT_EQ(by_name["opq"].perm, 01777u);
}

TEST(LayerWriterTest, EmptyUpperDirIsReportedAsEmptyWithoutABlob) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "upper");
  auto info = write_layer(tmp.path() / "upper", tmp.path() / "blob");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->has_value());
  EXPECT_FALSE(fs::exists(tmp.path() / "blob"));
  EXPECT_FALSE(fs::exists(tmp.path() / "blob.partial"));
}

TEST(LayerWriterTest, NamesReservedForWhiteoutsAreRefused) {
  TempDir tmp;
  write_file(tmp.path() / "upper/.wh.sneaky", "x");
  auto info = write_layer(tmp.path() / "upper", tmp.path() / "blob");
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code, "LAYER_UNSUPPORTED");
  EXPECT_FALSE(fs::exists(tmp.path() / "blob"));
}

TEST(LayerReaderTest, OverlayLowerUnpackUsesOverlayWhiteoutsAndRewritesToTheSameLayer) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper");
  auto info = write_ok(tmp.path() / "upper", tmp.path() / "blob");
  auto lower = tmp.path() / "lower";
  fs::create_directories(lower);
  apply_ok(tmp.path() / "blob", lower, ApplyMode::overlay_lower);

  struct stat st;
  ASSERT_EQ(::lstat((lower / "gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(xattr(lower / "opq", "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(fs::exists(lower / "opq/.wh..wh..opq"));

  auto again = write_ok(lower, tmp.path() / "again");
  EXPECT_EQ(again.diff_id, info.diff_id);
}

TEST(LayerReaderTest, FlattenAppliesWhiteoutsAndOpaqueDirsOverALowerLayer) {
  TempDir tmp;
  auto base = tmp.path() / "base";
  write_file(base / "keep", "kept\n");
  write_file(base / "gone", "old\n");
  write_file(base / "gonedir/sub/file", "old\n");
  write_file(base / "opq/old", "old\n");
  write_file(base / "opq/sub/old2", "old\n");
  auto step = tmp.path() / "step";
  fs::create_directories(step / "opq/sub");
  ASSERT_EQ(::mknod((step / "gone").c_str(), S_IFCHR, makedev(0, 0)), 0);
  ASSERT_EQ(::mknod((step / "gonedir").c_str(), S_IFCHR, makedev(0, 0)), 0);
  write_file(step / "opq/new", "new\n");
  write_file(step / "opq/sub/new2", "new\n");
  ASSERT_EQ(::setxattr((step / "opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);

  write_ok(base, tmp.path() / "base.blob");
  write_ok(step, tmp.path() / "step.blob", compressed(LayerCompression::zstd));
  auto rootfs = tmp.path() / "rootfs";
  fs::create_directories(rootfs);
  apply_ok(tmp.path() / "base.blob", rootfs, ApplyMode::flatten);
  apply_ok(tmp.path() / "step.blob", rootfs, ApplyMode::flatten);

  std::vector<std::string> paths;
  for (auto& e : fs::recursive_directory_iterator(rootfs))
    paths.push_back(fs::relative(e.path(), rootfs).string());
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"keep", "opq", "opq/new", "opq/sub", "opq/sub/new2"}));
}

TEST(LayerReaderTest, WrongExpectedDiffIdIsRejected) {
  TempDir tmp;
  make_rich_upper(tmp.path() / "upper");
  write_ok(tmp.path() / "upper", tmp.path() / "blob");
  fs::create_directories(tmp.path() / "rootfs");
  auto wrong = oci::Digest::of(oci::DigestAlgorithm::sha256, "something else");
  auto applied = apply_layer(tmp.path() / "blob", tmp.path() / "rootfs",
                             {.mode = ApplyMode::flatten, .expected_diff_id = wrong});
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, "DIGEST_INVALID");
}

TEST(LayerReaderTest, TruncatedBlobIsRejected) {
  for (auto compression : {LayerCompression::gzip, LayerCompression::zstd}) {
    TempDir tmp;
    write_file(tmp.path() / "upper/data", std::string(100'000, 'x'));
    auto info = write_ok(tmp.path() / "upper", tmp.path() / "blob", compressed(compression));
    fs::resize_file(tmp.path() / "blob", info.size / 2);
    fs::create_directories(tmp.path() / "rootfs");
    auto applied = apply_layer(tmp.path() / "blob", tmp.path() / "rootfs");
    ASSERT_FALSE(applied.has_value());
    EXPECT_EQ(applied.error().code, "LAYER_INVALID") << applied.error().message;
  }
}

struct CraftedEntry {
  std::string name;
  mode_t type;       // 0: a hard link
  std::string link;  // symlink or hard-link target
  std::string content;
};

CraftedEntry crafted_file(std::string name, std::string content = "evil\n") {
  return {std::move(name), AE_IFREG, "", std::move(content)};
}
CraftedEntry crafted_dir(std::string name) { return {std::move(name), AE_IFDIR, "", ""}; }
CraftedEntry crafted_symlink(std::string name, std::string target) {
  return {std::move(name), AE_IFLNK, std::move(target), ""};
}
CraftedEntry crafted_hardlink(std::string name, std::string target) {
  return {std::move(name), 0, std::move(target), ""};
}

void write_crafted_tar(const fs::path& path, const std::vector<CraftedEntry>& entries) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& c : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, c.name.c_str());
    archive_entry_set_perm(e, 0644);
    if (c.type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, c.link.c_str());
    } else {
      archive_entry_set_filetype(e, c.type);
      if (c.type == AE_IFLNK) archive_entry_set_symlink(e, c.link.c_str());
      if (c.type == AE_IFREG) archive_entry_set_size(e, static_cast<la_int64_t>(c.content.size()));
    }
    archive_write_header(a, e);
    if (c.type == AE_IFREG) archive_write_data(a, c.content.data(), c.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

TEST(LayerReaderTest, TarballsReachingOutsideTheRootAreRefusedAndWriteNothingThere) {
  TempDir tmp;
  auto outside = tmp.path() / "outside";
  write_file(outside / "secret", "secret\n");
  std::string tag = "strata-layer-test-" + std::to_string(::getpid());
  std::vector<std::pair<std::string, std::vector<CraftedEntry>>> attacks = {
      {"dotdot", {crafted_file("../" + tag)}},
      {"nested dotdot", {crafted_file("a/../../" + tag)}},
      {"absolute", {crafted_file("/tmp/" + tag)}},
      {"absolute symlink parent", {crafted_symlink("a", "/etc"), crafted_file("a/" + tag)}},
      {"symlink to outside dir", {crafted_symlink("b", outside.string()), crafted_file("b/" + tag)}},
      {"relative symlink climbing out",
       {crafted_symlink("c", "../outside"), crafted_file("c/" + tag)}},
      {"hard link out", {crafted_hardlink("h", "../outside/secret")}},
      {"hard link through symlink",
       {crafted_symlink("d", "../outside"), crafted_hardlink("h", "d/secret")}},
      {"whiteout through symlink",
       {crafted_symlink("e", "../outside"), crafted_file("e/.wh.secret")}},
      {"opaque marker through symlink",
       {crafted_symlink("f", "../outside"), crafted_file("f/.wh..wh..opq")}},
  };
  for (auto mode : {ApplyMode::flatten, ApplyMode::overlay_lower}) {
    for (const auto& [label, entries] : attacks) {
      auto blob = tmp.path() / "evil.tar";
      write_crafted_tar(blob, entries);
      auto root = tmp.path() / "root";
      fs::remove_all(root);
      fs::create_directories(root);
      auto applied = apply_layer(blob, root, {.mode = mode, .expected_diff_id = std::nullopt});
      ASSERT_FALSE(applied.has_value()) << label;
      EXPECT_EQ(applied.error().code, "LAYER_INVALID") << label << ": " << applied.error().message;
      for (const auto& escaped : {tmp.path() / tag, fs::path("/tmp") / tag, fs::path("/etc") / tag,
                                  outside / tag}) {
        EXPECT_FALSE(fs::exists(escaped)) << label << " wrote " << escaped;
        fs::remove(escaped);  // keep a regression from littering the host
      }
      EXPECT_EQ(read_file(outside / "secret"), "secret\n") << label;
      struct stat st;
      ASSERT_EQ(::stat((outside / "secret").c_str(), &st), 0);
      EXPECT_EQ(st.st_nlink, 1u) << label;
      EXPECT_FALSE(xattr(outside, "trusted.overlay.opaque")) << label;
    }
  }
}

TEST(LayerReaderTest, SymlinksInsideTheRootAreFollowedForLaterEntries) {
  TempDir tmp;
  write_crafted_tar(tmp.path() / "blob", {crafted_dir("real"),
                                          crafted_symlink("alias", "real"),
                                          crafted_file("alias/file", "ok\n")});
  fs::create_directories(tmp.path() / "root");
  apply_ok(tmp.path() / "blob", tmp.path() / "root", ApplyMode::flatten);
  EXPECT_EQ(read_file(tmp.path() / "root/real/file"), "ok\n");
}

TEST(LayerReaderTest, MissingParentDirectoriesAreCreated) {
  TempDir tmp;
  write_crafted_tar(tmp.path() / "blob", {crafted_file("usr/local/bin/app", "app\n")});
  fs::create_directories(tmp.path() / "root");
  apply_ok(tmp.path() / "blob", tmp.path() / "root", ApplyMode::overlay_lower);
  EXPECT_EQ(read_file(tmp.path() / "root/usr/local/bin/app"), "app\n");
  EXPECT_EQ(fs::status(tmp.path() / "root/usr/local").permissions(), fs::perms(0755));
}

}  // namespace
}  // namespace strata::engine::layer
