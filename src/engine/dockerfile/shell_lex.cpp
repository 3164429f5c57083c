#include "engine/dockerfile/shell_lex.h"

#include <cctype>
#include <optional>

namespace strata::engine::dockerfile {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// One pass over a word. With `vars` null, '$' is literal (quote removal only);
// in raw mode quotes and escapes are copied as text.
class WordExpander {
 public:
  WordExpander(std::string_view text, char escape, const Variables* vars, bool raw = false)
      : text_(text), escape_(escape), vars_(vars), raw_(raw) {}

  Result<std::string> run() { return until(std::nullopt); }

 private:
  // Processes text up to (not including) an unquoted `stop` character.
  Result<std::string> until(std::optional<char> stop) {
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (stop && c == *stop) return out;
      if (raw_ && (c == '\'' || c == '"' || c == escape_)) {
        out += text_.substr(pos_, c == escape_ ? 2 : 1);
        pos_ += c == escape_ ? 2 : 1;
      } else if (c == '\'') {
        auto part = single_quoted();
        if (!part) return part;
        out += *part;
      } else if (c == '"') {
        auto part = double_quoted();
        if (!part) return part;
        out += *part;
      } else if (c == escape_) {
        // A trailing escape character has nothing to escape and is dropped.
        if (pos_ + 1 < text_.size()) out += text_[pos_ + 1];
        pos_ += 2;
      } else if (c == '$') {
        auto part = dollar();
        if (!part) return part;
        out += *part;
      } else {
        out += c;
        ++pos_;
      }
    }
    return out;
  }

  Result<std::string> single_quoted() {
    auto close = text_.find('\'', pos_ + 1);
    if (close == std::string_view::npos)
      return fail("DOCKERFILE_INVALID", "unterminated single quote in: " + std::string(text_));
    std::string out(text_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return out;
  }

  Result<std::string> double_quoted() {
    std::string out;
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == escape_ && pos_ + 1 < text_.size()) {
        char next = text_[pos_ + 1];
        if (next == '"' || next == '$' || next == escape_) {
          out += next;
          pos_ += 2;
          continue;
        }
      }
      if (c == '$') {
        auto part = dollar();
        if (!part) return part;
        out += *part;
        continue;
      }
      out += c;
      ++pos_;
    }
    return fail("DOCKERFILE_INVALID", "unterminated double quote in: " + std::string(text_));
  }

  std::optional<std::string> lookup(std::string_view name) const {
    auto it = vars_->find(name);
    if (it == vars_->end()) return std::nullopt;
    return it->second;
  }

  // At '$': a variable reference, or a literal '$' when none follows.
  Result<std::string> dollar() {
    if (!vars_ || pos_ + 1 >= text_.size()) {
      ++pos_;
      return std::string("$");
    }
    char next = text_[pos_ + 1];
    if (next == '{') {
      pos_ += 2;
      return braced();
    }
    if (is_name_start(next)) {
      size_t start = ++pos_;
      while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
      return lookup(text_.substr(start, pos_ - start)).value_or("");
    }
    if (std::isdigit(static_cast<unsigned char>(next))) {
      // Positional parameters do not exist in a Dockerfile: always empty.
      pos_ += 2;
      return std::string();
    }
    ++pos_;
    return std::string("$");
  }

  // After "${": NAME, then "}" or a modifier and its word, then "}".
  Result<std::string> braced() {
    size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    if (name.empty() || (!is_name_start(name[0]) && name.size() > 1))
      return fail("DOCKERFILE_INVALID", "bad substitution: missing or invalid variable name in " +
                                            std::string(text_));
    if (pos_ >= text_.size()) return missing_brace();
    char c = text_[pos_];
    if (c == '}') {
      ++pos_;
      return lookup(name).value_or("");
    }
    bool colon = c == ':';
    if (colon) ++pos_;
    char op = pos_ < text_.size() ? text_[pos_] : '\0';
    if (op != '-' && op != '+' && op != '?')
      return fail("DOCKERFILE_INVALID",
                  "unsupported modifier in ${" + name + "...} (supported: :- - :+ + :? ?) in " +
                      std::string(text_));
    ++pos_;
    auto word = until('}');
    if (!word) return word;
    if (pos_ >= text_.size()) return missing_brace();
    ++pos_;
    auto value = lookup(name);
    // With ':' an empty value counts as unset, as in POSIX sh.
    bool is_set = value && (!colon || !value->empty());
    switch (op) {
      case '-':
        return is_set ? *value : *word;
      case '+':
        return is_set ? *word : std::string();
      default:
        if (is_set) return *value;
        return fail("DOCKERFILE_INVALID",
                    name + ": " + (word->empty() ? "is not set" : *word));
    }
  }

  std::unexpected<Error> missing_brace() const {
    return fail("DOCKERFILE_INVALID",
                "missing '}' in variable substitution: " + std::string(text_));
  }

  std::string_view text_;
  char escape_;
  const Variables* vars_;
  bool raw_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view ShellLex::next_word(std::string_view text) const {
  size_t start = 0;
  while (start < text.size() && is_space(text[start])) ++start;
  char quote = 0;
  size_t i = start;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quote == 0 && is_space(c)) break;
    if (c == escape_ && quote != '\'' && i + 1 < text.size()) {
      ++i;
    } else if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
    } else if (c == quote) {
      quote = 0;
    }
  }
  return text.substr(start, i - start);
}

std::vector<std::string> ShellLex::split_words(std::string_view text) const {
  std::vector<std::string> words;
  for (auto word = next_word(text); !word.empty(); word = next_word(text)) {
    words.emplace_back(word);
    text.remove_prefix(static_cast<size_t>(word.data() - text.data()) + word.size());
  }
  return words;
}

Result<std::string> ShellLex::expand(std::string_view word, const Variables& vars) const {
  return WordExpander(word, escape_, &vars).run();
}

Result<std::string> ShellLex::expand_text(std::string_view text, const Variables& vars) const {
  return WordExpander(text, escape_, &vars, /*raw=*/true).run();
}

Result<std::string> ShellLex::unquote(std::string_view word) const {
  return WordExpander(word, escape_, nullptr).run();
}

std::string ShellLex::quote(std::string_view text) const {
  // Inside single quotes nothing is special except the quote itself, which
  // is closed, escaped, and reopened.
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += '\'';
      out += escape_;
      out += "''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace strata::engine::dockerfile
