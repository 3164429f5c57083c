#include "oci/name.h"

#include <gtest/gtest.h>

#include <string>

namespace strata::oci {
namespace {

TEST(RepositoryName, AcceptsSpecExamples) {
  for (std::string_view name :
       {"a", "library/ubuntu", "cache/global/node", "a/b/c/d/e/f/g/h", "my.registry/team_a/app-1",
        "a__b", "a--b", "a---b", "a.b.c", "0", "9abc/x0", "a_b.c-d__e"})
    EXPECT_TRUE(is_valid_repository_name(name)) << name;
}

TEST(RepositoryName, AcceptsManySegments) {
  std::string name = "s";
  for (int i = 0; i < 60; ++i) name += "/s" + std::to_string(i);
  EXPECT_TRUE(validate_repository_name(name).has_value());
}

TEST(RepositoryName, RejectsGrammarViolations) {
  for (std::string_view name : {"",      "A",    "library/Ubuntu",
                                "/a",    "a/",   "a//b",
                                "..",    "a..b", "a/../b",
                                ".a",    "a.",   "-a",
                                "a-",    "_a",   "a_",
                                "a___b", "a_.b", "a.-b",
                                "a-.b",  "a b",  "a:b",
                                "a@b",   "a/b/", "a/.b",
                                "a\nb",  "ü"})
    EXPECT_FALSE(is_valid_repository_name(name)) << name;
}

TEST(RepositoryName, RejectsLongerThan255) {
  std::string ok(255, 'a');
  EXPECT_TRUE(is_valid_repository_name(ok));
  auto too_long = validate_repository_name(ok + "a");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, "NAME_INVALID");
  EXPECT_NE(too_long.error().message.find("255"), std::string::npos);
}

TEST(RepositoryName, ValidationErrorIsNameInvalid) {
  auto r = validate_repository_name("Bad/Name");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "NAME_INVALID");
  EXPECT_EQ(r.error().detail, "Bad/Name");
}

TEST(Tag, AcceptsSpecGrammar) {
  for (std::string_view tag :
       {"latest", "v1.2.3", "_private", "A", "0", "sha256-abc", "a..b", "UPPER_lower.1-2"})
    EXPECT_TRUE(is_valid_tag(tag)) << tag;
}

TEST(Tag, AllowsExactly128Characters) {
  EXPECT_TRUE(is_valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_tag(std::string(129, 'a')));
}

TEST(Tag, RejectsBadCharactersAndLeadingSeparators) {
  for (std::string_view tag : {"", ".hidden", "-dash", "a:b", "a/b", "a b", "a@b", "a+b"})
    EXPECT_FALSE(is_valid_tag(tag)) << tag;
  auto r = validate_tag("-x");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "TAG_INVALID");
}

TEST(Reference, ParsesTag) {
  auto r = Reference::parse("v1.0");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_tag());
  EXPECT_EQ(r->tag(), "v1.0");
  EXPECT_EQ(r->str(), "v1.0");
}

TEST(Reference, ParsesSha256AndSha512Digests) {
  auto sha256 = Digest::of(DigestAlgorithm::sha256, "x");
  auto sha512 = Digest::of(DigestAlgorithm::sha512, "x");
  for (const auto& digest : {sha256, sha512}) {
    auto r = Reference::parse(digest.str());
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->is_digest());
    EXPECT_EQ(r->digest(), digest);
    EXPECT_EQ(r->str(), digest.str());
    EXPECT_EQ(*r, Reference(digest));
  }
}

TEST(Reference, TextWithColonMustBeAValidDigest) {
  auto r = Reference::parse("sha256:abc");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "DIGEST_INVALID");
  EXPECT_EQ(Reference::parse("latest:1").error().code, "DIGEST_INVALID");
}

TEST(Reference, InvalidTagIsTagInvalid) {
  EXPECT_EQ(Reference::parse("").error().code, "TAG_INVALID");
  EXPECT_EQ(Reference::parse(".x").error().code, "TAG_INVALID");
  EXPECT_EQ(Reference::parse(std::string(129, 't')).error().code, "TAG_INVALID");
}

TEST(Reference, TagThatLooksLikeDigestWithoutColonIsATag) {
  auto r = Reference::parse("sha256-0123");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_tag());
}

}  // namespace
}  // namespace strata::oci
