// Compressed blob sink on zlib (gzip wrapper, level 6, zero header mtime, no
// name) and libzstd (level 3, content checksum), the settings that keep the
// blob identical from run to run.
#include "engine/layer/compressed_blob_sink.h"

#include <zlib.h>
#include <zstd.h>

#include <vector>

#include "engine/layer/file_descriptor.h"

namespace strata::engine::layer {
namespace {

constexpr int kGzipLevel = 6;  // gzip's and BuildKit's default
constexpr int kZstdLevel = 3;  // zstd's default
constexpr std::size_t kOutputBuffer = 256 * 1024;

}  // namespace

struct CompressedBlobSink::Impl {
  int fd;
  std::string path;
  LayerCompression compression;
  oci::Digester tar_hash;
  oci::Digester blob_hash;
  std::uint64_t blob_size = 0;
  z_stream gzip{};
  bool gzip_ready = false;
  ZSTD_CCtx* zstd = nullptr;
  std::vector<unsigned char> out = std::vector<unsigned char>(kOutputBuffer);

  Impl(int fd, std::string path, LayerCompression compression)
      : fd(fd), path(std::move(path)), compression(compression) {}
  ~Impl() {
    if (gzip_ready) deflateEnd(&gzip);
    ZSTD_freeCCtx(zstd);
  }

  Result<void> start() {
    if (compression == LayerCompression::gzip) {
      // windowBits 15 + 16 selects the gzip wrapper; zlib then writes a header
      // with mtime 0 and no file name.
      if (deflateInit2(&gzip, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return fail("INTERNAL", "cannot initialise gzip compressor");
      gzip_ready = true;
    } else if (compression == LayerCompression::zstd) {
      zstd = ZSTD_createCCtx();
      if (zstd == nullptr ||
          ZSTD_isError(ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, kZstdLevel)) ||
          ZSTD_isError(ZSTD_CCtx_setParameter(zstd, ZSTD_c_checksumFlag, 1)))
        return fail("INTERNAL", "cannot initialise zstd compressor");
    }
    return {};
  }

  Result<void> emit(const void* data, std::size_t size) {
    blob_hash.update(data, size);
    blob_size += size;
    return write_all(fd, data, size, path);
  }

  Result<void> deflate_input(const void* data, std::size_t size, int flush) {
    gzip.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    gzip.avail_in = static_cast<uInt>(size);
    for (;;) {
      gzip.next_out = out.data();
      gzip.avail_out = static_cast<uInt>(out.size());
      int rc = deflate(&gzip, flush);
      if (rc == Z_STREAM_ERROR) return fail("INTERNAL", "gzip compression failed");
      if (auto ok = emit(out.data(), out.size() - gzip.avail_out); !ok) return ok;
      bool done = flush == Z_FINISH ? rc == Z_STREAM_END : gzip.avail_out != 0;
      if (done) return {};
    }
  }

  Result<void> zstd_input(const void* data, std::size_t size, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      std::size_t remaining = ZSTD_compressStream2(zstd, &output, &in, mode);
      if (ZSTD_isError(remaining))
        return fail("INTERNAL", "zstd compression failed", ZSTD_getErrorName(remaining));
      if (auto ok = emit(out.data(), output.pos); !ok) return ok;
      bool done = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
      if (done) return {};
    }
  }

  Result<void> compress(const void* data, std::size_t size, bool last) {
    switch (compression) {
      case LayerCompression::gzip: return deflate_input(data, size, last ? Z_FINISH : Z_NO_FLUSH);
      case LayerCompression::zstd: return zstd_input(data, size, last ? ZSTD_e_end : ZSTD_e_continue);
      case LayerCompression::none: break;
    }
    return emit(data, size);
  }
};

CompressedBlobSink::CompressedBlobSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompressedBlobSink::~CompressedBlobSink() = default;
CompressedBlobSink::CompressedBlobSink(CompressedBlobSink&&) noexcept = default;
CompressedBlobSink& CompressedBlobSink::operator=(CompressedBlobSink&&) noexcept = default;

Result<CompressedBlobSink> CompressedBlobSink::open(int fd, std::string path,
                                                    LayerCompression compression) {
  auto impl = std::make_unique<Impl>(fd, std::move(path), compression);
  if (auto ok = impl->start(); !ok) return std::unexpected(ok.error());
  return CompressedBlobSink(std::move(impl));
}

Result<void> CompressedBlobSink::write(const void* data, std::size_t size) {
  impl_->tar_hash.update(data, size);
  return impl_->compress(data, size, false);
}

Result<BlobTotals> CompressedBlobSink::finish() {
  if (auto ok = impl_->compress(nullptr, 0, true); !ok) return std::unexpected(ok.error());
  return BlobTotals{impl_->tar_hash.finish(), impl_->blob_hash.finish(), impl_->blob_size};
}

}  // namespace strata::engine::layer
