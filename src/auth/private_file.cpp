#include "common/unique_fd.h"
#include "auth/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "auth/base64url.h"
#include "auth/secrets.h"

namespace strata::auth {
namespace {

std::unexpected<Error> io_error(std::string what, const std::filesystem::path& path) {
  return fail("IO", what + " " + path.string() + ": " + std::strerror(errno));
}


Result<void> write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot write", path);
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return io_error("cannot fsync", path);
  return {};
}

}  // namespace

Result<bool> write_private_file(const std::filesystem::path& path, std::string_view content,
                                IfExists if_exists) {
  auto tmp = path;
  tmp += ".tmp-" + base64url_encode(random_bytes(6));
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_error("cannot create", tmp);
    // The umask can only remove bits, but be explicit: never more than 0600.
    ::fchmod(fd.get(), 0600);
    if (auto w = write_all(fd.get(), content, tmp); !w) {
      ::unlink(tmp.c_str());
      return std::unexpected(w.error());
    }
  }
  bool written = true;
  if (if_exists == IfExists::replace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      auto err = io_error("cannot rename into", path);
      ::unlink(tmp.c_str());
      return err;
    }
  } else {
    // link() fails with EEXIST if another process won the race; its file stays.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno != EEXIST) {
        auto err = io_error("cannot create", path);
        ::unlink(tmp.c_str());
        return err;
      }
      written = false;
    }
    ::unlink(tmp.c_str());
  }
  UniqueFd dir(::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return written;
}

Result<std::string> read_private_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat", path);
  if ((st.st_mode & 077) != 0)
    return fail("IO", "secret file " + path.string() +
                          " is accessible by group or others; run chmod 600 on it");
  std::string content;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read", path);
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  return content;
}

}  // namespace strata::auth
