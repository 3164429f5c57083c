#include "sandbox/runtime_binary.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace strata::sandbox {
namespace fs = std::filesystem;
namespace {

bool executable_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<fs::path> find_runtime_binary(RuntimeKind kind, std::string_view runtime_path) {
  std::string_view name = runtime_name(kind);
  if (!runtime_path.empty()) {
    fs::path given = fs::absolute(fs::path(runtime_path));
    if (!executable_file(given))
      return fail("RUNTIME_NOT_FOUND",
                  fmt::format("OCI runtime {}: {} is not an executable file (check --runtime-path)", name,
                              given.string()));
    return given;
  }
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (true) {
    auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    fs::path candidate = fs::absolute(fs::path(dir.empty() ? "." : dir) / name);
    if (executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return fail("RUNTIME_NOT_FOUND",
              fmt::format("OCI runtime {} not found in PATH: install it (Debian package {}) or give its path with "
                          "--runtime-path",
                          name, name));
}

}  // namespace strata::sandbox
