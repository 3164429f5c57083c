// Streaming reader for multipart/form-data request bodies (RFC 7578 over the
// RFC 2046 multipart syntax), as sent by curl -F, Python requests and browsers.
//
// The body is pulled from a BodyReader through one fixed-size buffer: a part's
// content is handed to the caller piece by piece (MultipartPart is itself a
// BodyReader), so a 1 GiB upload goes straight to a file and memory use does
// not depend on the body's size. Small fields are collected with read_all and
// a per-field limit.
//
//   auto reader = MultipartReader::open(*request.body, content_type);
//   for (;;) {
//     auto part = reader->next();          // Result<MultipartPart*>
//     if (!part) return error(part.error());
//     if (*part == nullptr) break;        // close delimiter reached
//     if ((*part)->name() == "source") stream (*part)->read(...) to a file;
//     else auto text = (*part)->read_all(64 * 1024);
//   }
//
// Syntax is strict where leniency would make the meaning of a body unclear:
// lines end in CRLF (a bare LF is an error; curl, Python and browsers all send
// CRLF), a delimiter is "--boundary" at the start of the body or after CRLF
// and must be followed by optional spaces/tabs and CRLF, or by "--" (the close
// delimiter). A boundary-like string not preceded by CRLF is part data. The
// preamble and the epilogue are ignored; reading stops at the close delimiter
// and the epilogue is left unread. Header folding, a part without
// `Content-Disposition: form-data; name=...` and (by default) a field name
// sent twice are errors.
//
// Errors: MULTIPART_INVALID (malformed body, truncated body, bad
// Content-Type; the message says what is wrong), TOO_LARGE (a limit below
// was exceeded), and whatever the underlying BodyReader reports. Errors are
// final: after one, next() and read() keep returning it.
//
// Contract: the reader borrows the BodyReader, which must outlive it. Not
// thread-safe. The part returned by next() stays valid until the following
// next() call, which skips any part content the caller did not read.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "http/message.h"

namespace strata::http {

struct MultipartLimits {
  std::size_t max_parts = 100;
  // All header lines of one part together, CRLFs included.
  std::size_t max_header_bytes = 16 * 1024;
  // RFC 7578 allows one name for several parts (several files in one field);
  // an API with single-valued fields refuses them to avoid guessing which wins.
  bool allow_repeated_names = false;
};

class MultipartPart;

class MultipartReader {
 public:
  // Checks that `content_type` is multipart/form-data with a valid boundary
  // parameter (1-70 characters, quoted or not); MULTIPART_INVALID otherwise.
  // Reads nothing yet.
  static Result<MultipartReader> open(BodyReader& body, std::string_view content_type,
                                      MultipartLimits limits = {});
  ~MultipartReader();
  MultipartReader(MultipartReader&&) noexcept;
  MultipartReader& operator=(MultipartReader&&) noexcept;

  // The next part with its headers parsed, or nullptr once the close
  // delimiter has been read.
  Result<MultipartPart*> next();

 private:
  friend class MultipartPart;
  struct Impl;
  explicit MultipartReader(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

// One part of the body: its headers, and its content as a stream.
class MultipartPart final : public BodyReader {
 public:
  const std::string& name() const { return name_; }
  // Present when the Content-Disposition had a filename parameter (file uploads).
  const std::optional<std::string>& filename() const { return filename_; }
  // The part's Content-Type as sent; empty when absent (RFC 7578: text/plain).
  const std::string& content_type() const { return content_type_; }
  const Headers& headers() const { return headers_; }

  // Up to `size` bytes of the part's content; 0 at the end of the part.
  Result<std::size_t> read(char* buffer, std::size_t size) override;
  std::optional<std::uint64_t> content_length() const override { return std::nullopt; }

  // The rest of the content as a string; TOO_LARGE naming the field when it
  // is longer than `limit` bytes.
  Result<std::string> read_all(std::size_t limit);

 private:
  friend struct MultipartReader::Impl;
  explicit MultipartPart(MultipartReader::Impl& reader) : reader_(&reader) {}

  MultipartReader::Impl* reader_;
  std::string name_;
  std::optional<std::string> filename_;
  std::string content_type_;
  Headers headers_;
};

}  // namespace strata::http
