#include "http/range.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::http {
namespace {

ByteRange resolved(std::string_view header, std::uint64_t size) {
  auto r = resolve_range_header(header, size);
  EXPECT_TRUE(r.has_value()) << header << ": " << (r ? "" : r.error().message);
  return r.value_or(ByteRange{});
}

void expect_rejected(std::string_view header, std::uint64_t size) {
  auto r = resolve_range_header(header, size);
  ASSERT_FALSE(r.has_value()) << header << " on size " << size;
  EXPECT_EQ(r.error().code, "RANGE_INVALID");
}

struct Case {
  std::string_view header;
  std::uint64_t size;
  ByteRange expected;
};

TEST(RangeHeader, ResolvesEveryFormAgainstBlobSize) {
  const Case cases[] = {
      {"bytes=0-99", 1000, {0, 99}},    // closed
      {"bytes=10-10", 1000, {10, 10}},  // one byte
      {"bytes=500-999", 1000, {500, 999}},
      {"bytes=900-5000", 1000, {900, 999}},  // end past the blob is clamped
      {"bytes=0-18446744073709551615", 1000, {0, 999}},
      {"bytes=100-", 1000, {100, 999}},  // open-ended
      {"bytes=0-", 1, {0, 0}},
      {"bytes=-100", 1000, {900, 999}},  // suffix: the last n bytes
      {"bytes=-5000", 1000, {0, 999}},   // suffix longer than the blob
      {"bytes=-1", 1, {0, 0}},
      {"  Bytes=1-2 ", 10, {1, 2}},  // unit is case-insensitive, whitespace tolerated
  };
  for (const auto& c : cases) EXPECT_EQ(resolved(c.header, c.size), c.expected) << c.header;
  EXPECT_EQ(resolved("bytes=10-10", 1000).length(), 1u);
}

TEST(RangeHeader, StartAtOrPastEndIsUnsatisfiable) {
  expect_rejected("bytes=1000-", 1000);
  expect_rejected("bytes=1000-2000", 1000);
  expect_rejected("bytes=-0", 1000);
  expect_rejected("bytes=0-", 0);
  expect_rejected("bytes=-10", 0);
}

TEST(RangeHeader, MultipleRangesServeFirstSatisfiable) {
  EXPECT_EQ(resolved("bytes=0-9,20-29", 100), (ByteRange{0, 9}));
  EXPECT_EQ(resolved("bytes= 1-2 , 4-5", 10), (ByteRange{1, 2}));
  EXPECT_EQ(resolved("bytes=500-600,-10", 100), (ByteRange{90, 99}));
  expect_rejected("bytes=100-,200-", 100);
}

TEST(RangeHeader, MalformedIsRejected) {
  for (std::string_view header :
       {"", "bytes", "bytes=", "bytes=-", "bytes=abc", "bytes=1", "bytes=5-4", "bytes=a-5",
        "bytes=1-b", "bytes=--5", "bytes=+1-5", "bytes=1 -5", "bytes=0-9,", "bytes=0-9,x",
        "items=0-5", "0-5", "bytes 0-5", "bytes=99999999999999999999-",
        "bytes=-99999999999999999999"})
    expect_rejected(header, 100);
}

TEST(RangeHeader, ErrorsNameTheProblem) {
  auto r = resolve_range_header("bytes=200-", 100);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("100 bytes"), std::string::npos);
  EXPECT_EQ(r.error().detail, "bytes=200-");
}

TEST(ContentRangeReply, Formats) {
  EXPECT_EQ(format_content_range({0, 99}, 1000), "bytes 0-99/1000");
  EXPECT_EQ(format_unsatisfiable_content_range(1000), "bytes */1000");
}

TEST(UploadContentRange, SpecForm) {
  auto r = parse_upload_content_range("0-1023");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (ByteRange{0, 1023}));
  EXPECT_EQ(r->length(), 1024u);
  EXPECT_EQ(parse_upload_content_range("1024-1024").value(), (ByteRange{1024, 1024}));
}

TEST(UploadContentRange, BytesPrefixForm) {
  EXPECT_EQ(parse_upload_content_range("bytes 0-99").value(), (ByteRange{0, 99}));
  EXPECT_EQ(parse_upload_content_range("bytes 100-199/*").value(), (ByteRange{100, 199}));
  EXPECT_EQ(parse_upload_content_range("bytes 100-199/200").value(), (ByteRange{100, 199}));
  EXPECT_EQ(parse_upload_content_range("Bytes 5-6").value(), (ByteRange{5, 6}));
}

TEST(UploadContentRange, LargeOffsets) {
  EXPECT_EQ(parse_upload_content_range("4294967296-8589934591").value(),
            (ByteRange{4294967296ull, 8589934591ull}));
}

TEST(UploadContentRange, MalformedIsRejected) {
  for (std::string_view header :
       {"", "0", "0-", "-5", "a-b", "5-4", "0-99/50", "0-99/x", "0-99/", "bytes=0-99", "0 - 99",
        "-1-5", "0-18446744073709551616", "bytes", "1,2-3"}) {
    auto r = parse_upload_content_range(header);
    ASSERT_FALSE(r.has_value()) << header;
    EXPECT_EQ(r.error().code, "RANGE_INVALID");
  }
}

TEST(UploadRangeHeader, ReportsLastReceivedByte) {
  EXPECT_EQ(format_upload_range(1), "0-0");
  EXPECT_EQ(format_upload_range(1024), "0-1023");
  EXPECT_EQ(format_upload_range(8589934592ull), "0-8589934591");
}

TEST(UploadRangeHeader, EmptyUploadReportsZeroZeroLikeDistribution) {
  EXPECT_EQ(format_upload_range(0), "0-0");
}

}  // namespace
}  // namespace strata::http
