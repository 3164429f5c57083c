// libcurl's URL parser decodes the path and curl_getdate reads the HTTP
// date; the transfer itself goes through http::Client.
#include "engine/fs/url_download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "common/text.h"
#include "http/client.h"

namespace strata::engine::fs {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// The last segment of the URL's percent-decoded path.
Result<std::string> file_name_of(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return fail("COPY_INVALID", "not a valid URL", url);
  char* raw = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_PATH, &raw, CURLU_URLDECODE) != CURLUE_OK)
    return fail("COPY_INVALID", "URL has no usable path", url);
  std::string path = raw;
  curl_free(raw);
  auto slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return name == "." || name == ".." ? std::string() : name;
}

Result<UniqueFd> temporary_file() {
  std::string dir = std::filesystem::temp_directory_path().string();
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  // Filesystems without O_TMPFILE: a named file, unlinked at once.
  std::string pattern = dir + "/strata-add-XXXXXX";
  fd = UniqueFd(::mkostemp(pattern.data(), O_CLOEXEC));
  if (!fd) return layer::errno_error("create temporary file", pattern);
  ::unlink(pattern.c_str());
  return fd;
}

}  // namespace

bool is_remote_source(std::string_view source) {
  return istarts_with(source, "http://") || istarts_with(source, "https://");
}

Result<DownloadedFile> download(const std::string& url, const http::ConnectCheck& check) {
  DownloadedFile file;
  auto name = file_name_of(url);
  if (!name) return std::unexpected(name.error());
  file.name = std::move(*name);
  auto fd = temporary_file();
  if (!fd) return std::unexpected(fd.error());
  file.fd = std::move(*fd);

  http::Client client({.connect_check = check});
  http::ClientRequest request;
  request.url = url;
  request.follow_redirects = true;
  int out = file.fd.get();
  auto response = client.request(request, [out, &url](std::string_view chunk) {
    return layer::write_all(out, chunk.data(), chunk.size(), url);
  });
  if (!response) return std::unexpected(response.error());
  if (response->status < 200 || response->status > 299)
    return fail("COPY_DOWNLOAD_FAILED", fmt::format("ADD failed: {} answered HTTP {}", url, response->status));
  if (auto header = response->headers.get("Last-Modified")) {
    time_t when = curl_getdate(std::string(*header).c_str(), nullptr);
    if (when >= 0) file.last_modified = timespec{when, 0};
  }
  if (::lseek(out, 0, SEEK_SET) != 0) return layer::errno_error("rewind download", url);
  return file;
}

}  // namespace strata::engine::fs
