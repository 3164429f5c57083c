#include "common/text.h"
#include "engine/dockerfile/parser.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "engine/dockerfile/shell_lex.h"

namespace strata::engine::dockerfile {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}


std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// A parser directive line: `# key = value` with key [A-Za-z][A-Za-z0-9]*.
bool read_directive(std::string_view line, std::string& key, std::string& value) {
  if (!line.starts_with('#')) return false;
  auto rest = trim_left(line.substr(1));
  size_t n = 0;
  while (n < rest.size() && std::isalnum(static_cast<unsigned char>(rest[n]))) ++n;
  if (n == 0 || !std::isalpha(static_cast<unsigned char>(rest[0]))) return false;
  key = upper(rest.substr(0, n));
  rest = trim_left(rest.substr(n));
  if (!rest.starts_with('=')) return false;
  value = std::string(trim(rest.substr(1)));
  return !value.empty();
}

bool is_comment(std::string_view line) { return trim_left(line).starts_with('#'); }

// Whether the line ends with the escape character (trailing blanks allowed);
// if so, removes it.
bool strip_continuation(std::string& line, char escape) {
  auto end = line.size();
  while (end > 0 && is_blank(line[end - 1])) --end;
  if (end == 0 || line[end - 1] != escape) return false;
  line.resize(end - 1);
  return true;
}

// Instructions whose shell-form arguments may introduce here-documents.
bool takes_heredocs(std::string_view keyword) {
  return keyword == "RUN" || keyword == "COPY" || keyword == "ADD";
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view file) : lines_(split_lines(text)) {
    tree_.file = std::string(file);
  }

  Result<SyntaxTree> run() {
    if (auto ok = read_directives(); !ok) return std::unexpected(ok.error());
    while (next_ < lines_.size()) {
      auto line = lines_[next_++];
      if (trim(line).empty() || is_comment(line)) continue;
      auto node = read_instruction(std::string(trim_left(line)), static_cast<int>(next_));
      if (!node) return std::unexpected(node.error());
      tree_.nodes.push_back(std::move(*node));
    }
    return std::move(tree_);
  }

 private:
  // Directives count only at the very top: the first line that is not one
  // (blank line, comment, instruction or unknown directive) ends them.
  Result<void> read_directives() {
    bool seen_escape = false, seen_syntax = false;
    for (; next_ < lines_.size(); ++next_) {
      std::string key, value;
      if (!read_directive(lines_[next_], key, value)) break;
      int line = static_cast<int>(next_ + 1);
      bool* seen = key == "ESCAPE" ? &seen_escape : key == "SYNTAX" ? &seen_syntax : nullptr;
      if (!seen) break;
      if (*seen) return error(line, "only one " + key + " parser directive can be used");
      *seen = true;
      if (key == "ESCAPE") {
        if (value != "\\" && value != "`")
          return error(line, "invalid escape token '" + value + "': it must be \\ or `");
        tree_.escape = value[0];
      }
    }
    return {};
  }

  // Joins continuation lines (skipping comments and empty lines inside them,
  // as Docker does) and then reads any heredoc bodies that follow.
  Result<Node> read_instruction(std::string line, int start_line) {
    Node node;
    node.start_line = node.end_line = start_line;
    bool continued = strip_continuation(line, tree_.escape);
    while (continued && next_ < lines_.size()) {
      auto more = lines_[next_++];
      if (trim(more).empty()) {
        tree_.warnings.push_back(tree_.file + ":" + std::to_string(next_) +
                                 ": empty continuation line");
        continue;
      }
      if (is_comment(more)) continue;
      line += more;
      node.end_line = static_cast<int>(next_);
      continued = strip_continuation(line, tree_.escape);
    }
    node.original = line;
    ShellLex lex(tree_.escape);
    auto keyword = lex.next_word(line);
    node.keyword = upper(keyword);
    auto rest = trim(std::string_view(line).substr(keyword.size()));
    if (auto ok = read_flags(lex, rest, node); !ok) return std::unexpected(ok.error());
    node.args = std::string(rest);
    auto exec = parse_exec_form(node.args);
    if (!exec) return error(node.start_line, exec.error().message);
    node.exec_form = std::move(*exec);
    if (!node.exec_form && takes_heredocs(node.keyword)) {
      if (auto ok = read_heredocs(lex, node); !ok) return std::unexpected(ok.error());
    }
    return node;
  }

  // Leading `--name[=value]` words become flags; a bare `--` ends them.
  Result<void> read_flags(const ShellLex& lex, std::string_view& rest, Node& node) {
    while (rest.starts_with("--")) {
      auto word = lex.next_word(rest);
      rest = trim_left(rest.substr(word.size()));
      if (word == "--") break;
      auto flag = lex.unquote(word);
      if (!flag) return error(node.start_line, "bad flag " + std::string(word) + ": " + flag.error().message);
      node.flags.push_back(std::move(*flag));
    }
    return {};
  }

  Result<void> read_heredocs(const ShellLex& lex, Node& node) {
    for (const auto& word : lex.split_words(node.args)) {
      auto marker = word.find("<<");
      if (marker == std::string::npos ||
          !std::all_of(word.begin(), word.begin() + static_cast<long>(marker),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        continue;
      Heredoc doc;
      doc.marker = word;
      std::string_view raw = std::string_view(word).substr(marker + 2);
      if (raw.starts_with('-')) {
        doc.strip_tabs = true;
        raw.remove_prefix(1);
      }
      if (raw.empty() || raw.find('<') != std::string_view::npos) continue;
      if (marker > 0) doc.fd = marker > 6 ? -1 : std::stoi(word.substr(0, marker));
      auto name = lex.unquote(raw);
      if (!name || name->empty())
        return error(node.start_line, "invalid heredoc delimiter " + std::string(raw));
      doc.expand = *name == raw;
      doc.name = std::move(*name);
      if (auto ok = read_heredoc_body(doc, node); !ok) return ok;
      node.heredocs.push_back(std::move(doc));
    }
    return {};
  }

  Result<void> read_heredoc_body(Heredoc& doc, Node& node) {
    while (next_ < lines_.size()) {
      std::string_view line = lines_[next_++];
      if (doc.strip_tabs) line.remove_prefix(std::min(line.find_first_not_of('\t'), line.size()));
      if (line == doc.name) {
        node.end_line = static_cast<int>(next_);
        return {};
      }
      doc.content += line;
      doc.content += '\n';
    }
    return error(node.start_line, "unterminated heredoc: no line \"" + doc.name +
                                      "\" before the end of the file");
  }

  std::unexpected<Error> error(int line, std::string_view what) const {
    return dockerfile_error(tree_.file, line, what);
  }

  std::vector<std::string_view> lines_;
  size_t next_ = 0;  // index of the next unread physical line
  SyntaxTree tree_;
};

}  // namespace

std::unexpected<Error> dockerfile_error(std::string_view file, int line, std::string_view what) {
  return fail("DOCKERFILE_INVALID", std::string(file) + ":" + std::to_string(line) + ": " +
                                        std::string(what));
}

Result<std::optional<std::vector<std::string>>> parse_exec_form(std::string_view text) {
  text = trim(text);
  if (!text.starts_with('[')) return std::nullopt;
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_array() && std::all_of(json.begin(), json.end(), [](const auto& v) { return v.is_string(); })) {
    std::vector<std::string> args;
    for (const auto& v : json) args.push_back(v.template get<std::string>());
    return args;
  }
  // `[ "$a" = b ]` is a shell test; `["a", 'b']` is a broken exec form.
  bool meant_as_json = text.starts_with("[\"") || text.starts_with("['") ||
                       text.ends_with("\"]") || text.ends_with("']");
  if (!meant_as_json) return std::nullopt;
  return fail("DOCKERFILE_INVALID",
              "malformed JSON (exec) form " + std::string(text) +
                  ": it must be a JSON array of double-quoted strings, e.g. [\"executable\", \"arg\"]");
}

Result<SyntaxTree> parse(std::string_view text, std::string_view file) {
  return Parser(text, file).run();
}

}  // namespace strata::engine::dockerfile
