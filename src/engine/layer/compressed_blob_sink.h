// The writing end of a layer blob: takes the uncompressed tar stream in
// pieces, hashes it (the diff-id), compresses it, hashes and counts the
// compressed bytes (the blob digest and size) and writes them to a file, all
// in one pass so a layer is never held in memory.
//
// Contract: the sink borrows the output descriptor; the caller closes it and
// decides what happens to the file. After an error the sink must be dropped.
// Not thread-safe. Errors: IO for failed writes, INTERNAL for compressor
// failures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "engine/layer/layer_compression.h"
#include "oci/digest.h"

namespace strata::engine::layer {

struct BlobTotals {
  oci::Digest diff_id;  // sha256 of everything passed to write()
  oci::Digest digest;   // sha256 of the bytes written to the file
  std::uint64_t size = 0;
};

class CompressedBlobSink {
 public:
  static Result<CompressedBlobSink> open(int fd, std::string path, LayerCompression compression);
  ~CompressedBlobSink();
  CompressedBlobSink(CompressedBlobSink&&) noexcept;
  CompressedBlobSink& operator=(CompressedBlobSink&&) noexcept;

  Result<void> write(const void* data, std::size_t size);
  // Flushes the compressor's tail; the sink accepts no writes afterwards.
  Result<BlobTotals> finish();

 private:
  struct Impl;
  explicit CompressedBlobSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::engine::layer
