// Blob files: buffered hashing writer, verify + fdatasync + link install, and
// read-side lookups. See blob_store.h for the contract.
#include "registry/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "registry/hashing_ring.h"

namespace strata::registry {
namespace {

namespace fs = std::filesystem;

// 1 MiB writes keep syscall count low without holding much memory; writeback
// is kicked every 8 MiB so dirty pages drain while the upload still streams.
constexpr std::size_t kBufferSize = HashingRing::kBufferSize;
constexpr std::uint64_t kWritebackWindow = 8 << 20;
// Direct I/O wants buffer address, file offset and length aligned to the
// device's logical block; 4 KiB covers every block device in use.
constexpr std::size_t kDirectAlignment = HashingRing::kAlignment;

bool direct_io_fits(const char* data, std::size_t size, std::uint64_t offset) {
  return reinterpret_cast<std::uintptr_t>(data) % kDirectAlignment == 0 &&
         size % kDirectAlignment == 0 && offset % kDirectAlignment == 0;
}

// Turns O_DIRECT on or off for an open file; false if the filesystem refuses.
bool set_direct_io(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  flags = on ? flags | O_DIRECT : flags & ~O_DIRECT;
  return ::fcntl(fd, F_SETFL, flags) == 0;
}

std::unexpected<Error> io_error(std::string_view what, const fs::path& path, int err = errno) {
  return fail("IO", std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

Result<void> fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync directory", dir, err);
  return {};
}

// Writes all of `data` at `offset`; 0 or the errno of the failed write.
int write_fully(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

// Hashes the first `size` bytes of an open file.
Result<oci::Digester> hash_file(int fd, oci::DigestAlgorithm algorithm, std::uint64_t size,
                                const fs::path& path) {
  oci::Digester hash(algorithm);
  auto buffer = std::make_unique<char[]>(kBufferSize);
  std::uint64_t offset = 0;
  while (offset < size) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kBufferSize, size - offset));
    ssize_t n = ::pread(fd, buffer.get(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path);
    }
    if (n == 0) return fail("IO", "file shrank while hashing", path.string());
    hash.update(buffer.get(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return hash;
}

fs::path temporary_name(const fs::path& data_dir) {
  static std::atomic<std::uint64_t> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return data_dir / "tmp" /
         (std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) + "-" +
          std::to_string(now));
}

Result<void> make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("IO", "create directory " + dir.string() + ": " + ec.message());
  return {};
}

// Calls `visit` for each entry of `dir`; a missing directory has no entries.
Result<void> for_each_entry(const fs::path& dir,
                            const std::function<Result<void>(const fs::path&)>& visit) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return {};
  for (; !ec && it != fs::directory_iterator(); it.increment(ec))
    if (auto r = visit(it->path()); !r) return r;
  if (ec) return fail("IO", "list " + dir.string() + ": " + ec.message());
  return {};
}

}  // namespace

// ---- BlobFile ---------------------------------------------------------------

BlobFile::~BlobFile() {
  if (fd_ >= 0) ::close(fd_);
}

BlobFile& BlobFile::operator=(BlobFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

// ---- BlobWriter -------------------------------------------------------------

struct BlobWriter::State {
  BlobStore store;
  fs::path file;
  int fd = -1;
  bool temporary = true;
  // Whole aligned buffers go to the disk with O_DIRECT: no copy into the
  // page cache and no writeback work, which is most of a buffered write's
  // cost. The first write that cannot be direct (a blob's unaligned tail, a
  // resumed file of odd size, a filesystem that refuses) turns it off for
  // good; durability still comes from the fdatasync in commit().
  bool direct = false;
  HashingRing ring;                  // the buffer being filled; hashes what was written
  std::uint64_t written = 0;         // bytes in the file, all handed to the ring
  std::uint64_t writeback_from = 0;  // writeback requested for [0, writeback_from)
  std::size_t buffered = 0;          // bytes in ring.buffer() not written yet
  bool failed = false;
  bool finished = false;

  State(BlobStore s, fs::path f, int d, bool temp, oci::Digester h, std::uint64_t size)
      : store(std::move(s)), file(std::move(f)), fd(d), temporary(temp), ring(std::move(h)),
        written(size), writeback_from(size) {
    direct = written % kDirectAlignment == 0 && set_direct_io(fd, true);
  }

  // A temporary name is unique to this writer, so unlinking it again after a
  // successful install (ENOENT) is harmless and covers every failure path.
  ~State() {
    if (fd >= 0) ::close(fd);
    if (temporary) ::unlink(file.c_str());
  }

  Result<void> usable() const {
    if (finished) return fail("INTERNAL", "blob writer used after commit or suspend");
    if (failed) return fail("IO", "blob writer failed earlier; no more data accepted", file.string());
    return {};
  }

  void leave_direct_io() {
    direct = false;
    writeback_from = written;  // nothing direct is left dirty
    (void)set_direct_io(fd, false);
  }

  // Writes the filled buffer to the file, then hands it to the ring for
  // hashing, so the hash never covers bytes the file lacks; a failed write
  // is cut back off.
  Result<void> flush() {
    if (buffered == 0) return {};
    const char* data = ring.buffer();
    std::size_t size = std::exchange(buffered, 0);
    if (direct && !direct_io_fits(data, size, written)) leave_direct_io();
    int err = write_fully(fd, data, size, written);
    if (err == EINVAL && direct) {  // alignment stricter than ours: go buffered
      leave_direct_io();
      err = write_fully(fd, data, size, written);
    }
    if (err != 0) {
      failed = true;
      (void)::ftruncate(fd, static_cast<off_t>(written));
      return io_error("write", file, err);
    }
    ring.hash_buffer(size);
    written += size;
    if (!direct && written - writeback_from >= kWritebackWindow) {
      ::sync_file_range(fd, static_cast<off_t>(writeback_from),
                        static_cast<off_t>(written - writeback_from), SYNC_FILE_RANGE_WRITE);
      writeback_from = written;
    }
    return {};
  }

  void close_file() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    finished = true;
  }

  // Ends a commit that failed: a temporary file goes at once (the writer
  // object may live on), a resumed file stays for another try.
  void abandon() {
    close_file();
    if (temporary) ::unlink(file.c_str());
  }
};

BlobWriter::BlobWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlobWriter::~BlobWriter() = default;
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;

std::uint64_t BlobWriter::size() const { return state_->written + state_->buffered; }

Result<void> BlobWriter::write(std::string_view data) {
  State& s = *state_;
  if (auto r = s.usable(); !r) return r;
  while (!data.empty()) {
    std::size_t take = std::min(kBufferSize - s.buffered, data.size());
    std::memcpy(s.ring.buffer() + s.buffered, data.data(), take);
    s.buffered += take;
    data.remove_prefix(take);
    if (s.buffered == kBufferSize)
      if (auto r = s.flush(); !r) return r;
  }
  return {};
}

Result<void> BlobWriter::write_from(const ReadFn& read) {
  State& s = *state_;
  if (auto r = s.usable(); !r) return r;
  for (;;) {
    if (s.buffered == kBufferSize)
      if (auto r = s.flush(); !r) return r;
    auto n = read(s.ring.buffer() + s.buffered, kBufferSize - s.buffered);
    if (!n) {
      (void)s.flush();  // keep what arrived before the stream broke
      return std::unexpected(n.error());
    }
    if (*n == 0) return {};
    s.buffered += *n;
  }
}

Result<BlobInfo> BlobWriter::commit(const oci::Digest& expected) {
  State& s = *state_;
  if (auto r = s.usable(); !r) return std::unexpected(r.error());
  if (auto r = s.flush(); !r) return std::unexpected(r.error());

  oci::Digest actual = s.ring.digester().finish();
  if (expected.algorithm() != actual.algorithm()) {
    s.leave_direct_io();  // the re-read uses an ordinary, unaligned buffer
    auto rehashed = hash_file(s.fd, expected.algorithm(), s.written, s.file);
    if (!rehashed) {
      s.abandon();
      return std::unexpected(rehashed.error());
    }
    actual = rehashed->finish();
  }
  if (actual != expected) {
    s.abandon();
    return fail("DIGEST_INVALID", "uploaded content does not match the digest given",
                "expected " + expected.str() + ", content is " + actual.str());
  }

  if (::fdatasync(s.fd) != 0) {
    auto err = io_error("fdatasync", s.file);
    s.abandon();
    return err;
  }
  std::uint64_t size = s.written;
  s.close_file();

  fs::path target = s.store.path_of(expected);
  fs::path dir = target.parent_path();
  std::error_code ec;
  bool dir_existed = fs::exists(dir, ec);
  if (auto r = make_dirs(dir); !r) return std::unexpected(r.error());
  if (!dir_existed) {
    // New fan-out (and maybe algorithm) directory: their entries must be
    // durable too, or the blob could vanish with them after a crash.
    for (const fs::path& parent : {dir.parent_path(), dir.parent_path().parent_path()})
      if (auto r = fsync_dir(parent); !r) return std::unexpected(r.error());
  }

  // link(2) never replaces an existing name, so the first commit of a digest
  // wins and later ones see EEXIST and simply drop their copy.
  if (::link(s.file.c_str(), target.c_str()) != 0) {
    if (errno != EEXIST) return io_error("link blob into place", target);
    ::utimensat(AT_FDCWD, target.c_str(), nullptr, 0);  // recent use shields it from gc
    ::unlink(s.file.c_str());
  } else {
    ::unlink(s.file.c_str());
    if (auto r = fsync_dir(dir); !r) return std::unexpected(r.error());
  }
  return BlobInfo{expected, size, std::chrono::system_clock::now()};
}

Result<oci::Digester> BlobWriter::suspend() {
  State& s = *state_;
  if (s.temporary) return fail("INTERNAL", "only a resumed blob writer can be suspended");
  // A failed writer may still suspend: its file was cut back to what the
  // hash covers, so the session can continue from there.
  if (s.finished) return fail("INTERNAL", "blob writer used after commit or suspend");
  auto flushed = s.flush();
  s.close_file();
  if (!flushed) return std::unexpected(flushed.error());
  return std::move(s.ring.digester());
}

// ---- BlobStore --------------------------------------------------------------

Result<BlobStore> BlobStore::open(fs::path data_dir) {
  for (const char* sub : {"blobs", "tmp"})
    if (auto r = make_dirs(data_dir / sub); !r) return std::unexpected(r.error());
  return BlobStore(std::move(data_dir));
}

fs::path BlobStore::path_of(const oci::Digest& digest) const {
  const std::string& hex = digest.hex();
  return data_dir_ / "blobs" / std::string(digest.algorithm_name()) / hex.substr(0, 2) / hex;
}

Result<BlobWriter> BlobStore::create_writer() const {
  for (;;) {
    fs::path file = temporary_name(data_dir_);
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return io_error("create temporary file", file);
    }
    return BlobWriter(std::make_unique<BlobWriter::State>(*this, std::move(file), fd, true,
                                                          oci::Digester(), 0));
  }
}

Result<BlobWriter> BlobStore::resume_writer(const fs::path& file,
                                            std::optional<oci::Digester> hash) const {
  int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return io_error("open", file);
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    auto err = io_error("stat", file);
    ::close(fd);
    return err;
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (!hash || hash->bytes() != size) {
    auto rehashed = hash_file(fd, oci::DigestAlgorithm::sha256, size, file);
    if (!rehashed) {
      ::close(fd);
      return std::unexpected(rehashed.error());
    }
    hash = std::move(*rehashed);
  }
  return BlobWriter(
      std::make_unique<BlobWriter::State>(*this, file, fd, false, std::move(*hash), size));
}

Result<BlobInfo> BlobStore::put(std::string_view content, const oci::Digest& expected) const {
  auto writer = create_writer();
  if (!writer) return std::unexpected(writer.error());
  if (auto r = writer->write(content); !r) return std::unexpected(r.error());
  return writer->commit(expected);
}

Result<BlobInfo> BlobStore::stat(const oci::Digest& digest) const {
  fs::path path = path_of(digest);
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return fail("BLOB_UNKNOWN", "blob unknown to registry", digest.str());
    return io_error("stat", path);
  }
  return BlobInfo{digest, static_cast<std::uint64_t>(st.st_size), mtime_of(st)};
}

Result<BlobFile> BlobStore::open_blob(const oci::Digest& digest) const {
  fs::path path = path_of(digest);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail("BLOB_UNKNOWN", "blob unknown to registry", digest.str());
    return io_error("open", path);
  }
  BlobFile file(fd, 0);
  struct stat st{};
  if (::fstat(fd, &st) != 0) return io_error("stat", path);
  return BlobFile(file.release(), static_cast<std::uint64_t>(st.st_size));
}

Result<std::string> BlobStore::read(const oci::Digest& digest, std::size_t limit) const {
  auto file = open_blob(digest);
  if (!file) return std::unexpected(file.error());
  if (file->size() > limit)
    return fail("SIZE_INVALID", "blob is larger than " + std::to_string(limit) + " bytes",
                digest.str());
  std::string content(file->size(), '\0');
  std::size_t got = 0;
  while (got < content.size()) {
    ssize_t n = ::pread(file->fd(), content.data() + got, content.size() - got,
                        static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path_of(digest));
    }
    if (n == 0) return fail("IO", "blob shorter than its size", path_of(digest).string());
    got += static_cast<std::size_t>(n);
  }
  return content;
}

Result<void> BlobStore::remove(const oci::Digest& digest) const {
  fs::path path = path_of(digest);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return fail("BLOB_UNKNOWN", "blob unknown to registry", digest.str());
    return io_error("remove", path);
  }
  return {};
}

Result<std::vector<BlobInfo>> BlobStore::list() const {
  std::vector<BlobInfo> blobs;
  for (const char* algorithm : {"sha256", "sha512"}) {
    auto listed = for_each_entry(data_dir_ / "blobs" / algorithm, [&](const fs::path& fanout) {
      return for_each_entry(fanout, [&](const fs::path& file) -> Result<void> {
        auto digest = oci::Digest::parse(std::string(algorithm) + ":" + file.filename().string());
        if (!digest) return {};  // not ours
        auto info = stat(*digest);
        if (info) blobs.push_back(std::move(*info));
        return {};
      });
    });
    if (!listed) return std::unexpected(listed.error());
  }
  return blobs;
}

Result<std::vector<TemporaryFile>> BlobStore::temporaries() const {
  std::vector<TemporaryFile> files;
  auto listed = for_each_entry(data_dir_ / "tmp", [&](const fs::path& file) -> Result<void> {
    struct stat st{};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      files.push_back({file, static_cast<std::uint64_t>(st.st_size), mtime_of(st)});
    return {};
  });
  if (!listed) return std::unexpected(listed.error());
  return files;
}

}  // namespace strata::registry
