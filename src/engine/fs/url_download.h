// ADD's remote sources: an http:// or https:// URL is fetched with the HTTP
// client (redirects followed) into an unnamed temporary file, never into the
// image directly, so a failed download leaves nothing behind. The file name
// is the last segment of the URL's decoded path, as BuildKit's Dockerfile
// frontend takes it; remote files are never extracted.
//
// Errors: COPY_INVALID (URL without a usable host or path), COPY_DOWNLOAD_FAILED
// (a non-2xx response, status in the message), the client's CONNECTION,
// TIMEOUT, TLS, the connect check's refusal, and IO. Stateless.
#pragma once

#include <time.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "engine/layer/file_descriptor.h"
#include "http/client.h"

namespace strata::engine::fs {

bool is_remote_source(std::string_view source);

struct DownloadedFile {
  UniqueFd fd;                       // positioned at the start of the body
  std::string name;                        // empty when the URL path names no file
  std::optional<timespec> last_modified;   // from the Last-Modified header
};

// `check` vets every address the fetch connects to (see http::ClientOptions).
Result<DownloadedFile> download(const std::string& url, const http::ConnectCheck& check = {});

}  // namespace strata::engine::fs
