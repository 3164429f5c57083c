// Dockerfile syntax: directives, comments, continuations, flags, exec form and
// heredocs, and the file:line errors for malformed text.
#include "engine/dockerfile/parser.h"

#include <gtest/gtest.h>

namespace strata::engine::dockerfile {
namespace {

SyntaxTree parsed(std::string_view text) {
  auto tree = parse(text);
  EXPECT_TRUE(tree.has_value()) << (tree ? "" : tree.error().message);
  return tree.value_or(SyntaxTree{});
}

std::string parse_error(std::string_view text, std::string_view file = "Dockerfile") {
  auto tree = parse(text, file);
  EXPECT_FALSE(tree.has_value());
  if (tree) return "";
  EXPECT_EQ(tree.error().code, "DOCKERFILE_INVALID");
  return tree.error().message;
}

TEST(Parser, ReadsKeywordsUpperCasedWithArgumentsAndLines) {
  auto tree = parsed("from alpine AS build\n\nrun echo hi\n");
  ASSERT_EQ(tree.nodes.size(), 2u);
  EXPECT_EQ(tree.nodes[0].keyword, "FROM");
  EXPECT_EQ(tree.nodes[0].args, "alpine AS build");
  EXPECT_EQ(tree.nodes[1].keyword, "RUN");
  EXPECT_EQ(tree.nodes[1].start_line, 3);
  EXPECT_EQ(tree.nodes[1].end_line, 3);
}

TEST(Parser, SkipsCommentsAndBlankLinesAndLeadingWhitespace) {
  auto tree = parsed("# comment\n\n   # indented comment\n  RUN a # not a comment\r\n");
  ASSERT_EQ(tree.nodes.size(), 1u);
  EXPECT_EQ(tree.nodes[0].args, "a # not a comment");
  EXPECT_EQ(tree.nodes[0].start_line, 4);
}

TEST(Parser, IgnoresSyntaxDirectiveAndHonoursEscapeDirective) {
  auto tree = parsed("# syntax=docker/dockerfile:1\n# escape=`\nRUN a `\n  b\n");
  EXPECT_EQ(tree.escape, '`');
  ASSERT_EQ(tree.nodes.size(), 1u);
  EXPECT_EQ(tree.nodes[0].args, "a   b");
  EXPECT_EQ(tree.nodes[0].end_line, 4);
}

TEST(Parser, DirectivesAreCaseInsensitiveAndAllowSpaces) {
  EXPECT_EQ(parsed("#  ESCAPE = `\nFROM x\n").escape, '`');
}

TEST(Parser, DirectiveAfterOtherContentIsAComment) {
  EXPECT_EQ(parsed("FROM x\n# escape=`\n").escape, '\\');
  EXPECT_EQ(parsed("# hello\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parsed("\n# escape=`\nFROM x\n").escape, '\\');
  EXPECT_EQ(parsed("# unknown=1\n# escape=`\nFROM x\n").escape, '\\');
}

TEST(Parser, RejectsBadOrRepeatedEscapeDirective) {
  EXPECT_EQ(parse_error("# escape=x\nFROM a\n"),
            "Dockerfile:1: invalid escape token 'x': it must be \\ or `");
  EXPECT_NE(parse_error("# escape=\\\n# escape=`\n").find("Dockerfile:2: only one ESCAPE"),
            std::string::npos);
}

TEST(Parser, JoinsContinuationLinesSkippingCommentsAndEmptyLines) {
  auto tree = parsed("RUN apt-get update && \\\n# a comment\n\n    apt-get install x \\  \n  && done\nCMD x\n");
  ASSERT_EQ(tree.nodes.size(), 2u);
  EXPECT_EQ(tree.nodes[0].args, "apt-get update &&     apt-get install x   && done");
  EXPECT_EQ(tree.nodes[0].start_line, 1);
  EXPECT_EQ(tree.nodes[0].end_line, 5);
  EXPECT_EQ(tree.nodes[1].start_line, 6);
  ASSERT_EQ(tree.warnings.size(), 1u);
  EXPECT_EQ(tree.warnings[0], "Dockerfile:3: empty continuation line");
}

TEST(Parser, ContinuationAtEndOfFileEndsTheInstruction) {
  auto tree = parsed("RUN a \\");
  ASSERT_EQ(tree.nodes.size(), 1u);
  EXPECT_EQ(tree.nodes[0].args, "a");
}

TEST(Parser, ExtractsLeadingFlagsWithoutQuotes) {
  auto tree = parsed("COPY --from=build --chown=\"1:1\" --link src dst\n");
  auto& node = tree.nodes.at(0);
  EXPECT_EQ(node.flags, (std::vector<std::string>{"--from=build", "--chown=1:1", "--link"}));
  EXPECT_EQ(node.args, "src dst");
}

TEST(Parser, DoubleDashEndsFlags) {
  auto tree = parsed("RUN --network=none -- --not-a-flag\n");
  const auto& node = tree.nodes.at(0);
  EXPECT_EQ(node.flags, std::vector<std::string>{"--network=none"});
  EXPECT_EQ(node.args, "--not-a-flag");
}

TEST(Parser, DetectsExecForm) {
  auto tree = parsed("CMD [\"echo\", \"a b\"]\nRUN echo [x]\nRUN [ -f /x ] && echo y\n");
  ASSERT_TRUE(tree.nodes[0].exec_form.has_value());
  EXPECT_EQ(*tree.nodes[0].exec_form, (std::vector<std::string>{"echo", "a b"}));
  EXPECT_FALSE(tree.nodes[1].exec_form.has_value());
  EXPECT_FALSE(tree.nodes[2].exec_form.has_value());
}

TEST(Parser, ShellTestWithQuotedOperandStaysShellForm) {
  EXPECT_FALSE(parsed("RUN [ \"$A\" = b ]\n").nodes.at(0).exec_form.has_value());
}

TEST(Parser, MalformedExecFormIsAnErrorWithLine) {
  auto message = parse_error("FROM a\nCMD ['echo', 'hi']\n");
  EXPECT_EQ(message.rfind("Dockerfile:2: malformed JSON (exec) form", 0), 0u) << message;
  EXPECT_NE(parse_error("RUN [\"a\", 1]").find("malformed JSON"), std::string::npos);
  EXPECT_NE(parse_error("RUN [\"a\"").find("malformed JSON"), std::string::npos);
}

TEST(Parser, ExecFormDecodesJsonEscapes) {
  auto args = parse_exec_form(R"(["a\"b", "\u00e9\n"])");
  ASSERT_TRUE(args && *args);
  EXPECT_EQ(**args, (std::vector<std::string>{"a\"b", "\xC3\xA9\n"}));
}

TEST(Parser, ReadsHeredocBody) {
  auto tree = parsed("RUN <<EOF\necho $HOME\n  indented\nEOF\nCMD x\n");
  ASSERT_EQ(tree.nodes.size(), 2u);
  const auto& node = tree.nodes[0];
  ASSERT_EQ(node.heredocs.size(), 1u);
  EXPECT_EQ(node.heredocs[0].name, "EOF");
  EXPECT_EQ(node.heredocs[0].content, "echo $HOME\n  indented\n");
  EXPECT_TRUE(node.heredocs[0].expand);
  EXPECT_EQ(node.end_line, 4);
  EXPECT_EQ(tree.nodes[1].start_line, 5);
}

TEST(Parser, DashHeredocStripsLeadingTabs) {
  auto tree = parsed("RUN <<-EOT\n\t\techo a\n\tEOT\n");
  const auto& doc = tree.nodes.at(0).heredocs.at(0);
  EXPECT_TRUE(doc.strip_tabs);
  EXPECT_EQ(doc.content, "echo a\n");
}

TEST(Parser, QuotedHeredocDelimiterDisablesExpansion) {
  auto tree = parsed("COPY <<\"EOF\" <<'X' /dst/\n$A\nEOF\n$B\nX\n");
  const auto& docs = tree.nodes.at(0).heredocs;
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].name, "EOF");
  EXPECT_FALSE(docs[0].expand);
  EXPECT_EQ(docs[0].marker, "<<\"EOF\"");
  EXPECT_EQ(docs[1].name, "X");
  EXPECT_EQ(docs[1].content, "$B\n");
}

TEST(Parser, MultipleHeredocsOnOneLineAreReadInOrder) {
  auto tree = parsed("RUN 3<<A cat /proc/self/fd/3 && cat <<B\none\nA\ntwo\nB\n");
  const auto& docs = tree.nodes.at(0).heredocs;
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].fd, 3);
  EXPECT_EQ(docs[0].content, "one\n");
  EXPECT_EQ(docs[1].content, "two\n");
  EXPECT_EQ(tree.nodes[0].end_line, 5);
}

TEST(Parser, HeredocBodyIsRawText) {
  auto tree = parsed("RUN <<EOF\n# not a comment \\\n\nEOF\n");
  const auto& doc = tree.nodes.at(0).heredocs.at(0);
  EXPECT_EQ(doc.content, "# not a comment \\\n\n");
}

TEST(Parser, HeredocsOnlyForRunCopyAdd) {
  EXPECT_TRUE(parsed("ENV A=<<EOF\nFROM x\n").nodes.at(0).heredocs.empty());
  EXPECT_TRUE(parsed("RUN echo \"<<EOF\"\n").nodes.at(0).heredocs.empty());
  EXPECT_TRUE(parsed("RUN cat <<<word\n").nodes.at(0).heredocs.empty());
}

TEST(Parser, UnterminatedHeredocIsAnError) {
  EXPECT_EQ(parse_error("FROM a\nRUN <<EOF\necho\n", "ci/Dockerfile.dev"),
            "ci/Dockerfile.dev:2: unterminated heredoc: no line \"EOF\" before the end of the file");
}

TEST(Parser, KnowsNoInstructionMeaning) {
  auto tree = parsed("FOO bar baz\n");
  EXPECT_EQ(tree.nodes.at(0).keyword, "FOO");
  EXPECT_EQ(tree.nodes.at(0).args, "bar baz");
}

TEST(Parser, EmptyInputHasNoNodes) {
  EXPECT_TRUE(parsed("").nodes.empty());
  EXPECT_TRUE(parsed("\xEF\xBB\xBF# only a comment\n").nodes.empty());
}

}  // namespace
}  // namespace strata::engine::dockerfile
