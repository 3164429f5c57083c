// Buffer ring with a helper thread hashing handed-over buffers in order. See
// hashing_ring.h.
#include "registry/hashing_ring.h"

#include <system_error>

namespace strata::registry {

HashingRing::HashingRing(oci::Digester hash) : hash_(std::move(hash)) {}

HashingRing::~HashingRing() {
  if (!helper_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  helper_.join();
}

char* HashingRing::buffer() {
  Slot& slot = slots_[filling_];
  if (!slot.data)
    slot.data.reset(static_cast<char*>(::operator new[](kBufferSize, std::align_val_t{kAlignment})));
  return slot.data.get();
}

void HashingRing::hash_buffer(std::size_t size) {
  if (!helper_.joinable() && (size < kBufferSize || !start_helper())) {
    hash_.update(slots_[filling_].data.get(), size);
    return;
  }
  std::unique_lock lock(mutex_);
  slots_[filling_].size = size;
  slots_[filling_].queued = true;
  changed_.notify_all();
  filling_ = (filling_ + 1) % kBuffers;
  wait_until_hashed(slots_[filling_], lock);
}

oci::Digester& HashingRing::digester() {
  if (helper_.joinable()) {
    std::unique_lock lock(mutex_);
    for (const Slot& slot : slots_) wait_until_hashed(slot, lock);
  }
  return hash_;
}

void HashingRing::wait_until_hashed(const Slot& slot, std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [&] { return !slot.queued; });
}

bool HashingRing::start_helper() {
  if (helper_failed_) return false;
  try {
    helper_ = std::thread([this, first = filling_] { run_helper(first); });
    return true;
  } catch (const std::system_error&) {
    helper_failed_ = true;  // out of threads: inline hashing is slower, not wrong
    return false;
  }
}

// Hashes slots in ring order from `next`, the first one handed over. On
// stop, what is still queued is dropped: nobody will ask for that hash.
void HashingRing::run_helper(std::size_t next) {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || slots_[next].queued; });
    if (stopping_) return;
    Slot& slot = slots_[next];
    lock.unlock();
    hash_.update(slot.data.get(), slot.size);
    lock.lock();
    slot.queued = false;
    changed_.notify_all();
    next = (next + 1) % kBuffers;
  }
}

}  // namespace strata::registry
