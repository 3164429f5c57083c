// Dockerfile syntax: text -> a flat list of instruction nodes, as BuildKit's
// frontend/dockerfile/parser does. It knows the file's *syntax* (parser
// directives, comments, line continuations, flags, exec-form JSON, heredocs)
// and no instruction's meaning: "FOO bar" parses fine and is rejected later
// by instructions.h.
//
// Contract: parse() never throws and never reads files; the returned tree owns
// all its text. Errors have code DOCKERFILE_INVALID and a message of the form
// "Dockerfile:12: <what>", using the file name given by the caller.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::dockerfile {

// The body of a `<<EOF` / `<<-EOF` / `<<"EOF"` here-document.
struct Heredoc {
  std::string marker;   // the word that introduced it, e.g. "<<-'EOF'"
  std::string name;     // delimiter without quotes, e.g. "EOF"
  std::string content;  // body lines, each ending in '\n'; tabs already stripped for <<-
  bool expand = true;   // false when the delimiter was quoted: no variable expansion
  bool strip_tabs = false;  // written as <<-
  int fd = -1;          // file descriptor prefix as in `3<<EOF`, -1 when absent
};

// One instruction. Lines are 1-based; end_line includes continuation lines and
// heredoc bodies.
struct Node {
  std::string keyword;             // upper-cased: "RUN"
  std::vector<std::string> flags;  // leading flags without quotes: "--from=build"
  std::string args;                // argument text after the flags, trimmed
  std::optional<std::vector<std::string>> exec_form;  // set when args is a JSON string array
  std::vector<Heredoc> heredocs;   // in the order their markers appear
  std::string original;            // the instruction line(s) as joined, for messages
  int start_line = 0;
  int end_line = 0;
};

struct SyntaxTree {
  std::string file;       // name used in error messages, e.g. "Dockerfile"
  char escape = '\\';     // from `# escape=` (backslash or backtick)
  std::vector<Node> nodes;
  std::vector<std::string> warnings;  // "file:line: message", e.g. empty continuation lines
};

// Parses a whole Dockerfile.
Result<SyntaxTree> parse(std::string_view text, std::string_view file = "Dockerfile");

// Reads `text` as an exec-form argument list. Returns nullopt when the text is
// shell form. Text that is clearly meant as JSON (starts with `["` or `['`,
// or ends with `"]` or `']`) but is not a valid JSON array of strings is an
// error, so `CMD ['a']` fails loudly instead of running "['a']" in a shell;
// `RUN [ -f x ]` stays shell form.
Result<std::optional<std::vector<std::string>>> parse_exec_form(std::string_view text);

// The error every Dockerfile stage reports: DOCKERFILE_INVALID, "file:line: what".
std::unexpected<Error> dockerfile_error(std::string_view file, int line, std::string_view what);

}  // namespace strata::engine::dockerfile
