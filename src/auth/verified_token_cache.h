// Internal to src/auth: a bounded, least-recently-used map from a token's
// SHA-256 to what verifying it produced, so a token presented on every
// request of a push is verified once. An entry is only returned until its
// `valid_until` (exp plus leeway); revocation is checked by the caller on
// every hit. Keyed by a cryptographic hash so no two tokens share an entry.
// Thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "auth/secrets.h"

namespace strata::auth {

template <class Value>
class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(std::size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const Value> find(std::string_view token, std::int64_t now) {
    auto key = sha256(token);
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    if (now > it->second.valid_until) {
      order_.erase(it->second.position);
      entries_.erase(it);
      return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second.position);
    return it->second.value;
  }

  void insert(std::string_view token, std::shared_ptr<const Value> value, std::int64_t valid_until) {
    if (capacity_ == 0) return;
    auto key = sha256(token);
    std::lock_guard lock(mutex_);
    if (entries_.contains(key)) return;
    if (entries_.size() >= capacity_) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    order_.push_front(key);
    entries_.emplace(key, Entry{std::move(value), valid_until, order_.begin()});
  }

 private:
  struct KeyHash {
    std::size_t operator()(const Sha256& k) const {
      std::size_t h;
      std::memcpy(&h, k.data(), sizeof h);
      return h;
    }
  };
  struct Entry {
    std::shared_ptr<const Value> value;
    std::int64_t valid_until;
    typename std::list<Sha256>::iterator position;
  };

  const std::size_t capacity_;
  std::mutex mutex_;
  std::list<Sha256> order_;  // most recently used first
  std::unordered_map<Sha256, Entry, KeyHash> entries_;
};

}  // namespace strata::auth
