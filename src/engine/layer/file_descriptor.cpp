// Whole-buffer writes and errno-to-Error conversion for the layer code.
#include "engine/layer/file_descriptor.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace strata::engine::layer {

std::unexpected<Error> errno_error(std::string_view action, std::string_view path) {
  return fail("IO", fmt::format("{}: {}", action, std::strerror(errno)), std::string(path));
}

Result<void> write_all(int fd, const void* data, std::size_t size, std::string_view path,
                       off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = offset >= 0 ? ::pwrite(fd, p, size, offset) : ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", path);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    if (offset >= 0) offset += n;
  }
  return {};
}

Result<std::vector<std::string>> list_directory(int dir_fd, std::string_view path) {
  // fdopendir takes over its descriptor, so hand it a fresh one.
  int own = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return errno_error("open directory", path);
  DIR* dir = ::fdopendir(own);
  if (dir == nullptr) {
    ::close(own);
    return errno_error("open directory", path);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) {
    errno = read_errno;
    return errno_error("read directory", path);
  }
  return names;
}

}  // namespace strata::engine::layer
