// Byte ranges of the registry's blob API:
//  - the `Range` request header of blob GET (RFC 9110 "bytes=" ranges),
//    resolved against the blob's size;
//  - the `Content-Range` header of a chunked upload PATCH, which the
//    distribution spec writes as "<start>-<end>" (inclusive); the RFC form
//    "bytes <start>-<end>[/<total>|/*]" is accepted as well;
//  - the headers that answer them.
// All positions are inclusive byte offsets. Errors have code RANGE_INVALID,
// which the handlers answer with 416 Range Not Satisfiable. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strata::http {

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// Resolves a blob GET `Range` header ("bytes=a-b", "bytes=a-", "bytes=-n")
// against a blob of `size` bytes; an end past the blob is clamped to it.
//
// Multiple ranges ("bytes=0-9,20-29"): every range must be well-formed, and
// the answer is a single-part 206 for the first satisfiable one. Registry
// clients only ask for one range, and the Content-Range of the reply tells any
// other client exactly what it got, so multipart bodies are not worth having.
//
// A malformed header is an error too (rather than ignored and answered with
// the whole blob, which RFC 9110 would allow): a client that asked for a part
// of a 1 GiB blob should be told, not sent a gigabyte.
Result<ByteRange> resolve_range_header(std::string_view value, std::uint64_t size);

// "bytes <first>-<last>/<size>", the Content-Range of a 206 reply.
std::string format_content_range(const ByteRange& range, std::uint64_t size);
// "bytes */<size>", the Content-Range of a 416 reply.
std::string format_unsatisfiable_content_range(std::uint64_t size);

// Parses the Content-Range of an upload PATCH chunk. Requires start <= end;
// whether start matches the upload's offset is the caller's check.
Result<ByteRange> parse_upload_content_range(std::string_view value);

// The `Range` header of an upload status / PATCH / POST reply: "0-<received-1>".
// With nothing received it is "0-0", as CNCF Distribution sends and clients
// expect (the spec offers no form for an empty range).
std::string format_upload_range(std::uint64_t received_bytes);

}  // namespace strata::http
