#include "engine/build/blob_files.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

namespace strata::engine::build {
namespace fs = std::filesystem;

namespace {

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

File open_file(const fs::path& path, const char* mode) { return File(std::fopen(path.c_str(), mode), &std::fclose); }

}  // namespace

Result<void> download_blob(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                           const fs::path& path) {
  File file = open_file(path, "wb");
  if (!file) return fail("IO", fmt::format("cannot create {}", path.string()));
  auto fetched = client.fetch_blob(repository, digest, [&](std::string_view chunk) -> Result<void> {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file.get()) != chunk.size())
      return fail("IO", fmt::format("cannot write {}", path.string()));
    return {};
  });
  bool closed = std::fclose(file.release()) == 0;
  if (fetched && closed) return {};
  std::error_code ec;
  fs::remove(path, ec);
  if (!fetched) return std::unexpected(fetched.error());
  return fail("IO", fmt::format("cannot write {}", path.string()));
}

Result<void> upload_blob_file(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                              std::uint64_t size, const fs::path& path) {
  File file = open_file(path, "rb");
  if (!file) return fail("IO", fmt::format("cannot open {}", path.string()));
  return client.push_blob(repository, digest, size, [&](char* buffer, std::size_t n) -> Result<std::size_t> {
    std::size_t got = std::fread(buffer, 1, n, file.get());
    if (got == 0 && std::ferror(file.get())) return fail("IO", fmt::format("cannot read {}", path.string()));
    return got;
  });
}

Result<void> upload_blob_bytes(remote::RegistryClient& client, std::string_view repository, const oci::Digest& digest,
                               std::string_view bytes) {
  std::size_t offset = 0;
  return client.push_blob(repository, digest, bytes.size(), [&](char* buffer, std::size_t size) -> Result<std::size_t> {
    std::size_t n = std::min(size, bytes.size() - offset);
    std::copy_n(bytes.data() + offset, n, buffer);
    offset += n;
    return n;
  });
}

Result<void> copy_blob(remote::RegistryClient& from, std::string_view from_repository, remote::RegistryClient& to,
                       std::string_view to_repository, const oci::Digest& digest, std::uint64_t size,
                       const fs::path& scratch_file) {
  if (auto ok = download_blob(from, from_repository, digest, scratch_file); !ok) return ok;
  auto uploaded = upload_blob_file(to, to_repository, digest, size, scratch_file);
  std::error_code ec;
  fs::remove(scratch_file, ec);
  return uploaded;
}

}  // namespace strata::engine::build
