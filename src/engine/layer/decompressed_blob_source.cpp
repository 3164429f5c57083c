// Decompressed blob source on zlib (gzip, including concatenated members) and
// libzstd (any number of frames).
#include "engine/layer/decompressed_blob_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/layer/file_descriptor.h"

namespace strata::engine::layer {
namespace {

constexpr std::size_t kBuffer = 256 * 1024;
constexpr std::array<unsigned char, 2> kGzipMagic = {0x1f, 0x8b};
constexpr std::array<unsigned char, 4> kZstdMagic = {0x28, 0xb5, 0x2f, 0xfd};

template <std::size_t N>
bool starts_with(std::span<const unsigned char> data, const std::array<unsigned char, N>& magic) {
  return data.size() >= N && std::memcmp(data.data(), magic.data(), N) == 0;
}

}  // namespace

struct DecompressedBlobSource::Impl {
  UniqueFd fd;
  std::string path;
  LayerCompression compression = LayerCompression::none;
  std::vector<unsigned char> in = std::vector<unsigned char>(kBuffer);
  std::size_t in_pos = 0;
  std::size_t in_len = 0;
  bool file_done = false;
  std::vector<unsigned char> out = std::vector<unsigned char>(kBuffer);
  z_stream gzip{};
  bool gzip_ready = false;
  bool gzip_member_done = false;
  ZSTD_DCtx* zstd = nullptr;
  std::size_t zstd_pending = 0;  // ZSTD_decompressStream's hint; 0 = at a frame boundary
  bool stream_done = false;
  oci::Digester hash;
  std::uint64_t size = 0;

  ~Impl() {
    if (gzip_ready) inflateEnd(&gzip);
    ZSTD_freeDCtx(zstd);
  }

  // Refills the input buffer when it is used up; false at end of file.
  Result<bool> fill() {
    if (in_pos < in_len) return true;
    if (file_done) return false;
    for (;;) {
      ssize_t n = ::read(fd.get(), in.data(), in.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read layer blob", path);
      in_pos = 0;
      in_len = static_cast<std::size_t>(n);
      file_done = n == 0;
      return n > 0;
    }
  }

  Result<void> start() {
    auto more = fill();
    if (!more) return std::unexpected(more.error());
    std::span<const unsigned char> head(in.data(), in_len);
    if (starts_with(head, kGzipMagic)) {
      compression = LayerCompression::gzip;
      if (inflateInit2(&gzip, 15 + 16) != Z_OK)
        return fail("INTERNAL", "cannot initialise gzip decompressor");
      gzip_ready = true;
    } else if (starts_with(head, kZstdMagic)) {
      compression = LayerCompression::zstd;
      zstd = ZSTD_createDCtx();
      if (zstd == nullptr) return fail("INTERNAL", "cannot initialise zstd decompressor");
    }
    return {};
  }

  std::unexpected<Error> corrupt(std::string_view what) {
    return fail("LAYER_INVALID", std::string(what), path);
  }

  Result<std::size_t> produce_plain() {
    auto more = fill();
    if (!more) return std::unexpected(more.error());
    if (!*more) return 0;
    std::size_t n = in_len - in_pos;
    std::memcpy(out.data(), in.data() + in_pos, n);
    in_pos = in_len;
    return n;
  }

  Result<std::size_t> produce_gzip() {
    for (;;) {
      auto more = fill();
      if (!more) return std::unexpected(more.error());
      if (!*more) {
        if (!gzip_member_done) return corrupt("gzip layer stream is truncated");
        return 0;
      }
      if (gzip_member_done) {  // another member follows (e.g. from pigz or cat)
        inflateReset(&gzip);
        gzip_member_done = false;
      }
      gzip.next_in = in.data() + in_pos;
      gzip.avail_in = static_cast<uInt>(in_len - in_pos);
      gzip.next_out = out.data();
      gzip.avail_out = static_cast<uInt>(out.size());
      int rc = inflate(&gzip, Z_NO_FLUSH);
      in_pos = in_len - gzip.avail_in;
      if (rc == Z_STREAM_END) gzip_member_done = true;
      else if (rc != Z_OK && rc != Z_BUF_ERROR)
        return corrupt(std::string("gzip layer stream is corrupt: ") + (gzip.msg ? gzip.msg : "?"));
      std::size_t n = out.size() - gzip.avail_out;
      if (n > 0) return n;
    }
  }

  Result<std::size_t> produce_zstd() {
    for (;;) {
      auto more = fill();
      if (!more) return std::unexpected(more.error());
      if (!*more) {
        if (zstd_pending != 0) return corrupt("zstd layer stream is truncated");
        return 0;
      }
      ZSTD_inBuffer input{in.data(), in_len, in_pos};
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      std::size_t rc = ZSTD_decompressStream(zstd, &output, &input);
      if (ZSTD_isError(rc))
        return corrupt(std::string("zstd layer stream is corrupt: ") + ZSTD_getErrorName(rc));
      in_pos = input.pos;
      zstd_pending = rc;
      if (output.pos > 0) return output.pos;
    }
  }

  Result<std::span<const unsigned char>> next() {
    if (stream_done) return std::span<const unsigned char>{};
    Result<std::size_t> n = compression == LayerCompression::gzip   ? produce_gzip()
                            : compression == LayerCompression::zstd ? produce_zstd()
                                                                    : produce_plain();
    if (!n) return std::unexpected(n.error());
    if (*n == 0) stream_done = true;
    hash.update(out.data(), *n);
    size += *n;
    return std::span<const unsigned char>(out.data(), *n);
  }
};

DecompressedBlobSource::DecompressedBlobSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecompressedBlobSource::~DecompressedBlobSource() = default;
DecompressedBlobSource::DecompressedBlobSource(DecompressedBlobSource&&) noexcept = default;
DecompressedBlobSource& DecompressedBlobSource::operator=(DecompressedBlobSource&&) noexcept = default;

Result<DecompressedBlobSource> DecompressedBlobSource::open(const std::filesystem::path& blob) {
  auto impl = std::make_unique<Impl>();
  impl->path = blob.string();
  impl->fd = UniqueFd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!impl->fd) return errno_error("open layer blob", impl->path);
  if (auto ok = impl->start(); !ok) return std::unexpected(ok.error());
  return DecompressedBlobSource(std::move(impl));
}

LayerCompression DecompressedBlobSource::compression() const { return impl_->compression; }

Result<std::span<const unsigned char>> DecompressedBlobSource::next() { return impl_->next(); }

Result<StreamTotals> DecompressedBlobSource::finish() {
  for (;;) {
    auto piece = impl_->next();
    if (!piece) return std::unexpected(piece.error());
    if (piece->empty()) break;
  }
  return StreamTotals{impl_->hash.finish(), impl_->size};
}

}  // namespace strata::engine::layer
