#include "engine/dockerfile/instructions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>

namespace strata::engine::dockerfile {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<unsigned> parse_unsigned(std::string_view s, int base = 10) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Go's time.ParseDuration grammar as Docker uses it: "1h30m", "500ms", "0".
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s) {
  static const std::array<std::pair<std::string_view, double>, 7> kUnits{{
      {"ns", 1}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}};
  if (s == "0") return std::chrono::nanoseconds(0);
  double total = 0;
  if (s.empty()) return std::nullopt;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    double number = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + n, number);
    if (n == 0 || ec != std::errc() || end != s.data() + n) return std::nullopt;
    s.remove_prefix(n);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    auto unit = std::find_if(kUnits.begin(), kUnits.end(), [&](auto& k) { return k.first == s.substr(0, u); });
    if (unit == kUnits.end()) return std::nullopt;
    total += number * unit->second;
    s.remove_prefix(u);
  }
  if (total > 9.2e18) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<long long>(total));
}

// "80", "80/tcp", "8000-8010/udp".
bool valid_port_spec(std::string_view spec) {
  auto slash = spec.find('/');
  if (slash != std::string_view::npos) {
    auto proto = lower(spec.substr(slash + 1));
    if (proto != "tcp" && proto != "udp" && proto != "sctp") return false;
    spec = spec.substr(0, slash);
  }
  auto dash = spec.find('-');
  auto first = parse_unsigned(spec.substr(0, dash));
  if (!first || *first > 65535) return false;
  if (dash == std::string_view::npos) return true;
  auto last = parse_unsigned(spec.substr(dash + 1));
  return last && *last <= 65535 && *last >= *first;
}

bool valid_stage_name(std::string_view name) {
  return !name.empty() && std::islower(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

enum class FlagKind { kValue, kBool, kList };
struct FlagSpec {
  std::string_view name;
  FlagKind kind;
};
using FlagValues = std::map<std::string, std::vector<std::string>, std::less<>>;

std::string first_value(const FlagValues& flags, std::string_view name) {
  auto it = flags.find(name);
  return it == flags.end() ? std::string() : it->second.front();
}

class NodeReader;
using Handler = Result<Command> (NodeReader::*)(const FlagValues&);
struct InstructionSpec {
  std::string_view keyword;
  std::vector<FlagSpec> flags;
  Handler handler;
};

// Reads one node; one method per instruction.
class NodeReader {
 public:
  NodeReader(const Node& node, std::string_view file, char escape)
      : node_(node), file_(file), lex_(escape) {}

  Result<Instruction> read();

  Result<Command> from(const FlagValues& flags) {
    auto words = lex_.split_words(node_.args);
    FromCommand cmd{.image = {}, .name = {}, .platform = first_value(flags, "platform")};
    if (words.size() == 3 && lower(words[1]) == "as") {
      cmd.name = lower(words[2]);
      if (!valid_stage_name(cmd.name))
        return error("invalid stage name \"" + words[2] +
                     "\": it must start with a letter and contain only letters, digits, '-', '_' and '.'");
    } else if (words.size() != 1) {
      return error("FROM requires either one or three arguments: image [AS name]");
    }
    cmd.image = words[0];
    return cmd;
  }

  Result<Command> run(const FlagValues& flags) {
    RunCommand cmd;
    if (auto ok = assign(cmd.command, command_line()); !ok) return std::unexpected(ok.error());
    if (auto network = first_value(flags, "network"); network == "none") {
      cmd.network = NetworkMode::kNone;
    } else if (network == "host") {
      cmd.network = NetworkMode::kHost;
    } else if (!network.empty() && network != "default") {
      return error("unsupported --network=" + network + ": use none, default or host");
    }
    if (auto it = flags.find("mount"); it != flags.end()) {
      for (const auto& spec : it->second) {
        auto mount = parse_mount(spec);
        if (!mount) return error("--mount=" + spec + ": " + mount.error().message);
        cmd.mounts.push_back(std::move(*mount));
      }
    }
    return cmd;
  }

  Result<Command> copy(const FlagValues& flags) {
    CopyCommand cmd;
    cmd.is_add = node_.keyword == "ADD";
    cmd.from = first_value(flags, "from");
    cmd.chown = first_value(flags, "chown");
    cmd.chmod = first_value(flags, "chmod");
    cmd.link = first_value(flags, "link") == "true";
    cmd.checksum = first_value(flags, "checksum");
    cmd.exec_form = node_.exec_form.has_value();
    auto words = node_.exec_form ? *node_.exec_form : lex_.split_words(node_.args);
    size_t next_heredoc = 0;
    for (auto& word : words) {
      if (next_heredoc < node_.heredocs.size() && word == node_.heredocs[next_heredoc].marker)
        cmd.inline_sources.push_back(node_.heredocs[next_heredoc++]);
      else
        cmd.sources.push_back(std::move(word));
    }
    if (cmd.sources.empty() || cmd.sources.size() + cmd.inline_sources.size() < 2)
      return error(node_.keyword + " requires at least two arguments: source(s) and destination");
    cmd.dest = std::move(cmd.sources.back());
    cmd.sources.pop_back();
    return cmd;
  }

  Result<Command> env(const FlagValues&) { return wrap<EnvCommand>(key_values()); }
  Result<Command> label(const FlagValues&) { return wrap<LabelCommand>(key_values()); }

  Result<Command> maintainer(const FlagValues&) {
    if (node_.args.empty()) return missing_arguments();
    return LabelCommand{{{"maintainer", lex_.quote(node_.args)}}};
  }

  Result<Command> arg(const FlagValues&) {
    ArgCommand cmd;
    for (const auto& word : lex_.split_words(node_.args)) {
      auto eq = word.find('=');
      ArgDeclaration decl{word.substr(0, eq), std::nullopt};
      if (eq != std::string::npos) decl.default_value = word.substr(eq + 1);
      if (decl.name.empty()) return error("ARG names can not be blank: " + word);
      cmd.args.push_back(std::move(decl));
    }
    if (cmd.args.empty()) return missing_arguments();
    return cmd;
  }

  Result<Command> workdir(const FlagValues&) {
    if (node_.args.empty()) return missing_arguments();
    return WorkdirCommand{node_.args};
  }

  Result<Command> user(const FlagValues&) { return wrap<UserCommand>(single_word()); }
  Result<Command> stopsignal(const FlagValues&) { return wrap<StopSignalCommand>(single_word()); }

  Result<Command> expose(const FlagValues&) {
    ExposeCommand cmd{lex_.split_words(node_.args)};
    if (cmd.ports.empty()) return missing_arguments();
    for (const auto& port : cmd.ports) {
      // Ports that use variables are checked after expansion.
      if (port.find('$') == std::string::npos && !valid_port_spec(port))
        return invalid_port(port);
    }
    return cmd;
  }

  Result<Command> volume(const FlagValues&) {
    VolumeCommand cmd;
    cmd.exec_form = node_.exec_form.has_value();
    cmd.paths = node_.exec_form ? *node_.exec_form : lex_.split_words(node_.args);
    if (cmd.paths.empty()) return missing_arguments();
    if (std::ranges::any_of(cmd.paths, [](const auto& p) { return p.empty(); }))
      return error("VOLUME specified can not be an empty string");
    return cmd;
  }

  Result<Command> healthcheck(const FlagValues& flags) {
    HealthcheckCommand cmd;
    auto type = lex_.next_word(node_.args);
    auto kind = lower(type);
    if (kind == "none") {
      if (!flags.empty() || type.size() != node_.args.size())
        return error("HEALTHCHECK NONE takes no other arguments or flags");
      cmd.disabled = true;
      return cmd;
    }
    if (kind != "cmd") return error("HEALTHCHECK must be followed by NONE or CMD <command>");
    std::string_view rest(node_.args);
    rest.remove_prefix(type.size());
    if (auto ok = assign(cmd.test, command_line_from(rest, {})); !ok) return std::unexpected(ok.error());
    for (auto [name, field] : {std::pair{"interval", &cmd.interval}, {"timeout", &cmd.timeout},
                               {"start-period", &cmd.start_period},
                               {"start-interval", &cmd.start_interval}}) {
      if (!flags.contains(name)) continue;
      auto value = first_value(flags, name);
      *field = parse_duration(value);
      if (!*field) return error("--" + std::string(name) + "=" + value + " is not a duration such as 30s or 1m30s");
    }
    if (flags.contains("retries")) {
      auto retries = parse_unsigned(first_value(flags, "retries"));
      if (!retries || *retries > 1000000) return error("--retries must be a non-negative integer");
      cmd.retries = static_cast<int>(*retries);
    }
    return cmd;
  }

  Result<Command> cmd(const FlagValues&) { return wrap<CmdCommand>(command_line()); }
  Result<Command> entrypoint(const FlagValues&) { return wrap<EntrypointCommand>(command_line()); }

  Result<Command> shell(const FlagValues&) {
    if (!node_.exec_form) return error("SHELL requires the arguments to be in JSON form, e.g. [\"/bin/sh\", \"-c\"]");
    if (node_.exec_form->empty()) return missing_arguments();
    return ShellCommand{*node_.exec_form};
  }

  Result<Command> onbuild(const FlagValues&) {
    if (node_.args.empty()) return missing_arguments();
    // The trigger is checked now, with this line's number, so a broken one
    // fails this build rather than a child's.
    auto trigger = parse(node_.args, file_);
    if (!trigger) return error("invalid ONBUILD trigger");
    if (trigger->nodes.size() != 1) return error("ONBUILD takes exactly one instruction");
    auto nested = trigger->nodes.front();
    if (nested.keyword == "ONBUILD" || nested.keyword == "FROM" || nested.keyword == "MAINTAINER")
      return error(nested.keyword == "ONBUILD" ? "chaining ONBUILD via ONBUILD ONBUILD isn't allowed"
                                               : nested.keyword + " isn't allowed as an ONBUILD trigger");
    nested.start_line = nested.end_line = node_.start_line;
    if (auto checked = NodeReader(nested, file_, lex_.escape()).read(); !checked)
      return std::unexpected(checked.error());
    return OnbuildCommand{node_.args};
  }

 private:
  // The command whose only field is `value`, or value's error.
  template <class T, class Field>
  static Result<Command> wrap(Result<Field> value) {
    if (!value) return std::unexpected(value.error());
    return T{std::move(*value)};
  }
  template <class Field>
  static Result<void> assign(Field& field, Result<Field> value) {
    if (!value) return std::unexpected(value.error());
    field = std::move(*value);
    return {};
  }

  std::unexpected<Error> error(std::string_view what) const {
    return dockerfile_error(file_, node_.start_line, what);
  }
  std::unexpected<Error> missing_arguments() const {
    return error(node_.keyword + " requires at least one argument");
  }
  std::unexpected<Error> invalid_port(std::string_view port) const {
    return error("invalid EXPOSE port \"" + std::string(port) + "\": expected port[/tcp|udp|sctp] or a range such as 8000-8010");
  }

  Result<std::string> single_word() const {
    auto words = lex_.split_words(node_.args);
    if (words.size() != 1) return error(node_.keyword + " requires exactly one argument");
    return std::move(words.front());
  }

  Result<CommandLine> command_line() const {
    return command_line_from(node_.args, node_.heredocs);
  }

  Result<CommandLine> command_line_from(std::string_view text, const std::vector<Heredoc>& heredocs) const {
    CommandLine line;
    auto exec = parse_exec_form(text);
    if (!exec) return error(exec.error().message);
    line.exec = std::move(*exec);
    line.shell = std::string(text.substr(std::min(text.find_first_not_of(" \t"), text.size())));
    if (line.exec) line.shell.clear();
    line.heredocs = heredocs;
    bool empty_shell = !line.exec && line.shell.empty();
    bool empty_run = node_.keyword == "RUN" && line.exec && line.exec->empty();
    if (empty_shell || empty_run) return missing_arguments();
    return line;
  }

  // ENV and LABEL: `key=value ...`, or the legacy `key value with spaces`.
  Result<std::vector<KeyValue>> key_values() const {
    auto words = lex_.split_words(node_.args);
    if (words.empty()) return missing_arguments();
    std::vector<KeyValue> pairs;
    if (words.front().find('=') == std::string::npos) {
      std::string_view value(node_.args);
      value.remove_prefix(lex_.next_word(value).size());
      value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
      if (value.empty()) return error(node_.keyword + " " + words.front() + " needs a value: use " + words.front() + "=value");
      pairs.push_back({words.front(), std::string(value)});
      return pairs;
    }
    for (const auto& word : words) {
      auto eq = word.find('=');
      if (eq == std::string::npos)
        return error("syntax error - can't find = in \"" + word + "\"; it must be of the form: name=value");
      if (eq == 0) return error(node_.keyword + " names can not be blank: " + word);
      pairs.push_back({word.substr(0, eq), word.substr(eq + 1)});
    }
    return pairs;
  }

  Result<Mount> parse_mount(std::string_view spec) const;

  const Node& node_;
  std::string_view file_;
  ShellLex lex_;
};

const std::vector<InstructionSpec>& instruction_specs() {
  using enum FlagKind;
  static const std::vector<InstructionSpec> kSpecs{
      {"FROM", {{"platform", kValue}}, &NodeReader::from},
      {"RUN", {{"network", kValue}, {"mount", kList}}, &NodeReader::run},
      {"COPY", {{"from", kValue}, {"chown", kValue}, {"chmod", kValue}, {"link", kBool}}, &NodeReader::copy},
      {"ADD", {{"chown", kValue}, {"chmod", kValue}, {"link", kBool}, {"checksum", kValue}}, &NodeReader::copy},
      {"ENV", {}, &NodeReader::env},
      {"ARG", {}, &NodeReader::arg},
      {"WORKDIR", {}, &NodeReader::workdir},
      {"USER", {}, &NodeReader::user},
      {"LABEL", {}, &NodeReader::label},
      {"MAINTAINER", {}, &NodeReader::maintainer},
      {"EXPOSE", {}, &NodeReader::expose},
      {"VOLUME", {}, &NodeReader::volume},
      {"STOPSIGNAL", {}, &NodeReader::stopsignal},
      {"HEALTHCHECK",
       {{"interval", kValue}, {"timeout", kValue}, {"start-period", kValue},
        {"start-interval", kValue}, {"retries", kValue}},
       &NodeReader::healthcheck},
      {"CMD", {}, &NodeReader::cmd},
      {"ENTRYPOINT", {}, &NodeReader::entrypoint},
      {"SHELL", {}, &NodeReader::shell},
      {"ONBUILD", {}, &NodeReader::onbuild},
  };
  return kSpecs;
}

Result<FlagValues> read_flags(const Node& node, const std::vector<FlagSpec>& specs,
                              std::string_view file) {
  FlagValues values;
  for (const auto& flag : node.flags) {
    std::string_view text(flag);
    text.remove_prefix(2);
    auto eq = text.find('=');
    auto name = text.substr(0, eq);
    auto spec = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.name == name; });
    auto fail_flag = [&](std::string what) { return dockerfile_error(file, node.start_line, what); };
    if (spec == specs.end()) return fail_flag("unknown flag for " + node.keyword + ": " + flag);
    std::string value = eq == std::string_view::npos ? std::string() : std::string(text.substr(eq + 1));
    if (spec->kind == FlagKind::kBool) {
      if (eq == std::string_view::npos) value = "true";
      if (value != "true" && value != "false") return fail_flag("--" + std::string(name) + " takes true or false");
    } else if (value.empty()) {
      return fail_flag("missing a value on flag --" + std::string(name) + ": use --" + std::string(name) + "=<value>");
    }
    auto& slot = values[std::string(name)];
    if (!slot.empty() && spec->kind != FlagKind::kList) return fail_flag("duplicate flag specified: --" + std::string(name));
    slot.push_back(std::move(value));
  }
  return values;
}

Result<Instruction> NodeReader::read() {
  const auto& specs = instruction_specs();
  auto spec = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.keyword == node_.keyword; });
  if (spec == specs.end()) return error("unknown instruction: " + node_.keyword);
  auto flags = read_flags(node_, spec->flags, file_);
  if (!flags) return std::unexpected(flags.error());
  auto command = (this->*spec->handler)(*flags);
  if (!command) return std::unexpected(command.error());
  return Instruction{std::move(*command), node_.keyword, node_.original, node_.start_line, node_.end_line};
}

Result<Mount> NodeReader::parse_mount(std::string_view spec) const {
  Mount mount;
  std::string type_name = "bind";
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t start = 0; start <= spec.size();) {
    auto comma = std::min(spec.find(',', start), spec.size());
    auto field = spec.substr(start, comma - start);
    start = comma + 1;
    if (field.empty()) continue;
    auto eq = field.find('=');
    auto key = lower(field.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : field.substr(eq + 1));
    if (key == "type") type_name = value;
    else fields.emplace_back(key, value);
  }
  if (type_name == "cache") mount.type = MountType::kCache;
  else if (type_name == "secret") mount.type = MountType::kSecret;
  else if (type_name != "bind")
    return fail("DOCKERFILE_INVALID", "unsupported mount type \"" + type_name + "\" (supported: bind, cache, secret)");
  // Bind mounts are read-only unless asked otherwise, cache mounts writable.
  mount.read_only = mount.type == MountType::kBind;
  bool secret = mount.type == MountType::kSecret, bind = mount.type == MountType::kBind;
  for (const auto& [key, value] : fields) {
    auto set_bool = [&](bool& out, bool invert) {
      if (value != "" && value != "true" && value != "false") return false;
      out = (value != "false") != invert;
      return true;
    };
    auto set_number = [&](std::optional<unsigned>& out, int base) {
      out = parse_unsigned(value, base);
      return out.has_value();
    };
    bool ok = true;
    if (key == "target" || key == "dst" || key == "destination") mount.target = value;
    else if (key == "source" || key == "src") mount.source = value;
    else if (key == "from" && !secret) mount.from = value;
    else if (key == "id" && !bind) mount.id = value;
    else if (key == "env" && secret) mount.env = value;
    else if (key == "required" && secret) ok = set_bool(mount.required, false);
    else if (key == "readonly" || key == "ro") ok = set_bool(mount.read_only, false);
    else if (key == "readwrite" || key == "rw") ok = set_bool(mount.read_only, true);
    else if (key == "sharing" && mount.type == MountType::kCache) {
      static const std::map<std::string, CacheSharing, std::less<>> kSharing{
          {"shared", CacheSharing::kShared}, {"private", CacheSharing::kPrivate}, {"locked", CacheSharing::kLocked}};
      auto it = kSharing.find(value);
      ok = it != kSharing.end();
      if (ok) mount.sharing = it->second;
    }
    else if (key == "mode" && !bind) ok = set_number(mount.mode, 8);
    else if (key == "uid" && !bind) ok = set_number(mount.uid, 10);
    else if (key == "gid" && !bind) ok = set_number(mount.gid, 10);
    else return fail("DOCKERFILE_INVALID", "unknown option \"" + key + "\" for a " + type_name + " mount");
    if (!ok) return fail("DOCKERFILE_INVALID", "invalid value \"" + value + "\" for " + key);
  }
  if (secret) {
    if (mount.id.empty() && mount.target.empty())
      return fail("DOCKERFILE_INVALID", "a secret mount needs id= or target=");
    if (mount.id.empty()) mount.id = mount.target.substr(mount.target.rfind('/') + 1);
    if (mount.target.empty() && mount.env.empty()) mount.target = "/run/secrets/" + mount.id;
  } else {
    if (mount.target.empty()) return fail("DOCKERFILE_INVALID", "a " + type_name + " mount needs target=");
    if (mount.type == MountType::kCache && mount.id.empty()) mount.id = mount.target;
  }
  return mount;
}

}  // namespace

Result<Instruction> parse_instruction(const Node& node, std::string_view file, char escape) {
  return NodeReader(node, file, escape).read();
}

namespace {

// Expands one command's fields in place; commands the builder does not
// expand fall through to the catch-all.
class CommandExpander {
 public:
  CommandExpander(const ShellLex& lex, const Variables& vars) : lex_(lex), vars_(vars) {}

  Result<void> operator()(FromCommand& c) { return words({&c.image, &c.platform}); }
  Result<void> operator()(CopyCommand& c) {
    for (auto& source : c.sources)
      if (auto ok = c.exec_form ? text(source) : word(source); !ok) return ok;
    for (auto& doc : c.inline_sources)
      if (auto ok = doc.expand ? text(doc.content) : Result<void>{}; !ok) return ok;
    if (auto ok = c.exec_form ? text(c.dest) : word(c.dest); !ok) return ok;
    return words({&c.from, &c.chown, &c.chmod});
  }
  Result<void> operator()(EnvCommand& c) { return pairs(c.vars); }
  Result<void> operator()(LabelCommand& c) { return pairs(c.labels); }
  Result<void> operator()(WorkdirCommand& c) { return word(c.path); }
  Result<void> operator()(UserCommand& c) { return word(c.user); }
  Result<void> operator()(StopSignalCommand& c) { return word(c.signal); }
  Result<void> operator()(VolumeCommand& c) {
    for (auto& path : c.paths)
      if (auto ok = c.exec_form ? text(path) : word(path); !ok) return ok;
    return {};
  }
  Result<void> operator()(ExposeCommand& c) {
    std::vector<std::string> ports;
    for (auto& port : c.ports) {
      if (auto ok = word(port); !ok) return ok;
      // A variable may hold several ports ("80 443").
      for (auto& one : lex_.split_words(port)) {
        if (!valid_port_spec(one)) return fail("DOCKERFILE_INVALID", "invalid EXPOSE port \"" + one + "\"");
        ports.push_back(std::move(one));
      }
    }
    c.ports = std::move(ports);
    return {};
  }
  template <class Unexpanded>
  Result<void> operator()(Unexpanded&) {
    return {};
  }

 private:
  Result<void> assign(std::string& field, Result<std::string> value) {
    if (!value) return std::unexpected(value.error());
    field = std::move(*value);
    return {};
  }
  Result<void> word(std::string& field) { return assign(field, lex_.expand(field, vars_)); }
  Result<void> text(std::string& field) { return assign(field, lex_.expand_text(field, vars_)); }
  Result<void> words(std::initializer_list<std::string*> fields) {
    for (auto* field : fields)
      if (auto ok = word(*field); !ok) return ok;
    return {};
  }
  Result<void> pairs(std::vector<KeyValue>& kvs) {
    for (auto& kv : kvs)
      if (auto ok = words({&kv.key, &kv.value}); !ok) return ok;
    return {};
  }

  const ShellLex& lex_;
  const Variables& vars_;
};

// Which stages one stage uses directly, resolved by name or index.
Result<std::vector<size_t>> stage_dependencies(const Dockerfile& df, size_t index,
                                               const Variables& build_args,
                                               const Variables& globals) {
  const Stage& stage = df.stages[index];
  ShellLex lex(df.escape);
  std::vector<size_t> deps;
  auto base = lex.expand(stage.from.image, globals);
  if (!base) return dockerfile_error(df.file, stage.line, base.error().message);
  if (auto dep = find_stage(df, *base, index)) deps.push_back(*dep);
  Variables vars;
  for (const auto& instruction : stage.instructions) {
    if (std::holds_alternative<ArgCommand>(instruction.command)) {
      if (auto ok = declare_args(instruction, build_args, globals, vars, df.escape, df.file); !ok)
        return std::unexpected(ok.error());
    } else if (auto* copy = std::get_if<CopyCommand>(&instruction.command); copy && !copy->from.empty()) {
      auto from = lex.expand(copy->from, vars);
      if (!from) return dockerfile_error(df.file, instruction.start_line, from.error().message);
      if (auto dep = find_stage(df, *from, df.stages.size())) deps.push_back(*dep);
    } else if (auto* run = std::get_if<RunCommand>(&instruction.command)) {
      for (const auto& mount : run->mounts)
        if (auto dep = find_stage(df, mount.from, df.stages.size()); dep && !mount.from.empty())
          deps.push_back(*dep);
    }
  }
  return deps;
}

}  // namespace

Result<void> expand_variables(Instruction& instruction, const Variables& vars, char escape,
                              std::string_view file) {
  ShellLex lex(escape);
  auto ok = std::visit(CommandExpander(lex, vars), instruction.command);
  if (!ok) return dockerfile_error(file, instruction.start_line, ok.error().message);
  return {};
}

Result<void> declare_args(const Instruction& arg, const Variables& build_args,
                          const Variables& inherited, Variables& vars, char escape,
                          std::string_view file) {
  ShellLex lex(escape);
  for (const auto& decl : std::get<ArgCommand>(arg.command).args) {
    if (auto given = build_args.find(decl.name); given != build_args.end()) {
      vars[decl.name] = given->second;
    } else if (decl.default_value) {
      auto value = lex.expand(*decl.default_value, vars);
      if (!value) return dockerfile_error(file, arg.start_line, value.error().message);
      vars[decl.name] = std::move(*value);
    } else if (auto global = inherited.find(decl.name); global != inherited.end()) {
      vars[decl.name] = global->second;
    }
  }
  return {};
}

Result<Dockerfile> load(const SyntaxTree& tree) {
  Dockerfile df{tree.file, tree.escape, {}, {}};
  for (const auto& node : tree.nodes) {
    auto instruction = parse_instruction(node, tree.file, tree.escape);
    if (!instruction) return std::unexpected(instruction.error());
    if (auto* from = std::get_if<FromCommand>(&instruction->command)) {
      if (!from->name.empty()) {
        if (auto other = find_stage(df, from->name, df.stages.size()))
          return dockerfile_error(tree.file, node.start_line,
                                  "duplicate stage name \"" + from->name + "\" (first defined on line " +
                                      std::to_string(df.stages[*other].line) + ")");
      }
      df.stages.push_back(Stage{std::move(*from), node.start_line, {}});
    } else if (!df.stages.empty()) {
      df.stages.back().instructions.push_back(std::move(*instruction));
    } else if (std::holds_alternative<ArgCommand>(instruction->command)) {
      df.global_args.push_back(std::move(*instruction));
    } else {
      return dockerfile_error(tree.file, node.start_line,
                              node.keyword + " must come after FROM: only ARG may appear before the first FROM");
    }
  }
  if (df.stages.empty())
    return dockerfile_error(tree.file, tree.nodes.empty() ? 1 : tree.nodes.back().end_line,
                            "no FROM instruction: a Dockerfile needs at least one build stage");
  return df;
}

Result<Variables> global_arg_values(const Dockerfile& dockerfile, const Variables& build_args) {
  Variables vars;
  for (const auto& arg : dockerfile.global_args)
    if (auto ok = declare_args(arg, build_args, {}, vars, dockerfile.escape, dockerfile.file); !ok)
      return std::unexpected(ok.error());
  return vars;
}

std::optional<size_t> find_stage(const Dockerfile& dockerfile, std::string_view name,
                                 size_t before) {
  before = std::min(before, dockerfile.stages.size());
  if (auto index = parse_unsigned(name); index && *index < before) return *index;
  auto wanted = lower(name);
  for (size_t i = 0; i < before; ++i)
    if (!wanted.empty() && dockerfile.stages[i].from.name == wanted) return i;
  return std::nullopt;
}

Result<std::vector<size_t>> stages_for_target(const Dockerfile& dockerfile,
                                              std::string_view target,
                                              const Variables& build_args) {
  size_t root = dockerfile.stages.size() - 1;
  if (!target.empty()) {
    auto found = find_stage(dockerfile, target, dockerfile.stages.size());
    if (!found)
      return fail("DOCKERFILE_INVALID",
                  dockerfile.file + ": target stage \"" + std::string(target) + "\" could not be found");
    root = *found;
  }
  auto globals = global_arg_values(dockerfile, build_args);
  if (!globals) return std::unexpected(globals.error());
  enum class Mark { kNone, kVisiting, kDone };
  std::vector<Mark> marks(dockerfile.stages.size(), Mark::kNone);
  // Depth-first with an explicit stack so a long chain of stages cannot
  // exhaust the call stack.
  std::vector<std::pair<size_t, std::vector<size_t>>> stack;
  auto enter = [&](size_t index) -> Result<void> {
    auto deps = stage_dependencies(dockerfile, index, build_args, *globals);
    if (!deps) return std::unexpected(deps.error());
    marks[index] = Mark::kVisiting;
    stack.emplace_back(index, std::move(*deps));
    return {};
  };
  if (auto ok = enter(root); !ok) return std::unexpected(ok.error());
  while (!stack.empty()) {
    auto& [index, pending] = stack.back();
    if (pending.empty()) {
      marks[index] = Mark::kDone;
      stack.pop_back();
      continue;
    }
    size_t dep = pending.back();
    pending.pop_back();
    if (marks[dep] == Mark::kVisiting)
      return dockerfile_error(dockerfile.file, dockerfile.stages[index].line,
                              "circular dependency between build stages");
    if (marks[dep] == Mark::kNone)
      if (auto ok = enter(dep); !ok) return std::unexpected(ok.error());
  }
  std::vector<size_t> needed;
  for (size_t i = 0; i < marks.size(); ++i)
    if (marks[i] == Mark::kDone) needed.push_back(i);
  return needed;
}

}  // namespace strata::engine::dockerfile
