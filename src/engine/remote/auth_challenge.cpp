// Hand-written scanner: tokens, '=' and quoted strings with backslash escapes.
// A token not followed by '=' starts a new challenge.
#include "engine/remote/auth_challenge.h"

#include <algorithm>

namespace strata::engine::remote {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip() { ++pos_; }
  void skip_space() {
    while (!done() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  void skip_separators() {
    while (!done() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++pos_;
  }
  std::string_view token() {
    auto start = pos_;
    while (!done() && peek() != ' ' && peek() != '\t' && peek() != ',' && peek() != '=') ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string value() {
    if (done() || peek() != '"') return std::string(token());
    ++pos_;
    std::string out;
    while (!done() && peek() != '"') {
      if (peek() == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (!done()) ++pos_;  // closing quote
    return out;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<AuthChallenge> parse_auth_challenges(std::string_view header) {
  std::vector<AuthChallenge> challenges;
  Scanner scan(header);
  while (true) {
    scan.skip_separators();
    if (scan.done()) break;
    // Never empty here unless the next character is '='.
    auto name = scan.token();
    scan.skip_space();
    if (!scan.done() && scan.peek() == '=') {
      scan.skip();
      scan.skip_space();
      auto value = scan.value();
      if (!challenges.empty() && !name.empty()) challenges.back().params[lower(name)] = std::move(value);
    } else {
      challenges.push_back(AuthChallenge{lower(name), {}});
    }
  }
  return challenges;
}

}  // namespace strata::engine::remote
