// Upload sessions: rows in MetadataStore, data files under uploads/, running
// hashes in memory, one lock per session. See upload_store.h.
#include "registry/upload_store.h"

#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>

namespace strata::registry {
namespace {

namespace fs = std::filesystem;

// Lowercase 8-4-4-4-12 hex, the only form create() hands out. Checking it
// before building a path keeps "../" and friends away from the filesystem.
bool is_session_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> random_session_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return fail("INTERNAL", "random number generator failed");
  b[6] = (b[6] & 0x0f) | 0x40;  // RFC 9562 version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(text, 36);
}

std::unexpected<Error> unknown_upload(std::string_view uuid) {
  return fail("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", std::string(uuid));
}

}  // namespace

struct UploadStore::Session {
  std::mutex mutex;
  // Hash of the data file's content, when this process has it.
  std::optional<oci::Digester> hash;
};

Result<std::unique_ptr<UploadStore>> UploadStore::open(const fs::path& data_dir, BlobStore& blobs,
                                                       MetadataStore& metadata) {
  std::error_code ec;
  fs::create_directories(data_dir / "uploads", ec);
  if (ec) return fail("IO", "create directory " + (data_dir / "uploads").string() + ": " + ec.message());
  return std::unique_ptr<UploadStore>(new UploadStore(data_dir, blobs, metadata));
}

fs::path UploadStore::dir_of(const std::string& uuid) const { return data_dir_ / "uploads" / uuid; }
fs::path UploadStore::data_of(const std::string& uuid) const { return dir_of(uuid) / "data"; }

std::shared_ptr<UploadStore::Session> UploadStore::session(const std::string& uuid) {
  std::lock_guard lock(sessions_mutex_);
  auto& s = sessions_[uuid];
  if (!s) s = std::make_shared<Session>();
  return s;
}

void UploadStore::forget(const std::string& uuid) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(uuid);
}

Result<UploadRecord> UploadStore::find(const std::string& uuid, std::string_view repo) {
  if (!is_session_id(uuid)) return unknown_upload(uuid);
  auto record = metadata_.find_upload(uuid);
  if (!record) {
    if (record.error().code == "BLOB_UPLOAD_UNKNOWN") forget(uuid);
    return record;
  }
  if (record->repo != repo) return unknown_upload(uuid);
  std::error_code ec;
  if (!fs::exists(data_of(uuid), ec)) {
    // The data went away (crash during finish or cancel): the session is over.
    (void)remove(uuid);
    return unknown_upload(uuid);
  }
  return record;
}

Result<void> UploadStore::remove(const std::string& uuid) {
  // Row first: a crash after it leaves an orphan directory, which stale()
  // reports, rather than a row pointing at nothing.
  if (auto r = metadata_.remove_upload(uuid); !r) return r;
  std::error_code ec;
  fs::remove_all(dir_of(uuid), ec);
  forget(uuid);
  if (ec) return fail("IO", "remove " + dir_of(uuid).string() + ": " + ec.message());
  return {};
}

Result<std::string> UploadStore::create(std::string_view repo) {
  auto uuid = random_session_id();
  if (!uuid) return uuid;
  fs::path dir = dir_of(*uuid);
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) return fail("IO", "create " + dir.string() + ": " + ec.message());
  {
    FILE* data = std::fopen(data_of(*uuid).c_str(), "wx");
    if (!data) return fail("IO", "create " + data_of(*uuid).string());
    std::fclose(data);
  }
  if (auto r = metadata_.add_upload({*uuid, std::string(repo), Clock::now()}); !r) {
    fs::remove_all(dir, ec);
    return std::unexpected(r.error());
  }
  return uuid;
}

template <class Feed>
Result<std::uint64_t> UploadStore::append_from(const std::string& uuid, std::string_view repo,
                                               std::optional<std::uint64_t> start,
                                               const Feed& feed) {
  auto s = session(uuid);
  std::lock_guard lock(s->mutex);
  if (auto found = find(uuid, repo); !found) return std::unexpected(found.error());

  auto writer = blobs_.resume_writer(data_of(uuid), std::exchange(s->hash, std::nullopt));
  if (!writer) return std::unexpected(writer.error());
  std::uint64_t offset = writer->size();
  if (start && *start != offset) {
    if (auto hash = writer->suspend()) s->hash = std::move(*hash);
    return fail("RANGE_INVALID", "chunk must start at the current upload offset",
                "upload is at " + std::to_string(offset) + ", chunk starts at " +
                    std::to_string(*start));
  }
  auto fed = feed(*writer);
  offset = writer->size();
  auto hash = writer->suspend();
  if (hash) s->hash = std::move(*hash);
  if (!fed) return std::unexpected(fed.error());
  if (!hash) return std::unexpected(hash.error());
  return offset;
}

Result<std::uint64_t> UploadStore::append(const std::string& uuid, std::string_view repo,
                                          std::optional<std::uint64_t> start, const ReadFn& read) {
  return append_from(uuid, repo, start, [&](BlobWriter& w) { return w.write_from(read); });
}

Result<std::uint64_t> UploadStore::append(const std::string& uuid, std::string_view repo,
                                          std::optional<std::uint64_t> start,
                                          std::string_view bytes) {
  return append_from(uuid, repo, start, [&](BlobWriter& w) { return w.write(bytes); });
}

Result<UploadStatus> UploadStore::status(const std::string& uuid, std::string_view repo) {
  auto record = find(uuid, repo);
  if (!record) return std::unexpected(record.error());
  struct stat st{};
  if (::stat(data_of(uuid).c_str(), &st) != 0) return unknown_upload(uuid);
  return UploadStatus{record->repo, static_cast<std::uint64_t>(st.st_size), record->created};
}

Result<BlobInfo> UploadStore::finish(const std::string& uuid, std::string_view repo,
                                     const oci::Digest& expected) {
  auto s = session(uuid);
  std::lock_guard lock(s->mutex);
  if (auto found = find(uuid, repo); !found) return std::unexpected(found.error());

  auto writer = blobs_.resume_writer(data_of(uuid), std::exchange(s->hash, std::nullopt));
  if (!writer) return std::unexpected(writer.error());
  auto blob = writer->commit(expected);
  if (!blob) return blob;  // the data file is untouched; the hash is recomputed next time
  if (auto r = metadata_.complete_upload(uuid, expected); !r) return std::unexpected(r.error());
  std::error_code ec;
  fs::remove_all(dir_of(uuid), ec);
  forget(uuid);
  return blob;
}

Result<void> UploadStore::cancel(const std::string& uuid, std::string_view repo) {
  auto s = session(uuid);
  std::lock_guard lock(s->mutex);
  if (auto found = find(uuid, repo); !found) return std::unexpected(found.error());
  return remove(uuid);
}

Result<void> UploadStore::discard(const std::string& uuid) {
  if (!is_session_id(uuid)) return unknown_upload(uuid);
  auto s = session(uuid);
  std::lock_guard lock(s->mutex);
  return remove(uuid);
}

Result<std::vector<StaleUpload>> UploadStore::stale(Clock::time_point cutoff) {
  auto size_of = [&](const std::string& uuid) -> std::uint64_t {
    struct stat st{};
    return ::stat(data_of(uuid).c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  };
  auto old = metadata_.uploads_created_before(cutoff);
  if (!old) return std::unexpected(old.error());
  std::vector<StaleUpload> out;
  for (auto& u : *old) out.push_back({u.uuid, u.repo, size_of(u.uuid), u.created});

  std::error_code ec;
  fs::directory_iterator it(data_dir_ / "uploads", ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string uuid = it->path().filename().string();
    if (!is_session_id(uuid)) continue;  // not ours; leave it alone
    auto record = metadata_.find_upload(uuid);
    if (record || record.error().code != "BLOB_UPLOAD_UNKNOWN") continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    auto modified = Clock::from_time_t(st.st_mtim.tv_sec);
    if (modified < cutoff) out.push_back({uuid, "", size_of(uuid), modified});
  }
  if (ec) return fail("IO", "list " + (data_dir_ / "uploads").string() + ": " + ec.message());
  return out;
}

}  // namespace strata::registry
