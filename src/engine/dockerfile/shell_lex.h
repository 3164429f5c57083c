// Variable expansion and word handling for Dockerfile arguments: the one place
// that understands $V, ${V}, ${V:-word}, ${V-word}, ${V:+word}, ${V+word},
// ${V:?word}, ${V?word}, quotes and the escape character, as BuildKit's
// shell/lex.go does. Which instructions are expanded is decided by the caller
// (instructions.h: expand_variables); RUN/CMD/ENTRYPOINT text is left to the
// shell in the container.
//
// Rules: single quotes keep everything literal; double quotes allow expansion
// and honour the escape character only before '"', '$' and itself; outside
// quotes the escape character makes the next character literal. Unset
// variables expand to "". A malformed substitution ("${", "${}", "${V#x}") or
// an unterminated quote is a DOCKERFILE_INVALID error whose message names the
// problem; callers add file and line.
//
// ShellLex is immutable after construction and safe to share across threads.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace strata::engine::dockerfile {

// Variables visible to an expansion (build args and environment), by name.
using Variables = std::map<std::string, std::string, std::less<>>;

class ShellLex {
 public:
  explicit ShellLex(char escape = '\\') : escape_(escape) {}

  char escape() const { return escape_; }

  // Splits `text` at whitespace that is outside quotes and not escaped. Words
  // keep their quotes and escapes so each can be given to expand() later;
  // an unterminated quote simply runs to the end (expand() reports it).
  std::vector<std::string> split_words(std::string_view text) const;

  // The first word of `text` as split_words() would cut it, as a view into
  // `text` (so callers know where it ends); empty when only whitespace is left.
  std::string_view next_word(std::string_view text) const;

  // Expands variables in one word and removes quotes and escapes. The result
  // is never split, whatever whitespace the values contain.
  Result<std::string> expand(std::string_view word, const Variables& vars) const;

  // Expands variables in free text (heredoc bodies, exec-form JSON strings):
  // quotes are ordinary characters, and an escape character and the one
  // after it are kept as written, so "\$V" stays "\$V".
  Result<std::string> expand_text(std::string_view text, const Variables& vars) const;

  // Removes quotes and escapes but leaves every '$' as written.
  Result<std::string> unquote(std::string_view word) const;

  // A word that expand() and unquote() turn back into exactly `text`.
  std::string quote(std::string_view text) const;

 private:
  char escape_;
};

}  // namespace strata::engine::dockerfile
