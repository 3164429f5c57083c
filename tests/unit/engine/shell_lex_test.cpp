// Variable expansion, quoting and word splitting of Dockerfile arguments.
#include "engine/dockerfile/shell_lex.h"

#include <gtest/gtest.h>

namespace strata::engine::dockerfile {
namespace {

const Variables kVars{{"NAME", "world"}, {"EMPTY", ""}, {"SPACED", "a b"}};

std::string expanded(std::string_view word, char escape = '\\') {
  auto out = ShellLex(escape).expand(word, kVars);
  EXPECT_TRUE(out.has_value()) << word << ": " << (out ? "" : out.error().message);
  return out.value_or("<error>");
}

std::string expansion_error(std::string_view word) {
  auto out = ShellLex().expand(word, kVars);
  EXPECT_FALSE(out.has_value()) << word << " expanded to " << out.value_or("");
  return out ? "" : out.error().message;
}

TEST(ShellLex, ExpandsPlainAndBracedVariables) {
  EXPECT_EQ(expanded("hello $NAME"), "hello world");
  EXPECT_EQ(expanded("${NAME}s"), "worlds");
  EXPECT_EQ(expanded("$NAME-x"), "world-x");
}

TEST(ShellLex, UnsetVariablesExpandToEmpty) {
  EXPECT_EQ(expanded("a${MISSING}b$MISSING"), "ab");
}

TEST(ShellLex, DefaultValueModifiers) {
  EXPECT_EQ(expanded("${MISSING:-dflt}"), "dflt");
  EXPECT_EQ(expanded("${EMPTY:-dflt}"), "dflt");
  EXPECT_EQ(expanded("${EMPTY-dflt}"), "");
  EXPECT_EQ(expanded("${MISSING-dflt}"), "dflt");
  EXPECT_EQ(expanded("${NAME:-dflt}"), "world");
  EXPECT_EQ(expanded("${MISSING:-$NAME}"), "world");
  EXPECT_EQ(expanded("${MISSING:-${ALSO:-deep}}"), "deep");
}

TEST(ShellLex, AlternativeValueModifiers) {
  EXPECT_EQ(expanded("${NAME:+set}"), "set");
  EXPECT_EQ(expanded("${EMPTY:+set}"), "");
  EXPECT_EQ(expanded("${EMPTY+set}"), "set");
  EXPECT_EQ(expanded("${MISSING+set}"), "");
}

TEST(ShellLex, RequiredValueModifierFailsWhenUnset) {
  EXPECT_EQ(expanded("${NAME:?must be set}"), "world");
  EXPECT_EQ(expansion_error("${MISSING:?must be set}"), "MISSING: must be set");
  EXPECT_EQ(expanded("${EMPTY?x}"), "");
}

TEST(ShellLex, SingleQuotesPreventExpansion) {
  EXPECT_EQ(expanded("'$NAME' \"$NAME\""), "$NAME world");
}

TEST(ShellLex, DoubleQuotesKeepEscapesExceptBeforeSpecialCharacters) {
  EXPECT_EQ(expanded(R"("a\"b \$NAME \\ \n")"), R"(a"b $NAME \ \n)");
}

TEST(ShellLex, EscapeCharacterMakesNextCharacterLiteral) {
  EXPECT_EQ(expanded(R"(\$NAME \'x)"), "$NAME 'x");
  EXPECT_EQ(expanded("`$NAME", '`'), "$NAME");
  EXPECT_EQ(expanded(R"(C:\path)", '`'), R"(C:\path)");
}

TEST(ShellLex, ExpandedValuesAreNotSplitOrReparsed) {
  EXPECT_EQ(expanded("$SPACED"), "a b");
  const Variables quoted{{"Q", "'x'"}};
  EXPECT_EQ(ShellLex().expand("$Q", quoted).value(), "'x'");
}

TEST(ShellLex, LoneDollarIsLiteral) {
  EXPECT_EQ(expanded("cost: $ 5$"), "cost: $ 5$");
}

TEST(ShellLex, MalformedSubstitutionsAreErrors) {
  EXPECT_NE(expansion_error("${NAME").find("missing '}'"), std::string::npos);
  EXPECT_NE(expansion_error("${").find("bad substitution"), std::string::npos);
  EXPECT_NE(expansion_error("${}").find("bad substitution"), std::string::npos);
  EXPECT_NE(expansion_error("${NAME#pre}").find("unsupported modifier"), std::string::npos);
  EXPECT_NE(expansion_error("${NAME:-x").find("missing '}'"), std::string::npos);
}

TEST(ShellLex, UnterminatedQuotesAreErrors) {
  EXPECT_NE(expansion_error("'abc").find("single quote"), std::string::npos);
  EXPECT_NE(expansion_error("\"abc").find("double quote"), std::string::npos);
}

TEST(ShellLex, SplitWordsKeepsQuotedWhitespaceAndQuotes) {
  auto words = ShellLex().split_words(R"(  a "b c" 'd e'f g\ h  )");
  EXPECT_EQ(words, (std::vector<std::string>{"a", "\"b c\"", "'d e'f", "g\\ h"}));
}

TEST(ShellLex, NextWordReturnsViewIntoText) {
  std::string_view text = "  --mount=\"a b\" rest";
  auto word = ShellLex().next_word(text);
  EXPECT_EQ(word, "--mount=\"a b\"");
  EXPECT_EQ(word.data(), text.data() + 2);
}

TEST(ShellLex, UnquoteRemovesQuotesButNotDollars) {
  EXPECT_EQ(ShellLex().unquote(R"("$A" '$B' \$C)").value(), "$A $B $C");
}

TEST(ShellLex, ExpandTextKeepsQuotesAndEscapes) {
  auto out = ShellLex().expand_text("echo \"hi $NAME\" 'x' \\$NAME \\n", kVars);
  EXPECT_EQ(out.value(), "echo \"hi world\" 'x' \\$NAME \\n");
}

TEST(ShellLex, QuoteRoundTripsAnyText) {
  ShellLex lex;
  for (std::string text : {"plain", "it's $HOME", "a\\b \"c\"", ""}) {
    EXPECT_EQ(lex.expand(lex.quote(text), kVars).value(), text);
    EXPECT_EQ(lex.unquote(lex.quote(text)).value(), text);
  }
}

}  // namespace
}  // namespace strata::engine::dockerfile
