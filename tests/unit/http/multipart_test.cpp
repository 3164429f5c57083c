#include "http/multipart.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace strata::http {
namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=XyZ-boundary";

// A body served in pieces whose sizes come from `next_piece`, so delimiters
// and CRLFs land across read() calls at every possible offset.
class PieceBody : public BodyReader {
 public:
  PieceBody(std::string data, std::function<std::size_t()> next_piece)
      : data_(std::move(data)), next_piece_(std::move(next_piece)) {}

  Result<std::size_t> read(char* buffer, std::size_t size) override {
    std::size_t n = std::min({size, data_.size() - pos_, std::max<std::size_t>(1, next_piece_())});
    std::copy_n(data_.data() + pos_, n, buffer);
    pos_ += n;
    return n;
  }
  std::optional<std::uint64_t> content_length() const override { return data_.size(); }
  std::size_t consumed() const { return pos_; }

 private:
  std::string data_;
  std::size_t pos_ = 0;
  std::function<std::size_t()> next_piece_;
};

std::function<std::size_t()> fixed_pieces(std::size_t n) {
  return [n] { return n; };
}

std::function<std::size_t()> random_pieces(unsigned seed, std::size_t max) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng, max] { return std::uniform_int_distribution<std::size_t>(1, max)(*rng); };
}

std::string field(std::string_view name, std::string_view value) {
  return "--XyZ-boundary\r\nContent-Disposition: form-data; name=\"" + std::string(name) +
         "\"\r\n\r\n" + std::string(value) + "\r\n";
}

constexpr std::string_view kClose = "--XyZ-boundary--\r\n";

struct ReadPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string content;
};

// Every part with its content, read through a small buffer; or the first error.
Result<std::vector<ReadPart>> read_parts(BodyReader& body, std::string_view content_type = kType,
                                         MultipartLimits limits = {}) {
  auto reader = MultipartReader::open(body, content_type, limits);
  if (!reader) return std::unexpected(reader.error());
  std::vector<ReadPart> parts;
  for (;;) {
    auto part = reader->next();
    if (!part) return std::unexpected(part.error());
    if (*part == nullptr) return parts;
    ReadPart p{(*part)->name(), (*part)->filename(), (*part)->content_type(), {}};
    char buf[7];
    for (;;) {
      auto n = (*part)->read(buf, sizeof buf);
      if (!n) return std::unexpected(n.error());
      if (*n == 0) break;
      p.content.append(buf, *n);
    }
    parts.push_back(std::move(p));
  }
}

Result<std::vector<ReadPart>> read_parts(std::string body, std::string_view content_type = kType,
                                         MultipartLimits limits = {}) {
  PieceBody reader(std::move(body), fixed_pieces(5));
  return read_parts(reader, content_type, limits);
}

Error error_of(std::string body, std::string_view content_type = kType, MultipartLimits limits = {}) {
  auto parts = read_parts(std::move(body), content_type, limits);
  EXPECT_FALSE(parts.has_value());
  return parts ? Error{} : parts.error();
}

const std::string kForm =
    "--XyZ-boundary\r\n"
    "Content-Disposition: form-data; name=\"cache_scope\"\r\n"
    "\r\n"
    "acme\r\n"
    "--XyZ-boundary\r\n"
    "Content-Disposition: form-data; name=\"source\"; filename=\"ctx.tar.gz\"\r\n"
    "Content-Type: application/gzip\r\n"
    "\r\n"
    "\x1f\x8b binary\r\n\r\n-- not a boundary \r\n--XyZ-boundar\r\n"
    "--XyZ-boundary\r\n"
    "content-disposition: FORM-DATA; NAME=dockerfile\r\n"
    "\r\n"
    "FROM scratch\n"
    "\r\n"
    "--XyZ-boundary--\r\n";

void expect_form_parts(const Result<std::vector<ReadPart>>& parts, const std::string& how) {
  ASSERT_TRUE(parts.has_value()) << how << ": " << parts.error().message;
  ASSERT_EQ(parts->size(), 3u) << how;
  EXPECT_EQ((*parts)[0].name, "cache_scope");
  EXPECT_EQ((*parts)[0].content, "acme");
  EXPECT_FALSE((*parts)[0].filename.has_value());
  EXPECT_EQ((*parts)[0].content_type, "");
  EXPECT_EQ((*parts)[1].name, "source");
  EXPECT_EQ((*parts)[1].filename, "ctx.tar.gz");
  EXPECT_EQ((*parts)[1].content_type, "application/gzip");
  EXPECT_EQ((*parts)[1].content, "\x1f\x8b binary\r\n\r\n-- not a boundary \r\n--XyZ-boundar") << how;
  EXPECT_EQ((*parts)[2].name, "dockerfile");
  EXPECT_EQ((*parts)[2].content, "FROM scratch\n");
}

TEST(MultipartReader, ReadsFieldsAndFileWhateverSizeThePiecesArrive) {
  for (std::size_t piece = 1; piece <= 64; ++piece) {
    PieceBody body(kForm, fixed_pieces(piece));
    expect_form_parts(read_parts(body), "pieces of " + std::to_string(piece));
  }
  for (unsigned seed = 0; seed < 50; ++seed) {
    PieceBody body(kForm, random_pieces(seed, 40));
    expect_form_parts(read_parts(body), "random seed " + std::to_string(seed));
  }
  PieceBody whole(kForm, fixed_pieces(1 << 20));
  expect_form_parts(read_parts(whole), "one piece");
}

TEST(MultipartReader, AcceptsQuotedBoundaryAndCaseInsensitiveType) {
  std::string body = field("a", "1") + std::string(kClose);
  for (std::string_view type :
       {"multipart/form-data; boundary=\"XyZ-boundary\"", "Multipart/Form-Data;BOUNDARY=XyZ-boundary",
        "multipart/form-data; charset=utf-8; boundary=XyZ-boundary;"}) {
    auto parts = read_parts(body, type);
    ASSERT_TRUE(parts.has_value()) << type << ": " << parts.error().message;
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].content, "1");
  }
  auto spaced = read_parts("--a b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--a b--",
                           "multipart/form-data; boundary=\"a b\"");
  ASSERT_TRUE(spaced.has_value()) << spaced.error().message;
  EXPECT_EQ((*spaced)[0].content, "v");
}

TEST(MultipartReader, RejectsContentTypeWithoutUsableBoundary) {
  for (std::string_view type :
       {"multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"unterminated", "multipart/form-data; boundary=a;boundary=b",
        "multipart/form-data; boundary=\"ends in space \"", "multipart/form-data; boundary=\"bad\x01\"",
        "multipart/mixed; boundary=XyZ-boundary", "application/json", ""}) {
    PieceBody body(std::string(kClose), fixed_pieces(4));
    auto reader = MultipartReader::open(body, type);
    ASSERT_FALSE(reader.has_value()) << type;
    EXPECT_EQ(reader.error().code, "MULTIPART_INVALID") << type;
  }
  PieceBody body(std::string(kClose), fixed_pieces(4));
  EXPECT_FALSE(MultipartReader::open(body, "multipart/form-data; boundary=" + std::string(71, 'b')));
  EXPECT_TRUE(MultipartReader::open(body, "multipart/form-data; boundary=" + std::string(70, 'b')));
}

TEST(MultipartReader, IgnoresPreambleEpilogueAndTransportPadding) {
  std::string body = "This is the preamble.\r\n--XyZ-boundary \t\r\n"
                     "Content-Disposition: form-data; name=\"a\"\r\n\r\none\r\n" +
                     field("b", "two") + "--XyZ-boundary--   \r\nepilogue --XyZ-boundary garbage";
  auto parts = read_parts(body);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].content, "one");
  EXPECT_EQ((*parts)[1].content, "two");
}

TEST(MultipartReader, AcceptsCloseDelimiterWithoutFinalCrlf) {
  auto parts = read_parts(field("a", "1") + "--XyZ-boundary--");
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].content, "1");
}

TEST(MultipartReader, BoundaryTextNotAfterCrlfIsContent) {
  for (std::string value : {"--XyZ-boundary", "x--XyZ-boundary--", "a\n--XyZ-boundary\n", "\r--XyZ-boundary",
                            "\r\n-XyZ-boundary", "\r\n--XyZ-boundar", "\r\n\r\n", ""}) {
    auto parts = read_parts(field("f", value) + std::string(kClose));
    ASSERT_TRUE(parts.has_value()) << value << ": " << parts.error().message;
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].content, value);
  }
}

TEST(MultipartReader, ZeroPartsIsAnEmptyForm) {
  auto parts = read_parts(std::string(kClose));
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_TRUE(parts->empty());
}

TEST(MultipartReader, StopsAtCloseDelimiterLeavingEpilogueUnread) {
  std::string body = field("a", "1") + std::string(kClose);
  PieceBody reader(body + std::string(100000, 'e'), fixed_pieces(1000));
  ASSERT_TRUE(read_parts(reader).has_value());
  EXPECT_LT(reader.consumed(), body.size() + 1000);
}

TEST(MultipartReader, NextSkipsUnreadContent) {
  std::string big(300000, 'z');
  PieceBody body(field("skipped", big) + field("wanted", "yes") + std::string(kClose), random_pieces(7, 5000));
  auto reader = MultipartReader::open(body, kType);
  ASSERT_TRUE(reader);
  auto first = reader->next();
  ASSERT_TRUE(first && *first);
  char buf[10];
  ASSERT_TRUE((*first)->read(buf, sizeof buf));
  auto second = reader->next();
  ASSERT_TRUE(second && *second) << (second ? "" : second.error().message);
  EXPECT_EQ((*second)->name(), "wanted");
  EXPECT_EQ((*second)->read_all(100).value_or("?"), "yes");
  auto end = reader->next();
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, nullptr);
  EXPECT_EQ(reader->next().value_or(nullptr), nullptr);  // stays at the end
}

std::string sha256(std::string_view data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

TEST(MultipartReader, StreamsLargeFilePartThroughSmallBuffer) {
  // Pseudo-random bytes with near-miss delimiters planted throughout.
  std::string file(16 << 20, '\0');
  std::mt19937 rng(42);
  for (auto& c : file) c = static_cast<char>(rng());
  for (std::size_t at = 1000; at + 20 < file.size(); at += 65521)
    file.replace(at, 16, "\r\n--XyZ-boundar\r");
  std::string body = field("target", "app") +
                     "--XyZ-boundary\r\nContent-Disposition: form-data; name=\"source\"; filename=\"c.tar\"\r\n"
                     "Content-Type: application/x-tar\r\n\r\n" +
                     file + "\r\n" + std::string(kClose);
  PieceBody reader(std::move(body), random_pieces(3, 70000));
  auto multipart = MultipartReader::open(reader, kType);
  ASSERT_TRUE(multipart);
  ASSERT_EQ((*multipart->next())->read_all(16).value_or(""), "app");
  auto source = multipart->next();
  ASSERT_TRUE(source && *source);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::size_t total = 0;
  char buf[1000];
  for (;;) {
    auto n = (*source)->read(buf, sizeof buf);
    ASSERT_TRUE(n) << n.error().message;
    if (*n == 0) break;
    EVP_DigestUpdate(ctx, buf, *n);
    total += *n;
  }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  EXPECT_EQ(total, file.size());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(md), len), sha256(file));
  EXPECT_EQ(multipart->next().value_or(reinterpret_cast<MultipartPart*>(1)), nullptr);
}

TEST(MultipartReader, ReadAllRefusesFieldOverItsLimit) {
  PieceBody body(field("build_args", std::string(100, 'x')) + std::string(kClose), fixed_pieces(9));
  auto reader = MultipartReader::open(body, kType);
  auto part = reader->next();
  ASSERT_TRUE(part && *part);
  auto text = (*part)->read_all(99);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, "TOO_LARGE");
  EXPECT_NE(text.error().message.find("build_args"), std::string::npos) << text.error().message;
}

TEST(MultipartReader, WrongBoundaryIsInvalid) {
  auto e = error_of(field("a", "1") + std::string(kClose), "multipart/form-data; boundary=other");
  EXPECT_EQ(e.code, "MULTIPART_INVALID");
  EXPECT_NE(e.message.find("does not contain the boundary"), std::string::npos) << e.message;
}

TEST(MultipartReader, TruncatedBodyIsInvalid) {
  std::string full = field("a", "1") + field("b", std::string(5000, 'b')) + std::string(kClose);
  // Every prefix that stops before the close delimiter's "--" has been read.
  for (std::size_t cut : {std::size_t{0}, std::size_t{10}, std::size_t{40}, std::size_t{60}, full.size() / 2,
                          full.size() - kClose.size(), full.size() - kClose.size() + 15}) {
    auto e = error_of(full.substr(0, cut));
    EXPECT_EQ(e.code, "MULTIPART_INVALID") << "cut at " << cut;
  }
  // Content that runs into the close delimiter without the CRLF before it.
  auto e = error_of("--XyZ-boundary\r\nContent-Disposition: form-data; name=a\r\n\r\n1--XyZ-boundary--\r\n");
  EXPECT_EQ(e.code, "MULTIPART_INVALID");
  EXPECT_NE(e.message.find("ended before the closing boundary"), std::string::npos) << e.message;
}

TEST(MultipartReader, TruncatedFileContentFailsTheRead) {
  PieceBody body(field("a", "1") + "--XyZ-boundary\r\nContent-Disposition: form-data; name=source\r\n\r\n" +
                     std::string(10000, 's'),
                 fixed_pieces(333));
  auto reader = MultipartReader::open(body, kType);
  ASSERT_TRUE(reader->next());
  auto source = reader->next();
  ASSERT_TRUE(source && *source);
  auto content = (*source)->read_all(1 << 20);
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code, "MULTIPART_INVALID");
  // Errors are final.
  auto after = reader->next();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, "MULTIPART_INVALID");
}

TEST(MultipartReader, BareLfLineEndingsAreRejected) {
  auto e = error_of("--XyZ-boundary\nContent-Disposition: form-data; name=a\n\n1\n--XyZ-boundary--\n");
  EXPECT_EQ(e.code, "MULTIPART_INVALID");
  EXPECT_NE(e.message.find("CRLF"), std::string::npos) << e.message;
  auto in_headers = error_of("--XyZ-boundary\r\nContent-Disposition: form-data; name=a\n\r\n1\r\n" +
                             std::string(kClose));
  EXPECT_EQ(in_headers.code, "MULTIPART_INVALID");
}

TEST(MultipartReader, BoundaryFollowedByOtherTextIsInvalid) {
  auto e = error_of(field("a", "1\r\n--XyZ-boundaryX") + std::string(kClose));
  EXPECT_EQ(e.code, "MULTIPART_INVALID");
  EXPECT_NE(e.message.find("unexpected characters"), std::string::npos) << e.message;
}

TEST(MultipartReader, HeadersOverLimitAreTooLarge) {
  MultipartLimits limits;
  limits.max_header_bytes = 200;
  std::string long_header = "--XyZ-boundary\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " +
                            std::string(300, 'p') + "\r\n\r\n1\r\n" + std::string(kClose);
  EXPECT_EQ(error_of(long_header, kType, limits).code, "TOO_LARGE");
  std::string many_headers = "--XyZ-boundary\r\nContent-Disposition: form-data; name=a\r\n";
  for (int i = 0; i < 20; ++i) many_headers += "X-H: 1234567890\r\n";
  EXPECT_EQ(error_of(many_headers + "\r\n1\r\n" + std::string(kClose), kType, limits).code, "TOO_LARGE");
  // A header line that never ends is cut off at the limit, not buffered.
  EXPECT_EQ(error_of("--XyZ-boundary\r\nX-Pad: " + std::string(1 << 20, 'p'), kType, limits).code,
            "TOO_LARGE");
  EXPECT_TRUE(read_parts(field("a", "1") + std::string(kClose), kType, limits));
}

TEST(MultipartReader, TooManyPartsAreTooLarge) {
  MultipartLimits limits;
  limits.max_parts = 3;
  limits.allow_repeated_names = true;
  std::string body;
  for (int i = 0; i < 3; ++i) body += field("f", "v");
  EXPECT_TRUE(read_parts(body + std::string(kClose), kType, limits));
  auto e = error_of(body + field("f", "v") + std::string(kClose), kType, limits);
  EXPECT_EQ(e.code, "TOO_LARGE");
}

TEST(MultipartReader, RepeatedFieldNameIsInvalidUnlessAllowed) {
  std::string body = field("target", "a") + field("target", "b") + std::string(kClose);
  auto e = error_of(body);
  EXPECT_EQ(e.code, "MULTIPART_INVALID");
  EXPECT_NE(e.message.find("'target'"), std::string::npos) << e.message;
  MultipartLimits limits;
  limits.allow_repeated_names = true;
  auto parts = read_parts(body, kType, limits);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->size(), 2u);
}

TEST(MultipartReader, PartsWithoutFormDataNameAreInvalid) {
  auto with_headers = [](std::string headers) {
    return "--XyZ-boundary\r\n" + headers + "\r\n1\r\n" + std::string(kClose);
  };
  for (std::string headers :
       {"Content-Disposition: attachment; name=a\r\n", "Content-Disposition: form-data\r\n",
        "Content-Disposition: form-data; name=\"\"\r\n", "Content-Disposition: form-data; name=a; name=b\r\n",
        "Content-Type: text/plain\r\n", "", "Content-Disposition: form-data;\r\n name=a\r\n",
        "Content-Disposition form-data; name=a\r\n", "Bad Header: x\r\nContent-Disposition: form-data; name=a\r\n",
        "Content-Disposition: form-data; name=\"a\" junk\r\n"}) {
    auto e = error_of(with_headers(headers));
    EXPECT_EQ(e.code, "MULTIPART_INVALID") << headers;
  }
}

TEST(MultipartReader, UnescapesQuotedFilename) {
  auto parts = read_parts(
      "--XyZ-boundary\r\nContent-Disposition: form-data; name=\"source\"; filename=\"my \\\"ctx\\\".tar\"\r\n\r\n"
      "x\r\n" +
      std::string(kClose));
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].filename, "my \"ctx\".tar");
}

class FailingBody : public BodyReader {
 public:
  Result<std::size_t> read(char*, std::size_t) override { return fail("IO", "client went away"); }
  std::optional<std::uint64_t> content_length() const override { return std::nullopt; }
};

TEST(MultipartReader, BodyReadErrorsAreReturned) {
  FailingBody body;
  auto reader = MultipartReader::open(body, kType);
  auto part = reader->next();
  ASSERT_FALSE(part);
  EXPECT_EQ(part.error().code, "IO");
}

}  // namespace
}  // namespace strata::http
