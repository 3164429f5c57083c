// The buffers a BlobWriter fills, and the hashing of what it has written
// from them, done on a helper thread so that it overlaps the next socket read
// and disk write. On a large push SHA-256 costs about as much time as reading
// the socket and writing the disk together; overlapping the two nearly halves
// the time a 1 GiB push takes on an idle machine.
//
// The writer fills buffer(), writes it to its file, then hands it over with
// hash_buffer(); only bytes already in the file are handed over, so the hash
// never covers bytes the file lacks (it may lag behind until digester()).
// A buffer is filled again only after it has been hashed. Bytes are hashed in
// the order they were handed over.
//
// The helper thread starts with the first full buffer; a stream shorter than
// one buffer (a manifest, a config) is hashed inline and costs no thread.
// Memory: one buffer until the thread starts, kBuffers after.
//
// Thread-safety: one thread at a time uses a HashingRing (the helper thread
// is internal). Destruction waits for the helper thread.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <thread>

#include "oci/digest.h"

namespace strata::registry {

class HashingRing {
 public:
  static constexpr std::size_t kBufferSize = 1 << 20;
  // Buffers are aligned for direct I/O (O_DIRECT) on any block device.
  static constexpr std::size_t kAlignment = 4096;
  static constexpr std::size_t kBuffers = 3;

  // Continues `hash` (a fresh Digester for a new blob).
  explicit HashingRing(oci::Digester hash);
  ~HashingRing();
  HashingRing(const HashingRing&) = delete;
  HashingRing& operator=(const HashingRing&) = delete;

  // The buffer to fill next: kBufferSize bytes, kAlignment-aligned.
  char* buffer();
  // Hashes the first `size` bytes of buffer() and moves on to the next
  // buffer, waiting until that one's earlier content has been hashed.
  void hash_buffer(std::size_t size);
  // Waits until everything handed over is hashed; the hash of it all.
  oci::Digester& digester();

 private:
  struct AlignedDelete {
    void operator()(char* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };
  struct Slot {
    std::unique_ptr<char[], AlignedDelete> data;
    std::size_t size = 0;
    bool queued = false;  // handed over, not hashed yet
  };

  bool start_helper();
  void run_helper(std::size_t next);
  void wait_until_hashed(const Slot& slot, std::unique_lock<std::mutex>& lock);

  oci::Digester hash_;
  std::array<Slot, kBuffers> slots_;
  std::size_t filling_ = 0;  // the slot buffer() returns
  std::thread helper_;
  bool helper_failed_ = false;  // could not start a thread: hash inline
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
};

}  // namespace strata::registry
