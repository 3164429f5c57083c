// Dockerfile meaning: syntax nodes (parser.h) -> typed commands grouped into
// build stages, as BuildKit's frontend/dockerfile/instructions does. Nothing
// here runs, pulls or expands on its own: fields hold the words as written
// (quotes included) until the caller, which knows the environment at that
// step, calls expand_variables().
//
// Contract: all functions are pure and thread-safe; results own their data.
// Every error has code DOCKERFILE_INVALID and a message "file:line: what"
// (unknown instruction, missing arguments, bad flags, malformed JSON form).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "engine/dockerfile/parser.h"
#include "engine/dockerfile/shell_lex.h"

namespace strata::engine::dockerfile {

struct KeyValue {
  std::string key;
  std::string value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// The program of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: exec form (argv,
// run directly) or shell form (text handed to the SHELL, never expanded here).
struct CommandLine {
  std::optional<std::vector<std::string>> exec;
  std::string shell;
  std::vector<Heredoc> heredocs;  // RUN <<EOF bodies; `shell` still holds the marker line
};

struct FromCommand {
  std::string image;     // as written; may name an earlier stage or use global ARGs
  std::string name;      // stage name lower-cased, empty without AS
  std::string platform;  // --platform, empty when absent
};

enum class NetworkMode { kDefault, kNone, kHost };
enum class MountType { kBind, kCache, kSecret };
enum class CacheSharing { kShared, kPrivate, kLocked };

// One --mount of RUN. Fields not meaningful for a type stay empty/defaulted.
struct Mount {
  MountType type = MountType::kBind;
  std::string target;       // path in the container; secrets default to /run/secrets/<id>
  std::string source;       // path inside `from` (bind, cache)
  std::string from;         // stage or image providing the files (bind, cache)
  std::string id;           // cache id (defaults to target) or secret id
  std::string env;          // secret exposed as this environment variable
  bool required = false;    // secret: fail when not provided
  bool read_only = false;   // bind defaults to read-only, cache to read-write
  CacheSharing sharing = CacheSharing::kShared;
  std::optional<unsigned> mode, uid, gid;
};

struct RunCommand {
  CommandLine command;
  NetworkMode network = NetworkMode::kDefault;
  std::vector<Mount> mounts;
};

// COPY and ADD. Sources that are heredocs appear in `inline_sources`, not in
// `sources`.
struct CopyCommand {
  bool is_add = false;
  bool exec_form = false;  // written as JSON: words are plain strings, not shell words
  std::vector<std::string> sources;
  std::vector<Heredoc> inline_sources;
  std::string dest;
  std::string from;      // --from (COPY only): stage name, stage index or image
  std::string chown;     // --chown=user[:group]
  std::string chmod;     // --chmod=octal
  bool link = false;     // --link: accepted; layers are always independent here
  std::string checksum;  // ADD --checksum=sha256:... for URLs
};

struct EnvCommand { std::vector<KeyValue> vars; };

struct ArgDeclaration {
  std::string name;
  std::optional<std::string> default_value;  // as written, quotes included
  friend bool operator==(const ArgDeclaration&, const ArgDeclaration&) = default;
};
struct ArgCommand { std::vector<ArgDeclaration> args; };

struct WorkdirCommand { std::string path; };
struct UserCommand { std::string user; };  // "name", "uid", "name:group", "uid:gid"
struct LabelCommand { std::vector<KeyValue> labels; };  // MAINTAINER becomes label "maintainer"
struct ExposeCommand { std::vector<std::string> ports; };  // "80", "53/udp", "8000-8010/tcp"
struct VolumeCommand {
  bool exec_form = false;
  std::vector<std::string> paths;
};
struct StopSignalCommand { std::string signal; };

struct HealthcheckCommand {
  bool disabled = false;  // HEALTHCHECK NONE
  CommandLine test;
  std::optional<std::chrono::nanoseconds> interval, timeout, start_period, start_interval;
  std::optional<int> retries;
};

struct CmdCommand { CommandLine command; };
struct EntrypointCommand { CommandLine command; };
struct ShellCommand { std::vector<std::string> shell; };
struct OnbuildCommand { std::string instruction; };  // e.g. "RUN make", run by child builds

using Command = std::variant<FromCommand, RunCommand, CopyCommand, EnvCommand, ArgCommand,
                             WorkdirCommand, UserCommand, LabelCommand, ExposeCommand,
                             VolumeCommand, StopSignalCommand, HealthcheckCommand, CmdCommand,
                             EntrypointCommand, ShellCommand, OnbuildCommand>;

struct Instruction {
  Command command;
  std::string keyword;   // as in the node, e.g. "COPY" (MAINTAINER keeps its name)
  std::string original;  // source text, for logs and cache keys
  int start_line = 0;
  int end_line = 0;
};

struct Stage {
  FromCommand from;
  int line = 0;  // line of FROM
  std::vector<Instruction> instructions;  // after FROM, in order
};

struct Dockerfile {
  std::string file;
  char escape = '\\';
  std::vector<Instruction> global_args;  // ARG instructions before the first FROM
  std::vector<Stage> stages;
};

// Gives one node its meaning. `escape` is the file's escape character.
Result<Instruction> parse_instruction(const Node& node, std::string_view file, char escape);

// Converts a whole syntax tree: ARGs before the first FROM are global, each
// FROM starts a stage, stage names are unique (case-insensitive).
Result<Dockerfile> load(const SyntaxTree& tree);

// Expands the fields Docker expands for this command (ADD, COPY, ENV,
// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, the
// --from/--chown/--chmod flags and unquoted COPY heredoc bodies) with
// `vars`, removing quotes. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and
// ONBUILD are left as written (the shell expands them); ARG goes through
// declare_args(). EXPOSE ports are validated after expansion.
Result<void> expand_variables(Instruction& instruction, const Variables& vars, char escape,
                              std::string_view file);

// Applies an ARG instruction to `vars`, one declaration at a time (so
// `ARG A=1 B=$A` sees A): the value is the build arg override if given, else
// the default expanded with `vars`, else the value in `inherited` (a global
// ARG redeclared in a stage); otherwise the name stays unset.
Result<void> declare_args(const Instruction& arg, const Variables& build_args,
                          const Variables& inherited, Variables& vars, char escape,
                          std::string_view file);

// The values of the global ARGs after `build_args` overrides; only declared
// ARGs appear. These are what FROM lines expand with.
Result<Variables> global_arg_values(const Dockerfile& dockerfile, const Variables& build_args);

// Index of the stage called `name` (case-insensitive) or with that decimal
// index, among stages [0, before); nullopt when none.
std::optional<size_t> find_stage(const Dockerfile& dockerfile, std::string_view name,
                                 size_t before);

// Stages needed to build `target` (empty: the last stage), in file order:
// the target and every stage it reaches through FROM <stage>, COPY --from
// and RUN --mount from=. FROM lines expand with the global ARGs, COPY --from
// with the stage's ARGs; a stage reference that loops is an error.
Result<std::vector<size_t>> stages_for_target(const Dockerfile& dockerfile,
                                              std::string_view target,
                                              const Variables& build_args);

}  // namespace strata::engine::dockerfile
