// Build context packing; see context_archive.h.
#include "cli/context_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/unique_fd.h"
#include "engine/dockerfile/dockerignore.h"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;
using engine::dockerfile::IgnoreRules;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Result<IgnoreRules> read_ignore_rules(const fs::path& context_dir) {
  std::ifstream in(context_dir / ".dockerignore", std::ios::binary);
  if (!in) return IgnoreRules::parse("");
  std::stringstream text;
  text << in.rdbuf();
  auto rules = IgnoreRules::parse(text.str());
  if (!rules) return fail(rules.error().code, ".dockerignore: " + rules.error().message);
  return rules;
}

// Writes entries of one context into an open archive, depth first, sorted.
class ContextWriter {
 public:
  ContextWriter(const fs::path& root, const IgnoreRules& rules, std::span<const std::string> always, archive* out)
      : root_(root), rules_(rules), always_(always), out_(out), entry_(archive_entry_new()) {}

  Result<void> write_dir(const std::string& rel) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(root_ / rel, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) return fail("IO", "cannot read " + (root_ / rel).string() + ": " + ec.message());
    std::ranges::sort(names);
    for (const auto& name : names) {
      auto written = write_path(rel.empty() ? name : rel + "/" + name);
      if (!written) return written;
    }
    return {};
  }

  std::uint64_t entries() const { return entries_; }

 private:
  bool always_sent(const std::string& rel) const { return std::ranges::find(always_, rel) != always_.end(); }

  bool leads_to_always_sent(const std::string& dir) const {
    return std::ranges::any_of(always_, [&](const std::string& p) { return p.starts_with(dir + "/"); });
  }

  Result<void> write_path(const std::string& rel) {
    fs::path path = root_ / rel;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return fail("IO", "cannot stat " + path.string());
    bool is_dir = S_ISDIR(st.st_mode);
    if (rules_.excluded(rel) && !always_sent(rel)) {
      if (is_dir && (rules_.may_contain_included(rel) || leads_to_always_sent(rel))) return write_dir(rel);
      return {};
    }
    if (!is_dir && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      std::fprintf(stderr, "strata build: skipping %s: not a file, directory or symlink\n", rel.c_str());
      return {};
    }
    auto header = write_header(rel, path, st);
    if (!header) return header;
    if (is_dir) return write_dir(rel);
    if (S_ISREG(st.st_mode)) return write_content(path);
    return {};
  }

  Result<void> write_header(const std::string& rel, const fs::path& path, const struct stat& st) {
    archive_entry* entry = entry_.get();
    archive_entry_clear(entry);
    archive_entry_copy_stat(entry, &st);
    archive_entry_set_pathname(entry, rel.c_str());
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_nlink(entry, 1);
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = fs::read_symlink(path, ec);
      if (ec) return fail("IO", "cannot read link " + path.string() + ": " + ec.message());
      archive_entry_set_symlink(entry, target.c_str());
      archive_entry_set_size(entry, 0);
    }
    if (S_ISDIR(st.st_mode)) archive_entry_set_size(entry, 0);
    if (archive_write_header(out_, entry) < ARCHIVE_WARN)
      return fail("INTERNAL", std::string("cannot write tar entry ") + rel + ": " + archive_error_string(out_));
    ++entries_;
    return {};
  }

  Result<void> write_content(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail("IO", "cannot open " + path.string());
    std::vector<char> buffer(64 * 1024);
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0) return fail("IO", "cannot read " + path.string());
      if (n == 0) return {};
      if (archive_write_data(out_, buffer.data(), static_cast<size_t>(n)) != n)
        return fail("INTERNAL", "cannot write " + path.string() + " into the archive: " + archive_error_string(out_));
    }
  }

  const fs::path& root_;
  const IgnoreRules& rules_;
  std::span<const std::string> always_;
  archive* out_;
  std::unique_ptr<archive_entry, EntryDeleter> entry_;
  std::uint64_t entries_ = 0;
};

// A fresh file in the temp dir, opened for writing.
Result<std::pair<fs::path, UniqueFd>> create_temp_file() {
  std::string name = (fs::temp_directory_path() / "strata-context-XXXXXX.tar.gz").string();
  int fd = ::mkstemps(name.data(), 7);
  if (fd < 0) return fail("IO", "cannot create a temporary file in " + fs::temp_directory_path().string());
  return std::pair{fs::path(name), UniqueFd(fd)};
}

}  // namespace

Result<std::unique_ptr<ContextArchive>> ContextArchive::pack(const fs::path& context_dir,
                                                             std::span<const std::string> always) {
  std::error_code ec;
  if (!fs::is_directory(context_dir, ec))
    return fail("IO", "build context " + context_dir.string() + " is not a directory");
  auto rules = read_ignore_rules(context_dir);
  if (!rules) return std::unexpected(rules.error());
  auto temp = create_temp_file();
  if (!temp) return std::unexpected(temp.error());
  auto& [path, fd] = *temp;
  // Owned from here on, so every failure below removes the file.
  std::unique_ptr<ContextArchive> packed(new ContextArchive(path, 0, 0));

  std::unique_ptr<archive, ArchiveDeleter> out(archive_write_new());
  if (archive_write_add_filter_gzip(out.get()) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted(out.get()) != ARCHIVE_OK ||
      archive_write_open_fd(out.get(), fd.get()) != ARCHIVE_OK)
    return fail("INTERNAL", std::string("cannot start the context archive: ") + archive_error_string(out.get()));
  ContextWriter writer(context_dir, *rules, always, out.get());
  if (auto written = writer.write_dir(""); !written) return std::unexpected(written.error());
  if (archive_write_close(out.get()) != ARCHIVE_OK)
    return fail("IO", std::string("cannot finish the context archive: ") + archive_error_string(out.get()));
  if (fd.close() != 0) return fail("IO", "cannot write " + path.string());
  packed->size_ = fs::file_size(path, ec);
  if (ec) return fail("IO", "cannot stat " + path.string() + ": " + ec.message());
  packed->entries_ = writer.entries();
  return packed;
}

ContextArchive::~ContextArchive() {
  std::error_code ec;
  fs::remove(path_, ec);
}

}  // namespace strata::cli
