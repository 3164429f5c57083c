// The reading end of a layer blob: opens the file, recognises gzip
// (1f 8b) or zstd (28 b5 2f fd) by magic bytes (anything else is read as a
// plain tar), and hands out the uncompressed tar stream piece by piece while
// hashing it, so the diff-id is known once the stream has been read to the end.
//
// Contract: owns its descriptor. Not thread-safe. Errors: IO when the file
// cannot be read, LAYER_INVALID when the compressed stream is corrupt or
// truncated. After an error the source must be dropped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "common/error.h"
#include "engine/layer/layer_compression.h"
#include "oci/digest.h"

namespace strata::engine::layer {

struct StreamTotals {
  oci::Digest diff_id;
  std::uint64_t size = 0;  // uncompressed bytes
};

class DecompressedBlobSource {
 public:
  static Result<DecompressedBlobSource> open(const std::filesystem::path& blob);
  ~DecompressedBlobSource();
  DecompressedBlobSource(DecompressedBlobSource&&) noexcept;
  DecompressedBlobSource& operator=(DecompressedBlobSource&&) noexcept;

  LayerCompression compression() const;
  // The next piece of the uncompressed stream, valid until the next call;
  // empty at the end of the stream.
  Result<std::span<const unsigned char>> next();
  // Reads (and hashes) whatever the consumer left unread, e.g. the padding
  // after the tar's end marker, and returns the totals of the whole stream.
  Result<StreamTotals> finish();

 private:
  struct Impl;
  explicit DecompressedBlobSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::engine::layer
