// Small POSIX helpers shared by the layer writer and reader: whole-buffer
// writes, directory listing, and errno turned into an IO Error (descriptors
// are owned by strata::UniqueFd, common/unique_fd.h).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace strata::engine::layer {

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
