// .dockerignore parsing and matching with moby/patternmatcher semantics.
#include "engine/dockerfile/dockerignore.h"

#include <gtest/gtest.h>

namespace strata::engine::dockerfile {
namespace {

IgnoreRules rules(std::string_view text) {
  auto parsed = IgnoreRules::parse(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed.value_or(IgnoreRules{});
}

TEST(DockerIgnore, SkipsCommentsAndBlankLinesAndCleansPatterns) {
  auto r = rules("# comment\n\n  /build/  \r\n./docs//api/\n!  /docs/api/keep.md\n");
  ASSERT_EQ(r.patterns().size(), 3u);
  EXPECT_EQ(r.patterns()[0].text, "build");
  EXPECT_EQ(r.patterns()[1].text, "docs/api");
  EXPECT_TRUE(r.patterns()[2].exception);
  EXPECT_EQ(r.patterns()[2].text, "docs/api/keep.md");
}

TEST(DockerIgnore, PatternMatchesPathAndEverythingBelowIt) {
  auto r = rules("build\n");
  EXPECT_TRUE(r.excluded("build"));
  EXPECT_TRUE(r.excluded("build/out/a.o"));
  EXPECT_TRUE(r.excluded("./build/x"));
  EXPECT_FALSE(r.excluded("src/build"));
  EXPECT_FALSE(r.excluded("buildx"));
}

TEST(DockerIgnore, StarAndQuestionMarkStayWithinOneSegment) {
  auto r = rules("*.log\nsrc/?.tmp\n");
  EXPECT_TRUE(r.excluded("debug.log"));
  EXPECT_FALSE(r.excluded("logs/debug.log"));
  EXPECT_TRUE(r.excluded("src/a.tmp"));
  EXPECT_FALSE(r.excluded("src/ab.tmp"));
  EXPECT_FALSE(r.excluded("src/x/a.tmp"));
}

TEST(DockerIgnore, DoubleStarMatchesAnyDepth) {
  auto r = rules("**/*.pyc\ndocs/**/draft\ncache/**\n");
  EXPECT_TRUE(r.excluded("a.pyc"));
  EXPECT_TRUE(r.excluded("x/y/z/a.pyc"));
  EXPECT_TRUE(r.excluded("docs/draft"));
  EXPECT_TRUE(r.excluded("docs/a/b/draft/file"));
  EXPECT_FALSE(r.excluded("cache"));  // trailing ** needs something below, as in moby
  EXPECT_TRUE(r.excluded("cache/x"));
}

TEST(DockerIgnore, CharacterClassesAndEscapes) {
  auto r = rules("file[0-9].txt\nlog[^a-c]\nlit\\*eral\n");
  EXPECT_TRUE(r.excluded("file7.txt"));
  EXPECT_FALSE(r.excluded("filex.txt"));
  EXPECT_TRUE(r.excluded("logd"));
  EXPECT_FALSE(r.excluded("logb"));
  EXPECT_TRUE(r.excluded("lit*eral"));
  EXPECT_FALSE(r.excluded("litXeral"));
}

TEST(DockerIgnore, ExceptionsReincludeAndLastMatchWins) {
  auto r = rules("*.md\n!README.md\nREADME*.md\n!docs\n");
  EXPECT_TRUE(r.excluded("CHANGES.md"));
  EXPECT_TRUE(r.excluded("README.md"));  // re-excluded by the later README*.md
  auto r2 = rules("*.md\n!README.md\n");
  EXPECT_FALSE(r2.excluded("README.md"));
  EXPECT_TRUE(r2.excluded("NOTES.md"));
}

TEST(DockerIgnore, ExceptionInsideExcludedDirectory) {
  auto r = rules("vendor\n!vendor/keep\n");
  EXPECT_TRUE(r.excluded("vendor/drop/x"));
  EXPECT_FALSE(r.excluded("vendor/keep"));
  EXPECT_FALSE(r.excluded("vendor/keep/deep/file"));
}

TEST(DockerIgnore, DirectoryMayContainReincludedFiles) {
  auto r = rules("vendor\n!vendor/keep/*.go\n!**/important\n");
  EXPECT_TRUE(r.may_contain_included("vendor"));
  EXPECT_TRUE(r.may_contain_included("vendor/keep"));
  EXPECT_TRUE(r.may_contain_included("anything/else"));  // **/important may be below
  auto plain = rules("vendor\n!vendor/keep\nnode_modules\n");
  EXPECT_TRUE(plain.may_contain_included("vendor"));
  EXPECT_FALSE(plain.may_contain_included("node_modules"));
  EXPECT_FALSE(plain.may_contain_included("vendor/other"));
  EXPECT_FALSE(rules("tmp\n").may_contain_included("tmp"));
}

TEST(DockerIgnore, EmptyFileExcludesNothing) {
  EXPECT_FALSE(rules("").excluded("anything"));
  EXPECT_FALSE(rules("\n# x\n").excluded("x"));
}

TEST(DockerIgnore, IndentedHashIsAPatternNotAComment) {
  EXPECT_TRUE(rules("  #weird\n").excluded("#weird"));
}

TEST(DockerIgnore, MalformedPatternsAreErrorsWithLine) {
  auto unterminated = IgnoreRules::parse("ok\nfile[0-9\n");
  ASSERT_FALSE(unterminated);
  EXPECT_EQ(unterminated.error().code, "DOCKERIGNORE_INVALID");
  EXPECT_EQ(unterminated.error().message, "line 2: pattern \"file[0-9\" has an unterminated '['");
  auto bang = IgnoreRules::parse("!\n");
  ASSERT_FALSE(bang);
  EXPECT_EQ(bang.error().message, "line 1: illegal exclusion pattern \"!\"");
  EXPECT_FALSE(IgnoreRules::parse("trailing\\"));
}

}  // namespace
}  // namespace strata::engine::dockerfile
