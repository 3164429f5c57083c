// Small POSIX helpers shared by the layer writer and reader: a descriptor
// owned by one object and closed when it goes away (so early error returns
// never leak), whole-buffer writes, and errno turned into an IO Error.
// OwnedFd is move-only and, like the descriptor it wraps, not thread-safe.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace strata::engine::layer {

class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() { reset(); }
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes now and returns close()'s result: on a file just written, a
  // failed close can mean lost data.
  int close() { return fd_ >= 0 ? ::close(std::exchange(fd_, -1)) : 0; }

 private:
  int fd_ = -1;
};

// An IO error for the current errno: "<action>: <strerror>", detail = path.
std::unexpected<Error> errno_error(std::string_view action, std::string_view path);

// Writes all of data (at offset when offset >= 0, else at the file position),
// retrying short writes and EINTR.
Result<void> write_all(int fd, const void* data, std::size_t size, std::string_view path,
                       off_t offset = -1);

// Names in the directory open at dir_fd, without "." and "..", in the
// filesystem's order. dir_fd stays open and owned by the caller.
Result<std::vector<std::string>> list_directory(int dir_fd, std::string_view path);

}  // namespace strata::engine::layer
